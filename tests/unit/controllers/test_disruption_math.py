"""The disruption controller's arithmetic: expected/desired pods, allowed disruptions,
disruptedPods expiry and the stale DisruptionTarget rule, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.controllers.disruption import (
    SyncError,
    count_healthy,
    disruptions_allowed,
    expected_and_desired,
    expected_scale,
    live_disruptions,
    needs_scale,
    scaled_value,
    set_condition,
    stale_disruption,
    status_current,
)
from pyk8s.controllers.util.times import format_time

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def pod(name, *, ready=True, deleting=False, owner_uid=None, phase="Running", conditions=()):
    meta = {"name": name, "namespace": "ns"}
    if deleting:
        meta["deletionTimestamp"] = format_time(NOW)
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": f"rs-{owner_uid}", "uid": owner_uid,
                                    "controller": True}]
    conds = [{"type": "Ready", "status": "True" if ready else "False"}, *conditions]
    return {"metadata": meta, "status": {"phase": phase, "conditions": conds}}


@pytest.mark.parametrize("value,total,up,want", [
    (3, 10, True, 3), ("50%", 3, True, 2), ("50%", 3, False, 1), ("10%", 1, True, 1),
    ("0%", 7, True, 0), ("100%", 7, True, 7), ("34%", 3, True, 2), ("34%", 3, False, 1),
])
def test_scaled_value(value, total, up, want):
    assert scaled_value(value, total, round_up=up) == want


@pytest.mark.parametrize("bad", ["5", "x%", "abc"])
def test_scaled_value_rejects_non_percent_strings(bad):
    with pytest.raises(SyncError):
        scaled_value(bad, 4, round_up=True)


@pytest.mark.parametrize("spec,pods,scale,want", [
    ({"minAvailable": 2}, 5, 0, (5, 2)),           # integer: the pods themselves count
    ({"minAvailable": 0}, 3, 0, (3, 0)),
    ({"minAvailable": "50%"}, 2, 5, (5, 3)),       # percent of the scale, rounded up
    ({"minAvailable": "100%"}, 2, 4, (4, 4)),
    ({"maxUnavailable": 1}, 3, 3, (3, 2)),
    ({"maxUnavailable": "25%"}, 3, 5, (5, 3)),     # 25% of 5 = 1.25 -> 2 unavailable
    ({"maxUnavailable": 10}, 3, 3, (3, 0)),        # never below zero
    ({"maxUnavailable": "0%"}, 3, 3, (3, 3)),
    ({}, 4, 0, (0, 0)),
])
def test_expected_and_desired(spec, pods, scale, want):
    assert expected_and_desired(spec, pods, scale) == want


@pytest.mark.parametrize("spec,want", [
    ({"minAvailable": 1}, False), ({"minAvailable": "1%"}, True),
    ({"maxUnavailable": 1}, True), ({}, False),
])
def test_needs_scale(spec, want):
    assert needs_scale(spec) is want


@pytest.mark.parametrize("current,desired,expected,want", [
    (3, 2, 3, 1), (2, 2, 3, 0), (1, 2, 3, 0), (3, 0, 3, 3), (3, 0, 0, 0),
])
def test_disruptions_allowed(current, desired, expected, want):
    assert disruptions_allowed(current, desired, expected) == want


async def test_expected_scale_sums_each_controller_once():
    scales = {"a": 3, "b": 2}
    asked = []

    async def finder(ref, namespace):
        asked.append(ref["uid"])
        return (ref["uid"], scales[ref["uid"]]) if ref["uid"] in scales else None

    pods = [pod("p1", owner_uid="a"), pod("p2", owner_uid="a"), pod("p3", owner_uid="b"),
            pod("stray")]
    assert await expected_scale(pods, [finder]) == (5, ["stray"])
    assert asked == ["a", "b"]
    with pytest.raises(SyncError, match='found no controllers for pod "p4"'):
        await expected_scale([pod("p4", owner_uid="zzz")], [finder])


def test_disrupted_pods_expire_and_count_as_gone():
    recent = format_time(NOW - timedelta(seconds=30))
    old = format_time(NOW - timedelta(minutes=3))
    pods = [pod("fresh"), pod("expired"), pod("deleting", deleting=True), pod("other")]
    recorded = {"fresh": recent, "expired": old, "deleting": recent, "gone": recent}
    kept, recheck, overdue = live_disruptions(pods, recorded, NOW)
    assert kept == {"fresh": recent}
    assert recheck == NOW - timedelta(seconds=30) + timedelta(minutes=2)
    assert [p["metadata"]["name"] for p in overdue] == ["expired"]
    # fresh is still on its way out; deleting never counts; unready never counts
    pods.append(pod("unready", ready=False))
    assert count_healthy(pods, kept, NOW) == 2  # expired + other


def test_set_condition_moves_transition_time_only_on_status_change():
    first = set_condition(None, {"type": "DisruptionAllowed", "status": "True",
                                 "reason": "SufficientPods"}, "t1")
    same = set_condition(first, {"type": "DisruptionAllowed", "status": "True",
                                 "reason": "SufficientPods", "observedGeneration": 2}, "t2")
    flipped = set_condition(same, {"type": "DisruptionAllowed", "status": "False",
                                   "reason": "InsufficientPods"}, "t3")
    assert first[0]["lastTransitionTime"] == "t1"
    assert same[0]["lastTransitionTime"] == "t1" and same[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "t3" and flipped[0]["reason"] == \
        "InsufficientPods"
    assert first[0].get("observedGeneration") is None  # inputs are never mutated


def test_status_current():
    wanted = {"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3,
              "disruptionsAllowed": 1, "observedGeneration": 1, "disruptedPods": {}}
    status = {k: v for k, v in wanted.items() if k != "disruptedPods"}
    ok = {"status": {**status, "conditions": [{"type": "DisruptionAllowed", "status": "True",
                                               "reason": "SufficientPods"}]}}
    assert status_current(ok, wanted)
    assert not status_current({"status": status}, wanted)  # no condition yet
    assert not status_current(ok, {**wanted, "disruptionsAllowed": 0})
    assert not status_current(ok, {**wanted, "disruptedPods": {"p": "t"}})


def test_stale_disruption_target():
    cond = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
            "lastTransitionTime": format_time(NOW - timedelta(seconds=90))}
    stale, wait = stale_disruption(pod("p", conditions=[cond]), NOW)
    assert stale and wait == timedelta(seconds=30)
    assert stale_disruption(pod("p", conditions=[cond]), NOW + timedelta(minutes=5)) == \
        (True, timedelta(0))
    assert not stale_disruption(pod("p", conditions=[cond], deleting=True), NOW)[0]
    assert not stale_disruption(pod("p", conditions=[cond], phase="Failed"), NOW)[0]
    kubelet = {**cond, "reason": "TerminationByKubelet"}
    assert not stale_disruption(pod("p", conditions=[kubelet]), NOW)[0]
    assert not stale_disruption(pod("p"), NOW)[0]
