"""Node lifecycle and taint eviction decisions: toleration matching, eviction deadlines,
observed-heartbeat grace periods, Unknown marking, NoSchedule taints, zone states, podgc."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.controllers.nodelifecycle import (
    FULL,
    NORMAL,
    PARTIAL,
    HealthTracker,
    TokenBucket,
    mark_unknown,
    no_schedule_taints,
    zone_rate,
    zone_state,
)
from pyk8s.controllers.podgc import (
    Quarantine,
    terminated_to_delete,
    terminating_on_lost_nodes,
)
from pyk8s.controllers.util.taints import eviction_deadline, swap_taints, tolerates

T0 = datetime(2024, 1, 1, tzinfo=UTC)
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
               "timeAdded": "2024-01-01T00:00:00Z"}
DEDICATED = {"key": "dedicated", "value": "db", "effect": "NoExecute"}


@pytest.mark.parametrize("toleration,taint,expected", [
    ({"operator": "Exists"}, DEDICATED, True),
    ({"key": "dedicated", "operator": "Exists"}, DEDICATED, True),
    ({"key": "dedicated", "value": "db"}, DEDICATED, True),
    ({"key": "dedicated", "value": "web"}, DEDICATED, False),
    ({"key": "dedicated", "value": "db", "effect": "NoSchedule"}, DEDICATED, False),
    ({"key": "other", "operator": "Exists"}, DEDICATED, False),
    ({"key": "dedicated", "operator": "Gt", "value": "db"}, DEDICATED, False),
])
def test_tolerates(toleration, taint, expected):
    assert tolerates(toleration, taint) is expected


def added(taint: dict) -> datetime:
    return T0 if taint.get("timeAdded") else T0 + timedelta(seconds=100)


@pytest.mark.parametrize("node_taints,tolerations,expected", [
    ([], [], None),
    ([{"key": "x", "effect": "NoSchedule"}], [], None),
    ([UNREACHABLE], [], T0),
    ([UNREACHABLE], [{"key": UNREACHABLE["key"], "operator": "Exists",
                      "effect": "NoExecute", "tolerationSeconds": 2}], T0 + timedelta(seconds=2)),
    ([UNREACHABLE], [{"operator": "Exists"}], None),
    ([UNREACHABLE], [{"operator": "Exists", "tolerationSeconds": -5}], T0),
    ([UNREACHABLE, DEDICATED], [{"key": UNREACHABLE["key"], "operator": "Exists",
                                 "tolerationSeconds": 300}], T0 + timedelta(seconds=100)),
    ([UNREACHABLE, DEDICATED], [{"key": UNREACHABLE["key"], "operator": "Exists",
                                 "tolerationSeconds": 300},
                                {"key": "dedicated", "value": "db", "tolerationSeconds": 10}],
     T0 + timedelta(seconds=110)),
    # the first matching toleration decides, as upstream
    ([UNREACHABLE], [{"operator": "Exists"}, {"operator": "Exists", "tolerationSeconds": 1}],
     None),
])
def test_eviction_deadline(node_taints, tolerations, expected):
    assert eviction_deadline(node_taints, tolerations, added) == expected


def test_swap_taints():
    node = {"spec": {"taints": [UNREACHABLE]}}
    not_ready = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
    swapped = swap_taints({"spec": {"taints": [UNREACHABLE]}}, [not_ready], [UNREACHABLE])
    assert swapped["spec"]["taints"] == [not_ready]
    assert swap_taints(node, [UNREACHABLE], []) is None


def node(heartbeat: str | None = "2024-01-01T00:00:00Z", status: str = "True") -> dict:
    conditions = [] if heartbeat is None else [
        {"type": "Ready", "status": status, "lastHeartbeatTime": heartbeat,
         "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    return {"metadata": {"name": "n1", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "status": {"conditions": conditions}}


def lease(renew: str) -> dict:
    return {"spec": {"renewTime": renew}}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_grace_counts_from_when_we_saw_a_change():
    clock = Clock(T0.timestamp() + 1000)  # the kubelet's clock is far behind ours
    tracker = HealthTracker(40, 60, clock)
    assert not tracker.observe(node(), None)  # first sight: the grace starts now
    clock.now += 40
    assert not tracker.observe(node(), None)
    clock.now += 1
    assert tracker.observe(node(), None)
    assert not tracker.observe(node("2024-01-01T00:00:10Z"), None)  # a new heartbeat
    clock.now += 30
    assert not tracker.observe(node("2024-01-01T00:00:10Z"), lease("2024-01-01T00:00:20Z"))
    clock.now += 30
    assert not tracker.observe(node("2024-01-01T00:00:10Z"), lease("2024-01-01T00:00:20Z"))
    clock.now += 11
    assert tracker.observe(node("2024-01-01T00:00:10Z"), lease("2024-01-01T00:00:20Z"))
    assert not tracker.observe(node("2024-01-01T00:00:10Z"), lease("2024-01-01T00:00:30Z"))


def test_startup_grace_counts_from_creation_for_nodes_that_never_reported():
    clock = Clock(T0.timestamp() + 59)
    tracker = HealthTracker(40, 60, clock)
    assert not tracker.observe(node(None), None)
    clock.now += 2
    assert tracker.observe(node(None), None)


def test_mark_unknown():
    marked = mark_unknown(node(), T0 + timedelta(minutes=5))
    by_type = {c["type"]: c for c in marked["status"]["conditions"]}
    assert by_type["Ready"] == {"type": "Ready", "status": "Unknown",
                                "reason": "NodeStatusUnknown",
                                "message": "Kubelet stopped posting node status.",
                                "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                                "lastTransitionTime": "2024-01-01T00:05:00Z"}
    assert by_type["MemoryPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert mark_unknown(marked, T0) is None


def test_no_schedule_taints_follow_conditions():
    assert no_schedule_taints(node()) == set()
    assert no_schedule_taints(node(status="False")) == {"node.kubernetes.io/not-ready"}
    unknown = node(status="Unknown")
    unknown["spec"] = {"unschedulable": True}
    unknown["status"]["conditions"].append({"type": "DiskPressure", "status": "True"})
    assert no_schedule_taints(unknown) == {"node.kubernetes.io/unreachable",
                                           "node.kubernetes.io/unschedulable",
                                           "node.kubernetes.io/disk-pressure"}


@pytest.mark.parametrize("statuses,state", [
    (["True", "True"], NORMAL), (["True", "Unknown"], NORMAL), ([None], FULL),
    (["False", "Unknown"], FULL), (["True", "False", "False", "Unknown"], PARTIAL),
    (["True", "True", "False", "False", "Unknown"], PARTIAL),
    (["True", "True", "True", "False", "False", "Unknown"], NORMAL),
])
def test_zone_state(statuses, state):
    assert zone_state(statuses) == state


def test_zone_rates_and_bucket():
    assert zone_rate(PARTIAL, 10, 0.1) == 0.0
    assert zone_rate(PARTIAL, 51, 0.1) == 0.01
    assert zone_rate(FULL, 3, 0.1) == zone_rate(NORMAL, 3, 0.1) == 0.1
    clock = Clock(0)
    bucket = TokenBucket(0.1, clock)
    assert bucket.take() and not bucket.take()
    clock.now = 9.9
    assert not bucket.take()
    clock.now = 20
    assert bucket.take()


def pod(name: str, phase: str = "Running", created: str = "2024-01-01T00:00:00Z",
        node_name: str = "n1", deleting: bool = False) -> dict:
    meta = {"name": name, "namespace": "ns", "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = created
    return {"metadata": meta, "spec": {"nodeName": node_name}, "status": {"phase": phase}}


def test_podgc_terminated_threshold_oldest_first():
    pods = [pod("a", "Succeeded", "2024-01-03T00:00:00Z"), pod("b", "Failed",
            "2024-01-01T00:00:00Z"), pod("c"), pod("d", "Succeeded", "2024-01-02T00:00:00Z")]
    assert [p["metadata"]["name"] for p in terminated_to_delete(pods, 1)] == ["b", "d"]
    assert terminated_to_delete(pods, 3) == [] and terminated_to_delete(pods, 0) == []


def test_podgc_terminating_on_out_of_service_nodes():
    oos = {"spec": {"taints": [{"key": "node.kubernetes.io/out-of-service",
                                "effect": "NoExecute"}]},
           "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    nodes = {"n1": oos, "n2": node()}
    pods = [pod("a", deleting=True), pod("b"), pod("c", node_name="n2", deleting=True),
            pod("d", node_name="", deleting=True)]
    assert [p["metadata"]["name"] for p in terminating_on_lost_nodes(pods, nodes)] == ["a", "d"]


def test_podgc_quarantine():
    clock = Clock(0)
    quarantine = Quarantine(40, clock)
    assert quarantine.expired({"gone"}) == set()
    clock.now = 40
    assert quarantine.expired({"gone", "new"}) == {"gone"}
    quarantine.release("gone")
    assert quarantine.expired({"gone"}) == set()
