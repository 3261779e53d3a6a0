"""The REST client against a real server: CRUD, errors, patches, pagination, watch,
subresources, discovery and retry_on_conflict."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.client import AlreadyExists, Conflict, Invalid, NotFound, retry_on_conflict
from pyk8s.client.errors import ResourceNotServed


def cm(name: str, **data) -> dict:
    return {"metadata": {"name": name, "labels": {"suite": "client"}}, "data": data}


async def test_crud_and_errors(client, namespace):
    cms = client.api("v1", "ConfigMap")
    created = await cms.create(cm("a", x="1"), namespace=namespace)
    assert created["kind"] == "ConfigMap" and created["metadata"]["uid"]
    with pytest.raises(AlreadyExists) as err:
        await cms.create(cm("a"), namespace=namespace)
    assert isinstance(err.value, Conflict) and err.value.status["reason"] == "AlreadyExists"

    got = await cms.get("a", namespace=namespace)
    assert got["data"] == {"x": "1"}
    updated = await cms.update({**got, "data": {"x": "2"}})
    assert updated["metadata"]["resourceVersion"] != got["metadata"]["resourceVersion"]
    with pytest.raises(Conflict):
        await cms.update({**got, "data": {"x": "stale"}})

    patched = await cms.patch("a", {"data": {"y": "3"}}, namespace=namespace)
    assert patched["data"] == {"x": "2", "y": "3"}
    patched = await cms.patch("a", [{"op": "remove", "path": "/data/x"}],
                              namespace=namespace, type="json")
    assert patched["data"] == {"y": "3"}
    patched = await cms.patch("a", {"data": {"z": "4"}}, namespace=namespace, type="strategic")
    assert patched["data"] == {"y": "3", "z": "4"}
    applied = await cms.patch("b", {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "b"}, "data": {"k": "v"}},
                              namespace=namespace, type="apply", field_manager="client-test")
    assert applied["data"] == {"k": "v"}

    await cms.delete("a", namespace=namespace,
                     preconditions={"uid": created["metadata"]["uid"]})
    with pytest.raises(NotFound) as err:
        await cms.get("a", namespace=namespace)
    assert err.value.code == 404 and err.value.details.get("name") == "a"
    with pytest.raises(Invalid):
        await cms.create({"metadata": {"name": "Bad_Name"}}, namespace=namespace)


async def test_pagination_and_delete_collection(client, namespace):
    cms = client.api(group="", version="v1", plural="configmaps")
    for i in range(7):
        await cms.create(cm(f"p{i}"), namespace=namespace)
    pages = [p async for p in cms.pages(namespace=namespace, limit=3,
                                         label_selector="suite=client")]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    names = [o["metadata"]["name"] async for o in cms.iterate(
        namespace=namespace, limit=2, label_selector="suite=client")]
    assert names == [f"p{i}" for i in range(7)]
    assert all(o["kind"] == "ConfigMap" for p in pages for o in p["items"])

    await cms.delete_collection(namespace=namespace, label_selector="suite=client")
    left = await cms.list(namespace=namespace, label_selector="suite=client")
    assert left["items"] == []


async def test_watch_stream(client, namespace):
    cms = client.api("v1", "ConfigMap")
    rv = (await cms.list(namespace=namespace))["metadata"]["resourceVersion"]
    seen = []

    async def watch():
        async for kind, obj in cms.watch(namespace=namespace, resource_version=rv,
                                         timeout_seconds=10):
            seen.append((kind, obj["metadata"]["name"]))
            if kind == "DELETED":
                return

    task = asyncio.create_task(watch())
    await cms.create(cm("w"), namespace=namespace)
    await cms.patch("w", {"data": {"a": "b"}}, namespace=namespace)
    await cms.delete("w", namespace=namespace)
    await asyncio.wait_for(task, 10)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_watch_ends_at_server_timeout(client, namespace):
    cms = client.api("v1", "ConfigMap")
    events = [e async for e in cms.watch(namespace=namespace, timeout_seconds=1)]
    assert events == []


async def test_subresources_scale_and_status(client, namespace):
    deployments = client.api("apps/v1", "Deployment")
    labels = {"app": "web"}
    await deployments.create({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}},
        namespace=namespace)
    scale = await deployments.get("web", namespace=namespace, subresource="scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    scale["spec"]["replicas"] = 3
    await deployments.update({**scale, "metadata": {**scale["metadata"]}}, subresource="scale")
    assert (await deployments.get("web", namespace=namespace))["spec"]["replicas"] == 3

    dep = await deployments.patch_status("web", {"status": {"observedGeneration": 7}},
                                         namespace=namespace)
    assert dep["status"]["observedGeneration"] == 7
    assert dep["spec"]["replicas"] == 3


async def test_unknown_kind_is_not_served(client):
    with pytest.raises(ResourceNotServed):
        await client.api("example.com/v1", "Nope").list()


async def test_retry_on_conflict_survives_a_racing_writer(client, namespace):
    cms = client.api("v1", "ConfigMap")
    await cms.create(cm("counter", n="0"), namespace=namespace)
    raced = []

    async def get():
        obj = await cms.get("counter", namespace=namespace)
        if not raced:  # someone else writes between our get and our update
            raced.append(True)
            await cms.patch("counter", {"data": {"other": "x"}}, namespace=namespace)
        return obj

    def mutate(obj):
        obj["data"]["n"] = str(int(obj["data"]["n"]) + 1)
        return obj

    result = await retry_on_conflict(get, mutate, cms.update)
    assert result["data"] == {"n": "1", "other": "x"}
    unchanged = await retry_on_conflict(get, lambda obj: None, cms.update)
    assert unchanged["metadata"]["resourceVersion"] == result["metadata"]["resourceVersion"]
