"""LimitRanger defaults and bounds; ResourceQuota charging, exact under concurrency."""

from __future__ import annotations

import asyncio

from conftest import pod

LIMITS = {"metadata": {"name": "lr"}, "spec": {"limits": [
    {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
     "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}},
    {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "5Gi"}}]}}


def claim(name: str, size: str) -> dict:
    return {"metadata": {"name": name}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}


async def test_limit_range_defaults_and_bounds(api):
    await api.create("limitranges", LIMITS, "default")
    created = (await api.create("pods", pod(), "default")).object
    assert created["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; "
        "cpu, memory limit for container app")
    big = pod("big")
    big["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    err = await api.refused(api.create("pods", big, "default"))
    assert (err.code, err.message) == (403, 'pods "big" is forbidden: maximum cpu usage per '
                                             "Container is 1, but limit is 2")
    err = await api.refused(api.create("persistentvolumeclaims", claim("c", "10Gi"), "default"))
    assert err.message == ('persistentvolumeclaims "c" is forbidden: maximum storage usage per '
                           "PersistentVolumeClaim is 5Gi, but request is 10Gi")
    err = await api.refused(api.create("persistentvolumeclaims", claim("d", "500Mi"), "default"))
    assert err.message.endswith("minimum storage usage per PersistentVolumeClaim is 1Gi, but "
                                "request is 500Mi")
    await api.create("persistentvolumeclaims", claim("ok", "2Gi"), "default")


async def test_limit_request_ratio(api):
    await api.create("limitranges", {"metadata": {"name": "ratio"}, "spec": {"limits": [
        {"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]}}, "default")
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"},
                                               "limits": {"cpu": "1"}}
    err = await api.refused(api.create("pods", p, "default"))
    assert err.message == ('pods "p" is forbidden: cpu max limit to request ratio per Container '
                           "is 2, but provided ratio is 10.000000")


async def test_quota_recalculated_on_create_and_enforced(api):
    for i in range(2):
        await api.create("configmaps", {"metadata": {"name": f"pre{i}"}}, "default")
    quota = (await api.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {
        "count/configmaps": "3", "pods": "1", "requests.cpu": "1"}}}, "default")).object
    assert quota["status"] == {"hard": {"count/configmaps": "3", "pods": "1", "requests.cpu": "1"},
                               "used": {"count/configmaps": "2", "pods": "0",
                                        "requests.cpu": "0"}}
    await api.create("configmaps", {"metadata": {"name": "third"}}, "default")
    err = await api.refused(api.create("configmaps", {"metadata": {"name": "fourth"}}, "default"))
    assert (err.code, err.message) == (
        403, 'configmaps "fourth" is forbidden: exceeded quota: q, requested: '
             "count/configmaps=1, used: count/configmaps=3, limited: count/configmaps=3")
    err = await api.refused(api.create("pods", pod(), "default"))
    assert err.message == ('pods "p" is forbidden: failed quota: q: must specify requests.cpu '
                           "for: app")
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "600m"}}
    await api.create("pods", p, "default")
    used = (await api.get("resourcequotas", "default", "q"))["status"]["used"]
    assert used == {"count/configmaps": "3", "pods": "1", "requests.cpu": "600m"}
    p["metadata"]["name"] = "p2"
    err = await api.refused(api.create("pods", p, "default"))
    assert err.message == ('pods "p2" is forbidden: exceeded quota: q, requested: pods=1,'
                           "requests.cpu=600m, used: pods=1,requests.cpu=600m, limited: pods=1,"
                           "requests.cpu=1")


async def test_quota_exact_under_concurrent_creates(api):
    await api.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {
        "count/configmaps": "5"}}}, "default")
    results = await asyncio.gather(*(
        api.create("configmaps", {"metadata": {"name": f"c{i}"}}, "default")
        for i in range(10)), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 5
    assert all(r.code == 403 for r in results if isinstance(r, Exception))
    quota = await api.get("resourcequotas", "default", "q")
    assert quota["status"]["used"] == {"count/configmaps": "5"}


async def test_quota_spec_change_recalculates(api):
    await api.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {
        "configmaps": "5"}}}, "default")
    await api.create("configmaps", {"metadata": {"name": "a"}}, "default")

    def grow(q: dict) -> dict:
        q["spec"]["hard"] = {"configmaps": "5", "secrets": "2"}
        return q

    await api.update("resourcequotas", "default", "q", grow)
    for _ in range(50):
        status = (await api.get("resourcequotas", "default", "q")).get("status") or {}
        if "secrets" in status.get("used", {}):
            break
        await asyncio.sleep(0.05)
    assert status == {"hard": {"configmaps": "5", "secrets": "2"},
                      "used": {"configmaps": "1", "secrets": "0"}}
