"""NodeAffinity: spec.nodeSelector and required node affinity must match (Filter);
matching preferred terms add their weights (Score). ``addedAffinity`` in the plugin
args applies to every pod of the profile, as upstream."""

from __future__ import annotations

from ..framework.interface import (
    MAX_NODE_SCORE,
    SKIP,
    CycleState,
    Status,
    default_normalize_score,
    unresolvable,
)
from ..framework.labels import match_node_selector, match_node_selector_term
from ..framework.types import NodeInfo

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"
REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"


def _node_affinity(pod: dict) -> dict:
    return (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity")) or {}


def required_matches(pod: dict, node: dict) -> bool:
    """nodeSelector and requiredDuringScheduling node affinity (upstream's
    GetRequiredNodeAffinity(pod).Match(node))."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in ((pod.get("spec") or {}).get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
    return required is None or match_node_selector(required, node)


class NodeAffinity:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate"})

    def __init__(self, added: dict | None) -> None:
        self.added = added or {}

    def _added_required(self) -> dict | None:
        return self.added.get("requiredDuringSchedulingIgnoredDuringExecution")

    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        spec = pod.get("spec") or {}
        if not spec.get("nodeSelector") and self._added_required() is None and \
                _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution") \
                is None:
            return SKIP
        return None

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        added = self._added_required()
        if added is not None and not match_node_selector(added, node.node):
            return unresolvable(REASON_ENFORCED)
        return None if required_matches(pod, node.node) else unresolvable(REASON)

    def _preferred(self, pod: dict) -> list[dict]:
        key = "preferredDuringSchedulingIgnoredDuringExecution"
        return [*(self.added.get(key) or ()), *(_node_affinity(pod).get(key) or ())]

    def pre_score(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        return None if self._preferred(pod) else SKIP

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        total = 0
        for term in self._preferred(pod):
            weight = term.get("weight") or 0
            if weight and match_node_selector_term(term.get("preference") or {}, node.node):
                total += weight
        return total, None

    def normalize_score(self, state: CycleState, pod: dict, scores: dict[str, int]
                        ) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, False, scores)
        return None


def new(args: dict, handle: object) -> NodeAffinity:
    return NodeAffinity(args.get("addedAffinity"))
