"""Nominated pods: pods that preempted others and wait for the room they made.

A pod is nominated to a node by preemption (and by its status.nominatedNodeName when the
scheduler restarts). Filters count nominated pods of equal or higher priority as already
on the node, so the freed room is not taken by someone else meanwhile.
"""

from __future__ import annotations

from .framework.types import PodInfo, pod_key, pod_priority


class Nominator:
    def __init__(self) -> None:
        self._node_of: dict[str, str] = {}
        self._by_node: dict[str, dict[str, PodInfo]] = {}

    def add(self, pod: dict, node: str | None = None) -> None:
        """Nominate ``pod`` to ``node`` (default: its status.nominatedNodeName)."""
        node = node or (pod.get("status") or {}).get("nominatedNodeName")
        self.remove(pod)
        if not node or (pod.get("spec") or {}).get("nodeName"):
            return
        key = pod_key(pod)
        self._node_of[key] = node
        self._by_node.setdefault(node, {})[key] = PodInfo(pod)

    def remove(self, pod: dict) -> None:
        key = pod_key(pod)
        node = self._node_of.pop(key, None)
        if node is not None:
            pods = self._by_node[node]
            pods.pop(key, None)
            if not pods:
                del self._by_node[node]

    def node_of(self, pod: dict) -> str | None:
        return self._node_of.get(pod_key(pod))

    def nominated_on(self, node: str) -> list[PodInfo]:
        return list(self._by_node.get(node, {}).values())

    def nominated_for(self, pod: dict, node: str) -> list[PodInfo]:
        """Pods nominated to ``node`` that ``pod`` must leave room for."""
        pods = self._by_node.get(node)
        if not pods:
            return []
        key, prio = pod_key(pod), pod_priority(pod)
        return [info for k, info in pods.items() if k != key and info.priority >= prio]
