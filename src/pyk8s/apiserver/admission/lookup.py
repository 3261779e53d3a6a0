"""Reads admission plugins make: from the watch cache, falling back to the store.

Upstream's plugins read informer caches and, when the cache does not (yet) hold
what they look for, make a live lookup; these helpers do the same with the API
server's watch cache. Objects returned from the cache are shared: never mutate them.

An empty live list is remembered for :data:`LIVE_TTL` seconds, as upstream's LimitRanger
and ResourceQuota keep their live lookups: most namespaces have no LimitRange and no
quota, and without it every pod create would make these lists against the store (on
etcd, a network round trip each).
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

from ..watchcache import decode

if TYPE_CHECKING:
    from ..context import ServerContext
    from ..registry import ResourceType
    from ..watchcache import WatchCache

LIVE_TTL = 30.0  # upstream's liveTTL for the live lookups of LimitRanger and ResourceQuota
_empty_live_lists: "weakref.WeakKeyDictionary[WatchCache, dict[str, float]]" = (
    weakref.WeakKeyDictionary())


def resource(ctx: "ServerContext", group: str, plural: str) -> "ResourceType | None":
    """The served resource ``plural`` of ``group`` (its first version)."""
    for rt in ctx.registry.all():
        if rt.group == group and rt.plural == plural:
            return rt
    return None


async def get(ctx: "ServerContext", group: str, plural: str, namespace: str | None,
              name: str, *, live: bool = False) -> dict | None:
    """One object; ``live`` skips the cache (for state that must be current)."""
    rt = resource(ctx, group, plural)
    if rt is None:
        return None
    key = rt.key(namespace, name)
    cache = ctx.watch_cache
    if cache is not None and not live:
        try:
            obj = cache.get(rt.prefix, key)
        except KeyError:
            obj = None
        if obj is not None:
            return obj
    kv = await ctx.store.get(key)
    return decode(kv.value, kv.mod_revision) if kv is not None else None


async def list_objects(ctx: "ServerContext", group: str, plural: str,
                       namespace: str | None) -> list[dict]:
    """The objects of a namespace (or all, for None). An empty cache answer is checked
    against the store, as upstream's live lookup does, so a just-written object counts."""
    rt = resource(ctx, group, plural)
    if rt is None:
        return []
    key_prefix = rt.namespace_prefix(namespace)
    cache = ctx.watch_cache
    if cache is not None:
        try:
            items, _ = cache.snapshot(rt.prefix, key_prefix)
        except KeyError:
            items = None
        if items:
            return items
        empty_until = _empty_live_lists.setdefault(cache, {})
        if empty_until.get(key_prefix, 0.0) > time.monotonic():
            return []
    listing = await ctx.store.list(key_prefix)
    if cache is not None and not listing.items:
        empty_until[key_prefix] = time.monotonic() + LIVE_TTL
    return [decode(kv.value, kv.mod_revision) for kv in listing.items]
