"""JSON merge patch (RFC 7386): the RFC's appendix table plus upstream's null pruning."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.errors import APIError
from pyk8s.apiserver.patch import apply_merge_patch

CASES = [
    # RFC 7386 appendix A (rows whose target is an object)
    ("replace member", {"a": "b"}, {"a": "c"}, {"a": "c"}),
    ("add member", {"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ("null deletes", {"a": "b"}, {"a": None}, {}),
    ("null deletes only that member", {"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ("array replaced by scalar", {"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ("scalar replaced by array", {"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ("nested merge with delete", {"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ("arrays are replaced whole", {"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ("existing null kept", {"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ("new nested nulls dropped", {}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    # upstream (evanphx/json-patch) details
    ("nulls pruned inside new arrays' objects", {}, {"a": [{"b": None, "c": 1}, None]},
     {"a": [{"c": 1}, None]}),
    ("object replacing scalar is pruned", {"a": 1}, {"a": {"x": None, "y": 2}}, {"a": {"y": 2}}),
    ("object replacing null is pruned", {"a": None}, {"a": {"x": None}}, {"a": {}}),
    ("delete missing member is a no-op", {"a": 1}, {"z": None}, {"a": 1}),
    ("empty patch", {"a": {"b": 1}}, {}, {"a": {"b": 1}}),
    ("labels add and remove", {"metadata": {"labels": {"a": "1", "b": "2"}}},
     {"metadata": {"labels": {"a": None, "c": "3"}}}, {"metadata": {"labels": {"b": "2", "c": "3"}}}),
    ("scale", {"spec": {"replicas": 1, "selector": {}}}, {"spec": {"replicas": 3}},
     {"spec": {"replicas": 3, "selector": {}}}),
]


@pytest.mark.parametrize("doc,patch,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_apply(doc, patch, expected):
    before = repr(doc), repr(patch)
    result = apply_merge_patch(doc, patch)
    assert result == expected
    assert (repr(doc), repr(patch)) == before, "inputs must not be mutated"


def test_result_shares_nothing_with_patch():
    patch = {"a": {"b": [1]}}
    result = apply_merge_patch({}, patch)
    result["a"]["b"].append(2)
    assert patch == {"a": {"b": [1]}}


@pytest.mark.parametrize("body,message", [
    (None, "Invalid JSON Patch"),
    (["c"], "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"),
    ("x", "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}"),
])
def test_non_object_body_is_400(body, message):
    with pytest.raises(APIError) as info:
        apply_merge_patch({"a": 1}, body)
    assert (info.value.code, info.value.message) == (400, message)
