"""The garbage collector's dependency graph: objects as nodes, ownerReferences as edges.

Upstream's GraphBuilder (``graph.go``, ``graph_builder.go``) without its I/O: the monitors
feed it add/update/delete events for every watched object, and it keeps, by uid, each
object's identity, its ownerReferences and the set of its dependents. It never talks to
the API server; it only decides which nodes need a closer look and puts them on the
``attempt_to_delete`` queue (dependents of a vanished owner, owners waiting in foreground
deletion, references that look dangling) or the ``attempt_to_orphan`` queue (owners whose
deletion started with the ``orphan`` finalizer). The collector's workers verify against the
API server before acting.

An owner referenced before it was observed gets a *virtual* node (its identity taken from
the reference, in the dependent's namespace); a worker checks it exists and, if not, feeds
back a *virtual delete* event, which this graph treats with care: dependents that disagree
on the owner's coordinates (apiVersion, kind, name, namespace) keep the node alive under an
alternative identity, as upstream does for references into the wrong namespace or to a
namespaced kind from a cluster-scoped object.

Everything runs on one event loop, so there are no locks; nodes in the queues are the same
objects as in the graph, and a node whose identity changes is replaced by a clone so that
work already queued keeps the identity it was queued with.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
ABSENT_CACHE_SIZE = 500


@dataclass(frozen=True)
class Identity:
    """upstream's objectReference: an owner reference's coordinates plus a namespace."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str = ""

    def __str__(self) -> str:
        return (f"[{self.api_version}/{self.kind}, namespace: {self.namespace}, "
                f"name: {self.name}, uid: {self.uid}]")


def ref_identity(ref: dict, namespace: str = "") -> Identity:
    return Identity(ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""),
                    ref.get("uid", ""), namespace)


def matches_coordinates(ref: dict, identity: Identity) -> bool:
    return (ref.get("uid"), ref.get("name"), ref.get("kind"), ref.get("apiVersion")) == (
        identity.uid, identity.name, identity.kind, identity.api_version)


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def being_deleted(obj: dict) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def has_finalizer(obj: dict, name: str) -> bool:
    return name in (_meta(obj).get("finalizers") or ())


def deletion_starts_with(old: dict | None, new: dict, finalizer: str) -> bool:
    """``new`` is being deleted with ``finalizer`` and ``old`` was not (or had no copy)."""
    if not being_deleted(new) or not has_finalizer(new, finalizer):
        return False
    return old is None or not being_deleted(old) or not has_finalizer(old, finalizer)


class Node:
    """One object (or a virtual stand-in for an owner not observed yet)."""

    __slots__ = ("being_deleted", "deleting_dependents", "dependents", "identity", "owners",
                 "virtual")

    def __init__(self, identity: Identity, owners: Iterable[dict] = (), *,
                 virtual: bool = False, being_deleted: bool = False,
                 deleting_dependents: bool = False) -> None:
        self.identity = identity
        self.owners: list[dict] = list(owners)
        self.dependents: set[Node] = set()
        self.virtual = virtual
        self.being_deleted = being_deleted
        self.deleting_dependents = deleting_dependents

    def clone(self) -> Node:
        twin = Node(self.identity, self.owners, virtual=self.virtual,
                    being_deleted=self.being_deleted,
                    deleting_dependents=self.deleting_dependents)
        twin.dependents = set(self.dependents)
        return twin

    def blocking_dependents(self) -> list[Node]:
        """Dependents whose reference to this node has ``blockOwnerDeletion: true``."""
        return [dep for dep in self.dependents
                if any(ref.get("uid") == self.identity.uid and ref.get("blockOwnerDeletion")
                       for ref in dep.owners)]

    def __repr__(self) -> str:
        return f"Node({self.identity}{', virtual' if self.virtual else ''})"


@dataclass(frozen=True)
class GraphEvent:
    """One change seen by a monitor (or a virtual delete produced by a worker)."""

    type: str  # "add", "update" or "delete"
    obj: dict
    api_version: str
    kind: str
    old: dict | None = None
    virtual: bool = False

    def identity(self) -> Identity:
        meta = _meta(self.obj)
        return Identity(self.api_version, self.kind, meta.get("name", ""),
                        meta.get("uid", ""), meta.get("namespace") or "")


def virtual_delete(identity: Identity) -> GraphEvent:
    obj = {"metadata": {"name": identity.name, "namespace": identity.namespace,
                        "uid": identity.uid}}
    return GraphEvent("delete", obj, identity.api_version, identity.kind, virtual=True)


class AbsentOwnerCache:
    """Owners verified absent, most recent first, bounded (upstream's ReferenceCache)."""

    def __init__(self, size: int = ABSENT_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Identity, None] = OrderedDict()

    def add(self, identity: Identity) -> None:
        self._items[identity] = None
        self._items.move_to_end(identity)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, identity: Identity) -> bool:
        if identity in self._items:
            self._items.move_to_end(identity)
            return True
        return False


class Queue(Protocol):
    def add(self, item: Node) -> None: ...
    def add_rate_limited(self, item: Node) -> None: ...


def references_diff(old: list[dict], new: list[dict]
                    ) -> tuple[list[dict], list[dict], list[tuple[dict, dict]]]:
    """(added, removed, changed pairs) between two ownerReferences lists, keyed by uid."""
    old_by_uid = {ref.get("uid"): ref for ref in old}
    added, changed = [], []
    for ref in new:
        before = old_by_uid.pop(ref.get("uid"), None)
        if before is None:
            added.append(ref)
        elif before != ref:
            changed.append((before, ref))
    return added, list(old_by_uid.values()), changed


def partition_dependents(dependents: Iterable[Node], owner: Identity
                         ) -> tuple[list[Node], list[Node]]:
    """Dependents whose reference to ``owner.uid`` matches its coordinates, and those with
    one that does not (a dependent can be in both)."""
    matching, nonmatching = [], []
    for dep in dependents:
        found_match = found_mismatch = False
        if owner.namespace and owner.namespace != dep.identity.namespace:
            found_mismatch = True
        else:
            for ref in dep.owners:
                if ref.get("uid") == owner.uid:
                    if matches_coordinates(ref, owner):
                        found_match = True
                    else:
                        found_mismatch = True
        if found_match:
            matching.append(dep)
        if found_mismatch:
            nonmatching.append(dep)
    return matching, nonmatching


def _sort_key(identity: Identity) -> tuple:
    return (identity.kind, identity.api_version, identity.namespace, identity.name,
            identity.uid)


def alternate_identity(dependents: Iterable[Node], absent: Identity) -> Identity | None:
    """Another identity the dependents give ``absent.uid``: the first after ``absent`` in
    (kind, apiVersion, namespace, name) order, else the first overall."""
    cluster_scoped = not absent.namespace
    seen = {absent}
    for dep in dependents:
        for ref in dep.owners:
            if ref.get("uid") != absent.uid:
                continue
            if matches_coordinates(ref, absent) and (
                    cluster_scoped or absent.namespace == dep.identity.namespace):
                continue
            alt = ref_identity(ref, dep.identity.namespace)
            if cluster_scoped and (alt.api_version, alt.kind) == (absent.api_version,
                                                                  absent.kind):
                alt = replace(alt, namespace="")
            seen.add(alt)
    alternates = sorted(seen - {absent}, key=_sort_key)
    following = [a for a in alternates if _sort_key(a) > _sort_key(absent)]
    return (following or alternates or [None])[0]


class Graph:
    """The uid -> Node map and the rules that keep it and the work queues in step."""

    def __init__(self, attempt_to_delete: Queue, attempt_to_orphan: Queue, *,
                 absent: AbsentOwnerCache | None = None,
                 on_invalid_namespace: Callable[[Node, dict], None] | None = None) -> None:
        self.nodes: dict[str, Node] = {}
        self.attempt_to_delete = attempt_to_delete
        self.attempt_to_orphan = attempt_to_orphan
        self.absent = absent if absent is not None else AbsentOwnerCache()
        self.on_invalid_namespace = on_invalid_namespace or (lambda node, ref: None)

    def process(self, event: GraphEvent) -> None:
        uid = _meta(event.obj).get("uid")
        if not uid:
            return
        existing = self.nodes.get(uid)
        if existing is not None and not event.virtual and existing.virtual:
            existing = self._observe(existing, event.identity())
        if event.type == "delete":
            if existing is not None:
                self._delete(existing, event)
        elif existing is None:
            self._insert(event)
        else:
            self._update(existing, event)

    # -- add and update ---------------------------------------------------------------

    def _observe(self, node: Node, observed: Identity) -> Node:
        """A virtual node's object showed up in a monitor: adopt the real identity."""
        if observed != node.identity:
            _, suspicious = partition_dependents(node.dependents, observed)
            for dep in suspicious:
                if observed.namespace and dep.identity.namespace != observed.namespace:
                    self._report_invalid(dep, observed.uid)
                self.attempt_to_delete.add(dep)
            node = node.clone()
            node.identity = observed
            self.nodes[observed.uid] = node
        node.virtual = False
        return node

    def _insert(self, event: GraphEvent) -> None:
        obj = event.obj
        node = Node(event.identity(), _meta(obj).get("ownerReferences") or (),
                    being_deleted=being_deleted(obj),
                    deleting_dependents=being_deleted(obj) and has_finalizer(obj, FOREGROUND))
        self.nodes[node.identity.uid] = node
        self._add_to_owners(node, node.owners)
        self._transitions(event.old, obj, node)

    def _update(self, node: Node, event: GraphEvent) -> None:
        obj = event.obj
        owners = _meta(obj).get("ownerReferences") or []
        added, removed, changed = references_diff(node.owners, owners)
        if added or removed or changed:
            self._enqueue_unblocked_owners(removed, changed)
            node.owners = list(owners)
            self._add_to_owners(node, added)
            self._remove_from_owners(node, removed)
        if being_deleted(obj):
            node.being_deleted = True
        self._transitions(event.old, obj, node)

    def _transitions(self, old: dict | None, new: dict, node: Node) -> None:
        if deletion_starts_with(old, new, ORPHAN):
            self.attempt_to_orphan.add(node)
            return
        if deletion_starts_with(old, new, FOREGROUND):
            node.deleting_dependents = True
            for dep in node.dependents:
                self.attempt_to_delete.add(dep)
            self.attempt_to_delete.add(node)

    def _add_to_owners(self, node: Node, owners: Iterable[dict]) -> None:
        suspicious = False
        for ref in owners:
            owner = self.nodes.get(ref.get("uid"))
            if owner is None:
                owner = Node(ref_identity(ref, node.identity.namespace), virtual=True)
                self.nodes[owner.identity.uid] = owner
                owner.dependents.add(node)
                self.attempt_to_delete.add(owner)
                continue
            owner.dependents.add(node)
            if not suspicious:
                suspicious = self._suspicious_reference(node, ref, owner)
        if suspicious:
            self.attempt_to_delete.add(node)

    def _suspicious_reference(self, node: Node, ref: dict, owner: Node) -> bool:
        """Whether ``node``'s reference to a known ``owner`` may be dangling."""
        owner_ns = owner.identity.namespace
        if owner_ns and owner_ns != node.identity.namespace:
            if not owner.virtual:
                self._report_invalid(node, owner.identity.uid)
            return True
        if not matches_coordinates(ref, owner.identity):
            return True
        return not owner_ns and owner_ns != node.identity.namespace and owner.virtual

    def _remove_from_owners(self, node: Node, owners: Iterable[dict]) -> None:
        for ref in owners:
            owner = self.nodes.get(ref.get("uid"))
            if owner is not None:
                owner.dependents.discard(node)

    def _enqueue_unblocked_owners(self, removed: list[dict],
                                  changed: list[tuple[dict, dict]]) -> None:
        """An owner waiting on blocking dependents may be free once a block goes away."""
        unblocked = [ref for ref in removed if ref.get("blockOwnerDeletion")]
        unblocked += [new for old, new in changed
                      if old.get("blockOwnerDeletion") and not new.get("blockOwnerDeletion")]
        for ref in unblocked:
            owner = self.nodes.get(ref.get("uid"))
            if owner is not None:
                self.attempt_to_delete.add(owner)

    def _report_invalid(self, node: Node, owner_uid: str) -> None:
        ref = next((r for r in node.owners if r.get("uid") == owner_uid), None)
        if ref is not None:
            self.on_invalid_namespace(node, ref)

    # -- delete -----------------------------------------------------------------------

    def _delete(self, node: Node, event: GraphEvent) -> None:
        if event.virtual and not self._virtual_delete_removes(node, event.identity()):
            return
        del self.nodes[node.identity.uid]
        self._remove_from_owners(node, node.owners)
        if node.dependents:
            self.absent.add(event.identity())
        for dep in node.dependents:
            self.attempt_to_delete.add(dep)
        for ref in node.owners:
            owner = self.nodes.get(ref.get("uid"))
            if owner is not None and owner.deleting_dependents:
                self.attempt_to_delete.add(owner)

    def _virtual_delete_removes(self, node: Node, deleted: Identity) -> bool:
        """Handle a worker's "this owner does not exist" verdict; True to drop the node.

        Only the dependents that referenced exactly the verified-absent coordinates are
        collected; a node that others know by different coordinates stays (a virtual node
        is retried under one of those; an observed one is simply kept)."""
        if node.virtual:
            matching, nonmatching = partition_dependents(node.dependents, deleted)
            if not nonmatching:
                return True
            self._collect(matching, deleted)
            if node.identity == deleted:
                alternate = alternate_identity(nonmatching, deleted)
                if alternate is not None:
                    twin = node.clone()
                    twin.identity = alternate
                    self.nodes[alternate.uid] = twin
                    self.attempt_to_delete.add_rate_limited(twin)
            return False
        if node.identity == deleted:
            return True
        matching, _ = partition_dependents(node.dependents, deleted)
        self._collect(matching, deleted)
        return False

    def _collect(self, dependents: list[Node], absent: Identity) -> None:
        if dependents:
            self.absent.add(absent)
            for dep in dependents:
                self.attempt_to_delete.add(dep)


# -- what to do with one object whose owners were checked ------------------------------


@dataclass(frozen=True)
class Decision:
    """The outcome of weighing an object's owners (upstream's attemptToDeleteItem switch).

    ``action`` is ``keep`` (a live owner remains, references all fine), ``drop-refs``
    (a live owner remains: remove the references in ``remove_uids`` to owners that are gone
    or waiting for their dependents), or ``delete`` with ``policy``; ``unblock`` first turns
    off ``blockOwnerDeletion`` on the object's own references to break a foreground cycle.
    """

    action: str
    policy: str | None = None
    remove_uids: tuple[str, ...] = ()
    unblock: bool = False


def decide(obj: dict, solid: list[dict], dangling: list[dict], waiting: list[dict],
           dependents: Iterable[Node]) -> Decision:
    """What to do with ``obj`` given its owner references sorted into solid (owner exists),
    dangling (owner absent) and waiting (owner in foreground deletion)."""
    if solid:
        if not dangling and not waiting:
            return Decision("keep")
        uids = tuple(ref.get("uid", "") for ref in [*dangling, *waiting])
        return Decision("drop-refs", remove_uids=uids)
    dependents = list(dependents)
    if waiting and dependents:
        unblock = any(dep.deleting_dependents for dep in dependents)
        return Decision("delete", "Foreground", unblock=unblock)
    if has_finalizer(obj, ORPHAN):
        return Decision("delete", "Orphan")
    if has_finalizer(obj, FOREGROUND):
        return Decision("delete", "Foreground")
    return Decision("delete", "Background")
