"""Archive naming for ``pyk8s images import`` and the ``--registry-mirror`` configuration."""

from __future__ import annotations

import io
import json
import tarfile
import tomllib

import pytest

from pyk8s.cli import build_parser
from pyk8s.kubelet.imagecmd import archive_refs, expected_names
from pyk8s.kubelet.main import options_from_args
from pyk8s.kubelet.runtime.containerd import (
    ContainerdOptions,
    parse_registry_mirror,
    prepare,
    render_config,
    render_hosts,
)


def _archive(path, files: dict[str, object]) -> str:
    with tarfile.open(path, "w") as tar:
        for name, doc in files.items():
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_archive_refs_oci_and_docker(tmp_path):
    oci = _archive(tmp_path / "oci.tar", {"index.json": {"manifests": [
        {"annotations": {"org.opencontainers.image.ref.name": "1"}},
        {"annotations": {"io.containerd.image.name": "docker.io/library/app:2",
                         "org.opencontainers.image.ref.name": "2"}}]}})
    assert archive_refs(oci) == ["1", "docker.io/library/app:2"]
    docker = _archive(tmp_path / "docker.tar", {"manifest.json": [{"RepoTags": ["app:3"]}]})
    assert archive_refs(docker) == ["docker.io/library/app:3"]
    with pytest.raises(ValueError):
        archive_refs(_archive(tmp_path / "junk.tar", {"x.json": {}}))


def test_expected_names_refuse_stray_ones():
    assert expected_names(["docker.io/library/app:2"], "") == ["docker.io/library/app:2"]
    assert expected_names(["1"], "docker.io/library/tiny") == ["docker.io/library/tiny:1"]
    with pytest.raises(ValueError, match="--base-name"):
        expected_names(["latest"], "")
    with pytest.raises(ValueError, match="names no image"):
        expected_names([], "docker.io/library/tiny")
    with pytest.raises(ValueError, match="outside"):
        expected_names(["quay.io/x/y:1"], "docker.io/library/tiny")


def test_images_import_parses():
    args = build_parser().parse_args(["images", "import", "a.tar", "--base-name", "x/y"])
    assert (args.file, args.base_name, args.address) == ("a.tar", "x/y", None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["images", "import", "a.tar", "--root-dir", "/r",
                                   "--address", "/s"])


def test_registry_mirror_flag():
    args = build_parser().parse_args([
        "kubelet", "--registry-mirror", "docker.io=http://127.0.0.1:5000/",
        "--registry-mirror", "docker.io=http://127.0.0.1:5001",
        "--registry-mirror", "quay.io=https://localhost:5002"])
    assert options_from_args(args).registry_mirrors == {
        "docker.io": ("http://127.0.0.1:5000", "http://127.0.0.1:5001"),
        "quay.io": ("https://localhost:5002",)}
    for bad in ("docker.io", "docker.io=ftp://x", "=http://x", "a/b=http://x"):
        with pytest.raises(ValueError):
            parse_registry_mirror(bad)
    assert parse_registry_mirror("index.docker.io=http://h:1")[0] == "docker.io"


def test_hosts_toml_has_no_upstream_fallback(tmp_path):
    hosts = tomllib.loads(render_hosts(("http://127.0.0.1:5000", "http://127.0.0.1:5001")))
    assert hosts["server"] == "http://127.0.0.1:5001"
    assert list(hosts["host"]) == ["http://127.0.0.1:5000", "http://127.0.0.1:5001"]
    opts = ContainerdOptions(root_dir=tmp_path, snapshotter="native",
                             registry_mirrors={"docker.io": ("http://127.0.0.1:5000",)})
    prepare(opts)
    config = tomllib.loads(render_config(opts, "native"))
    registry = config["plugins"]["io.containerd.grpc.v1.cri"]["registry"]
    assert registry == {"config_path": str(opts.registry_config_path)}
    written = (opts.registry_config_path / "docker.io" / "hosts.toml").read_text()
    assert tomllib.loads(written)["server"] == "http://127.0.0.1:5000"
    opts.registry_mirrors = {}
    prepare(opts)  # a mirror dropped from the flags is gone from the config
    assert not (opts.registry_config_path / "docker.io").exists()
