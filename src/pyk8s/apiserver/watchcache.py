"""The API server's watch cache: one store watch feeding every client watch.

A thousand ``kubectl get -w`` or informers must not each open a store watch or
list the store. The cache lists the whole registry once, then follows a single
store watch; it keeps each resource's current objects (for ``resourceVersion=0``
and consistent lists) and a window of recent events per resource (to resume
watches). Watches older than that window are served from the store's own
history; older than the store's compaction they get 410 Gone, as upstream.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field
from typing import Callable

import orjson

from ..store import CompactedError, Event, Store

log = logging.getLogger(__name__)

EVENT_WINDOW = 10_000  # recent events kept per storage prefix
ROOT = "/registry/"


@dataclass(slots=True)
class CachedEvent:
    """One change of one object, decoded once and shared by every watcher."""

    type: str  # ADDED, MODIFIED, DELETED
    key: str
    revision: int
    object: dict
    prev: dict | None
    encoded: dict = field(default_factory=dict)  # encoding name -> bytes, filled lazily


def decode(value: bytes, revision: int) -> dict:
    """A stored value as an API object with its resourceVersion."""
    obj = orjson.loads(value)
    meta = obj.setdefault("metadata", {})
    meta["resourceVersion"] = str(revision)
    return obj


class Subscriber:
    """One client watch: a queue the cache fills and the handler drains."""

    MAX_BACKLOG = 50_000

    def __init__(self, accept: Callable[[CachedEvent], bool]) -> None:
        self.accept = accept
        self.queue: asyncio.Queue[CachedEvent | None] = asyncio.Queue()
        self.overflowed = False

    def offer(self, event: CachedEvent) -> None:
        if self.overflowed or not self.accept(event):
            return
        if self.queue.qsize() >= self.MAX_BACKLOG:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)


class _PrefixCache:
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.objects: dict[str, dict] = {}
        # The objects again by the key's first segment below the prefix (the namespace
        # of namespaced resources), so a list of one namespace need not scan them all.
        self.by_segment: dict[str, dict[str, dict]] = {}
        self.events: collections.deque[CachedEvent] = collections.deque(maxlen=EVENT_WINDOW)
        self.subscribers: set[Subscriber] = set()
        self.window_start = 0  # events with revision > window_start are all in `events`

    def _segment(self, key: str) -> str | None:
        segment, slash, _ = key[len(self.prefix):].partition("/")
        return segment if slash else None

    def put(self, key: str, obj: dict) -> None:
        self.objects[key] = obj
        segment = self._segment(key)
        if segment is not None:
            self.by_segment.setdefault(segment, {})[key] = obj

    def pop(self, key: str) -> None:
        self.objects.pop(key, None)
        segment = self._segment(key)
        group = self.by_segment.get(segment) if segment is not None else None
        if group is not None:
            group.pop(key, None)
            if not group:
                del self.by_segment[segment]

    def reset(self, objects: dict[str, dict]) -> None:
        self.objects = {}
        self.by_segment = {}
        for key, obj in objects.items():
            self.put(key, obj)

    def candidates(self, key_prefix: str) -> dict[str, dict]:
        """A dict holding at least every object whose key starts with ``key_prefix``."""
        rest = key_prefix[len(self.prefix):] if key_prefix.startswith(self.prefix) else None
        if rest and rest.endswith("/") and rest.count("/") == 1:
            return self.by_segment.get(rest[:-1], {})
        return self.objects


class WatchCache:
    """Follows the store and serves lists at the latest revision and watches."""

    def __init__(self, store: Store, prefixes: list[str]) -> None:
        self._store = store
        self._prefixes = sorted(prefixes, key=len, reverse=True)
        self._caches: dict[str, _PrefixCache] = {p: _PrefixCache(p) for p in prefixes}
        self.revision = 0
        self._advanced = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    def add_prefix(self, prefix: str) -> None:
        """Start caching a new prefix (e.g. a custom resource); it begins empty."""
        if prefix not in self._caches:
            cache = _PrefixCache(prefix)
            cache.window_start = self.revision
            self._caches[prefix] = cache
            self._prefixes = sorted(self._caches, key=len, reverse=True)

    async def start(self) -> None:
        revision = await self._store.current_revision()
        for prefix, cache in self._caches.items():
            listing = await self._store.list(prefix, revision=revision) if revision else None
            for kv in listing.items if listing else ():
                cache.put(kv.key, decode(kv.value, kv.mod_revision))
            cache.window_start = revision
        self.revision = revision
        self._task = asyncio.create_task(self._follow(revision + 1), name="watch-cache")
        self._ready.set()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for cache in self._caches.values():
            for sub in cache.subscribers:
                sub.queue.put_nowait(None)

    async def _follow(self, start: int) -> None:
        while True:
            try:
                async for batch in self._store.watch(ROOT, start):
                    self._apply(batch)
                    start = self.revision + 1
                return
            except CompactedError:
                log.error("watch cache fell behind compaction at %d; relisting", start)
                await self._relist()
                start = self.revision + 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watch cache store watch failed; restarting")
                await asyncio.sleep(0.5)

    async def _relist(self) -> None:
        revision = await self._store.current_revision()
        for prefix, cache in self._caches.items():
            listing = await self._store.list(prefix, revision=revision)
            cache.reset({kv.key: decode(kv.value, kv.mod_revision) for kv in listing.items})
            cache.events.clear()
            cache.window_start = revision
            for sub in list(cache.subscribers):
                sub.queue.put_nowait(None)
        await self._advance(revision)

    def _prefix_of(self, key: str) -> str | None:
        for prefix in self._prefixes:
            if key.startswith(prefix):
                return prefix
        return None

    def _apply(self, batch: list[Event]) -> None:
        for ev in batch:
            prefix = self._prefix_of(ev.kv.key)
            if prefix is None:
                continue
            cache = self._caches[prefix]
            revision = ev.kv.mod_revision
            prev = cache.objects.get(ev.kv.key)
            if ev.type == "PUT":
                obj = decode(ev.kv.value, revision)
                cache.put(ev.kv.key, obj)
                kind = "ADDED" if prev is None else "MODIFIED"
            else:
                obj = decode(ev.kv.value, revision)
                cache.pop(ev.kv.key)
                kind = "DELETED"
            event = CachedEvent(kind, ev.kv.key, revision, obj, prev)
            if len(cache.events) == cache.events.maxlen:
                cache.window_start = cache.events[0].revision
            cache.events.append(event)
            for sub in cache.subscribers:
                sub.offer(event)
        if batch:
            self.revision = max(self.revision, batch[-1].kv.mod_revision)
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._advanced:
            self._advanced.notify_all()

    async def _advance(self, revision: int) -> None:
        self.revision = max(self.revision, revision)
        await self._notify()

    async def wait_for(self, revision: int, timeout: float = 3.0) -> bool:
        """Wait until the cache has seen ``revision``; False on timeout."""
        if self.revision >= revision:
            return True
        try:
            async with asyncio.timeout(timeout):
                async with self._advanced:
                    await self._advanced.wait_for(lambda: self.revision >= revision)
            return True
        except TimeoutError:
            return False

    def snapshot(self, prefix: str, key_prefix: str) -> tuple[list[dict], int]:
        """Current objects of a storage prefix whose keys start with ``key_prefix``,
        in key order, and the revision they are current at."""
        cache = self._caches[prefix]
        items = [obj for key, obj in cache.candidates(key_prefix).items()
                 if key.startswith(key_prefix)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items, self.revision

    def object_count(self, prefix: str) -> int | None:
        """How many objects the cache holds under ``prefix`` (None: not cached)."""
        cache = self._caches.get(prefix)
        return None if cache is None else len(cache.objects)

    def get(self, prefix: str, key: str) -> dict | None:
        return self._caches[prefix].objects.get(key)

    def subscribe(
        self, prefix: str, after_revision: int, accept: Callable[[CachedEvent], bool]
    ) -> tuple[Subscriber, list[CachedEvent]] | None:
        """Register a watcher for events after ``after_revision``.

        Returns the subscriber and the backlog to send first, or None when the
        revision is older than the cache window (serve from the store instead).
        """
        cache = self._caches[prefix]
        if after_revision < cache.window_start:
            return None
        backlog = [e for e in cache.events if e.revision > after_revision and accept(e)]
        sub = Subscriber(accept)
        cache.subscribers.add(sub)
        return sub, backlog

    def unsubscribe(self, prefix: str, sub: Subscriber) -> None:
        self._caches[prefix].subscribers.discard(sub)
