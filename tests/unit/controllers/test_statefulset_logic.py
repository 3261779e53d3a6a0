"""StatefulSet ordinal, identity, revision and rolling-update logic, as tables."""

from __future__ import annotations

import pytest

from pyk8s.controllers import statefulset_pods as sp
from pyk8s.controllers.util import history


def sts(replicas=3, partition=None, strategy="RollingUpdate", start=None, current=0):
    spec = {"replicas": replicas, "serviceName": "svc",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "i"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
            "updateStrategy": {"type": strategy}}
    if partition is not None:
        spec["updateStrategy"]["rollingUpdate"] = {"partition": partition}
    if start is not None:
        spec["ordinals"] = {"start": start}
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "u1"}, "spec": spec,
            "status": {"currentReplicas": current}}


def pod(name, revision="r1", ready=True, deleting=False, phase="Running"):
    meta = {"name": name, "labels": {history.CONTROLLER_REVISION_HASH: revision}}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize("name,parent,ordinal", [
    ("web-0", "web", 0), ("web-12", "web", 12), ("my-web-3", "my-web", 3), ("web", "", -1),
    ("web-x", "", -1),
])
def test_parent_and_ordinal(name, parent, ordinal):
    assert sp.parent_and_ordinal({"metadata": {"name": name}}) == (parent, ordinal)


def test_split_pods_with_start_ordinal():
    pods = [pod(f"web-{i}") for i in (0, 2, 3, 4, 7)] + [pod("web-x")]
    replicas, condemned = sp.split_pods(sts(replicas=3, start=2), pods)
    assert sorted(replicas) == [2, 3, 4]
    assert [p["metadata"]["name"] for p in condemned] == ["web-0", "web-7"]


def test_new_pod_identity_and_claims():
    s = sts()
    ref = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u1",
           "controller": True}
    template = dict(s["spec"]["template"], spec={"containers": [{"name": "c"}], "volumes": [
        {"name": "data", "emptyDir": {}}, {"name": "other", "emptyDir": {}}]})
    p = sp.new_pod(s, template, 4, "web-abc", ref)
    assert p["metadata"]["name"] == "web-4" and "generateName" not in p["metadata"]
    assert p["metadata"]["labels"] == {"app": "web", sp.POD_NAME_LABEL: "web-4",
                                       sp.POD_INDEX_LABEL: "4",
                                       history.CONTROLLER_REVISION_HASH: "web-abc"}
    assert (p["spec"]["hostname"], p["spec"]["subdomain"]) == ("web-4", "svc")
    assert p["spec"]["volumes"] == [{"name": "other", "emptyDir": {}}, {
        "name": "data", "persistentVolumeClaim": {"claimName": "data-web-4"}}]
    assert sp.identity_matches(s, {**p, "spec": p["spec"]})
    (claim,) = sp.claims_for(s, 4)
    assert claim["metadata"]["name"] == "data-web-4"
    assert claim["metadata"]["labels"] == {"app": "web"}


@pytest.mark.parametrize("kwargs,ordinal,expected", [
    ({"partition": 2}, 1, True), ({"partition": 2}, 2, False),
    ({}, 0, False),  # no rollingUpdate parameters and no current replicas
    ({"current": 2}, 1, True),
    ({"strategy": "OnDelete", "partition": 5}, 0, False),
])
def test_use_current_revision(kwargs, ordinal, expected):
    assert sp.use_current_revision(sts(**kwargs), ordinal) is expected


@pytest.mark.parametrize("revisions,ready,partition,strategy,expected", [
    (("r1", "r1", "r1"), (1, 1, 1), 0, "RollingUpdate", ("delete", 2)),
    (("r1", "r1", "r2"), (1, 1, 1), 0, "RollingUpdate", ("delete", 1)),
    (("r1", "r1", "r2"), (1, 1, 0), 0, "RollingUpdate", ("wait", 2)),
    (("r1", "r2", "r2"), (1, 1, 1), 1, "RollingUpdate", ("done", None)),
    (("r1", "r1", "r1"), (1, 1, 1), 3, "RollingUpdate", ("done", None)),
    (("r1", "r1", "r1"), (1, 1, 1), 0, "OnDelete", ("done", None)),
])
def test_rolling_update_target(revisions, ready, partition, strategy, expected):
    replicas = {i: pod(f"web-{i}", r, bool(ok)) for i, (r, ok) in enumerate(
        zip(revisions, ready, strict=True))}
    action, target = sp.rolling_update_target(sts(partition=partition, strategy=strategy),
                                              replicas, "r2")
    assert (action, sp.ordinal(target) if target else None) == expected


def test_revision_hash_names_and_history():
    s = sts()
    data = history.template_patch(s)
    assert data["spec"]["template"]["$patch"] == "replace"
    assert history.template_of({"data": data}) == s["spec"]["template"]
    rev = history.new_revision(s, {"uid": "u1"}, data, 1, None)
    h = history.hash_revision(data)
    assert rev["metadata"]["name"] == f"web-{h}"
    assert rev["metadata"]["labels"][history.CONTROLLER_REVISION_HASH] == h
    assert history.hash_revision(data, 1) != h
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    revs = [{"metadata": {"name": f"r{i}"}, "revision": i, "data": {"n": i}} for i in range(1, 6)]
    assert history.next_revision_number(revs) == 6
    gone = history.revisions_to_delete(revs, {"r1", "r5"}, 2)
    assert [r["metadata"]["name"] for r in gone] == ["r2"]
    assert [r["metadata"]["name"] for r in history.equal_revisions(revs, {"data": {"n": 3}})] \
        == ["r3"]
