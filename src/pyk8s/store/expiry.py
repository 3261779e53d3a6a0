"""``--event-ttl`` on stores without leases (SQLite, memory): an in-process sweeper.

etcd expires keys itself (leases, see :mod:`.etcd`). The single-process backends have no
such thing, and a node that runs for months would otherwise keep every Event ever
written. So, as k3s's kine does for its SQL backends, the process that owns the store
deletes expired keys itself: the sweeper watches each expiring prefix, and every write it
sees (a create or an update) arms a deadline ``ttl`` seconds later for that key *at that
revision*. At the deadline the key is deleted guarded by that revision, so a key written
again meanwhile stays (its newer write armed a later deadline). Watchers see an ordinary
DELETED event.

What it does not keep is the deadline across restarts: on start every live key under
the prefix is armed afresh with the full ttl (kine re-arms on start as well). An Event
may so live up to one ttl longer per restart, which is harmless for a retention bound.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time

from .interface import (
    CompactedError,
    ConflictError,
    KeyNotFoundError,
    Store,
    StoreError,
)

log = logging.getLogger(__name__)


class ExpirySweeper:
    """Deletes keys under each prefix of ``ttls`` (seconds) that long after their last write."""

    def __init__(self, store: Store, ttls: dict[str, float], clock=time.monotonic) -> None:
        self._store = store
        self._ttls = {p: t for p, t in ttls.items() if t > 0}
        self._clock = clock
        self._due: list[tuple[float, str, int]] = []  # (deadline, key, mod_revision)
        self._latest: dict[str, int] = {}  # key -> revision of its newest armed write
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.expired = 0  # keys deleted so far

    async def start(self) -> None:
        for prefix, ttl in self._ttls.items():
            listing = await self._store.list(prefix)
            for kv in listing.items:
                self._arm(kv.key, kv.mod_revision, ttl)
            self._tasks.append(asyncio.create_task(
                self._follow(prefix, ttl, listing.revision + 1), name=f"expiry {prefix}"))
        self._tasks.append(asyncio.create_task(self._sweep(), name="expiry sweep"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _arm(self, key: str, revision: int, ttl: float) -> None:
        self._latest[key] = revision
        heapq.heappush(self._due, (self._clock() + ttl, key, revision))
        self._wake.set()

    async def _follow(self, prefix: str, ttl: float, start: int) -> None:
        while True:
            try:
                async for batch in self._store.watch(prefix, start):
                    for event in batch:
                        start = event.kv.mod_revision + 1
                        if event.type == "PUT":
                            self._arm(event.kv.key, event.kv.mod_revision, ttl)
                        else:
                            self._latest.pop(event.kv.key, None)
                return
            except CompactedError:
                # missed writes: re-arm every live key from a fresh listing
                listing = await self._store.list(prefix)
                for kv in listing.items:
                    self._arm(kv.key, kv.mod_revision, ttl)
                start = listing.revision + 1

    async def _sweep(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            while self._due and self._due[0][0] <= now:
                _, key, revision = heapq.heappop(self._due)
                if self._latest.get(key) != revision:
                    continue  # written again since (a later deadline is armed) or gone
                try:
                    await self._store.delete(key, revision)
                    self.expired += 1
                except (ConflictError, KeyNotFoundError):
                    pass  # written again (re-armed) or deleted meanwhile
                except StoreError:
                    log.exception("expiring %s failed", key)
            delay = self._due[0][0] - now if self._due else None
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
