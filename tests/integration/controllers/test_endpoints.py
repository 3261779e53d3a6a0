"""Endpoints and EndpointSlice controllers in-process against a real API server: pods the
test binds and marks Ready show up in the Service's Endpoints and slices, readiness changes
move them, headless Services are labelled, and a deleted Service loses both."""

# ruff: noqa: F811 -- pytest fixtures imported from netkit are parameters here
from __future__ import annotations

import uuid

from netkit import (  # noqa: F401  (kube and kube_ns are fixtures)
    delete_nodes,
    eventually,
    kube,
    kube_ns,
    make_node,
    run_pod,
    running,
    set_ready,
)

from pyk8s.client import NotFound
from pyk8s.controllers.endpoints import EndpointsController
from pyk8s.controllers.endpointslice import EndpointSliceController

SLICES = {"group": "discovery.k8s.io", "version": "v1", "plural": "endpointslices"}


def service(name: str, **spec) -> dict:
    return {"metadata": {"name": name, "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "web", "port": 80, "targetPort": "http"}], **spec}}


async def test_endpoints_and_slices_follow_pods(kube, kube_ns):
    node = f"ep-node-{uuid.uuid4().hex[:6]}"
    await make_node(kube, node, labels={"topology.kubernetes.io/zone": "zone-a"})
    services = kube.api("v1", "Service")
    endpoints = kube.api("v1", "Endpoints")
    slices = kube.api(**SLICES)
    http = [{"name": "http", "containerPort": 8080}]
    try:
        async with running(kube, EndpointsController, EndpointSliceController):
            await services.create(service("web"), namespace=kube_ns)
            await services.create(service("db", clusterIP="None"), namespace=kube_ns)
            await run_pod(kube, kube_ns, "a", node, "10.244.1.5", labels={"app": "web"},
                          ports=http)
            await run_pod(kube, kube_ns, "b", node, "10.244.1.6", labels={"app": "web"},
                          ports=[{"name": "http", "containerPort": 9090}], ready=False)
            await run_pod(kube, kube_ns, "other", node, "10.244.1.7", labels={"app": "x"})

            async def subsets():
                try:
                    ep = await endpoints.get("web", namespace=kube_ns)
                except NotFound:
                    return None
                return ep if len(ep.get("subsets") or []) == 2 else None

            ep = await eventually(subsets)
            by_port = {s["ports"][0]["port"]: s for s in ep["subsets"]}
            assert by_port[8080]["addresses"][0]["ip"] == "10.244.1.5"
            assert by_port[8080]["addresses"][0]["nodeName"] == node
            assert by_port[8080]["addresses"][0]["targetRef"]["name"] == "a"
            assert [a["ip"] for a in by_port[9090]["notReadyAddresses"]] == ["10.244.1.6"]
            assert by_port[9090]["ports"] == [{"name": "web", "port": 9090, "protocol": "TCP"}]
            assert ep["metadata"]["labels"] == {"team": "a"}
            assert "endpoints.kubernetes.io/last-change-trigger-time" in \
                ep["metadata"]["annotations"]

            async def web_slices(count: int):
                found = (await slices.list(namespace=kube_ns,
                                           label_selector="kubernetes.io/service-name=web")
                         )["items"]
                endpoints_ = [e for s in found for e in s.get("endpoints") or []]
                return found if len(endpoints_) == count else None

            found = await eventually(lambda: web_slices(2))
            assert len(found) == 2  # one per distinct port list
            for slice_ in found:
                meta = slice_["metadata"]
                assert meta["labels"]["endpointslice.kubernetes.io/managed-by"] == \
                    "endpointslice-controller.k8s.io"
                assert meta["ownerReferences"][0]["kind"] == "Service"
                assert slice_["addressType"] == "IPv4"
            by_pod = {s["endpoints"][0]["targetRef"]["name"]: s for s in found}
            assert by_pod["a"]["endpoints"][0]["conditions"] == {
                "ready": True, "serving": True, "terminating": False}
            assert by_pod["a"]["endpoints"][0]["zone"] == "zone-a"
            assert by_pod["a"]["endpoints"][0]["nodeName"] == node
            assert by_pod["a"]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
            assert by_pod["b"]["endpoints"][0]["conditions"]["ready"] is False

            # readiness flips move the addresses
            await set_ready(kube, kube_ns, "b", True)
            await set_ready(kube, kube_ns, "a", False)

            async def flipped():
                ep = await endpoints.get("web", namespace=kube_ns)
                by_port = {s["ports"][0]["port"]: s for s in ep.get("subsets") or []}
                return 9090 in by_port and "addresses" in by_port[9090] and \
                    "notReadyAddresses" in by_port.get(8080, {})

            await eventually(flipped)

            async def headless():
                try:
                    ep = await endpoints.get("db", namespace=kube_ns)
                except NotFound:
                    return None
                return ep["metadata"].get("labels", {}).get("service.kubernetes.io/headless") \
                    == ""

            await eventually(headless)

            # deleting the Service removes its Endpoints and slices
            await services.delete("web", namespace=kube_ns)

            async def gone():
                try:
                    await endpoints.get("web", namespace=kube_ns)
                    return False
                except NotFound:
                    return not (await slices.list(
                        namespace=kube_ns,
                        label_selector="kubernetes.io/service-name=web"))["items"]

            await eventually(gone)
    finally:
        await delete_nodes(kube, node)


async def test_service_without_pods_gets_a_placeholder_slice(kube, kube_ns):
    services = kube.api("v1", "Service")
    slices = kube.api(**SLICES)
    async with running(kube, EndpointsController, EndpointSliceController):
        await services.create(service("lonely"), namespace=kube_ns)

        async def placeholder():
            found = (await slices.list(namespace=kube_ns,
                                       label_selector="kubernetes.io/service-name=lonely")
                     )["items"]
            return found if found else None

        found = await eventually(placeholder)
        assert len(found) == 1 and not found[0].get("endpoints")
        ep = await eventually(lambda: _get(kube.api("v1", "Endpoints"), "lonely", kube_ns))
        assert not ep.get("subsets")


async def _get(api, name, namespace):
    try:
        return await api.get(name, namespace=namespace)
    except NotFound:
        return None
