"""The scheduling queue: activeQ, backoffQ and unschedulable pods, as upstream's
PriorityQueue.

* activeQ: a heap ordered by the profile's QueueSort (priority, then arrival); ``pop``
  waits on it.
* backoffQ: pods that failed and must wait 1 s doubling per attempt up to 10 s.
* unschedulable: pods no node could take; a cluster event that could help (a node
  added or changed, an assigned pod deleted, ...) moves those rejected by a plugin
  interested in that event back (to backoffQ if still backing off); any left for five
  minutes are moved anyway.

A pod that fails while a move request happened during its attempt goes to backoffQ
rather than unschedulable (the event it might have missed could help). Updates to a
pod in flight are remembered so the retry uses the newest version.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

from .framework.interface import QueuedPodInfo
from .framework.types import pod_key

DEFAULT_MAX_UNSCHEDULABLE = 300.0
UNSCHEDULABLE_FLUSH_PERIOD = 30.0
BACKOFF_FLUSH_PERIOD = 1.0


class _Entry:
    __slots__ = ("info", "less", "removed")

    def __init__(self, info: QueuedPodInfo, less: Callable) -> None:
        self.info, self.less, self.removed = info, less, False

    def __lt__(self, other: _Entry) -> bool:
        return self.less(self.info, other.info)


def _relevant(pod: dict) -> tuple:
    meta = pod.get("metadata") or {}
    return (meta.get("labels"), meta.get("annotations"), pod.get("spec"))


class SchedulingQueue:
    def __init__(self, less: Callable[[QueuedPodInfo, QueuedPodInfo], bool], *,
                 initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 max_unschedulable: float = DEFAULT_MAX_UNSCHEDULABLE,
                 plugin_events: Callable[[str], frozenset[str]] = lambda name: frozenset({"*"}),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.less = less
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self.max_unschedulable = max_unschedulable
        self.plugin_events = plugin_events
        self.clock = clock
        self._active: list[_Entry] = []
        self._active_keys: dict[str, _Entry] = {}
        self._backoff: list[tuple[float, int, str]] = []
        self._backoff_keys: dict[str, QueuedPodInfo] = {}
        self.unschedulable: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, dict | None] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self.closed = False

    # -- sizes, for tests and logs ----------------------------------------------------

    def __len__(self) -> int:
        return len(self._active_keys) + len(self._backoff_keys) + len(self.unschedulable)

    def pending(self) -> dict[str, int]:
        return {"active": len(self._active_keys), "backoff": len(self._backoff_keys),
                "unschedulable": len(self.unschedulable)}

    # -- placement helpers ------------------------------------------------------------

    def _push_active(self, info: QueuedPodInfo) -> None:
        entry = _Entry(info, self.less)
        self._active_keys[info.key] = entry
        heapq.heappush(self._active, entry)
        self._wake.set()

    def backoff_duration(self, info: QueuedPodInfo) -> float:
        duration = self.initial_backoff
        for _ in range(1, info.attempts):
            duration *= 2
            if duration > self.max_backoff:
                return self.max_backoff
        return duration

    def _backoff_expiry(self, info: QueuedPodInfo) -> float:
        return info.timestamp + self.backoff_duration(info)

    def _push_backoff(self, info: QueuedPodInfo) -> None:
        self._backoff_keys[info.key] = info
        heapq.heappush(self._backoff, (self._backoff_expiry(info), next(self._seq), info.key))

    def _requeue(self, info: QueuedPodInfo) -> None:
        """Active if its backoff is over, else backoffQ."""
        if info.attempts and self._backoff_expiry(info) > self.clock():
            self._push_backoff(info)
        else:
            self._push_active(info)

    def _take(self, key: str) -> QueuedPodInfo | None:
        entry = self._active_keys.pop(key, None)
        if entry is not None:
            entry.removed = True
            return entry.info
        info = self._backoff_keys.pop(key, None)
        if info is not None:
            return info
        return self.unschedulable.pop(key, None)

    # -- informer events --------------------------------------------------------------

    def add(self, pod: dict) -> None:
        key = pod_key(pod)
        if key in self._in_flight:
            self._in_flight[key] = pod
            return
        if key in self._active_keys or key in self._backoff_keys or key in self.unschedulable:
            self.update(pod, pod)
            return
        now = self.clock()
        self._push_active(QueuedPodInfo(pod, now, now))

    def update(self, old: dict, new: dict) -> None:
        key = pod_key(new)
        if key in self._in_flight:
            self._in_flight[key] = new
            return
        entry = self._active_keys.get(key)
        if entry is not None:
            entry.info.pod = new
            return
        info = self._backoff_keys.get(key)
        if info is not None:
            info.pod = new
            return
        info = self.unschedulable.get(key)
        if info is None:
            self.add(new)
            return
        info.pod = new
        if _relevant(old) != _relevant(new):
            del self.unschedulable[key]
            self._requeue(info)

    def delete(self, pod: dict) -> None:
        key = pod_key(pod)
        if key in self._in_flight:
            self._in_flight[key] = None
        self._take(key)

    # -- the scheduling loop's side ---------------------------------------------------

    async def pop(self) -> QueuedPodInfo | None:
        """The next pod to schedule (waiting for one); None once closed."""
        while True:
            while self._active:
                entry = heapq.heappop(self._active)
                if entry.removed:
                    continue
                del self._active_keys[entry.info.key]
                info = entry.info
                info.attempts += 1
                self.scheduling_cycle += 1
                self._in_flight[info.key] = info.pod
                return info
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()

    def done(self, key: str) -> None:
        """The pod's attempt is over (bound, or requeued)."""
        self._in_flight.pop(key, None)

    def add_unschedulable(self, info: QueuedPodInfo, cycle: int, *,
                          backoff: bool = False) -> None:
        """A failed attempt of ``info`` (popped at ``cycle``) goes back: to backoffQ if
        asked (errors) or if a move request arrived meanwhile, else to unschedulable."""
        key = info.key
        latest = self._in_flight.pop(key, info.pod)
        if latest is None or key in self._active_keys or key in self._backoff_keys \
                or key in self.unschedulable:
            return
        changed = _relevant(latest) != _relevant(info.pod)
        info.pod = latest
        info.timestamp = self.clock()
        if backoff or changed or self.move_request_cycle >= cycle:
            self._push_backoff(info)
        else:
            self.unschedulable[key] = info

    def activate(self, pod: dict) -> None:
        """Move one pod straight to activeQ (e.g. its nominated node was freed)."""
        info = self._take(pod_key(pod))
        if info is not None:
            self._push_active(info)

    def move_all(self, event: str) -> None:
        """A cluster event happened: pods a plugin interested in it rejected go back."""
        self.move_request_cycle = self.scheduling_cycle
        for key, info in list(self.unschedulable.items()):
            plugins = info.unschedulable_plugins
            if plugins and not any(event in self.plugin_events(p) or
                                   "*" in self.plugin_events(p) for p in plugins):
                continue
            del self.unschedulable[key]
            self._requeue(info)

    def flush_backoff(self) -> None:
        now = self.clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            info = self._backoff_keys.get(key)
            if info is not None and self._backoff_expiry(info) <= now:
                del self._backoff_keys[key]
                self._push_active(info)

    def flush_unschedulable_leftover(self) -> None:
        now = self.clock()
        for key, info in list(self.unschedulable.items()):
            if now - info.timestamp > self.max_unschedulable:
                del self.unschedulable[key]
                self._requeue(info)

    async def run_flushers(self) -> None:
        """Flush backoffQ every second and old unschedulable pods every 30 s, forever."""
        ticks = 0
        while True:
            await asyncio.sleep(BACKOFF_FLUSH_PERIOD)
            self.flush_backoff()
            ticks += 1
            if ticks % int(UNSCHEDULABLE_FLUSH_PERIOD / BACKOFF_FLUSH_PERIOD) == 0:
                self.flush_unschedulable_leftover()

    def close(self) -> None:
        self.closed = True
        self._wake.set()
