"""Two API servers on one etcd compact it together, once per interval.

Both run with ``--etcd-compaction-interval 1s``. Through kube-apiserver's
``compact_rev_key`` protocol only the server whose transaction wins an interval compacts,
so the compactions logged by both servers are one per write of the key after its first,
never the same revision twice, and a watch from a compacted resourceVersion is 410 Gone.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess

import pytest
from etcdproc import EtcdProcess
from multiapi import Client
from serverproc import ServerProcess, free_port

pytestmark = [
    pytest.mark.e2e,
]

COMPACTED = re.compile(r"compacted store up to revision (\d+)")


def compact_key(etcd: EtcdProcess) -> dict | None:
    out = subprocess.run(["etcdctl", "--endpoints", etcd.url, "get", "compact_rev_key",
                          "-w", "json"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    kvs = json.loads(out).get("kvs")
    return kvs[0] if kvs else None


async def test_servers_take_turns_compacting(tmp_path):
    etcd = EtcdProcess(tmp_path / "etcd").start()
    a = ServerProcess(tmp_path / "a", free_port())
    b = ServerProcess(tmp_path / "b", free_port())
    flags = ("--etcd-servers", etcd.url, "--etcd-compaction-interval", "1s")
    a.start(*flags)
    shutil.copytree(a.data_dir / "pki", b.data_dir / "pki")  # one CA for both
    b.start(*flags)
    client = Client(a.data_dir / "pki")
    try:
        path = "/api/v1/namespaces/default/configmaps"
        first = await client.ok(a, "POST", path, {"metadata": {"name": "early"}})
        i = 0
        async with asyncio.timeout(120):
            while (compact_key(etcd) or {}).get("version", 0) < 5:
                await client.ok(b, "POST", path, {"metadata": {"name": f"c{i}"}})
                i += 1
                await asyncio.sleep(0.1)
        a.stop()
        b.stop()
        key = compact_key(etcd)
        revisions = [int(r) for log in (a.log(), b.log()) for r in COMPACTED.findall(log)]
        # every write of the key after the first (which only records) is one compaction
        assert len(revisions) == int(key["version"]) - 1
        assert len(set(revisions)) == len(revisions)
        assert max(revisions) > int(first["metadata"]["resourceVersion"])

        b.start(*flags)
        rv = first["metadata"]["resourceVersion"]
        status, body = await client.call(b, "GET", f"{path}?watch=1&resourceVersion={rv}")
        if status == 200:  # watch errors arrive as an ERROR event in the stream
            body = body["object"]
        assert body["code"] == 410 and body["reason"] in ("Expired", "Gone")
    finally:
        await client.close()
        b.stop()
        a.stop()
        etcd.stop()
