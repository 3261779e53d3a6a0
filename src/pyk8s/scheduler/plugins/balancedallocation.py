"""NodeResourcesBalancedAllocation: prefer nodes whose resource usage fractions, with
the pod added, are closest to each other (score = (1 - standard deviation) * 100)."""

from __future__ import annotations

import math

from ..framework.interface import MAX_NODE_SCORE, SKIP, CycleState, Status
from ..framework.types import NodeInfo, PodInfo
from .noderesources_fit import DEFAULT_RESOURCES

NAME = "NodeResourcesBalancedAllocation"
STATE_KEY = "PreScore" + NAME


def balanced_score(fractions: list[float]) -> int:
    if not fractions:
        return 0
    if len(fractions) == 2:
        std = abs(fractions[0] - fractions[1]) / 2
    else:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    name = NAME

    def __init__(self, args: dict) -> None:
        self.resources = tuple(r["name"] for r in args.get("resources") or DEFAULT_RESOURCES)

    def pre_score(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        info = PodInfo(pod)
        if not any(info.requests.get(r, 0) for r in self.resources):
            return SKIP
        state.write(STATE_KEY, info)
        return None

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        info = state.read(STATE_KEY) or PodInfo(pod)
        allocatable, requested, wanted = node.allocatable, node.requested, info.requests
        fractions = []
        for name in self.resources:
            alloc = allocatable.get(name, 0)
            if alloc:
                used = requested.get(name, 0) + wanted.get(name, 0)
                fractions.append(used / alloc if used < alloc else 1.0)
        return balanced_score(fractions), None


def new(args: dict, handle: object) -> BalancedAllocation:
    return BalancedAllocation(args)
