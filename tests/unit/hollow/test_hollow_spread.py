"""Spread: every key once per period, phased across it, skipped while still in flight."""

from __future__ import annotations

import asyncio

from pyk8s.hollow.spread import Spread


async def test_keys_are_spread_over_the_period():
    loop = asyncio.get_running_loop()
    seen: list[tuple[str, float]] = []
    stop = asyncio.Event()

    async def work(key):
        seen.append((key, loop.time()))

    start = loop.time()
    task = asyncio.create_task(Spread("t", 0.4, work).run(["a", "b", "c", "d"], stop))
    await asyncio.sleep(0.75)
    stop.set()
    await task
    first = {key: t - start for key, t in reversed(seen)}
    assert [k for k, _ in seen[:4]] == ["a", "b", "c", "d"]
    assert 0.08 < first["b"] < 0.2 and 0.28 < first["d"] < 0.4
    assert [k for k, _ in seen].count("a") == 2  # at 0 and 0.4


async def test_busy_key_is_not_doubled_and_failures_do_not_stop_others():
    stop = asyncio.Event()
    calls = {"slow": 0, "bad": 0, "ok": 0}

    async def work(key):
        calls[key] += 1
        if key == "slow":
            await asyncio.sleep(0.35)
        if key == "bad":
            raise RuntimeError("boom")

    task = asyncio.create_task(Spread("t", 0.1, work).run(["slow", "bad", "ok"], stop))
    await asyncio.sleep(0.42)
    stop.set()
    await task
    assert calls["slow"] == 2  # due 5 times, in flight for most of them
    assert calls["bad"] >= 4 and calls["ok"] >= 4


def test_missed_periods_keep_the_phase():
    spread = Spread("t", 10.0, None)
    assert spread._next(3.0, 5.0) == 13.0
    assert spread._next(3.0, 47.0) == 53.0
