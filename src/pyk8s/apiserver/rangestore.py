"""Service IP and node-port ranges kept in the store, shared by every API server.

With one API server, allocators in memory would do; with several on one etcd, two of
them could hand out the same address at the same moment. So, as upstream's
RangeAllocation objects (``/registry/ranges/serviceips`` and
``/registry/ranges/servicenodeports``), each range's allocation state is one stored
value, a bitmap of the taken offsets, and every change is a compare-and-swap on its
revision: read the bitmap, set or clear the bit, write it back guarded by the revision
read, and start over when another server wrote in between. A race costs a retry, never
a duplicate. The same classes serve the single SQLite server, where the CAS never fails.

The value is JSON, ``{"kind": "RangeAllocation", "apiVersion": "v1", "range": ...,
"data": ...}``; ``data`` is base64 of the zlib-compressed bitmap in upstream's layout
(big-endian bytes of a big integer whose bit i is offset i). Compressed because a /12
service range is 128 KiB of mostly zero bits, rewritten on every allocation.

Owners (the Service uid that asked for an offset, so that a retried write may ask again)
are not stored. This process remembers the owners of offsets it allocated, but trusts
that memory only while the stored range is still at the revision of its own last write:
once another server wrote, a bit may have been freed and taken again meanwhile, so a
retried request is refused rather than risk a duplicate. A single server always reads
its own last write and keeps the in-memory behaviour exactly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..store import (
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Store,
    StoreError,
)
from .allocators import IPAllocator, PortAllocator, _OffsetPool

log = logging.getLogger(__name__)

IP_KEY = "/registry/ranges/serviceips"
PORT_KEY = "/registry/ranges/servicenodeports"
MAX_ATTEMPTS = 100  # conflicting writes in a row before giving up (each is another server's)

T = TypeVar("T")
_NONZERO = re.compile(rb"[^\x00]")


def encode_bitmap(offsets: Iterable[int], size: int) -> bytes:
    """zlib(big-endian bytes of sum(1 << offset)), leading zero bytes trimmed."""
    bits = bytearray((size + 7) // 8)
    for offset in offsets:
        bits[offset >> 3] |= 1 << (offset & 7)
    bits.reverse()
    return zlib.compress(bytes(bits).lstrip(b"\0"))


def decode_bitmap(data: bytes) -> list[int]:
    """The offsets set in a bitmap written by :func:`encode_bitmap`."""
    raw = zlib.decompress(data)
    last = len(raw) - 1
    offsets = []
    for match in _NONZERO.finditer(raw):
        byte, base = raw[match.start()], (last - match.start()) * 8
        offsets += [base + bit for bit in range(8) if byte >> bit & 1]
    return offsets


class _StoredRange:
    """Makes an allocator's ``_pool`` a copy of one stored bitmap, changed only by CAS."""

    _pool: _OffsetPool

    def _attach(self, store: Store, key: str, described: str) -> None:
        self._store, self._key, self._described = store, key, described
        self._lock = asyncio.Lock()  # one change at a time from this process
        self._written = 0  # the range's revision after this process's last write

    async def reserve(self, specific=None, *, owner: str | None = None):
        return await self._change(lambda: self.allocate(specific, owner=owner))  # type: ignore[attr-defined]

    async def unreserve(self, value) -> None:
        await self._change(lambda: self.release(value))  # type: ignore[attr-defined]

    async def publish(self) -> None:
        """Merges what was marked locally (the stored Services, at start) into the store:
        creates the range on first start and repairs bits a crash left unset."""
        marked = dict(self._pool.used)

        def merge() -> None:
            for offset, owner in marked.items():
                self._pool.used.setdefault(offset, owner)

        await self._change(merge)

    async def repair(self, in_use: Iterable, leaked_rounds: dict[int, int],
                     rounds: int) -> tuple[list[int], list[int], list[int]]:
        """Makes the stored range agree with ``in_use`` (the values the stored Services
        hold), as upstream's repair controllers: sets bits missing from the range and
        clears a bit no Service holds only once it was found leaked ``rounds`` repairs in
        a row (``leaked_rounds`` counts, kept by the caller), since a Service whose value
        was just allocated may not be stored yet. Returns the offsets repaired, still
        leaked, and released."""

        def op() -> tuple[list[int], list[int], list[int]]:
            before = dict(self._pool.used)
            self._pool.used = {}
            for value in in_use:
                self.mark_used(value)  # type: ignore[attr-defined]
            wanted = set(self._pool.used)
            leaked = set(before) - wanted
            released = {o for o in leaked if leaked_rounds.get(o, 0) + 1 >= rounds}
            self._pool.used = {o: before.get(o) for o in sorted(wanted | leaked - released)}
            return sorted(wanted - set(before)), sorted(leaked - released), sorted(released)

        return await self._change(op)

    async def _change(self, op: Callable[[], T]) -> T:
        async with self._lock:
            for _ in range(MAX_ATTEMPTS):
                kv = await self._store.get(self._key)
                self._load(kv)
                before = set(self._pool.used)
                result = op()  # raises AllocationError with nothing written
                if kv is not None and set(self._pool.used) == before:
                    return result
                value = self._encode()
                try:
                    if kv is None:
                        self._written = await self._store.create(self._key, value)
                    else:
                        self._written = await self._store.update(self._key, value,
                                                                 kv.mod_revision)
                except (ConflictError, KeyExistsError, KeyNotFoundError):
                    continue  # another API server changed the range: read it again
                return result
        raise StoreError(f"{self._key}: {MAX_ATTEMPTS} conflicting writes in a row")

    def _load(self, kv: KeyValue | None) -> None:
        known = self._pool.used if kv is not None and kv.mod_revision == self._written else {}
        if kv is None:
            self._pool.used = {}
            return
        stored = json.loads(kv.value)
        if stored.get("range") != self._described:
            log.warning("%s holds range %s, this server is configured for %s", self._key,
                        stored.get("range"), self._described)
        offsets = decode_bitmap(base64.b64decode(stored.get("data") or ""))
        self._pool.used = {o: known.get(o) for o in offsets if o < self._pool.size}

    def _encode(self) -> bytes:
        data = encode_bitmap(self._pool.used, self._pool.size)
        return json.dumps({"kind": "RangeAllocation", "apiVersion": "v1",
                           "metadata": {"name": self._key.rsplit("/", 1)[-1]},
                           "range": self._described,
                           "data": base64.b64encode(data).decode()}).encode()


class StoredIPAllocator(_StoredRange, IPAllocator):
    """Cluster IPs whose allocation state is ``/registry/ranges/serviceips``."""

    def __init__(self, store: Store, cidr: str = "10.96.0.0/12") -> None:
        IPAllocator.__init__(self, cidr)
        self._attach(store, IP_KEY, self.cidr)


class StoredPortAllocator(_StoredRange, PortAllocator):
    """Node ports whose allocation state is ``/registry/ranges/servicenodeports``."""

    def __init__(self, store: Store, first: int = 30000, last: int = 32767) -> None:
        PortAllocator.__init__(self, first, last)
        self._attach(store, PORT_KEY, self.range)
