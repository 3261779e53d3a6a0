"""Informers against real servers: sync, add/update/delete, re-watch after server-side
watch timeouts without relisting, and relist after 410 Gone on a compacted store."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from pyk8s.client import (
    Client,
    DeletedFinalStateUnknown,
    Informer,
    SharedInformerFactory,
    load_kubeconfig,
)
from pyk8s.client.backoff import Backoff
from pyk8s.client.store import label_index

sys.path.insert(0, str(Path(__file__).parents[1]))
from test_watch_gone import InProcessServer


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.changed = asyncio.Event()

    def handlers(self) -> dict:
        return {"on_add": lambda o: self._log("add", o),
                "on_update": lambda old, new: self._log("update", new),
                "on_delete": lambda o: self._log(
                    "tombstone" if isinstance(o, DeletedFinalStateUnknown) else "delete",
                    o.obj if isinstance(o, DeletedFinalStateUnknown) else o)}

    def _log(self, kind: str, obj: dict) -> None:
        self.events.append((kind, obj["metadata"]["name"]))
        self.changed.set()

    async def wait_for(self, event: tuple, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while event not in self.events:
                self.changed.clear()
                await self.changed.wait()


def cm(name: str, **data) -> dict:
    return {"metadata": {"name": name, "labels": {"tier": name[0]}}, "data": data}


async def test_informer_sees_add_update_delete_and_survives_watch_timeouts(client, namespace):
    cms = client.api("v1", "ConfigMap")
    await cms.create(cm("before"), namespace=namespace)
    factory = SharedInformerFactory(client, watch_timeout=(1, 1))
    informer = factory.informer("v1", "ConfigMap", namespace=namespace,
                                indexers={"tier": label_index("tier")})
    assert factory.informer("v1", "ConfigMap", namespace=namespace) is informer
    rec = Recorder()
    informer.add_event_handler(**rec.handlers())
    async with factory:
        assert await factory.wait_for_sync(10)
        assert rec.events == [("add", "before")]
        await cms.create(cm("x1", v="1"), namespace=namespace)
        await rec.wait_for(("add", "x1"))
        await asyncio.sleep(2.5)  # at least two server-side watch timeouts
        await cms.patch("x1", {"data": {"v": "2"}}, namespace=namespace)
        await rec.wait_for(("update", "x1"))
        await cms.delete("before", namespace=namespace)
        await rec.wait_for(("delete", "before"))
        assert informer.store.get(f"{namespace}/x1")["data"] == {"v": "2"}
        assert [o["metadata"]["name"] for o in informer.store.by_index("tier", "x")] == ["x1"]
        assert informer.lists == 1 and informer.watches >= 3
    assert rec.events == [("add", "before"), ("add", "x1"), ("update", "x1"),
                          ("delete", "before")]


@pytest.fixture
def memory_server(tmp_path):
    server = InProcessServer(tmp_path / "data", "memory://").start()
    yield server
    server.stop()


def _expire_watch_window(server: InProcessServer, resource: str) -> None:
    """As if the watch cache's event window had overflowed: older watches are served from
    the store's history (which compaction then removes)."""
    async def expire() -> None:
        cache = server.server.ctx.watch_cache
        for prefix, prefix_cache in cache._caches.items():
            if f"/{resource}/" in prefix:
                prefix_cache.window_start = cache.revision

    server.run(expire())


async def test_informer_relists_after_410(memory_server):
    config = load_kubeconfig(memory_server.opts.data_dir / "admin.conf")
    async with Client(config) as client:
        cms = client.api("v1", "ConfigMap")
        await cms.create(cm("g1"), namespace="default")
        informer = Informer(client.api("v1", "ConfigMap"), namespace="default",
                            watch_timeout=(1, 1), backoff=Backoff(initial=0.05, cap=0.5))
        rec = Recorder()
        informer.add_event_handler(**rec.handlers())
        task = asyncio.create_task(informer.run())
        try:
            assert await informer.wait_for_sync(10)
            old_rv = informer.resource_version
            # history moves on elsewhere, then is compacted past the informer's revision
            for i in range(3):
                await cms.create(cm(f"o{i}"), namespace="kube-public")
            _expire_watch_window(memory_server, "configmaps")
            point = memory_server.compact_below_head()
            assert point > int(old_rv)
            async with asyncio.timeout(10):
                while informer.lists < 2:
                    await asyncio.sleep(0.05)
            await cms.create(cm("g2"), namespace="default")
            await rec.wait_for(("add", "g2"))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert informer.lists == 2
        assert int(informer.resource_version) > point
        assert rec.events[0] == ("add", "g1") and ("add", "g2") in rec.events
        assert sorted(informer.store.list_keys()) == ["default/g1", "default/g2"]


async def test_raw_watch_from_compacted_revision_raises_gone(memory_server):
    from pyk8s.client import Gone

    config = load_kubeconfig(memory_server.opts.data_dir / "admin.conf")
    async with Client(config) as client:
        cms = client.api("v1", "ConfigMap")
        first = await cms.create(cm("c1"), namespace="default")
        await cms.create(cm("c2"), namespace="default")
        await cms.create(cm("c3"), namespace="default")
        _expire_watch_window(memory_server, "configmaps")
        memory_server.compact_below_head()
        with pytest.raises(Gone):
            async for _ in cms.watch(namespace="default", timeout_seconds=3,
                                     resource_version=first["metadata"]["resourceVersion"]):
                pass
