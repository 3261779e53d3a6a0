"""The scheduler against a real API server: where pods land for each plugin family,
what an unschedulable pod is told, and preemption."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyk8s.client import NotFound

pytestmark = pytest.mark.timeout(60)

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def pod(name: str, *, cpu: str | None = None, **spec) -> dict:
    container = {"name": "c", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    return {"metadata": {"name": name, "labels": spec.pop("labels", {"app": name})},
            "spec": {"containers": [container], **spec}}


async def create(client, namespace, *bodies) -> None:
    for body in bodies:
        await client.api("v1", "Pod").create(body, namespace=namespace)


async def node_of(client, namespace, name, timeout=15.0) -> str:
    pods = client.api("v1", "Pod")
    async with asyncio.timeout(timeout):
        while True:
            p = await pods.get(name, namespace=namespace)
            if p["spec"].get("nodeName"):
                return p["spec"]["nodeName"]
            await asyncio.sleep(0.1)


async def condition(client, namespace, name, timeout=15.0) -> dict:
    pods = client.api("v1", "Pod")
    async with asyncio.timeout(timeout):
        while True:
            p = await pods.get(name, namespace=namespace)
            for c in p.get("status", {}).get("conditions") or ():
                if c["type"] == "PodScheduled" and c["status"] == "False":
                    return c
            await asyncio.sleep(0.1)


async def test_resources_and_least_allocated(client, namespace, nodes, scheduler):
    await nodes("res-small", cpu="1")
    await nodes("res-big", cpu="8")
    await scheduler()
    await create(client, namespace, pod("wants-2", cpu="2"), pod("wants-half", cpu="500m"))
    assert await node_of(client, namespace, "wants-2") == "res-big"
    # LeastAllocated: 8 cpu with 2 used is still emptier than 1 cpu.
    assert await node_of(client, namespace, "wants-half") == "res-big"


async def test_taints_affinity_ports_nodename(client, namespace, nodes, scheduler):
    await nodes("t-tainted", taints=[CONTROL_PLANE_TAINT], labels={"zone": "a"})
    await nodes("t-plain", labels={"zone": "b", "disk": "ssd"})
    await nodes("t-other", labels={"zone": "c"})
    await scheduler()
    tolerate = [{"key": CONTROL_PLANE_TAINT["key"], "operator": "Exists"}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]}]}]}}}
    port_pod = pod("port-1", nodeSelector={"disk": "ssd"})
    port_pod["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    port_pod2 = pod("port-2")
    port_pod2["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    await create(client, namespace, pod("tolerates", tolerations=tolerate, affinity=affinity),
                 pod("selector", nodeSelector={"disk": "ssd"}), port_pod)
    assert await node_of(client, namespace, "tolerates") == "t-tainted"
    assert await node_of(client, namespace, "selector") == "t-plain"
    assert await node_of(client, namespace, "port-1") == "t-plain"
    await create(client, namespace, port_pod2, pod("named", nodeName="t-other"))
    assert await node_of(client, namespace, "port-2") == "t-other"
    assert await node_of(client, namespace, "named") == "t-other"


async def test_inter_pod_affinity_and_spread(client, namespace, nodes, scheduler):
    for i, zone in enumerate("aabb"):
        await nodes(f"z-{i}", labels={"topology.kubernetes.io/zone": zone})
    await scheduler()
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}},
         "topologyKey": "topology.kubernetes.io/zone"}]}}
    await create(client, namespace, pod("db-0", labels={"app": "db"}, affinity=anti))
    first = await node_of(client, namespace, "db-0")
    await create(client, namespace, pod("db-1", labels={"app": "db"}, affinity=anti))
    second = await node_of(client, namespace, "db-1")
    zone = {"z-0": "a", "z-1": "a", "z-2": "b", "z-3": "b"}
    assert zone[first] != zone[second]
    near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}, "matchExpressions": [
            {"key": "app", "operator": "In", "values": ["db"]}]},
         "topologyKey": "kubernetes.io/hostname"}]}}
    await create(client, namespace, pod("cache", affinity=near))
    assert await node_of(client, namespace, "cache") in (first, second)
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
               "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    await create(client, namespace, *(pod(f"web-{i}", labels={"app": "web"},
                                          topologySpreadConstraints=spread)
                                      for i in range(4)))
    placed = [await node_of(client, namespace, f"web-{i}") for i in range(4)]
    assert sorted(placed) == ["z-0", "z-1", "z-2", "z-3"]


async def test_unschedulable_condition_event_and_describe(client, namespace, nodes,
                                                          scheduler, sched_server):
    await nodes("u-cp", taints=[CONTROL_PLANE_TAINT])
    await nodes("u-1", cpu="1")
    await nodes("u-2", cpu="1")
    await scheduler()
    await create(client, namespace, pod("huge", cpu="2"))
    cond = await condition(client, namespace, "huge")
    expected = ("0/3 nodes are available: 1 node(s) had untolerated taint "
                "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: "
                "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    assert cond["reason"] == "Unschedulable"
    assert cond["message"] == expected
    events = client.api("events.k8s.io/v1", "Event")
    async with asyncio.timeout(10):
        while True:
            items = (await events.list(namespace=namespace))["items"]
            failed = [e for e in items if e.get("reason") == "FailedScheduling"]
            if failed:
                break
            await asyncio.sleep(0.2)
    assert failed[0]["note"] == expected
    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        kubectl = "kubectl"
    out = await asyncio.to_thread(
        subprocess.run, [str(kubectl), "describe", "pod", "huge", "-n", namespace],
        capture_output=True, text=True, timeout=20,
        env={**os.environ, "KUBECONFIG": str(sched_server.kubeconfig)})
    assert "FailedScheduling" in out.stdout, out.stdout + out.stderr
    assert "Insufficient cpu" in out.stdout


async def test_preemption_evicts_lower_priority(client, namespace, nodes, scheduler):
    classes = client.api("scheduling.k8s.io/v1", "PriorityClass")
    suffix = namespace
    for name, value in (("low", 10), ("high", 1000)):
        await classes.create({"metadata": {"name": f"{name}-{suffix}"}, "value": value})
    try:
        await nodes("p-only", cpu="2")
        await scheduler()
        await create(client, namespace, pod("victim", cpu="1500m",
                                            priorityClassName=f"low-{suffix}"))
        assert await node_of(client, namespace, "victim") == "p-only"
        await create(client, namespace, pod("preemptor", cpu="1500m",
                                            priorityClassName=f"high-{suffix}"))
        pods = client.api("v1", "Pod")
        async with asyncio.timeout(20):
            while True:
                try:
                    v = await pods.get("victim", namespace=namespace)
                except NotFound:
                    break
                if v["metadata"].get("deletionTimestamp"):
                    # No kubelet here: finish the graceful deletion ourselves.
                    await pods.delete("victim", namespace=namespace, grace_period_seconds=0)
                await asyncio.sleep(0.1)
        assert await node_of(client, namespace, "preemptor", timeout=20) == "p-only"
    finally:
        for name in ("low", "high"):
            await classes.delete(f"{name}-{suffix}")
