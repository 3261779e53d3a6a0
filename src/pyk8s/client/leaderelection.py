"""Leader election on coordination.k8s.io/v1 Leases, as client-go's leaderelection.

Candidates race to write their identity into one Lease with optimistic concurrency (every
write is a PUT carrying the resourceVersion read, so only one of two racers wins). The
holder renews every ``retry_period``; if it cannot renew within ``renew_deadline`` it
stops leading. Others take over once the record has not changed for
``leaseDurationSeconds`` *as measured by their own clock since they last saw it change*
(no cross-machine clock comparison). On clean shutdown the holder releases the lease
(empty holder, 1 s duration) so a successor need not wait for expiry.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .api import Client
from .errors import ClientError, NotFound
from .meta import micro_time

log = logging.getLogger(__name__)

JITTER = 1.2


class LeaderElector:
    """Run ``on_started_leading(stop_event)`` while this process holds the lease.

    ``run()`` returns when leadership is lost (after ``on_stopped_leading``) or raises
    CancelledError when cancelled (releasing the lease first if it is held and
    ``release_on_cancel``). ``on_started_leading`` is awaited in its own task and is
    cancelled when leadership ends; it also gets an Event set at that moment.
    """

    def __init__(self, client: Client, *, name: str, namespace: str, identity: str,
                 on_started_leading: Callable[[asyncio.Event], Awaitable[Any]],
                 on_stopped_leading: Callable[[], Any] | None = None,
                 on_new_leader: Callable[[str], Any] | None = None,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0,
                 retry_period: float = 2.0, release_on_cancel: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not lease_duration > renew_deadline > JITTER * retry_period:
            raise ValueError("need lease_duration > renew_deadline > 1.2 * retry_period")
        self.leases = client.api("coordination.k8s.io/v1", "Lease")
        self.name, self.namespace, self.identity = name, namespace, identity
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.lease_duration, self.renew_deadline = lease_duration, renew_deadline
        self.retry_period, self.release_on_cancel = retry_period, release_on_cancel
        self.clock = clock
        self._observed: dict | None = None       # last Lease read
        self._observed_spec: dict | None = None  # its spec, to notice changes
        self._observed_at = 0.0
        self.leader: str = ""

    @property
    def is_leader(self) -> bool:
        return self.leader == self.identity

    async def run(self) -> None:
        await self._acquire()
        stop = asyncio.Event()
        leading = asyncio.create_task(self.on_started_leading(stop), name=f"leading {self.name}")
        lost = False
        try:
            lost = not await self._renew_until_lost_or_done(leading)
        finally:
            stop.set()
            leading.cancel()
            await asyncio.gather(leading, return_exceptions=True)
            if not lost and self.release_on_cancel:
                await asyncio.shield(self.release())
            if self.on_stopped_leading:
                self.on_stopped_leading()

    async def _acquire(self) -> None:
        while not await self._try_acquire_or_renew():
            await asyncio.sleep(self.retry_period * random.uniform(1.0, JITTER))
        log.info("%s: %s acquired lease %s/%s", self.name, self.identity, self.namespace,
                 self.name)

    async def _renew_until_lost_or_done(self, leading: asyncio.Task) -> bool:
        """Renew every retry_period. False when a renewal round overran renew_deadline,
        True when the leading callback finished on its own."""
        while not leading.done():
            deadline = self.clock() + self.renew_deadline
            while not await self._try_renew_within(deadline):
                if self.clock() >= deadline:
                    log.warning("%s: %s failed to renew lease; stopping leading",
                                self.name, self.identity)
                    return False
                await asyncio.sleep(self.retry_period)
            await asyncio.wait([leading], timeout=self.retry_period)
        return True

    async def _try_renew_within(self, deadline: float) -> bool:
        try:
            async with asyncio.timeout(max(0.0, deadline - self.clock())):
                return await self._try_acquire_or_renew()
        except TimeoutError:
            return False

    async def release(self) -> bool:
        """Give the lease up if we hold it (holder cleared, duration 1 s)."""
        if self._observed is None or not self.is_leader:
            return False
        lease = copy.deepcopy(self._observed)
        now = micro_time()
        lease["spec"] = {**lease.get("spec", {}), "holderIdentity": "",
                         "leaseDurationSeconds": 1, "renewTime": now, "acquireTime": now}
        try:
            self._observe(await self.leases.update(lease))
        except ClientError as err:
            log.warning("%s: failed to release lease: %s", self.name, err)
            return False
        return True

    def _observe(self, lease: dict) -> None:
        spec = lease.get("spec") or {}
        if spec != self._observed_spec:
            self._observed_spec = copy.deepcopy(spec)
            self._observed_at = self.clock()
        self._observed = lease
        holder = spec.get("holderIdentity") or ""
        if holder != self.leader:
            self.leader = holder
            if holder and self.on_new_leader:
                self.on_new_leader(holder)

    def _spec(self, *, acquire_time: str, transitions: int) -> dict:
        return {"holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.lease_duration),
                "acquireTime": acquire_time, "renewTime": micro_time(),
                "leaseTransitions": transitions}

    async def _try_acquire_or_renew(self) -> bool:
        """One attempt; True if we hold the lease afterwards."""
        now = micro_time()
        try:
            lease = await self.leases.get(self.name, namespace=self.namespace)
        except NotFound:
            return await self._create(now)
        except ClientError as err:
            log.info("%s: cannot read lease: %s", self.name, err)
            return False
        self._observe(lease)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity and not self._expired(spec):
            return False
        ours = holder == self.identity
        desired = copy.deepcopy(lease)
        desired["spec"] = {**spec, **self._spec(
            acquire_time=spec.get("acquireTime") if ours else now,
            transitions=int(spec.get("leaseTransitions") or 0) + (0 if ours else 1))}
        try:
            self._observe(await self.leases.update(desired))
        except ClientError as err:  # Conflict: someone else wrote first
            log.debug("%s: lease update failed: %s", self.name, err)
            return False
        return True

    def _expired(self, spec: dict) -> bool:
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        return self._observed_at + duration <= self.clock()

    async def _create(self, now: str) -> bool:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(acquire_time=now, transitions=0)}
        try:
            self._observe(await self.leases.create(body, namespace=self.namespace))
        except ClientError as err:
            log.debug("%s: lease create failed: %s", self.name, err)
            return False
        return True
