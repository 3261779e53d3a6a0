# ruff: noqa: F811 -- pytest fixtures imported from workloadkit are parameters here
"""The StatefulSet controller against a real API server: ordered creation with stable
names, identities and PVCs, scale down in reverse order, and a partitioned RollingUpdate
that replaces pods from the highest ordinal, tracked by ControllerRevisions."""

from __future__ import annotations

from workloadkit import FakeKubelet, client, create_node, namespace, running, wait_for  # noqa: F401

from pyk8s.controllers.statefulset import StatefulSetController


def sts_body(name: str, replicas: int, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
            {"name": "main", "image": "nginx:1"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        **spec}}


async def live_pods(client, namespace) -> dict[str, dict]:
    listing = await client.api("v1", "Pod").list(namespace=namespace)
    return {p["metadata"]["name"]: p for p in listing["items"]
            if not p["metadata"].get("deletionTimestamp")}


async def test_ordered_creation_scale_down_and_rolling_update(client, namespace):
    node = f"ss-{namespace}"
    await create_node(client, node)
    sets = client.api("apps/v1", "StatefulSet")
    order: list[str] = []

    def outcome(pod):
        order.append(pod["metadata"]["name"])
        return "Running"

    async with running(client, StatefulSetController), \
            FakeKubelet(client, namespace, [node], outcome):
        await sets.create(sts_body("web", 3), namespace=namespace)

        async def ready(n):
            sts = await sets.get("web", namespace=namespace)
            st = sts["status"]
            return sts if st.get("readyReplicas") == n and st.get("replicas") == n and \
                st.get("observedGeneration") == sts["metadata"]["generation"] else None

        sts = await wait_for(lambda: ready(3), timeout=30)
        assert order == ["web-0", "web-1", "web-2"]  # each waited for the one before
        pods = await live_pods(client, namespace)
        assert sorted(pods) == ["web-0", "web-1", "web-2"]
        revision = sts["status"]["updateRevision"]
        assert sts["status"]["currentRevision"] == revision
        assert sts["status"]["currentReplicas"] == sts["status"]["updatedReplicas"] == 3
        for name, pod in pods.items():
            labels = pod["metadata"]["labels"]
            assert labels["statefulset.kubernetes.io/pod-name"] == name
            assert labels["apps.kubernetes.io/pod-index"] == name[-1]
            assert labels["controller-revision-hash"] == revision
            assert pod["spec"]["hostname"] == name and pod["spec"]["subdomain"] == "web"
            claim = next(v for v in pod["spec"]["volumes"] if v["name"] == "data")
            assert claim["persistentVolumeClaim"]["claimName"] == f"data-{name}"
        claims = await client.api("v1", "PersistentVolumeClaim").list(namespace=namespace)
        assert sorted(c["metadata"]["name"] for c in claims["items"]) == \
            ["data-web-0", "data-web-1", "data-web-2"]
        revisions = await client.api("apps/v1", "ControllerRevision").list(namespace=namespace)
        assert [r["metadata"]["name"] for r in revisions["items"]] == [revision]

        # scale down: web-2 goes first, then web-1; claims are retained
        deleted: list[str] = []
        await sets.patch("web", {"spec": {"replicas": 1}}, namespace=namespace)

        async def scaled_down():
            pods = await live_pods(client, namespace)
            for name in ("web-2", "web-1"):
                if name not in pods and name not in deleted:
                    deleted.append(name)
            return await ready(1)

        await wait_for(scaled_down, timeout=30)
        assert deleted == ["web-2", "web-1"]
        claims = await client.api("v1", "PersistentVolumeClaim").list(namespace=namespace)
        assert len(claims["items"]) == 3

        # rolling update above partition 1 of 3 replicas: only web-2 and web-1, highest first
        await sets.patch("web", {"spec": {"replicas": 3}}, namespace=namespace)
        await wait_for(lambda: ready(3), timeout=30)
        order.clear()
        await sets.patch("web", {"spec": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
            "template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}},
            namespace=namespace)

        async def updated():
            sts = await ready(3)
            return sts if sts and sts["status"].get("updatedReplicas") == 2 else None

        sts = await wait_for(updated, timeout=30)
        assert order == ["web-2", "web-1"]
        pods = await live_pods(client, namespace)
        assert pods["web-0"]["spec"]["containers"][0]["image"] == "nginx:1"
        assert pods["web-2"]["spec"]["containers"][0]["image"] == "nginx:2"
        assert sts["status"]["currentRevision"] == revision != sts["status"]["updateRevision"]
        assert pods["web-1"]["metadata"]["labels"]["controller-revision-hash"] == \
            sts["status"]["updateRevision"]


async def test_parallel_pods_and_on_delete(client, namespace):
    node = f"sp-{namespace}"
    await create_node(client, node)
    sets, pods_api = client.api("apps/v1", "StatefulSet"), client.api("v1", "Pod")
    async with running(client, StatefulSetController), \
            FakeKubelet(client, namespace, [node], lambda pod: None):  # pods stay Pending
        await sets.create(sts_body("db", 3, podManagementPolicy="Parallel",
                                   updateStrategy={"type": "OnDelete"}), namespace=namespace)

        async def all_created():
            pods = await live_pods(client, namespace)
            return pods if len(pods) == 3 else None

        pods = await wait_for(all_created)  # none waited for the others to be Ready
        assert sorted(pods) == ["db-0", "db-1", "db-2"]
        await sets.patch("db", {"spec": {"template": {"spec": {"containers": [
            {"name": "main", "image": "nginx:2"}]}}}}, namespace=namespace)

        async def two_revisions():
            sts = await sets.get("db", namespace=namespace)
            st = sts["status"]
            return sts if st.get("updateRevision") != st.get("currentRevision") and \
                st.get("observedGeneration") == sts["metadata"]["generation"] else None

        sts = await wait_for(two_revisions)
        pods = await live_pods(client, namespace)
        assert {p["spec"]["containers"][0]["image"] for p in pods.values()} == {"nginx:1"}
        await pods_api.delete("db-1", namespace=namespace)  # OnDelete: the user replaces

        async def replaced():
            pod = (await live_pods(client, namespace)).get("db-1")
            return pod if pod and pod["spec"]["containers"][0]["image"] == "nginx:2" else None

        pod = await wait_for(replaced)
        assert pod["metadata"]["labels"]["controller-revision-hash"] == \
            sts["status"]["updateRevision"]
