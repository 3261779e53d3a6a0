"""WorkQueue semantics as client-go's queue_test.go: dedup, exclusivity, requeue on done,
delayed adds, shutdown and drain, and the run_workers loop under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.client.ratelimit import ItemExponentialFailureRateLimiter
from pyk8s.client.workqueue import (
    RateLimitingQueue,
    ShutDown,
    WorkQueue,
    process_next,
    run_workers,
)


async def test_adds_are_deduplicated_in_order():
    q = WorkQueue()
    for key in ["a", "b", "a", "c", "b"]:
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


@pytest.mark.parametrize("steps, expected_len", [
    # (op, key) sequences after one get("a") -> processing
    ([("add", "a")], 0),                  # re-added while processing: held back
    ([("add", "a"), ("done", "a")], 1),   # ... and queued again on done
    ([("done", "a")], 0),                 # done without re-add: gone
    ([("add", "a"), ("add", "a"), ("done", "a")], 1),  # still only once
])
async def test_key_in_processing_is_held_back(steps, expected_len):
    q = WorkQueue()
    q.add("a")
    assert await q.get() == "a"
    for op, key in steps:
        getattr(q, op)(key)
    assert len(q) == expected_len


async def test_a_key_is_never_handed_to_two_workers():
    q = WorkQueue()
    q.add("a")
    first = await q.get()
    q.add("a")
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    assert not second.done()
    q.done(first)
    assert await asyncio.wait_for(second, 1) == "a"


async def test_shutdown_drains_queued_then_raises():
    q = WorkQueue()
    q.add("a")
    q.add("b")
    q.shutdown()
    q.add("c")  # ignored after shutdown
    assert await q.get() == "a"
    assert await q.get() == "b"
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_wakes_blocked_getters():
    q = WorkQueue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    q.shutdown()
    results = await asyncio.gather(*getters, return_exceptions=True)
    assert all(isinstance(r, ShutDown) for r in results)


async def test_shutdown_with_drain_waits_for_in_flight():
    q = WorkQueue()
    q.add("a")
    item = await q.get()
    drained = asyncio.create_task(q.shutdown_with_drain())
    await asyncio.sleep(0.01)
    assert not drained.done()
    q.done(item)
    await asyncio.wait_for(drained, 1)


async def test_cancelled_getter_passes_wakeup_on():
    q = WorkQueue()
    g1 = asyncio.create_task(q.get())
    g2 = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")  # wakes g1
    g1.cancel()
    await asyncio.gather(g1, return_exceptions=True)
    assert await asyncio.wait_for(g2, 1) == "a"


async def test_add_after_keeps_earliest_deadline():
    q = WorkQueue()
    q.add_after("a", 5.0)
    q.add_after("a", 0.02)
    q.add_after("a", 10.0)  # later than pending: no effect
    assert len(q) == 0
    assert await asyncio.wait_for(q.get(), 1) == "a"
    q.done("a")
    await asyncio.sleep(0.05)
    assert len(q) == 0  # the 5 s and 10 s adds were superseded


async def test_rate_limited_requeue_and_forget():
    q = RateLimitingQueue(ItemExponentialFailureRateLimiter(0.01, 1.0))
    q.add_rate_limited("a")
    q.add_rate_limited("a")
    assert q.num_requeues("a") == 2
    assert await asyncio.wait_for(q.get(), 1) == "a"
    q.forget("a")
    assert q.num_requeues("a") == 0


async def test_process_next_requeues_failures_and_forgets_successes():
    q = RateLimitingQueue(ItemExponentialFailureRateLimiter(0.001, 0.01))
    calls = []

    async def sync(key):
        calls.append(key)
        if len(calls) < 3:
            raise RuntimeError("transient")

    q.add("k")
    for _ in range(3):
        assert await asyncio.wait_for(process_next(q, sync), 1)
    assert calls == ["k", "k", "k"]
    assert q.num_requeues("k") == 0


async def test_run_workers_processes_each_key_exclusively():
    q = RateLimitingQueue(ItemExponentialFailureRateLimiter(0.001, 0.01))
    running: set[str] = set()
    overlaps = []
    counts: dict[str, int] = {}
    stop = asyncio.Event()

    async def sync(key):
        if key in running:
            overlaps.append(key)
        running.add(key)
        await asyncio.sleep(0.002)
        counts[key] = counts.get(key, 0) + 1
        running.discard(key)
        if counts[key] == 1 and key.endswith("7"):
            raise RuntimeError("first attempt fails")

    async def producer():
        for round_ in range(5):
            for i in range(20):
                q.add(f"k{i}")
            await asyncio.sleep(0.003)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(run_workers(q, sync, workers=8, stop=stop))
        await producer()
        while len(q) or q._processing:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # let rate-limited retries land
        stop.set()
    assert not overlaps
    assert set(counts) == {f"k{i}" for i in range(20)}
    assert counts["k7"] >= 2 and counts["k17"] >= 2


async def test_run_workers_stop_finishes_in_flight_sync():
    q = RateLimitingQueue()
    stop = asyncio.Event()
    finished = []

    async def sync(key):
        stop.set()
        await asyncio.sleep(0.02)
        finished.append(key)

    q.add("a")
    await asyncio.wait_for(run_workers(q, sync, workers=2, stop=stop), 2)
    assert finished == ["a"]
