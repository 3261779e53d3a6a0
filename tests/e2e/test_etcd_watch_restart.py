"""An API server crashes and comes back while a watcher is connected to it.

Two ``pyk8s apiserver`` processes share one etcd. A watcher (the official ``kubernetes``
Python client, reconnecting from the last resourceVersion it saw, as informers do)
follows ConfigMaps on server A, while a writer keeps creating, updating and deleting
ConfigMaps through server B. Midway A is SIGKILLed; the writer goes on (the restart waits
for ten more writes), then A restarts on the same port. Afterwards the watcher has seen
exactly the writes, in order: nothing lost, nothing twice, no 410 (no relist).
The phases are counted in writes, not seconds.
"""

from __future__ import annotations

import asyncio
import signal
import threading

import pytest
from etcdproc import EtcdProcess
from kubernetes import client as k8s
from kubernetes import config, watch
from multiapi import Client, start_server

pytestmark = [
    pytest.mark.e2e,
]

PATH = "/api/v1/namespaces/default/configmaps"
LABEL = "test=watch-restart"


class Watcher(threading.Thread):
    """Watches from ``rv`` and, whenever the stream breaks, again from the last
    resourceVersion seen; a 410 (history lost) is recorded and ends it."""

    def __init__(self, kubeconfig: str, rv: str) -> None:
        super().__init__(daemon=True)
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.rv = rv
        self.seen: list[tuple[str, str, str]] = []  # (type, name, resourceVersion)
        self.reconnects = 0
        self.gone: Exception | None = None
        self.done = threading.Event()

    def run(self) -> None:
        core = k8s.CoreV1Api(self.api)
        while not self.done.is_set():
            try:
                for event in watch.Watch().stream(
                        core.list_namespaced_config_map, "default", label_selector=LABEL,
                        resource_version=self.rv, allow_watch_bookmarks=True,
                        timeout_seconds=5, _request_timeout=30):
                    meta = event["object"].metadata
                    self.rv = meta.resource_version
                    if event["type"] != "BOOKMARK":
                        self.seen.append((event["type"], meta.name, meta.resource_version))
            except k8s.ApiException as exc:
                if exc.status == 410:
                    self.gone = exc
                    return
                self.reconnects += 1
                self.done.wait(0.2)
            except Exception:  # the server went away mid-stream or refuses connections
                self.reconnects += 1
                self.done.wait(0.2)


async def test_watch_resumes_across_apiserver_restart(tmp_path):
    etcd = EtcdProcess(tmp_path / "etcd").start()
    a = start_server(tmp_path, "a", etcd.url, "192.0.2.10")
    b = start_server(tmp_path, "b", etcd.url, "192.0.2.11", pki_from=a.data_dir / "pki")
    http = Client(a.data_dir / "pki")
    written: list[tuple[str, str, str | None]] = []  # (type, name, rv; None for deletes)
    stop_writing = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop_writing.is_set():
            name = f"w{i}"
            created = await http.ok(b, "POST", PATH, {
                "metadata": {"name": name, "labels": {"test": "watch-restart"}}})
            written.append(("ADDED", name, created["metadata"]["resourceVersion"]))
            if i % 2 == 0:
                patched = await http.ok(b, "PUT", f"{PATH}/{name}",
                                        {**created, "data": {"i": str(i)}})
                written.append(("MODIFIED", name, patched["metadata"]["resourceVersion"]))
            if i % 3 == 0:
                await http.ok(b, "DELETE", f"{PATH}/{name}")
                written.append(("DELETED", name, None))
            i += 1

    task: asyncio.Task | None = None

    async def until(condition) -> None:
        async with asyncio.timeout(120):
            while not condition():
                if task is not None and task.done():
                    task.result()  # the writer failed: raise its error here
                await asyncio.sleep(0.05)

    watcher = None
    try:
        listing = await http.ok(a, "GET", f"{PATH}?labelSelector={LABEL}")
        watcher = Watcher(str(a.kubeconfig), listing["metadata"]["resourceVersion"])
        watcher.start()
        task = asyncio.create_task(writer())
        await until(lambda: len(watcher.seen) >= 10)

        a.stop(signal.SIGKILL)
        mark = len(written)
        await until(lambda: len(written) >= mark + 10)  # writes go on while A is down
        await asyncio.to_thread(a.start, "--etcd-servers", etcd.url,
                                "--advertise-address", "192.0.2.10")
        mark = len(written)
        await until(lambda: len(written) >= mark + 20)
        stop_writing.set()
        await task
        task = None
        await until(lambda: len(watcher.seen) >= len(written) or watcher.gone is not None)

        assert watcher.gone is None
        assert watcher.reconnects >= 1
        assert [(t, n) for t, n, _ in watcher.seen] == [(t, n) for t, n, _ in written]
        assert [rv for t, _, rv in watcher.seen if t != "DELETED"] == [
            rv for t, _, rv in written if t != "DELETED"]
        revisions = [int(rv) for _, _, rv in watcher.seen]
        assert revisions == sorted(set(revisions))
    finally:
        stop_writing.set()
        if watcher:
            watcher.done.set()
        await http.close()
        b.stop()
        a.stop()
        etcd.stop()
