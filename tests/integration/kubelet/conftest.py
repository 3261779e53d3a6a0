"""A real containerd, started by the kubelet's own supervisor in a short temp root.

Each test gets its own containerd, CNI bridge and network name, so runs never clash with each
other or with a node on this machine. Teardown removes what the test made: sandboxes (and so
their netns, IPs and per-pod masquerade rules) through CRI, then containerd, shims that
served it, mounts under the root, the bridge and any leftover nat rules tagged with the
test's network name. The images' build cache lives for the whole session. Tests that talk to the API server get
an ``admin`` client and a ``namespace`` ready for pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from kubeletkit import create_pod_namespace
from nodehost import cleanup_host

from pyk8s.client import Client, load_kubeconfig
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


async def _remove_all_pods(runtime: CRIRuntime) -> None:
    for sandbox in await runtime.list_pod_sandboxes():
        await runtime.stop_pod_sandbox(sandbox.id)
        await runtime.remove_pod_sandbox(sandbox.id)


def _teardown_host(node: Node) -> None:
    cleanup_host(node.root, str(node.supervisor.opts.socket), node.bridge, node.network)


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


@pytest_asyncio.fixture
async def admin(apiserver):
    """A cluster-admin client of the session's API server."""
    async with Client(load_kubeconfig(apiserver.kubeconfig, component="kubelet-test")) as c:
        yield c


@pytest_asyncio.fixture
async def namespace(admin):
    """A namespace pods can be created in (see :func:`kubeletkit.create_pod_namespace`)."""
    name = await create_pod_namespace(admin)
    yield name
    await admin.api("v1", "Namespace").delete(name)
