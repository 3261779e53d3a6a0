"""Table tests of generic metadata validation against apimachinery's messages (1.32).

Expected strings are copied from k8s.io/apimachinery/pkg/util/validation and
pkg/api/validation/objectmeta.go, so each row pins one upstream wording.
"""

from __future__ import annotations

import pytest

from pyk8s.apiserver.validation import (
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_name,
    name_rule_for,
    selector_matches,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QUALIFIED_NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("example.com", []),
        ("a", []),
        ("Example.com", [SUBDOMAIN_MSG]),
        ("-abc", [SUBDOMAIN_MSG]),
        ("a" * 254, ["must be no more than 253 characters"]),
        ("a_b", [SUBDOMAIN_MSG]),
    ],
)
def test_dns1123_subdomain(value, expected):
    assert is_dns1123_subdomain(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("my-name", []),
        ("123-abc", []),
        ("a.b", ["must not contain dots"]),
        ("My", [LABEL_MSG]),
        ("a" * 64, ["must be no more than 63 characters"]),
    ],
)
def test_dns1123_label(value, expected):
    assert is_dns1123_label(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [("my-svc", []), ("1svc", [DNS1035_MSG]), ("a" * 64, ["must be no more than 63 characters"])],
)
def test_dns1035_label(value, expected):
    assert is_dns1035_label(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("app", []),
        ("example.com/app", []),
        ("app.kubernetes.io/name", []),
        ("/app", ["prefix part must be non-empty"]),
        ("example.com/", ["name part must be non-empty", QUALIFIED_NAME_PART]),
        ("bad key", [QUALIFIED_NAME_PART]),
        ("Example.com/app", ["prefix part " + SUBDOMAIN_MSG]),
        ("a/b/c", ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                   "'my.name',  or '123-abc', regex used for validation is "
                   "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                   "prefix and '/' (e.g. 'example.com/MyName')"]),
        ("a" * 64, ["name part must be no more than 63 characters"]),
    ],
)
def test_qualified_name(value, expected):
    assert is_qualified_name(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [("", []), ("v1.2_3", []), ("-x", [LABEL_VALUE_MSG]),
     ("a" * 64, ["must be no more than 63 characters"])],
)
def test_label_value(value, expected):
    assert is_valid_label_value(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("key.name", []),
        (".", ["must not be '.'"]),
        ("..", ["must not be '..'"]),
        ("..x", ["must not start with '..'"]),
        ("a/b", ["a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                 "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                 "is '[-._a-zA-Z0-9]+')"]),
    ],
)
def test_config_map_key(value, expected):
    assert is_config_map_key(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("http", []),
        ("a" * 16, ["must be no more than 15 characters"]),
        ("80", ["must contain at least one letter (a-z)"]),
        ("a--b", ["must not contain consecutive hyphens"]),
        ("-ab", ["must not begin or end with a hyphen"]),
        ("A", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
               "must contain at least one letter (a-z)"]),
    ],
)
def test_port_name(value, expected):
    assert is_valid_port_name(value) == expected


@pytest.mark.parametrize(
    "group, kind, rule",
    [
        ("", "Pod", "subdomain"),
        ("", "ConfigMap", "subdomain"),
        ("", "Namespace", "label"),
        ("", "Service", "dns1035"),
        ("apps", "StatefulSet", "label"),
        ("apps", "Deployment", "subdomain"),
        ("rbac.authorization.k8s.io", "ClusterRole", "path"),
        ("", "PersistentVolume", "path"),
        ("", "Event", "path"),
        ("events.k8s.io", "Event", "subdomain"),
        ("example.com", "Widget", "subdomain"),
    ],
)
def test_name_rule_for(group, kind, rule):
    assert name_rule_for(group, kind) == rule


def messages(errs):
    return [f"{e.field}: {e.message()}" for e in errs]


@pytest.mark.parametrize(
    "meta, namespaced, rule, expected",
    [
        ({"name": "ok", "namespace": "default"}, True, "subdomain", []),
        ({"namespace": "default"}, True, "subdomain",
         ["metadata.name: Required value: name or generateName is required"]),
        ({"generateName": "web-", "namespace": "default"}, True, "subdomain", []),
        ({"generateName": "Web-", "name": "Web-abcde", "namespace": "default"}, True, "subdomain",
         ['metadata.generateName: Invalid value: "Web-": ' + SUBDOMAIN_MSG,
          'metadata.name: Invalid value: "Web-abcde": ' + SUBDOMAIN_MSG]),
        ({"name": "Bad_Name", "namespace": "default"}, True, "subdomain",
         ['metadata.name: Invalid value: "Bad_Name": ' + SUBDOMAIN_MSG]),
        ({"name": "a.b"}, False, "label",
         ['metadata.name: Invalid value: "a.b": must not contain dots']),
        ({"name": "a/b"}, False, "path",
         ["metadata.name: Invalid value: \"a/b\": may not contain '/'"]),
        ({"name": ".."}, False, "path", ["metadata.name: Invalid value: \"..\": may not be '..'"]),
        ({"name": "x"}, True, "subdomain", ["metadata.namespace: Required value"]),
        ({"name": "x", "namespace": "default"}, False, "subdomain",
         ["metadata.namespace: Forbidden: not allowed on this type"]),
        ({"name": "x", "namespace": "Bad"}, True, "subdomain",
         ['metadata.namespace: Invalid value: "Bad": ' + LABEL_MSG]),
        ({"name": "x", "labels": {"app": "-bad"}}, False, "subdomain",
         ['metadata.labels: Invalid value: "-bad": ' + LABEL_VALUE_MSG]),
        ({"name": "x", "labels": {"bad key": "v"}}, False, "subdomain",
         ['metadata.labels: Invalid value: "bad key": ' + QUALIFIED_NAME_PART]),
        ({"name": "x", "annotations": {"Example.COM/Key": "v"}}, False, "subdomain", []),
        ({"name": "x", "annotations": {"k": "v" * (256 * 1024)}}, False, "subdomain",
         ["metadata.annotations: Too long: must have at most 262144 bytes"]),
        ({"name": "x", "finalizers": ["example.com/f", "bad finalizer"]}, False, "subdomain",
         ['metadata.finalizers: Invalid value: "bad finalizer": ' + QUALIFIED_NAME_PART]),
        ({"name": "x", "finalizers": ["orphan", "foregroundDeletion"]}, False, "subdomain",
         ['metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan '
          "and foregroundDeletion cannot be both set"]),
        ({"name": "x", "generation": -1}, False, "subdomain",
         ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"]),
        ({"name": "x", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod"}]}, False,
         "subdomain",
         ['metadata.ownerReferences.name: Invalid value: "": must not be empty',
          'metadata.ownerReferences.uid: Invalid value: "": must not be empty']),
        ({"name": "x", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1",
             "controller": True},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2",
             "controller": True}]}, False, "subdomain",
         ['metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"ReplicaSet",'
          '"name":"a","uid":"1","controller":true},{"apiVersion":"apps/v1","kind":"ReplicaSet",'
          '"name":"b","uid":"2","controller":true}]: Only one reference can have Controller set '
          'to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b']),
    ],
)
def test_validate_object_meta(meta, namespaced, rule, expected):
    errs = validate_object_meta({"metadata": meta}, namespaced=namespaced, name_rule=rule)
    assert messages(errs) == expected


@pytest.mark.parametrize(
    "new, old, expected",
    [
        ({"name": "a", "uid": "1"}, {"name": "a", "uid": "1"}, []),
        ({"name": "a", "uid": "2"}, {"name": "a", "uid": "1"},
         ['metadata.uid: Invalid value: "2": field is immutable']),
        ({"name": "a", "creationTimestamp": "2024-01-02T00:00:00Z"},
         {"name": "a", "creationTimestamp": "2024-01-01T00:00:00Z"},
         ['metadata.creationTimestamp: Invalid value: "2024-01-02T00:00:00Z": field is immutable']),
        ({"name": "a", "generation": 1}, {"name": "a", "generation": 2},
         ["metadata.generation: Invalid value: 1: must not be decremented"]),
        ({"name": "a", "namespace": "x"}, {"name": "a", "namespace": "y"},
         ['metadata.namespace: Invalid value: "x": field is immutable']),
    ],
)
def test_validate_object_meta_update(new, old, expected):
    assert messages(validate_object_meta_update({"metadata": new}, {"metadata": old})) == expected


@pytest.mark.parametrize(
    "selector, labels, matches",
    [
        ({"matchLabels": {"app": "a"}}, {"app": "a", "x": "y"}, True),
        ({"matchLabels": {"app": "a"}}, {"app": "b"}, False),
        ({}, {"app": "b"}, True),
        (None, {"app": "b"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}]},
         {"tier": "fe"}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["fe"]}]},
         {}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True),
    ],
)
def test_selector_matches(selector, labels, matches):
    assert selector_matches(selector, labels) is matches


def test_label_selector_validation():
    errs = validate_label_selector("spec.selector", {"matchExpressions": [
        {"key": "a", "operator": "In"},
        {"key": "b", "operator": "Exists", "values": ["x"]},
        {"key": "c", "operator": "Near"}]})
    assert messages(errs) == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when "
        "`operator` is 'In' or 'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when "
        "`operator` is 'Exists' or 'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid '
        "selector operator",
    ]
