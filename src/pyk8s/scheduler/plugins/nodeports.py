"""NodePorts: a pod's hostPorts must be free on the node (same protocol and port, and
the same hostIP or either side bound to 0.0.0.0, is a conflict)."""

from __future__ import annotations

from ..framework.interface import SKIP, CycleState, Status, unschedulable
from ..framework.types import NodeInfo, PodInfo

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"
STATE_KEY = "PreFilter" + NAME


def conflicts(wanted: tuple[tuple[str, str, int], ...],
              used: dict[tuple[str, str, int], int]) -> bool:
    if not used:
        return False
    for ip, protocol, port in wanted:
        for uip, uprotocol, uport in used:
            if port == uport and protocol == uprotocol and \
                    (ip == uip or "0.0.0.0" in (ip, uip)):
                return True
    return False


class NodePorts:
    name = NAME
    events = frozenset({"NodeAdd", "AssignedPodDelete"})

    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        ports = PodInfo(pod).host_ports
        if not ports:
            return SKIP
        state.write(STATE_KEY, ports)
        return None

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        wanted = state.read(STATE_KEY)
        if wanted is None:
            wanted = PodInfo(pod).host_ports
        return unschedulable(REASON) if conflicts(wanted, node.used_ports) else None


def new(args: dict, handle: object) -> NodePorts:
    return NodePorts()
