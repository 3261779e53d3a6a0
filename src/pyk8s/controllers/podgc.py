"""Pod garbage collector: deletes the pods nothing else will, as upstream's podgc.

Every 20 s (upstream's gcCheckPeriod) it deletes, with grace period 0:

* terminated pods (Succeeded/Failed) beyond ``--terminated-pod-gc-threshold`` (0 turns this
  off), oldest first by creationTimestamp;
* orphaned pods, bound to a Node that does not exist: a node missing from the cache is
  quarantined for 40 s and then confirmed absent with a live GET before its pods go
  (a node just created may not have reached our cache yet);
* terminating pods on nodes that are not Ready and carry the
  ``node.kubernetes.io/out-of-service`` taint (the kubelet there will never finish them);
* terminating pods that were never scheduled.

Before a non-terminal pod is deleted it is marked ``Failed`` with a ``DisruptionTarget``
condition (reason ``DeletionByPodGC``), as upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ..client import ApiError, NotFound
from . import register
from .base import Controller
from .util.taints import OUT_OF_SERVICE, has_taint, ready_status
from .util.times import format_time

GC_CHECK_PERIOD = 20.0
QUARANTINE = 40.0


def is_terminated(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def terminated_to_delete(pods: list[dict], threshold: int) -> list[dict]:
    """The oldest terminated pods above ``threshold`` (none when threshold <= 0)."""
    if threshold <= 0:
        return []
    done = [p for p in pods if is_terminated(p)]
    excess = len(done) - threshold
    if excess <= 0:
        return []
    done.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "",
                             p["metadata"].get("namespace", ""), p["metadata"]["name"]))
    return done[:excess]


def terminating_on_lost_nodes(pods: list[dict], nodes: dict[str, dict]) -> list[dict]:
    """Terminating pods never scheduled, or on not-ready out-of-service nodes."""
    found = []
    for pod in pods:
        if not pod["metadata"].get("deletionTimestamp") or is_terminated(pod):
            continue
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            found.append(pod)
            continue
        node = nodes.get(node_name)
        if node is not None and ready_status(node) != "True" and \
                has_taint(node, OUT_OF_SERVICE):
            found.append(pod)
    return found


class Quarantine:
    """Nodes missing from the cache, with when we first noticed (``clock``: seconds)."""

    def __init__(self, period: float = QUARANTINE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.period, self.clock = period, clock
        self._since: dict[str, float] = {}

    def expired(self, missing: set[str]) -> set[str]:
        """Record ``missing`` node names; those missing for a whole period."""
        now = self.clock()
        self._since = {n: self._since.get(n, now) for n in missing}
        return {n for n, since in self._since.items() if now - since >= self.period}

    def release(self, name: str) -> None:
        self._since.pop(name, None)


@register("podgc")
class PodGCController(Controller):
    def setup(self) -> None:
        self.pods = self.ctx.informers.informer("v1", "Pod")
        self.nodes = self.ctx.informers.informer("v1", "Node")
        self.pod_api = self.client.api("v1", "Pod")
        self.node_api = self.client.api("v1", "Node")
        self.quarantine = Quarantine()
        self.period = GC_CHECK_PERIOD
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def run(self, stop: asyncio.Event) -> None:
        await self.pods.wait_for_sync()
        await self.nodes.wait_for_sync()
        while not stop.is_set():
            try:
                await self.gc()
            except Exception:  # one failed pass must not end collection
                self.log.exception("pod gc pass failed")
            try:
                await asyncio.wait_for(stop.wait(), self.period)
            except TimeoutError:
                pass

    async def gc(self) -> None:
        pods = self.pods.store.list()
        nodes = {n["metadata"]["name"]: n for n in self.nodes.store.list()}
        threshold = self.ctx.options.terminated_pod_gc_threshold
        for pod in terminated_to_delete(pods, threshold):
            await self._delete(pod, "terminated pod above the threshold")
        for pod in terminating_on_lost_nodes(pods, nodes):
            await self._delete(pod, "PodGC: node is out of service")
        await self._gc_orphans(pods, nodes)

    async def _gc_orphans(self, pods: list[dict], nodes: dict[str, dict]) -> None:
        bound = {(p.get("spec") or {}).get("nodeName") for p in pods} - {None, ""}
        for name in self.quarantine.expired(bound - set(nodes)):
            try:
                await self.node_api.get(name)
            except NotFound:
                for pod in pods:
                    if (pod.get("spec") or {}).get("nodeName") == name:
                        await self._delete(pod, "PodGC: node no longer exists")
            else:
                self.quarantine.release(name)

    async def _delete(self, pod: dict, why: str) -> None:
        meta = pod["metadata"]
        if not is_terminated(pod):
            await self._mark_failed(pod, why)
        try:
            await self.pod_api.delete(meta["name"], namespace=meta["namespace"],
                                      grace_period_seconds=0,
                                      preconditions={"uid": meta["uid"]})
        except NotFound:
            return
        self.log.info("deleted pod %s/%s: %s", meta["namespace"], meta["name"], why)

    async def _mark_failed(self, pod: dict, message: str) -> None:
        meta = pod["metadata"]
        condition = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                     "message": message,
                     "lastTransitionTime": format_time(self.now())}
        try:
            await self.pod_api.patch(meta["name"],
                                     {"status": {"phase": "Failed", "conditions": [condition]}},
                                     namespace=meta["namespace"], type="strategic",
                                     subresource="status")
        except NotFound:
            return
        except ApiError as err:  # deleting is what matters
            self.log.warning("pod %s/%s: could not mark Failed: %s", meta["namespace"],
                             meta["name"], err)
