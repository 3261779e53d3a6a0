"""Keeps ``default/kubernetes`` listing every live API server, as upstream's lease reconciler.

With several API servers on one store, the ``kubernetes`` Service must lead to all of
them and to none that died. Upstream's ``--endpoint-reconciler-type=lease`` does this with
one lease per server, ``/registry/masterleases/<IP>``, refreshed every 10 s and expiring
15 s after the last refresh; after each refresh a server rewrites the Endpoints (and the
EndpointSlice ``kubernetes``) to the addresses of the unexpired leases. The store has TTLs
only on etcd, so the expiry time is in the lease's value; readers skip expired leases and
delete them (guarded by their revision). On a clean shutdown a server deletes its own
lease and rewrites the list without itself, so its peers need not wait for the expiry.

Servers on different ports are grouped into one Endpoints subset per port; the
EndpointSlice mirrors the first subset, as upstream's EndpointsAdapter does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Callable

from ..store import ConflictError, KeyExistsError, KeyNotFoundError, StoreError
from . import errors
from .context import ServerContext
from .objects import ObjectStore

log = logging.getLogger(__name__)

LEASE_PREFIX = "/registry/masterleases/"
LEASE_TTL = 15.0  # seconds a lease lives after its last refresh
REFRESH_INTERVAL = 10.0  # seconds between refreshes
SERVICE = "kubernetes"
NAMESPACE = "default"


class EndpointReconciler:
    """Holds this server's lease and rewrites the ``kubernetes`` endpoints from all leases."""

    def __init__(self, ctx: ServerContext, address: str, port: int, *,
                 clock: Callable[[], float] = time.time, ttl: float = LEASE_TTL,
                 interval: float = REFRESH_INTERVAL) -> None:
        self.ctx, self.address, self.port = ctx, address, port
        self.clock, self.ttl, self.interval = clock, ttl, interval
        self.key = LEASE_PREFIX + address
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Publishes this server (before it serves) and keeps refreshing in the background."""
        await self.sync()
        self._task = asyncio.create_task(self._refresh_periodically(), name="endpoints")

    async def stop(self) -> None:
        """Removes this server's lease and address (a best effort: the lease expires anyway)."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            kv = await self.ctx.store.get(self.key)
            if kv is not None:
                await self.ctx.store.delete(self.key, kv.mod_revision)
            await self.reconcile()
        except (StoreError, errors.APIError) as err:
            log.warning("could not remove %s from the kubernetes endpoints: %s", self.address, err)

    async def sync(self) -> None:
        await self.renew()
        await self.reconcile()

    async def _refresh_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sync()
            except (StoreError, errors.APIError) as err:
                log.warning("endpoint reconciler: %s (retrying in %.0fs)", err, self.interval)

    async def renew(self) -> None:
        """Writes this server's lease with a fresh expiry (CAS, retried on races)."""
        value = json.dumps({"address": self.address, "port": self.port,
                            "expiresAt": self.clock() + self.ttl}).encode()
        store = self.ctx.store
        while True:
            kv = await store.get(self.key)
            try:
                if kv is None:
                    await store.create(self.key, value)
                else:
                    await store.update(self.key, value, kv.mod_revision)
                return
            except (ConflictError, KeyExistsError, KeyNotFoundError):
                continue

    async def live(self) -> list[tuple[str, int]]:
        """(address, port) of every unexpired lease; expired ones are deleted."""
        now = self.clock()
        found = []
        for kv in (await self.ctx.store.list(LEASE_PREFIX)).items:
            lease = json.loads(kv.value)
            if lease.get("expiresAt", 0) > now:
                found.append((lease["address"], int(lease["port"])))
                continue
            try:
                await self.ctx.store.delete(kv.key, kv.mod_revision)
            except (ConflictError, KeyNotFoundError):
                continue  # renewed or removed meanwhile
        return sorted(found)

    async def reconcile(self) -> None:
        """Rewrites the Endpoints and EndpointSlice when the live servers differ from them."""
        subsets = endpoint_subsets(await self.live())
        objects = ObjectStore(self.ctx)
        await _put(objects, self.ctx.registry.get("", "v1", "endpoints"),
                   {"labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                   {"subsets": subsets})
        await _put(objects, self.ctx.registry.get("discovery.k8s.io", "v1", "endpointslices"),
                   {"labels": {"kubernetes.io/service-name": SERVICE}},
                   slice_fields(subsets[0] if subsets else None))


def endpoint_subsets(servers: list[tuple[str, int]]) -> list[dict]:
    """One subset per port, addresses sorted (what kube-apiserver writes)."""
    by_port: dict[int, list[str]] = {}
    for address, port in servers:
        by_port.setdefault(port, []).append(address)
    return [{"addresses": [{"ip": a} for a in sorted(addresses)],
             "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
            for port, addresses in sorted(by_port.items())]


def slice_fields(subset: dict | None) -> dict:
    """The EndpointSlice body mirroring one Endpoints subset (upstream's EndpointsAdapter)."""
    if subset is None:
        return {"addressType": "IPv4", "endpoints": [], "ports": []}
    ips = [a["ip"] for a in subset["addresses"]]
    v6 = all(ipaddress.ip_address(ip).version == 6 for ip in ips)
    return {"addressType": "IPv6" if v6 else "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
            "ports": subset["ports"]}


async def _put(objects: ObjectStore, rt, meta: dict, fields: dict) -> None:
    def fresh() -> dict:
        return {"metadata": {"name": SERVICE, "namespace": NAMESPACE, **meta}, **fields}

    def mutate(current: dict) -> dict:
        current.update(fields)
        return current

    try:
        await objects.update(rt, NAMESPACE, SERVICE, mutate, create_if_missing=fresh)
    except errors.APIError as err:
        if err.code != 409:  # another server wrote first; the next refresh converges
            raise
