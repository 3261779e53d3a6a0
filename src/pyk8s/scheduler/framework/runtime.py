"""The framework of one profile: its plugins instantiated and run per extension point.

Plugins are built once per profile from the registry (one object even when a plugin
serves several points). ``run_*`` methods implement upstream's frameworkImpl semantics:
filters stop at the first rejection, PreFilter/PreScore Skip statuses drop the plugin's
Filter/Score for this attempt, scores are normalized then weighted, Reserve failures
unreserve in reverse, the first Bind plugin that does not Skip binds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import Profile
from .interface import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    Status,
    error,
    is_success,
)
from .registry import Registry
from .types import NodeInfo, PodInfo


@dataclass
class Handle:
    """What plugins may use besides their arguments: the cycle's snapshot, listers (volume_stores:
    PersistentVolumeClaims, PersistentVolumes, StorageClasses),
    the API client, the nominator and (for preemption) the profile's framework."""

    snapshot: Any
    client: Any = None
    namespace_labels: dict[str, dict] = field(default_factory=dict)
    pdbs: Any = None
    nominator: Any = None
    recorder: Any = None
    volume_stores: Any = None
    framework: Framework | None = None


class Framework:
    def __init__(self, profile: Profile, registry: Registry, handle: Handle) -> None:
        self.profile = profile
        self.handle = handle
        self.plugins: dict[str, Any] = {}
        for point_plugins in profile.plugins.values():
            for name, _ in point_plugins:
                if name not in self.plugins:
                    if name not in registry:
                        raise ValueError(f"unknown plugin {name!r}")
                    self.plugins[name] = registry[name](profile.plugin_args.get(name) or {},
                                                        handle)
        self.points = {point: [self.plugins[n] for n, _ in lst]
                       for point, lst in profile.plugins.items()}
        self.weights = dict(profile.plugins.get("score", ()))
        if len(self.points.get("queueSort", ())) != 1:
            raise ValueError("a profile needs exactly one queueSort plugin")
        if not self.points.get("bind"):
            raise ValueError("a profile needs at least one bind plugin")
        handle.framework = self

    @property
    def scheduler_name(self) -> str:
        return self.profile.scheduler_name

    def less(self, a: Any, b: Any) -> bool:
        return self.points["queueSort"][0].less(a, b)

    def has_filters(self) -> bool:
        return bool(self.points.get("filter"))

    # -- scheduling cycle -------------------------------------------------------------

    def run_pre_filter(self, state: CycleState, pod: dict, nodes: list[NodeInfo]
                       ) -> Status | None:
        for plugin in self.points.get("preFilter", ()):
            status = plugin.pre_filter(state, pod, nodes)
            if status is None:
                continue
            if status.code == Code.SKIP:
                state.skip_filter.add(plugin.name)
            elif status.code != Code.SUCCESS:
                return status.with_plugin(plugin.name)
        return None

    def run_filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        for plugin in state.active_filters(self.points.get("filter", ())):
            status = plugin.filter(state, pod, node)
            if status is not None and status.code != Code.SUCCESS:
                return status.with_plugin(plugin.name)
        return None

    def run_filter_with_nominated(self, state: CycleState, pod: dict, node: NodeInfo
                                  ) -> Status | None:
        """Filters, first as if pods nominated to this node with priority >= the pod's
        were already there (so preemptors keep the room they made), then without."""
        nominator = self.handle.nominator
        nominated = nominator.nominated_for(pod, node.name) if nominator else ()
        if nominated:
            state2, node2 = state.clone(), node.clone()
            for info in nominated:
                node2.add_pod(info)
                status = self.run_add_pod(state2, pod, info, node2)
                if not is_success(status):
                    return status
            status = self.run_filter(state2, pod, node2)
            if not is_success(status):
                return status
        return self.run_filter(state, pod, node)

    def run_add_pod(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo
                    ) -> Status | None:
        for plugin in self.points.get("preFilter", ()):
            if plugin.name not in state.skip_filter and hasattr(plugin, "add_pod"):
                status = plugin.add_pod(state, pod, info, node)
                if not is_success(status):
                    return status
        return None

    def run_remove_pod(self, state: CycleState, pod: dict, info: PodInfo, node: NodeInfo
                       ) -> Status | None:
        for plugin in self.points.get("preFilter", ()):
            if plugin.name not in state.skip_filter and hasattr(plugin, "remove_pod"):
                status = plugin.remove_pod(state, pod, info, node)
                if not is_success(status):
                    return status
        return None

    async def run_post_filter(self, state: CycleState, pod: dict,
                              statuses: dict[str, Status]) -> tuple[str | None, Status | None]:
        reasons: list[str] = []
        for plugin in self.points.get("postFilter", ()):
            nominated, status = await plugin.post_filter(state, pod, statuses)
            if status is None or status.code == Code.SUCCESS:
                return nominated, None
            if status.code == Code.ERROR:
                return None, status.with_plugin(plugin.name)
            reasons += status.reasons
        return None, Status(Code.UNSCHEDULABLE, tuple(reasons)) if reasons else None

    def run_pre_score(self, state: CycleState, pod: dict, nodes: list[NodeInfo]
                      ) -> Status | None:
        for plugin in self.points.get("preScore", ()):
            status = plugin.pre_score(state, pod, nodes)
            if status is None:
                continue
            if status.code == Code.SKIP:
                state.skip_score.add(plugin.name)
            elif status.code != Code.SUCCESS:
                return status.with_plugin(plugin.name)
        return None

    def run_score(self, state: CycleState, pod: dict, nodes: list[NodeInfo]
                  ) -> tuple[dict[str, int], Status | None]:
        totals = dict.fromkeys((n.name for n in nodes), 0)
        for plugin in self.points.get("score", ()):
            if plugin.name in state.skip_score:
                continue
            scores = {}
            score_node = plugin.score
            for node in nodes:
                score, status = score_node(state, pod, node)
                if status is not None and status.code != Code.SUCCESS:
                    return {}, status.with_plugin(plugin.name)
                scores[node.name] = score
            if hasattr(plugin, "normalize_score"):
                status = plugin.normalize_score(state, pod, scores)
                if not is_success(status):
                    return {}, status.with_plugin(plugin.name)
            if not 0 <= min(scores.values()) <= max(scores.values()) <= MAX_NODE_SCORE:
                name, score = next((n, v) for n, v in scores.items()
                                   if not 0 <= v <= MAX_NODE_SCORE)
                return {}, error(f"plugin {plugin.name} scored {name} {score}, "
                                 f"outside 0..{MAX_NODE_SCORE}")
            weight = self.weights.get(plugin.name, 1)
            for name, score in scores.items():
                totals[name] += score * weight
        return totals, None

    def run_reserve(self, state: CycleState, pod: dict, node_name: str) -> Status | None:
        for plugin in self.points.get("reserve", ()):
            status = plugin.reserve(state, pod, node_name)
            if not is_success(status):
                return status.with_plugin(plugin.name)
        return None

    def run_unreserve(self, state: CycleState, pod: dict, node_name: str) -> None:
        for plugin in reversed(self.points.get("reserve", ())):
            plugin.unreserve(state, pod, node_name)

    def run_permit(self, state: CycleState, pod: dict, node_name: str
                   ) -> tuple[Status | None, float]:
        """The pod may be bound now (None), must wait (WAIT, longest timeout), or not."""
        waits = []
        for plugin in self.points.get("permit", ()):
            status, timeout = plugin.permit(state, pod, node_name)
            if status is None or status.code == Code.SUCCESS:
                continue
            if status.code == Code.WAIT:
                waits.append(timeout)
                continue
            return status.with_plugin(plugin.name), 0.0
        if waits:
            return Status(Code.WAIT), max(waits)
        return None, 0.0

    # -- binding cycle ----------------------------------------------------------------

    async def run_pre_bind(self, state: CycleState, pod: dict, node_name: str
                           ) -> Status | None:
        for plugin in self.points.get("preBind", ()):
            status = await plugin.pre_bind(state, pod, node_name)
            if not is_success(status):
                return status.with_plugin(plugin.name)
        return None

    async def run_bind(self, state: CycleState, pod: dict, node_name: str) -> Status | None:
        for plugin in self.points["bind"]:
            status = await plugin.bind(state, pod, node_name)
            if status is not None and status.code == Code.SKIP:
                continue
            return None if is_success(status) else status.with_plugin(plugin.name)
        return error("no bind plugin bound the pod")
