"""numFeasibleNodesToFind, host selection, the FitError message, the cache's assume /
forget / expire life cycle, configuration and a whole scheduling cycle on a snapshot."""

from __future__ import annotations

import pytest
from helpers import make_node, make_pod

from pyk8s.scheduler.cache import Cache, Snapshot
from pyk8s.scheduler.framework.config import ConfigError, parse
from pyk8s.scheduler.framework.fiterror import fit_error_message
from pyk8s.scheduler.framework.interface import CycleState, unresolvable, unschedulable
from pyk8s.scheduler.plugins import implemented_points
from pyk8s.scheduler.scheduler import Scheduler, num_feasible_nodes_to_find, select_host


@pytest.mark.parametrize("percentage,nodes,want", [
    (0, 10, 10), (0, 99, 99), (0, 100, 100), (0, 1000, 420), (0, 5000, 500),
    (0, 6000, 300), (0, 10000, 500), (0, 200, 100), (30, 1000, 300), (1, 1000, 100),
    (100, 5000, 5000)])
def test_num_feasible_nodes_to_find(percentage, nodes, want):
    assert num_feasible_nodes_to_find(percentage, nodes) == want


def test_select_host_breaks_ties_randomly():
    seen = {select_host({"a": 5, "b": 7, "c": 7}) for _ in range(200)}
    assert seen == {"b", "c"}


def test_fit_error_message():
    taint = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    statuses = {"cp": unresolvable(taint), "n1": unschedulable("Insufficient cpu"),
                "n2": unschedulable("Insufficient cpu")}
    assert fit_error_message(3, statuses, post_filter_msg="preemption: x") == (
        f"0/3 nodes are available: 1 {taint}, 2 Insufficient cpu. preemption: x")


def test_cache_assume_confirm_forget_expire():
    now = [0.0]
    cache = Cache(ttl=30, clock=lambda: now[0])
    cache.add_node(make_node("n", cpu="4"))
    pod = make_pod("p", cpu="1", node="n")
    cache.assume_pod(pod)
    assert cache.nodes["n"].requested["cpu"] == 1000 and cache.is_assumed("default/p")
    cache.forget_pod(pod)
    assert cache.nodes["n"].requested["cpu"] == 0
    cache.assume_pod(pod)
    cache.finish_binding(pod)
    now[0] = 31
    assert cache.cleanup_expired() == ["default/p"]
    assert cache.nodes["n"].requested["cpu"] == 0
    cache.assume_pod(pod)
    cache.add_pod(pod)  # the informer confirms it
    assert not cache.is_assumed("default/p")
    cache.finish_binding(pod)
    now[0] = 100
    assert cache.cleanup_expired() == [] and cache.nodes["n"].requested["cpu"] == 1000


def test_snapshot_refreshes_changed_nodes_only():
    cache, snap = Cache(), Snapshot()
    cache.add_node(make_node("a"))
    cache.add_node(make_node("b"))
    cache.update_snapshot(snap)
    a, b = snap.get("a"), snap.get("b")
    cache.add_pod(make_pod("p", cpu="1", node="b"))
    cache.update_snapshot(snap)
    assert snap.get("a") is a and snap.get("b") is not b
    assert snap.get("b").requested["cpu"] == 1000 and b.requested.get("cpu", 0) == 0
    cache.remove_node(make_node("a"))
    cache.update_snapshot(snap)
    assert [n.name for n in snap.node_infos] == ["b"]


def test_config_profiles_and_weights():
    raw = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
           "percentageOfNodesToScore": 30,
           "profiles": [
               {"schedulerName": "default-scheduler"},
               {"schedulerName": "packer",
                "plugins": {"score": {"disabled": [{"name": "ImageLocality"}],
                                      "enabled": [{"name": "NodeResourcesFit", "weight": 5}]}},
                "pluginConfig": [{"name": "NodeResourcesFit", "args": {
                    "scoringStrategy": {"type": "MostAllocated"}}}]}]}
    config = parse(raw, implemented_points())
    assert config.percentage_of_nodes_to_score == 30
    packer = config.profiles[1]
    score = dict(packer.plugins["score"])
    assert score["NodeResourcesFit"] == 5 and "ImageLocality" not in score
    assert dict(config.profiles[0].plugins["score"])["TaintToleration"] == 3
    assert packer.plugin_args["NodeResourcesFit"]["scoringStrategy"]["type"] == "MostAllocated"


@pytest.mark.parametrize("raw", [
    {"kind": "Other"}, {"percentageOfNodesToScore": 101},
    {"profiles": [{"schedulerName": "x"}, {"schedulerName": "x"}]}])
def test_config_errors(raw):
    with pytest.raises(ConfigError):
        parse(raw, implemented_points())


class NoClient:
    """These tests never bind; the binder only needs api() at construction."""

    def api(self, *args):
        return None


def scheduler_with(*nodes, pods=()):
    sched = Scheduler(NoClient(), parse(None, implemented_points()))
    for node in nodes:
        sched.on_node_add(node)
    for pod in pods:
        sched.on_pod_add(pod)
    sched.cache.update_snapshot(sched.snapshot)
    return sched


def test_schedule_pod_picks_fitting_node_and_reports_misfits():
    sched = scheduler_with(make_node("small", cpu="1"), make_node("big", cpu="8"),
                           make_node("cp", taints=[{"key": "node-role.kubernetes.io/"
                                                    "control-plane", "effect": "NoSchedule"}]))
    fwk = sched.profiles["default-scheduler"]
    node, status, _ = sched.schedule_pod(fwk, CycleState(), make_pod("p", cpu="2"))
    assert node == "big" and status is None
    node, status, statuses = sched.schedule_pod(fwk, CycleState(), make_pod("p", cpu="16"))
    assert node == "" and sorted(s.reasons[0] for s in statuses.values()) == [
        "Insufficient cpu", "Insufficient cpu",
        "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"]


def test_find_feasible_rotates_start_index():
    nodes = [make_node(f"n{i:03d}") for i in range(200)]
    sched = scheduler_with(*nodes)
    fwk = sched.profiles["default-scheduler"]
    pod, infos = make_pod(), sched.snapshot.node_infos
    state = CycleState()
    fwk.run_pre_filter(state, pod, infos)
    feasible, _, _ = sched.find_feasible(fwk, state, pod, infos)
    assert len(feasible) == 100 and sched.next_start_index == 100
    feasible, _, _ = sched.find_feasible(fwk, state, pod, infos)
    assert feasible[0] is infos[100] and sched.next_start_index == 0
