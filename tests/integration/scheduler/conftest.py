"""Scheduler fixtures: a private API server (other suites add Nodes to the shared one,
and these tests count nodes), a client, a namespace with its default ServiceAccount,
and a helper that runs the scheduler in-process for one test."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from serverproc import ServerProcess, free_port

from pyk8s.client import Client, load_kubeconfig
from pyk8s.scheduler.app import run_scheduler
from pyk8s.scheduler.framework.config import parse
from pyk8s.scheduler.plugins import implemented_points


@pytest.fixture(scope="module")
def sched_server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("sched") / "data", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def client(sched_server):
    async with Client(load_kubeconfig(sched_server.kubeconfig, component="sched-test")) as c:
        yield c


@pytest.fixture
async def namespace(client):
    name = f"sched-{uuid.uuid4().hex[:8]}"
    await client.api("v1", "Namespace").create({"metadata": {"name": name}})
    await client.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                     namespace=name)
    yield name
    await client.api("v1", "Namespace").delete(name)


@pytest.fixture
async def nodes(client):
    """A node factory; every node made is deleted after the test."""
    api = client.api("v1", "Node")
    made: list[str] = []

    async def make(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
                   labels: dict | None = None, taints: list | None = None,
                   unschedulable: bool = False) -> dict:
        body = {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                      **(labels or {})}},
                "spec": {"taints": taints or [], "unschedulable": unschedulable},
                "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                           "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                           "conditions": [{"type": "Ready", "status": "True",
                                           "reason": "KubeletReady"}]}}
        node = await api.create(body)
        made.append(name)
        return node

    yield make
    for name in made:
        with contextlib.suppress(Exception):
            await api.delete(name)


@pytest.fixture
async def scheduler(client):
    """Start the scheduler in-process (call the fixture's value once nodes exist)."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def start() -> None:
        config = parse(None, implemented_points())
        config.leader_elect = False
        tasks.append(asyncio.create_task(run_scheduler(client, config, stop)))

    yield start
    stop.set()
    if tasks:
        await asyncio.wait_for(tasks[0], 20)
