"""The namespace controller against a real API server: a deleted namespace is emptied
(built-in kinds and custom resources), then finalized and removed; content held by a
finalizer keeps it Terminating with upstream's conditions until released."""

from __future__ import annotations

import asyncio

from lifecycle_harness import eventually, gone, running, unique

from pyk8s.client import ApiError
from pyk8s.controllers.garbagecollector import GarbageCollector
from pyk8s.controllers.namespace import NamespaceController

HOLD = "example.com/hold"


async def create_crd(client, group: str) -> None:
    crds = client.api("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    await crds.create({"metadata": {"name": f"widgets.{group}"}, "spec": {
        "group": group, "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
            "openAPIV3Schema": {"type": "object",
                                "x-kubernetes-preserve-unknown-fields": True}}}]}})


async def create_when_served(api, body: dict, namespace: str) -> dict:
    async def attempt():
        try:
            return await api.create(body, namespace=namespace)
        except ApiError:  # the CRD is not established yet
            await asyncio.sleep(0.2)
            return None
    return await eventually(attempt)


async def test_deleting_a_namespace_deletes_its_content_then_the_namespace(apiserver):
    async with running(apiserver, NamespaceController, GarbageCollector) as client:
        ns = unique("ns")
        group = f"{unique('ns')}.example.com"
        namespaces = client.api("v1", "Namespace")
        await namespaces.create({"metadata": {"name": ns}})
        await create_crd(client, group)
        try:
            cms, secrets = client.api("v1", "ConfigMap"), client.api("v1", "Secret")
            services = client.api("v1", "Service")
            widgets = client.api(group=group, version="v1", plural="widgets")
            for i in range(3):
                await cms.create({"metadata": {"name": f"cm{i}"}, "data": {}}, namespace=ns)
                await secrets.create({"metadata": {"name": f"s{i}"}, "stringData": {"k": "v"}},
                                     namespace=ns)
            await services.create({"metadata": {"name": "web"}, "spec": {
                "ports": [{"port": 80}], "selector": {"app": "web"}}}, namespace=ns)
            await create_when_served(widgets, {"metadata": {"name": "w1"}, "spec": {}}, ns)

            await namespaces.delete(ns)
            await eventually(lambda: gone(namespaces, ns))
            for api in (cms, secrets, services, widgets):
                assert (await api.list(namespace=ns))["items"] == []
        finally:
            await client.api("apiextensions.k8s.io/v1",
                             "CustomResourceDefinition").delete(f"widgets.{group}")


def conditions(ns: dict) -> dict:
    return {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or ()}


async def test_content_with_finalizers_keeps_the_namespace_terminating(apiserver):
    async with running(apiserver, NamespaceController) as client:
        ns = unique("ns")
        namespaces, cms = client.api("v1", "Namespace"), client.api("v1", "ConfigMap")
        await namespaces.create({"metadata": {"name": ns}})
        await cms.create({"metadata": {"name": "held", "finalizers": [HOLD]}}, namespace=ns)
        await cms.create({"metadata": {"name": "free"}}, namespace=ns)
        await namespaces.delete(ns)

        async def reported():
            got = conditions(await namespaces.get(ns))
            remaining = got.get("NamespaceContentRemaining", {})
            return got if remaining.get("status") == "True" else None

        got = await eventually(reported)
        assert got["NamespaceContentRemaining"]["reason"] == "SomeResourcesRemain"
        assert got["NamespaceContentRemaining"]["message"] == (
            "Some resources are remaining: configmaps. has 1 resource instances")
        assert got["NamespaceFinalizersRemaining"]["status"] == "True"
        assert got["NamespaceFinalizersRemaining"]["message"] == (
            "Some content in the namespace has finalizers remaining: "
            "example.com/hold in 1 resource instances")
        for ok in ("NamespaceDeletionDiscoveryFailure",
                   "NamespaceDeletionGroupVersionParsingFailure",
                   "NamespaceDeletionContentFailure"):
            assert got[ok]["status"] == "False"
        current = await namespaces.get(ns)
        assert current["status"]["phase"] == "Terminating"
        assert current["spec"]["finalizers"] == ["kubernetes"]
        assert await gone(cms, "free", ns)

        await cms.patch("held", {"metadata": {"finalizers": None}}, namespace=ns)
        # any change to the namespace makes the controller look again at once
        await namespaces.patch(ns, {"metadata": {"annotations": {"poke": "1"}}})
        await eventually(lambda: gone(namespaces, ns))
