"""Nodes, Namespaces, Leases and the small networking/policy/storage strategies."""

from __future__ import annotations

import copy

import pytest

from pyk8s.apiserver.kinds import strategy_for


def test_namespace_create(create):
    obj, errs = create("", "Namespace", {"metadata": {"name": "team-a"}})
    assert errs == []
    assert obj["spec"] == {"finalizers": ["kubernetes"]}
    assert obj["status"] == {"phase": "Active"}
    assert obj["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert strategy_for("", "Namespace").selectable_fields(obj) == {
        "status.phase": "Active", "name": "team-a"}


@pytest.mark.parametrize(
    "meta, spec, expected",
    [
        ({"name": "team.a"}, {}, ['metadata.name: Invalid value: "team.a": must not contain dots']),
        ({"name": "a"}, {"finalizers": ["custom"]},
         ['spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name '
          "nor is it fully qualified"]),
        ({"name": "a"}, {"finalizers": ["example.com/custom"]}, []),
    ],
)
def test_namespace_validation(create, meta, spec, expected):
    assert create("", "Namespace", {"metadata": meta, "spec": spec})[1] == expected


def test_namespace_update_keeps_finalizers_and_name_label(create, update):
    old, _ = create("", "Namespace", {"metadata": {"name": "a"}})
    new = {"metadata": {"name": "a", "labels": {"team": "x"}}, "spec": {"finalizers": []}}
    got, errs = update("", "Namespace", new, old)
    assert errs == []
    assert got["spec"]["finalizers"] == ["kubernetes"]
    assert got["metadata"]["labels"] == {"team": "x", "kubernetes.io/metadata.name": "a"}


def test_node(create, update):
    obj, errs = create("", "Node", {"metadata": {"name": "n1"},
                                    "spec": {"podCIDR": "10.244.1.0/24", "unschedulable": True},
                                    "status": {"capacity": {"cpu": "4", "pods": "110"}}})
    assert errs == []
    assert obj["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    assert obj["status"]["allocatable"] == {"cpu": "4", "pods": "110"}
    assert strategy_for("", "Node").selectable_fields(obj) == {"spec.unschedulable": "true"}
    new = copy.deepcopy(obj)
    new["spec"]["podCIDR"] = "10.244.2.0/24"
    new["spec"]["podCIDRs"] = ["10.244.2.0/24"]
    assert update("", "Node", new, obj)[1] == [
        'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']


@pytest.mark.parametrize(
    "taints, expected",
    [
        ([{"key": "gpu", "effect": "NoSchedule"}], []),
        ([{"key": "gpu", "effect": "Sometimes"}],
         ['metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: '
          '"NoSchedule", "PreferNoSchedule", "NoExecute"']),
        ([{"key": "gpu"}], ["metadata.taints[0].effect: Required value"]),
        ([{"key": "gpu", "effect": "NoSchedule"}, {"key": "gpu", "effect": "NoSchedule"}],
         ['metadata.taints[1]: Duplicate value: {"key":"gpu","effect":"NoSchedule"}: taints must '
          "be unique by key and effect pair"]),
    ],
)
def test_node_taints(create, taints, expected):
    node = {"metadata": {"name": "n"}, "spec": {"taints": taints}}
    assert create("", "Node", node)[1] == expected


def test_node_pod_cidrs(create):
    _, errs = create("", "Node", {"metadata": {"name": "n"},
                                  "spec": {"podCIDRs": ["10.0.0.0/24", "10.1.0.0/24"]}})
    assert errs == ['spec.podCIDRs: Invalid value: ["10.0.0.0/24","10.1.0.0/24"]: may specify no '
                    "more than one CIDR for each IP family"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"holderIdentity": "me", "leaseDurationSeconds": 15}, []),
        ({"leaseDurationSeconds": 0},
         ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]),
        ({"leaseTransitions": -1},
         ["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"]),
    ],
)
def test_lease(create, spec, expected):
    lease = {"metadata": {"name": "l"}, "spec": spec}
    assert create("coordination.k8s.io", "Lease", lease)[1] == expected
    assert strategy_for("coordination.k8s.io", "Lease").allow_create_on_update


def test_network_policy_defaults(create):
    obj, errs = create("networking.k8s.io", "NetworkPolicy", {"metadata": {"name": "np"}, "spec": {
        "podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}})
    assert errs == []
    assert obj["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert obj["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"
    assert strategy_for("networking.k8s.io", "NetworkPolicy").tracks_generation


def test_ingress_and_pdb(create):
    obj, errs = create("networking.k8s.io", "Ingress", {"metadata": {"name": "i"}, "spec": {
        "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                                       "backend": {"service": {"name": "s",
                                                               "port": {"number": 80}}}}]}}]}})
    assert errs == []
    assert obj["status"] == {"loadBalancer": {}}
    obj, errs = create("policy", "PodDisruptionBudget", {"metadata": {"name": "p"}, "spec": {
        "minAvailable": 1, "maxUnavailable": "10%", "selector": {"matchLabels": {"a": "b"}}}})
    assert errs == ['spec: Invalid value: {"minAvailable":1,"maxUnavailable":"10%","selector":'
                    '{"matchLabels":{"a":"b"}}}: minAvailable and maxUnavailable cannot be both '
                    "set"]
    assert obj["status"]["disruptionsAllowed"] == 0


def test_volumes(create):
    pv, errs = create("", "PersistentVolume", {"metadata": {"name": "pv1"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/data"}}})
    assert errs == []
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["spec"]["hostPath"]["type"] == ""
    assert pv["status"]["phase"] == "Pending"
    pvc, errs = create("", "PersistentVolumeClaim", {"metadata": {"name": "c"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    assert errs == []
    assert pvc["status"] == {"phase": "Pending"}
    _, errs = create("", "PersistentVolumeClaim", {"metadata": {"name": "c"}, "spec": {}})
    assert errs == ["spec.accessModes: Required value: at least 1 access mode is required",
                    "spec.resources[storage]: Required value"]
    sc, _ = create("storage.k8s.io", "StorageClass", {"metadata": {"name": "std"},
                                                      "provisioner": "x"})
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
