"""Resource quota controller against a real API server: admission charges a quota as
objects are created, the controller gives the usage back once they go away."""

from __future__ import annotations

from conftest import eventually
from workloadkit import running

from pyk8s.controllers.resourcequota import ResourceQuotaController

SPEC = {"containers": [{"name": "c", "image": "nginx"}]}


def _used_is(client, namespace, name, want):
    async def check():
        quota = await client.api("v1", "ResourceQuota").get(name, namespace=namespace)
        used = (quota.get("status") or {}).get("used") or {}
        return quota if all(used.get(k) == v for k, v in want.items()) else None

    return check


async def test_usage_goes_back_down_after_deletes(client, namespace):
    quotas, pods = client.api("v1", "ResourceQuota"), client.api("v1", "Pod")
    configmaps = client.api("v1", "ConfigMap")
    deployments = client.api("apps/v1", "Deployment")
    await quotas.create({"metadata": {"name": "q"},
                         "spec": {"hard": {"pods": "5", "configmaps": "10",
                                           "count/deployments.apps": "3",
                                           "requests.cpu": "2"}}}, namespace=namespace)
    async with running(client, ResourceQuotaController):
        for i in range(3):
            await configmaps.create({"metadata": {"name": f"cm-{i}"}}, namespace=namespace)
        for i in range(2):
            await pods.create({"metadata": {"name": f"p-{i}"}, "spec": {"containers": [
                {"name": "c", "image": "nginx",
                 "resources": {"requests": {"cpu": "500m"}}}]}}, namespace=namespace)
        await deployments.create({"metadata": {"name": "d"}, "spec": {
            "replicas": 0, "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": SPEC}}},
            namespace=namespace)
        quota = await eventually(_used_is(client, namespace, "q", {
            "pods": "2", "count/deployments.apps": "1", "requests.cpu": "1"}))
        assert int(quota["status"]["used"]["configmaps"]) >= 3  # kube-root-ca.crt may count
        assert quota["status"]["hard"] == quota["spec"]["hard"]
        configmaps_before = int(quota["status"]["used"]["configmaps"])

        await configmaps.delete("cm-0", namespace=namespace)
        await configmaps.delete("cm-1", namespace=namespace)
        await pods.delete("p-0", namespace=namespace)
        await deployments.delete("d", namespace=namespace)
        await eventually(_used_is(client, namespace, "q", {
            "pods": "1", "requests.cpu": "500m", "count/deployments.apps": "0",
            "configmaps": str(configmaps_before - 2)}))

        # a pod that finishes no longer uses its compute (count/pods would still count it)
        await pods.patch("p-1", {"status": {"phase": "Succeeded"}}, namespace=namespace,
                         subresource="status")
        await eventually(_used_is(client, namespace, "q", {"pods": "0", "requests.cpu": "0"}))

        # a raised limit is recounted into status.hard
        await quotas.patch("q", {"spec": {"hard": {"pods": "7"}}}, namespace=namespace)

        async def hard_updated():
            quota = await quotas.get("q", namespace=namespace)
            return (quota.get("status") or {}).get("hard", {}).get("pods") == "7"

        await eventually(hard_updated)
