"""DaemonSet pod planning per node and the RollingUpdate step (upstream's
daemon_controller.go podsShouldBeOnNode and update.go rollingUpdate), as pure functions.

``plan_node`` says whether a node needs a daemon pod and which of its pods must go
(pods where none should run, failed or succeeded ones, duplicates -- keeping the oldest,
or with surge the oldest new and oldest old). ``rolling_update`` picks the next old pods
to delete (maxUnavailable) or nodes to surge onto (maxSurge), never exceeding the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from .util.pods import is_pod_available

HASH_LABEL = "controller-revision-hash"


def _hash(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(HASH_LABEL, "")


def by_age(pods: list[dict]) -> list[dict]:
    """Oldest first (podByCreationTimestampAndPhase: running before pending on ties)."""
    return sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "",
                                       (p.get("status") or {}).get("phase") != "Running",
                                       p["metadata"]["name"]))


def scaled(value, total: int) -> int:
    """An int-or-percent of ``total``, rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value or 0)


def budgets(ds: dict, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for a RollingUpdate; maxUnavailable is at least 1 when
    both would be 0."""
    rolling = (((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {})
    surge = scaled(rolling.get("maxSurge", 0), desired)
    unavailable = scaled(rolling.get("maxUnavailable", 1), desired)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


@dataclass
class NodePlan:
    needs_pod: bool = False
    delete: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # failed pods (deleted with backoff)


def plan_node(should_run: bool, may_continue: bool, pods: list[dict], hash_: str,
              surge: bool) -> NodePlan:
    plan = NodePlan()
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    if should_run and not pods:
        plan.needs_pod = True
    elif may_continue:
        running = []
        for pod in live:
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Failed":
                plan.failed.append(pod)
            elif phase == "Succeeded":
                plan.delete.append(pod)
            else:
                running.append(pod)
        ordered = by_age(running)
        if not surge:
            plan.delete += ordered[1:]
        else:
            newest = [p for p in ordered if _hash(p) == hash_][:1]
            oldest = [p for p in ordered if _hash(p) != hash_][:1]
            plan.delete += [p for p in ordered if p not in newest and p not in oldest]
    else:
        plan.delete += live
    return plan


def updated_pods_on_node(pods: list[dict], hash_: str) -> tuple[dict | None, dict | None, bool]:
    """findUpdatedPodsOnNode: (new pod, old pod, ok); not ok with duplicates."""
    new = old = None
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if _hash(pod) == hash_:
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(node_pods: dict[str, list[dict]], hash_: str, max_surge: int,
                   max_unavailable: int, min_ready: int, now: datetime,
                   eligible: set[str]) -> tuple[list[dict], list[str]]:
    """(old pods to delete, nodes to create a new pod on) for one RollingUpdate step."""
    def available(pod: dict) -> bool:
        return is_pod_available(pod, min_ready, now)

    if max_surge == 0:
        unavailable, replace, candidates = 0, [], []
        for name in sorted(node_pods):
            new, old, ok = updated_pods_on_node(node_pods[name], hash_)
            if not ok or (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                unavailable += not available(new)
            elif not available(old):
                replace.append(old)
            elif unavailable < max_unavailable:
                candidates.append(old)
        room = max(0, min(max_unavailable - unavailable, len(candidates)))
        return replace + candidates[:room], []
    delete, allowed, candidates, surging = [], [], [], 0
    for name in sorted(node_pods):
        new, old, ok = updated_pods_on_node(node_pods[name], hash_)
        if not ok or old is None:
            continue
        if new is None:
            if not available(old):
                if name not in eligible:
                    delete.append(old)
                else:
                    allowed.append(name)
            elif surging < max_surge:
                candidates.append(name)
        elif not available(new):
            surging += 1
        else:
            delete.append(old)
    room = max(0, min(max_surge - surging, len(candidates)))
    return delete, allowed + candidates[:room]
