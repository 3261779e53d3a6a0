"""Whole /openapi documents: the v3 index, per group-version v3 documents, and v2.

Documents are pure functions of the registry's served resources and the definition
set, serialized once with orjson (sorted keys, so equal content gives equal bytes
and an equal hash) and kept in a small LRU cache keyed by a fingerprint of exactly
what they are built from. Building every document of the built-in registry takes a
fraction of a second; later calls are dictionary lookups.

The index maps ``api/v1``, ``apis/apps/v1``, ... (and ``api``, ``apis``,
``apis/<group>``, ``version``) to ``/openapi/v3/<path>?hash=<HASH>``, HASH being
the upper-case hex SHA-512 of the document bytes as kube-apiserver computes it.
kubectl caches documents by that URL, so the hash must change with the content.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import orjson

from ..registry import Registry, ResourceType
from . import definitions, operations, render

KUBERNETES_VERSION = "v1.32.0"
_INFO = {"title": "Kubernetes", "version": KUBERNETES_VERSION}
_CACHE_SIZE = 256
_cache: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()


def document_hash(data: bytes) -> str:
    """kube-apiserver's document hash (also its ETag): upper-case hex SHA-512."""
    return hashlib.sha512(data).hexdigest().upper()


def _fingerprint(rt: ResourceType) -> tuple:
    return (rt.group, rt.version, rt.kind, rt.plural, rt.namespaced, tuple(rt.verbs),
            tuple(rt.subresources))


def _cached(key: tuple, build) -> tuple[bytes, str]:
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    data = orjson.dumps(build(), option=orjson.OPT_SORT_KEYS)
    entry = (data, document_hash(data))
    _cache[key] = entry
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return entry


def _v3_doc(paths: list[operations.Path]) -> dict:
    names = definitions.closure(operations.referenced_definitions(paths))
    return {
        "openapi": "3.0.0",
        "info": _INFO,
        "paths": render.v3_paths(paths),
        "components": {"schemas": {n: definitions.v3_schema(n) for n in names},
                       "securitySchemes": render.BEARER},
    }


def _group_version_entry(registry: Registry, group: str, version: str) -> tuple[bytes, str] | None:
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    key = ("v3", group, version, tuple(_fingerprint(rt) for rt in resources),
           definitions.generation())
    return _cached(key, lambda: _v3_doc(
        operations.group_version_paths(resources, group, version)))


def _root_entry(kind: str, group: str = "") -> tuple[bytes, str]:
    key = ("v3-root", kind, group, definitions.generation())
    return _cached(key, lambda: _v3_doc(operations.root_paths(kind, group)))


def v3_document(registry: Registry, group: str, version: str) -> bytes | None:
    """The OpenAPI 3 document of one served group-version as JSON bytes (None: not served)."""
    entry = _group_version_entry(registry, group, version)
    return entry[0] if entry else None


def _entry_for_path(registry: Registry, path: str) -> tuple[bytes, str] | None:
    parts = path.lstrip("/").split("/")
    if "" in parts:
        return None
    if parts == ["api"]:
        return _root_entry("api")
    if parts == ["apis"]:
        return _root_entry("apis")
    if parts == ["version"]:
        return _root_entry("version")
    if len(parts) == 2 and parts[0] == "api":
        return _group_version_entry(registry, "", parts[1])
    if len(parts) == 2 and parts[0] == "apis":
        if parts[1] in registry.group_versions():
            return _root_entry("group", parts[1])
        return None
    if len(parts) == 3 and parts[0] == "apis":
        return _group_version_entry(registry, parts[1], parts[2])
    return None


def v3_document_for_path(registry: Registry, path: str) -> bytes | None:
    """The document the index lists under ``path`` (``api/v1``, ``apis``, ``version``...)."""
    entry = _entry_for_path(registry, path)
    return entry[0] if entry else None


def v3_document_and_hash(registry: Registry, path: str) -> tuple[bytes, str] | None:
    """Document bytes and their hash (the ETag upstream sends) for an index path."""
    return _entry_for_path(registry, path)


def index_paths(registry: Registry) -> list[str]:
    """Every path the v3 index lists, sorted."""
    out = ["api", "apis", "version"]
    for group, versions in registry.group_versions().items():
        if group:
            out.append(f"apis/{group}")
        for version in versions:
            out.append(f"api/{version}" if not group else f"apis/{group}/{version}")
    return sorted(out)


def v3_index(registry: Registry) -> dict:
    """The body of ``GET /openapi/v3``: every document with its hash-pinned URL."""
    paths: dict[str, dict] = {}
    for path in index_paths(registry):
        entry = _entry_for_path(registry, path)
        if entry is not None:
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={entry[1]}"}
    return {"paths": paths}


def _v2_doc(registry: Registry) -> dict:
    paths: list[operations.Path] = []
    for kind in ("api", "apis", "version"):
        paths += operations.root_paths(kind)
    for group, versions in registry.group_versions().items():
        if group:
            paths += operations.root_paths("group", group)
        for version in versions:
            paths += operations.group_version_paths(
                registry.in_group_version(group, version), group, version)
    names = definitions.closure(operations.referenced_definitions(paths))
    return {
        "swagger": "2.0",
        "info": _INFO,
        "paths": render.v2_paths(paths),
        "definitions": {n: definitions.v2_schema(n) for n in names},
        "securityDefinitions": render.BEARER,
        "security": [{"BearerToken": []}],
    }


def v2_document(registry: Registry) -> bytes:
    """The Swagger 2.0 document of everything served, as JSON bytes."""
    key = ("v2", tuple(_fingerprint(rt) for rt in registry.all()), definitions.generation())
    return _cached(key, lambda: _v2_doc(registry))[0]


def v2_document_and_hash(registry: Registry) -> tuple[bytes, str]:
    key = ("v2", tuple(_fingerprint(rt) for rt in registry.all()), definitions.generation())
    return _cached(key, lambda: _v2_doc(registry))
