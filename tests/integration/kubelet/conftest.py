"""A real containerd, started by the kubelet's own supervisor in a short temp root.

Each test gets its own containerd, CNI bridge and network name, so runs never clash with each
other or with a node on this machine. Teardown removes what the test made: sandboxes (and so
their netns, IPs and per-pod masquerade rules) through CRI, then containerd, shims that
served it, mounts under the root, the bridge and any leftover nat rules tagged with the
test's network name. The images' build cache lives for the whole session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from pyk8s.kubelet.runtime import RuntimeError_
from pyk8s.kubelet.runtime.cni import write_conflist
from pyk8s.kubelet.runtime.containerd import ContainerdOptions, ContainerdSupervisor
from pyk8s.kubelet.runtime.cri import CRIRuntime
from pyk8s.kubelet.runtime.images import ensure_offline_images

POD_CIDR = "10.244.250.0/24"


@dataclass
class Node:
    root: Path
    supervisor: ContainerdSupervisor
    runtime: CRIRuntime
    bridge: str
    network: str
    pod_cidr: str
    imported: list[str]


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image-cache")


def _shim_pids(socket: str) -> list[int]:
    """containerd-shim processes serving the containerd on ``socket``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and socket.encode() in argv:
            pids.append(int(entry))
    return pids


def _mounts_under(root: Path) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point.startswith(str(root) + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _drop_nat_rules(network: str) -> None:
    """Delete nat rules whose comment names ``network`` (CNI tags its rules so), and the
    per-pod chains they belong to."""
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True,
                           check=True).stdout
    chains = set()
    for line in saved.splitlines():
        if line.startswith("-A ") and f'name: \\"{network}\\"' in line:
            args = shlex.split(line)[1:]
            subprocess.run(["iptables", "-t", "nat", "-D", *args], capture_output=True)
            if args[0].startswith("CNI-") and not args[0].startswith("CNI-HOSTPORT"):
                chains.add(args[0])
    for chain in chains:
        subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True)
        subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True)


async def _remove_all_pods(runtime: CRIRuntime) -> None:
    for sandbox in await runtime.list_pod_sandboxes():
        await runtime.stop_pod_sandbox(sandbox.id)
        await runtime.remove_pod_sandbox(sandbox.id)


def _teardown_host(node: Node) -> None:
    for pid in _shim_pids(str(node.supervisor.opts.socket)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for point in _mounts_under(node.root):
        subprocess.run(["umount", "-l", point], capture_output=True)
    subprocess.run(["ip", "link", "del", node.bridge], capture_output=True)
    _drop_nat_rules(node.network)
    shutil.rmtree(node.root, ignore_errors=True)


@pytest_asyncio.fixture
async def containerd_node(image_cache) -> Node:
    """containerd + CRI client + offline images + a CNI conflist for POD_CIDR."""
    root = Path(tempfile.mkdtemp(prefix="pyk8s-cri-", dir="/tmp"))
    suffix = secrets.token_hex(3)
    bridge, network = f"pyk8st{suffix}", f"pyk8s-test-{suffix}"
    opts = ContainerdOptions(root_dir=root)
    write_conflist(opts.cni_conf_dir, POD_CIDR, data_dir=str(opts.cni_data_dir),
                   bridge=bridge, network=network)
    supervisor = ContainerdSupervisor(opts, initial_backoff=0.1)
    runtime = CRIRuntime(supervisor.endpoint, timeout=30)
    n = Node(root, supervisor, runtime, bridge, network, POD_CIDR, [])
    try:
        await supervisor.start()
        n.imported = await ensure_offline_images(supervisor.endpoint, image_cache)
        yield n
    finally:
        with contextlib.suppress(RuntimeError_):
            await _remove_all_pods(runtime)
        await runtime.close()
        await supervisor.stop()
        await asyncio.to_thread(_teardown_host, n)
