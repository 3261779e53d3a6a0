"""Structural validation, defaulting and pruning of custom objects against CRD schemas."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.crd.defaulting import apply_defaults
from pyk8s.apiserver.crd.schemacheck import check_schema
from pyk8s.apiserver.crd.structural import validate
from pyk8s.apiserver.errors import invalid_object

SPEC = {
    "type": "object",
    "required": ["color"],
    "properties": {
        "color": {"type": "string", "enum": ["red", "green"]},
        "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "format": "int32"},
        "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
        "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        "when": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2,
                 "x-kubernetes-list-type": "set"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "port": {"x-kubernetes-int-or-string": True},
        "note": {"type": "string", "nullable": True},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}
SCHEMA = {"type": "object", "properties": {"spec": SPEC}}


def _messages(spec: dict) -> list[str]:
    errs = validate({"spec": spec}, SCHEMA)
    return [f"{e.field}: {e.message()}" for e in errs]


@pytest.mark.parametrize("spec, expected", [
    ({"color": "red", "replicas": "x"},
     ('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: '
     '"string"')),
    ({}, "spec.color: Required value"),
    ({"color": "pink"}, 'spec.color: Unsupported value: "pink": supported values: "red", "green"'),
    ({"color": "red", "replicas": -1},
     ("spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal "
     "to 0")),
    ({"color": "red", "replicas": 11},
     "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
    ({"color": "red", "ratio": 0},
     "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
    ({"color": "red", "name": "abcdef"}, "spec.name: Too long: may not be more than 5 bytes"),
    ({"color": "red", "name": "a"},
     'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long'),
    ({"color": "red", "name": "AB"},
     "spec.name: Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'"),
    ({"color": "red", "when": "yesterday"},
     ('spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: '
     '"yesterday"')),
    ({"color": "red", "tags": ["a", "a"]}, 'spec.tags[1]: Duplicate value: "a"'),
    ({"color": "red", "tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 items"),
    ({"color": "red", "ports": [{"name": "x"}, {"name": "x"}]},
     'spec.ports[1]: Duplicate value: {"name":"x"}'),
    ({"color": "red", "port": True},
     ('spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: '
     '"boolean"')),
    ({"color": None},
     'spec.color: Invalid value: "null": spec.color in body must be of type string: "null"'),
])
def test_invalid_values(spec, expected):
    assert expected in _messages(spec)


@pytest.mark.parametrize("spec", [
    {"color": "red", "replicas": 3, "ratio": 0.5, "name": "abc", "port": 80, "note": None,
     "when": "2024-01-02T03:04:05Z", "tags": ["a"], "ports": [{"name": "a"}, {"name": "b"}],
     "free": {"anything": [1, {"x": 2}]}},
    {"color": "green", "port": "http", "replicas": 2.0},
])
def test_valid_values(spec):
    assert _messages(spec) == []


def test_invalid_object_message_as_upstream():
    errs = validate({"spec": {"color": "red", "replicas": "x"}}, SCHEMA)
    err = invalid_object("example.com", "Widget", "w1", errs)
    assert err.message == (
        'Widget.example.com "w1" is invalid: spec.replicas: Invalid value: "string": '
        'spec.replicas in body must be of type integer: "string"')


def test_defaults_fill_absent_and_non_nullable_null_fields():
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "default": {},
        "properties": {
            "replicas": {"type": "integer", "default": 1},
            "mode": {"type": "string", "default": "fast"},
            "note": {"type": "string", "nullable": True, "default": "x"},
            "items": {"type": "array", "items": {
                "type": "object", "properties": {"w": {"type": "integer", "default": 5}}}},
            "labels": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"v": {"type": "string", "default": "d"}}}},
        }}}}
    obj = {"spec": {"mode": None, "note": None, "items": [{}, {"w": 1}], "labels": {"a": {}}}}
    apply_defaults(obj, schema)
    assert obj["spec"] == {"replicas": 1, "mode": "fast", "note": None,
                           "items": [{"w": 5}, {"w": 1}], "labels": {"a": {"v": "d"}}}
    empty: dict = {}
    apply_defaults(empty, schema)
    assert empty == {"spec": {"replicas": 1, "mode": "fast", "note": "x"}}


def test_schema_must_be_structural():
    path = "spec.versions[0].schema.openAPIV3Schema"
    errs = check_schema({"type": "object", "properties": {"spec": {"properties": {}}}}, path)
    assert [f"{e.field}: {e.message()}" for e in errs] == [
        (f"{path}.properties[spec].type: Required value: must not be empty for specified object "
        "fields")]
    errs = check_schema({"type": "object", "properties": {
        "n": {"type": "integer", "default": "x"}}}, path)
    assert errs and errs[0].field == f"{path}.properties[n].default"
    assert check_schema(None, path)[0].message() == "Required value: schemas are required"
