"""The OpenAPI definitions of Kubernetes 1.32's built-in types: one source of truth.

They come from the ``kubernetes-validate`` package, which ships upstream's generated
schemas as JSON Schema (``v1.32.0-local/_definitions.json``). Everything that needs
to know the shape of a built-in kind reads it from here: the /openapi documents,
strict field validation (unknown fields), and strategic merge patch (patch strategy
and merge keys of lists).
"""

from __future__ import annotations

import functools
import importlib.resources

import orjson

KUBERNETES_SCHEMA_VERSION = "v1.32.0-local"
REF_PREFIX = "#/$defs/"


@functools.cache
def definitions() -> dict[str, dict]:
    """Definition name (e.g. ``io.k8s.api.core.v1.Pod``) -> JSON Schema, refs as ``#/$defs/NAME``."""
    root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    data = (root / KUBERNETES_SCHEMA_VERSION / "_definitions.json").read_bytes()
    return orjson.loads(data)["$defs"]


@functools.cache
def definition_for_gvk() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> definition name, from ``x-kubernetes-group-version-kind``."""
    out: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            out.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return out


def resolve(schema: dict | None) -> dict | None:
    """Follow ``$ref`` (also inside a one-element ``allOf``) to the schema it names."""
    seen = 0
    while schema is not None and seen < 32:
        seen += 1
        ref = schema.get("$ref")
        if ref is None and len(schema.get("allOf", ())) == 1:
            ref = schema["allOf"][0].get("$ref")
        if ref is None:
            return schema
        schema = definitions().get(ref[len(REF_PREFIX) :]) if ref.startswith(REF_PREFIX) else None
    return schema


def schema_for(group: str, version: str, kind: str) -> dict | None:
    """The top-level schema of a kind, or None when the kind has no built-in schema."""
    name = definition_for_gvk().get((group, version, kind))
    return definitions().get(name) if name else None
