"""Pure parts of the kubelet's own runtime and pod network: socket placement, podCIDRs
from a Node, how runtime conditions become the NotReady reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyk8s.kubelet.nodestatus import Machine, conditions
from pyk8s.kubelet.ownruntime import SHORT_SOCKET_DIR, containerd_options
from pyk8s.kubelet.podnetwork import pod_cidrs
from pyk8s.kubelet.runtime import RuntimeCondition, network_problem

MACHINE = Machine(cpus=2, memory_total=8 << 30, memory_available=4 << 30,
                  disk_total=100 << 30, disk_available=50 << 30, pids_used=100, pid_max=32768)


@pytest.mark.parametrize("root, short", [
    ("/var/lib/pyk8s/kubelet", False),
    ("/tmp/" + "d" * 90, True),
])
def test_socket_moves_when_the_root_is_too_long(root, short):
    opts = containerd_options(root)
    assert len(str(opts.socket) + ".ttrpc") <= 107
    assert (opts.socket.parent.parent == SHORT_SOCKET_DIR) is short
    assert opts.cni_conf_dir == Path(root) / "cni" / "net.d"
    assert containerd_options(root).socket == opts.socket  # stable across restarts


@pytest.mark.parametrize("spec, want", [
    ({}, []),
    ({"podCIDR": "10.244.1.0/24"}, ["10.244.1.0/24"]),
    ({"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00::/64"]},
     ["10.244.1.0/24", "fd00::/64"]),
])
def test_pod_cidrs(spec, want):
    assert pod_cidrs({"spec": spec}) == want


def test_network_problem_and_ready_condition():
    down = [RuntimeCondition("RuntimeReady", True),
            RuntimeCondition("NetworkReady", False, "NetworkPluginNotReady",
                             "Network plugin returns error: cni plugin not initialized")]
    problem = network_problem(down)
    assert problem == ("NetworkReady=false reason:NetworkPluginNotReady message:Network plugin "
                       "returns error: cni plugin not initialized")
    assert network_problem([RuntimeCondition("NetworkReady", True)]) == ""

    message = f"container runtime network not ready: {problem}"
    rows = {c["type"]: c for c in conditions(MACHINE, message, None, "t0")}
    assert (rows["Ready"]["status"], rows["Ready"]["reason"], rows["Ready"]["message"]) == \
        ("False", "KubeletNotReady", message)
    ready = {c["type"]: c for c in conditions(MACHINE, "", list(rows.values()), "t1")}
    assert (ready["Ready"]["status"], ready["Ready"]["lastTransitionTime"]) == ("True", "t1")
    assert ready["MemoryPressure"]["lastTransitionTime"] == "t0"
