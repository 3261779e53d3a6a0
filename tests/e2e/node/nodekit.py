"""A whole one-node cluster inside a network namespace of the test's own.

The node acceptance suites need everything a real node does to the network: the
kubelet's CNI bridge and pod veths, kube-proxy's iptables rules, the ``unreachable``
routes, NodePorts on the node's address. Running ``pyk8s server`` (every component,
kube-proxy included) under ``nsenter --net`` puts all of that inside a namespace the
test made, with an interface of its own (a veth whose peer stays down: this kernel has
no dummy driver) whose address the server advertises and the node reports as its
InternalIP, and a default route into it (which drops what it is given): no packet can leave for any other host, and deleting the namespace takes
every rule, route and interface with it. kubectl and the "node-side" clients (busybox
``wget``, ``nc``) run in the same namespace; the API server is on its loopback.

``nsenter --net`` rather than ``ip netns exec``: the latter remounts /sys in a new mount
namespace and runc then finds no cgroup mount (node-stack-facts.md).
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from kubectl_cli import Kubectl
from nodehost import cleanup_runtime
from polling import wait_until  # noqa: F401  (the node suites import it from here)

from pyk8s.kubelet.ownruntime import containerd_options

NODE = "pyk8s-netns-node"
NODE_ADDRESS = "192.168.251.10"
CLUSTER_CIDR = "10.244.0.0/16"  # node IPAM gives the node 10.244.0.0/24
API_PORT = 6443
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class NodeHost:
    """``pyk8s server`` in its own network namespace; :meth:`start` / :meth:`stop`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.netns = f"pyk8s-node-{secrets.token_hex(3)}"
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.kubectl = Kubectl(self.data_dir / "admin.conf", workdir)
        self.kubectl.prefix = self.nsenter()

    def nsenter(self) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}"]

    def run(self, *argv: str, input: str | None = None, timeout: float = 30.0,
            check: bool = False) -> subprocess.CompletedProcess:
        """Run a command on the node (in its network namespace)."""
        return subprocess.run([*self.nsenter(), *argv], input=input, capture_output=True,
                              text=True, timeout=timeout, check=check)

    def wget(self, url: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
        """busybox wget from the node itself; stdout is the body. (No ``-T``: busybox
        1.35's wget segfaults with it; the subprocess timeout bounds the call.)"""
        return self.run(BUSYBOX, "wget", "-q", "-O", "-", url, timeout=timeout)

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def start(self) -> "NodeHost":
        _ip("netns", "add", self.netns)
        _ip("-n", self.netns, "link", "set", "lo", "up")
        # The kernel here has no dummy driver: a veth whose peer stays down drops what
        # is sent to it just the same, and both ends live in the namespace.
        _ip("-n", self.netns, "link", "add", "node0", "type", "veth", "peer", "name", "node0p")
        _ip("-n", self.netns, "addr", "add", f"{NODE_ADDRESS}/24", "dev", "node0")
        _ip("-n", self.netns, "link", "set", "node0", "up")
        _ip("-n", self.netns, "route", "add", "default", "dev", "node0")
        argv = [*self.nsenter(), sys.executable, "-m", "pyk8s", "server",
                "--data-dir", str(self.data_dir), "--secure-port", str(API_PORT),
                "--advertise-address", NODE_ADDRESS, "--node-name", NODE,
                f"--kube-controller-manager-arg=--cluster-cidr={CLUSTER_CIDR}",
                f"--kube-proxy-arg=--cluster-cidr={CLUSTER_CIDR}",
                f"--kubelet-arg=--cluster-cidr={CLUSTER_CIDR}",
                f"--kubelet-arg=--image-cache-dir={self.workdir / 'images'}",
                "--kubelet-arg=--kill-pods-on-exit"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_until(lambda: self.proc.poll() is not None or self._node_ready(), 180,
                   f"node {NODE} Ready")
        assert self.proc.poll() is None, self.log()
        wait_until(lambda: self.kubectl("get", "serviceaccount", "default",
                                        check=False).returncode == 0, 60,
                   "the default ServiceAccount")
        return self

    def _node_ready(self) -> bool:
        if not (self.data_dir / "admin.conf").exists():
            return False
        got = self.kubectl("get", "node", NODE, "-o", "json", check=False)
        if got.returncode != 0:
            return False
        conditions = (json.loads(got.stdout).get("status") or {}).get("conditions") or ()
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def namespace(self, hint: str) -> str:
        """A fresh namespace (with its default ServiceAccount) for one test."""
        name = f"{hint[:40].strip('-')}-{uuid.uuid4().hex[:5]}"
        self.kubectl("create", "namespace", name)
        wait_until(lambda: self.kubectl("get", "serviceaccount", "default", "-n", name,
                                        check=False).returncode == 0, 30,
                   f"ServiceAccount default in {name}")
        return name

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        root = self.data_dir / "kubelet"
        cleanup_runtime(root, str(containerd_options(root).socket))
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, check=False)
