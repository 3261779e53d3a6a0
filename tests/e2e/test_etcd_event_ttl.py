"""Events expire ``--event-ttl`` after their last write, on etcd and on SQLite.

On etcd the Event's key carries a lease (``etcdctl get -w json`` shows it) and etcd
deletes it; on SQLite the API server's sweeper does. Either way the Event disappears from
the API, in both its core/v1 and events.k8s.io/v1 forms, and a watcher sees DELETED.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
from etcdproc import EtcdProcess
from multiapi import Client
from serverproc import ServerProcess, free_port

pytestmark = [
    pytest.mark.e2e,
]

CORE = "/api/v1/namespaces/default/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"


@pytest.fixture(scope="module", params=["etcd", "sqlite"])
def backend(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"ttl-{request.param}")
    etcd = EtcdProcess(base / "etcd").start() if request.param == "etcd" else None
    srv = ServerProcess(base / "data", free_port())
    store = ("--etcd-servers", etcd.url) if etcd else ()
    srv.start(*store, "--event-ttl", "2s")
    yield etcd, srv
    srv.stop()
    if etcd:
        etcd.stop()


def core_event(name: str) -> dict:
    return {"metadata": {"name": name}, "involvedObject": {"kind": "Pod", "name": "p",
                                                            "namespace": "default"},
            "reason": "Tested", "message": "expires", "type": "Normal", "count": 1,
            "source": {"component": "test"}}


def new_event(name: str) -> dict:
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "test/ttl",
            "reportingInstance": "test-1", "action": "Testing", "reason": "Tested",
            "type": "Normal", "regarding": {"kind": "Pod", "name": "p",
                                            "namespace": "default"}}


async def test_events_expire_from_store_and_api(backend):
    etcd, srv = backend
    client = Client(srv.data_dir / "pki")
    try:
        listing = await client.ok(srv, "GET", CORE)
        rv = listing["metadata"]["resourceVersion"]
        async with client.session.get(
                f"{srv.url}{CORE}?watch=1&resourceVersion={rv}") as watch:
            await client.ok(srv, "POST", CORE, core_event("old-style"))
            await client.ok(srv, "POST", NEW, new_event("new-style"))
            await client.ok(srv, "POST", "/api/v1/namespaces/default/configmaps",
                            {"metadata": {"name": "stays"}})
            if etcd:
                for name in ("old-style", "new-style"):
                    raw = json.loads(subprocess.run(
                        ["etcdctl", "--endpoints", etcd.url, "get", "-w", "json",
                         f"/registry/events/default/{name}"],
                        capture_output=True, text=True, check=True, timeout=30).stdout)
                    assert raw["kvs"][0].get("lease"), raw

            seen: list[tuple[str, str]] = []
            async with asyncio.timeout(60):
                while sum(t == "DELETED" for t, _ in seen) < 2:
                    event = json.loads(await watch.content.readline())
                    seen.append((event["type"], event["object"]["metadata"]["name"]))
        assert sorted(seen) == [("ADDED", "new-style"), ("ADDED", "old-style"),
                                ("DELETED", "new-style"), ("DELETED", "old-style")]
        for path in (CORE, NEW):
            status, _ = await client.call(srv, "GET", f"{path}/old-style")
            assert status == 404
            assert (await client.ok(srv, "GET", path))["items"] == []
        await client.ok(srv, "GET", "/api/v1/namespaces/default/configmaps/stays")
    finally:
        await client.close()
