"""Periodic per-node work for many nodes from one loop, spread evenly over the period.

A thousand kubelets each renew a Lease every 10 s; a thousand timers firing together
would send a thousand requests in one burst every 10 s. ``Spread`` keeps one heap of
(due time, key): key i of n first comes due at ``i/n`` of the period, so the work
arrives as a steady trickle. Each due key gets one short task that waits for the
shared request semaphore, so the number of requests in flight stays bounded however
far behind the server falls; a key still in flight when it comes due again is skipped
for that round rather than doubled up. There is no per-node task that sleeps and polls.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections.abc import Awaitable, Callable, Hashable, Sequence

log = logging.getLogger(__name__)


class Spread:
    """Call ``work(key)`` for every key once per ``period`` until ``stop`` is set."""

    def __init__(self, name: str, period: float,
                 work: Callable[[Hashable], Awaitable[None]]) -> None:
        self.name = name
        self.period = period
        self.work = work
        self._busy: set[Hashable] = set()

    async def _one(self, key: Hashable) -> None:
        try:
            await self.work(key)
        except Exception:  # one node's failure must not stop the others' heartbeats
            log.exception("%s: %r failed", self.name, key)
        finally:
            self._busy.discard(key)

    async def run(self, keys: Sequence[Hashable], stop: asyncio.Event) -> None:
        now = asyncio.get_running_loop().time
        start = now()
        heap = [(start + self.period * i / max(1, len(keys)), i, key)
                for i, key in enumerate(keys)]
        heapq.heapify(heap)
        async with asyncio.TaskGroup() as group:
            while heap and not stop.is_set():
                delay = heap[0][0] - now()
                if delay > 0:
                    try:
                        async with asyncio.timeout(delay):
                            await stop.wait()
                    except TimeoutError:
                        pass
                    continue
                due, i, key = heapq.heappop(heap)
                if key not in self._busy:
                    self._busy.add(key)
                    group.create_task(self._one(key))
                heapq.heappush(heap, (self._next(due, now()), i, key))

    def _next(self, due: float, now: float) -> float:
        """The key's next due time, skipping whole periods missed (keeping its phase)."""
        following = due + self.period
        if following < now:
            following += self.period * math.ceil((now - following) / self.period)
        return following
