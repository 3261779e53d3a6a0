"""NodeResourcesFit: the pod's requests must fit the node's allocatable minus what the
pods already there request (Filter); nodes are scored LeastAllocated (default) or
MostAllocated over the configured resources (Score).

Requests fold in init containers, sidecars and pod overhead (``PodInfo.requests``).
A request above the node's whole allocatable makes the rejection
UnschedulableAndUnresolvable: no preemption could help there.
"""

from __future__ import annotations

from ..framework.interface import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    Status,
)
from ..framework.types import CPU, EPHEMERAL, MEMORY, PODS, NodeInfo, PodInfo

NAME = "NodeResourcesFit"
STATE_KEY = "PreFilter" + NAME
FIRST = (CPU, MEMORY, EPHEMERAL)
DEFAULT_RESOURCES = ({"name": CPU, "weight": 1}, {"name": MEMORY, "weight": 1})


def checked_requests(info: PodInfo, ignored: frozenset[str] = frozenset()
                     ) -> list[tuple[str, int]]:
    """The pod's non-zero requests Filter checks, in upstream's order."""
    reqs = info.requests
    ordered = [r for r in FIRST if r in reqs] + sorted(r for r in reqs if r not in FIRST)
    return [(name, reqs[name]) for name in ordered
            if reqs[name] > 0 and name != PODS and name not in ignored]


def insufficient(info: PodInfo, node: NodeInfo, ignored: frozenset[str] = frozenset(),
                 checks: list[tuple[str, int]] | None = None) -> list[tuple[str, bool]]:
    """(reason, unresolvable) for every resource the pod does not fit, in upstream's
    order: pods, then cpu, memory, ephemeral-storage, then extended resources.
    ``checks`` is :func:`checked_requests`, when the caller already has it."""
    out = []
    allocatable, requested = node.allocatable, node.requested
    allowed = allocatable.get(PODS, 0)
    if len(node.pods) + 1 > allowed:
        out.append(("Too many pods", allowed < 1))
    for name, want in checks if checks is not None else checked_requests(info, ignored):
        alloc = allocatable.get(name, 0)
        if want > alloc - requested.get(name, 0):
            out.append((f"Insufficient {name}", want > alloc))
    return out


class FitInput:
    """What Filter and Score need of the pod, computed once per scheduling cycle."""

    __slots__ = ("info", "checks")

    def __init__(self, info: PodInfo, ignored: frozenset[str]) -> None:
        self.info = info
        self.checks = checked_requests(info, ignored)

    def clone(self) -> "FitInput":
        return self


def least_allocated(requested: int, allocatable: int) -> int:
    if requested > allocatable:
        return 0
    return (allocatable - requested) * MAX_NODE_SCORE // allocatable


def most_allocated(requested: int, allocatable: int) -> int:
    return min(requested, allocatable) * MAX_NODE_SCORE // allocatable


STRATEGIES = {"LeastAllocated": least_allocated, "MostAllocated": most_allocated}


def resource_score(scorer, resources: tuple[dict, ...], info: PodInfo, node: NodeInfo,
                   *, use_requested: bool) -> int:
    """Weighted mean of per-resource scores; resources the node lacks are left out.
    cpu/memory count non-zero defaults unless ``use_requested`` (upstream's
    resourceAllocationScorer)."""
    total = weights = 0
    for res in resources:
        name, weight = res["name"], res.get("weight") or 1
        alloc = node.allocatable.get(name, 0)
        if alloc == 0:
            continue
        if name in (CPU, MEMORY) and not use_requested:
            requested = node.non_zero_requested.get(name, 0) + info.non_zero_requests[name]
        else:
            requested = node.requested.get(name, 0) + info.requests.get(name, 0)
        total += scorer(requested, alloc) * weight
        weights += weight
    return total // weights if weights else 0


class Fit:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate", "AssignedPodDelete", "AssignedPodUpdate"})

    def __init__(self, args: dict) -> None:
        strategy = args.get("scoringStrategy") or {}
        kind = strategy.get("type") or "LeastAllocated"
        if kind not in STRATEGIES:
            raise ValueError(f"NodeResourcesFit: unsupported scoringStrategy {kind!r}")
        self.scorer = STRATEGIES[kind]
        self.resources = tuple(strategy.get("resources") or DEFAULT_RESOURCES)
        self.ignored = frozenset(args.get("ignoredResources") or ())

    def _input(self, state: CycleState, pod: dict) -> FitInput:
        fit = state.read(STATE_KEY)
        return fit if fit is not None else FitInput(PodInfo(pod), self.ignored)

    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        state.write(STATE_KEY, FitInput(PodInfo(pod), self.ignored))
        return None

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        fit = self._input(state, pod)
        misfits = insufficient(fit.info, node, checks=fit.checks)
        if not misfits:
            return None
        code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if any(u for _, u in misfits) \
            else Code.UNSCHEDULABLE
        return Status(code, tuple(reason for reason, _ in misfits))

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> tuple[int, Status | None]:
        return resource_score(self.scorer, self.resources, self._input(state, pod).info, node,
                              use_requested=False), None


def new(args: dict, handle: object) -> Fit:
    return Fit(args)
