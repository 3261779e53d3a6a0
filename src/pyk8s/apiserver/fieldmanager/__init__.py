"""Field management: who owns which fields (metadata.managedFields) and server-side apply.

:func:`track` is called by the generic object code for every create and update,
after validation and before the store write, with the manager the client named
(``?fieldManager=``, or one derived from its user agent) and the operation. Update
operations take the fields they change; Apply operations were already settled by
:func:`apply_config`, which the apply-patch handler runs as its mutation. A create
with no managedFields to keep (the common case) skips the set algebra: the creator's
FieldsV1 is built in one walk of the new object.

Modules: :mod:`.fieldpath` (path sets, FieldsV1), :mod:`.typed` (schema-driven
walks), :mod:`.managed` (entries and Update bookkeeping), :mod:`.merge` (apply
merge), :mod:`.apply` (prune, ownership, conflicts), :mod:`.conflicts` (errors),
:mod:`.scalars` (type errors in applied configurations).
"""

from __future__ import annotations

from .. import errors
from ..registry import ResourceType
from . import scalars
from .apply import ApplyRequest, apply
from .fieldpath import Set
from .managed import (
    APPLY,
    UPDATE,
    Entry,
    Managers,
    compare_update,
    created_entries,
    decode,
    encode,
    filter_fields_v1,
    live_or_new,
    same_ownership,
)
from .typed import Node, added_fields_v1

__all__ = ["apply_config", "same_ownership", "track", "type_errors"]


def track(rt: ResourceType, old: dict | None, new: dict, manager: str | None,
          operation: str, subresource: str = "") -> None:
    """Update ``new["metadata"]["managedFields"]`` in place for this write."""
    if operation == APPLY or not manager:
        return  # apply settled ownership already; internal writes carry the live entries
    managers = live_or_new(old, new, subresource)
    node = Node.root(rt.group, rt.version, rt.kind)
    if old is None and not managers and isinstance(new, dict) and new and not node.atomic(new):
        fields = filter_fields_v1(added_fields_v1(new, node), "status" in rt.subresources,
                                  subresource)
        meta = new.setdefault("metadata", {})
        if fields:
            meta["managedFields"] = created_entries(manager, rt.api_version, subresource, fields)
        else:
            meta.pop("managedFields", None)
        return
    entry = Entry(manager, UPDATE, rt.api_version, Set(), subresource=subresource)
    managers = compare_update(managers, old, new, node, entry, "status" in rt.subresources)
    _store(new, managers)


def apply_config(rt: ResourceType, live: dict | None, config: dict, manager: str, *,
                 force: bool = False, subresource: str = "") -> dict:
    """The object after applying ``config`` to ``live`` (None: the object is created),
    with its managedFields; raises the 409 conflict error."""
    live = live or {}
    try:
        managers = decode((live.get("metadata") or {}).get("managedFields"))
    except ValueError as exc:
        raise errors.APIError(400, "BadRequest", f"failed to decode managed fields: {exc}") from None
    request = ApplyRequest(Entry(manager, APPLY, rt.api_version, Set(), subresource=subresource),
                           Node.root(rt.group, rt.version, rt.kind), force,
                           "status" in rt.subresources)
    merged, managers = apply(live, drop_nulls(config), managers, request)
    _store(merged, managers)
    return merged


def type_errors(rt: ResourceType, config: dict) -> list[str]:
    """Scalars of the wrong type in an applied configuration (structured-merge-diff's
    wording, one ``path: problem`` per entry)."""
    return scalars.type_errors(config, Node.root(rt.group, rt.version, rt.kind))


def drop_nulls(value: object) -> object:
    """The configuration without null fields (a typed decode drops them too)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def _store(obj: dict, managers: Managers) -> None:
    meta = obj.setdefault("metadata", {})
    entries = encode(managers)
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
