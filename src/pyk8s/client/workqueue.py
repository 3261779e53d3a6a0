"""Work queues for controllers, with client-go's guarantees.

* a key queued several times is processed once (``dirty`` de-duplicates);
* a key being processed is never handed to a second worker (``processing``); if it is
  added meanwhile it is queued again when the first worker calls ``done``;
* ``add_after`` delays an add (keeping the earliest deadline per key); ``RateLimitingQueue``
  delays retries by a RateLimiter (per-item backoff + overall bucket);
* ``shutdown`` stops accepting adds; workers still drain what is queued and then get
  ``ShutDown``; ``shutdown_with_drain`` also waits for in-flight items to be done.

``run_workers`` is sample-controller's processNextWorkItem loop. Keys are hashables,
normally ``namespace/name`` strings; the queue is asyncio-only (one event loop).
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from .ratelimit import RateLimiter, default_controller_rate_limiter

log = logging.getLogger(__name__)


class ShutDown(Exception):
    """``get`` on a queue that is shut down and empty."""


class WorkQueue:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self._queue: collections.deque[Hashable] = collections.deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._idle = asyncio.Event()
        self._idle.set()
        self._delayed: dict[Hashable, tuple[float, asyncio.TimerHandle]] = {}
        self.shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, item: Hashable) -> None:
        if self.shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> Hashable:
        """The next item (now marked processing; call ``done`` after). Raises ShutDown."""
        while not self._queue:
            if self.shutting_down:
                raise ShutDown(self.name)
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass the wake-up we consumed on to another getter
                raise
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        self._idle.clear()
        return item

    def done(self, item: Hashable) -> None:
        """Mark ``item`` finished; requeue it if it was added while being processed."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        if not self._processing:
            self._idle.set()

    def add_after(self, item: Hashable, delay: float) -> None:
        """Add ``item`` after ``delay`` seconds (an earlier pending deadline wins)."""
        if self.shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        pending = self._delayed.get(item)
        if pending is not None:
            if pending[0] <= deadline:
                return
            pending[1].cancel()
        self._delayed[item] = (deadline, loop.call_at(deadline, self._fire, item))

    def _fire(self, item: Hashable) -> None:
        self._delayed.pop(item, None)
        self.add(item)

    def shutdown(self) -> None:
        """Refuse new adds, drop pending delayed adds, wake idle getters."""
        self.shutting_down = True
        for _, handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def shutdown_with_drain(self) -> None:
        """Shut down, then wait until every item handed out has been ``done``."""
        self.shutdown()
        await self._idle.wait()


class RateLimitingQueue(WorkQueue):
    """A WorkQueue whose retries are delayed by a RateLimiter."""

    def __init__(self, rate_limiter: RateLimiter | None = None, name: str = "") -> None:
        super().__init__(name)
        self.rate_limiter = rate_limiter or default_controller_rate_limiter()

    def add_rate_limited(self, item: Hashable) -> None:
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: Hashable) -> None:
        """Stop tracking ``item``'s failures (call after a successful sync)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return self.rate_limiter.num_requeues(item)


Sync = Callable[[Hashable], Awaitable[Any] | Any]


async def process_next(queue: RateLimitingQueue, sync: Sync, *,
                       max_retries: int | None = None) -> bool:
    """Process one item; False once the queue is shut down and drained."""
    try:
        item = await queue.get()
    except ShutDown:
        return False
    try:
        result = sync(item)
        if inspect.isawaitable(result):
            await result
    except Exception as err:  # a failed sync is retried with backoff, never fatal
        if max_retries is not None and queue.num_requeues(item) >= max_retries:
            log.error("%s: dropping %r after %d retries: %s", queue.name, item,
                      queue.num_requeues(item), err)
            queue.forget(item)
        else:
            log.warning("%s: sync %r failed (%s); requeued", queue.name, item, err,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            queue.add_rate_limited(item)
    else:
        queue.forget(item)
    finally:
        queue.done(item)
    return True


async def run_workers(queue: RateLimitingQueue, sync: Sync, *, workers: int = 1,
                      stop: asyncio.Event | None = None,
                      max_retries: int | None = None) -> None:
    """Run ``workers`` process-next-item loops until ``stop`` is set (or the queue is
    shut down elsewhere); on stop the queue is shut down, queued items are drained and
    in-flight syncs finish before this returns."""
    async def worker() -> None:
        while await process_next(queue, sync, max_retries=max_retries):
            pass

    async def stopper() -> None:
        await stop.wait()
        queue.shutdown()

    async with asyncio.TaskGroup() as tg:
        stop_task = tg.create_task(stopper()) if stop is not None else None
        workers_done = [tg.create_task(worker(), name=f"{queue.name} worker {i}")
                        for i in range(workers)]
        await asyncio.gather(*workers_done)
        if stop_task is not None:
            stop_task.cancel()
