"""Recording events.k8s.io/v1 Events without blocking the caller, aggregating repeats.

Modelled on client-go's new events library (tools/events): ``event()`` only queues; a
background task writes. Events are isomorphic when action, reason, reporting controller,
regarding and related agree (the note may differ); the first is created, the first repeat
turns it into a series (``series.count`` 2, ``lastObservedTime``) with a PATCH, and later
repeats only bump the cached count, written by a periodic heartbeat, so a hot loop of
identical events costs a handful of writes. Series not seen for ``series_ttl`` are
finished (forgotten); the next occurrence starts a new Event.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from .api import Client
from .errors import ClientError, NotFound
from .meta import micro_time, object_reference

log = logging.getLogger(__name__)

NOTE_MAX = 1024


@dataclass
class _Series:
    event: dict           # the Event as last written (our own copy)
    count: int = 1
    last_observed: str = ""
    seen_at: float = 0.0
    dirty: bool = False


def _ref_key(ref: dict | None) -> tuple:
    ref = ref or {}
    return tuple(ref.get(f, "") for f in ("apiVersion", "kind", "namespace", "name", "uid"))


def _key(event: dict) -> tuple:
    return (event["action"], event["reason"], event["reportingController"],
            _ref_key(event["regarding"]), _ref_key(event.get("related")))


def _ref(obj: dict) -> dict:
    """An ObjectReference for an object or an already-built reference."""
    ref = obj if "metadata" not in obj else object_reference(obj)
    return {k: v for k, v in ref.items() if k != "resourceVersion" or v}


class EventRecorder:
    def __init__(self, client: Client, *, reporting_controller: str, reporting_instance: str,
                 queue_size: int = 1000, heartbeat: float = 30.0, series_ttl: float = 360.0,
                 cache_size: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.events = client.api("events.k8s.io/v1", "Event")
        self.reporting_controller = reporting_controller
        self.reporting_instance = reporting_instance
        self.heartbeat, self.series_ttl, self.cache_size = heartbeat, series_ttl, cache_size
        self.clock = clock
        self._queue: asyncio.Queue[dict] = asyncio.Queue(queue_size)
        self._series: dict[tuple, _Series] = {}
        self._task: asyncio.Task | None = None

    def event(self, regarding: dict, *, type: str = "Normal", reason: str, action: str,
              note: str = "", related: dict | None = None) -> None:
        """Queue one occurrence; never blocks (drops, with a log line, when saturated)."""
        if type not in ("Normal", "Warning"):
            raise ValueError(f"event type must be Normal or Warning, not {type!r}")
        body = {"action": action, "reason": reason, "note": note[:NOTE_MAX], "type": type,
                "regarding": _ref(regarding), "reportingController": self.reporting_controller,
                "reportingInstance": self.reporting_instance, "eventTime": micro_time()}
        if related is not None:
            body["related"] = _ref(related)
        try:
            self._queue.put_nowait(body)
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, body["regarding"])

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name="event recorder")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (bounded by ``timeout``), then stop the background task."""
        try:
            async with asyncio.timeout(timeout):
                await self.flush()
        except TimeoutError:
            log.warning("event recorder closed with %d events unwritten", self._queue.qsize())
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def flush(self) -> None:
        """Wait until queued events are written and pending series counts patched."""
        await self._queue.join()
        await self._write_dirty()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._heartbeat_loop())
            while True:
                body = await self._queue.get()
                try:
                    await self._record(body)
                except ClientError as err:
                    log.warning("failed to write event %s: %s", body["reason"], err)
                finally:
                    self._queue.task_done()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            await self._write_dirty()
            self._finish_old_series()

    # -- aggregation ------------------------------------------------------------------

    async def _record(self, body: dict) -> None:
        key = _key(body)
        series = self._series.get(key)
        now = self.clock()
        if series is None:
            self._remember(key, _Series(await self._create(body), seen_at=now))
            return
        series.count += 1
        series.last_observed = body["eventTime"]
        series.seen_at = now
        series.dirty = True
        if series.count == 2:
            await self._write_series(series)

    def _remember(self, key: tuple, series: _Series) -> None:
        if len(self._series) >= self.cache_size:
            oldest = min(self._series, key=lambda k: self._series[k].seen_at)
            del self._series[oldest]
        self._series[key] = series

    async def _create(self, body: dict) -> dict:
        ref = body["regarding"]
        event = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                 "metadata": {"name": f"{ref.get('name', 'event')}.{time.time_ns():x}",
                              "namespace": ref.get("namespace") or "default"},
                 **copy.deepcopy(body)}
        return await self.events.create(event, namespace=event["metadata"]["namespace"])

    async def _write_series(self, series: _Series) -> None:
        patch = {"series": {"count": series.count, "lastObservedTime": series.last_observed}}
        meta = series.event["metadata"]
        try:
            series.event = await self.events.patch(meta["name"], patch,
                                                   namespace=meta["namespace"])
        except NotFound:  # expired or deleted server-side: start over with the count kept
            fresh = {k: v for k, v in series.event.items() if k not in ("metadata", "series")}
            fresh["series"] = patch["series"]
            series.event = await self._create(fresh)
        series.dirty = False

    async def _write_dirty(self) -> None:
        for series in list(self._series.values()):
            if series.dirty:
                try:
                    await self._write_series(series)
                except ClientError as err:
                    log.warning("failed to update event series: %s", err)

    def _finish_old_series(self) -> None:
        cutoff = self.clock() - self.series_ttl
        for key in [k for k, s in self._series.items() if s.seen_at < cutoff and not s.dirty]:
            del self._series[key]
