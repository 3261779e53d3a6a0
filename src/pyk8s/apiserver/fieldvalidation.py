"""Server-side field validation (``fieldValidation=Strict|Warn|Ignore``) as upstream does it.

kubectl sends ``fieldValidation=Strict`` on every create, apply and patch once the
/openapi/v3 documents say the server supports it, so the server must find unknown
and duplicate fields and word them exactly as kube-apiserver does:

* unknown fields of a typed object: ``unknown field "spec.template.spec.containers[0].imagee"``
  (sigs.k8s.io/json strict decoding: struct fields and map keys joined with ``.``, list
  indexes as ``[i]``; an unknown field's own subtree is not inspected);
* duplicate keys in a JSON body: ``duplicate field "spec.replicas"``;
* Strict failure (400 BadRequest) on create/update:
  ``Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
  unknown field "spec.foo", duplicate field "spec.replicas"`` (unknown first, at most
  100 entries);
* Warn: one ``Warning: 299 - "unknown field \\"spec.foo\\""`` header per entry;
* strategic/merge/JSON patches (422 Invalid, field ``patch``): :func:`go_value_repr`
  renders the patch as Go's ``%+v`` does for the cause's value;
* server-side apply types the patch like structured-merge-diff, whatever the
  directive: ``failed to create typed patch object (ns/name; apps/v1, Kind=Deployment):
  .spec.foo: field not declared in schema`` (500), keyed list items written
  ``[name="web"]``; see :func:`apply_unknown_fields`;
* duplicate keys in a YAML apply body: ``line 11: key "foo" already set in map``.

Schemas come from :mod:`pyk8s.apiserver.openapi.definitions` (built-ins and
registered extras). Map fields (``additionalProperties``) accept any key; free-form
built-in types (RawExtension, FieldsV1, JSON) and ``x-kubernetes-preserve-unknown-
fields`` accept anything. Kinds without a schema have no unknown fields. Unknown
fields are never stored: :func:`prune_unknown` drops them in place.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import yaml

from .openapi import definitions

MAX_STRICT_ERRORS = 100  # sigs.k8s.io/json stops collecting after 100
_EMBEDDED = "x-kubernetes-embedded-resource"
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_IMPLICIT_ROOT = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                  "metadata": {"$ref": definitions.SOURCE_PREFIX + definitions.OBJECT_META}}


# -- unknown fields ------------------------------------------------------------------------


def _root(group: str, version: str, kind: str) -> tuple[dict | None, bool]:
    name = definitions.name_for(group, version, kind)
    if name is None:
        return None, False
    return definitions.lookup(name), definitions.is_structural(name)


def unknown_fields(group: str, version: str, kind: str, obj: dict) -> list[str]:
    """Paths of the fields of ``obj`` its kind's schema does not declare, in document order."""
    schema, structural = _root(group, version, kind)
    out: list[str] = []
    if schema is not None:
        found: list = []
        _walk(obj, _root_node(schema, structural), None, found, False)
        out = [_render(p) for p in found]
    return out


def prune_unknown(group: str, version: str, kind: str, obj: dict) -> None:
    """Remove, in place, every field :func:`unknown_fields` would report."""
    schema, structural = _root(group, version, kind)
    if schema is not None:
        _walk(obj, _root_node(schema, structural), None, [], True)


def _object_fields(schema: dict, structural: bool, root: bool) -> tuple[dict | None, object, bool]:
    """(declared properties, additionalProperties, accepts-anything) of an object schema."""
    props = schema.get("properties")
    addl = schema.get("additionalProperties")
    preserve = schema.get(_PRESERVE) is True
    if structural and (root or schema.get(_EMBEDDED) is True):
        props = {**_IMPLICIT_ROOT, **(props or {})}
    if props is None and not isinstance(addl, dict):
        # Built-in free-form types hold anything; a structural object with nothing
        # declared holds nothing unless it preserves unknown fields.
        free = preserve or not structural or addl is True
        return {}, None, free
    return props or {}, addl, preserve or addl is True


class _Node:
    """A schema compiled for walking: its ``$ref`` resolved once, its keywords read once,
    and the nodes of its properties, map values and list items compiled on first use."""

    __slots__ = ("props", "anything", "skip", "_addl", "_items", "_structural", "_kids",
                 "_addl_node", "_items_node")

    def __init__(self, schema: dict | None, structural: bool, root: bool) -> None:
        self._structural = structural
        self._kids: dict[str, _Node] = {}
        self._addl_node: _Node | None = None
        self._items_node: _Node | None = None
        if schema is None:  # resolves to nothing: nothing inside is inspected
            self.props, self._addl, self.anything, self.skip, self._items = {}, None, True, \
                True, None
            return
        props, addl, anything = _object_fields(schema, structural, root)
        items = schema.get("items")
        self.props = props
        self._addl = addl if isinstance(addl, dict) else None
        self.anything = anything
        self.skip = anything and not props and self._addl is None
        self._items = items if isinstance(items, dict) else None

    def kid(self, key: str) -> _Node | None:
        """The node of field ``key``; None when the schema does not declare it."""
        node = self._kids.get(key)
        if node is not None:
            return node
        sub = self.props.get(key)
        if sub is not None:
            node = self._kids[key] = _compile(sub, self._structural)
            return node
        if self._addl is None:
            return None
        node = self._addl_node
        if node is None:
            node = self._addl_node = _compile(self._addl, self._structural)
        return node

    def items(self) -> _Node | None:
        if self._items is None:
            return None
        node = self._items_node
        if node is None:
            node = self._items_node = _compile(self._items, self._structural)
        return node


# (id(schema), structural, root) -> (schema, node); the schema is kept in the entry so
# its id stays its own. Dropped whenever the registered extra definitions change.
_nodes: dict[tuple[int, bool, bool], tuple[dict, _Node]] = {}
_nodes_generation = -1


def _compile(schema: dict, structural: bool, root: bool = False) -> _Node:
    key = (id(schema), structural, root)
    entry = _nodes.get(key)
    if entry is not None and entry[0] is schema:
        return entry[1]
    node = _Node(definitions.resolve(schema), structural, root)
    _nodes[key] = (schema, node)
    return node


def _root_node(schema: dict, structural: bool) -> _Node:
    global _nodes_generation
    if _nodes_generation != definitions.generation():
        _nodes.clear()
        _nodes_generation = definitions.generation()
    return _compile(schema, structural, True)


def _render(path: tuple) -> str:
    """A path built as nested (parent, key-or-index) pairs -> ``spec.containers[0].name``."""
    parts = []
    while path is not None:
        path, part = path
        parts.append(part)
    out = ""
    for part in reversed(parts):
        if isinstance(part, int):
            out = f"{out}[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def _walk(value: object, node: _Node, path: tuple | None, out: list, prune: bool) -> None:
    # Paths are built lazily as (parent, key) pairs and only rendered when reported.
    if type(value) is dict or isinstance(value, dict):
        if node.skip:
            return
        for key in list(value):
            sub = node.kid(key)
            if sub is None:
                if not node.anything:
                    out.append((path, key))
                    if prune:
                        del value[key]
                continue
            child = value[key]
            if isinstance(child, (dict, list)):
                _walk(child, sub, (path, key), out, prune)
    elif isinstance(value, list):
        items = node.items()
        if items is not None:
            for index, item in enumerate(value):
                if isinstance(item, (dict, list)):
                    _walk(item, items, (path, index), out, prune)


# -- server-side apply (structured-merge-diff paths) ------------------------------------


def apply_unknown_fields(group: str, version: str, kind: str, obj: dict) -> list[str]:
    """Unknown fields as structured-merge-diff reports them when typing an apply patch.

    Paths start with ``.``; items of ``x-kubernetes-list-type: map`` lists are named by
    their keys (``.spec.containers[name="web"].imagee``), set items by value, others by
    index. Like structured-merge-diff, only the first unknown field of each object is
    reported (the rest of that object is not inspected).
    """
    schema, structural = _root(group, version, kind)
    out: list[str] = []
    if schema is not None:
        _smd_walk(obj, schema, "", out, structural, root=True)
    return out


def _smd_walk(value: object, schema: dict | None, path: str, out: list[str],
              structural: bool, root: bool = False) -> None:
    schema = definitions.resolve(schema)
    if schema is None:
        return
    if isinstance(value, dict):
        props, addl, anything = _object_fields(schema, structural, root)
        if anything and not props and not isinstance(addl, dict):
            return
        for key, item in value.items():
            sub = props.get(key)
            if sub is None and isinstance(addl, dict):
                sub = addl
            if sub is None:
                if not anything:
                    out.append(f"{path}.{key}")
                    return
                continue
            _smd_walk(item, sub, f"{path}.{key}", out, structural)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                element = _smd_element(schema, item, index)
                _smd_walk(item, items, path + element, out, structural)


def _smd_element(list_schema: dict, item: object, index: int) -> str:
    list_type = list_schema.get("x-kubernetes-list-type")
    if list_type == "map" and isinstance(item, dict):
        keys = list_schema.get("x-kubernetes-list-map-keys") or []
        if keys and all(k in item for k in keys):
            return "[" + ",".join(f"{k}={_smd_value(item[k])}" for k in keys) + "]"
    elif list_type == "set" and not isinstance(item, (dict, list)):
        return f"[={_smd_value(item)}]"
    return f"[{index}]"


def _smd_value(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def typed_patch_error_message(namespace: str, name: str, group: str, version: str, kind: str,
                              paths: list[str]) -> str:
    """The message of the 500 server-side apply answers when the patch has unknown fields."""
    gvk = f"{group}/{version}, Kind={kind}"
    errs = [f"{p}: field not declared in schema" for p in paths]
    body = errs[0] if len(errs) == 1 else "errors:\n" + "\n".join("  " + e for e in errs)
    return f"failed to create typed patch object ({namespace}/{name}; {gvk}): {body}"


# -- duplicate fields -----------------------------------------------------------------------


class _Pairs(list):
    """A JSON object kept as its list of (key, value) pairs, duplicates included."""


def _count_keys(node: object) -> int:
    n = 0
    if type(node) is dict:
        n = len(node)
        for value in node.values():
            if type(value) is dict or type(value) is list:
                n += _count_keys(value)
    else:
        for value in node:  # a list
            if type(value) is dict or type(value) is list:
                n += _count_keys(value)
    return n


def _surely_no_duplicates(raw: bytes | str) -> bool:
    """A cheap proof that ``raw`` repeats no key, or False when it cannot tell.

    When no whitespace precedes any ``:`` in ``raw``, every key is followed at once by
    ``":``, and elsewhere ``":`` can only occur inside a string (as ``\\":``). So the
    occurrences of ``":`` are at least the number of keys written, which is the number
    of keys decoded plus one per repeat: equality leaves no room for a repeat.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if b" :" in data or b"\n:" in data or b"\t:" in data or b"\r:" in data:
        return False
    try:
        tree = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    if type(tree) is not dict and type(tree) is not list:
        return True
    return data.count(b'":') == _count_keys(tree)


def duplicate_fields(raw: bytes | str) -> list[str]:
    """Paths of keys that appear more than once in the same JSON object of ``raw``."""
    if _surely_no_duplicates(raw):
        return []
    try:
        tree = json.loads(raw, object_pairs_hook=_Pairs)
    except ValueError:
        return []
    out: list[str] = []
    _duplicates(tree, "", out)
    return out


def _duplicates(node: object, path: str, out: list[str]) -> None:
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, value in node:
            child = f"{path}.{key}" if path else key
            if key in seen:
                if child not in out:
                    out.append(child)
            else:
                seen.add(key)
            _duplicates(value, child, out)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _duplicates(item, f"{path}[{index}]", out)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def duplicate_fields_yaml(raw: bytes | str) -> list[str]:
    """Duplicate mapping keys of a YAML body as go-yaml words them, with 1-based lines:
    ``line 11: key "foo" already set in map``."""
    try:
        documents = list(yaml.compose_all(raw, Loader=_YAML_LOADER))
    except yaml.YAMLError:
        return []
    out: list[str] = []
    for doc in documents:
        if doc is not None:
            _yaml_duplicates(doc, out)
    return out


def _yaml_duplicates(node: yaml.Node, out: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[tuple[str, str]] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                ident = (key_node.tag, key_node.value)
                if ident in seen:
                    out.append(f"line {key_node.start_mark.line + 1}: key "
                               f"{_yaml_key(key_node)} already set in map")
                seen.add(ident)
            _yaml_duplicates(value_node, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _yaml_duplicates(item, out)


def _yaml_key(node: yaml.ScalarNode) -> str:
    if node.tag.endswith((":int", ":float", ":bool", ":null")):
        return node.value
    return json.dumps(node.value, ensure_ascii=False)


# -- messages -------------------------------------------------------------------------------


def strict_errors(unknown: list[str], duplicates: list[str]) -> list[str]:
    """The individual strict decoding errors, unknown fields first, at most 100."""
    errs = [f'unknown field "{p}"' for p in unknown]
    errs += [f'duplicate field "{p}"' for p in duplicates]
    return errs[:MAX_STRICT_ERRORS]


def strict_error_message(unknown: list[str], duplicates: list[str]) -> str:
    """``strict decoding error: unknown field "spec.foo", duplicate field "spec.replicas"``."""
    return "strict decoding error: " + ", ".join(strict_errors(unknown, duplicates))


def decode_error_message(kind: str, version: str, detail: str) -> str:
    """The BadRequest message of a create/update body that failed to decode."""
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}'


def strict_decoding_error(kind: str, version: str, unknown: list[str],
                          duplicates: list[str]) -> str:
    """The full 400 message of a Strict create/update with unknown or duplicate fields."""
    return decode_error_message(kind, version, strict_error_message(unknown, duplicates))


def strict_warnings(unknown: list[str], duplicates: list[str]) -> list[str]:
    """The Warn-mode warning texts, one per unknown or duplicate field."""
    return strict_errors(unknown, duplicates)


def yaml_strict_error_message(entries: list[str]) -> str:
    """The 400 message of a Strict apply whose YAML body repeats keys."""
    lines = "\n".join("  " + e for e in entries)
    return ("error strict decoding YAML: error converting YAML to JSON: "
            f"yaml: unmarshal errors:\n{lines}")


def warning_header_value(text: str) -> str:
    """``299 - "<text>"`` with ``"``/``\\`` escaped and non-printables blanked, as upstream."""
    clean = "".join(c if c.isprintable() or c == " " else " " for c in text)
    escaped = clean.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def go_value_repr(value: object) -> str:
    """Go's ``fmt.Sprintf("%+v", v)`` of a decoded JSON value (maps sorted by key)."""
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_value_repr(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(go_value_repr(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """strconv's shortest ``%g``: exponent form below 1e-4 and from 1e+06 on."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)  # position of the decimal point
    minus = "-" if sign else ""
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'+' if exp10 >= 0 else '-'}{abs(exp10):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return minus + digits + "0" * (point - len(digits))
    return f"{minus}{digits[:point]}.{digits[point:]}"


__all__ = [
    "apply_unknown_fields",
    "decode_error_message",
    "duplicate_fields",
    "duplicate_fields_yaml",
    "go_value_repr",
    "prune_unknown",
    "strict_decoding_error",
    "strict_error_message",
    "strict_errors",
    "strict_warnings",
    "typed_patch_error_message",
    "unknown_fields",
    "warning_header_value",
    "yaml_strict_error_message",
]
