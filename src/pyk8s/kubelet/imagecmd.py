"""``pyk8s images import``: image tarballs into the kubelet's containerd, without a registry.

These machines reach no public registry, so images arrive as files: an OCI archive (umoci,
``skopeo copy ... oci-archive:``, ``docker buildx --output type=oci``) or a ``docker save``
archive. They go into containerd's ``k8s.io`` namespace (the one its CRI plugin serves) with
``ctr images import``, and the kubelet imports every ``*.tar`` in
``<root-dir>/agent/images/`` when it starts its own containerd, as k3s does for air-gap images.

Names are the trap (docs/node-stack-facts.md): ``ctr`` names an image from the archive's
``io.containerd.image.name`` annotation, else its ``org.opencontainers.image.ref.name``; a
ref name that is only a tag (umoci writes ``latest``) becomes ``import-<date>:latest``, a
stray name the CRI plugin's cache later fails to resolve. So the archive is read first:
full names are imported as they are, bare tags only under ``--base-name REPO`` (which
``ctr`` turns into ``REPO:tag``); an archive with neither is refused rather than imported
under a name nobody can use. The names are checked in containerd afterwards.

An archive the kubelet already imported (same size and mtime, recorded in containerd's
directory) is not imported again at the next start.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tarfile
from pathlib import Path

from .runtime import RuntimeError_
from .runtime.images import NAMESPACE, local_images, run
from .runtime.refs import normalize_image

log = logging.getLogger("pyk8s.kubelet.imagecmd")

AIRGAP_DIR = Path("agent") / "images"
IMAGE_NAME = "io.containerd.image.name"
REF_NAME = "org.opencontainers.image.ref.name"


def _is_full(ref: str) -> bool:
    """What ctr keeps as a whole name (its ref translator's test)."""
    return any(ch in ref for ch in "/:@")


def archive_refs(path: str | Path) -> list[str]:
    """The image names an archive carries: docker's RepoTags (normalized, as ctr does),
    else the OCI index's annotations, kept as written (a bare tag when that is all)."""
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        if "manifest.json" in names and "index.json" not in names:
            manifest = json.load(tar.extractfile("manifest.json"))
            return [normalize_image(t) for entry in manifest for t in entry.get("RepoTags") or ()]
        if "index.json" not in names:
            raise ValueError(f"{path} is neither an OCI nor a docker image archive")
        index = json.load(tar.extractfile("index.json"))
    refs = []
    for desc in index.get("manifests") or ():
        annotations = desc.get("annotations") or {}
        ref = annotations.get(IMAGE_NAME) or annotations.get(REF_NAME)
        if ref:
            refs.append(ref)
    return refs


def expected_names(refs: list[str], base_name: str) -> list[str]:
    """The names ``ctr`` will give ``refs``, or ValueError when it would
    make stray ``import-<date>`` ones or none."""
    if not refs:
        raise ValueError("the archive names no image (no RepoTags, no ref.name annotation)")
    names = []
    for ref in refs:
        if _is_full(ref):
            if base_name and not ref.startswith(base_name):
                raise ValueError(f"the archive names {ref!r}, outside --base-name {base_name}")
            names.append(ref)
        elif base_name:
            names.append(f"{base_name}:{ref}")
        else:
            raise ValueError(f"the archive names its image only by the tag {ref!r}; give "
                             "--base-name REPO (e.g. docker.io/library/app) to name it")
    return names


async def import_archive(address: str, path: str | Path, *, base_name: str = "") -> list[str]:
    """Import one archive into containerd at ``address`` (k8s.io); returns its names."""
    address = address.removeprefix("unix://")
    try:
        names = expected_names(archive_refs(path), base_name)
    except (ValueError, OSError, tarfile.TarError, json.JSONDecodeError) as err:
        raise RuntimeError_(f"cannot import {path}: {err}", "InvalidArgument") from None
    argv = ["ctr", "--address", address, "--namespace", NAMESPACE, "images", "import"]
    if base_name:
        argv += ["--base-name", base_name]
    await run(*argv, str(path))
    present = await local_images(address)
    missing = sorted(n for n in names if n not in present)
    if missing:
        raise RuntimeError_(f"importing {path}: {missing} missing afterwards", "Internal")
    return names


async def import_airgap_images(address: str, root_dir: str | Path, state_file: Path) -> list[str]:
    """Import each new or changed ``<root_dir>/agent/images/*.tar``; returns the names.

    A broken archive is logged and skipped: one bad file must not keep the node down.
    """
    directory = Path(root_dir) / AIRGAP_DIR
    if not directory.is_dir():
        return []
    try:
        done = json.loads(state_file.read_text())
    except (OSError, ValueError):
        done = {}
    imported: list[str] = []
    for tarball in sorted(directory.glob("*.tar")):
        stat = tarball.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        if done.get(tarball.name) == stamp:
            continue
        try:
            imported += await import_archive(address, tarball)
        except RuntimeError_ as err:
            log.warning("air-gap image %s not imported: %s", tarball, err)
            continue
        done[tarball.name] = stamp
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(done))
        os.replace(tmp, state_file)
    return imported


def add_flags(p) -> None:
    sub = p.add_subparsers(dest="images_command", required=True, metavar="SUBCOMMAND")
    imp = sub.add_parser("import", help="import an OCI or docker image archive",
                         description="Import an image archive (OCI or docker save) into the "
                                     "kubelet's containerd, namespace k8s.io.")
    imp.add_argument("file", metavar="FILE.tar", help="the image archive")
    where = imp.add_mutually_exclusive_group()
    where.add_argument("--root-dir", default="/var/lib/pyk8s/kubelet",
                       help="the kubelet's --root-dir, whose own containerd gets the image "
                            "(default %(default)s)")
    where.add_argument("--address", default=None,
                       help="containerd's socket instead (unix:///PATH or PATH)")
    imp.add_argument("--base-name", default="",
                     help="repository for images the archive names by tag only, "
                          "e.g. docker.io/library/app")


async def main(args) -> int:
    """The command: import, then print the names, one per line, as ctr does."""
    from .ownruntime import containerd_options  # grpc is loaded only when needed

    address = args.address or str(containerd_options(args.root_dir).socket)
    try:
        names = await import_archive(address, args.file, base_name=args.base_name)
    except RuntimeError_ as err:
        log.error("%s", err)
        return 1
    sys.stdout.write("".join(f"{name}\n" for name in names))
    return 0
