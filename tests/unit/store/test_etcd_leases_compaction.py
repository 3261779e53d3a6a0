"""Keys that expire (``--event-ttl``) and compaction shared by several API servers.

On etcd: upstream's lease manager (one lease per reuse window, carried by many keys) and
its ``compact_rev_key`` protocol (one compaction per interval, whoever ticks first). On
SQLite and memory: the in-process :class:`ExpirySweeper`.
"""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.store import open_store
from pyk8s.store.etcd import (
    COMPACT_REV_KEY,
    Compactor,
    EtcdStore,
    LeaseManager,
    ReadCoalescer,
)
from pyk8s.store.etcdpb import etcd_pb2 as pb
from pyk8s.store.expiry import ExpirySweeper

EVENTS = "/registry/events/"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def raw(store: EtcdStore, key: str) -> pb.KeyValue | None:
    resp = await store._client.call("Range", pb.RangeRequest(key=key.encode()))
    return resp.kvs[0] if resp.kvs else None


@pytest.fixture
async def etcd_store(etcd):
    store = open_store(f"etcd://{etcd.endpoint}", ttls={EVENTS: 100})
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def test_expiring_keys_share_a_lease_per_window(etcd_store: EtcdStore) -> None:
    clock = FakeClock()
    etcd_store.leases = LeaseManager(etcd_store._client, clock)
    for i in range(5):
        await etcd_store.create(f"{EVENTS}ns/e{i}", b"{}")
    leases = {(await raw(etcd_store, f"{EVENTS}ns/e{i}")).lease for i in range(5)}
    assert len(leases) == 1 and 0 not in leases
    assert etcd_store.leases.granted == 1

    await etcd_store.create("/registry/pods/ns/p", b"{}")
    assert (await raw(etcd_store, "/registry/pods/ns/p")).lease == 0

    clock.now += 11  # past the reuse window, min(60 s, 10% of 100 s)
    kv = await raw(etcd_store, f"{EVENTS}ns/e0")
    await etcd_store.update(f"{EVENTS}ns/e0", b'{"count":2}', kv.mod_revision)
    renewed = (await raw(etcd_store, f"{EVENTS}ns/e0")).lease
    assert renewed not in leases and etcd_store.leases.granted == 2

    await etcd_store._client.call("LeaseRevoke", pb.LeaseRevokeRequest(ID=renewed))
    assert await raw(etcd_store, f"{EVENTS}ns/e0") is None  # revoking deletes the key
    # the store's lease is gone in etcd: the next write gets a new one instead of failing
    await etcd_store.create(f"{EVENTS}ns/after-revoke", b"{}")
    assert (await raw(etcd_store, f"{EVENTS}ns/after-revoke")).lease not in (0, renewed)


async def test_expired_key_is_deleted_and_watched(etcd) -> None:
    store = open_store(f"etcd://{etcd.endpoint}", ttls={EVENTS: 1})
    await store.start()
    try:
        watch = store.watch(EVENTS, 0)
        revision = await store.create(f"{EVENTS}ns/short", b'{"n":1}')
        events = []
        async with asyncio.timeout(30):
            async for batch in watch:
                events += batch
                if any(e.type == "DELETE" for e in events):
                    break
        assert [(e.type, e.kv.key) for e in events] == [
            ("PUT", f"{EVENTS}ns/short"), ("DELETE", f"{EVENTS}ns/short")]
        assert events[1].kv.value == b'{"n":1}' and events[1].kv.mod_revision > revision
        assert await store.get(f"{EVENTS}ns/short") is None
        await watch.aclose()
    finally:
        await store.close()


async def test_one_compaction_per_interval_between_servers(etcd) -> None:
    a, b = open_store(f"etcd://{etcd.endpoint}"), open_store(f"etcd://{etcd.endpoint}")
    await a.start()
    await b.start()
    try:
        ca, cb = Compactor(a), Compactor(b)
        assert await ca.tick() == 0  # the first turn records where the interval starts
        assert await cb.tick() == 0  # a took this interval; b learns the clock
        compacted = []
        for round_ in range(3):
            for i in range(5):
                await a.create(f"/registry/configmaps/ns/r{round_}-{i}", b"{}")
            head = await a.current_revision()
            # both tick once per interval; exactly one of them compacts
            first, second = (ca, cb) if round_ % 2 else (cb, ca)
            results = [await first.tick(), await second.tick()]
            assert results[1] == 0 and 0 < results[0] <= head
            compacted.append(results[0])
        assert compacted == sorted(compacted) and len(set(compacted)) == 3
        stored = await raw(a, COMPACT_REV_KEY.decode())
        assert stored.version == 4 and int(stored.value) == compacted[-1]
        assert max(a.compact_revision, b.compact_revision) == compacted[-1]
    finally:
        await a.close()
        await b.close()


@pytest.fixture(params=["memory", "sqlite"])
async def local_store(request, tmp_path):
    store = open_store("memory://" if request.param == "memory"
                       else f"sqlite://{tmp_path}/state.db")
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def test_sweeper_deletes_after_ttl_and_watchers_see_it(local_store) -> None:
    sweeper = ExpirySweeper(local_store, {EVENTS: 0.2})
    old = await local_store.create(f"{EVENTS}ns/old", b"{}")  # listed at start
    await sweeper.start()
    try:
        watch = local_store.watch(EVENTS, old + 1)
        await local_store.create(f"{EVENTS}ns/new", b"{}")
        await local_store.create("/registry/pods/ns/keep", b"{}")
        deleted = set()
        async with asyncio.timeout(30):
            async for batch in watch:
                deleted |= {e.kv.key for e in batch if e.type == "DELETE"}
                if len(deleted) == 2:
                    break
        assert deleted == {f"{EVENTS}ns/old", f"{EVENTS}ns/new"}
        assert await local_store.get("/registry/pods/ns/keep") is not None
        await watch.aclose()
    finally:
        await sweeper.stop()


async def test_sweeper_rewrite_postpones_expiry(local_store) -> None:
    clock = FakeClock()
    # fake seconds in the thousands: the sweeper's timed waits (real seconds) never end
    # within the test, so only the writes below wake it, however slow the machine is
    sweeper = ExpirySweeper(local_store, {EVENTS: 1000}, clock)
    await sweeper.start()
    try:
        key = f"{EVENTS}ns/e"

        async def seen(name: str, revision: int) -> None:
            async with asyncio.timeout(30):
                while sweeper._latest.get(name) != revision:
                    await asyncio.sleep(0.01)

        r1 = await local_store.create(key, b"{}")
        await seen(key, r1)
        clock.now += 500
        r2 = await local_store.update(key, b'{"count":2}', r1)
        await seen(key, r2)
        clock.now += 600  # past the first write's deadline, not the second's
        poke = await local_store.create(f"{EVENTS}ns/poke1", b"{}")
        await seen(f"{EVENTS}ns/poke1", poke)
        async with asyncio.timeout(30):  # the sweep at this time has run
            while sweeper._due[0][0] <= clock.now:
                await asyncio.sleep(0.01)
        watch = local_store.watch(key, poke + 1)
        clock.now += 500  # past the second write's deadline
        later = await local_store.create(f"{EVENTS}ns/poke2", b"{}")
        async with asyncio.timeout(30):
            batch = await anext(watch)
        assert batch[0].type == "DELETE" and batch[0].kv.mod_revision > later
        await watch.aclose()
    finally:
        await sweeper.stop()


async def test_read_coalescer_shares_only_reads_issued_after_the_call() -> None:
    issued: list[asyncio.Future] = []

    async def read(key: str) -> str:
        answer = asyncio.get_running_loop().create_future()
        issued.append(answer)
        return await answer

    reads = ReadCoalescer(read)
    first = asyncio.ensure_future(reads.get("k"))
    await asyncio.sleep(0)
    late = [asyncio.ensure_future(reads.get("k")) for _ in range(3)]
    await asyncio.sleep(0)
    assert len(issued) == 1  # the late callers wait: that read may predate their call
    issued[0].set_result("old")
    assert await first == "old"
    await asyncio.sleep(0)
    assert len(issued) == 2  # one new read for all three
    issued[1].set_result("new")
    assert await asyncio.gather(*late) == ["new"] * 3

    failing = asyncio.ensure_future(reads.get("k"))
    await asyncio.sleep(0)
    joined = asyncio.ensure_future(reads.get("k"))
    await asyncio.sleep(0)
    issued[2].set_result("x")
    await failing
    await asyncio.sleep(0)
    issued[3].set_exception(RuntimeError("etcd down"))
    with pytest.raises(RuntimeError, match="etcd down"):
        await joined
