"""The lease-based endpoint reconciler, with an injected clock instead of sleeps."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.allocators import IPAllocator, PortAllocator
from pyk8s.apiserver.bootstrap import ensure_system_objects
from pyk8s.apiserver.context import ServerContext
from pyk8s.apiserver.endpointreconciler import (
    LEASE_PREFIX,
    EndpointReconciler,
    endpoint_subsets,
    slice_fields,
)
from pyk8s.apiserver.objects import ObjectStore
from pyk8s.apiserver.resources import builtin_registry
from pyk8s.store.memory import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def ctx():
    store = MemoryStore()
    await store.start()
    context = ServerContext(store=store, registry=builtin_registry(),
                            cluster_ips=IPAllocator(), node_ports=PortAllocator(),
                            config={"service_cidr": "10.96.0.0/12", "secure_port": 6443})
    await ensure_system_objects(context)
    yield context
    await store.close()


async def published(ctx) -> tuple[list[dict], dict]:
    objects = ObjectStore(ctx)
    ep = await objects.get(ctx.registry.get("", "v1", "endpoints"), "default", "kubernetes")
    eps = await objects.get(ctx.registry.get("discovery.k8s.io", "v1", "endpointslices"),
                            "default", "kubernetes")
    return ep.get("subsets") or [], eps


@pytest.mark.parametrize("servers, expected", [
    ([], []),
    ([("192.0.2.11", 6443), ("192.0.2.10", 6443)],
     [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.11"}],
       "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]),
    ([("192.0.2.10", 6444), ("192.0.2.11", 6443)],
     [{"addresses": [{"ip": "192.0.2.11"}], "ports": [{"name": "https", "port": 6443,
                                                         "protocol": "TCP"}]},
      {"addresses": [{"ip": "192.0.2.10"}], "ports": [{"name": "https", "port": 6444,
                                                         "protocol": "TCP"}]}]),
])
def test_endpoint_subsets(servers, expected):
    assert endpoint_subsets(servers) == expected


def test_slice_mirrors_first_subset():
    subset = endpoint_subsets([("fd00::10", 6443)])[0]
    assert slice_fields(subset) == {
        "addressType": "IPv6",
        "endpoints": [{"addresses": ["fd00::10"], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}


async def test_every_live_server_listed_and_expired_ones_dropped(ctx):
    clock = Clock()
    a = EndpointReconciler(ctx, "192.0.2.10", 6443, clock=clock)
    b = EndpointReconciler(ctx, "192.0.2.11", 6443, clock=clock)
    await a.sync()
    await b.sync()
    subsets, eps = await published(ctx)
    assert [x["ip"] for x in subsets[0]["addresses"]] == ["192.0.2.10", "192.0.2.11"]
    assert eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert [e["addresses"] for e in eps["endpoints"]] == [["192.0.2.10"], ["192.0.2.11"]]

    clock.now += 10  # b refreshes, a (say, SIGKILLed) does not
    await b.sync()
    subsets, _ = await published(ctx)
    assert len(subsets[0]["addresses"]) == 2
    clock.now += 6  # a's lease is 16 s old: expired
    await b.sync()
    subsets, eps = await published(ctx)
    assert [x["ip"] for x in subsets[0]["addresses"]] == ["192.0.2.11"]
    assert [e["addresses"] for e in eps["endpoints"]] == [["192.0.2.11"]]
    assert [kv.key for kv in (await ctx.store.list(LEASE_PREFIX)).items] == [
        LEASE_PREFIX + "192.0.2.11"]


async def test_clean_stop_removes_own_address_at_once(ctx):
    a = EndpointReconciler(ctx, "192.0.2.10", 6443, clock=Clock())
    b = EndpointReconciler(ctx, "192.0.2.11", 6443, clock=Clock())
    await a.start()
    await b.start()
    await a.stop()
    subsets, _ = await published(ctx)
    assert [x["ip"] for x in subsets[0]["addresses"]] == ["192.0.2.11"]
    await b.stop()
    subsets, eps = await published(ctx)
    assert subsets == [] and eps["endpoints"] == []


async def test_unchanged_servers_write_only_the_lease(ctx):
    clock = Clock()
    a = EndpointReconciler(ctx, "192.0.2.10", 6443, clock=clock)
    await a.sync()
    revision = await ctx.store.current_revision()
    clock.now += 10
    await a.sync()
    assert await ctx.store.current_revision() == revision + 1
