"""Disruption controller and the eviction API against a real API server: budgets get their
status from the pods' ReplicaSet scale, evictions spend the budget and answer 429 once it
is gone."""

from __future__ import annotations

import pytest
from conftest import eventually, run_controllers

from pyk8s.client import ApiError, TooManyRequests
from pyk8s.controllers.disruption import DisruptionController

SPEC = {"containers": [{"name": "c", "image": "nginx"}]}


async def _replicaset_with_pods(client, namespace, replicas, pods):
    rs = await client.api("apps/v1", "ReplicaSet").create({
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": SPEC}}},
        namespace=namespace)
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
           "uid": rs["metadata"]["uid"], "controller": True}
    for i in range(pods):
        await client.api("v1", "Pod").create(
            {"metadata": {"name": f"web-{i}", "labels": {"app": "web"},
                          "ownerReferences": [ref]}, "spec": SPEC}, namespace=namespace)
    return rs


def _evict(client, namespace, name, **kw):
    return client.api("v1", "Pod").create(
        {"apiVersion": "policy/v1", "kind": "Eviction",
         "metadata": {"name": name, "namespace": namespace}},
        namespace=namespace, name=name, subresource="eviction", **kw)


def _status_is(client, namespace, name, **want):
    async def check():
        pdb = await client.api("policy/v1", "PodDisruptionBudget").get(name,
                                                                         namespace=namespace)
        status = pdb.get("status") or {}
        if all(status.get(k) == v for k, v in want.items()) and \
                status.get("observedGeneration") == pdb["metadata"]["generation"]:
            return pdb
        return None

    return check


def _condition(pdb):
    return next(c for c in pdb["status"]["conditions"] if c["type"] == "DisruptionAllowed")


async def test_budget_status_and_eviction(client, namespace):
    pdbs, pods = client.api("policy/v1", "PodDisruptionBudget"), client.api("v1", "Pod")
    await _replicaset_with_pods(client, namespace, 3, 3)
    async with run_controllers(client, namespace, DisruptionController):
        await pdbs.create({"metadata": {"name": "budget"},
                           "spec": {"maxUnavailable": 1,
                                    "selector": {"matchLabels": {"app": "web"}}}},
                          namespace=namespace)
        pdb = await eventually(_status_is(client, namespace, "budget", expectedPods=3,
                                          desiredHealthy=2, currentHealthy=3,
                                          disruptionsAllowed=1))
        cond = _condition(pdb)
        assert (cond["status"], cond["reason"]) == ("True", "SufficientPods")

        # dry-run checks, writes nothing
        await _evict(client, namespace, "web-0", dry_run=True)
        assert not (await pods.get("web-0", namespace=namespace))["metadata"].get(
            "deletionTimestamp")
        assert (await pdbs.get("budget", namespace=namespace))["status"][
            "disruptionsAllowed"] == 1

        await _evict(client, namespace, "web-0")
        pdb = await pdbs.get("budget", namespace=namespace)
        assert pdb["status"]["disruptionsAllowed"] == 0
        with pytest.raises(TooManyRequests) as refused:
            await _evict(client, namespace, "web-1")
        status = refused.value.status
        assert status["message"] == ("Cannot evict pod as it would violate the pod's "
                                     "disruption budget.")
        cause = status["details"]["causes"][0]
        assert cause["reason"] == "DisruptionBudget"
        assert cause["message"].startswith("The disruption budget budget needs 2 healthy pods")

        async def gone():
            try:
                await pods.get("web-0", namespace=namespace)
            except ApiError as err:
                return err.status.get("code") == 404
            return False

        await eventually(gone)
        pdb = await eventually(_status_is(client, namespace, "budget", expectedPods=3,
                                          currentHealthy=2, disruptionsAllowed=0))
        assert not pdb["status"].get("disruptedPods")
        cond = _condition(pdb)
        assert (cond["status"], cond["reason"]) == ("False", "InsufficientPods")

        # an integer minAvailable counts the pods themselves: 2 pods, 1 needed
        await pdbs.patch("budget", {"spec": {"maxUnavailable": None, "minAvailable": 1}},
                         namespace=namespace)
        await eventually(_status_is(client, namespace, "budget", expectedPods=2,
                                    desiredHealthy=1, currentHealthy=2, disruptionsAllowed=1))
        await _evict(client, namespace, "web-1")

        # a second budget selecting the same pods: the eviction API gives up
        await pdbs.create({"metadata": {"name": "other"},
                           "spec": {"minAvailable": 0, "selector": {}}}, namespace=namespace)
        with pytest.raises(ApiError) as both:
            await _evict(client, namespace, "web-2")
        assert both.value.status["code"] == 500
        assert "more than one PodDisruptionBudget" in both.value.status["message"]


async def test_percentages_follow_the_replicaset_scale(client, namespace):
    pdbs = client.api("policy/v1", "PodDisruptionBudget")
    await _replicaset_with_pods(client, namespace, 4, 2)
    async with run_controllers(client, namespace, DisruptionController):
        await pdbs.create({"metadata": {"name": "half"},
                           "spec": {"minAvailable": "50%",
                                    "selector": {"matchLabels": {"app": "web"}}}},
                          namespace=namespace)
        await eventually(_status_is(client, namespace, "half", expectedPods=4,
                                    desiredHealthy=2, currentHealthy=2, disruptionsAllowed=0))
        await client.api("apps/v1", "ReplicaSet").patch("web", {"spec": {"replicas": 3}},
                                                         namespace=namespace)
        await eventually(_status_is(client, namespace, "half", expectedPods=3,
                                    desiredHealthy=2, currentHealthy=2, disruptionsAllowed=0))

        # a selected pod without a controller: reported and left out of the scale
        await client.api("v1", "Pod").create(
            {"metadata": {"name": "stray", "labels": {"app": "web"}}, "spec": SPEC},
            namespace=namespace)
        await eventually(_status_is(client, namespace, "half", expectedPods=3,
                                    desiredHealthy=2, currentHealthy=3, disruptionsAllowed=1))


async def test_budget_of_pods_with_no_known_controller_fails_safe(client, namespace):
    pdbs = client.api("policy/v1", "PodDisruptionBudget")
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "missing",
           "uid": "00000000-0000-0000-0000-000000000001", "controller": True}
    await client.api("v1", "Pod").create(
        {"metadata": {"name": "orphan", "labels": {"app": "lost"}, "ownerReferences": [ref]},
         "spec": SPEC}, namespace=namespace)
    async with run_controllers(client, namespace, DisruptionController):
        await pdbs.create({"metadata": {"name": "lost"},
                           "spec": {"maxUnavailable": "10%",
                                    "selector": {"matchLabels": {"app": "lost"}}}},
                          namespace=namespace)

        async def failed():
            pdb = await pdbs.get("lost", namespace=namespace)
            cond = next((c for c in (pdb.get("status") or {}).get("conditions") or ()
                         if c["type"] == "DisruptionAllowed"), None)
            return cond is not None and cond["reason"] == "SyncFailed" and cond

        cond = await eventually(failed)
        assert cond["status"] == "False"
        assert 'found no controllers for pod "orphan"' in cond["message"]
