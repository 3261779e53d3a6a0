"""``kubectl attach`` and ``kubectl port-forward`` through the API server to the kubelet.

Attach follows the container's output and, for a container created with ``stdin: true``,
carries stdin to it, over kubectl's v5 and the Python client's v4 channel protocols.

As ``test_kubelet_server.py``, with the FakeRuntime handing out loopback pod IPs
(127.0.0.x) so that port-forward dials an echo server this test runs on the pod's IP;
nothing leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.stream import portforward, stream
from serverproc import free_port
from test_kubelet_server import eventually, running_pod

from pyk8s.client import Client, load_kubeconfig
from pyk8s.kubelet.main import KubeletOptions, run
from pyk8s.kubelet.runtime.fake import FakeRuntime, cri_log_line


@pytest.fixture
async def cluster(apiserver, tmp_path):
    """(client, namespace, node name, root dir): a kubelet whose pods get loopback IPs."""
    node = f"kst-node-{uuid.uuid4().hex[:6]}"
    runtime = FakeRuntime(log_lines={"app": ["old 1", "old 2"]},
                          pod_cidr_prefix=f"127.0.{uuid.uuid4().int % 200 + 20}.")
    root = tmp_path / "root"
    opts = KubeletOptions(node_name=node, root_dir=str(root), node_ip="127.0.0.1",
                          node_status_update_frequency=1.0, lease_renew_interval=1.0,
                          pod_resync=2.0, port=free_port(), address="127.0.0.1",
                          client_ca_file=str(apiserver.data_dir / "pki" / "ca.crt"))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run(opts, load_kubeconfig(apiserver.kubeconfig), stop,
                                   runtime=runtime, ready=ready))
    async with Client(load_kubeconfig(apiserver.kubeconfig, component="kst-test")) as client:
        namespace = f"kst-{uuid.uuid4().hex[:8]}"
        await client.api("v1", "Namespace").create({"metadata": {"name": namespace}})
        await client.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                        namespace=namespace)
        await client.api("v1", "ConfigMap").create(
            {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "test-ca"}},
            namespace=namespace)
        try:
            await asyncio.wait_for(ready.wait(), 30)
            yield client, namespace, node, root
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            await client.api("v1", "Namespace").delete(namespace)


@contextlib.asynccontextmanager
async def echo_server(host: str):
    """A TCP echo server on ``host`` (a pod's loopback IP); yields its port."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, host, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def append(log_file, text: str) -> None:
    with open(log_file, "a") as f:
        f.write(cri_log_line("stdout", text, time.time_ns()))


async def test_attach_follows_new_output(apiserver, cluster):
    client, ns, node, root = cluster
    pod = await running_pod(client, ns, "web", node)
    log_file = root / "pod-logs" / f"{ns}_web_{pod['metadata']['uid']}" / "app" / "0.log"
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "attach", "-n", ns, "web", env=apiserver.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = asyncio.ensure_future(proc.stdout.readline())
        deadline = time.monotonic() + 30
        while not line.done():  # until the attach is up: earlier ticks may be missed
            assert time.monotonic() < deadline, "kubectl attach printed nothing"
            await asyncio.to_thread(append, log_file, "tick")
            await asyncio.wait([line], timeout=0.5)
        assert line.result() == b"tick\n"  # the old lines are not replayed
    finally:
        proc.kill()
        await proc.wait()


async def interactive_pod(client, ns, name, node) -> dict:
    """A running pod whose container was created with stdin (the fake echoes it)."""
    pods = client.api("v1", "Pod")
    await pods.create({"metadata": {"name": name},
                       "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                "containers": [{"name": "app", "image": "busybox:1.36",
                                                "stdin": True}]}}, namespace=ns)

    async def running():
        pod = await pods.get(name, namespace=ns)
        return pod["status"].get("phase") == "Running" and pod

    return await eventually(running)


async def test_attach_stdin_reaches_the_container(apiserver, cluster):
    """kubectl 1.32 (v5.channel.k8s.io): stdin goes to the container's own process."""
    client, ns, node, _root = cluster
    await interactive_pod(client, ns, "shell", node)
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "attach", "-i", "-n", ns, "shell", env=apiserver.env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"typed line\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"typed line\n"
    finally:
        proc.kill()
        await proc.wait()


async def test_python_client_attach_with_stdin(apiserver, cluster):
    """The official client (v4.channel.k8s.io) attaches with stdin too."""
    client, ns, node, _root = cluster
    await interactive_pod(client, ns, "pyshell", node)

    def roundtrip() -> str:
        api_client = k8s_config.new_client_from_config(str(apiserver.kubeconfig))
        try:
            api = k8s_client.CoreV1Api(api_client)
            ws = stream(api.connect_get_namespaced_pod_attach, "pyshell", ns, stdin=True,
                        stdout=True, stderr=True, tty=False, _preload_content=False)
            try:
                ws.write_stdin("from python\n")
                got = ""
                deadline = time.monotonic() + 30
                while "\n" not in got and time.monotonic() < deadline:
                    got += ws.read_stdout(timeout=1)
                return got
            finally:
                ws.close()
        finally:
            api_client.close()

    assert await asyncio.to_thread(roundtrip) == "from python\n"


async def test_kubectl_port_forward(apiserver, cluster):
    client, ns, node, _root = cluster
    pod = await running_pod(client, ns, "echo", node)
    pod_ip = pod["status"]["podIP"]
    assert pod_ip.startswith("127."), pod_ip
    local = free_port()
    async with echo_server(pod_ip) as port:
        proc = await asyncio.create_subprocess_exec(
            "kubectl", "port-forward", "-n", ns, "pod/echo", f"{local}:{port}",
            env=apiserver.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert first.startswith(f"Forwarding from 127.0.0.1:{local}".encode()), first
            for text in (b"hello\n", b"again, on a second connection\n"):
                reader, writer = await asyncio.open_connection("127.0.0.1", local)
                writer.write(text)
                await writer.drain()
                assert await asyncio.wait_for(reader.readexactly(len(text)), 30) == text
                writer.close()
                await writer.wait_closed()
            assert proc.returncode is None
        finally:
            proc.kill()
            await proc.wait()


async def test_port_forward_to_closed_port_reports_error(apiserver, cluster):
    client, ns, node, _root = cluster
    pod = await running_pod(client, ns, "closed", node)
    async with echo_server(pod["status"]["podIP"]) as port:
        pass  # the port is free again: nothing listens
    local = free_port()
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "port-forward", "-n", ns, "pod/closed", f"{local}:{port}",
        env=apiserver.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        await asyncio.wait_for(proc.stdout.readline(), 30)
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()
        err = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert f"error forwarding port {port} to pod".encode() in err, err
    finally:
        proc.kill()
        await proc.wait()


async def test_python_client_port_forward(apiserver, cluster):
    client, ns, node, _root = cluster
    pod = await running_pod(client, ns, "pyecho", node)
    async with echo_server(pod["status"]["podIP"]) as port:

        def roundtrip() -> bytes:
            api_client = k8s_config.new_client_from_config(str(apiserver.kubeconfig))
            try:
                api = k8s_client.CoreV1Api(api_client)
                forward = portforward(api.connect_get_namespaced_pod_portforward, "pyecho", ns,
                                      ports=str(port))
                sock = forward.socket(port)
                sock.settimeout(30)
                sock.sendall(b"ping")
                data = b""
                while len(data) < 4:
                    data += sock.recv(4)
                sock.close()
                return data
            finally:
                api_client.close()

        assert await asyncio.to_thread(roundtrip) == b"ping"
