"""Objects read through their schema, as structured-merge-diff types them.

Why it exists: ownership and apply depend on the shape of each field. A map is
*granular* (each key owned on its own) unless ``x-kubernetes-map-type: atomic``; a
list is *atomic* (owned and replaced whole) unless ``x-kubernetes-list-type`` is
``map`` (items named by ``x-kubernetes-list-map-keys``) or ``set`` (items named by
value); older schemas that only say ``x-kubernetes-patch-strategy: merge`` get the
same associative treatment from the patch merge key. Fields with no schema are
deduced from their value: maps granular, lists atomic, as upstream's deduced type.

:class:`Node` wraps one (possibly absent) schema; the walks here build field sets
(:func:`field_set`), compare two values (:func:`compare`; :func:`added_fields_v1` is
its one-sided case for a create, written straight as FieldsV1) and name list items.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..openapi import definitions
from .fieldpath import (
    Path,
    Set,
    field,
    index_element,
    key_element,
    sorted_elements,
    value_element,
)

OBJECT_META_REF = {"$ref": definitions.SOURCE_PREFIX + definitions.OBJECT_META}
_SCALARS = {"integer": "numeric", "number": "numeric", "string": "string", "boolean": "boolean"}
# Key fields upstream's 1.32 OpenAPI defaults (the bundled schemas omit the default).
_KEY_DEFAULTS = {"protocol": "TCP"}


class Node:
    """The type of one value: a resolved schema, or None for a deduced type. Children
    and every property a walk asks about are worked out once and kept, so walks over
    many objects of a kind stay cheap."""

    __slots__ = ("_extra_node", "_fields", "_implicit", "_items", "_list_keys", "_list_type",
                 "_map_atomic", "_props", "_required", "_struct_like", "schema")

    def __init__(self, schema: dict | None) -> None:
        self.schema = schema = definitions.resolve(schema) if schema is not None else None
        self._fields: dict[str, Node] = {}
        self._implicit: dict[str, bool] = {}
        self._items: Node | None = None
        self._extra_node: Node | None = None
        if schema is None:
            self._map_atomic, self._props, self._required = False, {}, ()
            self._struct_like, self._list_type, self._list_keys = False, "atomic", []
            return
        self._map_atomic = schema.get("x-kubernetes-map-type") == "atomic" or "items" in schema
        self._props = schema.get("properties") or {}
        self._required = schema.get("required") or ()
        self._struct_like = bool(self._props) and \
            not isinstance(schema.get("additionalProperties"), dict)
        self._list_type = _list_type(schema)
        keys = schema.get("x-kubernetes-list-map-keys")
        merge_key = schema.get("x-kubernetes-patch-merge-key")
        self._list_keys = list(keys) if keys else [merge_key] if merge_key else []

    @classmethod
    def root(cls, group: str, version: str, kind: str) -> Node:
        """The type of a whole object; without a registered schema the object is
        deduced, except ``metadata`` which is always ObjectMeta."""
        return _root(group, version, kind, definitions.generation())

    # ---- shape ----------------------------------------------------------------

    def atomic(self, value: object) -> bool:
        """Whether ``value`` at this type is owned and replaced as one leaf."""
        if isinstance(value, dict):
            return self._map_atomic
        if isinstance(value, list):
            return self._list_type == "atomic"
        return True

    def named_field(self, key: str) -> bool:
        """Whether ``key`` is a declared struct field (not a map key)."""
        return key in self._props

    def implicit(self, key: str) -> bool:
        """Whether field ``key`` is there whenever this value is (a struct or required
        field, which upstream's typed zero value always holds): appearing or going, it
        is not a member of a comparison's sets itself."""
        if key not in self._props:
            return False
        known = self._implicit.get(key)
        if known is None:
            known = self._implicit[key] = self.field(key)._struct_like or key in self._required
        return known

    # ---- children ---------------------------------------------------------------

    def field(self, key: str) -> Node:
        child = self._fields.get(key)
        if child is None:
            if key not in self._props:
                return self._extra()
            child = self._fields[key] = Node(self._props[key])
        return child

    def _extra(self) -> Node:
        """The type of map keys that are not declared fields (one node for them all)."""
        if self._extra_node is None:
            extra = (self.schema or {}).get("additionalProperties")
            self._extra_node = Node(extra) if isinstance(extra, dict) and extra else DEDUCED
        return self._extra_node

    def items(self) -> Node:
        if self._items is None:
            items = (self.schema or {}).get("items")
            self._items = Node(items) if isinstance(items, dict) else DEDUCED
        return self._items

    def item_element(self, item: object, index: int) -> str:
        """The path element naming ``item`` of a list of this type."""
        kind = self._list_type
        if kind == "map" and isinstance(item, dict):
            fields = {}
            for k in self._list_keys:
                if k in item:
                    fields[k] = item[k]
                elif k in _KEY_DEFAULTS:
                    fields[k] = self.items().field(k).default(_KEY_DEFAULTS[k])
            if fields:
                return key_element(fields)
        elif kind == "set" and not isinstance(item, (dict, list)):
            return value_element(item)
        return index_element(index)

    def default(self, fallback: object) -> object:
        return (self.schema or {}).get("default", fallback)

    def scalar(self) -> str | None:
        """"numeric", "string" or "boolean" for a scalar of one JSON type, else None."""
        schema = self.schema
        if schema is None or "oneOf" in schema or "anyOf" in schema:
            return None
        kinds = schema.get("type")
        kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds or () if k != "null"]
        if len(kinds) != 1:
            return None
        return _SCALARS.get(kinds[0])


def _list_type(schema: dict) -> str:
    if "items" not in schema:
        return "atomic"
    explicit = schema.get("x-kubernetes-list-type")
    if explicit:
        return explicit
    if "merge" in (schema.get("x-kubernetes-patch-strategy") or "").split(","):
        return "map" if schema.get("x-kubernetes-patch-merge-key") else "set"
    return "atomic"


DEDUCED = Node(None)


@functools.lru_cache(maxsize=256)
def _root(group: str, version: str, kind: str, generation: int) -> Node:
    name = definitions.name_for(group, version, kind)
    schema = definitions.lookup(name) if name else None
    if schema is None:
        schema = {"properties": {"metadata": OBJECT_META_REF}, "additionalProperties": {}}
    return Node(schema)


# ---- walks ------------------------------------------------------------------------


def field_set(value: object, node: Node, path: Path = ()) -> Set:
    """Every path ``value`` sets (upstream's ToFieldSet): leaves, atomic values, list
    items and map keys that are not struct fields are members."""
    out = Set()
    _collect(value, node, path, out)
    return out


def _collect(value: object, node: Node, path: Path, out: Set) -> None:
    if value is None:
        return
    if node.atomic(value):
        out.insert(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(item, node.field(key), path + (field(key),), out)
            if not node.named_field(key):
                out.insert(path + (field(key),))
    else:
        items = node.items()
        for index, item in enumerate(value):
            element = node.item_element(item, index)
            _collect(item, items, path + (element,), out)
            out.insert(path + (element,))


@dataclass
class Comparison:
    added: Set
    modified: Set
    removed: Set

    def changed(self) -> Set:
        return self.added.union(self.modified)


def compare(old: object, new: object, node: Node) -> Comparison:
    """What changed from ``old`` to ``new`` (upstream's TypedValue.Compare).

    Maps and list items that appear are added as members themselves, except struct
    fields and required fields, which upstream's typed zero value always holds."""
    result = Comparison(Set(), Set(), Set())
    _compare(old, new, node, (), result, implicit=True)
    return result


def _compare(old: object, new: object, node: Node, path: Path, out: Comparison,
             implicit: bool) -> None:
    if old == new:  # also both None: nothing changed below here
        return
    if old is None or new is None:
        _one_side(old if new is None else new, node, path,
                  out.removed if new is None else out.added, implicit)
        return
    kind = _container(old, new, node)
    if kind is None:
        _leaf(old, new, path, out)
        return
    if kind == "map":
        _compare_maps(old or {}, new or {}, node, path, out)
    else:
        _compare_lists(old or [], new or [], node, path, out)
    if not implicit:
        if old is None:
            out.added.insert(path)
        elif new is None:
            out.removed.insert(path)


def _one_side(value: object, node: Node, path: Path, out: Set, implicit: bool) -> None:
    """Everything under a value only one side has: all added, or all removed."""
    if value is None:
        return
    if not value or node.atomic(value):
        out.insert(path)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _one_side(item, node.field(key), path + (field(key),), out, node.implicit(key))
    else:
        items = node.items()
        for index, item in enumerate(value):
            _one_side(item, items, path + (node.item_element(item, index),), out, False)
    if not implicit:
        out.insert(path)


def added_fields_v1(value: dict, node: Node) -> dict:
    """The FieldsV1 of ``compare(None, value, node).added`` for a non-empty map
    ``value``, built directly (a create: every field is added, no set is needed)."""
    out = {}
    for key in sorted(value):
        item = value[key]
        if item is not None:
            inner = _added_v1(item, node.field(key), node.implicit(key))
            if inner is not None:
                out["f:" + key] = inner
    return out


def _added_v1(value: object, node: Node, implicit: bool) -> dict | None:
    """The FieldsV1 of what ``_one_side`` adds for ``value``; None when it adds nothing."""
    if not value or node.atomic(value):
        return {}
    out = added_fields_v1(value, node) if isinstance(value, dict) else \
        _added_items_v1(value, node)
    if implicit:
        return out or None
    return {".": {}, **out} if out else {}


def _added_items_v1(values: list, node: Node) -> dict:
    items = node.items()
    found: dict[str, dict] = {}
    for index, item in enumerate(values):
        if item is None:
            continue
        element = node.item_element(item, index)
        inner = _added_v1(item, items, False)
        if element in found:
            inner = _member_union_v1(found[element], inner)
        found[element] = inner
    return {element: found[element] for element in sorted_elements(found)} \
        if len(found) > 1 else found


def _member_union_v1(one: dict, other: dict) -> dict:
    """The FieldsV1 of a member node holding what both of two member nodes hold (list
    items with the same key)."""
    children = Set.from_fields_v1(one).union(Set.from_fields_v1(other)).to_fields_v1()
    return {".": {}, **children} if children else {}


def _container(old: object, new: object, node: Node) -> str | None:
    """"map"/"list" when both sides can be walked item by item, None for a leaf."""
    values = [v for v in (old, new) if v is not None]
    if all(isinstance(v, dict) for v in values) and not node.atomic(values[0]):
        return "map" if any(values) else None
    if all(isinstance(v, list) for v in values) and not node.atomic(values[0]):
        return "list" if any(values) else None
    return None


def _leaf(old: object, new: object, path: Path, out: Comparison) -> None:
    if old is None:
        out.added.insert(path)
    elif new is None:
        out.removed.insert(path)
    elif old != new:
        out.modified.insert(path)


def _compare_maps(old: dict, new: dict, node: Node, path: Path, out: Comparison) -> None:
    for key in list(old) + [k for k in new if k not in old]:
        _compare(old.get(key), new.get(key), node.field(key), path + (field(key),), out,
                 node.implicit(key))


def _compare_lists(old: list, new: list, node: Node, path: Path, out: Comparison) -> None:
    items = node.items()
    before = index_items(old, node)
    after = index_items(new, node)
    for element in list(before) + [e for e in after if e not in before]:
        _compare(before.get(element), after.get(element), items, path + (element,), out,
                 implicit=False)


def index_items(values: list, node: Node) -> dict[str, object]:
    """List items by their path element (the last of duplicates wins)."""
    return {node.item_element(item, i): item for i, item in enumerate(values)}


def ensure_named_members(paths: Set, value_node: Node) -> Set:
    """A copy of ``paths`` where every declared struct field on the way is a member
    (upstream's EnsureNamedFieldsAreMembers), so pruning can drop whole fields."""
    out = Set()
    out.member = paths.member
    for element, child in paths.children.items():
        sub_node = _child_node(value_node, element)
        converted = ensure_named_members(child, sub_node)
        if element.startswith("f:") and value_node.named_field(element[2:]):
            converted.member = True
        out.children[element] = converted
    return out


def _child_node(node: Node, element: str) -> Node:
    if element.startswith("f:"):
        return node.field(element[2:])
    return node.items()


def remove_paths(value: object, paths: Set, node: Node) -> object:
    """``value`` without the member paths of ``paths`` (upstream's RemoveItems)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            child = paths.child(field(key))
            if child is None:
                out[key] = item
            elif not child.member:
                out[key] = remove_paths(item, child, node.field(key))
        return out
    if isinstance(value, list) and not node.atomic(value):
        kept = []
        items = node.items()
        for index, item in enumerate(value):
            child = paths.child(node.item_element(item, index))
            if child is None:
                kept.append(item)
            elif not child.member:
                kept.append(remove_paths(item, child, items))
        return kept
    return value

