"""Test kit for the workload controllers (Job, CronJob, StatefulSet, DaemonSet) against
the session API server: a client, a namespace with its ``default`` ServiceAccount, a
running controller, Nodes, and ``FakeKubelet`` -- a stand-in for scheduler + kubelet that
binds pods to the test's Nodes and drives their status (Running/Ready, or
Succeeded/Failed with a container exit code) as ``outcome(pod)`` says, and finishes
deletions as a kubelet would.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Self

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


@pytest.fixture
async def client(apiserver):
    async with Client(load_config(str(apiserver.kubeconfig))) as c:
        yield c


@pytest.fixture
async def namespace(client):
    name = f"wl-{uuid.uuid4().hex[:8]}"
    await client.api("v1", "Namespace").create({"metadata": {"name": name}})
    await client.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                    namespace=name)
    yield name
    with contextlib.suppress(ApiError):
        await client.api("v1", "Namespace").delete(name)


@contextlib.asynccontextmanager
async def running(client: Client, *controller_classes, workers: bool = True, **attrs):
    """Run controllers in-process (as the controller manager does) until the block ends;
    ``workers=False`` only feeds their informers, for tests that call ``sync`` themselves."""
    factory = SharedInformerFactory(client)
    async with EventRecorder(client, reporting_controller="test-controller-manager",
                             reporting_instance="test") as recorder:
        ctx = ControllerContext(client=client, informers=factory,
                                options=ControllerManagerOptions(), recorder=recorder)
        controllers = [cls(ctx) for cls in controller_classes]
        for controller in controllers:
            for name, value in attrs.items():
                setattr(controller, name, value)
        factory.start()
        await factory.wait_for_sync(30)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(stop)) for c in controllers] if workers else []
        try:
            yield controllers[0] if len(controllers) == 1 else controllers
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await factory.stop()


async def create_node(client: Client, name: str, *, labels: dict | None = None,
                      taints: list | None = None, ready: bool = True) -> dict:
    await client.api("v1", "Node").create({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or []}})
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                              "reason": "KubeletReady", "lastHeartbeatTime": now(),
                              "lastTransitionTime": now()}]}
    return await client.api("v1", "Node").patch(name, {"status": status},
                                                subresource="status")


async def wait_for(predicate: Callable, timeout: float = 20.0, interval: float = 0.1):
    """Poll an (async) predicate until it answers something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(interval)


def running_status(pod: dict) -> dict:
    containers = [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"],
                   "imageID": "", "state": {"running": {"startedAt": now()}}}
                  for c in pod["spec"]["containers"]]
    return {"phase": "Running", "startTime": now(), "containerStatuses": containers,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now()}]}


def terminated_status(pod: dict, exit_code: int) -> dict:
    phase = "Succeeded" if exit_code == 0 else "Failed"
    containers = [{"name": c["name"], "ready": False, "restartCount": 0, "image": c["image"],
                   "imageID": "", "state": {"terminated": {
                       "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                       "startedAt": now(), "finishedAt": now()}}}
                  for c in pod["spec"]["containers"]]
    return {"phase": phase, "startTime": now(), "containerStatuses": containers,
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now()}]}


class FakeKubelet:
    """Binds the namespace's pods round-robin to ``nodes`` (unless they name a node or
    require one via nodeAffinity matchFields), then applies ``outcome(pod)``: ``"Running"``
    (running and ready), an int exit code (terminated), or None (leave it Pending)."""

    def __init__(self, client: Client, namespace: str, nodes: list[str],
                 outcome: Callable[[dict], object] = lambda pod: "Running") -> None:
        self.client, self.namespace, self.nodes = client, namespace, nodes
        self.outcome = outcome
        self.pods = client.api("v1", "Pod")
        self._next = 0
        self._task: asyncio.Task | None = None
        self.handled: set[str] = set()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _loop(self) -> None:
        while True:
            listing = await self.pods.list(namespace=self.namespace)
            for pod in listing.get("items") or []:
                try:
                    await self._handle(pod)
                except ApiError:
                    pass  # raced with the controller; the next pass sees the new state
            await asyncio.sleep(0.1)

    def _target(self, pod: dict) -> str | None:
        affinity = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
        terms = ((affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
                 .get("nodeSelectorTerms") or [])
        for term in terms:
            for field in term.get("matchFields") or ():
                if field.get("key") == "metadata.name":
                    return field["values"][0]
        if not self.nodes:
            return None
        self._next += 1
        return self.nodes[self._next % len(self.nodes)]

    async def _handle(self, pod: dict) -> None:
        meta, spec, status = pod["metadata"], pod["spec"], pod.get("status") or {}
        name, phase = meta["name"], status.get("phase")
        if meta.get("deletionTimestamp"):
            if spec.get("nodeName") and phase not in ("Succeeded", "Failed"):
                await self.pods.patch(name, {"status": terminated_status(pod, 137)},
                                      namespace=self.namespace, subresource="status")
            if spec.get("nodeName"):
                await self.pods.delete(name, namespace=self.namespace, grace_period_seconds=0)
            return
        if not spec.get("nodeName"):
            node = self._target(pod)
            if node is None:
                return
            await self.pods.create({"apiVersion": "v1", "kind": "Binding",
                                    "metadata": {"name": name},
                                    "target": {"kind": "Node", "name": node}},
                                   namespace=self.namespace, name=name, subresource="binding")
            return
        if phase in ("Succeeded", "Failed") or meta["uid"] in self.handled:
            return
        result = self.outcome(pod)
        if result is None:
            return
        body = running_status(pod) if result == "Running" else terminated_status(pod, result)
        await self.pods.patch(name, {"status": body}, namespace=self.namespace,
                              subresource="status")
        if result == "Running":
            self.handled.add(meta["uid"])
