"""The real kubelet with a containerd of its own, against a real API server.

The kubelet runs in-process without ``--container-runtime-endpoint``: it starts its
containerd under a short temp root, imports the offline images and registers a Node with
``system:node:<name>`` credentials (so the Node authorizer and NodeRestriction judge every
call, as in a cluster). The Node has no podCIDR at first: it is NotReady with upstream's
"container runtime network not ready" and a pod waits with ``NetworkNotReady``. Once the
test sets the podCIDR (the node IPAM controller's job in a cluster) the kubelet writes the
CNI config, the Node turns Ready and pods run: a busybox pod reaching Running/Ready with an
IP from the CIDR, a pod reading a ConfigMap volume and a Secret env var (seen in its CRI log
file), a crash-looping container restarting, a Job-style pod succeeding, and a deletion
that stops the containers. Each run has its own bridge, CNI network name and pod CIDR;
teardown removes the pods (``kill_pods_on_exit``), containerd, the bridge, the CNI nat
rules and the unreachable routes the kubelet added.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import secrets
import tempfile
from pathlib import Path

import pytest
from kubeletkit import node_kubeconfig
from polling import eventually
from nodehost import (
    UNREACHABLE,
    cleanup_host,
    remove_added_routes,
    route_exists,
    routes_present,
)

from pyk8s.client import NotFound, load_kubeconfig
from pyk8s.kubelet.main import KubeletOptions, run_with_runtime
from pyk8s.kubelet.ownruntime import containerd_options
from pyk8s.kubelet.runtime.cri import CRIRuntime

POD_CIDR = "10.244.251.0/24"


@pytest.fixture
async def kubelet(apiserver, admin, image_cache):
    """The kubelet (own containerd) running in this loop; yields (options, CRI client)."""
    suffix = secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix="pyk8s-kl-", dir="/tmp"))
    node = f"kl-containerd-{suffix}"
    opts = KubeletOptions(node_name=node, root_dir=str(root), node_ip="127.0.0.1",
                          image_cache_dir=str(image_cache), kill_pods_on_exit=True,
                          cni_bridge=f"pyk8sk{suffix}", cni_network=f"pyk8s-kl-{suffix}",
                          node_status_update_frequency=2.0, lease_renew_interval=2.0,
                          pod_resync=2.0)
    routes_before = routes_present()
    config = load_kubeconfig(node_kubeconfig(apiserver, node, root), component="kubelet")
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_with_runtime(opts, config, stop, ready=ready))
    socket = containerd_options(root).socket
    runtime = CRIRuntime(f"unix://{socket}", timeout=30)
    try:
        await asyncio.wait_for(asyncio.shield(ready.wait()), 90)
        yield opts, runtime
    finally:
        stop.set()
        await runtime.close()
        await asyncio.wait_for(task, 60)
        with contextlib.suppress(NotFound):
            await admin.api("v1", "Node").delete(node)
        await asyncio.to_thread(cleanup_host, root, str(socket), opts.cni_bridge,
                                opts.cni_network)
        remove_added_routes(routes_before)


def pod(name, node, command, *, restart="Always", env=None, mounts=None, volumes=None):
    container = {"name": "main", "image": "busybox", "command": ["sh", "-c", command]}
    if env:
        container["env"] = env
    if mounts:
        container["volumeMounts"] = mounts
    return {"metadata": {"name": name},
            "spec": {"nodeName": node, "restartPolicy": restart,
                     "terminationGracePeriodSeconds": 1, "containers": [container],
                     **({"volumes": volumes} if volumes else {})}}


def conditions(obj: dict) -> dict:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}


async def test_kubelet_runs_pods_in_its_own_containerd(kubelet, admin, namespace):
    opts, runtime = kubelet
    node = opts.node_name
    nodes, pods = admin.api("v1", "Node"), admin.api("v1", "Pod")
    for cidr in UNREACHABLE:
        assert route_exists(cidr)

    # no podCIDR yet: the Node is NotReady and a pod waits for the network
    async def network_not_ready():
        ready = conditions(await nodes.get(node)).get("Ready") or {}
        return ready.get("status") == "False" and \
            "container runtime network not ready" in ready.get("message", "")
    await eventually(network_not_ready)
    await pods.create(pod("hello", node, "echo hello; sleep 3600"), namespace=namespace)

    async def waiting_for_network():
        events = await admin.api("v1", "Event").list(namespace=namespace)
        return any(e.get("reason") == "NetworkNotReady" and
                   e["involvedObject"]["name"] == "hello" for e in events["items"])
    await eventually(waiting_for_network)
    assert (await pods.get("hello", namespace=namespace))["status"]["phase"] == "Pending"

    await nodes.patch(node, {"spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]}})

    async def node_ready():
        n = await nodes.get(node)
        return (conditions(n).get("Ready") or {}).get("status") == "True" and n
    n = await eventually(node_ready)
    assert n["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")

    async def hello_running():
        p = await pods.get("hello", namespace=namespace)
        st = p.get("status") or {}
        cs = (st.get("containerStatuses") or [{}])[0]
        return st.get("phase") == "Running" and \
            (conditions(p).get("Ready") or {}).get("status") == "True" and cs.get("ready") and p
    hello = await eventually(hello_running)
    assert ipaddress.ip_address(hello["status"]["podIP"]) in ipaddress.ip_network(POD_CIDR)
    assert hello["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")

    # a ConfigMap volume and an env var from a Secret, seen by the container
    await admin.api("v1", "ConfigMap").create(
        {"metadata": {"name": "cfg"}, "data": {"greeting": "hello-from-cfg"}},
        namespace=namespace)
    await admin.api("v1", "Secret").create(
        {"metadata": {"name": "sec"}, "data": {"pw": base64.b64encode(b"s3cret").decode()}},
        namespace=namespace)
    await pods.create(pod(
        "reader", node, 'echo "pw=$PW"; cat /etc/cfg/greeting; echo; sleep 3600',
        env=[{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "pw"}}}],
        mounts=[{"name": "cfg", "mountPath": "/etc/cfg"}],
        volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}]), namespace=namespace)
    await pods.create(pod("crash", node, "exit 1"), namespace=namespace)
    await pods.create(pod("job", node, "exit 0", restart="Never"), namespace=namespace)

    async def reader_log():
        p = await pods.get("reader", namespace=namespace)
        logs = list(Path(opts.root_dir, "pod-logs").glob(
            f"{namespace}_reader_{p['metadata']['uid']}/main/*.log"))
        text = logs[0].read_text() if logs else ""
        return "stdout F pw=s3cret" in text and "stdout F hello-from-cfg" in text
    await eventually(reader_log)
    hello_log = next(Path(opts.root_dir, "pod-logs").glob(f"{namespace}_hello_*/main/*.log"))
    assert " stdout F hello" in hello_log.read_text()

    async def crash_restarted():
        st = (await pods.get("crash", namespace=namespace)).get("status") or {}
        cs = (st.get("containerStatuses") or [{}])[0]
        return cs.get("restartCount", 0) >= 1 and \
            cs["lastState"]["terminated"]["exitCode"] == 1
    await eventually(crash_restarted)

    async def job_succeeded():
        st = (await pods.get("job", namespace=namespace)).get("status") or {}
        return st.get("phase") == "Succeeded"
    await eventually(job_succeeded)

    # deletion: the containers stop, then the kubelet's confirmation removes the pod
    uid = hello["metadata"]["uid"]
    await pods.delete("hello", namespace=namespace)

    async def hello_gone():
        try:
            await pods.get("hello", namespace=namespace)
        except NotFound:
            return True
        return False
    await eventually(hello_gone)
    assert not [c for c in await runtime.list_containers()
                if c.labels.get("io.kubernetes.pod.uid") == uid
                and c.state == "CONTAINER_RUNNING"]
