"""NamespaceLifecycle: no content in missing or terminating namespaces, and the
system namespaces may not be deleted.

As upstream (apiserver/pkg/admission/plugin/namespace/lifecycle): a request on a
namespaced object whose namespace does not exist is answered ``namespaces "x" not
found``; a create in a namespace being deleted is Forbidden with the
NamespaceTerminating cause; deleting default, kube-system or kube-public is
Forbidden.

The namespace is read as upstream reads it: from the watch cache (falling back to the
store when the cache does not hold it yet), except for namespaces this server saw a
DELETE for in the last :data:`FORCE_LIVE_LOOKUP_TTL` seconds, which are read from the
store, so a namespace marked for deletion a moment ago is already seen as terminating
(upstream's forceLiveLookupCache).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .. import errors
from . import AdmissionPlugin, AdmissionRequest, lookup

if TYPE_CHECKING:
    from ..context import ServerContext

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
TERMINATING_CAUSE = "NamespaceTerminating"
FORCE_LIVE_LOOKUP_TTL = 30.0  # upstream's forceLiveLookupTTL


class NamespaceLifecycle(AdmissionPlugin):
    name = "NamespaceLifecycle"

    def __init__(self) -> None:
        self._deleted_until: dict[str, float] = {}  # namespace -> end of live lookups

    def _live(self, namespace: str) -> bool:
        until = self._deleted_until.get(namespace)
        if until is None:
            return False
        if until > time.monotonic():
            return True
        del self._deleted_until[namespace]
        return False

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.operation == "DELETE":
            return  # deletes only reach validate (below)
        await self._check(ctx, req)

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.operation == "DELETE":
            await self._check(ctx, req)

    async def _check(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.is_resource("", "namespaces"):
            if req.operation == "DELETE":
                if req.name in IMMORTAL_NAMESPACES:
                    raise req.forbidden("this namespace may not be deleted")
                self._deleted_until[req.name] = time.monotonic() + FORCE_LIVE_LOOKUP_TTL
            return
        if not req.rt.namespaced or not req.namespace:
            return
        if req.rt.virtual:  # computed reviews are never stored: no namespace needed
            return
        ns = await lookup.get(ctx, "", "namespaces", None, req.namespace,
                              live=self._live(req.namespace))
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
