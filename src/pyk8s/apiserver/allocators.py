"""In-memory allocators for Service cluster IPs and node ports.

kube-apiserver hands out a Service's ``clusterIP`` from the service CIDR and its
``nodePort``s from the node-port range, honouring values a client asks for and
refusing ones already taken. These allocators keep that bookkeeping in memory
(rebuilt from stored Services with :meth:`mark_used`). The service hooks reach them
through the coroutines :meth:`reserve` and :meth:`unreserve`, so that the API server can
swap in :mod:`pyk8s.apiserver.rangestore`'s subclasses, which keep the same state in the
store where several API servers share it.
Like upstream, dynamic allocation prefers the upper part of each range and keeps
the lower band for values clients choose themselves, and errors carry upstream's
words ("provided IP is already allocated", "range is full", ...).
"""

from __future__ import annotations

import ipaddress
import random


class AllocationError(ValueError):
    """A value could not be allocated; ``reason`` is "allocated", "range" or "full"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _static_band(size: int, lo: int, hi: int, step: int) -> int:
    """Size of the lower band reserved for requested values: min(max(lo, size/step), hi)."""
    if size <= lo:
        return 0
    return max(lo, min(hi, size // step))


class _OffsetPool:
    """Offsets 0..size-1, allocated upper band first from a random starting point."""

    def __init__(self, size: int, band: int) -> None:
        self.size = size
        self.band = band
        self.used: dict[int, str | None] = {}  # offset -> owner

    def take(self, offset: int, owner: str | None) -> bool:
        if offset in self.used:
            return owner is not None and self.used[offset] == owner
        self.used[offset] = owner
        return True

    def next_free(self, skip: frozenset[int]) -> int | None:
        for lo, hi in ((self.band, self.size), (0, self.band)):
            span = hi - lo
            if span <= 0:
                continue
            start = random.randrange(span)
            for i in range(span):
                offset = lo + (start + i) % span
                if offset not in self.used and offset not in skip:
                    return offset
        return None


class _AsyncFace:
    """The coroutine interface the service hooks use; in memory it is immediate."""

    async def reserve(self, specific=None, *, owner: str | None = None):
        """:meth:`allocate` as a coroutine (a store round trip in the stored subclasses)."""
        return self.allocate(specific, owner=owner)  # type: ignore[attr-defined]

    async def unreserve(self, value) -> None:
        """:meth:`release` as a coroutine."""
        self.release(value)  # type: ignore[attr-defined]


class IPAllocator(_AsyncFace):
    """Cluster IPs from one CIDR; its first address is kept for the ``kubernetes`` Service."""

    def __init__(self, cidr: str = "10.96.0.0/12") -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self.cidr = str(self.network)
        total = self.network.num_addresses
        # Skip the network address, and for IPv4 the broadcast address too.
        size = total - 2 if self.network.version == 4 else total - 1
        self._pool = _OffsetPool(max(0, min(size, 1 << 24)), 0)
        self._pool.band = _static_band(self._pool.size, 16, 256, 16)
        self._base = int(self.network.network_address) + 1

    @property
    def family(self) -> str:
        return "IPv4" if self.network.version == 4 else "IPv6"

    @property
    def first(self) -> str:
        """The address reserved for the ``kubernetes`` Service (e.g. 10.96.0.1)."""
        return str(ipaddress.ip_address(self._base))

    def _offset(self, ip: str) -> int:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise AllocationError("range", f"failed to parse IP {ip}") from None
        offset = int(addr) - self._base
        if addr.version != self.network.version or not 0 <= offset < self._pool.size:
            raise AllocationError(
                "range",
                f"the provided IP ({ip}) is not in the valid range. The range of valid "
                f"IPs is {self.cidr}",
            )
        return offset

    def contains(self, ip: str) -> bool:
        try:
            self._offset(ip)
        except AllocationError:
            return False
        return True

    def is_allocated(self, ip: str) -> bool:
        return self.contains(ip) and self._offset(ip) in self._pool.used

    def allocate(self, specific: str | None = None, *, owner: str | None = None) -> str:
        """Reserve ``specific`` (or any free address) and return it.

        Asking again for an address already held by the same ``owner`` succeeds, so a
        retried write does not trip over its own earlier reservation.
        """
        if specific:
            offset = self._offset(specific)
            if not self._pool.take(offset, owner):
                raise AllocationError("allocated", "provided IP is already allocated")
            return str(ipaddress.ip_address(self._base + offset))
        offset = self._pool.next_free(frozenset((0,)))
        if offset is None:
            raise AllocationError("full", "range is full")
        self._pool.take(offset, owner)
        return str(ipaddress.ip_address(self._base + offset))

    def mark_used(self, ip: str, *, owner: str | None = None) -> None:
        """Record an address already in use (e.g. by a stored Service); out-of-range is ignored."""
        if self.contains(ip):
            self._pool.used.setdefault(self._offset(ip), owner)

    def release(self, ip: str) -> None:
        if self.contains(ip):
            self._pool.used.pop(self._offset(ip), None)

    @property
    def free(self) -> int:
        return self._pool.size - len(self._pool.used)


class PortAllocator(_AsyncFace):
    """Node ports from an inclusive range (30000-32767 by default)."""

    def __init__(self, first: int = 30000, last: int = 32767) -> None:
        if last < first:
            raise ValueError(f"invalid port range {first}-{last}")
        self.first, self.last = first, last
        size = last - first + 1
        self._pool = _OffsetPool(size, _static_band(size, 16, 128, 32))

    @property
    def range(self) -> str:
        return f"{self.first}-{self.last}"

    def contains(self, port: int) -> bool:
        return self.first <= port <= self.last

    def is_allocated(self, port: int) -> bool:
        return self.contains(port) and (port - self.first) in self._pool.used

    def allocate(self, specific: int | None = None, *, owner: str | None = None) -> int:
        """Reserve ``specific`` (or any free port) and return it; same-owner repeats succeed."""
        if specific:
            if not self.contains(specific):
                raise AllocationError(
                    "range",
                    "provided port is not in the valid range. The range of valid ports "
                    f"is {self.range}",
                )
            if not self._pool.take(specific - self.first, owner):
                raise AllocationError("allocated", "provided port is already allocated")
            return specific
        offset = self._pool.next_free(frozenset())
        if offset is None:
            raise AllocationError("full", "range is full")
        self._pool.take(offset, owner)
        return self.first + offset

    def mark_used(self, port: int, *, owner: str | None = None) -> None:
        if self.contains(port):
            self._pool.used.setdefault(port - self.first, owner)

    def release(self, port: int) -> None:
        if self.contains(port):
            self._pool.used.pop(port - self.first, None)

    @property
    def free(self) -> int:
        return self._pool.size - len(self._pool.used)
