"""kube-proxy against real iptables, inside network namespaces this test creates.

Topology (all namespaces and links are made here and deleted at the end, even on
failure; nothing is attached to the root namespace, so no packet can leave the
machine)::

    pod-a (10.244.1.2:8080) --veth--+
                                    +-- kbr0 10.244.1.1/24 [node]  -- veth -- client
    pod-b (10.244.1.3:8080) --veth--+        172.31.0.1/30                 172.31.0.2/30

Each pod runs ``busybox httpd`` answering its own name. The proxier runs in this
process, reading the session API server, with its iptables commands prefixed by
``nsenter --net=<node netns>``.

Routes for addresses nothing answers: the node has ``unreachable`` for the cluster
CIDR (its /24 on kbr0 is more specific); the client has ``unreachable`` for both CIDRs
except the service CIDR, which it sends to the node (forwarded traffic is DNAT'd in
PREROUTING, before routing). The node cannot use ``unreachable`` for the service CIDR:
a locally originated connect() looks the route up *before* the nat OUTPUT hook
rewrites the destination, so it fails with EHOSTUNREACH; the node routes that CIDR
onto its own bridge instead (isolated, so an un-DNAT'd packet just goes unanswered).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import subprocess
import sys
import uuid

import pytest
from polling import eventually

from pyk8s.client import Client, load_config
from pyk8s.proxy.iptables import Iptables
from pyk8s.proxy.proxier import Proxier
from pyk8s.proxy.rules import ProxyConfig

SERVICE_CIDR = "10.96.0.0/12"
CLUSTER_CIDR = "10.244.0.0/16"
PODS = {"pod-a": "10.244.1.2", "pod-b": "10.244.1.3"}
NODE_IP, CLIENT_IP = "172.31.0.1", "172.31.0.2"
NODE_NAME = "kp-node"


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def netns_path(name: str) -> str:
    return f"/run/netns/{name}"


@pytest.fixture
def topology(tmp_path):
    tag = uuid.uuid4().hex[:6]
    node, client = f"kpn-{tag}", f"kpc-{tag}"
    pods = {name: f"kp{name[-1]}-{tag}" for name in PODS}
    made: list[str] = []
    servers: list[subprocess.Popen] = []
    try:
        for ns in (node, client, *pods.values()):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", node, "link", "add", "kbr0", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", "10.244.1.1/24", "dev", "kbr0")
        sh("ip", "-n", node, "link", "set", "kbr0", "up")
        sh("ip", "-n", node, "route", "add", "unreachable", CLUSTER_CIDR)
        sh("ip", "-n", node, "route", "add", SERVICE_CIDR, "dev", "kbr0")
        for i, (name, ns) in enumerate(pods.items()):
            host_if = f"vp{i}"
            sh("ip", "-n", node, "link", "add", host_if, "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            sh("ip", "-n", node, "link", "set", host_if, "master", "kbr0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{PODS[name]}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", "10.244.1.1")
            root = tmp_path / name
            root.mkdir()
            (root / "index.html").write_text(name)
            servers.append(subprocess.Popen(
                ["nsenter", f"--net={netns_path(ns)}", "busybox", "httpd", "-f", "-p",
                 f"{PODS[name]}:8080", "-h", str(root)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sh("ip", "-n", node, "link", "add", "vcl", "type", "veth", "peer", "name", "eth0",
           "netns", client)
        sh("ip", "-n", node, "addr", "add", f"{NODE_IP}/30", "dev", "vcl")
        sh("ip", "-n", node, "link", "set", "vcl", "up")
        sh("ip", "-n", client, "addr", "add", f"{CLIENT_IP}/30", "dev", "eth0")
        sh("ip", "-n", client, "link", "set", "eth0", "up")
        sh("ip", "-n", client, "route", "add", "unreachable", CLUSTER_CIDR)
        sh("ip", "-n", client, "route", "add", SERVICE_CIDR, "via", NODE_IP)
        yield {"node": node, "client": client, "pods": pods}
    finally:
        for proc in servers:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                proc.kill()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


async def curl(netns: str, url: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "nsenter", f"--net={netns_path(netns)}", "curl", "-sS", "--max-time", "3", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, (out or err).decode().strip()


CONNECT = """
import socket, sys
s = socket.socket()
s.settimeout(5)
print(s.connect_ex((sys.argv[1], int(sys.argv[2]))))
"""


async def connect_errno(netns: str, ip: str, port: int) -> int:
    """The errno of a TCP connect from inside ``netns`` (0: connected)."""
    proc = await asyncio.create_subprocess_exec(
        "nsenter", f"--net={netns_path(netns)}", sys.executable, "-c", CONNECT, ip, str(port),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return int(out)


async def answers(netns: str, url: str, times: int = 16) -> list[str]:
    results = [await curl(netns, url) for _ in range(times)]
    return [text if code == 0 else f"error {code}: {text}" for code, text in results]


def endpoint_slice(name: str, service: str, pods: list[str]) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [PODS[p]], "conditions": {"ready": True},
                           "nodeName": NODE_NAME} for p in pods]}


@pytest.fixture
async def kube(apiserver):
    async with Client(load_config(str(apiserver.kubeconfig), component="kube-proxy")) as c:
        name = f"kp-{uuid.uuid4().hex[:8]}"
        await c.api("v1", "Namespace").create({"metadata": {"name": name}})
        try:
            yield c, name
        finally:
            await c.api("v1", "Namespace").delete(name)


async def test_proxy_iptables_in_netns(topology, kube):
    client, ns = kube
    node = topology["node"]
    services = client.api("v1", "Service")
    slices = client.api("discovery.k8s.io/v1", "EndpointSlice")
    web = await services.create({"metadata": {"name": "web"}, "spec": {
        "type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        namespace=ns)
    empty = await services.create({"metadata": {"name": "empty"}, "spec": {
        "ports": [{"name": "http", "port": 80}]}}, namespace=ns)
    await slices.create(endpoint_slice("web-1", "web", ["pod-a", "pod-b"]), namespace=ns)
    cluster_ip, node_port = web["spec"]["clusterIP"], web["spec"]["ports"][0]["nodePort"]

    proxier = Proxier(client, ProxyConfig(node_name=NODE_NAME, cluster_cidr=CLUSTER_CIDR),
                      Iptables(prefix=["nsenter", f"--net={netns_path(node)}"]),
                      min_sync_period=0.2, sync_period=30)
    stop, synced = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(proxier.run(stop, synced=synced))
    try:
        await asyncio.wait_for(synced.wait(), 30)

        async def balanced():
            got = await answers(node, f"http://{cluster_ip}/")
            return set(got) == {"pod-a", "pod-b"} and got
        await eventually(balanced)

        for where, url in ((node, f"http://{NODE_IP}:{node_port}/"),
                           (node, f"http://127.0.0.1:{node_port}/"),
                           (topology["client"], f"http://{NODE_IP}:{node_port}/"),
                           (topology["client"], f"http://{cluster_ip}/")):
            got = await answers(where, url, times=12)
            assert set(got) <= {"pod-a", "pod-b"} and got, (url, got)

        assert await connect_errno(node, empty["spec"]["clusterIP"], 80) == errno.ECONNREFUSED

        saved = subprocess.run(["nsenter", f"--net={netns_path(node)}", "iptables-save"],
                               capture_output=True, text=True, check=True).stdout
        assert f"{ns}/empty:http has no endpoints" in saved
        assert "-A PREROUTING -m comment --comment \"kubernetes service portals\"" in saved

        latest = await slices.get("web-1", namespace=ns)
        latest["endpoints"] = latest["endpoints"][:1]
        await slices.update(latest)

        async def only_a():
            got = await answers(node, f"http://{cluster_ip}/", times=10)
            return set(got) == {"pod-a"}
        await eventually(only_a)
        saved = subprocess.run(["nsenter", f"--net={netns_path(node)}", "iptables-save",
                                "-t", "nat"], capture_output=True, text=True, check=True).stdout
        assert PODS["pod-b"] not in saved and PODS["pod-a"] in saved
        assert saved.count(f"{ns}/web:http -> ") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
