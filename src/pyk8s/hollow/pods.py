"""The pod half of the hollow kubelets: "run" the pods bound to any of our nodes.

One pod informer serves every node of the process. It watches ``spec.nodeName!=``
(bound pods only, as kwok does) rather than one ``spec.nodeName=<node>`` watch per
node as kubemark's hollow kubelets do: a thousand watches would cost the API server a
thousand watchers and this process a thousand streams, while the one watch costs only
the pods of nodes we do not own, which are dropped on sight. Handlers only enqueue
``namespace/name`` keys (and keep pod-address bookkeeping, which needs no API);
workers ``sync`` a key from the cache, level-triggered like the kubelet's pod workers:

* a pod being deleted is stopped (status with containers terminated) and then
  deleted with ``gracePeriodSeconds=0`` and a UID precondition, which is the kubelet's
  confirmation that lets the API server drop a graceful deletion;
* a pod whose run time (``pyk8s.io/hollow-run-seconds``) is up becomes Succeeded;
* any other non-terminal pod gets its Running status (written only if it differs),
  and a finish time is queued with ``add_after`` (a timer, not a sleeping task).

There are as many workers as requests allowed in flight: a status write is one round
trip whose latency (the API server's durable write) rather than CPU is the limit, so
fewer workers would leave the request semaphore idle while pods wait.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from ..client import (
    Client,
    Conflict,
    Informer,
    NotFound,
    RateLimitingQueue,
    run_workers,
)
from ..client.informers import DeletedFinalStateUnknown
from ..client.meta import meta_namespace_key, split_key
from .ipam import PodIPAM
from .nodes import NodeFleet
from .podstatus import (
    finished_status,
    needs_update,
    parse_rfc3339,
    rfc3339,
    run_seconds,
    running_status,
)

log = logging.getLogger("pyk8s.hollow.pods")

TERMINAL = ("Succeeded", "Failed")


def _uid(pod: dict) -> str:
    return (pod.get("metadata") or {}).get("uid", "")


def _node(pod: dict) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


class PodRunner:
    """Drives pods on our nodes from Pending to Running, Succeeded and deletion."""

    def __init__(self, client: Client, informer: Informer, fleet: NodeFleet,
                 limit: asyncio.Semaphore, *, workers: int) -> None:
        self.informer = informer
        self.fleet = fleet
        self.limit = limit
        self.workers = workers
        self.pod_api = client.api("v1", "Pod")
        self.ipam = PodIPAM()
        self.queue = RateLimitingQueue(name="hollow-pods")
        informer.add_event_handler(on_add=self._on_add, on_update=self._on_update,
                                   on_delete=self._on_delete)

    # -- handlers: bookkeeping and enqueue only ----------------------------------------

    def _ours(self, pod: dict) -> bool:
        return _node(pod) in self.fleet.nodes

    def _on_add(self, pod: dict) -> None:
        if not self._ours(pod):
            return
        status = pod.get("status") or {}
        pod_ip = status.get("podIP")
        if pod_ip and status.get("phase") not in TERMINAL and \
                not (pod.get("spec") or {}).get("hostNetwork"):
            # a pod running since before a restart keeps its address
            self.ipam.reserve(self.fleet.pod_cidr(_node(pod)), _uid(pod), pod_ip)
        self.queue.add(meta_namespace_key(pod))

    def _on_update(self, old: dict, new: dict) -> None:
        if self._ours(new):
            self.queue.add(meta_namespace_key(new))

    def _on_delete(self, obj: dict | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if pod:
            self.ipam.release(_uid(pod))

    # -- sync ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await run_workers(self.queue, self.sync, workers=self.workers, stop=stop)

    async def sync(self, key: str) -> None:
        pod = self.informer.store.get(key)
        if pod is None or not self._ours(pod):
            return
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        if meta.get("deletionTimestamp"):
            await self._stop_and_delete(pod)
            return
        if status.get("phase") in TERMINAL:
            self.ipam.release(_uid(pod))
            return
        now = datetime.now(UTC)
        node = _node(pod)
        host_ip = self.fleet.host_ip(node)
        pod_ip = self._pod_ip(pod)
        desired = running_status(pod, host_ip=host_ip, pod_ip=pod_ip, now=rfc3339(now))
        lifetime = run_seconds(pod)
        if lifetime is not None:
            left = lifetime - (now - parse_rfc3339(desired["startTime"])).total_seconds()
            if left <= 0:
                desired = finished_status(pod, host_ip=host_ip, pod_ip=pod_ip,
                                          now=rfc3339(now))
            else:
                self.queue.add_after(key, left)
        if needs_update(status, desired):
            await self._patch_status(pod, desired)
        if desired["phase"] in TERMINAL:
            self.ipam.release(_uid(pod))

    def _pod_ip(self, pod: dict) -> str:
        node = _node(pod)
        if (pod.get("spec") or {}).get("hostNetwork"):
            return self.fleet.host_ip(node)
        current = (pod.get("status") or {}).get("podIP")
        return self.ipam.ip_of(_uid(pod)) or current or \
            self.ipam.allocate(self.fleet.pod_cidr(node), _uid(pod))

    async def _patch_status(self, pod: dict, status: dict) -> bool:
        namespace, name = split_key(meta_namespace_key(pod))
        try:
            async with self.limit:
                await self.pod_api.patch(name, {"metadata": {"uid": _uid(pod)},
                                                "status": status},
                                         namespace=namespace, type="strategic",
                                         subresource="status")
        except NotFound:
            return False
        return True

    async def _stop_and_delete(self, pod: dict) -> None:
        """Kill the containers (they exit 0 on SIGTERM at once), report it, then confirm
        the deletion with grace period 0 as the kubelet does once a pod has stopped."""
        status = pod.get("status") or {}
        if status.get("phase") not in TERMINAL:
            pod_ip = status.get("podIP") or self.ipam.ip_of(_uid(pod)) or ""
            host_ip = self.fleet.host_ip(_node(pod))
            final = finished_status(pod, host_ip=host_ip, pod_ip=pod_ip, now=rfc3339())
            if not await self._patch_status(pod, final):
                return
        self.ipam.release(_uid(pod))
        namespace, name = split_key(meta_namespace_key(pod))
        try:
            async with self.limit:
                await self.pod_api.delete(name, namespace=namespace, grace_period_seconds=0,
                                          preconditions={"uid": _uid(pod)})
        except (NotFound, Conflict):
            pass  # already gone, or a new pod of the same name that is not ours to delete
