"""Node IPAM controller: every Node gets its own pod CIDR carved out of ``--cluster-cidr``.

As upstream's RangeAllocator: the cluster CIDR is split into subnets of
``--node-cidr-mask-size``; a :class:`CIDRSet` hands them out round-robin (the next search
starts after the last allocation, so a released subnet is not reused at once). At start
every subnet already on a Node is marked used before any Node is given a new one, so
allocations stay unique across restarts. Nodes without ``spec.podCIDR`` get the next free
subnet (``spec.podCIDR`` and ``spec.podCIDRs``); a deleted Node's subnet is released.
When the range is exhausted the Node gets a ``CIDRNotAvailable`` event and is retried.
Only one (IPv4 or IPv6) cluster CIDR is supported.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from ..client import NotFound
from . import register
from .base import Controller

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class CIDRRangeFull(Exception):
    """No free subnet is left in the cluster CIDR."""


class CIDRSet:
    """The subnets of one cluster CIDR and which of them are in use."""

    def __init__(self, cluster_cidr: str, mask_size: int) -> None:
        self.cluster = ipaddress.ip_network(cluster_cidr, strict=False)
        if mask_size < self.cluster.prefixlen or mask_size > self.cluster.max_prefixlen:
            raise ValueError(f"node CIDR mask size {mask_size} does not fit {self.cluster}")
        if mask_size - self.cluster.prefixlen > 24:
            raise ValueError("node CIDR mask size must be at most 24 bits longer than "
                             "the cluster CIDR's")
        self.mask_size = mask_size
        self.max = 1 << (mask_size - self.cluster.prefixlen)
        self.size = 1 << (self.cluster.max_prefixlen - mask_size)
        self.used: set[int] = set()
        self._next = 0

    def _subnet(self, index: int) -> IPNetwork:
        base = int(self.cluster.network_address) + index * self.size
        return ipaddress.ip_network((base, self.mask_size))

    def _index(self, cidr: str) -> int:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version != self.cluster.version or not net.subnet_of(self.cluster):
            raise ValueError(f"{cidr} is not in the cluster CIDR {self.cluster}")
        if net.prefixlen != self.mask_size:
            raise ValueError(f"{cidr} does not have the node mask size /{self.mask_size}")
        return (int(net.network_address) - int(self.cluster.network_address)) // self.size

    def allocate_next(self) -> str:
        for step in range(self.max):
            index = (self._next + step) % self.max
            if index not in self.used:
                self.used.add(index)
                self._next = (index + 1) % self.max
                return str(self._subnet(index))
        raise CIDRRangeFull(f"no free /{self.mask_size} left in {self.cluster}")

    def occupy(self, cidr: str) -> None:
        self.used.add(self._index(cidr))

    def release(self, cidr: str) -> None:
        self.used.discard(self._index(cidr))


def node_cidrs(node: dict) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


@register("nodeipam")
class NodeIPAMController(Controller):
    workers = 1  # allocation order is easier to reason about with one worker

    def setup(self) -> None:
        opts = self.ctx.options
        self.cidrs = CIDRSet(opts.cluster_cidr, opts.node_cidr_mask_size)
        self.nodes = self.ctx.informers.informer("v1", "Node")
        self.api = self.client.api("v1", "Node")
        #: node name -> the CIDR we hold for it (so deletes release the right one)
        self.held: dict[str, str] = {}
        self.nodes.add_event_handler(on_add=self.enqueue,
                                     on_update=lambda old, new: self.enqueue(new),
                                     on_delete=self._deleted)

    def _deleted(self, obj: Any) -> None:
        node = getattr(obj, "obj", obj)
        self.queue.add(node["metadata"]["name"])

    def _occupy(self, name: str, cidrs: list[str]) -> None:
        for cidr in cidrs:
            try:
                self.cidrs.occupy(cidr)
            except ValueError as err:
                self.log.warning("node %s: %s", name, err)
                continue
            self.held[name] = cidr

    async def run(self, stop: asyncio.Event) -> None:
        if not self.ctx.options.allocate_node_cidrs:
            await stop.wait()
            return
        await self.nodes.wait_for_sync()
        for node in self.nodes.store.list():
            self._occupy(node["metadata"]["name"], node_cidrs(node))
        await super().run(stop)

    async def sync(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None:
            cidr = self.held.pop(key, None)
            if cidr is not None:
                self.cidrs.release(cidr)
                self.log.info("released %s of deleted node %s", cidr, key)
            return
        if node_cidrs(node):
            if key not in self.held:
                self._occupy(key, node_cidrs(node))
            return
        if key in self.held:  # our earlier patch has not reached the cache yet
            return
        try:
            cidr = self.cidrs.allocate_next()
        except CIDRRangeFull:
            self.ctx.recorder.event(node, type="Normal", reason="CIDRNotAvailable",
                                    action="AllocateCIDR",
                                    note=f"Node {key} status is now: CIDRNotAvailable")
            raise
        try:
            await self.api.patch(key, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except NotFound:
            self.cidrs.release(cidr)
            return
        except Exception:
            self.cidrs.release(cidr)
            raise
        self.held[key] = cidr
        self.log.info("allocated %s to node %s", cidr, key)
