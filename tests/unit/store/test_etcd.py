"""What the etcd store adds beyond the contract suite: several stores (API servers) on one
etcd, compactions made by another process, ``--etcd-prefix`` key layout, endpoint URLs."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.store import CompactedError, KeyValue, open_store
from pyk8s.store.etcd import prefix_end
from pyk8s.store.factory import etcd_endpoints


@pytest.fixture
async def pair(etcd):
    a, b = open_store(f"etcd://{etcd.endpoint}"), open_store(f"http://{etcd.endpoint}")
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_two_stores_share_revisions_and_watches(pair) -> None:
    a, b = pair
    it = b.watch("/registry/pods/", 0)
    pending = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.05)
    r1 = await a.create("/registry/pods/ns/p", b"{}")
    (event,) = await asyncio.wait_for(pending, 5)
    assert (event.type, event.kv) == ("PUT", KeyValue("/registry/pods/ns/p", b"{}", r1, r1))
    assert await b.current_revision() == r1
    r2 = await b.update("/registry/pods/ns/p", b'{"a":1}', r1)
    assert (await a.get("/registry/pods/ns/p")).mod_revision == r2
    await it.aclose()


async def test_compaction_by_another_store_is_410(etcd, pair) -> None:
    a, b = pair
    c = open_store(f"etcd://{etcd.endpoint}")
    await c.start()
    try:
        r1 = await a.create("/registry/x/1", b"1")
        r2 = await a.update("/registry/x/1", b"2", r1)
        await a.create("/registry/x/2", b"3")
        await a.compact(r2)
        assert b.compact_revision == c.compact_revision == 0  # not heard of it yet
        # a read below the compaction point finds it
        with pytest.raises(CompactedError) as info:
            await b.get("/registry/x/1", r1)
        assert info.value.compacted == r2 and b.compact_revision == r2
        # a watch from the compaction point (compacted, as the contract says) ends with
        # etcd's canceled response
        with pytest.raises(CompactedError) as info:
            await anext(c.watch("/registry/x/", r2))
        assert info.value.compacted == r2 and c.compact_revision == r2
        assert await b.get("/registry/x/1", r2 + 1) == KeyValue("/registry/x/1", b"2", r1, r2)
    finally:
        await c.close()
    fresh = open_store(f"etcd://{etcd.endpoint}")
    await fresh.start()
    assert fresh.compact_revision == r2
    await fresh.close()


async def test_etcd_prefix_replaces_registry(etcd) -> None:
    custom = open_store(f"etcd://{etcd.endpoint}", etcd_prefix="/other/")
    raw = open_store(f"etcd://{etcd.endpoint}")
    await custom.start()
    await raw.start()
    try:
        rev = await custom.create("/registry/configmaps/ns/a", b"{}")
        assert await raw.get("/other/configmaps/ns/a") == KeyValue(
            "/other/configmaps/ns/a", b"{}", rev, rev)
        assert await raw.get("/registry/configmaps/ns/a") is None
        listed = await custom.list("/registry/configmaps/")
        assert [kv.key for kv in listed.items] == ["/registry/configmaps/ns/a"]
        assert [kv.key for kv in (await custom.list("")).items] == ["/registry/configmaps/ns/a"]
        with pytest.raises(ValueError):
            await custom.create("/elsewhere", b"")
    finally:
        await custom.close()
        await raw.close()


@pytest.mark.parametrize("url, endpoints, tls", [
    ("etcd://127.0.0.1:2379", ["127.0.0.1:2379"], False),
    ("etcd://a:1,b:2", ["a:1", "b:2"], False),
    ("http://a:2379,http://b:2379/", ["a:2379", "b:2379"], False),
    ("https://a:2379,https://b", ["a:2379", "b:2379"], True),
    ("etcd://[::1]:2379", ["[::1]:2379"], False),
])
def test_endpoint_urls(url, endpoints, tls) -> None:
    assert etcd_endpoints(url) == (endpoints, tls)


def test_bad_endpoint_urls() -> None:
    for url in ("etcd://", "ftp://a:1", "http://a:1,ftp://b:2"):
        with pytest.raises(ValueError):
            etcd_endpoints(url)


def test_prefix_end() -> None:
    assert prefix_end(b"/a/") == b"/a0"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"") == b"\0"
