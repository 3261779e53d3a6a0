"""Job controller math as tables: backoff records and delays, pod failure policy matching,
Indexed interval lists and index choice, and which pods count as failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.controllers import job_indexed as indexed
from pyk8s.controllers.job_backoff import (
    BackoffRecord,
    backoff_delay,
    next_record,
    remaining_time,
)
from pyk8s.controllers.job_failurepolicy import match
from pyk8s.controllers.job_status import (
    ensure_condition,
    is_failed_pod,
    past_backoff_limit_on_failure,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(phase="Failed", exit_code=1, finished=0, container="main", conditions=(), index=None,
        deleting=False, restarts=0, name="p"):
    meta = {"name": name, "namespace": "ns", "annotations": {}}
    if index is not None:
        meta["annotations"][indexed.COMPLETION_INDEX] = str(index)
    if deleting:
        meta["deletionTimestamp"] = stamp(finished)
    state = {"terminated": {"exitCode": exit_code, "finishedAt": stamp(finished)}} \
        if phase in ("Failed", "Succeeded") else {"running": {}}
    return {"metadata": meta, "status": {
        "phase": phase, "conditions": list(conditions),
        "containerStatuses": [{"name": container, "state": state, "restartCount": restarts}]}}


@pytest.mark.parametrize("failures,expected", [(0, 0), (1, 10), (2, 20), (3, 40), (6, 320),
                                               (7, 360), (50, 360)])
def test_backoff_delay_doubles_to_six_minutes(failures, expected):
    assert backoff_delay(failures) == expected


def test_backoff_record_and_remaining_time():
    rec = next_record(BackoffRecord(), [], [pod(finished=0), pod(finished=5)])
    assert rec.failures_after_last_success == 2 and rec.last_failure_time == T0 + timedelta(seconds=5)
    assert remaining_time(rec, T0 + timedelta(seconds=10)) == 15  # 20 s after the last failure
    assert remaining_time(rec, T0 + timedelta(seconds=60)) == 0
    # a success resets, but failures after it still count
    rec = next_record(rec, [pod("Succeeded", 0, finished=10)], [pod(finished=8), pod(finished=12)])
    assert rec.failures_after_last_success == 1
    assert next_record(rec, [pod("Succeeded", 0, finished=20)], []) == BackoffRecord()
    assert next_record(rec, [], []) == rec


POLICY = {"rules": [
    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                          "values": [42]}},
    {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1, 2]}},
    {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [2]}},
]}


@pytest.mark.parametrize("case,action,counted", [
    (pod(conditions=[{"type": "DisruptionTarget", "status": "True"}]), "Ignore", False),
    (pod(exit_code=42), "FailJob", True),
    (pod(exit_code=42, container="side"), "Count", True),  # rule names another container
    (pod(exit_code=7), "Count", True),
    (pod(exit_code=2), "FailIndex", True),
    (pod(exit_code=1), None, True),
    (pod(conditions=[{"type": "DisruptionTarget", "status": "False"}], exit_code=1), None, True),
])
def test_pod_failure_policy(case, action, counted):
    got = match(POLICY, case)
    assert (got.action, got.count_failed) == (action, counted)


def test_fail_job_message():
    got = match(POLICY, pod(exit_code=42, name="p1"))
    assert got.message == ("Container main for pod ns/p1 failed with exit code 42 matching "
                           "FailJob rule at index 1")
    assert match(None, pod()).action is None


@pytest.mark.parametrize("text,completions,expected", [
    ("", 5, set()), ("0-2,4", 5, {0, 1, 2, 4}), ("1,3-5,9", 5, {1, 3, 4}), ("x,2", 5, {2}),
])
def test_parse_indexes(text, completions, expected):
    assert indexed.parse_indexes(text, completions) == expected


@pytest.mark.parametrize("indexes,expected", [
    (set(), ""), ({0}, "0"), ({0, 1, 2, 4}, "0-2,4"), ({1, 3, 4, 5, 7}, "1,3-5,7"),
])
def test_format_indexes(indexes, expected):
    assert indexed.format_indexes(indexes) == expected


def test_indexes_to_create_and_remove():
    active = [pod("Running", index=1, name="a"), pod("Running", index=1, name="b"),
              pod("Running", index=9, name="c"), pod("Running", index=3, name="d")]
    assert indexed.indexes_to_create(5, {0}, active, 2) == [2, 4]
    removed = indexed.pods_to_remove(active, 5, {3})
    assert sorted(p["metadata"]["name"] for p in removed) == ["b", "c", "d"]


def test_apply_index():
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}
    got = indexed.apply_index(template, "job", 3, 1)
    assert got["metadata"]["labels"][indexed.COMPLETION_INDEX] == "3"
    assert got["metadata"]["annotations"][indexed.INDEX_FAILURE_COUNT] == "1"
    assert got["spec"]["hostname"] == "job-3"
    assert got["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"
    assert "annotations" not in template["metadata"]  # the template is not touched


@pytest.mark.parametrize("case,spec,expected", [
    (pod("Failed"), {}, True),
    (pod("Running", deleting=True), {}, True),
    (pod("Running", deleting=True), {"podReplacementPolicy": "Failed"}, False),
    (pod("Succeeded", 0, deleting=True), {}, False),
    (pod("Running"), {}, False),
])
def test_is_failed_pod(case, spec, expected):
    assert is_failed_pod(case, spec) is expected


def test_restarts_exceed_backoff_limit_on_failure():
    spec = {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "OnFailure"}}}
    assert past_backoff_limit_on_failure(spec, [pod("Running", restarts=2)])
    assert not past_backoff_limit_on_failure(spec, [pod("Running", restarts=1)])
    spec["template"]["spec"]["restartPolicy"] = "Never"
    assert not past_backoff_limit_on_failure(spec, [pod("Running", restarts=5)])


def test_ensure_condition_transitions():
    conds: list[dict] = []
    assert ensure_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended", T0)
    assert not ensure_condition(conds, "Suspended", "True", "JobSuspended", "x",
                                T0 + timedelta(seconds=5))
    assert conds[0]["lastTransitionTime"] == stamp(0) and conds[0]["message"] == "x"
    assert ensure_condition(conds, "Suspended", "False", "JobResumed", "Job resumed",
                            T0 + timedelta(seconds=9))
    assert conds[0]["lastTransitionTime"] == stamp(9)
    assert not ensure_condition([], "Suspended", "False", "r", "m", T0)
