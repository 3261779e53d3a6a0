"""EndpointSlice packing: new slices of at most 100, minimal updates, placeholder,
stale slices deleted, create+delete turned into updates."""

from __future__ import annotations

from pyk8s.controllers.util.slicepacking import (
    CONTROLLER_NAME,
    Desired,
    new_slice,
    plan_slices,
    ports_key,
    slice_labels,
)

SERVICE = {"metadata": {"name": "svc", "namespace": "ns", "uid": "svc-uid",
                        "labels": {"app": "x"}},
           "spec": {"clusterIP": "10.96.0.1"}}
PORTS = [{"name": "http", "port": 8080, "protocol": "TCP"}]


def ep(i: int, ready: bool = True) -> dict:
    return {"addresses": [f"10.1.{i // 250}.{i % 250 + 1}"],
            "conditions": {"ready": ready, "serving": ready, "terminating": False},
            "targetRef": {"kind": "Pod", "namespace": "ns", "name": f"p{i}", "uid": f"u{i}"}}


def desired(*indexes: int, ports=PORTS, ready=True) -> dict:
    want = Desired(ports)
    for i in indexes:
        want.add(ep(i, ready))
    return {"IPv4": {ports_key(ports): want}}


def existing(name: str, *indexes: int, ports=PORTS) -> dict:
    slice_ = new_slice(SERVICE, "IPv4", ports)
    slice_["metadata"].update(name=name, resourceVersion="1", uid=f"uid-{name}")
    slice_["endpoints"] = [ep(i) for i in indexes]
    return slice_


def test_new_service_is_packed_into_slices_of_100():
    plan = plan_slices(SERVICE, [], desired(*range(250)))
    assert [len(s["endpoints"]) for s in plan.create] == [100, 100, 50]
    assert not plan.update and not plan.delete
    first = plan.create[0]
    assert first["metadata"]["generateName"] == "svc-"
    assert first["metadata"]["labels"] == {
        "app": "x", "kubernetes.io/service-name": "svc",
        "endpointslice.kubernetes.io/managed-by": CONTROLLER_NAME}
    assert first["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    assert first["addressType"] == "IPv4" and first["ports"] == PORTS


def test_unchanged_slices_are_not_written():
    assert plan_slices(SERVICE, [existing("a", 0, 1)], desired(0, 1)).empty()


def test_changed_endpoint_updates_only_its_slice():
    slices = [existing("a", 0, 1), existing("b", 2, 3)]
    plan = plan_slices(SERVICE, slices, desired(0, 1, 2) | {})
    assert [s["metadata"]["name"] for s in plan.update] == ["b"]
    assert plan.update[0]["endpoints"] == [ep(2)]
    want = desired(0, 1, 2, 3)
    want["IPv4"][ports_key(PORTS)].add(ep(1, ready=False))
    plan = plan_slices(SERVICE, slices, want)
    assert [s["metadata"]["name"] for s in plan.update] == ["a"]
    assert plan.update[0]["endpoints"][1]["conditions"]["ready"] is False
    assert slices[0]["endpoints"][1]["conditions"]["ready"] is True  # inputs untouched


def test_new_endpoints_fill_slices_being_updated_then_unchanged_ones():
    slices = [existing("a", 0, 1), existing("b", *range(2, 90))]
    plan = plan_slices(SERVICE, slices, desired(0, *range(2, 90), 200))
    assert [s["metadata"]["name"] for s in plan.update] == ["a"]
    assert {e["targetRef"]["name"] for e in plan.update[0]["endpoints"]} == {"p0", "p200"}
    plan = plan_slices(SERVICE, slices, desired(*range(90), 200))
    assert [s["metadata"]["name"] for s in plan.update] == ["b"]  # the snuggest fit
    assert not plan.create


def test_emptied_slice_is_deleted_and_placeholder_kept_for_no_endpoints():
    plan = plan_slices(SERVICE, [existing("a", 0), existing("b", 1)], desired(0))
    assert [s["metadata"]["name"] for s in plan.delete] == ["b"] and not plan.update
    plan = plan_slices(SERVICE, [existing("a", 0)], {"IPv4": {}})
    assert not plan.delete and len(plan.update) == 1  # reused as the placeholder
    placeholder = plan.update[0]
    assert placeholder["metadata"]["name"] == "a"
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []
    empty = existing("p", ports=[])
    assert plan_slices(SERVICE, [empty], {"IPv4": {}}).empty()
    assert len(plan_slices(SERVICE, [], {"IPv4": {}}).create) == 1


def test_port_change_rewrites_the_slice_in_place():
    other = [{"name": "http", "port": 9090, "protocol": "TCP"}]
    plan = plan_slices(SERVICE, [existing("a", 0, 1)], desired(0, 1, ports=other))
    assert not plan.create and not plan.delete
    assert plan.update[0]["metadata"]["name"] == "a"
    assert plan.update[0]["ports"] == other


def test_foreign_owner_and_label_changes():
    stranger = existing("old", 0)
    stranger["metadata"]["ownerReferences"][0]["uid"] = "previous-service"
    plan = plan_slices(SERVICE, [stranger], desired(0))
    assert [s["metadata"]["name"] for s in plan.delete] == ["old"]
    assert len(plan.create) == 1
    relabelled = {**SERVICE, "metadata": {**SERVICE["metadata"], "labels": {"app": "y"}}}
    plan = plan_slices(relabelled, [existing("a", 0)], desired(0))
    assert plan.update[0]["metadata"]["labels"] == slice_labels(relabelled)
