"""DaemonSet node eligibility (selectors, affinity, taints and default tolerations),
per-node pod planning and RollingUpdate steps, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyk8s.controllers import daemonset_nodes as dn
from pyk8s.controllers import daemonset_update as du

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def node(name="n1", labels=None, taints=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def ds(**pod_spec):
    return {"spec": {"template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": {"containers": [{"name": "c"}], **pod_spec}}}}


def taint(key, effect, value=""):
    return {"key": key, "effect": effect, "value": value}


AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
        {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}]}}}


@pytest.mark.parametrize("daemon,n,expected", [
    (ds(), node(), (True, True)),
    (ds(nodeName="n2"), node(), (False, False)),
    (ds(nodeSelector={"pool": "x"}), node(labels={"pool": "x"}), (True, True)),
    (ds(nodeSelector={"pool": "x"}), node(labels={"pool": "y"}), (False, False)),
    (ds(affinity=AFFINITY), node(labels={"zone": "b"}), (True, True)),
    (ds(affinity=AFFINITY), node(labels={"gpu": "1"}), (True, True)),
    (ds(affinity=AFFINITY), node(labels={"zone": "c"}), (False, False)),
    (ds(), node(taints=[taint("dedicated", "NoSchedule")]), (False, True)),
    (ds(), node(taints=[taint("dedicated", "NoExecute")]), (False, False)),
    (ds(), node(taints=[taint("dedicated", "PreferNoSchedule")]), (True, True)),
    (ds(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "v",
                      "effect": "NoSchedule"}]),
     node(taints=[taint("dedicated", "NoSchedule", "v")]), (True, True)),
    (ds(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "w"}]),
     node(taints=[taint("dedicated", "NoSchedule", "v")]), (False, True)),
    (ds(tolerations=[{"operator": "Exists"}]),
     node(taints=[taint("anything", "NoExecute")]), (True, True)),
    # the defaults every daemon pod tolerates
    (ds(), node(taints=[taint("node.kubernetes.io/not-ready", "NoExecute")]), (True, True)),
    (ds(), node(taints=[taint("node.kubernetes.io/unreachable", "NoExecute")]), (True, True)),
    (ds(), node(taints=[taint("node.kubernetes.io/unschedulable", "NoSchedule")]), (True, True)),
    (ds(), node(taints=[taint("node.kubernetes.io/disk-pressure", "NoSchedule")]), (True, True)),
    (ds(), node(taints=[taint("node.kubernetes.io/memory-pressure", "NoSchedule")]),
     (True, True)),
    (ds(), node(taints=[taint("node.kubernetes.io/pid-pressure", "NoSchedule")]), (True, True)),
    (ds(), node(taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]),
     (False, True)),
    (ds(hostNetwork=True),
     node(taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), (True, True)),
])
def test_should_run(daemon, n, expected):
    assert dn.should_run(daemon, n) == expected


def test_pod_template_for_node():
    template = ds(affinity={"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}],
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
        tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                      "effect": "NoExecute", "tolerationSeconds": 300}])["spec"]["template"]
    body = dn.pod_template_for(template, "n7", "abc", 3)
    affinity = body["spec"]["affinity"]["nodeAffinity"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n7"]}]}]
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    not_ready = [t for t in body["spec"]["tolerations"]
                 if t["key"] == "node.kubernetes.io/not-ready"]
    assert not_ready == [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                          "effect": "NoExecute"}]  # no tolerationSeconds: never evicted
    assert body["metadata"]["labels"] == {"app": "d", "controller-revision-hash": "abc",
                                          "pod-template-generation": "3"}
    assert dn.target_node({"spec": body["spec"]}) == "n7"
    assert "affinity" not in template["spec"] or template["spec"]["affinity"] != body["spec"][
        "affinity"]


def pod(name, hash_="h2", phase="Running", ready=True, created="2024-01-01T00:00:00Z",
        deleting=False):
    meta = {"name": name, "creationTimestamp": created, "labels": {"controller-revision-hash":
                                                                   hash_}}
    if deleting:
        meta["deletionTimestamp"] = created
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize("run,keep,pods,surge,needs,deleted", [
    (True, True, [], False, True, []),
    (False, True, [], False, False, []),
    (True, True, [pod("a")], False, False, []),
    (True, True, [pod("a", created="2024-01-02T00:00:00Z"), pod("b")], False, False, ["a"]),
    (True, True, [pod("a", phase="Succeeded")], False, False, ["a"]),
    (False, False, [pod("a"), pod("b", deleting=True)], False, False, ["a"]),
    (True, True, [pod("a", "h1"), pod("b", "h2"), pod("c", "h2", created="2024-01-03T00:00:00Z")],
     True, False, ["c"]),
])
def test_plan_node(run, keep, pods, surge, needs, deleted):
    plan = du.plan_node(run, keep, pods, "h2", surge)
    assert plan.needs_pod is needs
    assert [p["metadata"]["name"] for p in plan.delete] == deleted


def test_plan_node_failed_pods_are_separate():
    plan = du.plan_node(True, True, [pod("a", phase="Failed")], "h2", False)
    assert [p["metadata"]["name"] for p in plan.failed] == ["a"] and not plan.delete


@pytest.mark.parametrize("value,total,expected", [(1, 10, 1), ("25%", 10, 3), ("0%", 5, 0),
                                                  (None, 3, 0)])
def test_scaled(value, total, expected):
    assert du.scaled(value, total) == expected


def test_budgets_never_both_zero():
    assert du.budgets({"spec": {"updateStrategy": {"rollingUpdate": {
        "maxUnavailable": 0, "maxSurge": 0}}}}, 5) == (0, 1)
    assert du.budgets({"spec": {}}, 5) == (0, 1)
    assert du.budgets({"spec": {"updateStrategy": {"rollingUpdate": {
        "maxUnavailable": 0, "maxSurge": "50%"}}}}, 5) == (3, 0)


def test_rolling_update_max_unavailable():
    nodes = {"n1": [pod("a", "h1")], "n2": [pod("b", "h1")], "n3": [pod("c", "h1", ready=False)],
             "n4": [pod("d", "h2")]}
    delete, create = du.rolling_update(nodes, "h2", 0, 1, 0, NOW, set(nodes))
    # the unavailable old pod is always replaceable, plus one more within the budget
    assert [p["metadata"]["name"] for p in delete] == ["c", "a"] and create == []
    nodes["n4"] = [pod("d", "h2", ready=False)]  # an unavailable new pod uses the budget
    delete, _ = du.rolling_update(nodes, "h2", 0, 1, 0, NOW, set(nodes))
    assert [p["metadata"]["name"] for p in delete] == ["c"]


def test_rolling_update_surge():
    nodes = {"n1": [pod("a", "h1")], "n2": [pod("b", "h1")],
             "n3": [pod("c", "h1"), pod("c2", "h2")], "n4": [pod("d", "h1"), pod("d2", "h2",
                                                                              ready=False)]}
    delete, create = du.rolling_update(nodes, "h2", 2, 0, 0, NOW, set(nodes))
    assert [p["metadata"]["name"] for p in delete] == ["c"]  # its new pod is available
    assert create == ["n1"]  # one surging already (n4), budget 2
