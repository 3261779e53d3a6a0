"""DefaultPreemption: victim selection with reprieves and PDBs, and node choice by
upstream's criteria."""

from __future__ import annotations

import pytest
from helpers import make_node, make_pod

from pyk8s.scheduler.framework.config import parse
from pyk8s.scheduler.framework.interface import CycleState
from pyk8s.scheduler.framework.types import PodInfo
from pyk8s.scheduler.plugins import implemented_points
from pyk8s.scheduler.plugins.defaultpreemption import (
    Candidate,
    pick_one,
    split_by_pdb,
)
from pyk8s.scheduler.scheduler import Scheduler


class NoClient:
    def api(self, *args):
        return None


def setup(nodes, pods, pdbs=()):
    sched = Scheduler(NoClient(), parse(None, implemented_points()), pdbs=lambda: list(pdbs))
    for node in nodes:
        sched.on_node_add(node)
    for pod in pods:
        sched.on_pod_add(pod)
    sched.cache.update_snapshot(sched.snapshot)
    fwk = sched.profiles["default-scheduler"]
    return fwk, fwk.plugins["DefaultPreemption"]


def candidates_for(pod, nodes, pods, pdbs=()):
    fwk, plugin = setup(nodes, pods, pdbs)
    state = CycleState()
    fwk.run_pre_filter(state, pod, fwk.handle.snapshot.node_infos)
    statuses = {n.name: fwk.run_filter(state, pod, n) for n in fwk.handle.snapshot.node_infos}
    return plugin.find_candidates(state, pod, {k: v for k, v in statuses.items() if v})


def test_victims_are_only_what_is_needed():
    pods = [make_pod("low-a", cpu="1", priority=1, node="n"),
            make_pod("low-b", cpu="2", priority=2, node="n"),
            make_pod("mid", cpu="1", priority=5, node="n")]
    candidates, _ = candidates_for(make_pod("hi", cpu="2", priority=10),
                                   [make_node("n", cpu="4")], pods)
    [c] = candidates
    assert [v.pod["metadata"]["name"] for v in c.victims] == ["low-b"]


def test_no_lower_priority_pods_means_no_victims():
    pods = [make_pod("big", cpu="4", priority=100, node="n")]
    candidates, statuses = candidates_for(make_pod("hi", cpu="2", priority=10),
                                          [make_node("n", cpu="4")], pods)
    assert candidates == []
    assert statuses["n"].reasons == ("No preemption victims found for incoming pod",)


def test_unresolvable_nodes_are_not_helpful():
    candidates, statuses = candidates_for(make_pod("hi", cpu="8", priority=10),
                                          [make_node("n", cpu="4")], [])
    assert candidates == []
    assert statuses["n"].reasons == ("Preemption is not helpful for scheduling",)


def pdb(selector, allowed):
    return {"metadata": {"name": "pdb", "namespace": "default"},
            "spec": {"selector": {"matchLabels": selector}},
            "status": {"disruptionsAllowed": allowed}}


def test_split_by_pdb():
    pods = [PodInfo(make_pod(f"p{i}", labels={"app": "x"})) for i in range(3)]
    violating, fine = split_by_pdb(pods, [pdb({"app": "x"}, 1)])
    assert [p.pod["metadata"]["name"] for p in fine] == ["p0"]
    assert len(violating) == 2
    violating, fine = split_by_pdb(pods, [pdb({"app": "y"}, 0)])
    assert violating == [] and len(fine) == 3


def victim(prio, start="2024-01-01T00:00:00Z"):
    pod = make_pod(f"v{prio}-{start}", priority=prio)
    pod["status"] = {"startTime": start}
    return PodInfo(pod)


@pytest.mark.parametrize("cands,want", [
    ([Candidate("a", [victim(1)], 1), Candidate("b", [victim(5)], 0)], "b"),
    ([Candidate("a", [victim(5)], 0), Candidate("b", [victim(3), victim(3)], 0)], "b"),
    ([Candidate("a", [victim(3), victim(2)], 0), Candidate("b", [victim(3), victim(1)], 0)],
     "b"),
    ([Candidate("a", [victim(3), victim(-5)], 0), Candidate("b", [victim(3)], 0)], "b"),
    ([Candidate("a", [victim(3, "2024-01-01T00:00:00Z")], 0),
      Candidate("b", [victim(3, "2024-06-01T00:00:00Z")], 0)], "b"),
])
def test_pick_one_node(cands, want):
    assert pick_one(cands).node == want
