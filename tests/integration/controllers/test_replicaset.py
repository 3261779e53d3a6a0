"""ReplicaSet and ReplicationController controllers against a real API server."""

from __future__ import annotations

from conftest import eventually, run_controllers

from pyk8s.controllers.replicaset import ReplicaSetController
from pyk8s.controllers.replicationcontroller import ReplicationControllerController

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def rs_body(name: str, replicas: int) -> dict:
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": TEMPLATE}}


async def _active_pods(client, namespace):
    pods = (await client.api("v1", "Pod").list(namespace=namespace,
                                               label_selector="app=web"))["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


async def test_replicaset_scale_adopt_release(client, namespace):
    rs_api, pods = client.api("apps/v1", "ReplicaSet"), client.api("v1", "Pod")
    await pods.create({"metadata": {"name": "orphan", "labels": {"app": "web"}},
                                "spec": TEMPLATE["spec"]}, namespace=namespace)
    async with run_controllers(client, namespace, ReplicaSetController):
        rs = await rs_api.create(rs_body("web", 3), namespace=namespace)

        async def settled(want):
            got = await rs_api.get("web", namespace=namespace)
            st = got["status"]
            if st.get("replicas") == want and st.get("readyReplicas") == want and \
                    st.get("availableReplicas") == want and \
                    st.get("observedGeneration") == got["metadata"]["generation"] and \
                    len(await _active_pods(client, namespace)) == want:
                return got
            return None

        await eventually(lambda: settled(3))
        live = await _active_pods(client, namespace)
        assert all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
                   for p in live)
        adopted = await pods.get("orphan", namespace=namespace)
        ref = adopted["metadata"]["ownerReferences"][0]
        assert ref["controller"] and ref["blockOwnerDeletion"] and ref["kind"] == "ReplicaSet"
        assert all(p["metadata"]["name"].startswith("web-") for p in live
                   if p["metadata"]["name"] != "orphan")

        await rs_api.patch("web", {"spec": {"replicas": 5}}, namespace=namespace)
        await eventually(lambda: settled(5))
        await rs_api.patch("web", {"spec": {"replicas": 1}}, namespace=namespace)
        await eventually(lambda: settled(1))

        survivor = (await _active_pods(client, namespace))[0]["metadata"]["name"]
        await pods.patch(survivor, {"metadata": {"labels": {"app": "other"}}},
                         namespace=namespace)

        async def released():
            pod = await pods.get(survivor, namespace=namespace)
            return not pod["metadata"].get("ownerReferences")

        await eventually(released)
        await eventually(lambda: settled(1))  # a replacement was created

        events = (await client.api("events.k8s.io/v1", "Event").list(namespace=namespace))
        reasons = {e["reason"] for e in events["items"]}
        assert {"SuccessfulCreate", "SuccessfulDelete"} <= reasons


async def test_replicationcontroller(client, namespace):
    rcs = client.api("v1", "ReplicationController")
    async with run_controllers(client, namespace, ReplicationControllerController):
        await rcs.create({"metadata": {"name": "rc"},
                          "spec": {"replicas": 2, "selector": {"app": "web"},
                                   "template": TEMPLATE}}, namespace=namespace)

        async def ready():
            rc = await rcs.get("rc", namespace=namespace)
            return rc["status"].get("readyReplicas") == 2 and \
                len(await _active_pods(client, namespace)) == 2

        await eventually(ready)
        pod = (await _active_pods(client, namespace))[0]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"
        assert pod["metadata"]["generateName"] == "rc-"
