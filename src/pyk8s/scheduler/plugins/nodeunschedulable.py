"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods tolerating the
``node.kubernetes.io/unschedulable:NoSchedule`` taint."""

from __future__ import annotations

from ..framework.interface import CycleState, Status, unresolvable
from ..framework.labels import tolerated
from ..framework.types import NodeInfo

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate"})

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        if not (node.node.get("spec") or {}).get("unschedulable"):
            return None
        if tolerated(TAINT, (pod.get("spec") or {}).get("tolerations") or []):
            return None
        return unresolvable(REASON)


def new(args: dict, handle: object) -> NodeUnschedulable:
    return NodeUnschedulable()
