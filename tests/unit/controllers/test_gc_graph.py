"""The garbage collector's dependency graph and deletion decisions, as tables: which nodes
exist (and which are virtual), who depends on whom, and what each event puts on the
attempt-to-delete / attempt-to-orphan queues."""

from __future__ import annotations

import pytest

from pyk8s.controllers.gc_graph import (
    FOREGROUND,
    ORPHAN,
    Decision,
    Graph,
    GraphEvent,
    Identity,
    Node,
    alternate_identity,
    decide,
    references_diff,
    virtual_delete,
)


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[tuple[str, Node]] = []

    def add(self, node: Node) -> None:
        self.added.append(("add", node))

    def add_rate_limited(self, node: Node) -> None:
        self.added.append(("rate-limited", node))

    def names(self) -> list[str]:
        return [node.identity.name for _, node in self.added]


def obj(name: str, *owners: dict, ns: str = "ns", deleting: bool = False,
        finalizers: tuple[str, ...] = ()) -> dict:
    meta = {"name": name, "uid": f"uid-{name}", "ownerReferences": list(owners)}
    if ns:
        meta["namespace"] = ns
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"metadata": meta}


def ref(name: str, kind: str = "ConfigMap", block: bool | None = None) -> dict:
    out = {"apiVersion": "v1", "kind": kind, "name": name, "uid": f"uid-{name}"}
    if block is not None:
        out["blockOwnerDeletion"] = block
    return out


def add(o: dict, kind: str = "ConfigMap", old: dict | None = None) -> GraphEvent:
    return GraphEvent("update" if old else "add", o, "v1", kind, old=old)


def delete(o: dict, kind: str = "ConfigMap") -> GraphEvent:
    return GraphEvent("delete", o, "v1", kind)


@pytest.fixture
def world():
    deletes, orphans, invalid = RecordingQueue(), RecordingQueue(), []
    graph = Graph(deletes, orphans, on_invalid_namespace=lambda n, r: invalid.append(
        (n.identity.name, r["name"])))
    return graph, deletes, orphans, invalid


def dependents(graph: Graph, name: str) -> set[str]:
    return {d.identity.name for d in graph.nodes[f"uid-{name}"].dependents}


def test_dependent_before_owner_makes_a_virtual_owner_that_observation_replaces(world):
    graph, deletes, _, _ = world
    graph.process(add(obj("child", ref("owner"))))
    virtual = graph.nodes["uid-owner"]
    assert virtual.virtual and virtual.identity.namespace == "ns"
    assert deletes.names() == ["owner"]
    graph.process(add(obj("owner")))
    assert graph.nodes["uid-owner"] is virtual and not virtual.virtual
    assert dependents(graph, "owner") == {"child"}
    assert deletes.names() == ["owner"]


def test_owner_deletion_queues_dependents_and_remembers_the_absence(world):
    graph, deletes, _, _ = world
    graph.process(add(obj("owner")))
    graph.process(add(obj("a", ref("owner"))))
    graph.process(add(obj("b", ref("owner"))))
    graph.process(delete(obj("owner")))
    assert "uid-owner" not in graph.nodes
    assert sorted(deletes.names()) == ["a", "b"]
    assert Identity("v1", "ConfigMap", "owner", "uid-owner", "ns") in graph.absent


@pytest.mark.parametrize("finalizer, queue, expect", [
    (FOREGROUND, "delete", ["a", "owner"]),
    (ORPHAN, "orphan", ["owner"]),
])
def test_deletion_with_a_finalizer_starts_foreground_or_orphaning(world, finalizer, queue,
                                                                  expect):
    graph, deletes, orphans, _ = world
    graph.process(add(obj("owner")))
    graph.process(add(obj("a", ref("owner", block=True))))
    deletes.added.clear()
    graph.process(add(obj("owner", deleting=True, finalizers=(finalizer,)), old=obj("owner")))
    target = deletes if queue == "delete" else orphans
    assert sorted(target.names()) == expect
    owner = graph.nodes["uid-owner"]
    assert owner.being_deleted
    assert owner.deleting_dependents == (finalizer == FOREGROUND)
    # the same state seen again is no new transition
    target.added.clear()
    graph.process(add(obj("owner", deleting=True, finalizers=(finalizer, "x")),
                      old=obj("owner", deleting=True, finalizers=(finalizer,))))
    assert target.added == []


def test_a_dependent_leaving_a_foreground_owner_wakes_it(world):
    graph, deletes, _, _ = world
    graph.process(add(obj("owner", deleting=True, finalizers=(FOREGROUND,))))
    graph.process(add(obj("a", ref("owner", block=True))))
    owner = graph.nodes["uid-owner"]
    assert [d.identity.name for d in owner.blocking_dependents()] == ["a"]
    deletes.added.clear()
    graph.process(add(obj("a", ref("owner", block=False)), old=obj("a", ref("owner", block=True))))
    assert deletes.names() == ["owner"] and owner.blocking_dependents() == []
    deletes.added.clear()
    graph.process(delete(obj("a", ref("owner", block=False))))
    assert deletes.names() == ["owner"] and dependents(graph, "owner") == set()


def test_changed_references_move_the_dependent_between_owners(world):
    graph, _, _, _ = world
    graph.process(add(obj("p1")))
    graph.process(add(obj("p2")))
    graph.process(add(obj("c", ref("p1"))))
    graph.process(add(obj("c", ref("p2")), old=obj("c", ref("p1"))))
    assert dependents(graph, "p1") == set() and dependents(graph, "p2") == {"c"}


def test_owner_in_another_namespace_is_reported_and_the_dependent_checked(world):
    graph, deletes, _, invalid = world
    graph.process(add(obj("owner", ns="a")))
    graph.process(add(obj("child", ref("owner"), ns="b")))
    assert invalid == [("child", "owner")]
    assert deletes.names() == ["child"]


def test_wrong_coordinates_to_a_known_owner_get_the_dependent_checked(world):
    graph, deletes, _, invalid = world
    graph.process(add(obj("owner")))
    graph.process(add(obj("child", {**ref("owner"), "kind": "Secret"})))
    assert deletes.names() == ["child"] and invalid == []


def test_virtual_delete_of_a_virtual_owner_collects_matching_dependents(world):
    graph, deletes, _, _ = world
    graph.process(add(obj("child", ref("ghost"))))
    deletes.added.clear()
    graph.process(virtual_delete(graph.nodes["uid-ghost"].identity))
    assert "uid-ghost" not in graph.nodes
    assert deletes.names() == ["child"]


def test_virtual_delete_keeps_a_node_others_know_by_other_coordinates(world):
    graph, deletes, _, _ = world
    graph.process(add(obj("a", ref("ghost"))))
    graph.process(add(obj("b", {**ref("ghost"), "kind": "Secret"})))
    absent = graph.nodes["uid-ghost"].identity
    deletes.added.clear()
    graph.process(virtual_delete(absent))
    replacement = graph.nodes["uid-ghost"]
    assert replacement.virtual and replacement.identity.kind == "Secret"
    assert deletes.added[0] == ("add", graph.nodes["uid-a"])
    assert deletes.added[-1] == ("rate-limited", replacement)
    assert absent in graph.absent


def test_virtual_delete_never_removes_an_observed_node(world):
    graph, deletes, _, _ = world
    graph.process(add(obj("owner")))
    graph.process(add(obj("child", {**ref("owner"), "apiVersion": "v2"})))
    deletes.added.clear()
    stale = Identity("v2", "ConfigMap", "owner", "uid-owner", "ns")
    graph.process(virtual_delete(stale))
    assert "uid-owner" in graph.nodes and deletes.names() == ["child"]


def test_alternate_identity_prefers_the_one_after_the_absent():
    deps = [Node(Identity("v1", "ConfigMap", n, f"uid-{n}", "ns"), [r]) for n, r in [
        ("a", {**ref("o"), "kind": "Aaa"}), ("b", {**ref("o"), "kind": "Zzz"})]]
    absent = Identity("v1", "Mmm", "o", "uid-o", "ns")
    assert alternate_identity(deps, absent).kind == "Zzz"
    assert alternate_identity(deps, Identity("v1", "Zzz", "o", "uid-o", "ns")).kind == "Aaa"
    assert alternate_identity(deps[:1], Identity("v1", "Aaa", "o", "uid-o", "ns")) is None


def test_references_diff():
    old = [ref("a"), ref("b", block=True)]
    new = [ref("b", block=False), ref("c")]
    added, removed, changed = references_diff(old, new)
    assert added == [ref("c")] and removed == [ref("a")]
    assert changed == [(ref("b", block=True), ref("b", block=False))]


def waiting_dep(deleting: bool) -> Node:
    node = Node(Identity("v1", "ConfigMap", "d", "uid-d", "ns"))
    node.deleting_dependents = deleting
    return node


@pytest.mark.parametrize("finalizers, solid, dangling, waiting, deps, expected", [
    ((), [ref("a")], [], [], [], Decision("keep")),
    ((), [ref("a")], [ref("b")], [ref("c")], [],
     Decision("drop-refs", remove_uids=("uid-b", "uid-c"))),
    ((), [], [ref("b")], [], [], Decision("delete", "Background")),
    ((ORPHAN,), [], [ref("b")], [], [], Decision("delete", "Orphan")),
    ((FOREGROUND,), [], [ref("b")], [], [], Decision("delete", "Foreground")),
    ((), [], [], [ref("c")], [], Decision("delete", "Background")),
    ((), [], [], [ref("c")], [waiting_dep(False)], Decision("delete", "Foreground")),
    ((), [], [], [ref("c")], [waiting_dep(True)],
     Decision("delete", "Foreground", unblock=True)),
])
def test_decide(finalizers, solid, dangling, waiting, deps, expected):
    item = obj("item", finalizers=finalizers)
    assert decide(item, solid, dangling, waiting, deps) == expected
