"""Server-side apply: merge, removal of fields no longer applied, conflicts and force."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from pyk8s.apiserver.errors import APIError
from pyk8s.apiserver.fieldmanager import apply_config, track

CONFIGMAP = SimpleNamespace(group="", version="v1", kind="ConfigMap", api_version="v1",
                            subresources=())
DEPLOYMENT = SimpleNamespace(group="apps", version="v1", kind="Deployment",
                             api_version="apps/v1", subresources=("status", "scale"))


def cm(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}


def owners(obj: dict) -> dict:
    return {e["manager"]: e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


def run(steps: list[tuple], rt=CONFIGMAP) -> dict:
    """Apply (manager, config[, force]) steps in order from nothing; the final object."""
    live = None
    for step in steps:
        manager, config, *force = step
        live = apply_config(rt, live, copy.deepcopy(config), manager, force=bool(force))
    return live


CASES = [
    ("create", [("a", cm(k="1"))], {"k": "1"}, {"a": {"f:data": {"f:k": {}}}}),
    ("drop a field", [("a", cm(k="1", x="2")), ("a", cm(k="1"))], {"k": "1"},
     {"a": {"f:data": {"f:k": {}}}}),
    ("drop all fields", [("a", cm(k="1")), ("a", {**cm(), "data": None})], None, {}),
    ("shared field survives one applier leaving",
     [("a", cm(k="1")), ("b", cm(k="1")), ("a", cm(o="2"))], {"k": "1", "o": "2"},
     {"a": {"f:data": {"f:o": {}}}, "b": {"f:data": {"f:k": {}}}}),
    ("other manager's field stays", [("a", cm(k="1")), ("b", cm(x="2")), ("a", cm(k="3"))],
     {"k": "3", "x": "2"}, {"a": {"f:data": {"f:k": {}}}, "b": {"f:data": {"f:x": {}}}}),
    ("force takes ownership", [("a", cm(k="1")), ("b", cm(k="2"), True)], {"k": "2"},
     {"b": {"f:data": {"f:k": {}}}}),
]


@pytest.mark.parametrize("name, steps, data, expected", CASES, ids=[c[0] for c in CASES])
def test_apply(name, steps, data, expected):
    obj = run(steps)
    assert obj.get("data") == data
    assert owners(obj) == expected


def test_conflict_error_wording():
    with pytest.raises(APIError) as caught:
        run([("a", cm(k="1")), ("b", cm(k="2"))])
    err = caught.value
    assert err.code == 409 and err.reason == "Conflict"
    assert err.message == 'Apply failed with 1 conflict: conflict with "a": .data.k'
    assert err.details == {"causes": [{"reason": "FieldManagerConflict",
                                       "message": 'conflict with "a"', "field": ".data.k"}]}


def test_conflicts_with_update_managers_name_the_version():
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1, "paused": False}}
    track(DEPLOYMENT, None, live, "kubectl-client-side-apply", "Update")
    applied = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 3, "paused": True}}
    with pytest.raises(APIError) as caught:
        apply_config(DEPLOYMENT, live, applied, "mine")
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflict with "kubectl-client-side-apply" using '
        'apps/v1:\n- .spec.paused\n- .spec.replicas')
    assert [c["field"] for c in caught.value.details["causes"]] == [".spec.paused",
                                                                     ".spec.replicas"]


def test_same_value_is_no_conflict_and_keeps_time():
    first = run([("a", cm(k="1"))])
    first["metadata"]["managedFields"][0]["time"] = "2020-01-01T00:00:00Z"
    again = apply_config(CONFIGMAP, first, cm(k="1"), "a")
    assert again["metadata"]["managedFields"][0]["time"] == "2020-01-01T00:00:00Z"


def test_kubectl_upgrade_from_client_side_apply():
    last = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "c"}, "data": {"k": "1"}})
    live = cm(k="1")
    live["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last}
    track(CONFIGMAP, None, live, "kubectl-client-side-apply", "Update")
    with pytest.raises(APIError):
        apply_config(CONFIGMAP, live, cm(k="2"), "someone-else")
    result = apply_config(CONFIGMAP, live, cm(k="2"), "kubectl")
    assert result["data"] == {"k": "2"}
    synced = json.loads(result["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"])
    assert synced["data"] == {"k": "2"}


def test_status_apply_owns_only_status():
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1}}
    applied = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 5}, "status": {"replicas": 1}}
    result = apply_config(DEPLOYMENT, live, applied, "ctl", subresource="status")
    [entry] = result["metadata"]["managedFields"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


def test_main_resource_apply_does_not_own_status():
    applied = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 2}, "status": {"replicas": 1}}
    result = apply_config(DEPLOYMENT, None, applied, "ctl")
    assert owners(result) == {"ctl": {"f:spec": {"f:replicas": {}}}}


def test_removing_a_container_keeps_other_items():
    def deploy(*names):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"template": {"spec": {"containers": [
                    {"name": n, "image": "x"} for n in names]}}}}
    obj = run([("a", deploy("web", "side")), ("b", deploy("extra")), ("a", deploy("web"))],
              rt=DEPLOYMENT)
    names = [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]]
    assert names == ["web", "extra"]


def test_custom_resource_without_schema_is_deduced():
    rt = SimpleNamespace(group="example.com", version="v1", kind="Thing",
                         api_version="example.com/v1", subresources=())

    def thing(spec):
        return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
                "spec": spec}
    obj = run([("a", thing({"x": 1, "list": [1, 2], "m": {"y": 1}})),
               ("a", thing({"list": [3], "m": {"z": 2}}))], rt=rt)
    assert obj["spec"] == {"list": [3], "m": {"z": 2}}
    assert owners(obj) == {"a": {"f:spec": {".": {}, "f:list": {},
                                            "f:m": {".": {}, "f:z": {}}}}}
