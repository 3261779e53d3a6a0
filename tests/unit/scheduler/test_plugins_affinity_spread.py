"""PodTopologySpread and InterPodAffinity tables (upstream's filtering/scoring tests)."""

from __future__ import annotations

import pytest
from helpers import FakeHandle, make_node, make_pod, node_info, snapshot

from pyk8s.scheduler.framework.interface import Code, CycleState
from pyk8s.scheduler.framework.types import PodInfo
from pyk8s.scheduler.plugins import interpodaffinity, podtopologyspread

ZONE = "zone"


def cluster(spec: dict[str, tuple[str, list[dict]]]):
    """{node: (zone, [pods])} -> NodeInfos."""
    return [node_info(make_node(n, labels={ZONE: z}), *[{**p, "spec": {**p["spec"],
                                                                          "nodeName": n}}
                                                        for p in pods])
            for n, (z, pods) in spec.items()]


def foo(name):
    return make_pod(name, labels={"foo": ""})


def spread(key, skew=1, when="DoNotSchedule", **extra):
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]},
            **extra}


def run_filters(plugin, pod, nodes):
    state = CycleState()
    status = plugin.pre_filter(state, pod, nodes)
    if status is not None and status.code == Code.SKIP:
        return {n.name: None for n in nodes}
    return {n.name: plugin.filter(state, pod, n) for n in nodes}


@pytest.mark.parametrize("constraints,layout,fits", [
    # upstream "pods spread across zones as 3/3, all nodes fit"
    ([spread(ZONE)], {"a": ("z1", [foo("p1")]), "b": ("z1", [foo("p2")]),
                      "x": ("z2", [foo("p3")]), "y": ("z2", [foo("p4")])},
     {"a", "b", "x", "y"}),
    # zones 2/0: only the empty zone fits.
    ([spread(ZONE)], {"a": ("z1", [foo("p1"), foo("p2")]), "x": ("z2", [])}, {"x"}),
    # maxSkew 2 tolerates 2/0.
    ([spread(ZONE, 2)], {"a": ("z1", [foo("p1")]), "x": ("z2", [])}, {"a", "x"}),
    # per-hostname spread: the node without a matching pod wins.
    ([spread("kubernetes.io/hostname")], {"a": ("z1", [foo("p1")]), "b": ("z1", [])}, {"b"}),
    # minDomains 3 with 2 domains: global minimum is 0.
    ([spread(ZONE, minDomains=3)], {"a": ("z1", [foo("p1")]), "x": ("z2", [foo("p2")])},
     set()),
    # non-matching pods do not count.
    ([spread(ZONE)], {"a": ("z1", [make_pod("o1"), make_pod("o2")]), "x": ("z2", [])},
     {"a", "x"}),
])
def test_topology_spread_filter(constraints, layout, fits):
    nodes = cluster(layout)
    plugin = podtopologyspread.PodTopologySpread(FakeHandle(snapshot(*nodes)))
    pod = make_pod("new", labels={"foo": ""}, topologySpreadConstraints=constraints)
    result = run_filters(plugin, pod, nodes)
    assert {n for n, s in result.items() if s is None} == fits


def test_topology_spread_missing_label_is_unresolvable():
    nodes = [node_info(make_node("bare"))]
    plugin = podtopologyspread.PodTopologySpread(FakeHandle(snapshot(*nodes)))
    pod = make_pod("new", labels={"foo": ""}, topologySpreadConstraints=[spread(ZONE)])
    status = run_filters(plugin, pod, nodes)["bare"]
    assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_topology_spread_score_prefers_emptier_domain():
    nodes = cluster({"a": ("z1", [foo("p1"), foo("p2")]), "b": ("z1", []),
                     "x": ("z2", [])})
    plugin = podtopologyspread.PodTopologySpread(FakeHandle(snapshot(*nodes)))
    pod = make_pod("new", labels={"foo": ""},
                   topologySpreadConstraints=[spread(ZONE, when="ScheduleAnyway")])
    state = CycleState()
    assert plugin.pre_score(state, pod, nodes) is None
    scores = {n.name: plugin.score(state, pod, n)[0] for n in nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores["x"] == 100 and scores["a"] == scores["b"] < 100


def anti(selector, key=ZONE):
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": selector}, "topologyKey": key}]}}


def affinity(selector, key=ZONE):
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": selector}, "topologyKey": key}]}}


@pytest.mark.parametrize("pod,layout,fits", [
    # affinity: go where a matching pod is (same zone counts).
    (make_pod("n", affinity=affinity({"app": "db"})),
     {"a": ("z1", [make_pod("db", labels={"app": "db"})]), "b": ("z1", []), "x": ("z2", [])},
     {"a", "b"}),
    # affinity with no matching pod anywhere, pod matches itself: first of its group.
    (make_pod("n", labels={"app": "db"}, affinity=affinity({"app": "db"})),
     {"a": ("z1", []), "x": ("z2", [])}, {"a", "x"}),
    # affinity with no matching pod anywhere, pod does not match itself.
    (make_pod("n", affinity=affinity({"app": "db"})), {"a": ("z1", [])}, set()),
    # anti-affinity: not in a zone with a matching pod.
    (make_pod("n", affinity=anti({"app": "db"})),
     {"a": ("z1", [make_pod("db", labels={"app": "db"})]), "b": ("z1", []), "x": ("z2", [])},
     {"x"}),
    # existing pod's anti-affinity keeps the incoming pod out of its zone.
    (make_pod("n", labels={"app": "web"}),
     {"a": ("z1", [make_pod("e", affinity=anti({"app": "web"}))]), "x": ("z2", [])},
     {"x"}),
    # other namespaces do not match a term without namespaces.
    (make_pod("n", affinity=anti({"app": "db"})),
     {"a": ("z1", [make_pod("db", ns="other", labels={"app": "db"})])}, {"a"}),
])
def test_inter_pod_affinity_filter(pod, layout, fits):
    nodes = cluster(layout)
    plugin = interpodaffinity.InterPodAffinity({}, FakeHandle(snapshot(*nodes)))
    result = run_filters(plugin, pod, nodes)
    assert {n for n, s in result.items() if s is None} == fits


def test_inter_pod_affinity_reasons():
    nodes = cluster({"a": ("z1", [make_pod("db", labels={"app": "db"})])})
    plugin = interpodaffinity.InterPodAffinity({}, FakeHandle(snapshot(*nodes)))
    status = run_filters(plugin, make_pod("n", affinity=anti({"app": "db"})), nodes)["a"]
    assert status.reasons == (interpodaffinity.REASON_ANTI,)
    status = run_filters(plugin, make_pod("n", affinity=affinity({"app": "x"})), nodes)["a"]
    assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_inter_pod_affinity_add_remove_pod():
    nodes = cluster({"a": ("z1", [make_pod("db", labels={"app": "db"})]), "x": ("z2", [])})
    plugin = interpodaffinity.InterPodAffinity({}, FakeHandle(snapshot(*nodes)))
    pod = make_pod("n", affinity=anti({"app": "db"}))
    state = CycleState()
    plugin.pre_filter(state, pod, nodes)
    victim = nodes[0].pods[0]
    plugin.remove_pod(state, pod, victim, nodes[0])
    assert plugin.filter(state, pod, nodes[0]) is None
    plugin.add_pod(state, pod, PodInfo(make_pod("db2", labels={"app": "db"})), nodes[1])
    assert plugin.filter(state, pod, nodes[1]) is not None


def test_inter_pod_affinity_score_preferred():
    nodes = cluster({"a": ("z1", [make_pod("db", labels={"app": "db"})]), "x": ("z2", [])})
    plugin = interpodaffinity.InterPodAffinity({}, FakeHandle(snapshot(*nodes)))
    pod = make_pod("n", affinity={"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}},
                                              "topologyKey": ZONE}}]}})
    state = CycleState()
    assert plugin.pre_score(state, pod, nodes) is None
    scores = {n.name: plugin.score(state, pod, n)[0] for n in nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores == {"a": 100, "x": 0}
