"""TaintToleration: NoSchedule/NoExecute taints must be tolerated (Filter); nodes with
fewer untolerated PreferNoSchedule taints score higher (Score, reversed normalization)."""

from __future__ import annotations

from ..framework.interface import (
    MAX_NODE_SCORE,
    CycleState,
    Status,
    default_normalize_score,
    unresolvable,
)
from ..framework.labels import tolerated
from ..framework.types import NodeInfo

NAME = "TaintToleration"
STATE_KEY = "PreScore" + NAME


def _taints(node: NodeInfo) -> list[dict]:
    return node.taints


def _tolerations(pod: dict) -> list[dict]:
    return (pod.get("spec") or {}).get("tolerations") or []


def first_untolerated(pod: dict, node: NodeInfo) -> dict | None:
    tolerations = _tolerations(pod)
    for taint in _taints(node):
        if taint.get("effect") in ("NoSchedule", "NoExecute") and \
                not tolerated(taint, tolerations):
            return taint
    return None


class TaintToleration:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate"})

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        if not _taints(node):
            return None
        taint = first_untolerated(pod, node)
        if taint is None:
            return None
        return unresolvable(f"node(s) had untolerated taint "
                            f"{{{taint.get('key', '')}: {taint.get('value', '')}}}")

    def pre_score(self, state: CycleState, pod: dict, nodes: list[NodeInfo]) -> Status | None:
        state.write(STATE_KEY, [t for t in _tolerations(pod)
                                if t.get("effect") in (None, "", "PreferNoSchedule")])
        return None

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        taints = _taints(node)
        if not taints:
            return 0, None
        tolerations = state.read(STATE_KEY) or []
        count = sum(1 for taint in taints if taint.get("effect") == "PreferNoSchedule"
                    and not tolerated(taint, tolerations))
        return count, None

    def normalize_score(self, state: CycleState, pod: dict, scores: dict[str, int]
                        ) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, True, scores)
        return None


def new(args: dict, handle: object) -> TaintToleration:
    return TaintToleration()
