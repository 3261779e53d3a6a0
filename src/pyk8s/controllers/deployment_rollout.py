"""The two rollout strategies of a Deployment (upstream's rolling.go and recreate.go).

RollingUpdate: grow the new ReplicaSet while the total stays within replicas + maxSurge,
then shrink old ones while the available pods stay at or above replicas - maxUnavailable
(first the old ReplicaSets' unavailable pods, which cost no availability, then available
ones, oldest ReplicaSet first). Recreate: scale every old ReplicaSet to zero, wait until
none of their pods is still running, then create/scale the new one to replicas. Both end
by cleaning up history once complete and writing the rollout status.
"""

from __future__ import annotations

from collections.abc import Callable

from . import deployment_util as du
from .deployment_sync import DeploymentSync


async def rollout_rolling(s: DeploymentSync) -> None:
    new, olds = await s.all_rss(True)
    all_rss = olds + [new]
    if await _reconcile_new(s, new):
        await s.sync_rollout_status(olds + [s_current(s, new)], s_current(s, new))
        return
    if await _reconcile_olds(s, du.filter_active(olds), s_current(s, new)):
        new = s_current(s, new)
        await s.sync_rollout_status([s_current(s, o) for o in olds] + [new], new)
        return
    if du.deployment_complete(s.d, s.d.get("status") or {}):
        await s.cleanup(olds)
    await s.sync_rollout_status(all_rss, new)


def s_current(s: DeploymentSync, rs: dict | None) -> dict | None:
    """The latest copy of ``rs`` in this sync (after our own writes)."""
    if rs is None:
        return None
    uid = rs["metadata"]["uid"]
    return next((r for r in s.rs_list if r["metadata"]["uid"] == uid), rs)


async def _reconcile_new(s: DeploymentSync, new: dict | None) -> bool:
    if new is None or du.replicas(new) == du.replicas(s.d):
        return False
    if du.replicas(new) > du.replicas(s.d):
        return (await s.scale_rs_and_record(new, du.replicas(s.d)))[0]
    size = du.new_rs_new_replicas(s.d, s.rs_list, new)
    return (await s.scale_rs_and_record(new, size))[0]


async def _reconcile_olds(s: DeploymentSync, olds: list[dict], new: dict | None) -> bool:
    if du.replica_count(olds) == 0:
        return False
    min_available = du.replicas(s.d) - du.max_unavailable(s.d)
    new_unavailable = du.replicas(new) - du.status_of(new, "availableReplicas")
    max_scaled_down = du.replica_count(s.rs_list) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    cleaned = await _cleanup_unhealthy(s, olds, max_scaled_down)
    olds = [s_current(s, o) for o in olds]
    scaled = await _scale_down_olds(s, olds + [new], olds)
    return cleaned + scaled > 0


async def _cleanup_unhealthy(s: DeploymentSync, olds: list[dict], max_cleanup: int) -> int:
    """Scale old ReplicaSets down by their unavailable pods (up to ``max_cleanup``)."""
    total = 0
    for rs in sorted(olds, key=du.by_creation):
        if total >= max_cleanup:
            break
        unavailable = du.replicas(rs) - du.status_of(rs, "availableReplicas")
        if du.replicas(rs) == 0 or unavailable <= 0:
            continue
        count = min(max_cleanup - total, unavailable)
        await s.scale_rs_and_record(rs, du.replicas(rs) - count)
        total += count
    return total


async def _scale_down_olds(s: DeploymentSync, all_rss: list[dict | None],
                           olds: list[dict]) -> int:
    min_available = du.replicas(s.d) - du.max_unavailable(s.d)
    available = du.available_within_spec(all_rss)
    if available <= min_available:
        return 0
    budget, total = available - min_available, 0
    for rs in sorted(olds, key=du.by_creation):
        if total >= budget:
            break
        if du.replicas(rs) == 0:
            continue
        count = min(du.replicas(rs), budget - total)
        await s.scale_rs_and_record(rs, du.replicas(rs) - count)
        total += count
    return total


async def rollout_recreate(s: DeploymentSync, old_pods_running: Callable[[dict | None], bool]
                           ) -> None:
    new, olds = await s.all_rss(False)
    scaled = False
    for rs in du.filter_active(olds):
        scaled |= (await s.scale_rs_and_record(rs, 0))[0]
    if scaled:
        await s.sync_rollout_status([s_current(s, o) for o in olds] + [new], new)
        return
    if du.status_count(olds, "replicas") > 0 or old_pods_running(new):
        await s.sync_rollout_status(olds + [new], new)
        return
    if new is None:
        new, olds = await s.all_rss(True)
    await s.scale_rs_and_record(new, du.replicas(s.d))
    new = s_current(s, new)
    if du.deployment_complete(s.d, s.d.get("status") or {}):
        await s.cleanup(olds)
    await s.sync_rollout_status(olds + [new], new)
