"""Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers."""

from __future__ import annotations

import copy

import pytest

from pyk8s.apiserver.kinds import strategy_for

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}
SELECTOR = {"matchLabels": {"app": "web"}}
NOT_MATCHING = ('spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not '
                "match template `labels`")


def workload(name: str = "web", **spec) -> dict:
    base = {"selector": copy.deepcopy(SELECTOR), "template": copy.deepcopy(TEMPLATE)}
    base.update(spec)
    return {"metadata": {"name": name}, "spec": base}


def test_deployment_defaults(create):
    obj, errs = create("apps", "Deployment", workload())
    assert errs == []
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert spec["template"]["metadata"]["creationTimestamp"] is None
    tspec = spec["template"]["spec"]
    assert tspec["restartPolicy"] == "Always"
    assert tspec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "enableServiceLinks" not in tspec and "tolerations" not in tspec
    assert obj["status"] == {}
    assert strategy_for("apps", "Deployment").tracks_generation


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"selector": None}, ["spec.selector: Required value"]),
        ({"selector": {"matchLabels": {"app": "db"}}}, [NOT_MATCHING]),
        ({"selector": {}},
         ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]),
        ({"replicas": -1},
         ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
        ({"strategy": {"type": "Recreate", "rollingUpdate": {}}},
         ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
          "'Recreate'"]),
        ({"strategy": {"type": "Blue"}},
         ['spec.strategy: Unsupported value: {"type":"Blue"}: supported values: "Recreate", '
          '"RollingUpdate"']),
        ({"strategy": {"type": "RollingUpdate",
                       "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}},
         ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
          "`maxSurge` is 0"]),
        ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "120%"}}},
         ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater '
          "than 100%"]),
        ({"progressDeadlineSeconds": 5, "minReadySeconds": 10},
         ["spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds"]),
        ({"template": {"metadata": {"labels": {"app": "web"}},
                       "spec": {"restartPolicy": "Never",
                                "containers": [{"name": "c", "image": "x"}]}}},
         ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
          '"Always"']),
        ({"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}},
         ["spec.template.spec.containers: Required value"]),
    ],
)
def test_deployment_validation(create, spec, expected):
    assert create("apps", "Deployment", workload(**spec))[1] == expected


def test_deployment_selector_is_immutable(create, update):
    old, _ = create("apps", "Deployment", workload())
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "fe"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "fe"
    assert update("apps", "Deployment", new, old)[1] == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"fe"}}: field is '
        "immutable"]


def test_deployment_annotation_change_bumps_generation(create, update):
    old, _ = create("apps", "Deployment", workload())
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {"note": "x"}
    assert update("apps", "Deployment", new, old)[0]["metadata"]["generation"] == 2


def test_replicaset(create):
    obj, errs = create("apps", "ReplicaSet", workload())
    assert errs == []
    assert obj["status"] == {"replicas": 0}
    obj["status"]["replicas"] = 3
    assert strategy_for("apps", "ReplicaSet").selectable_fields(obj) == {"status.replicas": "3"}
    assert create("apps", "ReplicaSet", workload(selector={}))[1] == [
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment"]


def test_statefulset(create, update):
    obj, errs = create("apps", "StatefulSet", workload(
        serviceName="web", volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]))
    assert errs == []
    spec = obj["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                            "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}
    assert obj["status"] == {"replicas": 0, "availableReplicas": 0}
    new = copy.deepcopy(obj)
    new["spec"]["serviceName"] = "other"
    assert update("apps", "StatefulSet", new, obj)[1] == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
        "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' are forbidden"]
    new = copy.deepcopy(obj)
    new["spec"]["replicas"] = 5
    assert update("apps", "StatefulSet", new, obj)[1] == []
    _, errs = create("apps", "StatefulSet", workload(name="web.v1"))
    assert errs == ['metadata.name: Invalid value: "web.v1": must not contain dots']


def test_daemonset(create, update):
    obj, errs = create("apps", "DaemonSet", workload())
    assert errs == []
    assert obj["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert obj["metadata"]["annotations"] == {"deprecated.daemonset.template.generation": "1"}
    assert obj["status"] == {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                             "desiredNumberScheduled": 0, "numberReady": 0}
    new = copy.deepcopy(obj)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    updated, errs = update("apps", "DaemonSet", new, obj)
    assert errs == []
    assert updated["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    assert create("apps", "DaemonSet", workload(selector=None))[1] == [NOT_MATCHING]


def test_replication_controller(create):
    obj, errs = create("", "ReplicationController", {"metadata": {"name": "rc"}, "spec": {
        "template": copy.deepcopy(TEMPLATE)}})
    assert errs == []
    assert obj["spec"]["selector"] == {"app": "web"}
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["replicas"] == 1
    _, errs = create("", "ReplicationController", {"metadata": {"name": "rc"}, "spec": {
        "selector": {"app": "db"}, "template": copy.deepcopy(TEMPLATE)}})
    assert errs == [NOT_MATCHING]


def test_workload_name_warning(create):
    obj, _ = create("apps", "Deployment", workload(name="web.v1"))
    assert strategy_for("apps", "Deployment").warnings(obj) == [
        "metadata.name: this is used in Pod names and hostnames, which can result in surprising "
        "behavior; a DNS label is recommended: [must not contain dots]"]


def test_controller_revision(create, update):
    _, errs = create("apps", "ControllerRevision", {"metadata": {"name": "r"}, "revision": 1})
    assert errs == ["data: Required value: data is mandatory"]
    old, _ = create("apps", "ControllerRevision", {"metadata": {"name": "r"}, "revision": 1,
                                                   "data": {"a": 1}})
    new = copy.deepcopy(old)
    new["data"] = {"a": 2}
    assert update("apps", "ControllerRevision", new, old)[1] == [
        'data: Invalid value: {"a":2}: field is immutable']
