"""The executable specification of pyk8s.store.interface, run against every backend.

Each test gets a fresh store opened by URL through ``open_store``, exactly as the
server opens it. A backend is correct when it passes this whole file unchanged.
The ``etcd`` variant runs on a throwaway etcd process per test (conftest.py). The
``encrypted:`` variants run the same suite through the encryption-at-rest
wrapper (every key encrypted), which must be invisible to the contract.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

from pyk8s.store import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Store,
    open_store,
)
from pyk8s.store.encryption import EncryptingStore, KeyRules
from pyk8s.store.encryptionconfig import parse

ENCRYPT_ALL = """
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: ["*.*"]
  providers:
  - aesgcm: {keys: [{name: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]}
"""


def open_url(url: str) -> Store:
    """``open_store``, or with ``encrypted:`` the same backend behind encryption at rest."""
    if url.startswith("encrypted:"):
        return EncryptingStore(open_store(url.removeprefix("encrypted:")),
                               KeyRules(parse(ENCRYPT_ALL), {}))
    return open_store(url)


def _backend_url(request: pytest.FixtureRequest, tmp_path) -> str:
    wrapper = "encrypted:" if request.param.startswith("encrypted:") else ""
    if request.param.endswith("memory"):
        return f"{wrapper}memory://"
    if request.param.endswith("etcd"):
        return f"{wrapper}etcd://{request.getfixturevalue('etcd').endpoint}"
    return f"{wrapper}sqlite://{tmp_path / 'state.db'}"


@pytest.fixture(params=["memory", "sqlite", "etcd", "encrypted:memory", "encrypted:sqlite"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    return _backend_url(request, tmp_path)


@pytest.fixture(params=["sqlite", "etcd", "encrypted:sqlite"])
def durable_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The backends that keep data across a restart (memory:// keeps nothing)."""
    return _backend_url(request, tmp_path)


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    s = open_url(url)
    await s.start()
    try:
        yield s
    finally:
        await s.close()


def sig(events: list[Event]) -> list[tuple[str, str, bytes, int]]:
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision) for e in events]


async def take(it: AsyncIterator[list[Event]], until_rev: int, timeout: float = 5.0) -> list[Event]:
    """Events from ``it`` until one at ``until_rev`` or later arrived."""
    out: list[Event] = []
    while not out or out[-1].kv.mod_revision < until_rev:
        out.extend(await asyncio.wait_for(anext(it), timeout))
    return out


async def nothing_more(it: AsyncIterator[list[Event]], wait: float = 0.2) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(anext(it), wait)


# -- create / get ------------------------------------------------------------------


async def test_create_and_get(store: Store) -> None:
    assert await store.current_revision() == 0
    assert await store.get("/a") is None
    r1 = await store.create("/a", b"1")
    r2 = await store.create("/b", b"2")
    assert 0 < r1 < r2
    assert await store.current_revision() == r2
    assert await store.get("/a") == KeyValue("/a", b"1", r1, r1)
    assert await store.get("/b") == KeyValue("/b", b"2", r2, r2)


async def test_create_existing_key_fails_without_a_revision(store: Store) -> None:
    rev = await store.create("/a", b"1")
    with pytest.raises(KeyExistsError):
        await store.create("/a", b"other")
    assert await store.current_revision() == rev
    assert (await store.get("/a")).value == b"1"


async def test_revisions_are_global_and_increasing(store: Store) -> None:
    revs = []
    revs.append(await store.create("/x/1", b"a"))
    revs.append(await store.create("/y/1", b"b"))
    revs.append(await store.update("/x/1", b"c", revs[0]))
    revs.append((await store.delete("/y/1"))[0])
    revs.append(await store.create("/y/1", b"d"))
    assert revs == sorted(set(revs))
    assert await store.current_revision() == revs[-1]


async def test_get_at_revisions(store: Store) -> None:
    r1 = await store.create("/a", b"v1")
    r2 = await store.update("/a", b"v2", r1)
    r3, _ = await store.delete("/a")
    r4 = await store.create("/a", b"v3")
    assert await store.get("/a", r1) == KeyValue("/a", b"v1", r1, r1)
    assert await store.get("/a", r2) == KeyValue("/a", b"v2", r1, r2)
    assert await store.get("/a", r3) is None
    assert await store.get("/a", r4) == KeyValue("/a", b"v3", r4, r4)
    assert await store.get("/a") == KeyValue("/a", b"v3", r4, r4)
    assert await store.get("/other", r2) is None


async def test_future_revision(store: Store) -> None:
    rev = await store.create("/a", b"1")
    with pytest.raises(FutureRevisionError) as info:
        await store.get("/a", rev + 1)
    assert (info.value.requested, info.value.current) == (rev + 1, rev)
    with pytest.raises(FutureRevisionError):
        await store.list("/", revision=rev + 5)


# -- list --------------------------------------------------------------------------


async def test_list_prefix_in_key_order(store: Store) -> None:
    for key in ["/a/3", "/b/1", "/a/1", "/ab/1", "/a/2", "/a"]:
        await store.create(key, key.encode())
    res = await store.list("/a/")
    assert [kv.key for kv in res.items] == ["/a/1", "/a/2", "/a/3"]
    assert [kv.value for kv in res.items] == [b"/a/1", b"/a/2", b"/a/3"]
    assert res.revision == await store.current_revision()
    assert res.remaining == 0
    everything = await store.list("")
    assert [kv.key for kv in everything.items] == ["/a", "/a/1", "/a/2", "/a/3", "/ab/1", "/b/1"]
    assert (await store.list("/nothing/")).items == []
    assert await store.count("/a/") == 3
    assert await store.count("/a") == 5
    assert await store.count("") == 6


async def test_list_skips_deleted_and_shows_latest(store: Store) -> None:
    r1 = await store.create("/k/1", b"old")
    await store.create("/k/2", b"x")
    await store.update("/k/1", b"new", r1)
    await store.delete("/k/2")
    rd = await store.create("/k/3", b"y")
    await store.delete("/k/3", rd)
    await store.create("/k/3", b"again")
    res = await store.list("/k/")
    assert [(kv.key, kv.value) for kv in res.items] == [("/k/1", b"new"), ("/k/3", b"again")]
    assert await store.count("/k/") == 2


async def test_list_at_past_revision(store: Store) -> None:
    r1 = await store.create("/p/a", b"a1")
    r2 = await store.create("/p/b", b"b1")
    snapshot = await store.current_revision()
    await store.update("/p/a", b"a2", r1)
    await store.delete("/p/b", r2)
    await store.create("/p/c", b"c1")
    then = await store.list("/p/", revision=snapshot)
    assert then.revision == snapshot
    assert then.items == [KeyValue("/p/a", b"a1", r1, r1), KeyValue("/p/b", b"b1", r2, r2)]
    at_first = await store.list("/p/", revision=r1)
    assert [kv.key for kv in at_first.items] == ["/p/a"]
    now = await store.list("/p/")
    assert [(kv.key, kv.value) for kv in now.items] == [("/p/a", b"a2"), ("/p/c", b"c1")]


async def test_list_pagination(store: Store) -> None:
    for i in range(10):
        await store.create(f"/pg/{i:02d}", b"%d" % i)
    await store.delete("/pg/05")
    await store.create("/pgx/outside", b"")
    rev = await store.current_revision()
    keys: list[str] = []
    remainders = []
    after = ""
    while True:
        page = await store.list("/pg/", revision=rev, start_after=after, limit=3)
        assert page.revision == rev
        keys += [kv.key for kv in page.items]
        remainders.append(page.remaining)
        # writes between pages do not change a listing at a fixed revision
        await store.create(f"/pg/{len(keys):02d}-late", b"late")
        if not page.remaining:
            break
        after = page.items[-1].key
    assert keys == [f"/pg/{i:02d}" for i in range(10) if i != 5]
    assert remainders == [6, 3, 0]
    first = await store.list("/pg/", limit=100)
    assert first.remaining == 0 and len(first.items) == 9 + 3
    assert (await store.list("/pg/", start_after="/pg/08")).items[0].key == "/pg/09"


# -- compare-and-swap --------------------------------------------------------------


async def test_update_cas(store: Store) -> None:
    r1 = await store.create("/u", b"1")
    r2 = await store.update("/u", b"2", r1)
    assert r2 > r1
    assert await store.get("/u") == KeyValue("/u", b"2", r1, r2)
    with pytest.raises(ConflictError) as info:
        await store.update("/u", b"stale", r1)
    assert info.value.current == KeyValue("/u", b"2", r1, r2)
    assert await store.current_revision() == r2
    with pytest.raises(KeyNotFoundError):
        await store.update("/missing", b"x", r1)
    await store.delete("/u")
    with pytest.raises(KeyNotFoundError):
        await store.update("/u", b"x", r2)


async def test_delete_cas(store: Store) -> None:
    r1 = await store.create("/d", b"1")
    r2 = await store.update("/d", b"2", r1)
    with pytest.raises(ConflictError) as info:
        await store.delete("/d", r1)
    assert info.value.current.mod_revision == r2
    rd, deleted = await store.delete("/d", r2)
    assert rd > r2
    assert deleted == KeyValue("/d", b"2", r1, r2)
    assert await store.get("/d") is None
    with pytest.raises(KeyNotFoundError):
        await store.delete("/d")
    with pytest.raises(KeyNotFoundError):
        await store.delete("/never")
    rc = await store.create("/d", b"3")
    assert await store.get("/d") == KeyValue("/d", b"3", rc, rc)
    r_unconditional, last = await store.delete("/d")
    assert last.value == b"3" and r_unconditional > rc


async def test_concurrent_cas_has_one_winner(store: Store) -> None:
    rev = await store.create("/race", b"0")
    results = await asyncio.gather(
        *(store.update("/race", b"%d" % i, rev) for i in range(20)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, int))
    assert (await store.get("/race")).mod_revision == winners[0]


# -- watch -------------------------------------------------------------------------


async def test_watch_history_then_live(store: Store) -> None:
    r1 = await store.create("/w/a", b"1")
    await store.create("/other/a", b"x")
    r2 = await store.update("/w/a", b"2", r1)
    await store.create("/wx/not-under-prefix", b"x")
    r3 = await store.create("/w/b", b"3")
    it = store.watch("/w/", r2)
    history = await take(it, r3)
    assert sig(history) == [("PUT", "/w/a", b"2", r2), ("PUT", "/w/b", b"3", r3)]
    assert history[0].prev == KeyValue("/w/a", b"1", r1, r1)
    assert history[1].prev is None
    await store.create("/other/b", b"x")
    r4 = await store.update("/w/b", b"4", r3)
    r5, _ = await store.delete("/w/a")
    live = await take(it, r5)
    assert sig(live) == [("PUT", "/w/b", b"4", r4), ("DELETE", "/w/a", b"2", r5)]
    assert live[0].prev == KeyValue("/w/b", b"3", r3, r3)
    await nothing_more(it)
    await it.aclose()


async def test_watch_delete_carries_last_value(store: Store) -> None:
    r1 = await store.create("/del/a", b"first")
    r2 = await store.update("/del/a", b"last", r1)
    live = store.watch("/del/", 0)
    pending = asyncio.ensure_future(anext(live))
    await asyncio.sleep(0.05)  # the live watch is subscribed before the delete
    r3, _ = await store.delete("/del/a")
    (event,) = await asyncio.wait_for(pending, 5)
    for e in [event, *(await take(store.watch("/del/", r3), r3))]:
        assert e.type == "DELETE"
        assert e.kv == KeyValue("/del/a", b"last", r1, r3)
        assert e.prev == KeyValue("/del/a", b"last", r1, r2)
    await live.aclose()


async def test_watch_from_zero_sees_only_new_events(store: Store) -> None:
    await store.create("/z/old", b"x")
    it = store.watch("/z/", 0)
    r = await store.create("/z/new", b"y")
    assert sig(await take(it, r)) == [("PUT", "/z/new", b"y", r)]
    await it.aclose()


async def test_watch_under_concurrent_writes_loses_and_repeats_nothing(store: Store) -> None:
    start = await store.create("/c/seed", b"")
    written = [start]

    async def writer(n: int) -> None:
        for i in range(40):
            written.append(await store.create(f"/c/{n}/{i}", b"v"))
            if i % 7 == 0:
                await store.create(f"/elsewhere/{n}/{i}", b"v")
            await asyncio.sleep(0)

    writers = [asyncio.ensure_future(writer(n)) for n in range(8)]
    await asyncio.sleep(0.01)
    it = store.watch("/c/", start)  # subscribes mid-load: history, then live
    first = await asyncio.wait_for(anext(it), 5)
    await asyncio.gather(*writers)
    last = max(written)
    events = first if first[-1].kv.mod_revision >= last else first + await take(it, last)
    await it.aclose()
    assert [e.kv.mod_revision for e in events] == sorted(written)
    assert all(e.kv.key.startswith("/c/") for e in events)
    replay = store.watch("/c/", start)
    assert sig(await take(replay, last)) == sig(events)
    await replay.aclose()


async def test_watch_ends_when_store_closes(url: str) -> None:
    s = open_url(url)
    await s.start()
    it = s.watch("/", 0)
    pending = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.05)
    await s.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 5)


# -- compaction --------------------------------------------------------------------


async def test_compaction(store: Store) -> None:
    ra = await store.create("/cp/a", b"a1")
    rb = await store.create("/cp/b", b"b1")
    ra2 = await store.update("/cp/a", b"a2", ra)
    await store.delete("/cp/b", rb)
    rc = await store.create("/cp/c", b"c1")
    point = await store.current_revision()
    rc2 = await store.update("/cp/c", b"c2", rc)
    await store.compact(point)
    assert store.compact_revision == point
    for rev in (ra, rb, point):
        with pytest.raises(CompactedError) as info:
            await store.get("/cp/a", rev)
        assert (info.value.requested, info.value.compacted) == (rev, point)
        with pytest.raises(CompactedError):
            await store.list("/cp/", revision=rev)
    # live values, and the values at revisions after the compaction point, stay readable
    assert await store.get("/cp/a") == KeyValue("/cp/a", b"a2", ra, ra2)
    assert await store.get("/cp/a", point + 1) == KeyValue("/cp/a", b"a2", ra, ra2)
    assert await store.get("/cp/c", point + 1) == KeyValue("/cp/c", b"c2", rc, rc2)
    assert await store.get("/cp/b") is None
    at = await store.list("/cp/", revision=rc2)
    assert [(kv.key, kv.value) for kv in at.items] == [("/cp/a", b"a2"), ("/cp/c", b"c2")]
    assert await store.count("/cp/") == 2
    # watch from a compacted revision fails at the first iteration; just after works
    with pytest.raises(CompactedError):
        await anext(store.watch("/cp/", point))
    it = store.watch("/cp/", point + 1)
    assert sig(await take(it, rc2)) == [("PUT", "/cp/c", b"c2", rc2)]
    await it.aclose()
    # compacting at or below the current point is a no-op; revisions keep growing
    await store.compact(ra)
    assert store.compact_revision == point
    assert await store.create("/cp/b", b"b2") > rc2


async def test_compaction_of_everything_keeps_revision_monotonic(store: Store) -> None:
    r1 = await store.create("/gone", b"1")
    r2, _ = await store.delete("/gone", r1)
    await store.compact(r2)
    assert await store.get("/gone") is None
    assert (await store.list("/")).items == []
    assert await store.current_revision() == r2
    r3 = await store.create("/gone", b"2")
    assert r3 > r2
    assert await store.get("/gone") == KeyValue("/gone", b"2", r3, r3)


async def test_compaction_many_keys(store: Store) -> None:
    revs = {}
    for i in range(300):
        revs[i] = await store.create(f"/m/{i:03d}", b"0")
    for i in range(0, 300, 2):
        revs[i] = await store.update(f"/m/{i:03d}", b"1", revs[i])
    for i in range(0, 300, 3):
        await store.delete(f"/m/{i:03d}", revs[i])
    expected = await store.list("/m/")
    await store.compact(await store.current_revision())
    assert await store.list("/m/") == expected
    assert await store.count("/m/") == 200


# -- persistence (durable backends) ------------------------------------------------


async def test_restart_keeps_data_and_revisions(durable_url: str) -> None:
    url = durable_url
    s = open_url(url)
    await s.start()
    r1 = await s.create("/r/a", b"1")
    r2 = await s.update("/r/a", b"2", r1)
    r3 = await s.create("/r/b", b"b")
    r4, _ = await s.delete("/r/b", r3)
    await s.compact(r2)
    await s.close()

    s = open_url(url)
    await s.start()
    try:
        assert await s.current_revision() == r4
        assert s.compact_revision == r2
        assert await s.get("/r/a") == KeyValue("/r/a", b"2", r1, r2)
        assert await s.get("/r/b", r3) == KeyValue("/r/b", b"b", r3, r3)
        assert await s.get("/r/b") is None
        with pytest.raises(CompactedError):
            await s.get("/r/a", r1)
        with pytest.raises(CompactedError):
            await anext(s.watch("/r/", r2))
        assert sig(await take(s.watch("/r/", r2 + 1), r4)) == [
            ("PUT", "/r/b", b"b", r3),
            ("DELETE", "/r/b", b"b", r4),
        ]
        r5 = await s.create("/r/c", b"c")
        assert r5 > r4
        # compact everything, restart again: the revision still does not go back
        await s.compact(r5)
        await s.delete("/r/c")
        r6 = await s.current_revision()
        await s.compact(r6)
    finally:
        await s.close()
    s = open_url(url)
    await s.start()
    try:
        assert await s.current_revision() == r6
        assert await s.create("/r/d", b"d") > r6
        assert [kv.key for kv in (await s.list("/r/")).items] == ["/r/a", "/r/d"]
    finally:
        await s.close()
