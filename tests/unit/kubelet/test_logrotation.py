"""Container log rotation: past the size limit the log is renamed and reopened; older
rotated files are gzipped and the oldest deleted beyond the file limit."""

from __future__ import annotations

import gzip
import os

from pyk8s.kubelet.containers import (
    CONTAINER_NAME,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    RESTART_COUNT,
)
from pyk8s.kubelet.logrotation import ContainerLogManager, log_file_of
from pyk8s.kubelet.runtime import ContainerConfig, PodSandboxConfig, RuntimeError_
from pyk8s.kubelet.runtime.fake import FakeRuntime


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def _running(runtime: FakeRuntime, log_root: str) -> str:
    log_dir = os.path.join(log_root, "ns_web_u1")
    sandbox = PodSandboxConfig(name="web", uid="u1", namespace="ns", log_directory=log_dir)
    sid = await runtime.run_pod_sandbox(sandbox)
    os.makedirs(os.path.join(log_dir, "app"), exist_ok=True)
    cid = await runtime.create_container(sid, ContainerConfig(
        name="app", image="busybox", log_path="app/0.log",
        labels={POD_UID: "u1", POD_NAME: "web", POD_NAMESPACE: "ns", CONTAINER_NAME: "app"},
        annotations={RESTART_COUNT: "0"}), sandbox)
    await runtime.start_container(cid)
    return os.path.join(log_dir, "app", "0.log")


async def test_rotation_keeps_max_files(tmp_path):
    runtime, clock = FakeRuntime(), Clock()
    path = await _running(runtime, str(tmp_path))
    status = (await runtime.list_containers(brief=True))[0]
    assert log_file_of(str(tmp_path), status) == path
    manager = ContainerLogManager(runtime, str(tmp_path), max_size=100, max_files=3,
                                  clock=clock)
    with open(path, "w") as f:
        f.write("small\n")
    assert await manager.rotate_all() == 0
    for round_ in range(4):
        with open(path, "a") as f:
            f.write(f"round {round_}\n" * 20)
        assert await manager.rotate_all() == 1
        clock.now += 60
        assert os.path.getsize(path) == 0  # reopened: new output starts a new file
    names = sorted(os.listdir(os.path.dirname(path)))
    # 3 files: the current one, the newest rotated plain, the one before it gzipped
    assert names == ["0.log", "0.log.20270115-080200.gz", "0.log.20270115-080300"], names
    with gzip.open(os.path.join(os.path.dirname(path), names[1]), "rt") as f:
        assert f.read().startswith("round 2\n")


async def test_failed_reopen_puts_the_log_back(tmp_path):
    runtime = FakeRuntime()
    path = await _running(runtime, str(tmp_path))
    with open(path, "w") as f:
        f.write("x" * 200)

    async def refuse(container_id: str) -> None:
        raise RuntimeError_("no", "Unknown")

    runtime.reopen_container_log = refuse
    manager = ContainerLogManager(runtime, str(tmp_path), max_size=100)
    await manager.rotate_all()
    assert os.listdir(os.path.dirname(path)) == ["0.log"] and os.path.getsize(path) == 200
