"""JSON type errors of built-in kinds, worded as kube-apiserver's Go decoders word them.

Upstream decodes every body into the kind's Go struct, so a value of the wrong JSON
type fails the request. Two decoders are imitated, chosen by ``mode``:

* ``"json"`` (sigs.k8s.io/json, i.e. encoding/json): create/update bodies and the
  results of JSON and merge patches. A mismatch is remembered and decoding goes on
  (the first one is reported): ``json: cannot unmarshal string into Go struct field
  DeploymentSpec.spec.replicas of type int32``, where ``DeploymentSpec`` is the struct
  holding the field and the path lists struct field names only (no map keys, no list
  indexes). Integers must be integral and fit int32/int64 (``number 1.5``). Custom
  unmarshalers (Quantity, IntOrString, Time, MicroTime) fail at once and win over an
  earlier mismatch; byte fields report ``illegal base64 data at input byte N``.
* ``"unstructured"`` (runtime.DefaultUnstructuredConverter): strategic merge patch
  results, e.g. ``unrecognized type: int32`` or ``cannot restore struct from: string``.

``null`` is accepted everywhere (Go leaves the zero value). Only built-in definitions
are checked; custom resources have their own validation. Named Go string types
(``v1.PullPolicy``) are reported as ``string``: the schemas do not carry them.
"""

from __future__ import annotations

import re

from . import gotime
from .openapi import definitions

_ANY, _STRUCT, _MAP, _LIST, _BYTES, _STR, _INT, _FLOAT, _BOOL, _INTSTR, _QTY, _TIME = range(12)
_SPECIAL = {
    definitions.INT_OR_STRING: (_INTSTR, "intstr.IntOrString"),
    definitions.QUANTITY: (_QTY, "resource.Quantity"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": (_TIME, "v1.Time"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": (_TIME, "v1.MicroTime"),
}
_RFC3339 = "2006-01-02T15:04:05Z07:00"
_RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
_INT_RANGE = {"int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
_GO_KIND = {str: "string", int: "int64", float: "float64", bool: "bool", dict: "map",
            list: "slice"}
_JSON_KIND = {str: "string", bool: "bool", dict: "object", list: "array"}
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
QUANTITY_FORMAT_ERROR = ("quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


class _Node:
    """A schema compiled for type checking: its kind, its Go type's name, and (for
    structs, maps and lists) the nodes inside, compiled on first use."""

    __slots__ = ("kind", "go", "struct", "bits", "layout", "_props", "_kids", "_sub_schema",
                 "_sub")

    def __init__(self, schema: dict | None) -> None:
        self.kind, self.go, self.struct, self.bits, self.layout = _ANY, "", "", None, ""
        self._props: dict = {}
        self._kids: dict[str, _Node | None] = {}
        self._sub_schema: dict | None = None
        self._sub: _Node | None = None
        name = _ref(schema)
        special = _SPECIAL.get(name or "")
        if special is not None:
            self.kind, self.go = special
            self.layout = _RFC3339_MICRO if name.endswith("MicroTime") else _RFC3339
            return
        resolved = definitions.resolve(schema) if schema is not None else None
        if resolved is None:
            return
        kind_name = _type_of(resolved)
        if kind_name == "object" or "properties" in resolved:
            self._object(resolved, name)
        elif kind_name == "array" and isinstance(resolved.get("items"), dict):
            self.kind, self._sub_schema = _LIST, resolved["items"]
            self.go = "[]" + self.sub().go
        elif kind_name == "string":
            self.kind, self.go = (_BYTES, "[]uint8") if resolved.get("format") == "byte" \
                else (_STR, "string")
        elif kind_name == "integer":
            self.go = resolved.get("format") if resolved.get("format") in _INT_RANGE else "int64"
            self.kind, self.bits = _INT, _INT_RANGE[self.go]
        elif kind_name == "number":
            self.kind, self.go = _FLOAT, "float64"
        elif kind_name == "boolean":
            self.kind, self.go = _BOOL, "bool"

    def _object(self, schema: dict, name: str | None) -> None:
        props, addl = schema.get("properties"), schema.get("additionalProperties")
        if isinstance(props, dict) and props:
            self.kind, self._props = _STRUCT, props
            self.struct = (name or "").rsplit(".", 1)[-1]
            self.go = _go_named(name) if name else "struct"
        elif isinstance(addl, dict):
            self.kind, self._sub_schema = _MAP, addl
            value = self.sub()
            self.go = "v1.ResourceList" if value.kind == _QTY else "map[string]" + value.go

    def kid(self, key: str) -> _Node | None:
        """The node of struct field ``key``; None for a field the struct lacks."""
        try:
            return self._kids[key]
        except KeyError:
            sub = self._props.get(key)
            node = self._kids[key] = _compile(sub) if sub is not None else None
            return node

    def sub(self) -> _Node:
        """The node of a map's values or a list's items."""
        node = self._sub
        if node is None:
            node = self._sub = _compile(self._sub_schema)
        return node


def _ref(schema: dict | None) -> str | None:
    if not schema:
        return None
    ref = schema.get("$ref")
    if ref is None and schema.get("allOf") and len(schema["allOf"]) == 1:
        ref = schema["allOf"][0].get("$ref")
    return definitions.ref_name(ref) if ref else None


def _type_of(schema: dict) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _go_named(name: str) -> str:
    """``io.k8s.api.apps.v1.DeploymentSpec`` -> ``v1.DeploymentSpec`` (Go's Type.String)."""
    parts = name.rsplit(".", 2)
    return f"{parts[-2]}.{parts[-1]}" if len(parts) == 3 else name


_nodes: dict[int, tuple[dict, _Node]] = {}
_roots: dict[tuple[str, str, str], _Node | None] = {}
_nodes_generation = -1


def _compile(schema: dict) -> _Node:
    entry = _nodes.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    node = _Node(schema)
    _nodes[id(schema)] = (schema, node)
    return node


def _root_node(group: str, version: str, kind: str) -> _Node | None:
    """The kind's compiled root, kept until the definitions change (CRDs come and go)."""
    global _nodes_generation
    if _nodes_generation != definitions.generation():
        _nodes.clear()
        _roots.clear()
        _nodes_generation = definitions.generation()
    key = (group, version, kind)
    try:
        return _roots[key]
    except KeyError:
        pass
    name = definitions.name_for(group, version, kind)
    if name is None or definitions.is_structural(name):
        node = None  # no schema, or a custom resource's
    else:
        node = _compile({"$ref": definitions.SOURCE_PREFIX + name})
    _roots[key] = node
    return node


# -- the walk ------------------------------------------------------------------------------


class _Fatal(Exception):
    """An error that stops decoding at once (a custom unmarshaler's, or any converter's)."""


class _State:
    __slots__ = ("mode", "saved")

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.saved: str | None = None

    def save(self, message: str) -> None:
        if self.mode != "json":
            raise _Fatal(message)
        if self.saved is None:
            self.saved = message


def type_error(group: str, version: str, kind: str, obj: object, mode: str = "json") -> str | None:
    """The error upstream's decoder (``mode``: ``json`` or ``unstructured``) reports for
    ``obj`` as the kind's Go struct, or None when every value has a fitting type."""
    node = _root_node(group, version, kind)
    if node is None or type(obj) is not dict:
        return None
    state = _State(mode)
    try:
        _check(obj, node, node.struct, None, state)
    except _Fatal as fatal:
        return str(fatal)
    return state.saved


def _check(value: object, node: _Node, struct: str, path: tuple | None, state: _State) -> None:
    kind = node.kind
    vtype = type(value)
    if kind == _STRUCT and vtype is dict:
        name = node.struct
        for key, child in value.items():
            sub = node.kid(key)
            if sub is None or child is None or sub.kind == _ANY:
                continue
            ctype = type(child)
            if (ctype is str and sub.kind == _STR) or (ctype is bool and sub.kind == _BOOL):
                continue
            _check(child, sub, name, (path, key), state)
    elif kind == _MAP and vtype is dict:
        sub = node.sub()
        for child in value.values():
            if child is not None and not (type(child) is str and sub.kind == _STR):
                _check(child, sub, struct, path, state)
    elif kind == _LIST and vtype is list:
        sub = node.sub()
        for child in value:
            if child is not None:
                _check(child, sub, struct, path, state)
    elif kind == _INT and vtype is int:
        low, high = node.bits
        if not low <= value <= high and state.mode == "json":
            state.save(_mismatch(f"number {value}", node.go, struct, path))
    elif kind == _INT and vtype is float:
        if state.mode == "json":
            state.save(_mismatch(f"number {value!r}", node.go, struct, path))
        elif value != int(value):
            raise _Fatal(f"cannot convert float64 to {node.go}")
    elif (kind == _STR and vtype is str) or (kind == _BOOL and vtype is bool) or \
            (kind == _FLOAT and vtype in (int, float)) or kind == _ANY or value is None:
        return
    elif kind == _BYTES and vtype is str:
        _check_base64(value, state)
    elif kind >= _INTSTR:
        _check_special(value, node, struct, path, state)
    else:
        _wrong_type(value, node, struct, path, state)


def _wrong_type(value: object, node: _Node, struct: str, path: tuple | None,
                state: _State) -> None:
    vtype = type(value)
    if state.mode == "json":
        state.save(_mismatch(_JSON_KIND.get(vtype, "number"), node.go, struct, path))
        return
    kind, have = node.kind, _GO_KIND.get(vtype, "float64")
    if kind == _STRUCT:
        raise _Fatal(f"cannot restore struct from: {have}")
    if kind in (_LIST, _BYTES):
        raise _Fatal(f"cannot restore slice from {have}")
    if kind == _MAP:
        raise _Fatal(f"cannot restore map from {have}")
    if vtype is int and kind == _STR:
        raise _Fatal(f"cannot convert int64 to {node.go}")
    raise _Fatal(f"unrecognized type: {node.go}")


def _mismatch(what: str, go_type: str, struct: str, path: tuple | None) -> str:
    fields = []
    while path is not None:
        path, key = path
        fields.append(key)
    if not fields and not struct:
        return f"json: cannot unmarshal {what} into Go value of type {go_type}"
    return (f"json: cannot unmarshal {what} into Go struct field "
            f"{struct}.{'.'.join(reversed(fields))} of type {go_type}")


def _check_special(value: object, node: _Node, struct: str, path: tuple | None,
                   state: _State) -> None:
    # Custom UnmarshalJSON errors end decoding. The JSON decoder then adds the field's
    # context to a type error; the unstructured converter adds none.
    vtype, kind = type(value), node.kind
    json_mode = state.mode == "json"
    if kind == _QTY:
        if vtype is not int and vtype is not float:
            text = value if vtype is str else _raw(value)
            message = quantity_error(text.strip())
            if message:
                raise _Fatal(message)
        return
    if kind == _INTSTR:
        if vtype is str:
            return
        low, high = _INT_RANGE["int32"]
        if vtype is int:
            if low <= value <= high:
                return
            what = f"number {value}"
        else:
            what = f"number {value!r}" if vtype is float else _JSON_KIND[vtype]
        raise _Fatal(_mismatch(what, "int32", struct if json_mode else "",
                               path if json_mode else None))
    if vtype is not str:  # Time and MicroTime decode a JSON string first
        what = _JSON_KIND.get(vtype, "number")
        raise _Fatal(_mismatch(what, "string", struct if json_mode else "",
                               path if json_mode else None))
    message = gotime.parse_error(node.layout, value)
    if message:
        raise _Fatal(message)


def _raw(value: object) -> str:
    import orjson

    return orjson.dumps(value).decode()


# -- Quantity and base64 ------------------------------------------------------------------


_QTY_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
_QTY_SUFFIX = re.compile(r"[eEinumkKMGTP]*([-+]?[0-9]*)")
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}
_BINARY_SUFFIXES = frozenset(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))


def quantity_error(text: str) -> str | None:
    """resource.ParseQuantity's error for ``text``, or None when it parses."""
    if not text:
        return QUANTITY_FORMAT_ERROR
    number = _QTY_NUMBER.match(text)
    rest = text[number.end():]
    if not _QTY_SUFFIX.fullmatch(rest):
        return QUANTITY_FORMAT_ERROR
    if rest in _DECIMAL_SUFFIXES or rest in _BINARY_SUFFIXES:
        return None
    if len(rest) > 1 and rest[0] in "eE" and re.fullmatch(r"[-+]?[0-9]+", rest[1:]):
        if not (number.group(2) or number.group(3)) and int(rest[1:]) < -9:
            return "unable to parse numeric part of quantity"
        return None
    return "unable to parse quantity's suffix"


def _check_base64(text: str, state: _State) -> None:
    if _BASE64.fullmatch(text):
        return
    position = base64_error_offset(text.encode())
    if position is not None:
        message = f"illegal base64 data at input byte {position}"
        state.save(message if state.mode == "json" else f"error decoding from json: {message}")


def base64_error_offset(src: bytes) -> int | None:
    """Where Go's ``base64.StdEncoding.Decode`` reports corrupt input, or None."""
    si, n = 0, len(src)
    while True:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j
            char = src[si]
            si += 1
            if char in _B64_ALPHABET:
                j += 1
                continue
            if char in (10, 13):
                continue
            if char != 61 or j < 2:  # not "=", or padding too early
                return si - 1
            if j == 2:  # "==" expected
                while si < n and src[si] in (10, 13):
                    si += 1
                if si == n:
                    return n
                if src[si] != 61:
                    return si - 1
                si += 1
            while si < n and src[si] in (10, 13):
                si += 1
            return si if si < n else None


__all__ = ["QUANTITY_FORMAT_ERROR", "base64_error_offset", "quantity_error", "type_error"]
