"""JSON patch (RFC 6902): operations, pointers, and kube-apiserver's error answers.

Rows restate RFC 6902 appendix A and the behaviour of the library kube-apiserver uses
(evanphx/json-patch v4); the error texts were checked against kubectl 1.32, which
runs the same library for ``kubectl patch --local --type json``.
"""

from __future__ import annotations

import pytest

from pyk8s.apiserver.errors import APIError
from pyk8s.apiserver.patch import apply_json_patch

CASES = [
    # RFC 6902 appendix A
    ("A.1 add object member", {"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
     {"baz": "qux", "foo": "bar"}),
    ("A.2 add array element", {"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ("A.3 remove object member", {"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}],
     {"foo": "bar"}),
    ("A.4 remove array element", {"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
     {"foo": ["bar", "baz"]}),
    ("A.5 replace value", {"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    ("A.6 move value", {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ("A.7 move array element", {"foo": ["all", "grass", "cows", "eat"]},
     [{"op": "move", "from": "/foo/1", "path": "/foo/3"}], {"foo": ["all", "cows", "eat", "grass"]}),
    ("A.8 test success", {"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ("A.10 add nested member", {"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ("A.11 unrecognized members ignored", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}], {"foo": "bar", "baz": "qux"}),
    ("A.14 ~ escape ordering", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}],
     {"/": 9, "~1": 10}),
    ("A.16 add array value", {"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    # pointers and indices
    ("escaped slash in key", {"m": {"x/y": 1}}, [{"op": "remove", "path": "/m/x~1y"}], {"m": {}}),
    ("escaped tilde in key", {"m": {"t~": 1}}, [{"op": "replace", "path": "/m/t~0", "value": 2}],
     {"m": {"t~": 2}}),
    ("append with -", {"l": [1]}, [{"op": "add", "path": "/l/-", "value": 2}], {"l": [1, 2]}),
    ("add at end index", {"l": [1, 2]}, [{"op": "add", "path": "/l/2", "value": 3}], {"l": [1, 2, 3]}),
    ("add with negative index", {"l": [1, 2]}, [{"op": "add", "path": "/l/-1", "value": 9}], {"l": [1, 2, 9]}),
    ("remove with negative index", {"l": [1, 2, 3]}, [{"op": "remove", "path": "/l/-1"}], {"l": [1, 2]}),
    ("add replaces existing member", {"a": 1}, [{"op": "add", "path": "/a", "value": 2}], {"a": 2}),
    ("add without value adds null", {"a": 1}, [{"op": "add", "path": "/b"}], {"a": 1, "b": None}),
    ("add to root key ''", {"a": 1}, [{"op": "add", "path": "/", "value": 2}], {"a": 1, "": 2}),
    ("replace missing member adds it (v4)", {"a": 1}, [{"op": "replace", "path": "/b", "value": 2}],
     {"a": 1, "b": 2}),
    ("replace whole document", {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    ("copy deep copies", {"a": {"x": [1]}}, [{"op": "copy", "from": "/a", "path": "/b"},
                                             {"op": "add", "path": "/b/x/-", "value": 2}],
     {"a": {"x": [1]}, "b": {"x": [1, 2]}}),
    ("copy missing member copies null", {"a": 1}, [{"op": "copy", "from": "/z", "path": "/b"}],
     {"a": 1, "b": None}),
    ("move array element to end", {"l": [1, 2, 3]}, [{"op": "move", "from": "/l/0", "path": "/l/-"}],
     {"l": [2, 3, 1]}),
    ("test then replace", {"s": {"r": 1}}, [{"op": "test", "path": "/s/r", "value": 1},
                                          {"op": "replace", "path": "/s/r", "value": 3}], {"s": {"r": 3}}),
    ("test missing member against null", {"a": 1}, [{"op": "test", "path": "/b", "value": None}], {"a": 1}),
    ("test structured value", {"o": [{"b": [1, 2]}]}, [{"op": "test", "path": "/o/0", "value": {"b": [1, 2]}}],
     {"o": [{"b": [1, 2]}]}),
    ("test whole document", {"a": 1}, [{"op": "test", "path": "", "value": {"a": 1}}], {"a": 1}),
    ("empty patch", {"a": 1}, [], {"a": 1}),
]


@pytest.mark.parametrize("doc,ops,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_apply(doc, ops, expected):
    before = repr(doc), repr(ops)
    assert apply_json_patch(doc, ops) == expected
    assert (repr(doc), repr(ops)) == before, "inputs must not be mutated"


DOC = {"data": {"k": "v"}, "list": [1, 2, 3]}

FAILURES = [
    ("A.9 test failure", {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}],
     "testing value /baz failed: test failed"),
    ("A.12 add to nonexistent target", {"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}],
     'add operation does not apply: doc is missing path: "/baz/bat": missing value'),
    ("A.15 string is not number", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}],
     "testing value /~01 failed: test failed"),
    ("number written with fraction", {"n": 1}, [{"op": "test", "path": "/n", "value": 1.0}],
     "testing value /n failed: test failed"),
    ("test missing member", DOC, [{"op": "test", "path": "/data/z", "value": "x"}],
     "testing value /data/z failed: test failed"),
    ("test missing parent", DOC, [{"op": "test", "path": "/nope/x", "value": 1}],
     "test operation does not apply: is missing path: /nope/x: missing value"),
    ("test index out of range", DOC, [{"op": "test", "path": "/list/9", "value": 1}],
     "error in test for path: '/list/9': Unable to access invalid index: 9: invalid index referenced"),
    ("add past the end", DOC, [{"op": "add", "path": "/list/4", "value": 9}],
     "error in add for path: '/list/4': Unable to access invalid index: 4: invalid index referenced"),
    ("add bad index", DOC, [{"op": "add", "path": "/list/x", "value": 9}],
     "error in add for path: '/list/x': value was not a proper array index: 'x': "
     'strconv.Atoi: parsing "x": invalid syntax'),
    ("remove missing member", DOC, [{"op": "remove", "path": "/data/z"}],
     "error in remove for path: '/data/z': Unable to remove nonexistent key: z: missing value"),
    ("remove index out of range", DOC, [{"op": "remove", "path": "/list/5"}],
     "error in remove for path: '/list/5': Unable to access invalid index: 5: invalid index referenced"),
    ("remove -", DOC, [{"op": "remove", "path": "/list/-"}],
     "error in remove for path: '/list/-': strconv.Atoi: parsing \"-\": invalid syntax"),
    ("replace index out of range", DOC, [{"op": "replace", "path": "/list/7", "value": 1}],
     "replace operation does not apply: doc is missing key: /list/7: missing value"),
    ("replace missing parent", DOC, [{"op": "replace", "path": "/nope/x", "value": 1}],
     "replace operation does not apply: doc is missing path: /nope/x: missing value"),
    ("move missing member", DOC, [{"op": "move", "from": "/data/z", "path": "/data/y"}],
     "error in move for path: 'z': Unable to remove nonexistent key: z: missing value"),
    ("move missing parent", DOC, [{"op": "move", "from": "/nope/x", "path": "/data/y"}],
     "move operation does not apply: doc is missing from path: /nope/x: missing value"),
    ("move without from", DOC, [{"op": "move", "path": "/data/y"}],
     "move operation failed to decode from: operation, missing from field: missing value"),
    ("copy to missing parent", DOC, [{"op": "copy", "from": "/data/k", "path": "/nope/k"}],
     "copy operation does not apply: doc is missing destination path: /nope/k: missing value"),
    ("unknown op", DOC, [{"op": "bogus", "path": "/x"}], "Unexpected kind: bogus"),
    ("missing op", DOC, [{"path": "/x"}], "Unexpected kind: unknown"),
    ("add without path", DOC, [{"op": "add", "value": 1}], "add operation failed to decode path: missing value"),
    ("replace without path", DOC, [{"op": "replace", "value": 1}],
     "replace operation failed to decode path: operation missing path field: missing value"),
    ("empty path is not a member", DOC, [{"op": "add", "path": "", "value": 1}],
     'add operation does not apply: doc is missing path: "": missing value'),
    ("failure leaves nothing applied", DOC, [{"op": "add", "path": "/data/n", "value": 1},
                                            {"op": "test", "path": "/data/n", "value": 2}],
     "testing value /data/n failed: test failed"),
]


@pytest.mark.parametrize("doc,ops,cause", [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_failing_operation_is_422(doc, ops, cause):
    before = repr(doc)
    with pytest.raises(APIError) as info:
        apply_json_patch(doc, ops)
    err = info.value
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"
    assert err.details["causes"] == [{"reason": "UnexpectedServerResponse", "message": cause}]
    assert repr(doc) == before


BAD_BODIES = [
    ("object body", {"op": "add"}, "error decoding patch: json: cannot unmarshal object into Go value "
                                   "of type []handlers.jsonPatchOp"),
    ("string body", "x", "error decoding patch: json: cannot unmarshal string into Go value of type "
                         "[]handlers.jsonPatchOp"),
    ("null body", None, "error decoding patch: json: cannot unmarshal null into Go value of type "
                        "[]handlers.jsonPatchOp"),
    ("operation not an object", [1], "error decoding patch: json: cannot unmarshal number into Go value "
                                     "of type handlers.jsonPatchOp"),
    ("path not a string", [{"op": "add", "path": 3}], "error decoding patch: json: cannot unmarshal number "
                                                      "into Go struct field jsonPatchOp.path of type string"),
]


@pytest.mark.parametrize("body,message", [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_undecodable_body_is_400(body, message):
    with pytest.raises(APIError) as info:
        apply_json_patch({"a": 1}, body)
    assert (info.value.code, info.value.reason, info.value.message) == (400, "BadRequest", message)


def test_too_many_operations_is_413():
    with pytest.raises(APIError) as info:
        apply_json_patch({}, [{"op": "test", "path": "/a", "value": None}] * 10001)
    assert info.value.code == 413
    assert info.value.message.endswith("The allowed maximum operations in a JSON patch is 10000, got 10001")


def test_replacing_document_with_array_is_invalid():
    with pytest.raises(APIError) as info:
        apply_json_patch({"a": 1}, [{"op": "replace", "path": "", "value": [1]}])
    assert info.value.code == 422
