"""InterPodAffinity: required pod affinity/anti-affinity of the incoming pod, and the
required anti-affinity of pods already placed, as a Filter; preferred terms (both ways)
and existing pods' required affinity (``hardPodAffinityWeight``) as a Score.

Counts are kept per topology pair (topologyKey, value) so Filter is a few dictionary
lookups per node; PreFilter builds them once per attempt from the snapshot, and the
add_pod/remove_pod extensions keep them right when preemption or nominated pods ask
"what if this pod were (not) there".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..framework.interface import (
    MAX_NODE_SCORE,
    SKIP,
    CycleState,
    Status,
    unresolvable,
    unschedulable,
)
from ..framework.types import AffinityTerm, NodeInfo, PodInfo

NAME = "InterPodAffinity"
FILTER_KEY = "PreFilter" + NAME
SCORE_KEY = "PreScore" + NAME
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"

Pair = tuple[str, str]


@dataclass
class FilterState:
    incoming: PodInfo
    existing_anti: dict[Pair, int] = field(default_factory=dict)
    affinity: dict[Pair, int] = field(default_factory=dict)
    anti: dict[Pair, int] = field(default_factory=dict)

    def clone(self) -> FilterState:
        return FilterState(self.incoming, dict(self.existing_anti), dict(self.affinity),
                           dict(self.anti))


def _bump(counts: dict[Pair, int], pair: Pair, by: int) -> None:
    value = counts.get(pair, 0) + by
    if value:
        counts[pair] = value
    else:
        counts.pop(pair, None)


class InterPodAffinity:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate", "AssignedPodAdd", "AssignedPodUpdate",
                        "AssignedPodDelete"})

    def __init__(self, args: dict, handle) -> None:
        self.handle = handle
        self.hard_weight = args.get("hardPodAffinityWeight", 1)
        self.ignore_existing_preferred = args.get("ignorePreferredTermsOfExistingPods", False)

    def _matches(self, term: AffinityTerm, pod: dict) -> bool:
        return term.matches(pod, self.handle.namespace_labels)

    # -- filter -----------------------------------------------------------------------

    def _count(self, st: FilterState, existing: PodInfo, node: NodeInfo, sign: int) -> None:
        labels, pod = node.labels, st.incoming.pod
        for term in existing.required_anti_affinity:
            if term.topology_key in labels and self._matches(term, pod):
                _bump(st.existing_anti, (term.topology_key, labels[term.topology_key]), sign)
        terms = st.incoming.required_affinity
        if terms and all(self._matches(t, existing.pod) for t in terms):
            for t in terms:
                if t.topology_key in labels:
                    _bump(st.affinity, (t.topology_key, labels[t.topology_key]), sign)
        for t in st.incoming.required_anti_affinity:
            if t.topology_key in labels and self._matches(t, existing.pod):
                _bump(st.anti, (t.topology_key, labels[t.topology_key]), sign)

    def pre_filter(self, state: CycleState, pod: dict, nodes: list[NodeInfo]) -> Status | None:
        info = PodInfo(pod)
        wants = info.required_affinity or info.required_anti_affinity
        if not wants and not any(n.pods_with_required_anti_affinity for n in nodes):
            return SKIP
        st = FilterState(info)
        for node in nodes:
            pods = node.pods if wants else node.pods_with_required_anti_affinity
            for existing in pods:
                if existing.key != info.key:
                    self._count(st, existing, node, 1)
        state.write(FILTER_KEY, st)
        return None

    def add_pod(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo
                ) -> Status | None:
        st = state.read(FILTER_KEY)
        if st is not None:
            self._count(st, info, node, 1)
        return None

    def remove_pod(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo
                   ) -> Status | None:
        st = state.read(FILTER_KEY)
        if st is not None:
            self._count(st, info, node, -1)
        return None

    def _satisfies_affinity(self, st: FilterState, pod: dict, labels: dict) -> bool:
        terms = st.incoming.required_affinity
        if not all(t.topology_key in labels for t in terms):
            return False
        if all(st.affinity.get((t.topology_key, labels[t.topology_key]), 0) > 0
               for t in terms):
            return True
        # The first pod of a group may go anywhere if it matches its own terms.
        return not st.affinity and all(self._matches(t, pod) for t in terms)

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        st: FilterState = state.read(FILTER_KEY)
        labels = node.labels
        terms = st.incoming.required_affinity
        if terms and not self._satisfies_affinity(st, pod, labels):
            return unresolvable(REASON_AFFINITY)
        for t in st.incoming.required_anti_affinity:
            if st.anti.get((t.topology_key, labels.get(t.topology_key)), 0) > 0:
                return unschedulable(REASON_ANTI)
        if st.existing_anti and any(st.existing_anti.get((k, v), 0) > 0
                                    for k, v in labels.items()):
            return unschedulable(REASON_EXISTING)
        return None

    # -- score ------------------------------------------------------------------------

    def _score_existing(self, scores: dict, incoming: PodInfo, existing: PodInfo,
                        labels: dict) -> None:
        def add(terms, sign: int, other: dict, weight: int | None = None) -> None:
            for t in terms:
                if t.topology_key in labels and self._matches(t, other):
                    scores[t.topology_key][labels[t.topology_key]] += \
                        sign * (t.weight if weight is None else weight)

        add(incoming.preferred_affinity, 1, existing.pod)
        add(incoming.preferred_anti_affinity, -1, existing.pod)
        if self.hard_weight > 0:
            add(existing.required_affinity, 1, incoming.pod, self.hard_weight)
        if not self.ignore_existing_preferred:
            add(existing.preferred_affinity, 1, incoming.pod)
            add(existing.preferred_anti_affinity, -1, incoming.pod)

    def pre_score(self, state: CycleState, pod: dict, nodes: list[NodeInfo]) -> Status | None:
        info = PodInfo(pod)
        has_preferred = bool(info.preferred_affinity or info.preferred_anti_affinity)
        all_nodes = self.handle.snapshot.node_infos
        if not has_preferred and not any(n.pods_with_affinity for n in all_nodes):
            return SKIP
        scores: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for node in all_nodes:
            for existing in node.pods if has_preferred else node.pods_with_affinity:
                if existing.key != info.key:
                    self._score_existing(scores, info, existing, node.labels)
        state.write(SCORE_KEY, scores)
        return None

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        scores = state.read(SCORE_KEY)
        labels = node.labels
        return sum(values.get(labels[key], 0) for key, values in scores.items()
                   if key in labels), None

    def normalize_score(self, state: CycleState, pod: dict, scores: dict[str, int]
                        ) -> Status | None:
        if not scores:
            return None
        low, high = min(scores.values()), max(scores.values())
        for name, score in scores.items():
            scores[name] = MAX_NODE_SCORE * (score - low) // (high - low) if high > low else 0
        return None


def new(args: dict, handle) -> InterPodAffinity:
    return InterPodAffinity(args, handle)
