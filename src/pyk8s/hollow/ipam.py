"""Addresses for hollow nodes and their pods, handed out without any network.

A hollow node's InternalIP is the (index+1)-th address of ``--node-ip-range``: unique
within one process, never contacted by anything. Pod addresses come from the node's
``spec.podCIDR`` when the controller manager's node IPAM set one, else from a subnet
of ``--pod-cidr-base`` chosen by node index (so two nodes of one process never
overlap). Inside a subnet addresses are handed out as CNI's host-local plugin does:
the network address and the gateway (.1) are skipped, allocation walks on from the
last address given (so a freed address is not reused at once), and the broadcast
address is never used. State is in memory; at start-up the pods already running
re-reserve their addresses before anything new is allocated.
"""

from __future__ import annotations

import ipaddress


class AddressesExhausted(Exception):
    """Every address of a node's pod subnet is in use."""


def node_ip(node_ip_range: str, index: int) -> str:
    """The fake InternalIP of node ``index`` (0-based)."""
    net = ipaddress.ip_network(node_ip_range)
    if index + 1 >= net.num_addresses - 1:
        raise ValueError(f"node index {index} is outside {node_ip_range}")
    return str(net.network_address + index + 1)


def fallback_subnet_count(base: str, mask: int) -> int:
    """How many /``mask`` subnets ``base`` holds (ValueError if none)."""
    net = ipaddress.ip_network(base)
    if mask < net.prefixlen or mask > net.max_prefixlen - 2:
        raise ValueError(f"--pod-cidr-mask-size {mask} does not fit inside {base}")
    return 2 ** (mask - net.prefixlen)


def fallback_pod_cidr(base: str, mask: int, index: int) -> str:
    """The ``index``-th /``mask`` subnet of ``base``: node ``index``'s pod subnet when its
    Node has no spec.podCIDR."""
    net = ipaddress.ip_network(base)
    if index >= fallback_subnet_count(base, mask):
        raise ValueError(f"{base} has no {index}-th /{mask} subnet")
    size = 2 ** (net.max_prefixlen - mask)
    return str(ipaddress.ip_network((net.network_address + index * size, mask)))


class _Pool:
    """One subnet's addresses in use, as offsets from the network address."""

    def __init__(self, cidr: str) -> None:
        self.net = ipaddress.ip_network(cidr, strict=False)
        self.first = 2  # skip the network address and the gateway
        self.last = self.net.num_addresses - 2  # skip the broadcast address
        self.used: set[int] = set()
        self.cursor = self.first - 1

    def allocate(self) -> str:
        span = self.last - self.first + 1
        for step in range(1, span + 1):
            offset = self.first + (self.cursor - self.first + step) % span
            if offset not in self.used:
                self.used.add(offset)
                self.cursor = offset
                return str(self.net.network_address + offset)
        raise AddressesExhausted(f"no free address in {self.net}")

    def offset(self, ip: str) -> int | None:
        addr = ipaddress.ip_address(ip)
        if addr.version != self.net.version or addr not in self.net:
            return None
        return int(addr) - int(self.net.network_address)


class PodIPAM:
    """Pod addresses by pod UID across every subnet of the process."""

    def __init__(self) -> None:
        self._pools: dict[str, _Pool] = {}
        self._owners: dict[str, tuple[str, int]] = {}

    def _pool(self, cidr: str) -> _Pool:
        pool = self._pools.get(cidr)
        if pool is None:
            pool = self._pools[cidr] = _Pool(cidr)
        return pool

    def ip_of(self, uid: str) -> str | None:
        owner = self._owners.get(uid)
        if owner is None:
            return None
        pool = self._pools[owner[0]]
        return str(pool.net.network_address + owner[1])

    def allocate(self, cidr: str, uid: str) -> str:
        """The pod's address (the same one on every call until it is released)."""
        current = self.ip_of(uid)
        if current is not None:
            return current
        pool = self._pool(cidr)
        ip = pool.allocate()
        self._owners[uid] = (cidr, pool.offset(ip))
        return ip

    def reserve(self, cidr: str, uid: str, ip: str) -> bool:
        """Record an address a pod already has (after a restart). False if ``ip`` is not
        in ``cidr`` (then nothing is tracked: it cannot collide with what we hand out)
        or is held by another pod."""
        pool = self._pool(cidr)
        offset = pool.offset(ip)
        if offset is None or self._owners.get(uid) == (cidr, offset):
            return offset is not None
        if offset in pool.used:
            return False
        pool.used.add(offset)
        self._owners[uid] = (cidr, offset)
        return True

    def release(self, uid: str) -> None:
        owner = self._owners.pop(uid, None)
        if owner is not None:
            self._pools[owner[0]].used.discard(owner[1])

    def in_use(self, cidr: str) -> int:
        pool = self._pools.get(cidr)
        return len(pool.used) if pool else 0
