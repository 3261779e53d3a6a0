"""In-process watch fan-out shared by the single-process backends (memory, SQLite).

A backend that is the only writer of its data knows every commit as it happens, so
it does not need to poll: after each commit it calls :meth:`WatchHub.publish` with
the new events, and every live watcher whose prefix matches gets them, in order.
Catching up from an older revision is the backend's job (it reads its own log),
which :meth:`WatchHub.subscribe` coordinates without losing or duplicating events.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Awaitable, Callable

from .interface import Event


class _Subscription:
    __slots__ = ("prefix", "queue", "next_revision")

    def __init__(self, prefix: str, next_revision: int) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self.next_revision = next_revision


class WatchHub:
    """Fans committed events out to subscribers. Must be used from the event loop."""

    def __init__(self) -> None:
        self._subs: set[_Subscription] = set()

    def publish(self, events: list[Event]) -> None:
        """Deliver a committed batch (ascending revisions) to matching subscribers."""
        if not events or not self._subs:
            return
        for sub in self._subs:
            batch = [
                e
                for e in events
                if e.kv.mod_revision >= sub.next_revision and e.kv.key.startswith(sub.prefix)
            ]
            if batch:
                sub.next_revision = batch[-1].kv.mod_revision + 1
                sub.queue.put_nowait(batch)

    def close(self) -> None:
        """End every subscription."""
        for sub in self._subs:
            sub.queue.put_nowait(None)

    async def subscribe(
        self,
        prefix: str,
        start_revision: int,
        read_history: Callable[[str, int], Awaitable[tuple[list[Event], int]]],
    ) -> AsyncIterator[list[Event]]:
        """Yield events under ``prefix`` from ``start_revision`` on.

        ``read_history(prefix, start)`` returns the logged events from ``start`` and the
        revision it read up to; live delivery starts after that, so nothing is missed
        between the history read and the subscription.
        """
        sub = _Subscription(prefix, start_revision)
        self._subs.add(sub)
        try:
            history, read_to = await read_history(prefix, start_revision)
            sub.next_revision = max(sub.next_revision, read_to + 1)
            history = [e for e in history if e.kv.mod_revision <= read_to]
            if history:
                yield history
            while True:
                batch = await sub.queue.get()
                if batch is None:
                    return
                batch = [e for e in batch if e.kv.mod_revision > read_to]
                if batch:
                    yield batch
        finally:
            self._subs.discard(sub)
