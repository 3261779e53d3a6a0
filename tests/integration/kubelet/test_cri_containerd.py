"""CRIRuntime against a real containerd started by the kubelet's supervisor.

Offline images (pause, busybox) are built and imported, a sandbox gets its IP from the CNI
bridge, a busybox container logs in CRI format, answers exec, stops and is removed; a
container that exits 3 reports 3; containerd killed under the kubelet comes back.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import signal
import time
from pathlib import Path

import pytest

from pyk8s.kubelet.runtime import ContainerConfig, Mount, PodSandboxConfig, RuntimeError_
from pyk8s.kubelet.runtime.images import ensure_offline_images

CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) (stdout|stderr) "
                      r"(F|P) (.*)$")


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


def sandbox_config(name: str, log_dir: Path) -> PodSandboxConfig:
    return PodSandboxConfig(
        name=name, namespace="cri-test", uid=f"uid-{name}", hostname=name,
        log_directory=str(log_dir), labels={"io.kubernetes.pod.name": name},
        annotations={"note": "pyk8s"}, dns_servers=["10.96.0.10"],
        dns_searches=["cri-test.svc.cluster.local"], dns_options=["ndots:5"])


async def http_get(host: str, port: int, path: str) -> str | None:
    """The body at http://host:port/path from the host, None while nothing answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return None
    writer.write(f"GET {path} HTTP/1.0\r\nHost: pod\r\n\r\n".encode())
    response = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return response.decode().split("\r\n\r\n", 1)[-1]


async def exited(runtime, container_id: str):
    status = await runtime.container_status(container_id)
    return status if status.state == "CONTAINER_EXITED" else None


async def test_images_are_local_and_imports_idempotent(containerd_node, image_cache):
    rt = containerd_node.runtime
    assert set(containerd_node.imported) >= {"registry.k8s.io/pause:3.10",
                                             "docker.io/library/busybox:latest",
                                             "docker.io/library/busybox:1.36"}
    assert await ensure_offline_images(containerd_node.supervisor.endpoint, image_cache) == []
    for image in ("busybox", "busybox:1.36", "registry.k8s.io/pause:3.10"):
        assert (await rt.image_status(image)).startswith("sha256:")
    assert await rt.image_status("nginx:1.27") is None
    assert await rt.pull_image("busybox") == await rt.image_status("busybox")
    started = time.monotonic()
    with pytest.raises(RuntimeError_, match="no registry is reachable") as err:
        await rt.pull_image("nginx:1.27")
    assert err.value.code == "NotFound"
    assert time.monotonic() - started < 2
    name, version = await rt.version()
    assert name == "containerd" and version


async def test_pod_lifecycle(containerd_node, tmp_path):
    rt = containerd_node.runtime
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("from the host\n")
    pod = sandbox_config("web", tmp_path / "logs")
    sid = await rt.run_pod_sandbox(pod)

    sandbox = await rt.pod_sandbox_status(sid)
    assert sandbox.state == "SANDBOX_READY"
    assert ipaddress.ip_address(sandbox.ip) in ipaddress.ip_network(containerd_node.pod_cidr)
    assert sandbox.labels["io.kubernetes.pod.name"] == "web"
    assert sandbox.annotations["note"] == "pyk8s"

    config = ContainerConfig(
        name="main", image="busybox", command=["sh", "-c"], args=["echo hello; sleep 30"],
        envs={"GREETING": "hi there"}, log_path="main/0.log",
        mounts=[Mount(container_path="/data", host_path=str(data), readonly=True)],
        labels={"io.kubernetes.container.name": "main"}, cpu_shares=256,
        memory_limit_bytes=64 * 1024 * 1024, drop_capabilities=["NET_RAW"])
    cid = await rt.create_container(sid, config, pod)
    assert (await rt.container_status(cid)).state == "CONTAINER_CREATED"
    await rt.start_container(cid)

    status = await rt.container_status(cid)
    assert status.state == "CONTAINER_RUNNING"
    assert (status.name, status.sandbox_id, status.attempt) == ("main", sid, 0)
    # containerd names the image by its first repo tag; both tags share one image
    assert status.image in ("docker.io/library/busybox:latest", "docker.io/library/busybox:1.36")
    assert status.image_ref
    assert status.log_path == str(tmp_path / "logs" / "main" / "0.log")

    async def logged():
        path = Path(status.log_path)
        return path.exists() and path.read_text()
    first = (await eventually(logged)).splitlines()[0]
    match = CRI_LINE.match(first)
    assert match and match.group(2, 3, 4) == ("stdout", "F", "hello"), first

    result = await rt.exec_sync(cid, ["echo", "hi"], 10)
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"hi\n", b"")
    result = await rt.exec_sync(cid, ["sh", "-c", 'echo "$GREETING"; cat /data/f; '
                                      "cat /etc/resolv.conf; hostname; exit 4"], 10)
    out = result.stdout.decode()
    assert result.exit_code == 4
    assert "hi there\nfrom the host\n" in out
    assert "nameserver 10.96.0.10" in out and "ndots:5" in out and out.endswith("web\n")
    assert (await rt.exec_sync(cid, ["touch", "/data/x"], 10)).exit_code != 0  # readonly mount
    addrs = (await rt.exec_sync(cid, ["ip", "-o", "addr"], 10)).stdout.decode()
    assert f"inet {sandbox.ip}/24" in addrs and "inet 127.0.0.1/8" in addrs
    ping = await rt.exec_sync(cid, ["ping", "-c", "1", "-W", "1", "127.0.0.1"], 10)
    assert b"permission denied" in ping.stderr  # NET_RAW was dropped
    serve = await rt.exec_sync(cid, ["sh", "-c", "echo pong > /tmp/p; httpd -p 8080 -h /tmp"], 10)
    assert serve.exit_code == 0, serve
    assert await eventually(lambda: http_get(sandbox.ip, 8080, "/p")) == "pong\n"

    assert [c.id for c in await rt.list_containers(sid)] == [cid]
    assert sid in [s.id for s in await rt.list_pod_sandboxes()]

    await rt.stop_container(cid, 0)
    status = await rt.container_status(cid)
    assert (status.state, status.exit_code) == ("CONTAINER_EXITED", 137)
    await rt.remove_container(cid)
    assert await rt.list_containers(sid) == []
    await rt.stop_pod_sandbox(sid)
    assert (await rt.pod_sandbox_status(sid)).state == "SANDBOX_NOTREADY"
    await rt.remove_pod_sandbox(sid)
    assert sid not in [s.id for s in await rt.list_pod_sandboxes()]
    with pytest.raises(RuntimeError_) as err:
        await rt.container_status(cid)
    assert err.value.code == "NotFound"


async def test_exit_code_and_restart_of_containerd(containerd_node, tmp_path):
    rt = containerd_node.runtime
    pod = sandbox_config("job", tmp_path)
    sid = await rt.run_pod_sandbox(pod)
    config = ContainerConfig(name="job", image="busybox:1.36", command=["sh", "-c", "exit 3"],
                             log_path="job.log", run_as_user=1000, run_as_group=1000)
    cid = await rt.create_container(sid, config, pod)
    await rt.start_container(cid)
    status = await eventually(lambda: exited(rt, cid))
    assert (status.exit_code, status.reason) == (3, "Error")
    # containerd may stamp a quick exit a little before the start it races with
    assert status.finished_at > 0 and status.started_at > 0

    with pytest.raises(RuntimeError_, match="reserved"):
        await rt.create_container(sid, config, pod)

    # a second container keeps running while containerd is killed and restarted
    config = ContainerConfig(name="sleeper", image="busybox", command=["sleep", "30"],
                             log_path="sleeper.log")
    sleeper = await rt.create_container(sid, config, pod)
    await rt.start_container(sleeper)
    os.kill(containerd_node.supervisor.pid, signal.SIGKILL)

    async def restarted():
        return containerd_node.supervisor.restarts == 1
    await eventually(restarted)
    await containerd_node.supervisor.wait_ready()
    assert (await rt.container_status(sleeper)).state == "CONTAINER_RUNNING"
    assert (await rt.container_status(cid)).exit_code == 3
