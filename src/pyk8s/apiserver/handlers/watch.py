"""WATCH: a chunked stream of newline-delimited JSON events, served from the cache.

Semantics as kube-apiserver: without a resourceVersion (or with "0") the stream
starts with synthetic ADDED events for the current state; from a resourceVersion
it carries every change after it. With selectors, objects entering the selection
arrive as ADDED and leaving it as DELETED. A start revision older than the cache
window is replayed from the store's history; older than compaction it ends with an
ERROR event carrying 410 Expired. Bookmarks keep idle informers' revision fresh.
"""

from __future__ import annotations

import asyncio
import random

import orjson
from aiohttp import web

from ...store import CompactedError
from .. import errors, tables
from ..watchcache import CachedEvent, decode
from .common import JSON_TYPE, TABLE_TYPE, TRUE_VALUES, ResourceRequest, parse_int
from .reads import matcher, object_fields, parse_selectors

BOOKMARK_INTERVAL = 30.0
MIN_TIMEOUT = 1800


class _Stream:
    """Writes events to the client in the representation it asked for."""

    def __init__(self, req: ResourceRequest, response: web.StreamResponse) -> None:
        self.req = req
        self.response = response
        self.target = req.target()
        self.first_table = True
        self.revision = 0

    def _object(self, obj: dict) -> dict:
        return self.req.objects._present(self.req.rt, dict(obj))

    def encode(self, kind: str, obj: dict) -> bytes:
        obj = self._object(obj)
        if self.target.form == "table":
            body = tables.table(self.req.rt, [obj], include_object=self.target.include_object,
                                list_meta={"resourceVersion": obj["metadata"].get(
                                    "resourceVersion", "")},
                                with_columns=self.first_table)
            self.first_table = False
            obj = body
        elif self.target.form == "partial":
            from ..printers import partial_object_metadata

            obj = partial_object_metadata(obj)
        return orjson.dumps({"type": kind, "object": obj}) + b"\n"

    async def send(self, kind: str, obj: dict, cached: CachedEvent | None = None) -> None:
        if cached is not None and self.target.form == "object" and kind == cached.type:
            line = cached.encoded.get(self.req.rt.group)
            if line is None:
                line = cached.encoded[self.req.rt.group] = self.encode(kind, obj)
        else:
            line = self.encode(kind, obj)
        await self.response.write(line)

    async def send_raw(self, event: dict) -> None:
        await self.response.write(orjson.dumps(event) + b"\n")

    async def bookmark(self, revision: int, extra_annotations: dict | None = None) -> None:
        rt = self.req.rt
        meta: dict = {"resourceVersion": str(revision)}
        if extra_annotations:
            meta["annotations"] = extra_annotations
        obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
        if self.target.form == "table":
            obj = tables.table(rt, [], list_meta={"resourceVersion": str(revision)},
                               with_columns=False)
        await self.send_raw({"type": "BOOKMARK", "object": obj})


def _transition(event: CachedEvent, match, key_match) -> tuple[str, dict] | None:
    """The event a selective watcher sees for a cache event, or None."""
    if not key_match(event.key):
        return None
    now = event.type != "DELETED" and match(event.object)
    before = event.prev is not None and match(event.prev)
    if event.type == "DELETED":
        return ("DELETED", event.object) if match(event.object) else None
    if now and before:
        return "MODIFIED", event.object
    if now:
        return "ADDED", event.object
    if before:
        return "DELETED", event.object
    return None


async def watch(req: ResourceRequest) -> web.StreamResponse:
    rt = req.rt
    labels, fields = parse_selectors(req)
    match = matcher(rt, labels, fields)
    prefix = rt.namespace_prefix(req.namespace)
    name_pin = fields.exact("metadata.name") or req.info.name
    if req.info.name:
        match_named = match

        def match(obj: dict) -> bool:  # noqa: F811 - narrowing to the named object
            return obj["metadata"].get("name") == req.info.name and match_named(obj)

    if name_pin and rt.namespaced and req.namespace:
        exact_key = rt.key(req.namespace, name_pin)

        def key_match(key: str) -> bool:
            return key == exact_key
    else:
        def key_match(key: str) -> bool:
            return key.startswith(prefix)

    rv = req.query.get("resourceVersion") or ""
    timeout = parse_int(req.query.get("timeoutSeconds"), "timeoutSeconds")
    if timeout is None:
        timeout = random.randint(MIN_TIMEOUT, 2 * MIN_TIMEOUT)
    bookmarks = req.query.get("allowWatchBookmarks") in TRUE_VALUES
    send_initial = req.query.get("sendInitialEvents") in TRUE_VALUES
    start = parse_int(rv, "resourceVersion") if rv not in ("", "0") else None

    response = web.StreamResponse(status=200)
    response.headers["Content-Type"] = (
        TABLE_TYPE if req.target().form == "table" else JSON_TYPE)
    response.enable_chunked_encoding()
    cache = req.ctx.watch_cache
    stream = _Stream(req, response)

    def accept(event: CachedEvent) -> bool:
        return _transition(event, match, key_match) is not None

    try:
        async with asyncio.timeout(timeout):
            if start is None or send_initial:
                if start is None:
                    await cache.wait_for(await req.ctx.store.current_revision())
                objs, revision = cache.snapshot(rt.prefix, prefix)
                registered = cache.subscribe(rt.prefix, revision, accept)
                await response.prepare(req.http)
                for obj in objs:
                    if key_match(rt.key(obj["metadata"].get("namespace"), obj["metadata"]["name"])) \
                            and match(obj):
                        await stream.send("ADDED", obj)
                if send_initial and bookmarks:
                    await stream.bookmark(revision, {"k8s.io/initial-events-end": "true"})
            else:
                if not await cache.wait_for(start):
                    await response.prepare(req.http)
                    await stream.send_raw({"type": "ERROR", "object": errors.timeout(
                        f"Too large resource version: {start}, current: {cache.revision}"
                    ).status()})
                    return response
                registered = cache.subscribe(rt.prefix, start, accept)
                await response.prepare(req.http)
                if registered is None:
                    await _watch_from_store(req, stream, prefix, start, match, key_match,
                                            timeout)
                    return response
            sub, backlog = registered
            try:
                await _pump(stream, sub, backlog, match, key_match, bookmarks, cache)
            finally:
                cache.unsubscribe(rt.prefix, sub)
    except TimeoutError:
        pass
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    return response


async def _pump(stream: _Stream, sub, backlog, match, key_match, bookmarks: bool, cache) -> None:
    for event in backlog:
        await _deliver(stream, event, match, key_match)
    while True:
        try:
            if bookmarks:
                event = await asyncio.wait_for(sub.queue.get(), BOOKMARK_INTERVAL)
            else:
                event = await sub.queue.get()
        except TimeoutError:
            await stream.bookmark(cache.revision)
            continue
        if event is None:  # cache closed, relisted, or this watcher fell too far behind
            return
        await _deliver(stream, event, match, key_match)


async def _deliver(stream: _Stream, event: CachedEvent, match, key_match) -> None:
    seen = _transition(event, match, key_match)
    if seen is None:
        return
    kind, obj = seen
    await stream.send(kind, obj, event)


async def _watch_from_store(req: ResourceRequest, stream: _Stream, prefix: str, start: int,
                            match, key_match, timeout: int) -> None:
    """Replay from the store's history for revisions older than the cache window."""
    try:
        async for batch in req.ctx.store.watch(prefix, start + 1):
            for ev in batch:
                obj = decode(ev.kv.value, ev.kv.mod_revision)
                prev = decode(ev.prev.value, ev.prev.mod_revision) if ev.prev else None
                kind = "DELETED" if ev.type == "DELETE" else ("MODIFIED" if prev else "ADDED")
                await _deliver(stream, CachedEvent(kind, ev.kv.key, ev.kv.mod_revision, obj, prev),
                               match, key_match)
    except CompactedError as exc:
        await stream.send_raw({"type": "ERROR", "object": errors.gone(
            f"too old resource version: {start} ({exc.compacted + 1})").status()})


__all__ = ["watch", "object_fields"]
