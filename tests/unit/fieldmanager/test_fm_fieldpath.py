"""Field path sets: algebra, FieldsV1 round trips and upstream's path strings."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.fieldmanager.fieldpath import (
    Set,
    key_element,
    path_string,
    value_element,
)

A = ("f:spec", "f:replicas")
B = ("f:spec", "f:paused")
C = ("f:metadata", "f:labels", "f:app")
LABELS = ("f:metadata", "f:labels")


@pytest.mark.parametrize("op, left, right, expected", [
    ("union", [A], [B], [A, B]),
    ("union", [LABELS], [C], [LABELS, C]),
    ("intersection", [A, B], [B, C], [B]),
    ("intersection", [LABELS], [C], []),
    ("difference", [A, B, C], [B], [A, C]),
    ("difference", [LABELS, C], [LABELS], [C]),
    ("difference", [A], [("f:spec",)], [A]),
])
def test_set_algebra(op, left, right, expected):
    result = getattr(Set.of(*left), op)(Set.of(*right))
    assert result == Set.of(*expected)


def test_empty_and_has():
    s = Set.of(C)
    assert not s.empty() and s.has(C) and not s.has(LABELS)
    assert s.difference(s).empty()


FIELDS_V1 = [
    {"f:data": {".": {}, "f:key": {}}},
    {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}},
    {"f:metadata": {"f:finalizers": {".": {}, 'v:"a"': {}}}},
    {"f:spec": {"f:args": {"i:0": {}, "i:10": {}, "i:2": {}}}},
]


@pytest.mark.parametrize("data", FIELDS_V1)
def test_fields_v1_round_trip(data):
    assert Set.from_fields_v1(data).to_fields_v1() == data


def test_fields_v1_sorted_dot_first():
    s = Set.of(("f:b",), ("f:a", "f:y"), ("f:a",), ("f:a", "f:x"))
    assert list(s.to_fields_v1()) == ["f:a", "f:b"]
    assert list(s.to_fields_v1()["f:a"]) == [".", "f:x", "f:y"]


@pytest.mark.parametrize("bad", [[], {"x": {}}, {"f:a": {".": {"f:b": {}}}}, {"i:x": {}},
                                 {"k:[1]": {}}, {"k:{bad": {}}])
def test_fields_v1_rejects(bad):
    with pytest.raises(ValueError):
        Set.from_fields_v1(bad)


@pytest.mark.parametrize("path, text", [
    (A, ".spec.replicas"),
    (("f:spec", "f:containers", key_element({"name": "web"}), "f:image"),
     '.spec.containers[name="web"].image'),
    (("f:spec", "f:ports", key_element({"protocol": "TCP", "containerPort": 80})),
     '.spec.ports[containerPort=80,protocol="TCP"]'),
    (("f:metadata", "f:finalizers", value_element("a")), '.metadata.finalizers[="a"]'),
    (("f:spec", "f:args", "i:3"), ".spec.args[3]"),
])
def test_path_strings(path, text):
    assert path_string(path) == text
