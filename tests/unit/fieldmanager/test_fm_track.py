"""managedFields bookkeeping for Update operations (``fieldmanager.track``)."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from pyk8s.apiserver.fieldmanager import track
from pyk8s.apiserver.fieldmanager.managed import decode, encode, same_ownership

CONFIGMAP = SimpleNamespace(group="", version="v1", kind="ConfigMap", api_version="v1",
                            subresources=())
DEPLOYMENT = SimpleNamespace(group="apps", version="v1", kind="Deployment",
                             api_version="apps/v1", subresources=("status", "scale"))


def cm(data: dict, managed: list | None = None) -> dict:
    meta = {"name": "c", "namespace": "default", "uid": "u", "resourceVersion": "5"}
    if managed is not None:
        meta["managedFields"] = managed
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def owners(obj: dict) -> dict:
    return {(e["manager"], e["operation"]): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields", [])}


def write(old: dict | None, data: dict, manager: str, rt=CONFIGMAP, **kw) -> dict:
    new = copy.deepcopy(old) if old else cm({})
    new["data"] = data
    track(rt, old, new, manager, "Update", **kw)
    return new


def test_create_records_the_manager():
    obj = cm({"a": "1"})
    track(CONFIGMAP, None, obj, "kubectl-create", "Update")
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-create" and entry["operation"] == "Update"
    assert entry["apiVersion"] == "v1" and entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}
    assert len(entry["time"]) == 20 and entry["time"].endswith("Z")
    assert "subresource" not in entry


def test_update_takes_changed_fields_from_others():
    obj = write(None, {"a": "1", "b": "2"}, "one")
    obj = write(obj, {"a": "9", "b": "2", "c": "3"}, "two")
    assert owners(obj) == {
        ("one", "Update"): {"f:data": {".": {}, "f:b": {}}},
        ("two", "Update"): {"f:data": {"f:a": {}, "f:c": {}}},
    }


def test_removed_fields_leave_every_set_and_empty_entries_go():
    obj = write(None, {"a": "1"}, "one")
    obj = write(obj, {"b": "2"}, "two")
    assert owners(obj) == {("one", "Update"): {"f:data": {}},
                           ("two", "Update"): {"f:data": {"f:b": {}}}}
    gone = copy.deepcopy(obj)
    del gone["data"]
    track(CONFIGMAP, obj, gone, "three", "Update")
    assert owners(gone) == {}


def test_same_manager_accumulates_and_noop_keeps_time():
    obj = write(None, {"a": "1"}, "one")
    obj["metadata"]["managedFields"][0]["time"] = "2020-01-01T00:00:00Z"
    same = write(obj, {"a": "1"}, "one")
    assert same["metadata"]["managedFields"][0]["time"] == "2020-01-01T00:00:00Z"
    more = write(obj, {"a": "1", "b": "2"}, "one")
    assert owners(more) == {("one", "Update"): {"f:data": {".": {}, "f:a": {}, "f:b": {}}}}
    assert more["metadata"]["managedFields"][0]["time"] != "2020-01-01T00:00:00Z"


def test_empty_list_resets_managed_fields():
    obj = write(None, {"a": "1"}, "one")
    cleared = copy.deepcopy(obj)
    cleared["metadata"]["managedFields"] = []
    track(CONFIGMAP, obj, cleared, "two", "Update")
    assert "managedFields" not in cleared["metadata"]


@pytest.mark.parametrize("bad", [
    [{"manager": "x", "operation": "Bogus", "apiVersion": "v1", "fieldsType": "FieldsV1"}],
    [{"manager": "x", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV2"}],
    [{"manager": "x", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
      "fieldsV1": {"nope": {}}}],
])
def test_invalid_sent_managed_fields_fall_back_to_live(bad):
    obj = write(None, {"a": "1"}, "one")
    sent = copy.deepcopy(obj)
    sent["metadata"]["managedFields"] = bad
    sent["data"]["b"] = "2"
    track(CONFIGMAP, obj, sent, "two", "Update")
    assert set(owners(sent)) == {("one", "Update"), ("two", "Update")}


def test_status_is_not_owned_through_the_main_resource():
    old = {"metadata": {"name": "d"}, "spec": {"replicas": 1}, "status": {"replicas": 1}}
    new = copy.deepcopy(old)
    new["spec"]["replicas"], new["status"]["replicas"] = 2, 2
    track(DEPLOYMENT, old, new, "ctl", "Update")
    assert owners(new) == {("ctl", "Update"): {"f:spec": {"f:replicas": {}}}}
    track(DEPLOYMENT, old, new, "ctl", "Update", "status")
    assert new["metadata"]["managedFields"][-1]["subresource"] == "status"


def test_server_set_metadata_is_stripped():
    obj = cm({})
    del obj["data"]
    obj["metadata"].update(generation=1, creationTimestamp="2020-01-01T00:00:00Z",
                           labels={"x": "y"})
    track(CONFIGMAP, None, obj, "one", "Update")
    assert owners(obj) == {("one", "Update"): {"f:metadata": {"f:labels": {".": {},
                                                                           "f:x": {}}}}}


def test_internal_writes_without_manager_are_not_tracked():
    obj = cm({"a": "1"})
    track(CONFIGMAP, None, obj, None, "Update")
    assert "managedFields" not in obj["metadata"]


def test_encode_sorts_apply_first_then_time():
    entries = [
        {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "2020-01-01T00:00:02Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}},
        {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2020-01-01T00:00:01Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:b": {}}},
        {"manager": "z", "operation": "Apply", "apiVersion": "v1", "time": "2020-01-01T00:00:09Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:c": {}}},
    ]
    assert [e["manager"] for e in encode(decode(entries))] == ["z", "a", "b"]


def test_same_ownership_ignores_time():
    a = cm({}, [{"manager": "x", "time": "1"}])
    b = cm({}, [{"manager": "x", "time": "2"}])
    assert same_ownership(a, b) and not same_ownership(a, cm({}))


def test_update_managers_are_capped_into_ancient_changes():
    obj = None
    for i in range(12):
        obj = write(obj, {f"k{j}": "v" for j in range(i + 1)}, f"m{i:02}")
        for entry in obj["metadata"]["managedFields"]:
            entry["time"] = entry["time"] if entry["manager"] != f"m{i:02}" else \
                f"2020-01-01T00:00:{i:02}Z"
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10 and "ancient-changes" in managers
    assert "m00" not in managers and "m01" not in managers and "m02" not in managers
    ancient = owners(obj)[("ancient-changes", "Update")]
    assert ancient == {"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}}
