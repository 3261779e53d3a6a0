"""Two ``pyk8s apiserver`` processes on one etcd serve one cluster.

A write through one is seen by a watch on the other with the same resourceVersion; the
``kubernetes`` Endpoints list every live server; concurrent Service creates split across
both never share a cluster IP or a node port (the ranges live in etcd, changed by CAS).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from etcdproc import EtcdProcess
from multiapi import Client, start_server

pytestmark = [
    pytest.mark.e2e,
]

ADDRESSES = ("192.0.2.10", "192.0.2.11", "192.0.2.12")  # TEST-NET-1: never contacted


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("multi")
    etcd = EtcdProcess(base / "etcd").start()
    a = start_server(base, "a", etcd.url, ADDRESSES[0])
    b = start_server(base, "b", etcd.url, ADDRESSES[1], pki_from=a.data_dir / "pki")
    yield base, etcd, a, b
    for proc in (b, a, etcd):
        proc.stop()


@pytest.fixture
async def client(cluster):
    c = Client(cluster[2].data_dir / "pki")
    yield c
    await c.close()


async def endpoint_ips(client, server) -> set[str]:
    ep = await client.ok(server, "GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    return {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}


def test_servers_share_one_ca(cluster):
    _, _, a, b = cluster
    assert (a.data_dir / "pki/ca.crt").read_bytes() == (b.data_dir / "pki/ca.crt").read_bytes()


async def test_write_through_one_is_watched_on_the_other(cluster, client):
    _, _, a, b = cluster
    listing = await client.ok(b, "GET", "/api/v1/namespaces/default/configmaps")
    rv = listing["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
    async with client.session.get(b.url + path) as watch:
        created = await client.ok(a, "POST", "/api/v1/namespaces/default/configmaps",
                                  {"metadata": {"name": "across"}, "data": {"k": "v"}})
        event = json.loads(await watch.content.readline())
    assert event["type"] == "ADDED"
    assert event["object"]["metadata"]["name"] == "across"
    assert event["object"]["metadata"]["resourceVersion"] == \
        created["metadata"]["resourceVersion"]
    assert int(created["metadata"]["resourceVersion"]) > int(rv)
    on_b = await client.ok(b, "GET", "/api/v1/namespaces/default/configmaps/across")
    assert on_b["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_concurrent_service_creates_get_distinct_ips_and_ports(cluster, client):
    _, _, a, b = cluster

    async def create(i: int) -> dict:
        return await client.ok((a, b)[i % 2], "POST", "/api/v1/namespaces/default/services", {
            "metadata": {"name": f"race-{i}"},
            "spec": {"type": "NodePort", "selector": {"app": "x"},
                     "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}})

    created = await asyncio.gather(*(create(i) for i in range(20)))
    ips = [s["spec"]["clusterIP"] for s in created]
    ports = [p["nodePort"] for s in created for p in s["spec"]["ports"]]
    assert len(set(ips)) == 20 and len(set(ports)) == 40
    listing = await client.ok(b, "GET", "/api/v1/services")
    assert len({s["spec"].get("clusterIP") for s in listing["items"]}) == len(listing["items"])


async def test_kubernetes_endpoints_follow_live_servers(cluster, client):
    base, etcd, a, b = cluster
    assert await endpoint_ips(client, b) >= {ADDRESSES[0], ADDRESSES[1]}
    c = start_server(base, "c", etcd.url, ADDRESSES[2], pki_from=a.data_dir / "pki")
    try:
        assert await endpoint_ips(client, a) == set(ADDRESSES)
        eps = await client.ok(a, "GET",
                              "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
                              "kubernetes")
        assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    finally:
        c.stop()
    assert await endpoint_ips(client, a) == {ADDRESSES[0], ADDRESSES[1]}
