"""Checks that a CRD version's ``openAPIV3Schema`` is structural, as v1 CRDs require.

Why this exists: pruning, defaulting and validation of custom objects all assume a
*structural* schema: every node says its ``type`` (unless it is
``x-kubernetes-int-or-string`` or preserves unknown fields), there is no ``$ref``,
``properties`` and ``additionalProperties`` are not combined, defaults are valid
against their own schema, and the list-type extensions are consistent. Errors are
reported at the schema paths upstream uses, e.g.
``spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value:
must not be empty for specified object fields``.
"""

from __future__ import annotations

from .. import errors
from ..errors import FieldError
from .structural import INT_OR_STRING, PRESERVE, validate

TYPES = ("array", "boolean", "integer", "number", "object", "string")
_FORBIDDEN = ("$ref", "definitions", "dependencies", "patternProperties", "id", "$schema")


def check_schema(schema: object, path: str) -> list[FieldError]:
    """Errors of a version's ``openAPIV3Schema`` (at ``path``)."""
    if not isinstance(schema, dict):
        return [errors.required(path, "schemas are required")]
    out: list[FieldError] = []
    if schema.get("type") != "object":
        out.append(errors.invalid(f"{path}.type", schema.get("type", ""),
                                  "must be object at the root"))
    _check_node(schema, path, out, root=True)
    return out


def _check_node(node: dict, path: str, out: list[FieldError], root: bool = False) -> None:
    for key in _FORBIDDEN:
        if key in node:
            out.append(errors.forbidden(f"{path}.{key}", f"{key} is forbidden"))
    typ = node.get("type")
    if typ is None and not node.get(INT_OR_STRING) and not node.get(PRESERVE) and not root:
        out.append(errors.required(f"{path}.type",
                                   "must not be empty for specified object fields"))
    elif typ is not None and typ not in TYPES:
        out.append(errors.not_supported(f"{path}.type", typ, list(TYPES)))
    if "properties" in node and isinstance(node.get("additionalProperties"), dict):
        out.append(errors.forbidden(f"{path}.additionalProperties",
                                    "additionalProperties and properties are mutual exclusive"))
    if typ == "array" and not isinstance(node.get("items"), dict):
        out.append(errors.required(f"{path}.items", "must be specified"))
    _check_list_type(node, path, out)
    if "default" in node and not root:
        for err in validate(node["default"], node, ""):
            out.append(errors.invalid(f"{path}.default", node["default"],
                                      f"{err.field or 'default'}: {err.message()}"))
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            _check_node(sub, f"{path}.properties[{key}]", out)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _check_node(node[key], f"{path}.{key}", out)


def _check_list_type(node: dict, path: str, out: list[FieldError]) -> None:
    list_type = node.get("x-kubernetes-list-type")
    if list_type is None:
        if "x-kubernetes-list-map-keys" in node:
            out.append(errors.forbidden(f"{path}.x-kubernetes-list-map-keys",
                                        'must be empty if x-kubernetes-list-type is not "map"'))
        return
    if list_type not in ("atomic", "set", "map"):
        out.append(errors.not_supported(f"{path}.x-kubernetes-list-type", list_type,
                                        ["atomic", "set", "map"]))
    if node.get("type") != "array":
        out.append(errors.invalid(f"{path}.type", node.get("type", ""),
                                  "must be array if x-kubernetes-list-type is specified"))
    keys = node.get("x-kubernetes-list-map-keys")
    if list_type == "map" and not keys:
        out.append(errors.required(f"{path}.x-kubernetes-list-map-keys",
                                   'must not be empty if x-kubernetes-list-type is "map"'))
    if list_type == "map" and keys:
        props = (node.get("items") or {}).get("properties") or {}
        for i, key in enumerate(keys):
            if key not in props:
                out.append(errors.required(f"{path}.items.properties[{key}]",
                                           f"entries for all x-kubernetes-list-map-keys "
                                           f"must be present (key {i})"))
