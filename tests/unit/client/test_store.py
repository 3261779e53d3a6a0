"""Informer store: keys, indexes kept in step with writes, user indexers."""

from __future__ import annotations

import pytest

from pyk8s.client.meta import meta_namespace_key, split_key
from pyk8s.client.store import Store, label_index, node_name_index, owner_uid_index


def pod(name, ns="default", node=None, owner=None, app=None):
    meta = {"name": name, "namespace": ns}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "ReplicaSet", "name": "rs"}]
    if app:
        meta["labels"] = {"app": app}
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def store() -> Store:
    return Store({"node": node_name_index, "owner": owner_uid_index,
                  "app": label_index("app")})


@pytest.mark.parametrize("obj, key, split", [
    (pod("p"), "default/p", ("default", "p")),
    ({"metadata": {"name": "n1"}}, "n1", (None, "n1")),
])
def test_keys(obj, key, split):
    assert meta_namespace_key(obj) == key
    assert split_key(key) == split


def test_indexes_follow_updates_and_deletes():
    s = store()
    s.add(pod("a", node="n1", owner="u1", app="web"))
    s.add(pod("b", node="n1", app="web"))
    s.add(pod("c", ns="other"))
    assert [p["metadata"]["name"] for p in s.by_index("node", "n1")] == ["a", "b"]
    assert s.index_keys("namespace", "default") == ["default/a", "default/b"]
    assert s.index_keys("owner", "u1") == ["default/a"]
    assert s.index_keys("app", "web") == ["default/a", "default/b"]

    old = s.update(pod("a", node="n2", app="db"))
    assert old["spec"]["nodeName"] == "n1"
    assert s.index_keys("node", "n1") == ["default/b"]
    assert s.index_keys("node", "n2") == ["default/a"]
    assert s.index_keys("owner", "u1") == []
    assert s.index_values("app") == ["db", "web"]

    s.delete(pod("b"))
    assert s.index_keys("node", "n1") == []
    assert "n1" not in s.index_values("node")
    assert s.get("default/b") is None and len(s) == 2
    assert s.get_by_name("c", "other")["metadata"]["name"] == "c"


def test_replace_rebuilds_everything():
    s = store()
    s.add(pod("a", node="n1"))
    s.replace([pod("b", node="n2")])
    assert s.list_keys() == ["default/b"]
    assert s.index_keys("node", "n1") == []
    assert s.index_keys("node", "n2") == ["default/b"]


def test_indexers_added_later_cover_existing_objects():
    s = Store()
    s.add(pod("a", node="n1"))
    s.add_indexers({"node": node_name_index})
    assert s.index_keys("node", "n1") == ["default/a"]
    with pytest.raises(ValueError):
        s.add_indexers({"node": node_name_index})
    with pytest.raises(KeyError):
        s.by_index("nope", "x")
