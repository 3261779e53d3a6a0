"""ControllerRevisions: the template history of StatefulSets and DaemonSets (upstream's
pkg/controller/history).

A revision stores the parent's pod template as a patch (``data``) plus a ``revision``
number; its name is ``<parent>-<hash of data>``, the hash also going on the pods as the
``controller-revision-hash`` label. When a differently-valued revision already holds the
name (a hash collision), the parent's ``collisionCount`` is bumped and the name recomputed.
A template equal to an older revision reuses that revision, renumbered as the newest.
"""

from __future__ import annotations

import copy

import orjson

from ...client import AlreadyExists, ResourceAPI
from .controllerref import controller_of
from .hashing import fnv32a, safe_encode

CONTROLLER_REVISION_HASH = "controller-revision-hash"


def hash_revision(data: dict, collision_count: int | None = None) -> str:
    """HashControllerRevision: FNV-32a over the data (and collision count), safe-encoded."""
    value = fnv32a(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
    if collision_count:
        value = fnv32a(str(collision_count).encode(), value)
    return safe_encode(str(value))


def revision_name(parent_name: str, hash_: str) -> str:
    prefix = parent_name[:max(0, 252 - len(hash_))]
    return f"{prefix}-{hash_}"


def template_patch(parent: dict) -> dict:
    """The revision data of a StatefulSet/DaemonSet: its template, replacing wholesale."""
    template = copy.deepcopy((parent.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: dict) -> dict:
    """The pod template a revision records (its patch, minus the directive)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template")
                             or {})
    template.pop("$patch", None)
    return template


def new_revision(parent: dict, owner_ref: dict, data: dict, number: int,
                 collision_count: int | None) -> dict:
    """A ControllerRevision for ``parent`` (labels from its template, owned by it)."""
    meta = parent["metadata"]
    labels = dict(((parent.get("spec") or {}).get("template") or {}).get("metadata", {})
                  .get("labels") or {})
    hash_ = hash_revision(data, collision_count)
    labels[CONTROLLER_REVISION_HASH] = hash_
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": revision_name(meta["name"], hash_),
                         "namespace": meta["namespace"], "labels": labels,
                         "ownerReferences": [dict(owner_ref)]},
            "data": data, "revision": number}


def sort_revisions(revisions: list[dict]) -> list[dict]:
    """Oldest first: by revision number, then creation time, then name."""
    return sorted(revisions, key=lambda r: (r.get("revision") or 0,
                                            r["metadata"].get("creationTimestamp") or "",
                                            r["metadata"]["name"]))


def next_revision_number(revisions: list[dict]) -> int:
    return max((r.get("revision") or 0 for r in revisions), default=0) + 1


def equal_revisions(revisions: list[dict], needle: dict) -> list[dict]:
    """Revisions whose data equals ``needle``'s (oldest first)."""
    return [r for r in sort_revisions(revisions) if r.get("data") == needle.get("data")]


def owned_revisions(revisions: list[dict], owner_uid: str) -> list[dict]:
    return [r for r in revisions if (controller_of(r) or {}).get("uid") == owner_uid]


async def create_revision(api: ResourceAPI, parent: dict, revision: dict,
                          collision_count: int) -> tuple[dict, int]:
    """Create ``revision``, bumping ``collision_count`` past name collisions with
    different data; an existing equal revision is returned instead. Answers
    (revision, collision count)."""
    ns = parent["metadata"]["namespace"]
    while True:
        body = copy.deepcopy(revision)
        hash_ = hash_revision(body["data"], collision_count)
        body["metadata"]["name"] = revision_name(parent["metadata"]["name"], hash_)
        body["metadata"]["labels"][CONTROLLER_REVISION_HASH] = hash_
        try:
            return await api.create(body, namespace=ns), collision_count
        except AlreadyExists:
            existing = await api.get(body["metadata"]["name"], namespace=ns)
            if existing.get("data") == body["data"]:
                return existing, collision_count
            collision_count += 1


async def renumber(api: ResourceAPI, revision: dict, number: int) -> dict:
    """Give an existing revision a new ``revision`` number (it became current again)."""
    if revision.get("revision") == number:
        return revision
    body = copy.deepcopy(revision)
    body["revision"] = number
    return await api.update(body)


def live_revision_names(pods: list[dict]) -> set[str]:
    return {((p["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH)) for p in pods}


def revisions_to_delete(revisions: list[dict], keep: set[str], limit: int) -> list[dict]:
    """Old revisions beyond ``limit``, never those named in ``keep`` (in use)."""
    history = [r for r in sort_revisions(revisions) if r["metadata"]["name"] not in keep]
    return history[:max(0, len(history) - limit)]
