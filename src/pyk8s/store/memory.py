"""``memory://``: a complete store kept in process memory.

It is the reference implementation of the contract (the simplest code that passes
the contract suite) and the fast double for unit tests and throwaway clusters.
Nothing survives the process.
"""

from __future__ import annotations

import bisect
from typing import AsyncIterator

from .interface import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    Store,
)
from .watchers import WatchHub


class MemoryStore(Store):
    """Keeps every revision of every key in lists, like a log that is never on disk."""

    def __init__(self) -> None:
        self._revision = 0
        self._compacted = 0
        self._log: list[Event] = []
        self._history: dict[str, list[KeyValue | None]] = {}
        self._history_revs: dict[str, list[int]] = {}
        self._keys: list[str] = []
        self._hub = WatchHub()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._hub.close()

    async def current_revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compacted

    def _latest(self, key: str) -> KeyValue | None:
        versions = self._history.get(key)
        return versions[-1] if versions else None

    def _at(self, key: str, revision: int) -> KeyValue | None:
        revs = self._history_revs.get(key)
        if not revs:
            return None
        i = bisect.bisect_right(revs, revision)
        return self._history[key][i - 1] if i else None

    def _append(self, key: str, kv: KeyValue | None, event: Event) -> int:
        if key not in self._history:
            self._history[key] = []
            self._history_revs[key] = []
            bisect.insort(self._keys, key)
        self._history[key].append(kv)
        self._history_revs[key].append(self._revision)
        self._log.append(event)
        self._hub.publish([event])
        return self._revision

    def _check_revision(self, revision: int) -> int:
        if revision == 0:
            return self._revision
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)
        if revision <= self._compacted:
            raise CompactedError(revision, self._compacted)
        return revision

    async def create(self, key: str, value: bytes) -> int:
        if self._latest(key) is not None:
            raise KeyExistsError(key)
        self._revision += 1
        kv = KeyValue(key, value, self._revision, self._revision)
        return self._append(key, kv, Event("PUT", kv))

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        return self._at(key, self._check_revision(revision))

    async def list(
        self, prefix: str, *, revision: int = 0, start_after: str = "", limit: int = 0
    ) -> ListResult:
        at = self._check_revision(revision)
        start = max(prefix, start_after + "\0") if start_after else prefix
        i = bisect.bisect_left(self._keys, start)
        items: list[KeyValue] = []
        remaining = 0
        for key in self._keys[i:]:
            if not key.startswith(prefix):
                break
            kv = self._at(key, at)
            if kv is None:
                continue
            if limit and len(items) >= limit:
                remaining += 1
            else:
                items.append(kv)
        return ListResult(items, at, remaining)

    async def count(self, prefix: str) -> int:
        return sum(
            1 for k in self._keys if k.startswith(prefix) and self._latest(k) is not None
        )

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        current = self._latest(key)
        if current is None:
            raise KeyNotFoundError(key)
        if current.mod_revision != expected_revision:
            raise ConflictError(key, current)
        self._revision += 1
        kv = KeyValue(key, value, current.create_revision, self._revision)
        return self._append(key, kv, Event("PUT", kv, current))

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        current = self._latest(key)
        if current is None:
            raise KeyNotFoundError(key)
        if expected_revision and current.mod_revision != expected_revision:
            raise ConflictError(key, current)
        self._revision += 1
        tomb = KeyValue(key, current.value, current.create_revision, self._revision)
        self._append(key, None, Event("DELETE", tomb, current))
        return self._revision, current

    async def _read_history(self, prefix: str, start: int) -> tuple[list[Event], int]:
        if start and start <= self._compacted:
            raise CompactedError(start, self._compacted)
        revs = [e.kv.mod_revision for e in self._log]
        i = bisect.bisect_left(revs, start)
        return [e for e in self._log[i:] if e.kv.key.startswith(prefix)], self._revision

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        start = start_revision or self._revision + 1
        return self._hub.subscribe(prefix, start, self._read_history)

    async def compact(self, revision: int) -> None:
        revision = min(revision, self._revision)
        if revision <= self._compacted:
            return
        self._log = [e for e in self._log if e.kv.mod_revision > revision]
        for key in list(self._history):
            revs = self._history_revs[key]
            i = bisect.bisect_right(revs, revision)
            if i > 1:
                del revs[: i - 1]
                del self._history[key][: i - 1]
            if len(revs) == 1 and self._history[key][0] is None:
                del self._history[key]
                del self._history_revs[key]
                self._keys.remove(key)
        self._compacted = revision
