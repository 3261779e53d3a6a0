"""Small helpers over object metadata shared by the client modules.

Keys, object references and the MicroTime wire format (``2006-01-02T15:04:05.000000Z``)
are needed by the store, leader election and the event recorder alike; keeping them here
keeps each of those modules about its own concern.
"""

from __future__ import annotations

from datetime import UTC, datetime

MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def micro_time(when: datetime | None = None) -> str:
    """A metav1.MicroTime string for ``when`` (default: now, UTC)."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime(MICRO_TIME)


def meta_namespace_key(obj: dict) -> str:
    """client-go's MetaNamespaceKeyFunc: ``namespace/name``, or ``name`` for cluster scope."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else meta["name"]


def split_key(key: str) -> tuple[str | None, str]:
    """The (namespace, name) of a store key; namespace is None for cluster-scoped keys."""
    namespace, sep, name = key.partition("/")
    return (namespace, name) if sep else (None, namespace)


def object_reference(obj: dict) -> dict:
    """A v1 ObjectReference to ``obj`` (which must carry apiVersion and kind)."""
    meta = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
           "name": meta.get("name", "")}
    for field in ("namespace", "uid", "resourceVersion"):
        if meta.get(field):
            ref[field] = meta[field]
    return ref
