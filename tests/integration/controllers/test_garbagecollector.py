"""The garbage collector against a real API server: background collection of dependents
whose owner is gone, foreground deletion waiting for blocking dependents, orphaning,
references to owners that never existed or live in another namespace, and custom
resources picked up when their CRD appears."""

from __future__ import annotations

import asyncio

import pytest
from lifecycle_harness import eventually, gone, running, unique

from pyk8s.client import ApiError
from pyk8s.controllers.garbagecollector import GarbageCollector

HOLD = "example.com/hold"


def owner_ref(owner: dict, **extra) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], **extra}


def configmap(name: str, *refs: dict, finalizers: tuple[str, ...] = ()) -> dict:
    meta: dict = {"name": name}
    if refs:
        meta["ownerReferences"] = list(refs)
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"metadata": meta, "data": {"k": "v"}}


@pytest.fixture
async def gc(apiserver):
    async with running(apiserver, GarbageCollector) as client:
        yield client


@pytest.fixture
async def ns(gc):
    name = unique("gc")
    namespaces = gc.api("v1", "Namespace")
    await namespaces.create({"metadata": {"name": name}})
    yield name
    cms = gc.api("v1", "ConfigMap")
    for cm in (await cms.list(namespace=name))["items"]:
        if cm["metadata"].get("finalizers"):
            await cms.patch(cm["metadata"]["name"], {"metadata": {"finalizers": None}},
                            namespace=name)
    await namespaces.delete(name)


async def test_dependent_is_deleted_in_background_after_its_owner(gc, ns):
    cms = gc.api("v1", "ConfigMap")
    owner = await cms.create(configmap("owner"), namespace=ns)
    await cms.create(configmap("child", owner_ref(owner)), namespace=ns)
    await cms.create(configmap("grandchild", owner_ref(
        await cms.get("child", namespace=ns))), namespace=ns)
    await cms.delete("owner", namespace=ns)
    await eventually(lambda: gone(cms, "grandchild", ns))
    assert await gone(cms, "child", ns)


async def test_dependent_with_another_live_owner_only_loses_the_dead_reference(gc, ns):
    cms = gc.api("v1", "ConfigMap")
    dead = await cms.create(configmap("dead"), namespace=ns)
    alive = await cms.create(configmap("alive"), namespace=ns)
    await cms.create(configmap("shared", owner_ref(dead), owner_ref(alive)), namespace=ns)
    await cms.delete("dead", namespace=ns)

    async def only_alive_left():
        refs = (await cms.get("shared", namespace=ns))["metadata"].get("ownerReferences")
        return [r["name"] for r in refs] == ["alive"]

    await eventually(only_alive_left)


async def test_foreground_deletion_waits_for_blocking_dependents(gc, ns):
    cms = gc.api("v1", "ConfigMap")
    owner = await cms.create(configmap("owner"), namespace=ns)
    await cms.create(configmap("blocker", owner_ref(owner, blockOwnerDeletion=True),
                               finalizers=(HOLD,)), namespace=ns)
    await cms.create(configmap("free", owner_ref(owner)), namespace=ns)
    await cms.delete("owner", namespace=ns, propagation_policy="Foreground")

    async def blocker_terminating():
        return (await cms.get("blocker", namespace=ns))["metadata"].get("deletionTimestamp")

    await eventually(blocker_terminating)
    await eventually(lambda: gone(cms, "free", ns))
    held = await cms.get("owner", namespace=ns)
    assert held["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert held["metadata"].get("deletionTimestamp")

    await cms.patch("blocker", {"metadata": {"finalizers": None}}, namespace=ns)
    await eventually(lambda: gone(cms, "owner", ns))
    assert await gone(cms, "blocker", ns)


async def test_orphan_deletion_leaves_dependents_without_the_reference(gc, ns):
    cms = gc.api("v1", "ConfigMap")
    owner = await cms.create(configmap("owner"), namespace=ns)
    for name in ("a", "b"):
        await cms.create(configmap(name, owner_ref(owner, blockOwnerDeletion=True)),
                         namespace=ns)
    await cms.delete("owner", namespace=ns, propagation_policy="Orphan")
    await eventually(lambda: gone(cms, "owner", ns))
    for name in ("a", "b"):
        assert "ownerReferences" not in (await cms.get(name, namespace=ns))["metadata"]


async def test_references_to_missing_or_foreign_owners_are_dangling(gc, ns):
    cms = gc.api("v1", "ConfigMap")
    namespaces = gc.api("v1", "Namespace")
    other = unique("gc-other")
    await namespaces.create({"metadata": {"name": other}})
    try:
        foreign = await cms.create(configmap("foreign-owner"), namespace=other)
        ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost",
                 "uid": "00000000-0000-4000-8000-000000000000"}
        await cms.create(configmap("orphaned", ghost), namespace=ns)
        await cms.create(configmap("cross", owner_ref(foreign)), namespace=ns)
        await eventually(lambda: gone(cms, "orphaned", ns))
        await eventually(lambda: gone(cms, "cross", ns))
        assert (await cms.get("foreign-owner", namespace=other))["metadata"]["uid"]
    finally:
        await namespaces.delete(other)


async def test_custom_resources_are_collected_once_their_crd_is_served(gc, ns):
    group = f"{unique('gc')}.example.com"
    crds = gc.api("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    await crds.create({"metadata": {"name": f"gizmos.{group}"}, "spec": {
        "group": group, "scope": "Namespaced",
        "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    try:
        cms = gc.api("v1", "ConfigMap")
        owner = await cms.create(configmap("owner"), namespace=ns)
        gizmos = gc.api(group=group, version="v1", plural="gizmos")

        async def created():
            try:
                return await gizmos.create({"metadata": {"name": "g1",
                                                         "ownerReferences": [owner_ref(owner)]},
                                            "spec": {}}, namespace=ns)
            except ApiError:  # not served yet
                await asyncio.sleep(0.2)
                return None

        await eventually(created)
        await cms.delete("owner", namespace=ns)
        await eventually(lambda: gone(gizmos, "g1", ns))
    finally:
        await crds.delete(f"gizmos.{group}")
