# ruff: noqa: F811 -- pytest fixtures imported from workloadkit are parameters here
"""The DaemonSet controller against a real API server: one pod per eligible node pinned by
node affinity, following nodes as they join and leave, honouring nodeSelector and taints,
and a RollingUpdate that replaces pods within maxUnavailable."""

from __future__ import annotations

import contextlib

from workloadkit import FakeKubelet, client, create_node, namespace, running, wait_for  # noqa: F401

from pyk8s.client import ApiError
from pyk8s.controllers.daemonset import DaemonSetController


def ds_body(name: str, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "nodeSelector": {"pool": name}, "containers": [{"name": "c", "image": "agent:1"}]}},
        **spec}}


async def test_daemonset_follows_nodes_and_rolls_out(client, namespace):
    nodes = client.api("v1", "Node")
    sets, pods_api = client.api("apps/v1", "DaemonSet"), client.api("v1", "Pod")
    pool = f"ds{namespace[-8:]}"
    names = [f"{pool}-a", f"{pool}-b"]
    for name in names:
        await create_node(client, name, labels={"pool": pool})
    await create_node(client, f"{pool}-other")  # no pool label: not eligible
    await create_node(client, f"{pool}-tainted", labels={"pool": pool},
                      taints=[{"key": "dedicated", "value": "x", "effect": "NoSchedule"}])

    async def live():
        listing = await pods_api.list(namespace=namespace)
        return {p["spec"].get("nodeName") or "?": p for p in listing["items"]
                if not p["metadata"].get("deletionTimestamp")}

    async def settled(desired):
        ds = await sets.get(pool, namespace=namespace)
        st = ds.get("status") or {}
        ok = st.get("desiredNumberScheduled") == desired and \
            st.get("numberReady") == desired and st.get("updatedNumberScheduled") == desired \
            and st.get("observedGeneration") == ds["metadata"]["generation"] \
            and len(await live()) == desired
        return ds if ok else None

    try:
        async with running(client, DaemonSetController), FakeKubelet(client, namespace, []):
            await sets.create(ds_body(pool), namespace=namespace)
            ds = await wait_for(lambda: settled(2), timeout=30)
            pods = await live()
            assert sorted(pods) == names
            for node, pod in pods.items():
                terms = pod["spec"]["affinity"]["nodeAffinity"][
                    "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                   "values": [node]}]}]
                keys = {t["key"] for t in pod["spec"]["tolerations"]}
                assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
                        "node.kubernetes.io/unschedulable"} <= keys
                assert pod["metadata"]["labels"]["controller-revision-hash"]
            assert ds["status"]["currentNumberScheduled"] == 2
            assert ds["status"]["numberMisscheduled"] == 0

            # a node joins the pool, then one leaves
            await create_node(client, f"{pool}-c", labels={"pool": pool})
            await wait_for(lambda: settled(3), timeout=30)
            await nodes.patch(f"{pool}-a", {"metadata": {"labels": {"pool": None}}})
            await wait_for(lambda: settled(2), timeout=30)
            assert sorted(await live()) == [f"{pool}-b", f"{pool}-c"]

            # new template: pods are replaced one node at a time (maxUnavailable 1)
            await sets.patch(pool, {"spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "agent:2"}]}}}}, namespace=namespace)

            async def rolled():
                ds = await settled(2)
                if not ds:
                    return None
                pods = await live()
                images = {p["spec"]["containers"][0]["image"] for p in pods.values()}
                return ds if images == {"agent:2"} else None

            ds = await wait_for(rolled, timeout=30)
            revisions = await client.api("apps/v1", "ControllerRevision").list(
                namespace=namespace)
            assert len(revisions["items"]) == 2
            assert max(r["revision"] for r in revisions["items"]) == 2

            # a node is deleted: it no longer counts (its pod is PodGC's to remove)
            await nodes.delete(f"{pool}-c")

            async def shrunk():
                st = (await sets.get(pool, namespace=namespace)).get("status") or {}
                return st.get("desiredNumberScheduled") == 1 and \
                    st.get("currentNumberScheduled") == 1
            await wait_for(shrunk, timeout=30)
    finally:
        for name in [*names, f"{pool}-c", f"{pool}-other", f"{pool}-tainted"]:
            with contextlib.suppress(ApiError):
                await nodes.delete(name)
