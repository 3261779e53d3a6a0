"""410 Gone after compaction: watches from a compacted resourceVersion and expired continue
tokens, against an API server run in-process so the test can compact its store.

There is no API for compaction (kube-apiserver compacts every 5 minutes); the server runs
in a thread of this process and the test calls ``ctx.store.compact`` on its loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from pyk8s.apiserver.server import APIServer, APIServerOptions

sys.path.insert(0, str(Path(__file__).parents[1]))
from serverproc import free_port  # noqa: E402

INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")


class InProcessServer:
    """An APIServer running on its own event loop in a background thread."""

    def __init__(self, data_dir: Path, datastore: str | None = None, port: int | None = None):
        self.opts = APIServerOptions(data_dir=data_dir, secure_port=port or free_port(),
                                     datastore_endpoint=datastore)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = APIServer(self.opts)

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "InProcessServer":
        self.thread.start()
        self.run(self.server.start())
        return self

    def stop(self) -> None:
        try:
            self.run(self.server.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    @property
    def store(self):
        return self.server.ctx.store

    def compact_below_head(self) -> int:
        """Compact every revision but the latest (this store's compaction point itself
        is unreadable, so compacting at the head would leave no readable snapshot)."""
        point = self.run(self.store.current_revision()) - 1
        self.run(self.store.compact(point))
        return point

    def core(self) -> client.CoreV1Api:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.opts.data_dir / "admin.conf"),
                                client_configuration=cfg)
        return client.CoreV1Api(client.ApiClient(cfg))


def cm(name: str, **data) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data or None)


@pytest.fixture
def memory_server(tmp_path):
    server = InProcessServer(tmp_path / "data", "memory://").start()
    yield server
    server.stop()


def test_expired_continue_token_is_410(memory_server):
    core = memory_server.core()
    for i in range(6):
        core.create_namespaced_config_map("default", cm(f"c{i}"))
    first = core.list_namespaced_config_map("default", limit=2)
    assert [o.metadata.name for o in first.items] == ["c0", "c1"]
    token = first.metadata._continue
    assert token

    # a consistent continuation works until the snapshot revision is compacted away
    second = core.list_namespaced_config_map("default", limit=2, _continue=token)
    assert [o.metadata.name for o in second.items] == ["c2", "c3"]
    token = second.metadata._continue

    core.create_namespaced_config_map("default", cm("c6"))
    core.delete_namespaced_config_map("c3", "default")
    memory_server.compact_below_head()

    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("default", limit=2, _continue=token)
    assert err.value.status == 410
    status = json.loads(err.value.body)
    assert status["kind"] == "Status" and status["reason"] == "Expired" and status["code"] == 410
    assert status["message"] == INCONSISTENT_CONTINUE

    # upstream hands back a token continuing at the latest revision (an inconsistent list)
    fresh = (status.get("metadata") or {}).get("continue")
    assert fresh, f"the 410 Status carries no metadata.continue: {status}"
    rest, token = [], fresh
    while token:
        page = core.list_namespaced_config_map("default", limit=2, _continue=token)
        rest += [o.metadata.name for o in page.items]
        token = page.metadata._continue
    assert rest == ["c4", "c5", "c6"]


def test_watch_from_fresh_resource_version_1_works(memory_server):
    core = memory_server.core()
    core.create_namespaced_config_map("default", cm("w1", v="1"))
    w = watch.Watch()
    events = []
    for ev in w.stream(core.list_namespaced_config_map, "default", resource_version="1",
                       timeout_seconds=5):
        events.append((ev["type"], ev["object"].metadata.name))
        if ev["object"].metadata.name == "w1":
            w.stop()
    assert events[-1] == ("ADDED", "w1")


def _raw_watch_lines(core, ns: str, rv: str) -> tuple[int, list[dict]]:
    resp = core.list_namespaced_config_map(ns, watch=True, resource_version=rv,
                                           timeout_seconds=3, _preload_content=False)
    try:
        status = resp.status
        body = resp.data.decode()
    finally:
        resp.release_conn()
    return status, [json.loads(line) for line in body.splitlines() if line.strip()]


def test_watch_from_compacted_resource_version_is_410(tmp_path):
    data = tmp_path / "data"
    server = InProcessServer(data).start()  # sqlite in the data dir
    try:
        core = server.core()
        created = core.create_namespaced_config_map("default", cm("g1", v="1"))
        old_rv = created.metadata.resource_version
        core.patch_namespaced_config_map("g1", "default", {"data": {"v": "2"}})
        core.create_namespaced_config_map("default", cm("g2"))
        point = server.compact_below_head()
        assert point > int(old_rv)
        port = server.opts.secure_port
    finally:
        server.stop()

    # after a restart the watch cache starts at the head: older revisions come from the
    # store's history, which compaction has removed
    server = InProcessServer(data, port=port).start()
    try:
        core = server.core()
        status, events = _raw_watch_lines(core, "default", old_rv)
        assert status == 200
        assert len(events) == 1, events
        assert events[0]["type"] == "ERROR"
        obj = events[0]["object"]
        assert obj["kind"] == "Status" and obj["status"] == "Failure"
        assert obj["code"] == 410 and obj["reason"] == "Expired"
        assert re.fullmatch(rf"too old resource version: {old_rv} \(\d+\)", obj["message"]), obj

        with pytest.raises(ApiException) as err:
            for _ in watch.Watch().stream(core.list_namespaced_config_map, "default",
                                          resource_version=old_rv, timeout_seconds=3):
                pass
        assert err.value.status == 410

        # the client's recovery: relist, then watch from the list's revision
        listing = core.list_namespaced_config_map("default")
        assert sorted(o.metadata.name for o in listing.items) == ["g1", "g2"]
        w = watch.Watch()
        core.create_namespaced_config_map("default", cm("g3"))
        seen = []
        for ev in w.stream(core.list_namespaced_config_map, "default",
                           resource_version=listing.metadata.resource_version, timeout_seconds=5):
            seen.append((ev["type"], ev["object"].metadata.name))
            w.stop()
        assert seen == [("ADDED", "g3")]

        # a list at an exact compacted revision is 410 as well
        with pytest.raises(ApiException) as err:
            core.list_namespaced_config_map("default", resource_version=old_rv,
                                            resource_version_match="Exact")
        assert err.value.status == 410
        assert json.loads(err.value.body)["reason"] == "Expired"
    finally:
        server.stop()
