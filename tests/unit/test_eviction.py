"""The eviction API's decisions, as tables: which pods skip budgets, which budgets apply,
when an unready pod spends nothing, and how a budget is spent or refuses."""

from __future__ import annotations

import pytest

from pyk8s.apiserver import errors
from pyk8s.apiserver.eviction import (
    BUDGET_MESSAGE,
    _disruption_target,
    _dry_run,
    can_ignore_budgets,
    matching_budgets,
    spends_budget,
    take_disruption,
)


def pod(*, phase="Running", ready=True, deleting=False, labels=None, ns="ns"):
    meta = {"name": "p", "namespace": ns, "uid": "u1", "resourceVersion": "5",
            "labels": labels or {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(name="b", *, allowed=1, current=3, desired=2, generation=1, observed=1,
        selector=None, policy=None, ns="ns", disrupted=None):
    spec = {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    status = {"disruptionsAllowed": allowed, "currentHealthy": current,
              "desiredHealthy": desired, "expectedPods": 3, "observedGeneration": observed}
    if disrupted:
        status["disruptedPods"] = disrupted
    return {"metadata": {"name": name, "namespace": ns, "generation": generation},
            "spec": spec, "status": status}


@pytest.mark.parametrize("kw,want", [
    ({}, False), ({"phase": "Pending"}, True), ({"phase": "Succeeded"}, True),
    ({"phase": "Failed"}, True), ({"deleting": True}, True), ({"phase": "Unknown"}, False),
    ({"ready": False}, False),
])
def test_can_ignore_budgets(kw, want):
    assert can_ignore_budgets(pod(**kw)) is want


def test_matching_budgets():
    budgets = [pdb("match"), pdb("all", selector={}), pdb("other-ns", ns="elsewhere"),
               pdb("other-labels", selector={"matchLabels": {"app": "db"}}),
               pdb("expr", selector={"matchExpressions": [
                   {"key": "app", "operator": "In", "values": ["web", "api"]}]})]
    nil = pdb("nil")
    nil["spec"]["selector"] = None
    budgets.append(nil)
    assert [b["metadata"]["name"] for b in matching_budgets(pod(), budgets)] == \
        ["match", "all", "expr"]


@pytest.mark.parametrize("ready,policy,current,desired,want", [
    (True, None, 3, 2, True),                 # healthy pods always spend
    (True, "AlwaysAllow", 3, 2, True),
    (False, "AlwaysAllow", 0, 2, False),      # unhealthy: always free
    (False, None, 2, 2, False),               # IfHealthyBudget: app is whole, free
    (False, "IfHealthyBudget", 3, 2, False),
    (False, None, 1, 2, True),                # app disrupted: must spend
    (False, None, 0, 0, True),                # nothing desired: spend (upstream)
])
def test_spends_budget(ready, policy, current, desired, want):
    assert spends_budget(pod(ready=ready), pdb(policy=policy, current=current,
                                               desired=desired)) is want


def test_take_disruption_decrements_and_records():
    budget = take_disruption(pdb(allowed=2), "p", "2024-01-01T00:00:00Z")
    assert budget["status"]["disruptionsAllowed"] == 1
    assert budget["status"]["disruptedPods"] == {"p": "2024-01-01T00:00:00Z"}
    assert "conditions" not in budget["status"]
    last = take_disruption(budget, "q", "2024-01-01T00:00:01Z")
    assert last["status"]["disruptionsAllowed"] == 0
    assert set(last["status"]["disruptedPods"]) == {"p", "q"}
    cond = last["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == \
        ("DisruptionAllowed", "False", "InsufficientPods")


@pytest.mark.parametrize("kw,code,cause", [
    ({"allowed": 0, "current": 2, "desired": 2}, 429,
     "The disruption budget b needs 2 healthy pods and has 2 currently"),
    ({"generation": 2, "observed": 1}, 429,
     "The disruption budget b is still being processed by the server."),
    ({"allowed": -1}, 403, None),
    ({"disrupted": {f"p{i}": "t" for i in range(2001)}}, 403, None),
])
def test_take_disruption_refuses(kw, code, cause):
    with pytest.raises(errors.APIError) as refused:
        take_disruption(pdb(**kw), "p", "t")
    err = refused.value
    assert err.code == code
    if code == 429:
        body = err.status()
        assert body["reason"] == "TooManyRequests" and body["message"] == BUDGET_MESSAGE
        assert body["details"]["causes"] == [{"reason": "DisruptionBudget", "message": cause}]


@pytest.mark.parametrize("query,body,want", [
    (False, {}, False), (True, {}, True), (False, {"dryRun": ["All"]}, True),
    (True, {"dryRun": ["All"]}, True),
])
def test_dry_run(query, body, want):
    assert _dry_run(query, body) is want


def test_dry_run_rejects_unknown_values():
    with pytest.raises(errors.APIError):
        _dry_run(False, {"dryRun": ["Some"]})


def test_disruption_target_condition_and_preconditions():
    marked = _disruption_target({}, "t")(pod())
    cond = marked["status"]["conditions"][-1]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == \
        ("DisruptionTarget", "True", "EvictionByEvictionAPI", "Eviction API: evicting")
    again = _disruption_target({}, "later")(marked)
    assert [c["lastTransitionTime"] for c in again["status"]["conditions"]
            if c["type"] == "DisruptionTarget"] == ["t"]
    for pre in ({"uid": "other"}, {"resourceVersion": "4"}):
        with pytest.raises(errors.APIError) as conflict:
            _disruption_target({"preconditions": pre}, "t")(pod())
        assert conflict.value.code == 409
