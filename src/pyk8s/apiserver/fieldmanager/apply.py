"""Server-side apply: merge, prune what the applier stopped applying, settle ownership.

Why it exists: this is upstream's Updater.Apply plus the kubectl-specific layers
around it. The applier's new set is the field set of its configuration; fields of
its previous set that it no longer applies are removed from the object unless some
manager (the applier included) still owns them; then every field the apply changes
is checked against the other managers: a conflict unless ``force``, in which case
ownership moves to the applier. For the manager ``kubectl`` conflicts with fields
the client-side ``last-applied-configuration`` annotation sets to their live value
are forgiven (the upgrade from client-side apply), and that annotation is kept in
sync with what kubectl applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .conflicts import conflict_error
from .fieldpath import Set
from .managed import Entry, Managers, filter_comparison, filter_fields, now
from .merge import merge
from .typed import Node, compare, ensure_named_members, field_set, remove_paths

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = "kubectl"


@dataclass
class ApplyRequest:
    applier: Entry  # manager, operation Apply, apiVersion, subresource (fields unused)
    node: Node
    force: bool = False
    has_status: bool = False


def apply(live: dict, config: dict, managers: Managers, req: ApplyRequest) -> tuple[dict, Managers]:
    """The object and managers after applying ``config`` to ``live``."""
    applied = field_set(config, req.node)
    merged = merge(live, config, req.node)
    previous = managers.get(req.applier.identity)
    if previous is not None:
        owners = [e.fields for i, e in managers.items() if i != req.applier.identity]
        merged = _prune(merged, previous.fields, Set().union(applied).union(
            _union(owners)), req.node)
    subresource = req.applier.subresource
    mine = filter_fields(applied, req.has_status, subresource)
    cmp = filter_comparison(compare(live, merged, req.node), req.has_status, subresource)
    changed = cmp.changed()
    others = {i: e for i, e in managers.items() if i != req.applier.identity}
    conflicts = {i: e.fields.intersection(changed) for i, e in others.items()}
    conflicts = {i: s for i, s in conflicts.items() if not s.empty()}
    if conflicts and not req.force:
        refused = _refused(live, conflicts, req)
        if refused:
            raise conflict_error([(others[i], p) for i, s in refused.items() for p in s.paths()])
    out: Managers = {}
    for identity, entry in others.items():
        rest = entry.fields.difference(conflicts.get(identity, Set())).difference(cmp.removed)
        if not rest.empty():
            out[identity] = Entry(entry.manager, entry.operation, entry.api_version, rest,
                                  entry.time, entry.subresource)
    stamp = now() if merged != live else previous.time if previous else None
    applier = req.applier
    out[applier.identity] = Entry(applier.manager, applier.operation, applier.api_version,
                                  mine, stamp, applier.subresource)
    if applier.manager == KUBECTL:
        _sync_last_applied(merged, config)
    return merged, out


def _union(sets: list[Set]) -> Set:
    out = Set()
    for s in sets:
        out = out.union(s)
    return out


def _prune(merged: dict, last: Set, owned: Set, node: Node) -> dict:
    """Remove from ``merged`` what ``last`` had and no one owns any more."""
    current = ensure_named_members(field_set(merged, node), node)
    candidates = ensure_named_members(last, node).intersection(current)
    remove = candidates.difference(ensure_named_members(owned, node))
    if remove.empty():
        return merged
    return remove_paths(merged, remove, node)


def _refused(live: dict, conflicts: dict[tuple, Set], req: ApplyRequest) -> dict[tuple, Set]:
    """The conflicts that stand. For kubectl's upgrade from client-side apply, those on
    fields the last-applied annotation sets to their live value are forgiven."""
    allowed = _last_applied_fields(live, req) if req.applier.manager == KUBECTL else None
    if allowed is None:
        return conflicts
    left = {i: s.difference(allowed) for i, s in conflicts.items()}
    return {i: s for i, s in left.items() if not s.empty()}


def _last_applied_fields(live: dict, req: ApplyRequest) -> Set | None:
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        last_applied = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last_applied, dict) or \
            last_applied.get("apiVersion") != req.applier.api_version:
        return None
    differs = compare(last_applied, live, req.node)
    return field_set(last_applied, req.node).difference(differs.changed()).difference(
        differs.removed)


def _sync_last_applied(obj: dict, config: dict) -> None:
    """Keep an existing client-side apply annotation equal to what kubectl applied."""
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    if LAST_APPLIED not in annotations:
        return
    copy = json.loads(json.dumps(config))
    config_annotations = (copy.get("metadata") or {}).get("annotations")
    if config_annotations:
        config_annotations.pop(LAST_APPLIED, None)
        if not config_annotations:
            copy["metadata"].pop("annotations")
    annotations[LAST_APPLIED] = json.dumps(copy, separators=(",", ":")) + "\n"
    obj["metadata"] = {**obj["metadata"], "annotations": annotations}
