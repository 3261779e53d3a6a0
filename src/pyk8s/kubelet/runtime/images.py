"""Images a node needs with no registry in reach: the pause image and ``busybox``.

Every sandbox needs the pause image before its first pod starts, and tests and examples say
``image: busybox``; no registry is reachable from these machines, so both are built here from
what Debian ships: pause from a tiny static C program (sleep in ``pause()``, reap zombies,
exit on SIGTERM), busybox from busybox-static's ``/bin/busybox`` plus its applet links. Each
is built once into an OCI layout with ``umoci`` and kept as a tarball in a cache dir (keyed by
the inputs' hash), then imported into containerd's ``k8s.io`` namespace with ``ctr`` under
its full name; ``--base-name`` matters, without it the CRI plugin sees a stray
``import-<date>`` name it cannot resolve. Imports are skipped when the names are present.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import RuntimeError_
from .fake import PAUSE_IMAGE

log = logging.getLogger(__name__)

NAMESPACE = "k8s.io"
BUSYBOX_BINARY = "/bin/busybox"
BUSYBOX_BASE = "docker.io/library/busybox"
BUSYBOX_TAGS = ("latest", "1.36")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PAUSE_C = r"""
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }
static void on_chld(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    for (;;) pause();
}
"""

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
    "etc/group": "root:x:0:\nnobody:x:65534:\n",
}


@dataclass(frozen=True)
class ImageSpec:
    """One offline image: its names, how its tarball is keyed, and how to fill its rootfs."""

    base_name: str
    tags: tuple[str, ...]
    key: str

    @property
    def names(self) -> list[str]:
        return [f"{self.base_name}:{t}" for t in self.tags]


async def run(*argv: str, cwd: str | None = None) -> str:
    """Run a command; its stdout, or RuntimeError_ with its stderr."""
    proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError_(f"{' '.join(argv[:3])} failed ({proc.returncode}): "
                            f"{err.decode(errors='replace').strip()}", "Internal")
    return out.decode(errors="replace")


def _file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def pause_spec(name: str = PAUSE_IMAGE) -> ImageSpec:
    base, _, tag = name.rpartition(":")
    return ImageSpec(base, (tag,), hashlib.sha256(PAUSE_C.encode()).hexdigest()[:16])


def busybox_spec() -> ImageSpec:
    key = hashlib.sha256((_file_digest(BUSYBOX_BINARY) + str(BUSYBOX_TAGS)).encode())
    return ImageSpec(BUSYBOX_BASE, BUSYBOX_TAGS, key.hexdigest()[:16])


async def _fill_pause(rootfs: Path, work: Path) -> list[str]:
    src = work / "pause.c"
    src.write_text(PAUSE_C)
    await run("gcc", "-static", "-Os", "-s", "-o", str(rootfs / "pause"), str(src))
    return ["--config.entrypoint", "/pause", "--config.user", "65535:65535"]


async def _fill_busybox(rootfs: Path, _work: Path) -> list[str]:
    applets = await run(BUSYBOX_BINARY, "--list-full")
    await asyncio.to_thread(_busybox_tree, rootfs, applets.split())
    return ["--config.cmd", "sh", "--config.env", PATH_ENV]


def _busybox_tree(rootfs: Path, applets: list[str]) -> None:
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home", "var", "dev",
              "proc", "sys"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    tmp = rootfs / "tmp"
    tmp.mkdir(exist_ok=True)
    tmp.chmod(0o1777)
    shutil.copy2(BUSYBOX_BINARY, rootfs / "bin" / "busybox")
    for applet in applets:
        link = rootfs / applet
        if applet != "bin/busybox" and not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")
    for rel, text in ETC_FILES.items():
        (rootfs / rel).write_text(text)


async def build_tarball(spec: ImageSpec, fill, cache_dir: Path) -> Path:
    """The image's OCI-layout tarball in ``cache_dir``, built with umoci when missing."""
    tarball = cache_dir / f"{spec.base_name.rsplit('/', 1)[-1]}-{spec.key}.tar"
    if tarball.exists():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        work = Path(tmp)
        layout, bundle = work / "oci", work / "bundle"
        first = f"{layout}:{spec.tags[0]}"
        await run("umoci", "init", "--layout", str(layout))
        await run("umoci", "new", "--image", first)
        await run("umoci", "unpack", "--image", first, str(bundle))
        config_args = await fill(bundle / "rootfs", work)
        await run("umoci", "repack", "--image", first, str(bundle))
        await run("umoci", "config", "--image", first, *config_args)
        for tag in spec.tags[1:]:
            await run("umoci", "tag", "--image", first, tag)
        await run("umoci", "gc", "--layout", str(layout))
        partial = work / "image.tar"
        await asyncio.to_thread(_tar_dir, layout, partial)
        os.replace(partial, tarball)
    log.info("built offline image %s into %s", spec.names, tarball)
    return tarball


def _tar_dir(src: Path, dest: Path) -> None:
    with tarfile.open(dest, "w") as tar:
        for entry in sorted(src.iterdir()):
            tar.add(entry, arcname=entry.name)


async def local_images(address: str) -> set[str]:
    """Names in containerd's k8s.io namespace."""
    out = await run("ctr", "--address", address, "--namespace", NAMESPACE, "images", "ls", "-q")
    return set(out.split())


async def import_image(address: str, spec: ImageSpec, tarball: Path) -> None:
    argv = ["ctr", "--address", address, "--namespace", NAMESPACE, "images", "import",
            "--base-name", spec.base_name]
    if len(spec.tags) == 1:
        argv += ["--index-name", spec.names[0]]
    try:
        await run(*argv, str(tarball))
    except RuntimeError_ as err:
        # Seen about once in ten fresh containerds: "content digest ...: not found" during
        # the import's unpack. The import is idempotent, so one retry settles it.
        log.warning("importing %s failed (%s); retrying once", spec.names, err)
        await run(*argv, str(tarball))


async def ensure_offline_images(address: str, cache_dir: str | Path, *,
                                pause_image: str = PAUSE_IMAGE) -> list[str]:
    """Build (once) and import the pause and busybox images; returns the names imported now.

    ``address`` is containerd's socket path (``unix://`` prefix allowed).
    """
    address = address.removeprefix("unix://")
    cache = Path(cache_dir)
    present = await local_images(address)
    imported: list[str] = []
    for spec, fill in ((pause_spec(pause_image), _fill_pause), (busybox_spec(), _fill_busybox)):
        if all(name in present for name in spec.names):
            continue
        tarball = await build_tarball(spec, fill, cache)
        await import_image(address, spec, tarball)
        imported += spec.names
    now = await local_images(address) if imported else present
    missing = [n for n in imported if n not in now]
    if missing:
        raise RuntimeError_(f"images missing after import: {missing}", "Internal")
    return imported
