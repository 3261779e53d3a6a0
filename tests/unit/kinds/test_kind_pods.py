"""Pods and PodTemplates: defaults, QoS, validation, update rules (admission: tests/unit/admission)."""

from __future__ import annotations

import copy

import pytest

from pyk8s.apiserver.kinds import strategy_for
from pyk8s.apiserver.kinds.containers import image_tag
from pyk8s.apiserver.kinds.pods import qos_class


def pod(**spec) -> dict:
    base = {"containers": [{"name": "app", "image": "nginx"}]}
    base.update(spec)
    return {"metadata": {"name": "p"}, "spec": base}


def test_pod_defaults_match_kube_apiserver(create):
    obj, errs = create("", "Pod", pod())
    assert errs == []
    spec = obj["spec"]
    assert spec["containers"][0] == {
        "name": "app", "image": "nginx", "imagePullPolicy": "Always", "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    for key, value in {
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler", "securityContext": {}, "enableServiceLinks": True,
    }.items():
        assert spec[key] == value, key
    assert "serviceAccountName" not in spec and "tolerations" not in spec  # admission's
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


@pytest.mark.parametrize(
    "image, tag, policy",
    [
        ("nginx", "latest", "Always"),
        ("nginx:latest", "latest", "Always"),
        ("nginx:1.25", "1.25", "IfNotPresent"),
        ("registry:5000/team/app", "latest", "Always"),
        ("registry:5000/team/app:v2", "v2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "", "IfNotPresent"),
        ("Nginx", "", "IfNotPresent"),
    ],
)
def test_image_pull_policy_from_tag(create, image, tag, policy):
    assert image_tag(image) == tag
    obj, _ = create("", "Pod", pod(containers=[{"name": "c", "image": image}]))
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_nested_defaults(create):
    obj, errs = create("", "Pod", pod(
        hostNetwork=True,
        volumes=[{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}},
                 {"name": "tok",
                  "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
        containers=[{
            "name": "c", "image": "nginx:1", "ports": [{"containerPort": 8080}],
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"grpc": {"port": 9000}},
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]}]))
    assert errs == []
    c = obj["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert c["livenessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                                  "timeoutSeconds": 1, "periodSeconds": 10,
                                  "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["grpc"] == {"port": 9000, "service": ""}
    assert c["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    volumes = obj["spec"]["volumes"]
    assert volumes[0] == {"name": "scratch", "emptyDir": {}}
    assert volumes[1]["configMap"]["defaultMode"] == 420
    assert volumes[2]["projected"]["defaultMode"] == 420
    assert volumes[2]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 3600
    assert obj["status"]["qosClass"] == "Guaranteed"


@pytest.mark.parametrize(
    "resources, qos",
    [
        ([{}], "BestEffort"),
        ([{"requests": {"cpu": "100m"}}], "Burstable"),
        ([{"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}],
         "Guaranteed"),
        ([{"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}],
         "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}},
          {"limits": {"cpu": "2"}, "requests": {"cpu": "2"}}], "Burstable"),
        ([{"requests": {"nvidia.com/gpu": "1"}}], "BestEffort"),
    ],
)
def test_qos_class(resources, qos):
    spec = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}
    assert qos_class(spec) == qos


def test_scheduling_gates_condition(create):
    obj, _ = create("", "Pod", pod(schedulingGates=[{"name": "example.com/wait"}]))
    assert obj["status"]["conditions"] == [{
        "type": "PodScheduled", "status": "False", "lastProbeTime": None,
        "lastTransitionTime": None, "reason": "SchedulingGated",
        "message": "Scheduling is blocked due to non-empty scheduling gates"}]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"containers": []}, ["spec.containers: Required value"]),
        ({"containers": [{"name": "a"}]}, ["spec.containers[0].image: Required value"]),
        ({"containers": [{"name": "A_b", "image": "x"}]},
         ['spec.containers[0].name: Invalid value: "A_b": a lowercase RFC 1123 label must consist '
          "of lower case alphanumeric characters or '-', and must start and end with an "
          "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
          "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
        ({"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]},
         ['spec.containers[1].name: Duplicate value: "a"']),
        ({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]},
         ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
          "65535, inclusive"]),
        ({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80,
                                                               "protocol": "HTTP"}]}]},
         ['spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: '
          '"SCTP", "TCP", "UDP"']),
        ({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80,
                                                               "hostPort": 80}]},
                         {"name": "b", "image": "x", "ports": [{"containerPort": 81,
                                                               "hostPort": 80}]}]},
         ['spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/80"']),
        ({"restartPolicy": "Sometimes"},
         ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
          '"OnFailure", "Never"']),
        ({"dnsPolicy": "Google"},
         ['spec.dnsPolicy: Unsupported value: "Google": supported values: '
          '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"']),
        ({"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Sometimes"}]},
         ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
          '"Always", "IfNotPresent", "Never"']),
        ({"containers": [{"name": "a", "image": "x",
                          "volumeMounts": [{"name": "missing", "mountPath": "/m"}]}]},
         ['spec.containers[0].volumeMounts[0].name: Not found: "missing"']),
        ({"containers": [{"name": "a", "image": "x", "resources": {
            "requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]},
         ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal '
          "to cpu limit of 1"]),
        ({"containers": [{"name": "a", "image": "x", "livenessProbe": {}}]},
         ["spec.containers[0].livenessProbe: Required value: must specify a handler type"]),
        ({"containers": [{"name": "a", "image": "x", "livenessProbe": {
            "exec": {"command": ["true"]}, "successThreshold": 2}}]},
         ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
        ({"containers": [{"name": "a", "image": " x"}]},
         ['spec.containers[0].image: Invalid value: " x": must not have leading or trailing '
          "whitespace"]),
        ({"activeDeadlineSeconds": 0},
         ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, "
          "inclusive"]),
        ({"tolerations": [{"operator": "Equal", "value": "x"}]},
         ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when '
          '`key` is empty, which means "match all values and all keys"']),
        ({"initContainers": [{"name": "app", "image": "x"}]},
         ['spec.initContainers[0].name: Duplicate value: "app"']),
        ({"volumes": [{"name": "v", "hostPath": {"path": "/x"}, "emptyDir": {}}]},
         ["spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"]),
    ],
)
def test_pod_validation(create, spec, expected):
    base = {"containers": [{"name": "app", "image": "nginx"}]}
    base.update(spec)
    _, errs = create("", "Pod", {"metadata": {"name": "p"}, "spec": base})
    assert errs == expected


def test_pod_update_rules(create, update):
    old, _ = create("", "Pod", pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:2"
    new["metadata"]["labels"] = {"a": "b"}
    assert update("", "Pod", new, old)[1] == []
    new = copy.deepcopy(old)
    new["spec"]["restartPolicy"] = "Never"
    errs = update("", "Pod", new, old)[1]
    assert len(errs) == 1
    assert errs[0].startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
        "`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)\n")
    new = copy.deepcopy(old)
    new["spec"]["containers"].append({"name": "b", "image": "x"})
    assert update("", "Pod", new, old)[1] == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"]
    old, _ = create("", "Pod", pod(tolerations=[{"key": "k", "operator": "Exists"}]))
    new = copy.deepcopy(old)
    new["spec"]["tolerations"] = new["spec"]["tolerations"][1:]
    assert update("", "Pod", new, old)[1] == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its "
        "tolerationSeconds"]


def test_pod_selectable_fields(create):
    obj, _ = create("", "Pod", pod(nodeName="n1", hostNetwork=True, serviceAccountName="default"))
    obj["status"]["podIPs"] = [{"ip": "10.244.0.5"}]
    assert strategy_for("", "Pod").selectable_fields(obj) == {
        "spec.nodeName": "n1", "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "default",
        "spec.hostNetwork": "true", "status.phase": "Pending", "status.podIP": "10.244.0.5",
        "status.nominatedNodeName": ""}


def test_pod_name_warning(create):
    obj, errs = create("", "Pod", {"metadata": {"name": "a.b"}, "spec": pod()["spec"]})
    assert errs == []
    assert strategy_for("", "Pod").warnings(obj) == [
        "metadata.name: this is used in the Pod's hostname, which can result in surprising "
        "behavior; a DNS label is recommended: [must not contain dots]"]


def test_pod_template(create):
    obj, errs = create("", "PodTemplate", {"metadata": {"name": "t"}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}})
    assert errs == []
    assert obj["template"]["spec"]["restartPolicy"] == "Always"
    assert "enableServiceLinks" not in obj["template"]["spec"]
    _, errs = create("", "PodTemplate", {"metadata": {"name": "t"}, "template": {"spec": {}}})
    assert errs == ["template.spec.containers: Required value"]


def _with_ephemeral(obj: dict, *containers: dict) -> dict:
    new = copy.deepcopy(obj)
    new["spec"]["ephemeralContainers"] = [
        {"imagePullPolicy": "Always", "terminationMessagePolicy": "File", **c}
        for c in containers]
    return new


def test_ephemeral_containers_only_through_their_subresource(create):
    _, errs = create("", "Pod", pod(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]))
    assert errs == ["spec.ephemeralContainers: Forbidden: cannot be set on create"]
    live, errs = create("", "Pod", pod())
    strategy = strategy_for("", "Pod")
    added = _with_ephemeral(live, {"name": "dbg", "image": "busybox", "targetContainerName": "app",
                                   "resources": {}, "stdin": True, "tty": True})
    assert strategy.validate_subresource_update("ephemeralcontainers", added, live) == []
    # the main resource may not change them
    assert "pod updates may not change fields" in \
        strategy.validate_update(added, live)[0].message()
    changed = _with_ephemeral(live, {"name": "dbg", "image": "busybox:1.35"})
    assert [e.message() for e in strategy.validate_subresource_update(
        "ephemeralcontainers", changed, added)] == [
        'Forbidden: existing ephemeral containers "dbg" may not be changed\n']
    assert [e.message() for e in strategy.validate_subresource_update(
        "ephemeralcontainers", live, added)] == [
        'Forbidden: existing ephemeral containers "dbg" may not be removed\n']


def test_ephemeral_container_fields(create):
    live, _ = create("", "Pod", pod(volumes=[{"name": "v", "emptyDir": {}}]))
    strategy = strategy_for("", "Pod")
    bad = _with_ephemeral(
        live, {"name": "app", "image": "busybox"},
        {"name": "dbg", "image": "busybox", "targetContainerName": "nope",
         "ports": [{"containerPort": 80, "protocol": "TCP"}], "readinessProbe": {"exec": {"command": ["true"]}},
         "volumeMounts": [{"name": "v", "mountPath": "/v", "subPath": "x"}]})
    errs = [f"{e.field}: {e.message()}" for e in
            strategy.validate_subresource_update("ephemeralcontainers", bad, live)]
    assert errs == [
        'spec.ephemeralContainers[0].name: Duplicate value: "app"',
        'spec.ephemeralContainers[1].targetContainerName: Not found: "nope"',
        "spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container",
        "spec.ephemeralContainers[1].readinessProbe: Forbidden: cannot be set for an "
        "Ephemeral Container",
        "spec.ephemeralContainers[1].volumeMounts[0].subPath: Forbidden: cannot be set for an "
        "Ephemeral Container"]
    static = copy.deepcopy(live)
    static["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    static["spec"]["nodeName"] = "n"
    added = _with_ephemeral(static, {"name": "dbg", "image": "busybox"})
    assert [e.message() for e in strategy.validate_subresource_update(
        "ephemeralcontainers", added, static)] == [
        "Forbidden: static pods do not support ephemeral containers"]
