"""Hollow nodes against a real API server: registration, Leases, pods run and stopped.

The heartbeat periods are shortened (a 4 s Lease renewed every second) so the test
sees several rounds in a few seconds; everything else runs as ``pyk8s hollow-nodes``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys
import uuid

import pytest

from polling import eventually

from pyk8s.client import Client, NotFound, load_kubeconfig
from pyk8s.hollow import HollowOptions, run
from pyk8s.hollow.options import validate
from pyk8s.hollow.podstatus import RUN_SECONDS_ANNOTATION

COUNT = 20


@pytest.fixture
async def client(apiserver):
    async with Client(load_kubeconfig(apiserver.kubeconfig, component="hollow-test")) as c:
        yield c


@pytest.fixture
async def namespace(client):
    name = f"hollow-{uuid.uuid4().hex[:8]}"
    await client.api("v1", "Namespace").create({"metadata": {"name": name}})
    await client.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                    namespace=name)
    yield name
    await client.api("v1", "Namespace").delete(name)


def pod(name, *, restart="Always", annotations=None):
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"restartPolicy": restart,
                     "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}


async def bind(client, namespace, name, node):
    await client.api("v1", "Pod").create({"metadata": {"name": name},
                                          "target": {"kind": "Node", "name": node}},
                                         name=name, namespace=namespace, subresource="binding")


async def renew_times(client, prefix):
    leases = await client.api("coordination.k8s.io/v1", "Lease").list(
        namespace="kube-node-lease")
    return {l["metadata"]["name"]: l["spec"]["renewTime"] for l in leases["items"]
            if l["metadata"]["name"].startswith(prefix)}


async def test_hollow_nodes(apiserver, client, namespace):
    prefix = f"hn-{uuid.uuid4().hex[:4]}-"
    opts = validate(HollowOptions(count=COUNT, name_prefix=prefix, lease_duration=4,
                                  node_status_update_frequency=1.0,
                                  labels={"topology.kubernetes.io/zone": "z1"},
                                  taints=({"key": "hollow", "effect": "NoSchedule"},)))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run(opts, load_kubeconfig(apiserver.kubeconfig), stop,
                                   ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        nodes = [n for n in (await client.api("v1", "Node").list())["items"]
                 if n["metadata"]["name"].startswith(prefix)]
        assert len(nodes) == COUNT
        for node in nodes:
            ready_cond = {c["type"]: c for c in node["status"]["conditions"]}["Ready"]
            assert (ready_cond["status"], ready_cond["reason"]) == ("True", "KubeletReady")
            assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "z1"
            assert node["spec"]["taints"] == [{"key": "hollow", "effect": "NoSchedule"}]
            assert ipaddress.ip_address(node["status"]["addresses"][0]["address"]) in \
                ipaddress.ip_network("10.255.0.0/16")

        first = await eventually(lambda: _all_leases(client, prefix))
        lease = await client.api("coordination.k8s.io/v1", "Lease").get(
            f"{prefix}0", namespace="kube-node-lease")
        assert lease["spec"]["holderIdentity"] == f"{prefix}0"
        assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"

        async def advanced():
            now = await renew_times(client, prefix)
            return all(now[n] > first[n] for n in first)
        await eventually(advanced, timeout=8)

        pods = client.api("v1", "Pod")
        await pods.create(pod("web"), namespace=namespace)
        await bind(client, namespace, "web", f"{prefix}3")

        async def web_running():
            status = (await pods.get("web", namespace=namespace))["status"]
            ready_cond = {c["type"]: c["status"] for c in status.get("conditions") or ()}
            return status if status.get("phase") == "Running" and \
                ready_cond.get("Ready") == "True" else None
        status = await eventually(web_running)
        assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("10.244.3.0/24")
        assert status["hostIP"] == "10.255.0.4"
        assert status["containerStatuses"][0]["state"]["running"]["startedAt"]
        assert status["qosClass"] == "BestEffort"

        await pods.create(pod("job", restart="Never",
                              annotations={RUN_SECONDS_ANNOTATION: "1"}), namespace=namespace)
        await bind(client, namespace, "job", f"{prefix}5")

        async def job_succeeded():
            status = (await pods.get("job", namespace=namespace))["status"]
            return status.get("phase") == "Succeeded" and status
        status = await eventually(job_succeeded)
        terminated = status["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")

        await pods.delete("web", namespace=namespace)  # graceful: 30 s unless confirmed

        async def web_gone():
            try:
                await pods.get("web", namespace=namespace)
            except NotFound:
                return True
            return False
        await eventually(web_gone, timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)

    stopped = await renew_times(client, prefix)
    await asyncio.sleep(2.5)  # more than two renew periods
    assert await renew_times(client, prefix) == stopped


async def _all_leases(client, prefix):
    times = await renew_times(client, prefix)
    return times if len(times) == COUNT else None


async def test_cli_takes_over_nodes_and_deletes_them_on_exit(apiserver, client):
    prefix = f"hn-{uuid.uuid4().hex[:4]}-"
    nodes = client.api("v1", "Node")
    await nodes.create({"metadata": {"name": f"{prefix}0", "labels": {"keep": "me"}}})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyk8s", "hollow-nodes", "--kubeconfig", str(apiserver.kubeconfig),
        "--count", "3", "--name-prefix", prefix, "--delete-nodes-on-exit",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async def taken_over():
            node = await nodes.get(f"{prefix}0")
            conditions = (node.get("status") or {}).get("conditions") or ()
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) \
                and node
        node = await eventually(taken_over)
        assert node["metadata"]["labels"]["keep"] == "me"
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == f"{prefix}0"
        await eventually(lambda: _count(nodes, prefix, 3))
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, output.decode()
    assert await _count(nodes, prefix, 0)
    with pytest.raises(NotFound):
        await client.api("coordination.k8s.io/v1", "Lease").get(
            f"{prefix}0", namespace="kube-node-lease")


async def _count(nodes, prefix, want):
    names = [n["metadata"]["name"] for n in (await nodes.list())["items"]]
    return sum(name.startswith(prefix) for name in names) == want
