"""The contract between the scheduling framework and its plugins.

As upstream's framework/interface.go: one narrow interface per extension point, each a
Protocol with a ``name``. Expected outcomes (a pod does not fit a node) are returned as a
``Status`` value, never raised; ``None`` means success. Per-attempt scratch data lives in
the ``CycleState`` the framework passes in, never on the plugin.

Extension points, in the order the framework calls them for one pod:

* QueueSort.less orders the active queue (exactly one plugin).
* PreFilter.pre_filter runs once per attempt; Unschedulable stops the attempt, Skip
  means the plugin's Filter is not run for this pod.
* Filter.filter runs per node; any non-success marks the node infeasible (reasons
  collected for the FailedScheduling message).
* PostFilter.post_filter runs only when no node is feasible (preemption); it may nominate
  a node.
* PreScore.pre_score runs once with the feasible nodes; Skip means its Score is not run.
* Score.score runs per feasible node, answering 0..100; normalize_score (if the plugin
  has it) rescales the whole map. Scores are multiplied by the configured weight.
* Reserve.reserve/unreserve bracket the assumption of the pod on the chosen node;
  unreserve runs (in reverse order) when any later step fails.
* Permit.permit may approve, reject or ask to Wait (with a timeout).
* PreBind.pre_bind and Bind.bind run in the binding cycle (asynchronously); a Bind
  plugin answering Skip passes to the next one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .types import NodeInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5


@dataclass(frozen=True)
class Status:
    """A plugin's answer: a code, human-readable reasons and (set by the framework) the
    plugin that answered."""

    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)


def error(reason: str) -> Status:
    return Status(Code.ERROR, (reason,))


SKIP = Status(Code.SKIP)


def is_success(status: Status | None) -> bool:
    return status is None or status.code == Code.SUCCESS


class CycleState:
    """Scratch data for one scheduling attempt, keyed by plugin-chosen names.

    ``clone`` is used by preemption to try removing pods without disturbing the real
    attempt; values that need it provide a ``clone()`` method, others are deep-copied.
    """

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()
        self._filters: tuple[tuple, set[str], list] | None = None

    def active_filters(self, plugins: list) -> list:
        """``plugins`` without those PreFilter skipped, worked out once per node list
        (Filter runs for hundreds of nodes per cycle)."""
        cached = self._filters
        if cached is None or cached[0] is not plugins or cached[1] != self.skip_filter:
            active = [p for p in plugins if p.name not in self.skip_filter]
            cached = self._filters = (plugins, set(self.skip_filter), active)
        return cached[2]

    def read(self, key: str) -> Any:
        return self._data.get(key)

    def write(self, key: str, value: Any) -> None:
        self._data[key] = value

    def clone(self) -> CycleState:
        other = CycleState()
        for key, value in self._data.items():
            other._data[key] = value.clone() if hasattr(value, "clone") else copy.deepcopy(value)
        other.skip_filter = set(self.skip_filter)
        other.skip_score = set(self.skip_score)
        return other


@dataclass
class QueuedPodInfo:
    """A pod as the queue holds it: arrival time, attempts, who rejected it last."""

    pod: dict
    timestamp: float
    initial_attempt: float
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        meta = self.pod["metadata"]
        return f"{meta.get('namespace', '')}/{meta['name']}"


class Plugin(Protocol):
    name: str


class QueueSortPlugin(Plugin, Protocol):
    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool: ...


class PreFilterPlugin(Plugin, Protocol):
    def pre_filter(self, state: CycleState, pod: dict, nodes: list[NodeInfo]
                   ) -> Status | None: ...


class PreFilterExtensions(Protocol):
    """Kept by PreFilter plugins whose state depends on other pods: preemption and
    nominated pods call these to evaluate "what if this pod were (not) there"."""

    def add_pod(self, state: CycleState, pod: dict, added: Any, node: NodeInfo
                ) -> Status | None: ...

    def remove_pod(self, state: CycleState, pod: dict, removed: Any, node: NodeInfo
                   ) -> Status | None: ...


class FilterPlugin(Plugin, Protocol):
    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None: ...


class PostFilterPlugin(Plugin, Protocol):
    async def post_filter(self, state: CycleState, pod: dict,
                          statuses: dict[str, Status]) -> tuple[str | None, Status | None]:
        """Answers (nominated node name or None, status)."""


class PreScorePlugin(Plugin, Protocol):
    def pre_score(self, state: CycleState, pod: dict, nodes: list[NodeInfo]
                  ) -> Status | None: ...


class ScorePlugin(Plugin, Protocol):
    def score(self, state: CycleState, pod: dict, node: NodeInfo
              ) -> tuple[int, Status | None]: ...


class ScoreExtensions(Protocol):
    def normalize_score(self, state: CycleState, pod: dict, scores: dict[str, int]
                        ) -> Status | None: ...


class ReservePlugin(Plugin, Protocol):
    def reserve(self, state: CycleState, pod: dict, node_name: str) -> Status | None: ...

    def unreserve(self, state: CycleState, pod: dict, node_name: str) -> None: ...


class PermitPlugin(Plugin, Protocol):
    def permit(self, state: CycleState, pod: dict, node_name: str
               ) -> tuple[Status | None, float]: ...


class PreBindPlugin(Plugin, Protocol):
    async def pre_bind(self, state: CycleState, pod: dict, node_name: str
                       ) -> Status | None: ...


class BindPlugin(Plugin, Protocol):
    async def bind(self, state: CycleState, pod: dict, node_name: str) -> Status | None: ...


#: Extension point name (as in KubeSchedulerConfiguration) -> method a plugin must have.
EXTENSION_POINTS = {
    "queueSort": "less",
    "preFilter": "pre_filter",
    "filter": "filter",
    "postFilter": "post_filter",
    "preScore": "pre_score",
    "score": "score",
    "reserve": "reserve",
    "permit": "permit",
    "preBind": "pre_bind",
    "bind": "bind",
}


def default_normalize_score(max_priority: int, reverse: bool, scores: dict[str, int]) -> None:
    """Scale scores so the highest is ``max_priority`` (optionally reversed), in place;
    upstream's helper.DefaultNormalizeScore."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        if reverse:
            for name in scores:
                scores[name] = max_priority
        return
    for name, score in scores.items():
        score = max_priority * score // highest
        scores[name] = max_priority - score if reverse else score
