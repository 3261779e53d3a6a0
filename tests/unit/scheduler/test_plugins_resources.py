"""NodeResourcesFit and BalancedAllocation tables (upstream's fit_test.go shapes)."""

from __future__ import annotations

import pytest
from helpers import make_node, make_pod, node_info

from pyk8s.scheduler.framework.interface import Code, CycleState
from pyk8s.scheduler.framework.types import PodInfo, pod_requests
from pyk8s.scheduler.plugins import balancedallocation, noderesources_fit


def container(cpu=None, memory=None, **extra):
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"name": "c", "image": "i", "resources": {"requests": {**req, **extra}}}


@pytest.mark.parametrize("spec,want", [
    ({"containers": [container("1", "1Gi"), container("500m")]},
     {"cpu": 1500, "memory": 2**30}),
    ({"containers": [container("1")], "initContainers": [container("3")]}, {"cpu": 3000}),
    ({"containers": [container("2")], "initContainers": [container("1"), container("1500m")]},
     {"cpu": 2000}),
    ({"containers": [container("1")], "overhead": {"cpu": "250m"}}, {"cpu": 1250}),
    # A sidecar (restartable init container) adds to the app containers' sum.
    ({"containers": [container("1")],
      "initContainers": [{**container("500m"), "restartPolicy": "Always"}, container("2")]},
     {"cpu": 2500}),
    ({"containers": [container(**{"example.com/gpu": "2"})]}, {"example.com/gpu": 2}),
])
def test_pod_requests(spec, want):
    assert pod_requests({"metadata": {"name": "p"}, "spec": spec}) == want


def fit_status(pod, node):
    plugin = noderesources_fit.Fit({})
    state = CycleState()
    plugin.pre_filter(state, pod, [node])
    return plugin.filter(state, pod, node)


@pytest.mark.parametrize("pod,existing,code,reasons", [
    (make_pod(cpu="1", memory="1Gi"), [], None, ()),
    (make_pod(cpu="3"), [make_pod("e", cpu="2", node="n")], Code.UNSCHEDULABLE,
     ("Insufficient cpu",)),
    (make_pod(cpu="3", memory="7Gi"), [make_pod("e", cpu="2", memory="2Gi", node="n")],
     Code.UNSCHEDULABLE, ("Insufficient cpu", "Insufficient memory")),
    (make_pod(cpu="5"), [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("Insufficient cpu",)),
    (make_pod(), [make_pod("e1", node="n"), make_pod("e2", node="n")], Code.UNSCHEDULABLE,
     ("Too many pods",)),
    (make_pod(overhead={"cpu": "3"}, cpu="1500m"), [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
     ("Insufficient cpu",)),
])
def test_fit_filter(pod, existing, code, reasons):
    pods = "2" if len(existing) == 2 else "110"
    node = node_info(make_node("n", cpu="4", memory="8Gi", pods=pods), *existing)
    status = fit_status(pod, node)
    assert (status.code if status else None) == code
    assert (status.reasons if status else ()) == reasons


def test_fit_extended_resource():
    node = make_node("n")
    node["status"]["allocatable"]["example.com/gpu"] = "1"
    pod = make_pod()
    pod["spec"]["containers"][0]["resources"] = {"requests": {"example.com/gpu": "2"}}
    status = fit_status(pod, node_info(node))
    assert status.reasons == ("Insufficient example.com/gpu",)
    status = fit_status(pod, node_info(make_node("m")))
    assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


@pytest.mark.parametrize("strategy,want", [
    # upstream least_allocated_test "nothing scheduled, resources requested, differently
    # sized nodes": cpu 3000/4000 mem 5000/10000 vs cpu 3000/6000 mem 5000/10000.
    ("LeastAllocated", {"a": 37, "b": 50}),
    ("MostAllocated", {"a": 62, "b": 50}),
])
def test_fit_scores(strategy, want):
    plugin = noderesources_fit.Fit({"scoringStrategy": {"type": strategy}})
    pod = make_pod()
    pod["spec"]["containers"] = [
        {"name": "a", "resources": {"requests": {"cpu": "1000m", "memory": "2000"}}},
        {"name": "b", "resources": {"requests": {"cpu": "2000m", "memory": "3000"}}}]
    nodes = [node_info(make_node("a", cpu="4", memory="10000")),
             node_info(make_node("b", cpu="6", memory="10000"))]
    state = CycleState()
    plugin.pre_filter(state, pod, nodes)
    assert {n.name: plugin.score(state, pod, n)[0] for n in nodes} == want


def test_least_allocated_counts_non_zero_defaults():
    info = PodInfo(make_pod())
    assert info.non_zero_requests == {"cpu": 100, "memory": 200 * 1024 * 1024}
    assert info.requests == {}


@pytest.mark.parametrize("node_cpu,node_mem,want", [
    # upstream balanced_allocation_test: cpu 3000/4000, mem 5000/10000 -> 87;
    # cpu 3000/6000, mem 5000/10000 -> 100.
    ("4", "10000", 87), ("6", "10000", 100)])
def test_balanced_allocation(node_cpu, node_mem, want):
    plugin = balancedallocation.BalancedAllocation({})
    pod = make_pod()
    pod["spec"]["containers"] = [
        {"name": "a", "resources": {"requests": {"cpu": "1000m", "memory": "2000"}}},
        {"name": "b", "resources": {"requests": {"cpu": "2000m", "memory": "3000"}}}]
    node = node_info(make_node("n", cpu=node_cpu, memory=node_mem))
    state = CycleState()
    assert plugin.pre_score(state, pod, [node]) is None
    assert plugin.score(state, pod, node)[0] == want


def test_balanced_allocation_skips_best_effort_pods():
    state = CycleState()
    assert balancedallocation.BalancedAllocation({}).pre_score(
        state, make_pod(), []).code == Code.SKIP
