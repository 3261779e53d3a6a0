"""Typed walks: field sets, comparisons, merges and removals by schema."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.fieldmanager.fieldpath import Set
from pyk8s.apiserver.fieldmanager.merge import merge
from pyk8s.apiserver.fieldmanager.scalars import type_errors
from pyk8s.apiserver.fieldmanager.typed import (
    Node,
    compare,
    ensure_named_members,
    field_set,
    remove_paths,
)

DEPLOY = Node.root("apps", "v1", "Deployment")
CM = Node.root("", "v1", "ConfigMap")
UNTYPED = Node.root("example.com", "v1", "Nothing")
WEB = 'k:{"name":"web"}'


def containers(*items):
    return {"spec": {"template": {"spec": {"containers": list(items)}}}}


def fields(obj, node=DEPLOY):
    return field_set(obj, node).to_fields_v1()


@pytest.mark.parametrize("obj, node, expected", [
    ({"data": {"a": "1"}}, CM, {"f:data": {"f:a": {}}}),
    ({"spec": {"selector": {"matchLabels": {"a": "b"}}}}, DEPLOY, {"f:spec": {"f:selector": {}}}),
    ({"metadata": {"finalizers": ["x", "y"]}}, CM,
     {"f:metadata": {"f:finalizers": {'v:"x"': {}, 'v:"y"': {}}}}),
    (containers({"name": "web", "args": ["a"]}), DEPLOY,
     {"f:spec": {"f:template": {"f:spec": {"f:containers": {
         WEB: {".": {}, "f:args": {}, "f:name": {}}}}}}}),
    ({"spec": {"a": {"b": [1, 2]}}}, UNTYPED,
     {"f:spec": {".": {}, "f:a": {".": {}, "f:b": {}}}}),
    ({"data": None}, CM, {}),
])
def test_field_set(obj, node, expected):
    assert fields(obj, node) == expected


def test_port_keys_default_protocol():
    obj = containers({"name": "web", "ports": [{"containerPort": 80}]})
    ports = fields(obj)["f:spec"]["f:template"]["f:spec"]["f:containers"][WEB]["f:ports"]
    assert list(ports) == ['k:{"containerPort":80,"protocol":"TCP"}']


@pytest.mark.parametrize("old, new, added, modified, removed", [
    ({"data": {"a": "1"}}, {"data": {"a": "2", "b": "3"}},
     {"f:data": {"f:b": {}}}, {"f:data": {"f:a": {}}}, {}),
    (None, {"data": {"a": "1"}}, {"f:data": {".": {}, "f:a": {}}}, {}, {}),
    ({"data": {"a": "1"}}, {}, {}, {}, {"f:data": {".": {}, "f:a": {}}}),
    ({"data": {}}, {"data": {}}, {}, {}, {}),
])
def test_compare(old, new, added, modified, removed):
    result = compare(old, new, CM)
    assert result.added.to_fields_v1() == added
    assert result.modified.to_fields_v1() == modified
    assert result.removed.to_fields_v1() == removed


def test_compare_struct_fields_are_not_added_themselves():
    result = compare(None, {"spec": {"replicas": 1}}, DEPLOY)
    assert result.added.to_fields_v1() == {"f:spec": {"f:replicas": {}}}


def test_compare_atomic_list_is_one_leaf():
    old = containers({"name": "web", "args": ["a"]})
    new = containers({"name": "web", "args": ["a", "b"]})
    changed = compare(old, new, DEPLOY).modified.to_fields_v1()
    assert changed == {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        WEB: {"f:args": {}}}}}}}


@pytest.mark.parametrize("live, config, expected", [
    ({"data": {"a": "1", "b": "2"}}, {"data": {"a": "9"}}, {"data": {"a": "9", "b": "2"}}),
    ({"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}}}},
     {"spec": {"selector": {"matchLabels": {"c": "3"}}}},
     {"spec": {"selector": {"matchLabels": {"c": "3"}}}}),
    (containers({"name": "a"}, {"name": "b"}), containers({"name": "b", "image": "x"}),
     containers({"name": "a"}, {"name": "b", "image": "x"})),
    (containers({"name": "a"}, {"name": "b"}, {"name": "c"}),
     containers({"name": "c"}, {"name": "new"}, {"name": "a"}),
     containers({"name": "b"}, {"name": "c"}, {"name": "new"}, {"name": "a"})),
    (containers({"name": "a", "args": ["1", "2"]}), containers({"name": "a", "args": ["3"]}),
     containers({"name": "a", "args": ["3"]})),
    ({"metadata": {"finalizers": ["x", "y"]}}, {"metadata": {"finalizers": ["z", "x"]}},
     {"metadata": {"finalizers": ["z", "x", "y"]}}),
])
def test_merge(live, config, expected):
    node = CM if "data" in live or "metadata" in live else DEPLOY
    assert merge(live, config, node) == expected


def test_remove_paths_drops_items_and_fields():
    obj = containers({"name": "web", "image": "x"}, {"name": "side"})
    paths = Set.of(("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"side"}'),
                   ("f:spec", "f:template", "f:spec", "f:containers", WEB, "f:image"))
    assert remove_paths(obj, paths, DEPLOY) == containers({"name": "web"})


def test_ensure_named_members_marks_struct_fields_only():
    paths = Set.of(("f:metadata", "f:labels", "f:app"))
    marked = ensure_named_members(paths, CM)
    assert marked.has(("f:metadata",)) and marked.has(("f:metadata", "f:labels"))
    deduced = ensure_named_members(Set.of(("f:spec", "f:a", "f:b")), UNTYPED)
    assert not deduced.has(("f:spec",)) and not deduced.has(("f:spec", "f:a"))


@pytest.mark.parametrize("obj, expected", [
    ({"spec": {"replicas": "3"}}, [".spec.replicas: expected numeric (int or float), got string"]),
    ({"spec": {"replicas": True}}, [".spec.replicas: expected numeric (int or float), got bool"]),
    ({"spec": {"paused": 1}}, [".spec.paused: expected boolean, got &{1}"]),
    (containers({"name": "c", "image": 5}),
     ['.spec.template.spec.containers[name="c"].image: expected string, got '
      '&value.valueUnstructured{Value:5}']),
    ({"spec": {"template": {"metadata": {"annotations": {"a": []}}}}},
     [".spec.template.metadata.annotations.a: expected string, got "
      "&value.valueUnstructured{Value:[]interface {}{}}"]),
    ({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}}}, []),
    ({"spec": {"replicas": None, "minReadySeconds": 1.5}}, []),
])
def test_type_errors(obj, expected):
    assert type_errors(obj, DEPLOY) == expected
