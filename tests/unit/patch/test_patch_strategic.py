"""Strategic merge patch: directive and ordering semantics, table-driven.

The cases restate the apply half of upstream's strategicpatch tests (patch_test.go):
each row is (original document, patch, expected result), with list order significant.
Two-way rows apply the patch kubectl computes from last-applied -> new config;
three-way rows apply it to a live object that the server changed meanwhile.
The schema mirrors upstream's ``MergeItem`` test type as JSON Schema.
"""

from __future__ import annotations

import pytest

from pyk8s.apiserver.errors import APIError
from pyk8s.apiserver.patch import apply_strategic_merge_patch


def _merge_item_schema() -> dict:
    item: dict = {"type": "object", "properties": {}}
    retain_props: dict = {}
    string = {"type": "string"}
    simple_map = {"type": "object", "additionalProperties": string}
    merging = {"type": "array", "items": item, "x-kubernetes-patch-strategy": "merge",
               "x-kubernetes-patch-merge-key": "name"}
    int_merging = {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"}
    item["properties"].update(
        name=string, value=string, other=string,
        mergingList=merging,
        nonMergingList={"type": "array", "items": item},
        mergingIntList=int_merging,
        nonMergingIntList={"type": "array", "items": {"type": "integer"}},
        mergeItemPtr=dict(merging),
        simpleMap=simple_map,
        replacingItem={"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                       "x-kubernetes-patch-strategy": "replace"},
        retainKeysMap={"type": "object", "properties": retain_props,
                       "x-kubernetes-patch-strategy": "retainKeys"},
        retainKeysMergingList={**merging, "x-kubernetes-patch-strategy": "merge,retainKeys"},
    )
    retain_props.update(name=string, value=string, other=string, simpleMap=simple_map,
                        mergingIntList=int_merging, mergingList=merging,
                        nonMergingList={"type": "array", "items": item})
    return item


SCHEMA = _merge_item_schema()


def n(name, **fields) -> dict:
    """A list item with merge key ``name``."""
    return {"name": name, **fields}


def d(name) -> dict:
    """A delete directive for the item with merge key ``name``."""
    return {"name": name, "$patch": "delete"}


def order(*names) -> list:
    return [{"name": x} for x in names]


CASES = [
    # ---- maps and scalars
    ("add field to map", {"name": 1}, {"value": 1}, {"name": 1, "value": 1}),
    ("nil patch", {"name": 1}, {}, {"name": 1}),
    ("add field and delete field", {"name": 1, "other": "a"}, {"name": None, "value": 1},
     {"value": 1, "other": "a"}),
    ("delete field from nested map", {"simpleMap": {"key1": 1, "key2": 1, "other": "a"}},
     {"simpleMap": {"key2": None}}, {"simpleMap": {"key1": 1, "other": "a"}}),
    ("delete all fields", {"name": 1, "value": 1, "other": "a"}, {"name": None, "value": None},
     {"other": "a"}),
    ("null for a missing field is dropped", {"name": "a", "other": "a"},
     {"name": 1, "value": 1, "other": None}, {"name": 1, "value": 1}),
    ("delete map with $patch: delete", {"simpleMap": {"key1": 1, "key2": 1}},
     {"simpleMap": {"$patch": "delete"}}, {"simpleMap": {}}),
    ("replace whole object with $patch: replace", {"name": 1, "value": 1}, {"$patch": "replace"}, {}),
    ("$patch: replace keeps the patch's keys", {"name": 1, "value": 1},
     {"other": "a", "$patch": "replace"}, {"other": "a"}),
    ("replace strategy field replaces the map",
     {"name": "o", "replacingItem": {"Some": "Generic", "Field": "Period"}},
     {"replacingItem": {"Newly": "Modified"}},
     {"name": "o", "replacingItem": {"Newly": "Modified"}}),
    # ---- lists of scalars
    ("replace list of scalars", {"nonMergingIntList": [1, 2]}, {"nonMergingIntList": [2, 3]},
     {"nonMergingIntList": [2, 3]}),
    ("unique scalars when merging lists", {"mergingIntList": [1, 2]}, {"mergingIntList": [2, 3]},
     {"mergingIntList": [1, 2, 3]}),
    ("preserve patch order in a merging int list", {"mergingIntList": [1, 2, 3]},
     {"mergingIntList": [3, 1, 2]}, {"mergingIntList": [3, 1, 2]}),
    ("preserve patch order, server-only item keeps its place", {"mergingIntList": [1, 2, 3]},
     {"mergingIntList": [3, 1]}, {"mergingIntList": [2, 3, 1]}),
    ("delete items in lists of scalars", {"mergingIntList": [1, 2, 3, 4]},
     {"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]},
     {"mergingIntList": [1, 2, 4]}),
    ("delete all duplicates from list of scalars", {"mergingIntList": [1, 2, 3, 3, 4]},
     {"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]},
     {"mergingIntList": [1, 2, 4]}),
    ("add and delete items in list of scalars", {"mergingIntList": [1, 2, 3]},
     {"$setElementOrder/mergingIntList": [1, 2, 4], "$deleteFromPrimitiveList/mergingIntList": [3],
      "mergingIntList": [4]},
     {"mergingIntList": [1, 2, 4]}),
    ("merge lists of scalars, server item kept", {"mergingIntList": [1, 2, 4]},
     {"$setElementOrder/mergingIntList": [1, 2, 3], "mergingIntList": [3]},
     {"mergingIntList": [1, 2, 3, 4]}),
    ("add scalar and preserve order", {"mergingIntList": [1, 4, 2]},
     {"$setElementOrder/mergingIntList": [3, 1, 2], "mergingIntList": [3]},
     {"mergingIntList": [3, 1, 4, 2]}),
    ("delete scalar and preserve order", {"mergingIntList": [1, 2, 3]},
     {"$setElementOrder/mergingIntList": [2, 1], "$deleteFromPrimitiveList/mergingIntList": [3]},
     {"mergingIntList": [2, 1]}),
    ("set order in an int list with server-only items", {"mergingIntList": [1, 2, 7, 9, 8, 3, 4]},
     {"$setElementOrder/mergingIntList": [2, 1, 4, 3]},
     {"mergingIntList": [2, 1, 7, 9, 8, 4, 3]}),
    ("set order: item listed but absent", {"mergingIntList": [1, 3]},
     {"$setElementOrder/mergingIntList": [3, 2, 1]}, {"mergingIntList": [3, 1]}),
    ("set order with duplicates in an int list", {"mergingIntList": [1, 2, 3, 2, 4]},
     {"$setElementOrder/mergingIntList": [2, 1, 4, 3, 2]}, {"mergingIntList": [2, 2, 1, 4, 3]}),
    # ---- lists of maps
    ("delete all maps from merging list", {"mergingList": [n(1, other="a"), n(2, other="b")]},
     {"mergingList": [d(1), d(2)]}, {"mergingList": []}),
    ("delete from empty merging list", {"mergingList": []}, {"mergingList": [d(1), d(2)]},
     {"mergingList": []}),
    ("delete all items with $patch: replace", {"mergingList": [n(1), n(2)]},
     {"mergingList": [{"$patch": "replace"}]}, {"mergingList": []}),
    ("replace list keeps the other items", {"mergingList": [n(1), n(2)]},
     {"mergingList": [n(3, value="x"), {"$patch": "replace"}]}, {"mergingList": [n(3, value="x")]}),
    ("delete removes every duplicate",
     {"mergingList": [n(1), n(1), n(2, value="a"), n(3), n(3)]},
     {"mergingList": [d(1), d(3)]}, {"mergingList": [n(2, value="a")]}),
    ("merge lists of maps", {"mergingList": [n(1, other="a"), n(2, value=2, other="b")]},
     {"$setElementOrder/mergingList": order(4, 1, 2, 3),
      "mergingList": [n(4, value=4), n(3, value=3)]},
     {"mergingList": [n(4, value=4), n(1, other="a"), n(2, value=2, other="b"), n(3, value=3)]}),
    ("add field to map in merging list, server item after",
     {"mergingList": [n(1, other="a"), n(3, value=2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 2), "mergingList": [n(1, value=1), n(2, value=2)]},
     {"mergingList": [n(1, value=1, other="a"), n(2, value=2), n(3, value=2, other="b")]}),
    ("replace map field value in merging list",
     {"mergingList": [n(1, value=1, other="a"), n(2, value=2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 2), "mergingList": [n(1, value="a")]},
     {"mergingList": [n(1, value="a", other="a"), n(2, value=2, other="b")]}),
    ("delete map from merging list", {"mergingList": [n(1), n(2, other="b")]},
     {"$setElementOrder/mergingList": order(2), "mergingList": [d(1)]},
     {"mergingList": [n(2, other="b")]}),
    ("delete missing map from merging list", {"mergingList": [n(3, other="a")]},
     {"$setElementOrder/mergingList": order(2), "mergingList": [n(2), d(1)]},
     {"mergingList": [n(2), n(3, other="a")]}),
    ("add map and delete map", {"mergingList": [n(1), n(2, other="b"), n(4, other="c")]},
     {"$setElementOrder/mergingList": order(2, 3), "mergingList": [n(3), d(1)]},
     {"mergingList": [n(2, other="b"), n(4, other="c"), n(3)]}),
    ("add map and delete map, server-only item first", {"mergingList": [n(1, other="a"), n(4, other="c")]},
     {"$setElementOrder/mergingList": order(2, 3), "mergingList": [n(2), n(3), d(1)]},
     {"mergingList": [n(4, other="c"), n(2), n(3)]}),
    ("delete field from map in merging list",
     {"mergingList": [n(1, value=1, other="a"), n(2, value=2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 2), "mergingList": [n(1, value=None)]},
     {"mergingList": [n(1, other="a"), n(2, value=2, other="b")]}),
    ("replace non merging list nested in merging list",
     {"mergingList": [n(1, other="a", nonMergingList=[n(1), n(2, value=2)]), n(2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 2), "mergingList": [n(1, nonMergingList=[n(1, value=1)])]},
     {"mergingList": [n(1, other="a", nonMergingList=[n(1, value=1)]), n(2, other="b")]}),
    ("nested merging list with its own order",
     {"mergingList": [n(1, other="a", mergingList=[n(2, value=2, other="d")]), n(2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 2),
      "mergingList": [{"$setElementOrder/mergingList": order(2, 1), "name": 1,
                       "mergingList": [n(1, value=1)]}]},
     {"mergingList": [n(1, other="a", mergingList=[n(2, value=2, other="d"), n(1, value=1)]),
                      n(2, other="b")]}),
    ("nested merging list, values merged",
     {"mergingList": [n(1, other="a", mergingList=[n(1, value="a", other="c"), n(2, value="b", other="d")]),
                      n(2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 2),
      "mergingList": [{"$setElementOrder/mergingList": order(1, 2), "name": 1,
                       "mergingList": [n(1, value=1), n(2, value=2)]}]},
     {"mergingList": [n(1, other="a", mergingList=[n(1, value=1, other="c"), n(2, value=2, other="d")]),
                      n(2, other="b")]}),
    ("add map to merging list by pointer", {"mergeItemPtr": [n(1, other="a"), n(3)]},
     {"$setElementOrder/mergeItemPtr": order(1, 2), "mergeItemPtr": [n(2)]},
     {"mergeItemPtr": [n(1, other="a"), n(2), n(3)]}),
    ("preserve the order from the patch in a merging list",
     {"mergingList": [n(1), n(2, value="b"), n(3)]},
     {"mergingList": [n(3, value="c"), n(1, value="a"), n(2, other="x")]},
     {"mergingList": [n(3, value="c"), n(1, value="a"), n(2, value="b", other="x")]}),
    ("preserve the order from the patch, server-only item keeps its place",
     {"mergingList": [n(1), n(2, value="b"), n(3)]},
     {"mergingList": [n(3, value="c"), n(1, value="a")]},
     {"mergingList": [n(2, value="b"), n(3, value="c"), n(1, value="a")]}),
    ("add an item and preserve order", {"mergingList": [n(1, other="a"), n(2, value=2, other="b")]},
     {"$setElementOrder/mergingList": order(3, 1, 2), "mergingList": [n(3, value=3)]},
     {"mergingList": [n(3, value=3), n(1, other="a"), n(2, value=2, other="b")]}),
    ("add multiple items and preserve order", {"mergingList": [n(1, other="a"), n(2, value=2, other="b")]},
     {"$setElementOrder/mergingList": order(1, 4, 2, 3), "mergingList": [n(4, value=4), n(3, value=3)]},
     {"mergingList": [n(1, other="a"), n(4, value=4), n(2, value=2, other="b"), n(3, value=3)]}),
    ("delete an item and preserve order",
     {"mergingList": [n(1, other="a"), n(2, value=2, other="b"), n(3, value=3)]},
     {"$setElementOrder/mergingList": order(2, 1), "mergingList": [d(3)]},
     {"mergingList": [n(2, value=2, other="b"), n(1, other="a")]}),
    ("change an item and preserve order",
     {"mergingList": [n(1, other="a"), n(2, value=2, other="b"), n(3, value=3)]},
     {"$setElementOrder/mergingList": order(2, 3, 1), "mergingList": [n(3, value="x")]},
     {"mergingList": [n(2, value=2, other="b"), n(3, value="x"), n(1, other="a")]}),
    ("add and delete an item and preserve order",
     {"mergingList": [n(1, other="a"), n(2, value=2, other="b"), n(3, value=3)]},
     {"$setElementOrder/mergingList": order(4, 2, 1), "mergingList": [n(4, value=4), d(3)]},
     {"mergingList": [n(4, value=4), n(2, value=2, other="b"), n(1, other="a")]}),
    ("set elements order with server-only items",
     {"mergingList": [n(1, other="a"), n(3, value=3), n(4, value=4), n(2, value=2), n(9)]},
     {"$setElementOrder/mergingList": order(4, 2, 3, 1)},
     {"mergingList": [n(4, value=4), n(2, value=2), n(3, value=3), n(1, other="a"), n(9)]}),
    ("set elements order with server-only items in the middle",
     {"mergingList": [n(1, other="a"), n(2, value=2), n(7), n(9), n(8), n(3, value=3), n(4, value=4)]},
     {"$setElementOrder/mergingList": order(2, 1, 4, 3)},
     {"mergingList": [n(2, value=2), n(1, other="a"), n(7), n(9), n(8), n(4, value=4), n(3, value=3)]}),
    ("set order with duplicate merge keys",
     {"mergingList": [n(1), n(2, value="dup1"), n(3), n(2, value="dup2"), n(4)]},
     {"$setElementOrder/mergingList": order(2, 1, 4, 3, 2)},
     {"mergingList": [n(2, value="dup1"), n(2, value="dup2"), n(1), n(4), n(3)]}),
    ("set order names an item absent from the list", {"mergingList": [n(1), n(3)]},
     {"$setElementOrder/mergingList": order(3, 2, 1), "mergingList": [n(3, value=3), n(1, value=1)]},
     {"mergingList": [n(3, value=3), n(1, value=1)]}),
    ("delete in one list, reorder another",
     {"mergingList": [n("a", value="a"), n("b", value="b")],
      "mergeItemPtr": [n("c", value="c"), n("d", value="d")]},
     {"$setElementOrder/mergingList": order("b"), "$setElementOrder/mergeItemPtr": order("d", "c"),
      "mergingList": [{"$patch": "delete", "name": "a"}]},
     {"mergingList": [n("b", value="b")], "mergeItemPtr": [n("d", value="d"), n("c", value="c")]}),
    # ---- retainKeys
    ("retainKeys map clears unlisted field", {"retainKeysMap": {"value": "foo"}},
     {"retainKeysMap": {"$retainKeys": ["other"], "other": "bar"}}, {"retainKeysMap": {"other": "bar"}}),
    ("retainKeys map, discriminated union", {"retainKeysMap": {"name": "type1", "value": "foo"}},
     {"retainKeysMap": {"$retainKeys": ["name", "other"], "name": "type2", "other": "bar"}},
     {"retainKeysMap": {"name": "type2", "other": "bar"}}),
    ("retainKeys map adds a field and clears one", {"retainKeysMap": {"name": "foo", "other": "a"}},
     {"retainKeysMap": {"$retainKeys": ["name", "value"], "value": "bar"}},
     {"retainKeysMap": {"name": "foo", "value": "bar"}}),
    ("retainKeys map deletes and clears", {"retainKeysMap": {"name": "foo", "value": "bar", "other": "a"}},
     {"retainKeysMap": {"$retainKeys": ["name"], "value": None}}, {"retainKeysMap": {"name": "foo"}}),
    ("retainKeys without directive merges", {"retainKeysMap": {"name": "foo", "value": "a"}},
     {"retainKeysMap": {"value": None}}, {"retainKeysMap": {"name": "foo"}}),
    ("retainKeys map, nested map merged",
     {"retainKeysMap": {"name": "foo", "value": "bar", "simpleMap": {"key1": "a", "key3": "c"}}},
     {"retainKeysMap": {"$retainKeys": ["name", "simpleMap", "value"], "simpleMap": {"key2": "b"}}},
     {"retainKeysMap": {"name": "foo", "value": "bar", "simpleMap": {"key1": "a", "key2": "b", "key3": "c"}}}),
    ("retainKeys map, nested int list", {"retainKeysMap": {"name": "foo", "mergingIntList": [1, 2, 3, 4]}},
     {"retainKeysMap": {"$retainKeys": ["mergingIntList", "name"], "mergingIntList": [5],
                        "$deleteFromPrimitiveList/mergingIntList": [2],
                        "$setElementOrder/mergingIntList": [1, 3, 5]}},
     {"retainKeysMap": {"name": "foo", "mergingIntList": [1, 3, 5, 4]}}),
    ("retainKeys map, nested merging list item deleted",
     {"retainKeysMap": {"name": "foo", "mergingList": [n("a"), n("b"), n("x")]}},
     {"retainKeysMap": {"$retainKeys": ["mergingList", "name"], "$setElementOrder/mergingList": order("a"),
                        "mergingList": [d("b")]}},
     {"retainKeysMap": {"name": "foo", "mergingList": [n("a"), n("x")]}}),
    ("retainKeys list item clears a field",
     {"retainKeysMergingList": [n("bar"), n("foo", value="a", other="x")]},
     {"$setElementOrder/retainKeysMergingList": order("bar", "foo"),
      "retainKeysMergingList": [{"$retainKeys": ["name", "value"], "name": "foo"}]},
     {"retainKeysMergingList": [n("bar"), n("foo", value="a")]}),
    ("retainKeys list item changes and clears",
     {"retainKeysMergingList": [n("bar"), n("foo", value="old", other="x")]},
     {"$setElementOrder/retainKeysMergingList": order("bar", "foo"),
      "retainKeysMergingList": [{"$retainKeys": ["name", "value"], "name": "foo", "value": "new"}]},
     {"retainKeysMergingList": [n("bar"), n("foo", value="new")]}),
    # ---- values taken whole from the patch
    ("new field: nulls and directives removed", {"name": 1},
     {"simpleMap": {"a": "x", "b": None}, "mergingList": [n(1, value=None), d(2)]},
     {"name": 1, "simpleMap": {"a": "x"}, "mergingList": [n(1)]}),
    ("new field that is a $patch map is dropped", {"name": 1},
     {"simpleMap": {"$patch": "delete"}}, {"name": 1}),
    ("type change takes the patch value", {"value": "x", "simpleMap": "oops"},
     {"simpleMap": {"k": "v"}}, {"value": "x", "simpleMap": {"k": "v"}}),
    ("null patch is a no-op", {"name": 1}, None, {"name": 1}),
]


@pytest.mark.parametrize("original,patch,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_apply(original, patch, expected):
    before = repr(original), repr(patch)
    assert apply_strategic_merge_patch(original, patch, SCHEMA) == expected
    assert (repr(original), repr(patch)) == before, "inputs must not be mutated"


def test_list_order_is_exact():
    # dict equality ignores key order but list order matters: double-check one case
    out = apply_strategic_merge_patch({"mergingIntList": [1, 2, 3]}, {"mergingIntList": [3, 1]}, SCHEMA)
    assert out["mergingIntList"] == [2, 3, 1]


ERRORS = [
    ("missing merge key", {"mergingList": [n(1, value="a")]}, {"mergingList": [{"value": "b"}]},
     400, "map: map[value:b] does not contain declared merge key: name"),
    ("order does not match patch list", {"mergingList": [n(1), n(3), n(2)]},
     {"$setElementOrder/mergingList": order(1, 2, 3), "mergingList": [n(3, value=3), n(1, value=1)]},
     400, "doesn't match $setElementOrder list"),
    ("order does not match int patch list", {"mergingIntList": [1, 3, 2]},
     {"$setElementOrder/mergingIntList": [1, 2, 3], "mergingIntList": [3, 1]},
     400, "doesn't match $setElementOrder list"),
    ("$patch: merge on a map", {"simpleMap": {"a": "b"}}, {"simpleMap": {"$patch": "merge"}},
     400, "unknown patch type: merge in map: map[$patch:merge]"),
    ("$patch: merge in a list", {"mergingList": [n(1)]}, {"mergingList": [{"$patch": "merge"}]},
     400, "merging lists cannot yet be specified in the patch"),
    ("unknown $patch value", {"mergingList": [n(1)]}, {"mergingList": [{"$patch": "bogus", "name": 1}]},
     400, "unknown patch type: bogus in map: map[$patch:bogus name:1]"),
    ("delete directive without merge key", {"mergingList": [n(1)]}, {"mergingList": [{"$patch": "delete"}]},
     400, "map: map[$patch:delete] does not contain declared merge key: name"),
    ("retainKeys not a list", {"retainKeysMap": {"name": "a"}}, {"retainKeysMap": {"$retainKeys": "name"}},
     400, "invalid patch format of retainKeys"),
    ("patch field not in retainKeys", {"retainKeysMap": {"name": "a"}},
     {"retainKeysMap": {"$retainKeys": ["name"], "value": "x"}}, 400, "invalid patch format of retainKeys"),
    ("malformed setElementOrder key", {"mergingList": [n(1)]}, {"$setElementOrderX": []},
     400, "invalid patch format of setElementOrder list"),
    ("malformed deleteFromPrimitiveList key", {"mergingIntList": [1]}, {"$deleteFromPrimitiveListX": [1]},
     400, "invalid patch format of primitive list"),
    ("lists of lists", {"mergingIntList": [[1]]}, {"mergingIntList": [[2]]}, 422, None),
    ("mixed element types", {"mergingIntList": [1]}, {"mergingIntList": ["a"]},
     400, "list element types are not identical: [[1] [a]]"),
    ("setElementOrder not a list", {"mergingList": [n(1)]}, {"$setElementOrder/mergingList": "x"},
     400, "expected a []interface {}, but received a string"),
    ("patch body not an object", {"name": 1}, ["x"],
     400, "json: cannot unmarshal array into Go value of type map[string]interface {}"),
]


@pytest.mark.parametrize("original,patch,code,message", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors(original, patch, code, message):
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(original, patch, SCHEMA)
    assert info.value.code == code
    if code == 422:
        assert info.value.reason == "Invalid"
        assert info.value.message == "the server rejected our request due to an error in our request"
        assert info.value.details["causes"][0]["message"] == "lists of lists are not supported"
    else:
        assert message in info.value.message
    if code == 400:
        assert info.value.reason == "BadRequest"


def test_no_schema_is_merge_patch():
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert apply_strategic_merge_patch(doc, {"a": [3], "b": {"c": None, "d": 2}}, None) == {
        "a": [3], "b": {"d": 2}}


def test_unknown_fields_fall_back_to_merge_semantics():
    doc = {"name": "x", "extra": {"list": [1, 2], "m": {"a": 1}}}
    patch = {"extra": {"list": [3], "m": {"b": 2}}}
    assert apply_strategic_merge_patch(doc, patch, SCHEMA) == {
        "name": "x", "extra": {"list": [3], "m": {"a": 1, "b": 2}}}
