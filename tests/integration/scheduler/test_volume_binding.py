"""VolumeBinding against a real API server, with the persistentvolume-binder running
in-process: a pod whose Immediate claim is unbound stays Pending (FailedScheduling,
upstream's message) until the claim binds; a WaitForFirstConsumer claim waits for its
pod and is bound to the volume on the node the scheduler chose."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pyk8s.client import EventRecorder, SharedInformerFactory
from pyk8s.controllers import ControllerContext
from pyk8s.controllers.base import ControllerManagerOptions
from pyk8s.controllers.persistentvolume import PersistentVolumeBinder

pytestmark = pytest.mark.timeout(60)

UNBOUND = ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
           "preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
           "scheduling.")


@contextlib.asynccontextmanager
async def volume_binder(client):
    factory = SharedInformerFactory(client)
    async with EventRecorder(client, reporting_controller="persistentvolume-binder",
                             reporting_instance="test") as recorder:
        ctx = ControllerContext(client=client, informers=factory, recorder=recorder,
                                options=ControllerManagerOptions())
        binder = PersistentVolumeBinder(ctx)
        factory.start()
        stop = asyncio.Event()
        try:
            assert await factory.wait_for_sync(30)
            task = asyncio.create_task(binder.run(stop))
            try:
                yield
            finally:
                stop.set()
                await task
        finally:
            await factory.stop()


def pv(name: str, *, cls: str = "", host: str = "") -> dict:
    spec = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": cls, "hostPath": {"path": f"/tmp/{name}"}}
    if host:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}
    return {"metadata": {"name": name}, "spec": spec}


def pvc(name: str, cls: str = "") -> dict:
    return {"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                     "resources": {"requests": {"storage": "1Gi"}}}}


def pod_with_claim(name: str, claim: str) -> dict:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "volumes": [{"name": "data",
                                  "persistentVolumeClaim": {"claimName": claim}}]}}


async def poll(check, timeout: float = 20.0):
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.1)
    return result


@pytest.fixture
async def volumes(client, namespace):
    """PersistentVolumes and StorageClasses made by the test, deleted afterwards."""
    made: list[tuple[str, str, str]] = []

    async def make(api_version: str, kind: str, body: dict) -> None:
        await client.api(api_version, kind).create(body)
        made.append((api_version, kind, body["metadata"]["name"]))

    yield make
    for api_version, kind, name in made:
        with contextlib.suppress(Exception):
            await client.api(api_version, kind).delete(name)


async def test_unbound_claims_keep_pods_pending_until_bound(client, namespace, nodes,
                                                              scheduler, volumes):
    await nodes("vb-a")
    await nodes("vb-b")
    pods = client.api("v1", "Pod")
    claims = client.api("v1", "PersistentVolumeClaim")
    local = f"local-{namespace}"
    async with volume_binder(client):
        await scheduler()
        await claims.create(pvc("data"), namespace=namespace)
        await pods.create(pod_with_claim("waits", "data"), namespace=namespace)
        await pods.create(pod_with_claim("orphan", "missing"), namespace=namespace)

        async def unschedulable(name: str):
            p = await pods.get(name, namespace=namespace)
            return next((c for c in p.get("status", {}).get("conditions") or ()
                         if c["type"] == "PodScheduled" and c["status"] == "False"), None)

        cond = await poll(lambda: unschedulable("waits"))
        assert (cond["reason"], cond["message"]) == ("Unschedulable", UNBOUND)
        cond = await poll(lambda: unschedulable("orphan"))
        assert cond["message"].startswith(
            '0/2 nodes are available: persistentvolumeclaim "missing" not found.')

        async def failed_scheduling():
            items = (await client.api("events.k8s.io/v1", "Event")
                     .list(namespace=namespace))["items"]
            return [e for e in items if e.get("reason") == "FailedScheduling"
                    and e["regarding"]["name"] == "waits"]

        assert (await poll(failed_scheduling))[0]["note"] == UNBOUND
        assert not (await pods.get("waits", namespace=namespace))["spec"].get("nodeName")

        # The claim binds once a volume exists (pre-bound to it, so the binder acts at
        # once rather than at its 15 s resync); the claim's update requeues the pod.
        static = pv(f"{namespace}-static")
        static["spec"]["claimRef"] = {"namespace": namespace, "name": "data"}
        await volumes("v1", "PersistentVolume", static)

        async def node_of(name: str):
            return (await pods.get(name, namespace=namespace))["spec"].get("nodeName")

        assert await poll(lambda: node_of("waits")) in ("vb-a", "vb-b")

        # WaitForFirstConsumer: the controller leaves the claim to the scheduler, which
        # picks the volume on the chosen node.
        await volumes("storage.k8s.io/v1", "StorageClass", {
            "metadata": {"name": local}, "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "WaitForFirstConsumer"})
        for host in ("vb-a", "vb-b"):
            await volumes("v1", "PersistentVolume",
                          pv(f"{namespace}-{host}", cls=local, host=host))
        await claims.create(pvc("local", local), namespace=namespace)

        async def waiting_event():
            items = (await client.api("events.k8s.io/v1", "Event")
                     .list(namespace=namespace))["items"]
            return [e for e in items if e.get("reason") == "WaitForFirstConsumer"]

        await poll(waiting_event)
        claim = await claims.get("local", namespace=namespace)
        assert not claim["spec"].get("volumeName")
        assert claim["status"]["phase"] == "Pending"

        await pods.create(pod_with_claim("consumer", "local"), namespace=namespace)
        node = await poll(lambda: node_of("consumer"))

        async def bound():
            c = await claims.get("local", namespace=namespace)
            return c if c.get("status", {}).get("phase") == "Bound" else None

        claim = await poll(bound)
        assert claim["spec"]["volumeName"] == f"{namespace}-{node}"
        volume = await client.api("v1", "PersistentVolume").get(f"{namespace}-{node}")
        assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
