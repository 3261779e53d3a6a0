"""containerd's config.toml and the CNI conflist the kubelet writes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from pyk8s.kubelet.runtime import RuntimeError_
from pyk8s.kubelet.runtime.cni import CONF_NAME, conflist, write_conflist
from pyk8s.kubelet.runtime.containerd import ContainerdOptions, prepare, render_config

CRI = "io.containerd.grpc.v1.cri"


def test_containerd_config_keeps_everything_under_the_root():
    opts = ContainerdOptions(root_dir=Path("/var/lib/kubelet"))
    cfg = tomllib.loads(render_config(opts, "overlayfs"))
    assert cfg["version"] == 2
    assert cfg["root"] == "/var/lib/kubelet/containerd/root"
    assert cfg["state"] == "/var/lib/kubelet/containerd/state"
    assert cfg["grpc"]["address"] == "/var/lib/kubelet/containerd.sock"
    assert cfg["ttrpc"]["address"] == "/var/lib/kubelet/containerd.sock.ttrpc"
    assert cfg["plugins"]["io.containerd.internal.v1.opt"]["path"] == \
        "/var/lib/kubelet/containerd/opt"
    cri = cfg["plugins"][CRI]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.10"
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    assert cri["containerd"]["default_runtime_name"] == "runc"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": "/var/lib/kubelet/cni/net.d"}
    assert opts.cni_data_dir == Path("/var/lib/kubelet/cni/networks")


def test_containerd_config_quotes_paths():
    opts = ContainerdOptions(root_dir=Path('/tmp/we"ird\\dir'), sandbox_image="local/pause:1")
    cfg = tomllib.loads(render_config(opts, "native"))
    assert cfg["root"] == '/tmp/we"ird\\dir/containerd/root'
    assert cfg["plugins"][CRI]["sandbox_image"] == "local/pause:1"
    assert cfg["plugins"][CRI]["containerd"]["snapshotter"] == "native"


def test_prepare_writes_config_and_dirs(tmp_path):
    opts = ContainerdOptions(root_dir=tmp_path, snapshotter="native")
    assert prepare(opts) == "native"
    assert tomllib.loads(opts.config_path.read_text())["plugins"][CRI]["containerd"][
        "snapshotter"] == "native"
    assert opts.cni_conf_dir.is_dir() and opts.cni_data_dir.is_dir()


def test_prepare_refuses_a_socket_path_too_long(tmp_path):
    opts = ContainerdOptions(root_dir=tmp_path / ("x" * 120))
    with pytest.raises(RuntimeError_, match="too long"):
        prepare(opts)


def test_conflist_bridge_hostlocal_portmap():
    conf = conflist("10.244.1.0/24", data_dir="/var/lib/kubelet/cni/networks")
    assert conf["cniVersion"] == "1.0.0" and conf["name"] == "pyk8s"
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge" and bridge["bridge"] == "cni0"
    assert bridge["isGateway"] and bridge["hairpinMode"] and not bridge["ipMasq"]
    assert bridge["ipam"] == {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.1.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "/var/lib/kubelet/cni/networks",
    }
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_conflist_dual_stack_and_names():
    conf = conflist(["10.244.1.0/24", "fd00:10:244:1::/64"], data_dir="/d", bridge="br-x",
                    network="n")
    ipam = conf["plugins"][0]["ipam"]
    assert ipam["ranges"] == [[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:10:244:1::/64"}]]
    assert ipam["routes"] == [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]
    assert (conf["name"], conf["plugins"][0]["bridge"]) == ("n", "br-x")


@pytest.mark.parametrize("cidrs,bridge", [([], "cni0"), ("10.244.1.1/24", "cni0"),
                                          ("10.244.1.0/24", "a-very-long-bridge")])
def test_conflist_rejects_bad_input(cidrs, bridge):
    with pytest.raises(ValueError):
        conflist(cidrs, data_dir="/d", bridge=bridge)


def test_write_conflist_is_atomic_and_skips_unchanged(tmp_path):
    assert write_conflist(tmp_path / "net.d", "10.244.2.0/24", data_dir="/d") is True
    path = tmp_path / "net.d" / CONF_NAME
    assert json.loads(path.read_text())["plugins"][0]["ipam"]["ranges"] == \
        [[{"subnet": "10.244.2.0/24"}]]
    mtime = path.stat().st_mtime_ns
    assert write_conflist(tmp_path / "net.d", "10.244.2.0/24", data_dir="/d") is False
    assert path.stat().st_mtime_ns == mtime
    assert write_conflist(tmp_path / "net.d", "10.244.3.0/24", data_dir="/d") is True
    assert sorted(p.name for p in (tmp_path / "net.d").iterdir()) == [CONF_NAME]
