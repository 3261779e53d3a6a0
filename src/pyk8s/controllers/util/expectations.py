"""Expectations: what a controller has asked for and not yet seen in its cache.

After a ReplicaSet creates three pods, its pod informer may not show them for a while; a
sync in between would count too few pods and create more. So, as upstream's
UIDTrackingControllerExpectations, a controller records "expect 3 creations" (or "expect
these pod keys to be deleted") before writing, informer events lower the counts, and
:meth:`satisfied` says whether the cache can be trusted again: no record, every
expectation observed, or the record older than five minutes (events can be lost).
Keys are the owner's ``namespace/name``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT = 5 * 60.0


@dataclass
class _Record:
    add: int
    delete: int
    timestamp: float
    deleting: set[str] = field(default_factory=set)

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.clock = clock
        self.timeout = timeout
        self._records: dict[str, _Record] = {}

    def satisfied(self, key: str) -> bool:
        """True when a sync may act on the cache (see the module docstring)."""
        record = self._records.get(key)
        if record is None or record.fulfilled():
            return True
        return self.clock() - record.timestamp > self.timeout

    def expect_creations(self, key: str, count: int) -> None:
        """Replace ``key``'s record with ``count`` pending creations."""
        self._records[key] = _Record(count, 0, self.clock())

    def expect_deletions(self, key: str, object_keys: Iterable[str]) -> None:
        """Replace ``key``'s record with the deletions of these objects (by their key)."""
        pending = set(object_keys)
        self._records[key] = _Record(0, len(pending), self.clock(), pending)

    def creation_observed(self, key: str) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add -= 1

    def deletion_observed(self, key: str, object_key: str) -> None:
        """An object we meant to delete is gone (or its deletion failed): count it once."""
        record = self._records.get(key)
        if record is not None and object_key in record.deleting:
            record.deleting.discard(object_key)
            record.delete -= 1

    def delete(self, key: str) -> None:
        """Forget ``key`` (its owner was deleted)."""
        self._records.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected for ``key``."""
        record = self._records.get(key)
        return (record.add, record.delete) if record else (0, 0)
