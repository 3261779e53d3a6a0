"""Service IP and node-port ranges kept in the store: bitmap format, CAS races, restarts."""

from __future__ import annotations

import asyncio
import json

import pytest

from pyk8s.apiserver.allocators import AllocationError
from pyk8s.apiserver.rangestore import (
    IP_KEY,
    PORT_KEY,
    StoredIPAllocator,
    StoredPortAllocator,
    decode_bitmap,
    encode_bitmap,
)
from pyk8s.store.memory import MemoryStore


@pytest.fixture
async def store():
    s = MemoryStore()
    await s.start()
    yield s
    await s.close()


@pytest.mark.parametrize("offsets, size", [
    ([], 8), ([0], 8), ([7], 8), ([8], 16), ([0, 1, 9, 4095], 4096), ([1_048_573], 1_048_574),
])
def test_bitmap_round_trip(offsets, size):
    assert sorted(decode_bitmap(encode_bitmap(offsets, size))) == offsets


def test_bitmap_is_upstreams_big_int_layout():
    import zlib
    assert zlib.decompress(encode_bitmap([0, 9], 16)) == (1 | 1 << 9).to_bytes(2, "big")


async def test_two_servers_never_hand_out_the_same_value(store):
    # two allocators on one store stand for two API servers on one etcd
    ips = [StoredIPAllocator(store, "10.0.0.0/27"), StoredIPAllocator(store, "10.0.0.0/27")]
    ports = [StoredPortAllocator(store, 30000, 30029), StoredPortAllocator(store, 30000, 30029)]
    got_ips = await asyncio.gather(*(ips[i % 2].reserve() for i in range(29)))
    got_ports = await asyncio.gather(*(ports[i % 2].reserve() for i in range(30)))
    assert len(set(got_ips)) == 29 and len(set(got_ports)) == 30
    with pytest.raises(AllocationError, match="^range is full$"):
        await ips[1].reserve()
    stored = json.loads((await store.get(PORT_KEY)).value)
    assert (stored["kind"], stored["range"]) == ("RangeAllocation", "30000-30029")


async def test_requested_value_taken_on_the_other_server(store):
    a, b = StoredIPAllocator(store), StoredIPAllocator(store)
    assert await a.reserve("10.96.0.10", owner="uid-1") == "10.96.0.10"
    with pytest.raises(AllocationError, match="^provided IP is already allocated$"):
        await b.reserve("10.96.0.10", owner="uid-2")
    assert await a.reserve("10.96.0.10", owner="uid-1") == "10.96.0.10"  # a retried write
    await b.unreserve("10.96.0.10")
    assert await b.reserve("10.96.0.10", owner="uid-2") == "10.96.0.10"
    with pytest.raises(AllocationError):  # a no longer trusts its stale owner record
        await a.reserve("10.96.0.10", owner="uid-1")


async def test_publish_merges_marked_values_into_the_stored_range(store):
    first = StoredPortAllocator(store)
    await first.reserve(30100)
    restarted = StoredPortAllocator(store)
    restarted.mark_used(30200)  # a stored Service's port, found at start
    await restarted.publish()
    assert restarted.is_allocated(30100) and restarted.is_allocated(30200)
    with pytest.raises(AllocationError):
        await first.reserve(30200)
    assert (await store.get(IP_KEY)) is None


async def test_nothing_written_when_nothing_changes(store):
    ports = StoredPortAllocator(store)
    await ports.reserve(30100)
    revision = await store.current_revision()
    await ports.unreserve(31000)  # not allocated
    with pytest.raises(AllocationError):
        await ports.reserve(30100)
    assert await store.current_revision() == revision
