"""Leader election between two electors on one Lease: exactly one leads; the other takes
over when the leader stops renewing (crash) or, at once, when it releases (clean stop)."""

from __future__ import annotations

import asyncio
import time

from pyk8s.client import LeaderElector

TIMING = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.25}


class Candidate:
    def __init__(self, client, namespace: str, identity: str, **options) -> None:
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.elector = LeaderElector(
            client, name="lock", namespace=namespace, identity=identity,
            on_started_leading=self._lead, on_stopped_leading=self.stopped.set,
            **TIMING, **options)
        self.task = asyncio.create_task(self.elector.run())

    async def _lead(self, stop: asyncio.Event) -> None:
        self.leading.set()
        await stop.wait()

    async def cancel(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def _first(*candidates: Candidate) -> Candidate:
    waits = {asyncio.create_task(c.leading.wait()): c for c in candidates}
    done, pending = await asyncio.wait(waits, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    assert done, "nobody became leader"
    return waits[done.pop()]


async def test_takeover_after_leader_stops_renewing(client, namespace):
    a = Candidate(client, namespace, "a", release_on_cancel=False)
    b = Candidate(client, namespace, "b", release_on_cancel=False)
    try:
        leader = await _first(a, b)
        other = b if leader is a else a
        await asyncio.sleep(1.0)
        assert not other.leading.is_set()
        lease = await client.api("coordination.k8s.io/v1", "Lease").get("lock",
                                                                        namespace=namespace)
        assert lease["spec"]["holderIdentity"] == leader.elector.identity
        assert lease["spec"]["leaseDurationSeconds"] == 2
        assert lease["spec"]["renewTime"].endswith("Z") and "." in lease["spec"]["renewTime"]

        started = time.monotonic()
        await leader.cancel()  # a crash: no release, the lease must expire
        await asyncio.wait_for(other.leading.wait(), 10)
        assert time.monotonic() - started >= 1.0
        lease = await client.api("coordination.k8s.io/v1", "Lease").get("lock",
                                                                        namespace=namespace)
        assert lease["spec"]["holderIdentity"] == other.elector.identity
        assert lease["spec"]["leaseTransitions"] == 1
    finally:
        await a.cancel()
        await b.cancel()


async def test_clean_shutdown_releases_the_lease(client, namespace):
    a = Candidate(client, namespace, "a")
    await asyncio.wait_for(a.leading.wait(), 10)
    b = Candidate(client, namespace, "b")
    try:
        await asyncio.sleep(0.5)
        assert not b.leading.is_set()
        await a.cancel()
        assert a.stopped.is_set()
        started = time.monotonic()
        await asyncio.wait_for(b.leading.wait(), 10)
        assert time.monotonic() - started < 1.5  # released: no need to wait for expiry
        assert b.elector.is_leader and b.elector.leader == "b"
    finally:
        await b.cancel()
