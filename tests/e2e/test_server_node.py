"""``pyk8s server`` is a working one-node cluster: its kubelet registers this machine and
runs what kubectl asks for.

A real ``pyk8s server`` (API server, controller manager, scheduler and a kubelet with its
own containerd, all supervised processes) on a temp data dir, with a node name, CNI
bridge, network name and cluster CIDR of the test's own (``--kubelet-arg`` and
``--kube-controller-manager-arg``), so it never meets another cluster on this machine.
kubectl sees the Node Ready (its podCIDR from the controller manager's node IPAM), a
``kubectl run --restart=Never`` pod Succeeds, and a two-replica busybox Deployment becomes
available; ``kubectl logs`` reads a pod's output through the kubelet's server (on a free
port here). The kubelet runs with ``--kill-pods-on-exit``, so stopping the server removes
the pods; the host cleanup removes the bridge, nat rules and routes the run added.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubectl_cli import Kubectl
from nodehost import cleanup_host, remove_added_routes, routes_present
from serverproc import free_port

from pyk8s.kubelet.ownruntime import containerd_options

NODE = "pyk8s-test-node"
CLUSTER_CIDR = "10.244.248.0/22"  # node IPAM gives the node 10.244.248.0/24


def wait_until(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def server(tmp_path):
    """The running server: (data dir, kubectl)."""
    suffix = secrets.token_hex(3)
    bridge, network = f"pyk8se{suffix}", f"pyk8s-e2e-{suffix}"
    data_dir, port = tmp_path / "data", free_port()
    log_path = tmp_path / "server.log"
    routes_before = routes_present()
    argv = [sys.executable, "-m", "pyk8s", "server", "--data-dir", str(data_dir),
            "--secure-port", str(port), "--node-name", NODE, "--disable", "kube-proxy",
            f"--kube-controller-manager-arg=--cluster-cidr={CLUSTER_CIDR}",
            f"--kubelet-arg=--cni-bridge-name={bridge}",
            f"--kubelet-arg=--cni-network-name={network}",
            f"--kubelet-arg=--image-cache-dir={tmp_path / 'images'}",
            f"--kubelet-arg=--port={free_port()}", "--kubelet-arg=--kill-pods-on-exit"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    kubectl = Kubectl(data_dir / "admin.conf", tmp_path)
    try:
        wait_until(lambda: proc.poll() is not None or (data_dir / "admin.conf").exists(), 60,
                   "admin.conf")
        assert proc.poll() is None, log_path.read_text()
        yield data_dir, kubectl, log_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        root = data_dir / "kubelet"
        cleanup_host(root, str(containerd_options(root).socket), bridge, network)
        remove_added_routes(routes_before)


def test_server_is_a_one_node_cluster(server):
    _, kubectl, log_path = server

    def node_ready():
        got = kubectl("get", "node", NODE, "-o", "json", check=False)
        if got.returncode != 0:
            return None
        node = json.loads(got.stdout)
        ready = {c["type"]: c["status"] for c in node["status"].get("conditions") or ()}
        return ready.get("Ready") == "True" and node
    node = wait_until(node_ready, 90, f"node {NODE} Ready")
    assert node["spec"]["podCIDR"] == "10.244.248.0/24", Path(log_path).read_text()[-3000:]
    row = next(line for line in kubectl("get", "nodes").lines if line.startswith(NODE))
    assert row.split()[1] == "Ready"

    wait_until(lambda: kubectl("get", "serviceaccount", "default", check=False).returncode == 0,
               30, "the default ServiceAccount")
    kubectl("run", "bb", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hi")

    def bb_phase():
        phase = kubectl.jsonpath("get", "pod", "bb", path="{.status.phase}")
        assert phase != "Failed", kubectl("describe", "pod", "bb").stdout
        return phase == "Succeeded"
    wait_until(bb_phase, 60, "pod bb Succeeded")
    assert kubectl.jsonpath("get", "pod", "bb", path="{.spec.nodeName}") == NODE
    assert kubectl("logs", "bb").stdout == "hi\n"  # through the kubelet's server

    kubectl("create", "deployment", "sleeper", "--image=busybox", "--replicas=2", "--",
            "sleep", "3600")

    def available():
        return kubectl.jsonpath("get", "deployment", "sleeper",
                                path="{.status.availableReplicas}") == "2"
    wait_until(available, 90, "deployment sleeper available")
    ips = kubectl.jsonpath("get", "pods", "-l", "app=sleeper", path="{.items[*].status.podIP}")
    assert all(ip.startswith("10.244.248.") for ip in ips.split()), ips

    pod = kubectl.jsonpath("get", "pods", "-l", "app=sleeper", path="{.items[0].metadata.name}")
    assert kubectl("exec", pod, "--", "echo", "exec works").stdout == "exec works\n"
    failed = kubectl("exec", pod, "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3, failed
    assert kubectl("exec", "-i", pod, "--", "cat", input="piped\n").stdout == "piped\n"

    local = Path(kubectl.workdir) / "copied.txt"
    local.write_text("copied content\n")
    kubectl("cp", str(local), f"{pod}:/tmp/copied.txt")  # tar through exec, as upstream
    assert kubectl("exec", pod, "--", "cat", "/tmp/copied.txt").stdout == "copied content\n"
    back = local.with_name("back.txt")
    kubectl("cp", f"{pod}:/tmp/copied.txt", str(back))
    assert back.read_text() == "copied content\n"
