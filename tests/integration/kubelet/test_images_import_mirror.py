"""Images without a public registry, against a real containerd: ``pyk8s images import``,
the kubelet's air-gap directory, and pulls through a ``--registry-mirror`` (Debian's
docker-registry on loopback, filled with skopeo)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from serverproc import free_port

from pyk8s.kubelet.ownruntime import own_containerd
from pyk8s.kubelet.runtime import RuntimeError_
from pyk8s.kubelet.runtime.containerd import ContainerdOptions, ContainerdSupervisor
from pyk8s.kubelet.runtime.cri import CRIRuntime
from pyk8s.kubelet.runtime.images import ImageSpec, build_tarball, run


async def _fill_tiny(rootfs: Path, _work: Path) -> list[str]:
    (rootfs / "hello.txt").write_text("hello from a tiny image\n")
    return ["--config.cmd", "/hello.txt"]


@pytest.fixture(scope="module")
def tiny_tar(tmp_path_factory) -> Path:
    """A one-file OCI archive, its image named by the bare tag ``1`` (as umoci writes)."""
    cache = tmp_path_factory.mktemp("tiny")
    spec = ImageSpec("docker.io/library/tiny", ("1",), "tiny-v1")
    return asyncio.run(build_tarball(spec, _fill_tiny, cache))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Debian's docker-registry on a free loopback port; yields its host:port."""
    work = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = work / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {work}/data\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    with open(work / "registry.log", "wb") as out:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=out,
                                stderr=out, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "registry.log").read_text()) from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cleanup(root: Path) -> None:
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split()[4].startswith(str(root) + "/")]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def _containerd(mirrors: dict[str, tuple[str, ...]] | None = None):
    root = Path(tempfile.mkdtemp(prefix="pyk8s-img-", dir="/tmp"))
    opts = ContainerdOptions(root_dir=root, registry_mirrors=dict(mirrors or {}))
    supervisor = ContainerdSupervisor(opts)
    runtime = CRIRuntime(supervisor.endpoint, timeout=30, mirrored=opts.registry_mirrors)
    try:
        await supervisor.start()
        yield opts, runtime
    finally:
        await runtime.close()
        await supervisor.stop()
        await asyncio.to_thread(_cleanup, root)


async def _pyk8s(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyk8s", *argv, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_images_import_command(tiny_tar):
    async with _containerd() as (opts, runtime):
        code, _, err = await _pyk8s("images", "import", str(tiny_tar),
                                    "--address", str(opts.socket))
        assert code == 1 and "--base-name" in err
        code, out, err = await _pyk8s("images", "import", str(tiny_tar), "--address",
                                      str(opts.socket), "--base-name", "docker.io/library/tiny")
        assert code == 0, err
        assert out.split() == ["docker.io/library/tiny:1"]
        assert await runtime.image_status("tiny:1")
        listed = await run("ctr", "--address", str(opts.socket), "-n", "k8s.io",
                           "images", "ls", "-q")
        assert not [n for n in listed.split() if n.startswith("import-")]


async def test_airgap_images_imported_at_kubelet_start(tiny_tar, image_cache, tmp_path):
    named = tmp_path / "airgap.tar"
    await run("skopeo", "copy", f"oci-archive:{tiny_tar}:1",
              f"oci-archive:{named}:docker.io/library/airgap:2")
    root = Path(tempfile.mkdtemp(prefix="pyk8s-ag-", dir="/tmp"))
    try:
        (root / "agent" / "images").mkdir(parents=True)
        shutil.copy(named, root / "agent" / "images" / "airgap.tar")
        async with own_containerd(root, image_cache_dir=image_cache) as (runtime, _):
            assert await runtime.image_status("docker.io/library/airgap:2")
            assert await runtime.image_status("registry.k8s.io/pause:3.10")
    finally:
        await asyncio.to_thread(_cleanup, root)


async def test_pull_through_registry_mirror(tiny_tar, registry):
    await run("skopeo", "copy", "--dest-tls-verify=false", f"oci-archive:{tiny_tar}:1",
              f"docker://{registry}/library/bbmirror:1")
    async with _containerd({"docker.io": (f"http://{registry}",)}) as (opts, runtime):
        hosts = opts.registry_config_path / "docker.io" / "hosts.toml"
        assert f'server = "http://{registry}"' in hosts.read_text()
        assert await runtime.image_status("docker.io/library/bbmirror:1") is None
        assert await runtime.pull_image("docker.io/library/bbmirror:1")
        assert await runtime.image_status("bbmirror:1")
        # the mirror is the only place asked: a missing image fails fast, no fallback
        with pytest.raises(RuntimeError_, match="^rpc error: code = "):
            await runtime.pull_image("docker.io/library/absent:1")
        # registries without a mirror are still never pulled from
        with pytest.raises(RuntimeError_, match="no registry is reachable"):
            await runtime.pull_image("quay.io/some/image:1")
