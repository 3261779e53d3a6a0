"""Priority: a pod's priority and preemptionPolicy come from its PriorityClass.

As upstream's podpriority plugin: on pod create the class named by
``priorityClassName`` (or the cluster's globalDefault class, else priority 0)
decides ``spec.priority`` and ``spec.preemptionPolicy``; naming a missing class, or
setting a priority or policy that differs from the computed one, is Forbidden. On
update the values set at create are kept. A second globalDefault PriorityClass is
refused. The API server also creates the built-in system classes at start.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .. import errors
from ..user import SYSTEM_APISERVER
from . import AdmissionPlugin, AdmissionRequest, lookup

if TYPE_CHECKING:
    from ..context import ServerContext

log = logging.getLogger(__name__)

GROUP = "scheduling.k8s.io"
DEFAULT_PREEMPTION_POLICY = "PreemptLowerPriority"
#: The classes kube-apiserver's scheduling post-start hook creates.
BUILTIN_PRIORITY_CLASSES = (
    ("system-node-critical", 2000001000,
     "Used for system critical pods that must not be moved from their current node."),
    ("system-cluster-critical", 2000000000,
     "Used for system critical pods that must run in the cluster, but can be moved to "
     "another node if necessary."),
)


async def ensure_builtin_priority_classes(ctx: "ServerContext") -> None:
    """Create system-node-critical and system-cluster-critical when missing."""
    from ..objects import ObjectStore

    rt = lookup.resource(ctx, GROUP, "priorityclasses")
    objects = ObjectStore(ctx)
    for name, value, description in BUILTIN_PRIORITY_CLASSES:
        if await ctx.store.get(rt.key(None, name)) is not None:
            continue
        body = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name},
                "value": value, "description": description,
                "preemptionPolicy": DEFAULT_PREEMPTION_POLICY}
        try:
            await objects.create(rt, body, None, user=SYSTEM_APISERVER)
            log.info("created PriorityClass %s with value %d", name, value)
        except errors.APIError as err:
            if err.code != 409:
                raise


async def _default_class(ctx: "ServerContext") -> dict | None:
    """The globalDefault class (the lowest-valued one if several slipped in)."""
    defaults = [pc for pc in await lookup.list_objects(ctx, GROUP, "priorityclasses", None)
                if pc.get("globalDefault")]
    return min(defaults, key=lambda pc: pc.get("value", 0)) if defaults else None


class Priority(AdmissionPlugin):
    name = "Priority"

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.is_resource("", "pods") and not req.subresource and isinstance(req.object, dict):
            spec = req.object.setdefault("spec", {})
            if not isinstance(spec, dict):
                return
            if req.operation == "UPDATE":
                old_spec = (req.old_object or {}).get("spec") or {}
                for key in ("priority", "preemptionPolicy"):
                    if spec.get(key) is None and old_spec.get(key) is not None:
                        spec[key] = old_spec[key]
            elif req.operation == "CREATE":
                await self._admit_pod(ctx, req, spec)

    async def _admit_pod(self, ctx: "ServerContext", req: AdmissionRequest, spec: dict) -> None:
        class_name = spec.get("priorityClassName") or ""
        if class_name:
            pc = await lookup.get(ctx, GROUP, "priorityclasses", None, class_name)
            if pc is None:
                raise req.forbidden(f"no PriorityClass with name {class_name} was found")
        else:
            pc = await _default_class(ctx)
            if pc is not None:
                spec["priorityClassName"] = pc["metadata"]["name"]
        priority = int(pc.get("value") or 0) if pc is not None else 0
        policy = (pc or {}).get("preemptionPolicy") or DEFAULT_PREEMPTION_POLICY
        if spec.get("priority") is not None and spec["priority"] != priority:
            raise req.forbidden(
                f"the integer value of priority ({spec['priority']}) must not be provided in pod "
                f"spec; priority admission controller computed {priority} from the given "
                "PriorityClass name")
        if spec.get("preemptionPolicy") not in (None, policy):
            raise req.forbidden(
                f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must not be "
                f"provided in pod spec; priority admission controller computed {policy} from the "
                "given PriorityClass name")
        spec["priority"] = priority
        spec["preemptionPolicy"] = policy

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if (not req.is_resource(GROUP, "priorityclasses") or req.subresource
                or req.operation not in ("CREATE", "UPDATE")
                or not (req.object or {}).get("globalDefault")):
            return
        current = await _default_class(ctx)
        if current is not None and (req.operation == "CREATE"
                                    or current["metadata"]["name"] != req.name):
            raise req.forbidden(f"PriorityClass {current['metadata']['name']} is already marked "
                                "as default. Only one default can exist")
