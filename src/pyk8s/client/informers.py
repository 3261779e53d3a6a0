"""Informers: a local cache of one resource kept current by list+watch, with handlers.

client-go's reflector + DeltaFIFO + sharedIndexInformer and kopf's watching.py folded into
one asyncio task per informer:

* LIST with ``resourceVersion=0`` in pages of 500, file the items (handlers see adds, updates
  for objects already cached, and ``DeletedFinalStateUnknown`` tombstones for objects that
  vanished while we were not watching);
* WATCH from the list's resourceVersion with bookmarks and a randomized 5-10 minute
  ``timeoutSeconds``; when the server ends the stream, watch again from the last seen
  resourceVersion (bookmarks advance it without events);
* 410 Gone (or any ERROR event) means our resourceVersion is history: relist (from a
  consistent read, not the cache); transport failures back off, then re-watch.

Handlers are synchronous and must be quick (enqueue a key into a WorkQueue); they run in
event order on the informer's task. Cached objects are shared: never mutate them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from .api import Client, ResourceAPI
from .backoff import Backoff
from .errors import ApiError, ClientError, Gone, TooManyRequests, TransportError
from .store import IndexFunc, Store

log = logging.getLogger(__name__)

PAGE_SIZE = 500
WATCH_TIMEOUT = (300, 600)


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """Passed to on_delete when an object disappeared while the watch was down: ``obj``
    is the last state we saw, which may be stale."""

    key: str
    obj: dict


@dataclass
class Handler:
    on_add: Callable[[dict], Any] | None = None
    on_update: Callable[[dict, dict], Any] | None = None
    on_delete: Callable[[Any], Any] | None = None


class _Relist(Exception):
    """The watch cannot continue from our resourceVersion."""


class Informer:
    """A cache of one resource (optionally one namespace / selection) with event handlers."""

    def __init__(self, api: ResourceAPI, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 indexers: dict[str, IndexFunc] | None = None,
                 resync_period: float | None = None, page_size: int = PAGE_SIZE,
                 watch_timeout: tuple[int, int] = WATCH_TIMEOUT,
                 backoff: Backoff | None = None) -> None:
        self.api = api
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.store = Store(indexers)
        self.resync_period = resync_period
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.backoff = backoff or Backoff()
        self.resource_version = ""
        self.lists = 0
        self.watches = 0
        self._handlers: list[Handler] = []
        self._synced = asyncio.Event()
        self._consistent_list = False

    # -- registration and reads -------------------------------------------------------

    def add_event_handler(self, *, on_add: Callable[[dict], Any] | None = None,
                          on_update: Callable[[dict, dict], Any] | None = None,
                          on_delete: Callable[[Any], Any] | None = None) -> None:
        """Register handlers; a late handler first sees an add for every cached object."""
        handler = Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self._synced.is_set() and on_add:
            for obj in self.store.list():
                self._call(on_add, obj)

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    @property
    def has_synced(self) -> bool:
        """True once the first LIST has been filed and its handlers called."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._synced.wait()
        except TimeoutError:
            return False
        return True

    # -- dispatch ---------------------------------------------------------------------

    def _call(self, func: Callable[..., Any] | None, *args: Any) -> None:
        if func is None:
            return
        try:
            func(*args)
        except Exception:  # a handler bug must not stop the informer
            log.exception("informer handler %s failed", getattr(func, "__qualname__", func))

    def _added(self, obj: dict, old: dict | None) -> None:
        for h in self._handlers:
            if old is None:
                self._call(h.on_add, obj)
            else:
                self._call(h.on_update, old, obj)

    def _deleted(self, obj: Any) -> None:
        for h in self._handlers:
            self._call(h.on_delete, obj)

    # -- list and watch ---------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled (resyncing periodically if asked)."""
        async with asyncio.TaskGroup() as tg:
            if self.resync_period:
                tg.create_task(self._resync_loop())
            await self._reflect()

    async def _reflect(self) -> None:
        while True:
            try:
                await self._list()
                await self._watch_loop()
            except _Relist:
                continue
            except ClientError as err:
                delay = self.backoff.next()
                log.warning("%s: list failed (%s); retrying in %.1fs", self._name(), err, delay)
                await asyncio.sleep(delay)

    def _name(self) -> str:
        res = self.api.resolved
        return res.plural if res else "informer"

    async def _list(self) -> None:
        rv = "" if self._consistent_list else "0"
        self.lists += 1
        items: list[dict] = []
        list_rv = ""
        async for page in self.api.pages(limit=self.page_size, resource_version=rv,
                                         **self._selection()):
            items += page.get("items") or []
            list_rv = (page.get("metadata") or {}).get("resourceVersion", "") or list_rv
        self._replace(items)
        self.resource_version = list_rv
        self._consistent_list = False
        self._synced.set()
        log.debug("%s: listed %d at rv %s", self._name(), len(items), list_rv)

    def _selection(self) -> dict:
        return {"namespace": self.namespace, "label_selector": self.label_selector,
                "field_selector": self.field_selector}

    def _replace(self, items: list[dict]) -> None:
        stale = set(self.store.list_keys())
        for obj in items:
            key = self.store.key_func(obj)
            stale.discard(key)
            self._added(obj, self.store.add(obj))
        for key in stale:
            old = self.store.delete_key(key)
            self._deleted(DeletedFinalStateUnknown(key, old))

    async def _watch_loop(self) -> None:
        """Watch, re-watching from the last resourceVersion whenever a stream ends."""
        while True:
            try:
                await self._watch_once()
                self.backoff.reset()
            except Gone as err:
                log.info("%s: watch expired (%s); relisting", self._name(), err.message)
                self._consistent_list = True
                raise _Relist() from err
            except (TransportError, TooManyRequests) as err:
                delay = self.backoff.next()
                log.warning("%s: watch failed (%s); re-watching in %.1fs", self._name(), err,
                            delay)
                await asyncio.sleep(delay)
            except ApiError as err:
                log.warning("%s: watch error (%s); relisting", self._name(), err)
                await asyncio.sleep(self.backoff.next())
                raise _Relist() from err

    async def _watch_once(self) -> None:
        self.watches += 1
        events = self.api.watch(**self._selection(), resource_version=self.resource_version,
                                allow_bookmarks=True,
                                timeout_seconds=random.randint(*self.watch_timeout))
        async for kind, obj in events:
            self._on_event(kind, obj)

    def _on_event(self, kind: str, obj: dict) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            pass
        elif kind in ("ADDED", "MODIFIED"):
            self._added(obj, self.store.add(obj))
        elif kind == "DELETED":
            self.store.delete(obj)
            self._deleted(obj)
        else:
            log.warning("%s: unexpected watch event %r", self._name(), kind)
        if rv:
            self.resource_version = rv

    async def _resync_loop(self) -> None:
        await self._synced.wait()
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in self.store.list():
                for h in self._handlers:
                    self._call(h.on_update, obj, obj)


class SharedInformerFactory:
    """One informer per (resource, namespace, selectors) for all controllers of a process.

    ``informer(...)`` may be called before or after ``start()``; ``start()`` starts every
    informer not yet running (as client-go's factory.Start), ``stop()`` cancels and awaits
    them all. Also an async context manager.
    """

    def __init__(self, client: Client, *, resync_period: float | None = None,
                 **informer_options: Any) -> None:
        self.client = client
        self.resync_period = resync_period
        self.informer_options = informer_options
        self._informers: dict[tuple, Informer] = {}
        self._tasks: dict[tuple, asyncio.Task] = {}

    def informer(self, api_version: str | None = None, kind: str | None = None, *,
                 group: str | None = None, version: str | None = None,
                 plural: str | None = None, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 indexers: dict[str, IndexFunc] | None = None) -> Informer:
        key = (api_version, kind, group, version, plural, namespace, label_selector,
               field_selector)
        informer = self._informers.get(key)
        if informer is None:
            api = self.client.api(api_version, kind, group=group, version=version,
                                  plural=plural)
            informer = self._informers[key] = Informer(
                api, namespace=namespace, label_selector=label_selector,
                field_selector=field_selector, resync_period=self.resync_period,
                **self.informer_options)
        missing = {n: f for n, f in (indexers or {}).items()
                   if n not in informer.store.indexer_names()}
        informer.add_indexers(missing)
        return informer

    def start(self) -> None:
        for key, informer in self._informers.items():
            if key not in self._tasks:
                self._tasks[key] = asyncio.create_task(informer.run(),
                                                       name=f"informer {key[:5]}")

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """True once every started informer has synced (False on timeout)."""
        results = await asyncio.gather(*(self._informers[k].wait_for_sync(timeout)
                                         for k in self._tasks))
        return all(results)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("informer ended with %r", result)
        self._tasks.clear()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
