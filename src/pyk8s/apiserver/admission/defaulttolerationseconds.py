"""DefaultTolerationSeconds: pods tolerate not-ready/unreachable nodes for 300 s.

Without these tolerations the taint manager would evict a pod the moment its node
goes NotReady; upstream adds them to every pod (create and update, main resource)
that does not already tolerate the taints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import AdmissionPlugin, AdmissionRequest

if TYPE_CHECKING:
    from ..context import ServerContext

DEFAULT_TOLERATION_SECONDS = 300
TAINT_KEYS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def add_default_tolerations(spec: dict) -> None:
    tolerations = list(spec.get("tolerations") or [])
    for key in TAINT_KEYS:
        if any(isinstance(t, dict) and t.get("key") in (key, None, "")
               and t.get("effect") in ("NoExecute", None, "") for t in tolerations):
            continue
        tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    if tolerations:
        spec["tolerations"] = tolerations


class DefaultTolerationSeconds(AdmissionPlugin):
    name = "DefaultTolerationSeconds"

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if (req.is_resource("", "pods") and not req.subresource
                and req.operation in ("CREATE", "UPDATE") and isinstance(req.object, dict)):
            spec = req.object.get("spec")
            if isinstance(spec, dict):
                add_default_tolerations(spec)
