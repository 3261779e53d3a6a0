"""Named schema definitions for the /openapi documents and field validation.

Two sources feed one namespace of definition names (``io.k8s.api.core.v1.Pod``):
the built-in Kubernetes 1.32 definitions from :mod:`pyk8s.apiserver.schemas`, and
*extra* definitions registered at run time by GVK (custom resources, later). Both are
kept in the "source" form the built-ins ship in: JSON Schema with refs written
``#/$defs/NAME`` and nullable types written ``["string", "null"]``.

The converters turn one source definition into what upstream publishes:

* OpenAPI 3 (``/openapi/v3``): refs ``#/components/schemas/NAME``; a ref with sibling
  keys (description, ...) becomes ``{"allOf": [{"$ref": ...}], ...}`` and a list item
  that is a struct becomes ``{"allOf": [{"$ref": ...}], "default": {}}`` exactly as
  kube-apiserver serves them. kubectl's explain templates print the field's own
  description and then the referenced type's only because of that ``allOf`` wrapper,
  and kubectl's strategic-merge-patch metadata reader expects it.
* Swagger 2 (``/openapi/v2``): refs ``#/definitions/NAME`` with siblings kept beside
  the ``$ref``.

Type lists collapse to their non-null member (kubectl's Go templates compare
``type`` with a string). IntOrString and Quantity take upstream's special forms.
Conversions are cached per definition; registering an extra drops only its entry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .. import schemas

SOURCE_PREFIX = schemas.REF_PREFIX  # "#/$defs/"
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

_INT_OR_STRING_DOC = (
    "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
    "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you "
    "to have, for example, a JSON field that can accept a name or number."
)
_QUANTITY_DOC = (
    "Quantity is a fixed-point representation of a number. It provides convenient "
    "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() "
    "accessors. Serialized as a string such as \"100m\", \"1.5Gi\" or \"2\"."
)
# Upstream's own forms of the two custom-marshalled scalar types.
_SPECIAL_V3 = {
    INT_OR_STRING: {"description": _INT_OR_STRING_DOC, "format": "int-or-string",
                    "oneOf": [{"type": "integer"}, {"type": "string"}]},
    QUANTITY: {"description": _QUANTITY_DOC, "oneOf": [{"type": "string"}, {"type": "number"}]},
}
_SPECIAL_V2 = {
    INT_OR_STRING: {"description": _INT_OR_STRING_DOC, "format": "int-or-string",
                    "type": "string"},
    QUANTITY: {"description": _QUANTITY_DOC, "type": "string"},
}
# kubernetes-validate adds an ``enum`` to apiVersion/kind; upstream has none.
_INJECTED_ENUM_PROPERTIES = ("apiVersion", "kind")


@dataclass(frozen=True)
class ExtraDefinition:
    """A definition registered at run time for one GVK (e.g. a custom resource's kind).

    ``structural`` marks a custom-resource style schema: an object schema without
    properties, additionalProperties or ``x-kubernetes-preserve-unknown-fields`` holds
    no fields at all (built-in free-form types such as RawExtension hold anything).
    """

    gvk: tuple[str, str, str]
    name: str
    schema: dict
    structural: bool = True


_extras_by_name: dict[str, ExtraDefinition] = {}
_extras_by_gvk: dict[tuple[str, str, str], str] = {}
_generation = 0
_v3_cache: dict[str, dict] = {}
_v2_cache: dict[str, dict] = {}
_refs_cache: dict[str, frozenset[str]] = {}


def register_definition(group: str, version: str, kind: str, name: str, schema: dict,
                        *, structural: bool = True) -> None:
    """Add (or replace) the definition ``name`` describing ``group/version, Kind=kind``.

    ``schema`` is in source form (refs ``#/$defs/NAME`` may point at built-ins such as
    ObjectMeta). The GVK is added to its ``x-kubernetes-group-version-kind`` list.
    """
    global _generation
    gvk = (group, version, kind)
    schema = copy.deepcopy(schema)
    tags = schema.setdefault("x-kubernetes-group-version-kind", [])
    tag = {"group": group, "kind": kind, "version": version}
    if tag not in tags:
        tags.append(tag)
    previous = _extras_by_gvk.get(gvk)
    if previous is not None and previous != name:
        _drop(previous)
    _extras_by_name[name] = ExtraDefinition(gvk, name, schema, structural)
    _extras_by_gvk[gvk] = name
    _forget(name)
    _generation += 1


def unregister_definition(group: str, version: str, kind: str) -> None:
    """Remove the extra definition registered for this GVK, if any."""
    global _generation
    name = _extras_by_gvk.pop((group, version, kind), None)
    if name is not None:
        _drop(name)
        _generation += 1


def _drop(name: str) -> None:
    _extras_by_name.pop(name, None)
    _forget(name)


def _forget(name: str) -> None:
    _v3_cache.pop(name, None)
    _v2_cache.pop(name, None)
    _refs_cache.pop(name, None)


def generation() -> int:
    """Changes whenever extra definitions change: part of every document cache key."""
    return _generation


def lookup(name: str) -> dict | None:
    """The source-form definition called ``name`` (extras shadow built-ins)."""
    extra = _extras_by_name.get(name)
    if extra is not None:
        return extra.schema
    return schemas.definitions().get(name)


def name_for(group: str, version: str, kind: str) -> str | None:
    """The definition name describing a GVK, or None when there is none."""
    name = _extras_by_gvk.get((group, version, kind))
    if name is not None:
        return name
    return schemas.definition_for_gvk().get((group, version, kind))


def is_structural(name: str) -> bool:
    extra = _extras_by_name.get(name)
    return extra is not None and extra.structural


def ref_name(ref: str) -> str | None:
    """``#/$defs/NAME`` (or an OpenAPI 2/3 ref) -> ``NAME``."""
    for prefix in (SOURCE_PREFIX, V3_PREFIX, V2_PREFIX):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return None


def resolve(schema: dict | None) -> dict | None:
    """Follow ``$ref`` (also a one-element ``allOf``) to the schema it names."""
    for _ in range(32):
        if schema is None:
            return None
        ref = schema.get("$ref")
        if ref is None:
            all_of = schema.get("allOf")
            if all_of and len(all_of) == 1 and "properties" not in schema:
                ref = all_of[0].get("$ref")
        if ref is None:
            return schema
        name = ref_name(ref)
        schema = lookup(name) if name else None
    return schema


# -- references and closure ----------------------------------------------------------


def references(name: str) -> frozenset[str]:
    """Names of the definitions ``name`` refers to directly."""
    cached = _refs_cache.get(name)
    if cached is None:
        found: set[str] = set()
        _collect_refs(lookup(name), found)
        cached = _refs_cache[name] = frozenset(found)
    return cached


def _collect_refs(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                target = ref_name(value)
                if target:
                    found.add(target)
            elif key in ("enum", "required", "x-kubernetes-group-version-kind",
                         "x-kubernetes-unions", "default", "example"):
                continue
            elif key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    _collect_refs(sub, found)
            else:
                _collect_refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_refs(item, found)


def closure(roots: list[str] | set[str]) -> list[str]:
    """Sorted names of ``roots`` and every definition reachable from them that exists."""
    seen: set[str] = set()
    stack = [r for r in roots if lookup(r) is not None]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in references(name):
            if target not in seen and lookup(target) is not None:
                stack.append(target)
    return sorted(seen)


# -- conversion ------------------------------------------------------------------------


def v3_schema(name: str) -> dict:
    """The OpenAPI 3 form of definition ``name`` (cached; callers must not mutate it)."""
    cached = _v3_cache.get(name)
    if cached is None:
        cached = _v3_cache[name] = _convert_definition(name, v3=True)
    return cached


def v2_schema(name: str) -> dict:
    """The Swagger 2 form of definition ``name`` (cached; callers must not mutate it)."""
    cached = _v2_cache.get(name)
    if cached is None:
        cached = _v2_cache[name] = _convert_definition(name, v3=False)
    return cached


def _convert_definition(name: str, *, v3: bool) -> dict:
    if name not in _extras_by_name:
        special = (_SPECIAL_V3 if v3 else _SPECIAL_V2).get(name)
        if special is not None:
            return special
    source = lookup(name)
    if source is None:
        raise KeyError(name)
    out = _convert(source, v3)
    if name not in _extras_by_name:
        props = out.get("properties")
        if props:
            for prop in _INJECTED_ENUM_PROPERTIES:
                if prop in props and "enum" in props[prop]:
                    props[prop] = {k: v for k, v in props[prop].items() if k != "enum"}
    return out


def _convert(node: dict, v3: bool) -> dict:
    out: dict = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type":
            collapsed = _collapse_type(value)
            if collapsed is not None:
                out["type"] = collapsed
        elif key == "properties" and isinstance(value, dict):
            out[key] = {prop: _convert(sub, v3) for prop, sub in value.items()}
        elif key == "items" and isinstance(value, dict):
            out[key] = _convert_item(value, v3)
        elif key in ("additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert(value, v3)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_convert(sub, v3) for sub in value]
        else:
            out[key] = value
    ref = node.get("$ref")
    if ref is None:
        return out
    target = _target(ref, v3)
    if v3 and out:
        return {"allOf": [{"$ref": target}], **out}
    return {"$ref": target, **out}


def _convert_item(node: dict, v3: bool) -> dict:
    out = _convert(node, v3)
    if v3 and set(out) == {"$ref"}:
        target = resolve(node)
        if target is not None and _collapse_type(target.get("type")) == "object":
            return {"allOf": [out], "default": {}}
    return out


def _target(ref: str, v3: bool) -> str:
    name = ref_name(ref)
    if name is None:
        return ref
    return (V3_PREFIX if v3 else V2_PREFIX) + name


def _collapse_type(value: object) -> str | None:
    if isinstance(value, list):
        for member in value:
            if member != "null":
                return member
        return None
    return value  # type: ignore[return-value]
