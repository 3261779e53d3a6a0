"""The node half of the hollow kubelets: registration, node status and Lease heartbeats.

Like the kubelet (``registerWithAPIServer``, ``updateNodeStatus``, ``pkg/kubelet/nodelease``):

* registration creates each Node with its status; a Node of that name already there
  is taken over (its labels brought to ours, its status posted at once), so a restarted
  process picks up its nodes again. Failures retry with backoff, as the kubelet does.
* every ``nodeStatusUpdateFrequency`` (10 s) each node's status is recomputed from the
  Node in the shared informer's cache and posted (a strategic merge patch of
  ``/status``) if it changed, or anyway once ``nodeStatusReportFrequency`` (5 min) has
  passed since the last post. A node lifecycle controller that marked the node
  Unknown therefore sees it Ready again within one update period.
* every quarter of ``leaseDurationSeconds`` each node's Lease in kube-node-lease is
  renewed: an update of the Lease last written (one request), a get on conflict, a
  create when missing, with an owner reference to the Node as SetNodeOwnerFunc sets.

Both periodic loops are one :class:`Spread` each over all nodes, sharing one request
semaphore with the pod side.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass

from ..client import AlreadyExists, Client, Conflict, Informer, NotFound
from ..client.backoff import Backoff
from ..client.errors import ClientError
from ..client.meta import micro_time
from .ipam import fallback_pod_cidr, node_ip
from .nodestatus import (
    LEASE_NAMESPACE,
    NodeModel,
    label_patch,
    lease_object,
    node_object,
    node_status,
    renewed_lease,
    status_changed,
)
from .options import HollowOptions
from .podstatus import rfc3339

log = logging.getLogger("pyk8s.hollow.nodes")


@dataclass
class HollowNode:
    """One simulated node's bookkeeping (the API objects themselves stay in caches)."""

    model: NodeModel
    fallback_cidr: str
    uid: str | None = None
    lease: dict | None = None
    last_report: float = -math.inf


def build_nodes(opts: HollowOptions) -> dict[str, HollowNode]:
    boot = uuid.uuid4()
    nodes = {}
    for i in range(opts.count):
        name = opts.node_name(i)
        index = opts.first_index + i
        model = NodeModel(name=name, internal_ip=node_ip(opts.node_ip_range, index),
                          capacity=opts.capacity, labels=opts.labels, taints=opts.taints,
                          boot_id=str(uuid.uuid5(boot, name)))
        nodes[name] = HollowNode(model, fallback_pod_cidr(opts.pod_cidr_base,
                                                          opts.pod_cidr_mask_size, index))
    return nodes


class NodeFleet:
    """Registers the nodes and keeps their status and Leases fresh."""

    def __init__(self, client: Client, opts: HollowOptions, nodes: dict[str, HollowNode],
                 informer: Informer, limit: asyncio.Semaphore) -> None:
        self.opts = opts
        self.nodes = nodes
        self.informer = informer
        self.limit = limit
        self.node_api = client.api("v1", "Node")
        self.lease_api = client.api("coordination.k8s.io/v1", "Lease")

    def host_ip(self, name: str) -> str:
        return self.nodes[name].model.internal_ip

    def pod_cidr(self, name: str) -> str:
        """The Node's spec.podCIDR if node IPAM set one, else the node's own subnet."""
        cached = self.informer.store.get(name)
        cidr = ((cached or {}).get("spec") or {}).get("podCIDR")
        return cidr or self.nodes[name].fallback_cidr

    # -- registration ------------------------------------------------------------------

    async def register_all(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            for node in self.nodes.values():
                group.create_task(self._register(node, stop))

    async def _register(self, node: HollowNode, stop: asyncio.Event) -> None:
        backoff = Backoff(initial=0.1, cap=7.0, jitter=0.2)
        while not stop.is_set():
            try:
                await self._try_register(node)
                return
            except ClientError as err:  # kubelet: log and retry registration with backoff
                delay = backoff.next()
                log.warning("registering %s failed (%s); retrying in %.1fs", node.model.name,
                            err, delay)
                try:
                    async with asyncio.timeout(delay):
                        await stop.wait()
                except TimeoutError:
                    pass

    async def _try_register(self, node: HollowNode) -> None:
        name = node.model.name
        try:
            async with self.limit:
                created = await self.node_api.create(node_object(node.model, rfc3339()))
            node.uid = created["metadata"]["uid"]
            node.last_report = asyncio.get_running_loop().time()
            return
        except AlreadyExists:
            pass
        async with self.limit:
            existing = await self.node_api.get(name)
            patch = label_patch(node.model, existing)
            if patch:
                existing = await self.node_api.patch(name, patch, type="merge")
        node.uid = existing["metadata"]["uid"]
        log.info("took over existing node %s", name)
        await self._post_status(node, existing)

    # -- node status -------------------------------------------------------------------

    async def update_status(self, name: str) -> None:
        """One nodeStatusUpdateFrequency tick of one node: post if changed or due."""
        node = self.nodes[name]
        cached = self.informer.store.get(name)
        if cached is None or node.uid is None:
            return
        desired = node_status(node.model, cached.get("status"), rfc3339())
        due = asyncio.get_running_loop().time() - node.last_report >= \
            self.opts.node_status_report_frequency
        if due or status_changed(cached.get("status"), desired):
            await self._post_status(node, cached, desired)

    async def _post_status(self, node: HollowNode, current: dict,
                           desired: dict | None = None) -> None:
        desired = desired or node_status(node.model, current.get("status"), rfc3339())
        try:
            async with self.limit:
                await self.node_api.patch(node.model.name, {"status": desired},
                                          type="strategic", subresource="status")
        except NotFound:
            log.warning("node %s is gone; not re-registering (as the kubelet)", node.model.name)
            return
        node.last_report = asyncio.get_running_loop().time()

    # -- leases ------------------------------------------------------------------------

    async def renew_lease(self, name: str) -> None:
        node = self.nodes[name]
        duration = self.opts.lease_duration
        if node.lease is None:
            node.lease = await self._ensure_lease(node)
            return
        try:
            async with self.limit:
                node.lease = await self.lease_api.update(
                    renewed_lease(node.lease, node.uid, duration, micro_time()))
        except (Conflict, NotFound):
            node.lease = await self._ensure_lease(node)

    async def _ensure_lease(self, node: HollowNode) -> dict:
        """Get the Lease and renew it, or create it (kubelet's ensureLease + renew)."""
        name, duration = node.model.name, self.opts.lease_duration
        async with self.limit:
            try:
                current = await self.lease_api.get(name, namespace=LEASE_NAMESPACE)
            except NotFound:
                try:
                    return await self.lease_api.create(
                        lease_object(name, node.uid, duration, micro_time()))
                except AlreadyExists:
                    current = await self.lease_api.get(name, namespace=LEASE_NAMESPACE)
            return await self.lease_api.update(
                renewed_lease(current, node.uid, duration, micro_time()))

    # -- exit --------------------------------------------------------------------------

    async def delete_all(self) -> None:
        """--delete-nodes-on-exit: remove the Nodes and their Leases."""
        async def one(name: str) -> None:
            for api, namespace in ((self.lease_api, LEASE_NAMESPACE), (self.node_api, None)):
                try:
                    async with self.limit:
                        await api.delete(name, namespace=namespace)
                except NotFound:
                    pass

        async with asyncio.TaskGroup() as group:
            for name in self.nodes:
                group.create_task(one(name))
