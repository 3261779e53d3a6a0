"""FakeRuntime keeps containerd's CRI state machine, so kubelet unit tests can trust it."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.runtime import (
    ContainerConfig,
    ExecResult,
    PodSandboxConfig,
    Runtime,
    RuntimeError_,
)
from pyk8s.kubelet.runtime.fake import FakeRuntime, cri_log_line, image_id


def pod(name: str = "web", log_directory: str = "") -> PodSandboxConfig:
    return PodSandboxConfig(name=name, namespace="default", uid=f"uid-{name}",
                            log_directory=log_directory, labels={"app": name})


def ctr(name: str = "c", image: str = "busybox", attempt: int = 0) -> ContainerConfig:
    return ContainerConfig(name=name, image=image, attempt=attempt,
                           log_path=f"{name}/{attempt}.log")


async def started(rt: FakeRuntime, name: str = "c", **kw) -> tuple[str, str]:
    sandbox = pod()
    sid = await rt.run_pod_sandbox(sandbox)
    cid = await rt.create_container(sid, ctr(name, **kw), sandbox)
    await rt.start_container(cid)
    return sid, cid


def test_fake_satisfies_protocol():
    rt: Runtime = FakeRuntime()
    assert rt is not None


async def test_sandbox_lifecycle():
    rt = FakeRuntime()
    sid = await rt.run_pod_sandbox(pod())
    status = await rt.pod_sandbox_status(sid)
    assert status.state == "SANDBOX_READY"
    assert status.ip.startswith("10.88.0.")
    assert status.labels == {"app": "web"}
    with pytest.raises(RuntimeError_) as err:
        await rt.remove_pod_sandbox(sid)  # still ready
    assert err.value.code == "Unknown"
    await rt.stop_pod_sandbox(sid)
    assert (await rt.pod_sandbox_status(sid)).state == "SANDBOX_NOTREADY"
    await rt.remove_pod_sandbox(sid)
    assert await rt.list_pod_sandboxes() == []
    await rt.stop_pod_sandbox(sid)  # idempotent
    await rt.remove_pod_sandbox(sid)
    with pytest.raises(RuntimeError_) as err:
        await rt.pod_sandbox_status(sid)
    assert err.value.code == "NotFound"


async def test_host_network_sandbox_has_no_pod_ip():
    rt = FakeRuntime()
    cfg = pod()
    cfg.host_network = True
    sid = await rt.run_pod_sandbox(cfg)
    assert (await rt.pod_sandbox_status(sid)).ip == ""


async def test_container_runs_until_stopped():
    rt = FakeRuntime(stop_exit_code=137)
    sid, cid = await started(rt)
    status = await rt.container_status(cid)
    assert status.state == "CONTAINER_RUNNING"
    assert status.image == "docker.io/library/busybox:latest"
    assert status.image_ref == image_id("busybox")
    assert status.sandbox_id == sid
    assert status.started_at >= status.created_at > 0
    assert [s.id for s in rt.running()] == [cid]
    with pytest.raises(RuntimeError_):
        await rt.remove_container(cid)
    await rt.stop_container(cid, 30)
    status = await rt.container_status(cid)
    assert (status.state, status.exit_code, status.reason) == ("CONTAINER_EXITED", 137, "Error")
    await rt.remove_container(cid)
    assert await rt.list_containers() == []


@pytest.mark.parametrize("code,reason", [(0, "Completed"), (3, "Error")])
async def test_scripted_exit_codes(code, reason):
    rt = FakeRuntime(exit_codes={"job": code})
    _, cid = await started(rt, "job")
    status = await rt.container_status(cid)
    assert (status.state, status.exit_code, status.reason) == ("CONTAINER_EXITED", code, reason)
    assert status.finished_at >= status.started_at


async def test_crash_and_restart_with_next_attempt():
    rt = FakeRuntime()
    sandbox = pod()
    sid = await rt.run_pod_sandbox(sandbox)
    first = await rt.create_container(sid, ctr("c", attempt=0), sandbox)
    await rt.start_container(first)
    rt.exit(first, 137, "OOMKilled")
    status = await rt.container_status(first)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")
    with pytest.raises(RuntimeError_, match="reserved"):
        await rt.create_container(sid, ctr("c", attempt=0), sandbox)
    second = await rt.create_container(sid, ctr("c", attempt=1), sandbox)
    await rt.start_container(second)
    assert {s.attempt for s in await rt.list_containers(sid)} == {0, 1}
    assert await rt.list_containers("other") == []


async def test_start_error_leaves_container_exited_128():
    rt = FakeRuntime(start_errors={"bad": 'exec: "nope": executable file not found in $PATH'})
    sandbox = pod()
    sid = await rt.run_pod_sandbox(sandbox)
    cid = await rt.create_container(sid, ctr("bad"), sandbox)
    with pytest.raises(RuntimeError_, match="executable file not found"):
        await rt.start_container(cid)
    status = await rt.container_status(cid)
    assert (status.state, status.exit_code, status.reason) == ("CONTAINER_EXITED", 128,
                                                               "StartError")


async def test_create_needs_local_image_and_ready_sandbox():
    rt = FakeRuntime()
    sandbox = pod()
    sid = await rt.run_pod_sandbox(sandbox)
    with pytest.raises(RuntimeError_) as err:
        await rt.create_container(sid, ctr(image="nginx"), sandbox)
    assert err.value.code == "NotFound"
    await rt.stop_pod_sandbox(sid)
    with pytest.raises(RuntimeError_, match="not running"):
        await rt.create_container(sid, ctr(), sandbox)


async def test_stop_sandbox_stops_its_containers_and_remove_removes_them():
    rt = FakeRuntime()
    sid, cid = await started(rt)
    await rt.stop_pod_sandbox(sid)
    assert (await rt.container_status(cid)).state == "CONTAINER_EXITED"
    await rt.remove_pod_sandbox(sid)
    assert cid not in rt.containers


async def test_images_and_pull():
    rt = FakeRuntime(registry=["nginx:1.27"])
    assert await rt.image_status("busybox") == image_id("docker.io/library/busybox:latest")
    assert await rt.image_status("busybox:1.36") is not None
    assert await rt.image_status("nginx:1.27") is None
    with pytest.raises(RuntimeError_, match="code = NotFound.*library/redis:latest: not found"):
        await rt.pull_image("redis")
    assert await rt.pull_image("nginx:1.27") == image_id("docker.io/library/nginx:1.27")
    assert await rt.image_status("docker.io/library/nginx:1.27") is not None


async def test_sandbox_needs_pause_image():
    rt = FakeRuntime(images=["busybox"])
    with pytest.raises(RuntimeError_, match="sandbox image"):
        await rt.run_pod_sandbox(pod())


async def test_exec_sync():
    rt = FakeRuntime()
    _, cid = await started(rt)
    assert await rt.exec_sync(cid, ["echo", "hi"], 5) == ExecResult(0, b"hi\n", b"")
    assert (await rt.exec_sync(cid, ["false"], 5)).exit_code == 1
    rt.exec_handler = lambda status, cmd: ExecResult(7, status.name.encode(), b"")
    assert await rt.exec_sync(cid, ["x"], 5) == ExecResult(7, b"c", b"")
    await rt.stop_container(cid, 0)
    with pytest.raises(RuntimeError_):
        await rt.exec_sync(cid, ["true"], 5)


async def test_injected_errors_and_recorded_calls():
    rt = FakeRuntime()
    rt.fail_next("run_pod_sandbox", RuntimeError_("cni failed", "Unknown"))
    with pytest.raises(RuntimeError_, match="cni failed"):
        await rt.run_pod_sandbox(pod())
    sid = await rt.run_pod_sandbox(pod())
    assert rt.calls == [("run_pod_sandbox", "default", "web"),
                        ("run_pod_sandbox", "default", "web")]
    assert sid in rt.sandboxes


async def test_log_lines_written_in_cri_format(tmp_path):
    rt = FakeRuntime(log_lines={"c": ["hello", "world"]}, clock=lambda: 1_700_000_000_123_456_789)
    sandbox = pod(log_directory=str(tmp_path))
    sid = await rt.run_pod_sandbox(sandbox)
    cid = await rt.create_container(sid, ctr("c"), sandbox)
    await rt.start_container(cid)
    path = (await rt.container_status(cid)).log_path
    assert path == str(tmp_path / "c" / "0.log")
    assert open(path).read().splitlines() == [
        "2023-11-14T22:13:20.123456789Z stdout F hello",
        "2023-11-14T22:13:20.123456789Z stdout F world",
    ]


def test_cri_log_line():
    assert cri_log_line("stderr", "x", 5) == "1970-01-01T00:00:00.000000005Z stderr F x\n"
