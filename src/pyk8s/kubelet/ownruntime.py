"""The kubelet's own containerd, for a kubelet started without ``--container-runtime-endpoint``.

As k3s's agent does, the kubelet then starts a private containerd under its root dir
(:class:`ContainerdSupervisor`: own root, state, sockets, CNI conf dir, registry mirrors),
imports the offline pause and busybox images (no registry is reachable from these machines)
and the air-gap archives in ``<root>/agent/images/`` (:mod:`.imagecmd`), and speaks CRI to
it. Unix socket paths are limited to 107 bytes: when ``<root>/containerd.sock`` (and its
``.ttrpc`` sibling) would be longer, the sockets move to ``/run/pyk8s/<hash of root>/``.

On the way out containerd is stopped; the pods' containers keep running (their shims are
separate processes) so a restarted kubelet adopts them, as upstream and k3s do. With
``kill_pods_on_exit`` (k3s's killall, as an option) every sandbox is stopped and removed
first, which also releases its mounts, IP and CNI rules.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from .imagecmd import import_airgap_images
from .runtime import RuntimeError_
from .runtime.containerd import (
    MAX_SOCKET_PATH,
    TTRPC_SUFFIX,
    ContainerdOptions,
    ContainerdSupervisor,
)
from .runtime.cri import CRIRuntime
from .runtime.images import ensure_offline_images

log = logging.getLogger("pyk8s.kubelet.ownruntime")

SHORT_SOCKET_DIR = Path("/run/pyk8s")


def containerd_options(root_dir: str | Path, *,
                       registry_mirrors: dict[str, tuple[str, ...]] | None = None
                       ) -> ContainerdOptions:
    """containerd's layout under ``root_dir``, its sockets moved when the path is too long."""
    root = Path(root_dir).resolve()
    opts = ContainerdOptions(root_dir=root, registry_mirrors=dict(registry_mirrors or {}))
    if len(str(opts.socket) + TTRPC_SUFFIX) > MAX_SOCKET_PATH:
        opts.socket_dir = SHORT_SOCKET_DIR / hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return opts


async def remove_all_pods(runtime: CRIRuntime) -> None:
    """Stop and remove every sandbox (StopPodSandbox kills its containers at once)."""
    for sandbox in await runtime.list_pod_sandboxes():
        await runtime.stop_pod_sandbox(sandbox.id)
        await runtime.remove_pod_sandbox(sandbox.id)


@asynccontextmanager
async def own_containerd(root_dir: str | Path, *, image_cache_dir: str | Path,
                         kill_pods_on_exit: bool = False,
                         registry_mirrors: dict[str, tuple[str, ...]] | None = None
                         ) -> AsyncIterator[tuple[CRIRuntime, ContainerdOptions]]:
    """A started containerd with the offline and air-gap images: (CRI client, options)."""
    opts = containerd_options(root_dir, registry_mirrors=registry_mirrors)
    supervisor = ContainerdSupervisor(opts)
    await supervisor.start()
    runtime = CRIRuntime(supervisor.endpoint, mirrored=opts.registry_mirrors)
    try:
        imported = await ensure_offline_images(supervisor.endpoint, image_cache_dir,
                                               pause_image=opts.sandbox_image)
        imported += await import_airgap_images(supervisor.endpoint, opts.root_dir,
                                               opts.base / "airgap-imported.json")
        if imported:
            log.info("imported offline images %s", ", ".join(imported))
        yield runtime, opts
    finally:
        try:
            if kill_pods_on_exit:
                await remove_all_pods(runtime)
                log.info("stopped and removed every pod (--kill-pods-on-exit)")
        except RuntimeError_ as err:
            log.warning("removing the pods on exit failed: %s", err)
        finally:
            await runtime.close()
            await supervisor.stop()
