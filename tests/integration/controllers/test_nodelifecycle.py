"""Node lifecycle, taint eviction, node IPAM and pod GC in-process against a real API
server. The test plays the kubelets: it renews Leases and posts Ready heartbeats, stops
for one node, and watches the node go Unknown and tainted, its pods marked not ready and
evicted once their tolerationSeconds run out, and the taints go when it comes back."""

# ruff: noqa: F811 -- pytest fixtures imported from netkit are parameters here
from __future__ import annotations

import asyncio
import contextlib
import uuid

from netkit import (  # noqa: F401  (kube and kube_ns are fixtures)
    delete_nodes,
    eventually,
    kube,
    kube_ns,
    make_node,
    post_status,
    renew_lease,
    run_pod,
    running,
)

from pyk8s.client import NotFound
from pyk8s.controllers.nodeipam import NodeIPAMController
from pyk8s.controllers.nodelifecycle import NodeLifecycleController
from pyk8s.controllers.podgc import PodGCController, Quarantine
from pyk8s.controllers.tainteviction import TaintEvictionController

UNREACHABLE = "node.kubernetes.io/unreachable"


async def heartbeat(client, name: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await renew_lease(client, name)
        await post_status(client, name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def taint_set(node: dict) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []}


async def test_dead_node_is_tainted_its_pods_evicted_and_it_recovers(kube, kube_ns):
    suffix = uuid.uuid4().hex[:6]
    dead, alive = f"dead-{suffix}", f"alive-{suffix}"
    labels = {"topology.kubernetes.io/region": "test", "topology.kubernetes.io/zone": suffix}
    nodes, pods = kube.api("v1", "Node"), kube.api("v1", "Pod")
    stop_alive = asyncio.Event()
    for name in (dead, alive):
        await make_node(kube, name, labels=labels)
        await renew_lease(kube, name)
    beating = asyncio.create_task(heartbeat(kube, alive, stop_alive))
    try:
        await run_pod(kube, kube_ns, "short", dead, "10.244.9.2", tolerations=[
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 2}])
        await run_pod(kube, kube_ns, "stays", dead, "10.244.9.3",
                      tolerations=[{"operator": "Exists"}])
        async with running(kube, NodeLifecycleController, TaintEvictionController,
                           node_monitor_grace_period=3, node_startup_grace_period=600):
            async def unknown():
                node = await nodes.get(dead)
                ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
                return node if ready["status"] == "Unknown" and \
                    {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")} <= \
                    taint_set(node) else None

            node = await eventually(unknown, timeout=30)
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            assert ready["reason"] == "NodeStatusUnknown"
            assert ready["message"] == "Kubelet stopped posting node status."
            assert all(t.get("timeAdded") for t in node["spec"]["taints"])
            assert not taint_set(await nodes.get(alive))

            async def evicted():
                try:
                    pod = await pods.get("short", namespace=kube_ns)
                except NotFound:
                    return True
                return bool(pod["metadata"].get("deletionTimestamp"))

            await eventually(evicted, timeout=15)

            async def marked_not_ready():
                pod = await pods.get("stays", namespace=kube_ns)
                ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
                return pod if ready["status"] == "False" else None

            stays = await eventually(marked_not_ready)
            assert not stays["metadata"].get("deletionTimestamp")

            # the kubelet comes back
            await renew_lease(kube, dead)
            await post_status(kube, dead)

            async def untainted():
                return not taint_set(await nodes.get(dead))

            await eventually(untainted, timeout=20)
            assert not (await pods.get("stays", namespace=kube_ns))["metadata"].get(
                "deletionTimestamp")
    finally:
        stop_alive.set()
        await beating
        await delete_nodes(kube, dead, alive)


async def test_nodeipam_assigns_distinct_cidrs_and_keeps_existing_ones(kube):
    suffix = uuid.uuid4().hex[:6]
    names = [f"ipam-{suffix}-{i}" for i in range(3)]
    nodes = kube.api("v1", "Node")
    try:
        await nodes.create({"metadata": {"name": names[0]},
                            "spec": {"podCIDR": "10.251.0.0/24"}})
        async with running(kube, NodeIPAMController, cluster_cidr="10.251.0.0/16") as (ipam,):
            for name in names[1:]:
                await nodes.create({"metadata": {"name": name}})

            async def allocated():
                got = [(await nodes.get(n))["spec"].get("podCIDRs") for n in names]
                return got if all(got) else None

            cidrs = await eventually(allocated)
            flat = [c[0] for c in cidrs]
            assert flat[0] == "10.251.0.0/24" and len(set(flat)) == 3
            assert all(c.endswith("/24") and c.startswith("10.251.") for c in flat)
            node = await nodes.get(names[1])
            assert node["spec"]["podCIDR"] == node["spec"]["podCIDRs"][0]

            await nodes.delete(names[2])

            async def released():
                return names[2] not in ipam.held

            await eventually(released)
    finally:
        await delete_nodes(kube, *names)


async def test_podgc_deletes_pods_of_vanished_nodes(kube, kube_ns):
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    pods = kube.api("v1", "Pod")
    await pods.create({"metadata": {"name": "orphan"},
                       "spec": {"nodeName": ghost, "containers": [{"name": "c", "image": "i"}]}},
                      namespace=kube_ns)
    async with running(kube, PodGCController) as (gc,):
        gc.quarantine, gc.period = Quarantine(0.5), 0.2

        async def gone():
            try:
                await pods.get("orphan", namespace=kube_ns)
            except NotFound:
                return True
            return False

        await eventually(gone)
