"""PodTopologySpread: keep matching pods evenly spread over topology domains.

DoNotSchedule constraints are a Filter: placing the pod on a node must not make its
domain exceed the least-loaded domain by more than ``maxSkew``. ScheduleAnyway
constraints are a Score: fewer matching pods in the node's domain scores higher.
Only nodes carrying every constraint's topology key (and, with the default
``nodeAffinityPolicy: Honor``, matching the pod's node selector/affinity) count as
domains. Cluster-level default constraints are off (``defaultingType: List``, none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..framework.interface import (
    MAX_NODE_SCORE,
    SKIP,
    CycleState,
    Status,
    unresolvable,
    unschedulable,
)
from ..framework.labels import labels_of, match_label_selector
from ..framework.types import NodeInfo, PodInfo
from .nodeaffinity import required_matches
from .tainttoleration import first_untolerated

NAME = "PodTopologySpread"
FILTER_KEY = "PreFilter" + NAME
SCORE_KEY = "PreScore" + NAME
REASON = "node(s) didn't match pod topology spread constraints"
REASON_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
HOSTNAME = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    key: str
    selector: dict | None
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def constraints(pod: dict, action: str) -> list[Constraint]:
    labels = labels_of(pod)
    out = []
    for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or ():
        if c.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        selector = c.get("labelSelector")
        keys = [k for k in c.get("matchLabelKeys") or () if k in labels]
        if keys and selector is not None:
            selector = {**selector, "matchExpressions": [
                *(selector.get("matchExpressions") or ()),
                *({"key": k, "operator": "In", "values": [labels[k]]} for k in keys)]}
        out.append(Constraint(int(c.get("maxSkew") or 1), c.get("topologyKey", ""), selector,
                              int(c.get("minDomains") or 0),
                              c.get("nodeAffinityPolicy", "Honor") == "Honor",
                              c.get("nodeTaintsPolicy", "Ignore") == "Honor"))
    return out


def count_matching(pods: list[PodInfo], selector: dict | None, namespace: str) -> int:
    return sum(1 for info in pods
               if info.pod["metadata"].get("namespace") == namespace
               and not info.pod["metadata"].get("deletionTimestamp")
               and match_label_selector(selector, labels_of(info.pod)))


def _eligible(pod: dict, node: NodeInfo, cons: list[Constraint]) -> bool:
    labels = node.labels
    if any(c.key not in labels for c in cons):
        return False
    if any(c.honor_affinity for c in cons) and not required_matches(pod, node.node):
        return False
    return not (any(c.honor_taints for c in cons) and first_untolerated(pod, node))


@dataclass
class FilterState:
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def clone(self) -> FilterState:
        return FilterState(self.constraints, dict(self.counts))

    def min_match(self, c: Constraint) -> int:
        domains = [n for (key, _), n in self.counts.items() if key == c.key]
        if not domains or (c.min_domains and len(domains) < c.min_domains):
            return 0
        return min(domains)


class PodTopologySpread:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate", "AssignedPodAdd", "AssignedPodUpdate",
                        "AssignedPodDelete"})

    def __init__(self, handle) -> None:
        self.handle = handle

    def pre_filter(self, state: CycleState, pod: dict, nodes: list[NodeInfo]) -> Status | None:
        cons = constraints(pod, "DoNotSchedule")
        if not cons:
            return SKIP
        st = FilterState(cons)
        ns = pod["metadata"].get("namespace")
        for node in nodes:
            if not _eligible(pod, node, cons):
                continue
            for c in cons:
                pair = (c.key, node.labels[c.key])
                st.counts[pair] = st.counts.get(pair, 0) + count_matching(node.pods,
                                                                          c.selector, ns)
        state.write(FILTER_KEY, st)
        return None

    def _update(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo,
                sign: int) -> None:
        st: FilterState | None = state.read(FILTER_KEY)
        if st is None or not _eligible(pod, node, st.constraints):
            return
        if info.pod["metadata"].get("namespace") != pod["metadata"].get("namespace"):
            return
        for c in st.constraints:
            if match_label_selector(c.selector, labels_of(info.pod)):
                pair = (c.key, node.labels[c.key])
                st.counts[pair] = st.counts.get(pair, 0) + sign

    def add_pod(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo
                ) -> Status | None:
        self._update(state, pod, info, node, 1)
        return None

    def remove_pod(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo
                   ) -> Status | None:
        self._update(state, pod, info, node, -1)
        return None

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        st: FilterState = state.read(FILTER_KEY)
        labels, own = node.labels, labels_of(pod)
        for c in st.constraints:
            value = labels.get(c.key)
            if value is None:
                return unresolvable(REASON_LABEL)
            self_match = 1 if match_label_selector(c.selector, own) else 0
            skew = st.counts.get((c.key, value), 0) + self_match - st.min_match(c)
            if skew > c.max_skew:
                return unschedulable(REASON)
        return None

    # -- scoring ----------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: dict, nodes: list[NodeInfo]) -> Status | None:
        cons = constraints(pod, "ScheduleAnyway")
        if not cons:
            return SKIP
        ignored = {n.name for n in nodes if any(c.key not in n.labels for c in cons)}
        domains = [{n.labels[c.key] for n in nodes if n.name not in ignored} for c in cons]
        weights = [math.log(len(d) + 2) for d in domains]
        counts: dict[tuple[str, str], int] = {}
        ns = pod["metadata"].get("namespace")
        for node in self.handle.snapshot.node_infos:
            if not _eligible(pod, node, cons):
                continue
            for c, values in zip(cons, domains):
                value = node.labels[c.key]
                if c.key != HOSTNAME and value in values:
                    pair = (c.key, value)
                    counts[pair] = counts.get(pair, 0) + count_matching(node.pods,
                                                                        c.selector, ns)
        state.write(SCORE_KEY, (cons, ignored, weights, counts))
        return None

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        cons, ignored, weights, counts = state.read(SCORE_KEY)
        if node.name in ignored:
            return 0, None
        total = 0.0
        ns = pod["metadata"].get("namespace")
        for c, weight in zip(cons, weights):
            value = node.labels.get(c.key)
            if value is None:
                continue
            cnt = count_matching(node.pods, c.selector, ns) if c.key == HOSTNAME \
                else counts.get((c.key, value), 0)
            total += cnt * weight + (c.max_skew - 1)
        return round(total), None

    def normalize_score(self, state: CycleState, pod: dict, scores: dict[str, int]
                        ) -> Status | None:
        _, ignored, _, _ = state.read(SCORE_KEY)
        valid = [s for n, s in scores.items() if n not in ignored]
        low, high = min(valid, default=0), max(valid, default=0)
        for name, score in scores.items():
            if name in ignored:
                scores[name] = 0
            elif high == 0:
                scores[name] = MAX_NODE_SCORE
            else:
                scores[name] = MAX_NODE_SCORE * (high + low - score) // high
        return None


def new(args: dict, handle) -> PodTopologySpread:
    return PodTopologySpread(handle)
