"""Strict field validation: unknown/duplicate field paths and upstream's message forms."""

from __future__ import annotations

import copy

import pytest

from pyk8s.apiserver import fieldvalidation as fv
from pyk8s.apiserver.openapi import definitions


def _deployment(**spec_extra) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx",
                                         "resources": {"limits": {"cpu": "1"}}}]},
            },
            **spec_extra,
        },
    }


def _with(obj: dict, path: tuple, value) -> dict:
    obj = copy.deepcopy(obj)
    node = obj
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return obj


DEPLOYMENT = _deployment()
CONTAINER = ("spec", "template", "spec", "containers", 0)

UNKNOWN_CASES = [
    ("valid", ("apps", "v1", "Deployment"), DEPLOYMENT, []),
    ("spec field", ("apps", "v1", "Deployment"), _deployment(foo=1), ["spec.foo"]),
    ("metadata field", ("apps", "v1", "Deployment"),
     _with(DEPLOYMENT, ("metadata", "labelss"), {}), ["metadata.labelss"]),
    ("container field", ("apps", "v1", "Deployment"),
     _with(DEPLOYMENT, CONTAINER + ("imagee",), "x"),
     ["spec.template.spec.containers[0].imagee"]),
    ("nested list field", ("apps", "v1", "Deployment"),
     _with(DEPLOYMENT, CONTAINER + ("ports",), [{"containerPort": 80},
                                                {"containerPortZ": 8080}]),
     ["spec.template.spec.containers[0].ports[1].containerPortZ"]),
    ("unknown subtree not descended", ("apps", "v1", "Deployment"),
     _deployment(extra={"deeper": {"x": 1}}), ["spec.extra"]),
    ("document order, several", ("apps", "v1", "Deployment"),
     _with(_deployment(zz=1), ("metadata", "aa"), 2), ["metadata.aa", "spec.zz"]),
    ("map keys are free", ("", "v1", "ConfigMap"),
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {
         "any/key": "v"}}, "data": {"anything": "goes", "x.y": "z"}}, []),
    ("map of quantities", ("", "v1", "Pod"),
     {"spec": {"containers": [{"name": "a", "resources": {"requests": {"memory": "1Gi",
                                                                       "nvidia.com/gpu": 1}}}],
               "overhead": {"cpu": "1"}}}, []),
    ("int-or-string value", ("", "v1", "Service"),
     {"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8080}]}},
     []),
    ("free-form RawExtension", ("apps", "v1", "ControllerRevision"),
     {"metadata": {"name": "r"}, "revision": 1, "data": {"spec": {"whatever": {"x": 1}}}}, []),
    ("managedFields fieldsV1 free-form", ("", "v1", "ConfigMap"),
     {"metadata": {"managedFields": [{"manager": "m", "fieldsV1": {"f:data": {"f:x": {}}},
                                      "bogus": 1}]}},
     ["metadata.managedFields[0].bogus"]),
    ("null values are still fields", ("", "v1", "ConfigMap"),
     {"metadata": None, "datas": None}, ["datas"]),
    ("status is declared", ("apps", "v1", "Deployment"),
     _with(DEPLOYMENT, ("status",), {"replicas": 1, "readyReplicass": 1}),
     ["status.readyReplicass"]),
    ("case sensitive", ("", "v1", "ConfigMap"), {"Data": {}}, ["Data"]),
    ("kind without schema", ("example.com", "v1", "Widget"), {"anything": 1}, []),
    ("events.k8s.io differs from core", ("events.k8s.io", "v1", "Event"),
     {"note": "n", "message": "m"}, ["message"]),
]


@pytest.mark.parametrize("name,gvk,obj,expected", UNKNOWN_CASES, ids=[c[0] for c in UNKNOWN_CASES])
def test_unknown_fields(name, gvk, obj, expected):
    assert fv.unknown_fields(*gvk, copy.deepcopy(obj)) == expected


@pytest.mark.parametrize("name,gvk,obj,expected", UNKNOWN_CASES, ids=[c[0] for c in UNKNOWN_CASES])
def test_prune_unknown_removes_exactly_those(name, gvk, obj, expected):
    pruned = copy.deepcopy(obj)
    fv.prune_unknown(*gvk, pruned)
    assert fv.unknown_fields(*gvk, pruned) == []
    if not expected:
        assert pruned == obj


def test_prune_keeps_known_siblings():
    obj = _with(DEPLOYMENT, CONTAINER + ("imagee",), "x")
    fv.prune_unknown("apps", "v1", "Deployment", obj)
    assert obj == DEPLOYMENT


APPLY_CASES = [
    ("valid", DEPLOYMENT, []),
    ("root", _with(DEPLOYMENT, ("sops",), {}), [".sops"]),
    ("keyed list item", _with(DEPLOYMENT, CONTAINER + ("imagee",), "x"),
     ['.spec.template.spec.containers[name="web"].imagee']),
    ("multi-key list", _with(DEPLOYMENT, CONTAINER + ("ports",),
                             [{"containerPort": 80, "protocol": "TCP", "bad": 1}]),
     ['.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].bad']),
    ("keyed and atomic lists", _with(DEPLOYMENT, CONTAINER + ("command",), ["a"]) | {
        "metadata": {"name": "w", "ownerReferences": [{"uid": "u", "zzz": 1}],
                     "managedFields": [{"manager": "m", "bad": 1}]}},
     ['.metadata.ownerReferences[uid="u"].zzz', ".metadata.managedFields[0].bad"]),
    ("first unknown per object only", _deployment(a=1, b=2), [".spec.a"]),
]


@pytest.mark.parametrize("name,obj,expected", APPLY_CASES, ids=[c[0] for c in APPLY_CASES])
def test_apply_unknown_fields(name, obj, expected):
    assert fv.apply_unknown_fields("apps", "v1", "Deployment", obj) == expected


@pytest.mark.parametrize("paths,message", [
    ([".spec.foo"], "failed to create typed patch object (default/web; apps/v1, Kind=Deployment)"
                    ": .spec.foo: field not declared in schema"),
    ([".a", ".b"], "failed to create typed patch object (default/web; apps/v1, Kind=Deployment)"
                   ": errors:\n  .a: field not declared in schema\n"
                   "  .b: field not declared in schema"),
])
def test_typed_patch_error_message(paths, message):
    assert fv.typed_patch_error_message("default", "web", "apps", "v1", "Deployment",
                                        paths) == message


def test_typed_patch_error_message_core_group():
    assert fv.typed_patch_error_message("ns", "cm", "", "v1", "ConfigMap", [".data_error"]) == (
        "failed to create typed patch object (ns/cm; /v1, Kind=ConfigMap): "
        ".data_error: field not declared in schema")


DUPLICATE_CASES = [
    ("none", b'{"a": 1, "b": {"a": 2}}', []),
    ("top level", b'{"a": 1, "a": 2}', ["a"]),
    ("nested", b'{"spec": {"unknownField": "foo", "replicas": 2, "replicas": 3}}',
     ["spec.replicas"]),
    ("in list item", b'{"spec": {"containers": [{"name": "a"}, {"name": "b", "name": "c"}]}}',
     ["spec.containers[1].name"]),
    ("reported once", b'{"a": 1, "a": 2, "a": 3}', ["a"]),
    ("inside both copies", b'{"x": {"k": 1, "k": 2}, "x": {"k": 3, "k": 4}}', ["x.k", "x"]),
    ("not JSON", b"apiVersion: v1", []),
]


@pytest.mark.parametrize("name,raw,expected", DUPLICATE_CASES, ids=[c[0] for c in DUPLICATE_CASES])
def test_duplicate_fields(name, raw, expected):
    assert fv.duplicate_fields(raw) == expected


CONFORMANCE_YAML = b"""
apiVersion: stable.example.com/v1
kind: Noxu
metadata:
  name: mytest
  finalizers:
  - test-finalizer
spec:
  unknown: uk1
  foo: foo1
  foo: foo2
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP"""


@pytest.mark.parametrize("raw,expected", [
    (CONFORMANCE_YAML, ['line 11: key "foo" already set in map']),
    (b"a: 1\nb:\n  - x: 1\n    x: 2\n", ['line 4: key "x" already set in map']),
    (b"1: a\n1: b\n", ["line 2: key 1 already set in map"]),
    (b"a: 1\nb: 2\n", []),
    (b"a: [1\n", []),
])
def test_duplicate_fields_yaml(raw, expected):
    assert fv.duplicate_fields_yaml(raw) == expected


def test_conformance_message_for_typed_object():
    unknown = fv.unknown_fields("apps", "v1", "Deployment", _deployment(unknownField="foo"))
    duplicates = fv.duplicate_fields(
        b'{"spec": {"unknownField": "foo", "replicas": 2, "replicas": 3}}')
    message = fv.strict_decoding_error("Deployment", "v1", unknown, duplicates)
    assert message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                       'strict decoding error: unknown field "spec.unknownField", '
                       'duplicate field "spec.replicas"')


def test_strict_errors_cap_and_warnings():
    unknown = [f"spec.f{i}" for i in range(150)]
    assert len(fv.strict_errors(unknown, ["x"])) == fv.MAX_STRICT_ERRORS
    assert fv.strict_warnings(["spec.foo"], ["spec.replicas"]) == [
        'unknown field "spec.foo"', 'duplicate field "spec.replicas"']
    assert fv.strict_error_message(["spec.foo"], []) == (
        'strict decoding error: unknown field "spec.foo"')


@pytest.mark.parametrize("text,header", [
    ('unknown field "spec.foo"', '299 - "unknown field \\"spec.foo\\""'),
    ("back\\slash", '299 - "back\\\\slash"'),
    ("line\nbreak", '299 - "line break"'),
])
def test_warning_header_value(text, header):
    assert fv.warning_header_value(text) == header


def test_yaml_strict_error_message():
    assert fv.yaml_strict_error_message(['line 11: key "foo" already set in map']) == (
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 11: key "foo" already set in map')


@pytest.mark.parametrize("value,text", [
    ({"spec": {"replicas": 2, "foo": "bar"}}, "map[spec:map[foo:bar replicas:2]]"),
    ({"a": [1, "x", None, True, False], "b": {}}, "map[a:[1 x <nil> true false] b:map[]]"),
    ({"f": 1.5, "g": 1e6, "h": 100000.0, "i": 1e-5}, "map[f:1.5 g:1e+06 h:100000 i:1e-05]"),
])
def test_go_value_repr(value, text):
    assert fv.go_value_repr(value) == text


# -- custom-resource style (structural) schemas ----------------------------------------------

STRUCTURAL = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "foo": {"type": "string"},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object"}}},
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                          "items": {"type": "object", "properties": {
                              "containerPort": {"type": "integer"},
                              "protocol": {"type": "string"}}}},
            },
        },
        "status": {"type": "object"},
    },
}


@pytest.fixture
def noxu():
    definitions.register_definition("stable.example.com", "v1", "Noxu",
                                    "com.example.stable.v1.Noxu", STRUCTURAL)
    yield ("stable.example.com", "v1", "Noxu")
    definitions.unregister_definition("stable.example.com", "v1", "Noxu")


@pytest.mark.parametrize("obj,expected", [
    ({"apiVersion": "stable.example.com/v1", "kind": "Noxu", "metadata": {"name": "n"},
      "spec": {"foo": "a", "anything": {"x": 1}}}, []),
    ({"metadata": {"name": "n", "unknownMeta": 1}}, ["metadata.unknownMeta"]),
    ({"unknownField": 1}, ["unknownField"]),
    ({"spec": {"template": {"apiVersion": "v1", "kind": "Sub",
                            "metadata": {"name": "s", "unknownSubMeta": 1},
                            "spec": {"x": 1}}}},
     ["spec.template.metadata.unknownSubMeta", "spec.template.spec.x"]),
    ({"spec": {"ports": [{"containerPort": 80, "protocol": "TCP", "hostIP": "x"}]}},
     ["spec.ports[0].hostIP"]),
    ({"status": {"anything": 1}}, ["status.anything"]),
])
def test_structural_extra_schema(noxu, obj, expected):
    assert fv.unknown_fields(*noxu, obj) == expected


def test_structural_apply_paths(noxu):
    obj = {"metadata": {"name": "n"}, "spec": {"template": {"metadata": {"unknownSubMeta": 1}},
                                                "ports": [{"containerPort": 80,
                                                           "protocol": "TCP", "bad": 1}]}}
    assert fv.apply_unknown_fields(*noxu, obj) == [
        ".spec.template.metadata.unknownSubMeta",
        '.spec.ports[containerPort=80,protocol="TCP"].bad']
