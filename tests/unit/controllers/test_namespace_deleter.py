"""The namespace controller's pure parts, as tables: the five deletion conditions and their
wording, what a list after deletion means (wait, finalizers, unexpected leftovers), the pod
grace-period estimate, and reading aggregated discovery."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.client.discovery import Resource
from pyk8s.controllers.namespace import (
    FINALIZER_ESTIMATE,
    Outcome,
    leftovers,
    pod_grace_estimate,
)
from pyk8s.controllers.util import nsconditions
from pyk8s.controllers.util.discovery import parse, supporting

PODS = Resource("", "v1", "pods", "Pod", True, frozenset({"list", "delete"}))


def by_type(status: dict) -> dict:
    return {c["type"]: c for c in status["conditions"]}


def test_all_clear_report_sets_every_condition_false_once():
    status = nsconditions.apply({"phase": "Terminating"}, nsconditions.ConditionReport(),
                                when="T0")
    got = by_type(status)
    assert list(got) == list(nsconditions.ORDER)
    assert {c["status"] for c in got.values()} == {"False"}
    assert got["NamespaceContentRemaining"]["reason"] == "ContentRemoved"
    assert got["NamespaceFinalizersRemaining"]["message"] == (
        "All content-preserving finalizers finished")
    assert nsconditions.apply(status, nsconditions.ConditionReport(), when="T1") is None


def test_failures_are_worded_as_upstream_and_transition_times_move_on_flips():
    report = nsconditions.ConditionReport(
        discovery_failed_groups=["example.com/v1"],
        delete_errors=["b failed", "a failed"],
        remaining={("", "pods"): 2, ("apps", "deployments"): 1},
        finalizers=Counter({"example.com/hold": 1}))
    before = nsconditions.apply({}, nsconditions.ConditionReport(), when="T0")
    got = by_type(nsconditions.apply(before, report, when="T1"))
    assert got["NamespaceDeletionDiscoveryFailure"]["message"] == (
        "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of "
        "server APIs: example.com/v1: stale GroupVersion discovery: example.com/v1")
    assert got["NamespaceDeletionContentFailure"]["message"] == (
        "Failed to delete all resource types, 2 remaining: a failed, b failed")
    assert got["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: deployments.apps has 1 resource instances, "
        "pods. has 2 resource instances")
    assert got["NamespaceFinalizersRemaining"]["reason"] == "SomeFinalizersRemain"
    assert got["NamespaceDeletionGroupVersionParsingFailure"]["lastTransitionTime"] == "T0"
    assert got["NamespaceContentRemaining"]["lastTransitionTime"] == "T1"


@pytest.mark.parametrize("items, estimate, expected", [
    (None, 7, Outcome(estimate=7)),
    ([], 7, Outcome()),
    ([{"metadata": {"name": "p"}}], 30, Outcome(30, 1, Counter())),
    ([{"metadata": {"finalizers": ["f", "g"]}}, {"metadata": {"finalizers": ["f"]}}], 0,
     Outcome(FINALIZER_ESTIMATE, 2, Counter({"f": 2, "g": 1}))),
])
def test_leftovers(items, estimate, expected):
    assert leftovers(items, estimate, PODS, "ns") == expected


def test_leftovers_without_finalizers_or_wait_are_an_error():
    got = leftovers([{"metadata": {"name": "x"}}], 0, PODS, "ns")
    assert got.remaining == 1 and got.error == (
        "unexpected items still remain in namespace: ns for gvr: { v1 pods}")


def pod(grace: int | None, phase: str = "Running") -> dict:
    spec = {} if grace is None else {"terminationGracePeriodSeconds": grace}
    return {"spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize("pods, elapsed, expected", [
    ([pod(30), pod(10), pod(None)], 5, 30),
    ([pod(30)], 30, 0),
    ([pod(60, "Succeeded"), pod(5, "Failed")], 0, 0),
])
def test_pod_grace_estimate(pods, elapsed, expected):
    deleted = datetime(2024, 1, 1, tzinfo=UTC)
    assert pod_grace_estimate(pods, deleted, deleted + timedelta(seconds=elapsed)) == expected


def test_discovery_keeps_preferred_versions_maps_all_kinds_and_reports_stale_groups():
    def res(plural, kind, scope="Namespaced", verbs=("list", "delete")):
        return {"resource": plural, "responseKind": {"kind": kind}, "scope": scope,
                "verbs": list(verbs)}
    core = {"items": [{"metadata": {}, "versions": [
        {"version": "v1", "resources": [res("pods", "Pod"), res("nodes", "Node", "Cluster")]}]}]}
    apis = {"items": [
        {"metadata": {"name": "example.com"}, "versions": [
            {"version": "v2", "resources": [res("widgets", "Widget", verbs=("get",))]},
            {"version": "v1", "resources": [res("widgets", "Widget")]}]},
        {"metadata": {"name": "broken.io"}, "versions": [
            {"version": "v1", "freshness": "Stale", "resources": [res("things", "Thing")]}]}]}
    served = parse([core, apis])
    assert [(r.api_version, r.plural) for r in served.preferred] == [
        ("v1", "pods"), ("v1", "nodes"), ("example.com/v2", "widgets")]
    assert served.lookup("example.com/v1", "Widget").version == "v1"
    assert served.lookup("broken.io/v1", "Thing") is None
    assert served.failed == ["broken.io/v1"]
    assert [r.plural for r in supporting(served.preferred, "list", "delete")] == [
        "pods", "nodes"]
