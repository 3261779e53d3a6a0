"""The scheduler's view of the cluster: NodeInfos kept from informers, plus assumed pods.

A pod is *assumed* on its node at Reserve, before the binding call returns, so the next
pod already sees the resources as used. When the informer later reports the pod bound,
the assumption is confirmed; if binding fails it is forgotten; an assumed pod whose
binding finished but which the informer never reports is expired after ``ttl`` seconds.

Each scheduling cycle reads a Snapshot: clones of the NodeInfos, refreshed only for
nodes that changed since the last cycle (a dirty set), so the cycle sees a stable view
while informers keep updating the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .framework.types import NodeInfo, PodInfo, pod_key

log = logging.getLogger(__name__)

DEFAULT_ASSUMED_TTL = 30.0


@dataclass
class _PodState:
    info: PodInfo
    node: str
    assumed: bool = False
    deadline: float | None = None


class Snapshot:
    """What one cycle sees: NodeInfos of the nodes that exist, in a stable order."""

    def __init__(self) -> None:
        self.node_infos: list[NodeInfo] = []
        self._by_name: dict[str, NodeInfo] = {}
        self._position: dict[str, int] = {}
        self._image_nodes: dict[str, int] = {}

    def get(self, name: str) -> NodeInfo | None:
        return self._by_name.get(name)

    def image_nodes(self, image: str) -> int:
        return self._image_nodes.get(image, 0)

    @classmethod
    def of(cls, node_infos: list[NodeInfo]) -> Snapshot:
        """A snapshot of given NodeInfos (for tests and tools)."""
        snap = cls()
        snap.node_infos = list(node_infos)
        snap._by_name = {n.name: n for n in node_infos}
        snap._position = {n.name: i for i, n in enumerate(node_infos)}
        for info in node_infos:
            for image in info.images:
                snap._image_nodes[image] = snap._image_nodes.get(image, 0) + 1
        return snap


class Cache:
    def __init__(self, *, ttl: float = DEFAULT_ASSUMED_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[str, _PodState] = {}
        self._dirty: set[str] = set()
        self._order_changed = True
        self._image_nodes: dict[str, int] = {}

    def _info(self, name: str) -> NodeInfo:
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo()
        self._dirty.add(name)
        return info

    # -- nodes ------------------------------------------------------------------------

    def _count_images(self, info: NodeInfo, sign: int) -> None:
        for image in info.images:
            self._image_nodes[image] = self._image_nodes.get(image, 0) + sign

    def add_node(self, node: dict) -> None:
        info = self._info(node["metadata"]["name"])
        if info.node is None:
            self._order_changed = True
        self._count_images(info, -1)
        info.set_node(node)
        self._count_images(info, 1)

    def remove_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        info = self.nodes.get(name)
        if info is None:
            return
        self._count_images(info, -1)
        self._order_changed = True
        self._dirty.add(name)
        if info.pods:
            info.node = None
        else:
            del self.nodes[name]

    # -- pods -------------------------------------------------------------------------

    def _place(self, pod: dict, node: str, *, assumed: bool) -> None:
        info = PodInfo(pod)
        self._info(node).add_pod(info)
        self.pods[info.key] = _PodState(info, node, assumed)

    def _unplace(self, key: str) -> _PodState | None:
        state = self.pods.pop(key, None)
        if state is None:
            return None
        info = self.nodes.get(state.node)
        if info is not None:
            info.remove_pod(key)
            self._dirty.add(state.node)
            if info.node is None and not info.pods:
                del self.nodes[state.node]
        return state

    def assume_pod(self, pod: dict) -> None:
        """Count ``pod`` (with spec.nodeName set to the chosen node) before it is bound."""
        key = pod_key(pod)
        if key in self.pods:
            raise ValueError(f"pod {key} is already in the cache")
        self._place(pod, pod["spec"]["nodeName"], assumed=True)

    def finish_binding(self, pod: dict) -> None:
        """The bind call returned: start the expiry clock of the assumption."""
        state = self.pods.get(pod_key(pod))
        if state is not None and state.assumed:
            state.deadline = self.clock() + self.ttl

    def forget_pod(self, pod: dict) -> None:
        state = self.pods.get(pod_key(pod))
        if state is not None and state.assumed:
            self._unplace(pod_key(pod))

    def is_assumed(self, key: str) -> bool:
        state = self.pods.get(key)
        return state is not None and state.assumed

    def add_pod(self, pod: dict) -> None:
        """An informer reports a bound pod (confirming an assumption, if any)."""
        key = pod_key(pod)
        if key in self.pods:
            self._unplace(key)
        self._place(pod, pod["spec"]["nodeName"], assumed=False)

    def update_pod(self, old: dict, new: dict) -> None:
        self.add_pod(new)

    def remove_pod(self, pod: dict) -> None:
        self._unplace(pod_key(pod))

    def cleanup_expired(self) -> list[str]:
        """Drop assumptions whose binding finished more than ``ttl`` ago; their keys."""
        now = self.clock()
        expired = [key for key, s in self.pods.items()
                   if s.assumed and s.deadline is not None and s.deadline < now]
        for key in expired:
            log.warning("assumed pod %s expired without being reported bound", key)
            self._unplace(key)
        return expired

    # -- snapshot ---------------------------------------------------------------------

    def update_snapshot(self, snapshot: Snapshot) -> None:
        for name in self._dirty:
            info = self.nodes.get(name)
            if info is None or info.node is None:
                snapshot._by_name.pop(name, None)
            else:
                snapshot._by_name[name] = info.clone()
        if self._order_changed:
            snapshot.node_infos = list(snapshot._by_name.values())
            snapshot._position = {n.name: i for i, n in enumerate(snapshot.node_infos)}
        else:
            for name in self._dirty:
                snapshot.node_infos[snapshot._position[name]] = snapshot._by_name[name]
        snapshot._image_nodes = self._image_nodes
        self._dirty.clear()
        self._order_changed = False
