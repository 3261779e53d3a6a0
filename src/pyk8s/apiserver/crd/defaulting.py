"""Structural defaulting of custom objects (``default:`` in a CRD's schema).

Why this exists: upstream applies a CRD schema's defaults when a request is decoded
(create, update, patch) and again when an object is read from storage, so objects
written before a default was added show it too. A default fills a field that is
absent; a ``null`` in a field that is not ``nullable`` is dropped first and then
defaulted, as apiextensions-apiserver does. Defaults apply inside objects, map
values (``additionalProperties``) and list items, top down, so a defaulted object's
own properties are defaulted as well.
"""

from __future__ import annotations

import copy


def apply_defaults(value: object, schema: dict | None) -> None:
    """Fill defaults into ``value`` in place, following ``schema``."""
    if not schema:
        return
    if isinstance(value, dict):
        _default_object(value, schema)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                apply_defaults(item, items)


def _default_object(value: dict, schema: dict) -> None:
    props = schema.get("properties") or {}
    for key, sub in props.items():
        if key in value and value[key] is None and not sub.get("nullable"):
            del value[key]
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if key in value:
            apply_defaults(value[key], sub)
    addl = schema.get("additionalProperties")
    if isinstance(addl, dict):
        for key, item in value.items():
            if key not in props:
                apply_defaults(item, addl)


def has_defaults(schema: object) -> bool:
    """Whether any node of ``schema`` declares a default (reads can skip defaulting)."""
    if isinstance(schema, dict):
        if "default" in schema:
            return True
        return any(has_defaults(v) for k, v in schema.items() if k not in ("enum", "example"))
    if isinstance(schema, list):
        return any(has_defaults(v) for v in schema)
    return False
