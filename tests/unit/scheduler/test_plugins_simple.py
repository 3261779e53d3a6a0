"""Table tests for the small filter/score plugins, mirroring upstream's cases."""

from __future__ import annotations

import pytest
from helpers import make_node, make_pod, node_info

from pyk8s.scheduler.framework.interface import Code, CycleState, QueuedPodInfo
from pyk8s.scheduler.plugins import (
    nodeaffinity,
    nodename,
    nodeports,
    nodeunschedulable,
    prioritysort,
    tainttoleration,
)


def run_filter(plugin, pod, node):
    state = CycleState()
    if hasattr(plugin, "pre_filter"):
        status = plugin.pre_filter(state, pod, [node])
        if status is not None and status.code == Code.SKIP:
            return None
    return plugin.filter(state, pod, node)


@pytest.mark.parametrize("pod_node,node,ok", [
    ("", "n1", True), ("n1", "n1", True), ("n2", "n1", False)])
def test_node_name(pod_node, node, ok):
    status = run_filter(nodename.NodeName(), make_pod(node=pod_node), node_info(make_node(node)))
    assert (status is None) == ok
    if not ok:
        assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == (nodename.REASON,)


@pytest.mark.parametrize("unschedulable,tolerations,ok", [
    (False, [], True),
    (True, [], False),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
             "effect": "NoSchedule"}], True),
    (True, [{"operator": "Exists"}], True),
])
def test_node_unschedulable(unschedulable, tolerations, ok):
    status = run_filter(nodeunschedulable.NodeUnschedulable(),
                        make_pod(tolerations=tolerations),
                        node_info(make_node("n", unschedulable=unschedulable)))
    assert (status is None) == ok


TAINT = {"key": "dedicated", "value": "user1", "effect": "NoSchedule"}


@pytest.mark.parametrize("taints,tolerations,reason", [
    ([], [], None),
    ([TAINT], [], "node(s) had untolerated taint {dedicated: user1}"),
    ([TAINT], [{"key": "dedicated", "operator": "Equal", "value": "user1",
                "effect": "NoSchedule"}], None),
    ([TAINT], [{"key": "dedicated", "operator": "Equal", "value": "user2",
                "effect": "NoSchedule"}], "node(s) had untolerated taint {dedicated: user1}"),
    ([TAINT], [{"key": "dedicated", "operator": "Exists"}], None),
    ([{**TAINT, "effect": "PreferNoSchedule"}], [], None),
    ([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}], [],
     "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
])
def test_taint_toleration_filter(taints, tolerations, reason):
    status = run_filter(tainttoleration.TaintToleration(), make_pod(tolerations=tolerations),
                        node_info(make_node("n", taints=taints)))
    assert (status.reasons[0] if status else None) == reason


def test_taint_toleration_score_prefers_fewer_intolerable_taints():
    plugin = tainttoleration.TaintToleration()
    prefer = lambda k: {"key": k, "value": "v", "effect": "PreferNoSchedule"}
    nodes = [node_info(make_node("none")), node_info(make_node("one", taints=[prefer("a")])),
             node_info(make_node("two", taints=[prefer("a"), prefer("b")]))]
    pod = make_pod(tolerations=[{"key": "b", "operator": "Exists",
                                 "effect": "PreferNoSchedule"}])
    state = CycleState()
    plugin.pre_score(state, pod, nodes)
    scores = {n.name: plugin.score(state, pod, n)[0] for n in nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores == {"none": 100, "one": 0, "two": 0}


def term(key, op, *values):
    return {"matchExpressions": [{"key": key, "operator": op, "values": list(values)}]}


@pytest.mark.parametrize("spec,labels,ok", [
    ({}, {}, True),
    ({"nodeSelector": {"foo": "bar"}}, {"foo": "bar"}, True),
    ({"nodeSelector": {"foo": "bar"}}, {"foo": "baz"}, False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term("foo", "In", "bar", "value2")]}}}}, {"foo": "bar"}, True),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term("foo", "NotIn", "bar")]}}}}, {"foo": "bar"}, False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term("kernel", "Gt", "4")]}}}}, {"kernel": "5"}, True),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term("foo", "DoesNotExist"), term("x", "Exists")]}}}},
     {"foo": "bar"}, False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{}]}}}}, {"foo": "bar"}, False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["n"]}]}]}}}}, {}, True),
])
def test_node_affinity_filter(spec, labels, ok):
    status = run_filter(nodeaffinity.NodeAffinity(None), make_pod(**spec),
                        node_info(make_node("n", labels=labels)))
    assert (status is None) == ok
    if not ok:
        assert status.reasons == (nodeaffinity.REASON,)


def test_node_affinity_score_weights_preferred_terms():
    plugin = nodeaffinity.NodeAffinity(None)
    pod = make_pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 2, "preference": term("foo", "In", "bar")},
        {"weight": 8, "preference": term("disk", "In", "ssd")}]}})
    nodes = [node_info(make_node("a", labels={"foo": "bar"})),
             node_info(make_node("b", labels={"foo": "bar", "disk": "ssd"})),
             node_info(make_node("c"))]
    state = CycleState()
    assert plugin.pre_score(state, pod, nodes) is None
    scores = {n.name: plugin.score(state, pod, n)[0] for n in nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores == {"a": 20, "b": 100, "c": 0}


def port(host_port, protocol="TCP", ip=""):
    return {"containerPort": 80, "hostPort": host_port, "protocol": protocol, "hostIP": ip}


@pytest.mark.parametrize("wanted,existing,ok", [
    ([], [port(8080)], True),
    ([port(8080)], [], True),
    ([port(8080)], [port(8080)], False),
    ([port(8080, "UDP")], [port(8080)], True),
    ([port(8080, ip="127.0.0.1")], [port(8080, ip="127.0.0.2")], True),
    ([port(8080, ip="127.0.0.1")], [port(8080)], False),
    ([port(8080)], [port(8080, ip="10.0.0.1")], False),
])
def test_node_ports(wanted, existing, ok):
    node = node_info(make_node("n"), make_pod("old", node="n", ports=existing))
    status = run_filter(nodeports.NodePorts(), make_pod(ports=wanted), node)
    assert (status is None) == ok
    if not ok:
        assert status.code == Code.UNSCHEDULABLE


@pytest.mark.parametrize("a,b,less", [
    ((10, 1.0), (5, 0.0), True),
    ((5, 0.0), (10, 1.0), False),
    ((5, 0.0), (5, 1.0), True),
    ((5, 1.0), (5, 0.0), False),
])
def test_priority_sort(a, b, less):
    qa = QueuedPodInfo(make_pod("a", priority=a[0]), a[1], a[1])
    qb = QueuedPodInfo(make_pod("b", priority=b[0]), b[1], b[1])
    assert prioritysort.PrioritySort().less(qa, qb) == less
