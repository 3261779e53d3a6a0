"""A 3-member etcd cluster and two API servers survive losing a member and a server.

A steady stream of ConfigMap creates goes round-robin to both servers; a create that
fails (etcd member gone, leader election, server killed) is retried, on the other server
once one is dead. Midway one etcd member is SIGKILLed and later restarted, then one API
server is SIGKILLed. Afterwards every acknowledged create is present exactly once.
The phases are counted in writes, not seconds.
"""

from __future__ import annotations

import signal

import aiohttp
import pytest
from etcdproc import EtcdCluster
from multiapi import Client, start_server

pytestmark = [
    pytest.mark.e2e,
]

PATH = "/api/v1/namespaces/default/configmaps"
PER_PHASE = 15


async def test_writes_survive_etcd_member_and_apiserver_loss(tmp_path):
    etcd = EtcdCluster(tmp_path / "etcd").start()
    a = start_server(tmp_path, "a", etcd.url, "192.0.2.10")
    b = start_server(tmp_path, "b", etcd.url, "192.0.2.11", pki_from=a.data_dir / "pki")
    client = Client(a.data_dir / "pki")
    live = [a, b]
    acknowledged: list[str] = []

    async def write(i: int) -> None:
        name = f"steady-{i}"
        for attempt in range(200):
            server = live[(i + attempt) % len(live)]
            try:
                status, obj = await client.call(server, "POST", PATH, {
                    "metadata": {"name": name}, "data": {"i": str(i)}})
            except (aiohttp.ClientError, OSError):
                continue  # server gone: the next attempt goes to the other one
            if status == 201 or (status == 409 and attempt > 0):  # 409: an earlier try landed
                acknowledged.append(name)
                return
            assert status >= 500, (status, obj)
        pytest.fail(f"{name} was never acknowledged")

    async def phase(n: int) -> None:
        for _ in range(PER_PHASE):
            await write(n)
            n += 1

    try:
        await phase(0)
        etcd.members[0].kill()  # the member both servers talk to first
        await phase(100)
        etcd.members[0].start()
        await phase(200)
        a.stop(signal.SIGKILL)
        live.remove(a)
        await phase(300)
        listing = await client.ok(b, "GET", PATH)
        names = [cm["metadata"]["name"] for cm in listing["items"]]
        assert len(names) == len(set(names))
        assert set(acknowledged) <= set(names)
        assert len(acknowledged) == 4 * PER_PHASE
    finally:
        await client.close()
        b.stop()
        a.stop()
        etcd.stop()
