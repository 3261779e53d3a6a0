"""NodeName: a pod that names a node (spec.nodeName) fits only that node."""

from __future__ import annotations

from ..framework.interface import CycleState, Status, unresolvable
from ..framework.types import NodeInfo

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


def fits(pod: dict, node: NodeInfo) -> bool:
    wanted = (pod.get("spec") or {}).get("nodeName")
    return not wanted or wanted == node.name


class NodeName:
    name = NAME
    events = frozenset({"NodeAdd"})

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        return None if fits(pod, node) else unresolvable(REASON)


def new(args: dict, handle: object) -> NodeName:
    return NodeName()
