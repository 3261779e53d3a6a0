"""NamespaceLifecycle: no content in missing or terminating namespaces, and the
system namespaces may not be deleted.

As upstream (apiserver/pkg/admission/plugin/namespace/lifecycle): a request on a
namespaced object whose namespace does not exist is answered ``namespaces "x" not
found``; a create in a namespace being deleted is Forbidden with the
NamespaceTerminating cause; deleting default, kube-system or kube-public is
Forbidden. The namespace is read from the store, not the watch cache, so a
namespace marked for deletion a moment ago is already seen as terminating.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from . import AdmissionPlugin, AdmissionRequest, lookup

if TYPE_CHECKING:
    from ..context import ServerContext

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
TERMINATING_CAUSE = "NamespaceTerminating"


class NamespaceLifecycle(AdmissionPlugin):
    name = "NamespaceLifecycle"

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.operation == "DELETE":
            return  # deletes only reach validate (below)
        await self._check(ctx, req)

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.operation == "DELETE":
            await self._check(ctx, req)

    async def _check(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.is_resource("", "namespaces"):
            if req.operation == "DELETE" and req.name in IMMORTAL_NAMESPACES:
                raise req.forbidden("this namespace may not be deleted")
            return
        if not req.rt.namespaced or not req.namespace:
            return
        if req.rt.virtual:  # computed reviews are never stored: no namespace needed
            return
        ns = await lookup.get(ctx, "", "namespaces", None, req.namespace, live=True)
        if ns is None:
            raise errors.not_found("", "namespaces", req.namespace)
        if req.operation != "CREATE":
            return
        terminating = (ns.get("status") or {}).get("phase") == "Terminating" or bool(
            (ns.get("metadata") or {}).get("deletionTimestamp"))
        if terminating:
            message = (f"unable to create new content in namespace {req.namespace} because "
                       "it is being terminated")
            err = req.forbidden(message)
            err.details = {**(err.details or {}), "causes": [
                {"reason": TERMINATING_CAUSE, "message": message, "field": "metadata.namespace"}]}
            raise err
