"""Deployment controller (with the ReplicaSet controller) against a real API server,
driven partly by the real kubectl (rollout status / undo / pause / resume)."""

from __future__ import annotations

import asyncio
import subprocess

from conftest import eventually, run_controllers

from pyk8s.client import SharedInformerFactory
from pyk8s.controllers.deployment import DeploymentController
from pyk8s.controllers.replicaset import ReplicaSetController
from pyk8s.controllers.util.pods import is_pod_ready

CONTROLLERS = (DeploymentController, ReplicaSetController)


def deploy_body(name: str, replicas: int, image: str, strategy: dict | None = None) -> dict:
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": 1, "maxUnavailable": 1}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def kubectl(apiserver, namespace: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "-n", namespace, *args], env=apiserver.env(),
                          capture_output=True, text=True, timeout=60, check=False)


async def kubectl_async(apiserver, namespace, *args):
    return await asyncio.to_thread(kubectl, apiserver, namespace, *args)


def complete(d: dict) -> bool:
    st, want = d.get("status") or {}, d["spec"]["replicas"]
    return st.get("observedGeneration", 0) >= d["metadata"]["generation"] and \
        st.get("updatedReplicas") == want and st.get("replicas") == want and \
        st.get("availableReplicas") == want


async def wait_complete(api, namespace, name):
    async def check():
        d = await api.get(name, namespace=namespace)
        return d if complete(d) else None
    return await eventually(check)


async def test_rolling_update_rollout_and_undo(client, namespace, apiserver):
    deployments, rss = client.api("apps/v1", "Deployment"), client.api("apps/v1", "ReplicaSet")
    factory = SharedInformerFactory(client)
    pods = factory.informer("v1", "Pod", namespace=namespace)
    lowest: list[int] = []
    watching = asyncio.Event()

    def observe(*_):
        if watching.is_set():
            lowest.append(sum(1 for p in pods.store.list() if is_pod_ready(p)
                              and not p["metadata"].get("deletionTimestamp")))

    pods.add_event_handler(on_add=observe, on_update=observe, on_delete=observe)
    async with run_controllers(client, namespace, *CONTROLLERS), factory:
        await deployments.create(deploy_body("web", 4, "nginx:1"), namespace=namespace)
        d = await wait_complete(deployments, namespace, "web")
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
        assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        first = (await rss.list(namespace=namespace))["items"]
        assert len(first) == 1
        rs1 = first[0]
        pod_hash = rs1["metadata"]["labels"]["pod-template-hash"]
        assert rs1["metadata"]["name"] == f"web-{pod_hash}"
        assert rs1["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "4"
        assert rs1["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "5"

        watching.set()
        await deployments.patch("web", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:2"}]}}}}, namespace=namespace, type="strategic")
        status = await kubectl_async(apiserver, namespace, "rollout", "status",
                                     "deployment/web", "--timeout=60s")
        assert status.returncode == 0, status.stderr
        assert "successfully rolled out" in status.stdout
        d = await wait_complete(deployments, namespace, "web")
        watching.clear()
        assert lowest and min(lowest) >= 4 - 1
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

        history = await kubectl_async(apiserver, namespace, "rollout", "history",
                                      "deployment/web")
        assert history.returncode == 0 and "1" in history.stdout and "2" in history.stdout
        undo = await kubectl_async(apiserver, namespace, "rollout", "undo", "deployment/web")
        assert undo.returncode == 0, undo.stderr

        async def back_to_first():
            d = await deployments.get("web", namespace=namespace)
            rs = await rss.get(rs1["metadata"]["name"], namespace=namespace)
            return complete(d) and rs["spec"]["replicas"] == 4 and \
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"

        await eventually(back_to_first)
        d = await deployments.get("web", namespace=namespace)
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
        rs = await rss.get(rs1["metadata"]["name"], namespace=namespace)
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert len((await rss.list(namespace=namespace))["items"]) == 2


async def test_scale_pause_resume(client, namespace, apiserver):
    deployments, rss = client.api("apps/v1", "Deployment"), client.api("apps/v1", "ReplicaSet")
    async with run_controllers(client, namespace, *CONTROLLERS):
        await deployments.create(deploy_body("app", 2, "nginx:1"), namespace=namespace)
        await wait_complete(deployments, namespace, "app")
        assert (await kubectl_async(apiserver, namespace, "scale", "deployment/app",
                                    "--replicas=3")).returncode == 0
        await eventually(lambda: _ready(deployments, namespace, "app", 3))

        assert (await kubectl_async(apiserver, namespace, "rollout", "pause",
                                    "deployment/app")).returncode == 0
        await deployments.patch("app", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:2"}]}}}}, namespace=namespace, type="strategic")
        await deployments.patch("app", {"spec": {"replicas": 4}}, namespace=namespace)

        async def paused_and_scaled():
            d = await deployments.get("app", namespace=namespace)
            conds = {c["type"]: c for c in d["status"].get("conditions") or ()}
            return d["status"].get("observedGeneration") == d["metadata"]["generation"] and \
                d["status"].get("availableReplicas") == 4 and \
                conds["Progressing"]["reason"] == "DeploymentPaused"

        await eventually(paused_and_scaled)
        assert len((await rss.list(namespace=namespace))["items"]) == 1

        assert (await kubectl_async(apiserver, namespace, "rollout", "resume",
                                    "deployment/app")).returncode == 0
        status = await kubectl_async(apiserver, namespace, "rollout", "status",
                                     "deployment/app", "--timeout=60s")
        assert status.returncode == 0, status.stderr
        items = (await rss.list(namespace=namespace))["items"]
        assert sorted(rs["spec"]["replicas"] for rs in items) == [0, 4]


async def test_recreate(client, namespace, apiserver):
    deployments, rss = client.api("apps/v1", "Deployment"), client.api("apps/v1", "ReplicaSet")
    async with run_controllers(client, namespace, *CONTROLLERS):
        await deployments.create(deploy_body("rec", 2, "nginx:1", {"type": "Recreate"}),
                                 namespace=namespace)
        await wait_complete(deployments, namespace, "rec")
        await deployments.patch("rec", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:2"}]}}}}, namespace=namespace, type="strategic")
        status = await kubectl_async(apiserver, namespace, "rollout", "status",
                                     "deployment/rec", "--timeout=60s")
        assert status.returncode == 0, status.stderr
        items = (await rss.list(namespace=namespace))["items"]
        assert sorted(rs["spec"]["replicas"] for rs in items) == [0, 2]


async def _ready(api, namespace, name, count):
    d = await api.get(name, namespace=namespace)
    return complete(d) and d["status"]["availableReplicas"] == count
