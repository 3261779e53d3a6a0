"""Scalars of the wrong JSON type in an applied configuration.

Why it exists: upstream types the apply body with structured-merge-diff before
merging, so ``replicas: "3"`` or ``image: 5`` fails the request (400; upstream 500) with SMD's
words, which print Go's views of the value: ``expected numeric (int or float), got
string``, ``expected string, got &value.valueUnstructured{Value:5}``, ``expected
boolean, got &{1}``. Values that may hold several types (IntOrString, Quantity,
free-form fields) are not checked.
"""

from __future__ import annotations

import json

from .fieldpath import Path, field, path_string
from .typed import Node


def type_errors(value: object, node: Node, path: Path = ()) -> list[str]:
    """Scalars of the wrong JSON type, as structured-merge-diff reports them when it
    types an applied configuration (``.spec.replicas: expected numeric (int or float),
    got string``), in document order."""
    out: list[str] = []
    _check_types(value, node, path, out)
    return out


def _check_types(value: object, node: Node, path: Path, out: list[str]) -> None:
    if value is None:
        return
    expected = node.scalar()
    if expected is not None:
        problem = _scalar_problem(expected, value)
        if problem:
            out.append(f"{path_string(path)}: {problem}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_types(item, node.field(key), path + (field(key),), out)
    elif isinstance(value, list):
        items = node.items()
        for index, item in enumerate(value):
            _check_types(item, items, path + (node.item_element(item, index),), out)


def _scalar_problem(expected: str, value: object) -> str | None:
    if expected == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected numeric (int or float), got {_go_type(value)}"
    elif expected == "string":
        if not isinstance(value, str):
            return f"expected string, got &value.valueUnstructured{{Value:{_go_sharp(value)}}}"
    elif not isinstance(value, bool):
        return f"expected boolean, got &{{{_go_plain(value)}}}"
    return None


def _go_type(value: object) -> str:
    """Go's %T of a decoded JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return "int64" if isinstance(value, int) else "float64"


def _go_sharp(value: object) -> str:
    """Go's %#v of a decoded JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp(v) for v in value) + "}"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{_go_sharp(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + inner + "}"
    return _go_number(value)


def _go_plain(value: object) -> str:
    """Go's %v of a decoded JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(_go_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_plain(v)}" for k, v in sorted(value.items())) + "]"
    return _go_number(value)


def _go_number(value: object) -> str:
    if isinstance(value, float):
        text = repr(value)
        return text.removesuffix(".0")
    return str(value)
