"""Test kit for the endpoints, EndpointSlice and node controllers against the session API
server: a client, a namespace with its ``default`` ServiceAccount, Nodes whose status and
Lease the test drives itself (there is no kubelet), pods bound and marked Ready by hand,
and ``running`` to run controllers in-process with short grace periods."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import pytest

from pyk8s.client import (
    ApiError,
    Client,
    EventRecorder,
    SharedInformerFactory,
    load_config,
)
from pyk8s.controllers.base import ControllerContext, ControllerManagerOptions


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
async def kube(apiserver):
    async with Client(load_config(str(apiserver.kubeconfig))) as c:
        yield c


@pytest.fixture
async def kube_ns(kube):
    name = f"net-{uuid.uuid4().hex[:8]}"
    await kube.api("v1", "Namespace").create({"metadata": {"name": name}})
    await kube.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                  namespace=name)
    yield name
    with contextlib.suppress(ApiError):
        await kube.api("v1", "Namespace").delete(name)


@contextlib.asynccontextmanager
async def running(client: Client, *controller_classes, **options):
    """Run controllers in-process (as the controller manager does) until the block ends."""
    factory = SharedInformerFactory(client)
    async with EventRecorder(client, reporting_controller="test-controller-manager",
                             reporting_instance="test") as recorder:
        ctx = ControllerContext(client=client, informers=factory,
                                options=ControllerManagerOptions(**options), recorder=recorder)
        controllers = [cls(ctx) for cls in controller_classes]
        factory.start()
        await factory.wait_for_sync(30)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(stop)) for c in controllers]
        try:
            yield controllers
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await factory.stop()


async def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """Poll the async ``check`` until it returns a truthy value (which is returned)."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(interval)


async def make_node(client: Client, name: str, *, labels: dict | None = None,
                    ready: str | None = "True") -> dict:
    node = await client.api("v1", "Node").create({"metadata": {"name": name,
                                                               "labels": labels or {}}})
    if ready is not None:
        node = await post_status(client, name, ready)
    return node


async def post_status(client: Client, name: str, ready: str = "True") -> dict:
    """What a kubelet's status loop does: a Ready condition with a fresh heartbeat."""
    stamp = now()
    return await client.api("v1", "Node").patch(name, {"status": {"conditions": [
        {"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True"
         else "KubeletNotReady", "message": "test", "lastHeartbeatTime": stamp,
         "lastTransitionTime": stamp}]}}, type="strategic", subresource="status")


async def renew_lease(client: Client, name: str) -> None:
    leases = client.api("coordination.k8s.io/v1", "Lease")
    spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro_now()}
    try:
        current = await leases.get(name, namespace="kube-node-lease")
    except ApiError:
        await leases.create({"metadata": {"name": name, "namespace": "kube-node-lease"},
                             "spec": spec}, namespace="kube-node-lease")
        return
    await leases.update({**current, "spec": {**current["spec"], **spec}})


async def delete_nodes(client: Client, *names: str) -> None:
    for name in names:
        with contextlib.suppress(ApiError):
            await client.api("v1", "Node").delete(name)
        with contextlib.suppress(ApiError):
            await client.api("coordination.k8s.io/v1", "Lease").delete(
                name, namespace="kube-node-lease")


async def run_pod(client: Client, namespace: str, name: str, node: str, ip: str, *,
                  labels: dict | None = None, ready: bool = True, ports=None,
                  tolerations=None) -> dict:
    """Create a pod bound to ``node`` and give it the status a kubelet would."""
    pods = client.api("v1", "Pod")
    spec = {"nodeName": node, "containers": [{"name": "c", "image": "img",
                                              "ports": ports or []}]}
    if tolerations:
        spec["tolerations"] = tolerations
    await pods.create({"metadata": {"name": name, "labels": labels or {}}, "spec": spec},
                      namespace=namespace)
    return await set_ready(client, namespace, name, ready, ip=ip)


async def set_ready(client: Client, namespace: str, name: str, ready: bool,
                    ip: str | None = None) -> dict:
    status = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False",
         "lastTransitionTime": now()}]}
    if ip:
        status.update(podIP=ip, podIPs=[{"ip": ip}])
    return await client.api("v1", "Pod").patch(name, {"status": status}, namespace=namespace,
                                               type="strategic", subresource="status")
