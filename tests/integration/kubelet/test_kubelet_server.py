"""``kubectl logs`` and ``kubectl exec`` through the API server to the kubelet's server.

The real kubectl talks to the API server process (``apiserver`` fixture), which proxies
``pods/log`` and ``pods/exec`` to this kubelet (FakeRuntime, its server on a free
loopback port, Node InternalIP 127.0.0.1) with its kubelet-client certificate; the
kubelet authenticates it against the cluster CA and authorizes it by SubjectAccessReview.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import pytest
from polling import eventually
from serverproc import free_port

from pyk8s.client import Client, load_kubeconfig
from pyk8s.kubelet.main import KubeletOptions, run
from pyk8s.kubelet.runtime.fake import FakeRuntime, cri_log_line


@pytest.fixture
async def cluster(apiserver, tmp_path):
    """(client, namespace, node name, runtime, root dir): a kubelet serving on loopback."""
    node = f"ks-node-{uuid.uuid4().hex[:6]}"
    runtime = FakeRuntime(log_lines={"app": ["line 1", "line 2", "line 3"]})
    root = tmp_path / "root"
    opts = KubeletOptions(node_name=node, root_dir=str(root), node_ip="127.0.0.1",
                          node_status_update_frequency=1.0, lease_renew_interval=1.0,
                          pod_resync=2.0, port=free_port(), address="127.0.0.1",
                          client_ca_file=str(apiserver.data_dir / "pki" / "ca.crt"))
    stop, ready = asyncio.Event(), asyncio.Event()
    config = load_kubeconfig(apiserver.kubeconfig)
    task = asyncio.create_task(run(opts, config, stop, runtime=runtime, ready=ready))
    async with Client(load_kubeconfig(apiserver.kubeconfig, component="ks-test")) as client:
        namespace = f"ks-{uuid.uuid4().hex[:8]}"
        await client.api("v1", "Namespace").create({"metadata": {"name": namespace}})
        await client.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                        namespace=namespace)
        await client.api("v1", "ConfigMap").create(
            {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "test-ca"}},
            namespace=namespace)
        try:
            await asyncio.wait_for(ready.wait(), 30)
            yield client, namespace, node, runtime, root
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            await client.api("v1", "Namespace").delete(namespace)


async def kubectl(apiserver, *args, stdin: bytes | None = None):
    proc = await asyncio.create_subprocess_exec(
        "kubectl", *args, env=apiserver.env(), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    return proc.returncode, out.decode(), err.decode()


async def running_pod(client, namespace, name, node, image="busybox:1.36"):
    pods = client.api("v1", "Pod")
    await pods.create({"metadata": {"name": name},
                       "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                "containers": [{"name": "app", "image": image}]}},
                      namespace=namespace)

    async def running():
        pod = await pods.get(name, namespace=namespace)
        return pod["status"].get("phase") == "Running" and pod

    return await eventually(running)


async def test_logs(apiserver, cluster):
    client, ns, node, _runtime, root = cluster
    pod = await running_pod(client, ns, "web", node)
    code, out, err = await kubectl(apiserver, "logs", "-n", ns, "web")
    assert (code, out) == (0, "line 1\nline 2\nline 3\n"), err
    code, out, err = await kubectl(apiserver, "logs", "-n", ns, "web", "--tail=1")
    assert (code, out) == (0, "line 3\n"), err
    code, out, err = await kubectl(apiserver, "logs", "-n", ns, "pod/web", "-c", "app",
                                   "--timestamps", "--limit-bytes=40")
    assert code == 0 and len(out) == 40 and out[:4].isdigit() and " line 1" in out, (out, err)

    # -f: the lines so far, then one appended while following
    uid = pod["metadata"]["uid"]
    log_file = root / "pod-logs" / f"{ns}_web_{uid}" / "app" / "0.log"
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "logs", "-f", "-n", ns, "web", env=apiserver.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for expected in ("line 1", "line 2", "line 3"):
            assert (await asyncio.wait_for(proc.stdout.readline(), 30)).decode() == \
                expected + "\n"
        with open(log_file, "a") as f:
            f.write(cri_log_line("stdout", "appended", time.time_ns()))
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)) == b"appended\n"
    finally:
        proc.kill()
        await proc.wait()


async def test_log_errors(apiserver, cluster):
    client, ns, node, _runtime, _root = cluster
    pods = client.api("v1", "Pod")
    await pods.create({"metadata": {"name": "pulling"},
                       "spec": {"nodeName": node, "containers": [
                           {"name": "app", "image": "example.invalid/missing:1"}]}},
                      namespace=ns)

    async def waiting():
        pod = await pods.get("pulling", namespace=ns)
        statuses = pod["status"].get("containerStatuses") or ()
        return any("waiting" in s.get("state", {}) for s in statuses)

    await eventually(waiting)
    code, _out, err = await kubectl(apiserver, "logs", "-n", ns, "pulling")
    assert code == 1
    assert 'container "app" in pod "pulling" is waiting to start' in err, err
    code, _out, err = await kubectl(apiserver, "logs", "-n", ns, "pulling", "-c", "nope")
    assert code == 1 and "container nope is not valid for pod pulling" in err, err


async def test_exec(apiserver, cluster):
    client, ns, node, runtime, _root = cluster
    await running_pod(client, ns, "shell", node)
    code, out, err = await kubectl(apiserver, "exec", "-n", ns, "shell", "--", "echo", "hi")
    assert (code, out) == (0, "hi\n"), err
    code, out, err = await kubectl(apiserver, "exec", "-n", ns, "shell", "--",
                                   "sh", "-c", "exit 3")
    assert code == 3, (out, err)
    assert "command terminated with exit code 3" in err
    code, out, err = await kubectl(apiserver, "exec", "-i", "-n", ns, "shell", "--", "cat",
                                   stdin=b"from stdin\n")
    assert (code, out) == (0, "from stdin\n"), err
    assert runtime.exec_sessions[-1].stdin_closed
    code, _out, err = await kubectl(apiserver, "exec", "-n", ns, "shell", "-c", "nope", "--",
                                    "true")
    assert code == 1 and "container nope is not valid for pod shell" in err, err


async def test_exec_pod_without_node(apiserver, cluster):
    client, ns, _node, _runtime, _root = cluster
    await client.api("v1", "Pod").create(
        {"metadata": {"name": "unscheduled"},
         "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}}, namespace=ns)
    code, _out, err = await kubectl(apiserver, "exec", "-n", ns, "unscheduled", "--", "true")
    assert code == 1 and "pod unscheduled does not have a host assigned" in err, err
    code, out, err = await kubectl(apiserver, "logs", "-n", ns, "unscheduled")
    assert (code, out) == (0, ""), err
