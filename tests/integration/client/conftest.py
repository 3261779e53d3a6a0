"""Client fixtures: an open pyk8s.client.Client on the session API server, and a fresh
namespace per test so tests do not see each other's objects."""

from __future__ import annotations

import uuid

import pytest

from pyk8s.client import Client, load_kubeconfig


@pytest.fixture
async def client(apiserver):
    async with Client(load_kubeconfig(apiserver.kubeconfig, component="client-test")) as c:
        yield c


@pytest.fixture
async def namespace(client):
    name = f"client-{uuid.uuid4().hex[:8]}"
    namespaces = client.api("v1", "Namespace")
    await namespaces.create({"metadata": {"name": name}})
    yield name
    await namespaces.delete(name)
