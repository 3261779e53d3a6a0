"""ConfigMaps, Secrets, Endpoints, EndpointSlices and Events."""

from __future__ import annotations

import base64
import copy

import pytest

from pyk8s.apiserver.kinds import strategy_for


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"data": {"a.conf": "x"}, "binaryData": {"b.bin": b64("y")}}, []),
        ({"data": {"bad/key": "x"}},
         ['data[bad/key]: Invalid value: "bad/key": a valid config key must consist of '
          "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
          "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]),
        ({"data": {"k": "x"}, "binaryData": {"k": b64("y")}},
         ['data[k]: Invalid value: "k": duplicate of key present in binaryData']),
        ({"data": {"k": "x" * (1024 * 1024 + 1)}}, ["Too long: must have at most 1048576 bytes"]),
    ],
)
def test_configmap(create, body, expected):
    assert create("", "ConfigMap", {"metadata": {"name": "c"}, **body})[1] == expected


def test_immutable_configmap(create, update):
    old, _ = create("", "ConfigMap", {"metadata": {"name": "c"}, "data": {"a": "1"},
                                      "immutable": True})
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    new["immutable"] = False
    assert update("", "ConfigMap", new, old)[1] == [
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set"]


def test_secret_defaults_and_string_data(create):
    obj, errs = create("", "Secret", {"metadata": {"name": "s"}, "stringData": {"user": "admin"}})
    assert errs == []
    assert obj["type"] == "Opaque"
    assert obj["data"] == {"user": b64("admin")}
    assert "stringData" not in obj
    assert strategy_for("", "Secret").selectable_fields(obj) == {"type": "Opaque"}


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"type": "kubernetes.io/tls", "data": {"tls.crt": b64("c")}},
         ["data[tls.key]: Required value"]),
        ({"type": "kubernetes.io/dockerconfigjson", "data": {}},
         ["data[.dockerconfigjson]: Required value"]),
        ({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64("{}")}}, []),
        ({"type": "kubernetes.io/basic-auth", "data": {}},
         ["data[username]: Required value", "data[password]: Required value"]),
        ({"type": "kubernetes.io/ssh-auth"}, ["data[ssh-privatekey]: Required value"]),
        ({"type": "kubernetes.io/service-account-token"},
         ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]),
        ({"type": "example.com/custom", "data": {"x": b64("1")}}, []),
    ],
)
def test_secret_types(create, body, expected):
    assert create("", "Secret", {"metadata": {"name": "s"}, **body})[1] == expected


def test_secret_type_is_immutable(create, update):
    old, _ = create("", "Secret", {"metadata": {"name": "s"}})
    new = copy.deepcopy(old)
    new["type"] = "kubernetes.io/tls"
    new["data"] = {"tls.crt": "", "tls.key": ""}
    assert update("", "Secret", new, old)[1] == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable']


@pytest.mark.parametrize(
    "subsets, expected",
    [
        ([{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 80}]}], []),
        ([{"ports": [{"port": 80}]}],
         ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"]),
        ([{"addresses": [{"ip": "127.0.0.1"}]}],
         ['subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback '
          "range (127.0.0.0/8, ::1/128)"]),
        ([{"addresses": [{"ip": "nope"}]}],
         ['subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. '
          "10.9.8.7 or 2001:db8::ffff)"]),
        ([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}, {"port": 81}]}],
         ["subsets[0].ports[0].name: Required value", "subsets[0].ports[1].name: Required value"]),
    ],
)
def test_endpoints(create, subsets, expected):
    obj, errs = create("", "Endpoints", {"metadata": {"name": "e"}, "subsets": subsets})
    assert errs == expected
    for port in (obj["subsets"][0].get("ports") or []):
        assert port["protocol"] == "TCP"


def test_endpoint_slice(create, update):
    obj, errs = create("discovery.k8s.io", "EndpointSlice", {
        "metadata": {"name": "web-abc"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}],
        "ports": [{"port": 80}]})
    assert errs == []
    assert obj["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    assert strategy_for("discovery.k8s.io", "EndpointSlice").tracks_generation
    new = copy.deepcopy(obj)
    new["addressType"] = "IPv6"
    new["endpoints"][0]["addresses"] = ["fd00::5"]
    assert update("discovery.k8s.io", "EndpointSlice", new, obj)[1] == [
        'addressType: Invalid value: "IPv6": field is immutable']
    _, errs = create("discovery.k8s.io", "EndpointSlice", {
        "metadata": {"name": "x"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["fd00::1"]}]})
    assert errs == ['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 '
                    "address"]


CORE_EVENT = {
    "metadata": {"name": "p.123", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "namespace": "default", "name": "p", "uid": "u"},
    "reason": "Started", "message": "Started container", "type": "Normal",
    "source": {"component": "kubelet", "host": "n1"}, "count": 1,
}


def test_core_event(create):
    obj, errs = create("", "Event", CORE_EVENT)
    assert errs == []
    assert strategy_for("", "Event").selectable_fields(obj) == {
        "involvedObject.kind": "Pod", "involvedObject.namespace": "default",
        "involvedObject.name": "p", "involvedObject.uid": "u", "involvedObject.apiVersion": "",
        "involvedObject.resourceVersion": "", "involvedObject.fieldPath": "", "reason": "Started",
        "type": "Normal", "reportingComponent": "", "source": "kubelet"}
    other = copy.deepcopy(CORE_EVENT)
    other["involvedObject"]["namespace"] = "kube-system"
    assert create("", "Event", other)[1] == [
        'involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace']


NEW_EVENT = {
    "metadata": {"name": "p.456", "namespace": "default"},
    "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
    "reportingInstance": "ctl-1", "action": "Scale", "reason": "Scaled", "type": "Normal",
    "regarding": {"kind": "Deployment", "namespace": "default", "name": "web"}, "note": "up",
}


def test_events_k8s_io(create, update):
    obj, errs = create("events.k8s.io", "Event", NEW_EVENT)
    assert errs == []
    fields = strategy_for("events.k8s.io", "Event").selectable_fields(obj)
    assert fields["regarding.name"] == "web" and fields["reportingController"] == "example.com/ctl"
    bad = {k: v for k, v in NEW_EVENT.items() if k not in ("eventTime", "action")}
    bad["type"] = "Info"
    bad["deprecatedCount"] = 3
    assert create("events.k8s.io", "Event", bad)[1] == [
        "eventTime: Required value", 'type: Invalid value: "": has invalid value: Info',
        'count: Invalid value: "": needs to be unset']
    legacy = dict(NEW_EVENT, action="")
    assert create("events.k8s.io", "Event", legacy)[1] == ["action: Required value"]
    new = copy.deepcopy(obj)
    new["note"] = "down"
    assert update("events.k8s.io", "Event", new, obj)[1] == [
        'message: Invalid value: "down": field is immutable']
