"""Periodic repair of the stored Service IP and node-port ranges against the Services.

The ranges (:mod:`.rangestore`) and the Services are separate keys, written one after
the other: a server that dies between allocating a value and storing its Service leaks
the value, and a range restored from an old backup may miss values in use. So, like
kube-apiserver's ClusterIP and NodePort repair controllers (every 3 minutes), every API
server periodically lists the Services and brings both ranges in line: a value a
Service holds but the range lacks is set at once (logged: it should not happen); a value
no Service holds is released only after it was found leaked in
:data:`LEAK_ROUNDS` repairs in a row, because the Service of a value allocated a moment
ago may simply not be written yet. Several servers repairing at once is safe: each
repair is one compare-and-swap of the range.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from ..store import Store
from .objects import from_kv
from .rangestore import StoredIPAllocator, StoredPortAllocator

log = logging.getLogger(__name__)

REPAIR_INTERVAL = 180.0  # seconds, as upstream's repair controllers
LEAK_ROUNDS = 3  # upstream's numRepairsBeforeLeakCleanup
SERVICES = "/registry/services/specs/"


def service_allocations(services: list[dict]) -> tuple[list[str], list[int]]:
    """Cluster IPs and node ports (including health-check node ports) the Services hold."""
    ips: list[str] = []
    ports: list[int] = []
    for svc in services:
        spec = svc.get("spec") or {}
        ips += [ip for ip in spec.get("clusterIPs") or [] if ip and ip != "None"]
        ports += [p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort")]
        if spec.get("healthCheckNodePort"):
            ports.append(spec["healthCheckNodePort"])
    return ips, ports


class RangeRepair:
    """Repairs ``ips`` and ``ports`` against the Services in ``store``."""

    def __init__(self, store: Store, ips: StoredIPAllocator, ports: StoredPortAllocator,
                 *, interval: float = REPAIR_INTERVAL, rounds: int = LEAK_ROUNDS) -> None:
        self._store, self._ips, self._ports = store, ips, ports
        self._interval, self._rounds = interval, rounds
        self._leaked: dict[str, dict[int, int]] = {"ips": {}, "ports": {}}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="range repair")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.repair_once()
            except Exception:
                log.exception("repairing the service ranges failed")

    async def repair_once(self) -> None:
        listing = await self._store.list(SERVICES)
        ips, ports = service_allocations([from_kv(kv) for kv in listing.items])
        for name, allocator, values in (("ips", self._ips, ips), ("ports", self._ports, ports)):
            dupes = sorted(v for v, n in Counter(values).items() if n > 1)
            if dupes:
                log.warning("service %s allocated to more than one Service: %s", name, dupes)
            leaked = self._leaked[name]
            repaired, still, released = await allocator.repair(values, leaked, self._rounds)
            if repaired:
                log.warning("service %s in use but not allocated, repaired: offsets %s",
                            name, repaired)
            if released:
                log.info("service %s leaked, released: offsets %s", name, released)
            self._leaked[name] = {o: leaked.get(o, 0) + 1 for o in still}
