"""Reading pods as the workload controllers do: ready, available, active, which to delete.

* ready: the Ready condition is True; available: ready for at least ``minReadySeconds``
  (measured from the condition's lastTransitionTime);
* active: not Succeeded/Failed and not being deleted (what counts toward replicas);
* deletion order (upstream's ActivePodsWithRanks): when scaling down, delete first the
  pods that matter least: unassigned before assigned, Pending before Unknown before
  Running, not ready before ready, lower ``controller.kubernetes.io/pod-deletion-cost``
  first, pods doubled up on a node with related pods first, then (with the
  LogarithmicScaleDown rules) ready more recently, more restarts, created more recently,
  comparing times on a log2 scale of their age and breaking ties by uid.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from datetime import datetime, timedelta

from .times import parse_time, utcnow

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _status(pod: dict) -> dict:
    return pod.get("status") or {}


def ready_condition(pod: dict) -> dict | None:
    for cond in _status(pod).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: dict) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def pod_ready_time(pod: dict) -> datetime | None:
    """When a ready pod became ready (None if not ready or the time is unknown)."""
    return parse_time(ready_condition(pod).get("lastTransitionTime")) if is_pod_ready(pod) \
        else None


def is_pod_available(pod: dict, min_ready_seconds: int, now: datetime | None = None) -> bool:
    """Ready, and ready for longer than ``min_ready_seconds`` (podutil.IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = pod_ready_time(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < (now or utcnow())


def is_pod_active(pod: dict) -> bool:
    """Counts toward replicas: not finished and not being deleted (controller.IsPodActive)."""
    return _status(pod).get("phase") not in ("Succeeded", "Failed") and \
        not (pod.get("metadata") or {}).get("deletionTimestamp")


def filter_active_pods(pods: list[dict]) -> list[dict]:
    return [p for p in pods if is_pod_active(p)]


def deletion_cost(pod: dict) -> int:
    """The pod-deletion-cost annotation (0 when unset or not an int32)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST)
    try:
        cost = int(value) if value is not None else 0
    except ValueError:
        return 0
    return cost if -(2 ** 31) <= cost < 2 ** 31 else 0


def max_restarts(pod: dict) -> int:
    return max((c.get("restartCount") or 0 for c in _status(pod).get("containerStatuses") or ()),
               default=0)


def _node(pod: dict) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


def _log_rank(when: datetime, now: datetime) -> int:
    """floor(log2(age in nanoseconds)), -1 for no age (upstream's logarithmic buckets)."""
    nanos = (now - when) // timedelta(microseconds=1) * 1000
    return int(math.log2(nanos)) if nanos > 0 else -1


def _compare_times(a: datetime | None, b: datetime | None, now: datetime,
                   uids: tuple[str, str]) -> int:
    """Negative when the pod with time ``a`` goes first: a missing time first, then the
    younger (on the log scale), then the smaller uid."""
    if a is None or b is None:
        return -1 if a is None else 1
    diff = _log_rank(a, now) - _log_rank(b, now)
    if diff:
        return diff
    return -1 if uids[0] < uids[1] else (1 if uids[0] > uids[1] else 0)


def _compare(a: tuple[dict, int], b: tuple[dict, int], now: datetime) -> int:
    (pa, rank_a), (pb, rank_b) = a, b
    for key in (lambda p: bool(_node(p)),
                lambda p: _PHASE_ORDER.get(_status(p).get("phase"), 0),
                is_pod_ready, deletion_cost):
        ka, kb = key(pa), key(pb)
        if ka != kb:
            return -1 if ka < kb else 1
    if rank_a != rank_b:
        return -1 if rank_a > rank_b else 1
    uids = ((pa.get("metadata") or {}).get("uid", ""), (pb.get("metadata") or {}).get("uid", ""))
    if is_pod_ready(pa) and is_pod_ready(pb):
        ta, tb = pod_ready_time(pa), pod_ready_time(pb)
        if ta != tb:
            return _compare_times(ta, tb, now, uids)
    if max_restarts(pa) != max_restarts(pb):
        return -1 if max_restarts(pa) > max_restarts(pb) else 1
    ca = parse_time((pa.get("metadata") or {}).get("creationTimestamp"))
    cb = parse_time((pb.get("metadata") or {}).get("creationTimestamp"))
    if ca != cb:
        return _compare_times(ca, cb, now, uids)
    return 0


def rank_by_node(pods: list[dict], related: list[dict]) -> list[int]:
    """For each pod, how many active related pods share its node (unassigned pods
    count as sharing the empty node name, as upstream)."""
    on_node = Counter(_node(p) for p in related if is_pod_active(p))
    return [on_node[_node(p)] for p in pods]


def sort_for_deletion(pods: list[dict], ranks: list[int], now: datetime | None = None
                      ) -> list[dict]:
    """``pods`` ordered so the ones to delete first come first."""
    now = now or utcnow()
    key = functools.cmp_to_key(lambda a, b: _compare(a, b, now))
    return [pod for pod, _ in sorted(zip(pods, ranks, strict=True), key=key)]


def pods_to_delete(pods: list[dict], related: list[dict], count: int,
                   now: datetime | None = None) -> list[dict]:
    """The ``count`` pods to delete when scaling down (upstream's getPodsToDelete):
    ranked against ``related`` pods (those of sibling ReplicaSets too) on the same node."""
    if count < len(pods):
        pods = sort_for_deletion(pods, rank_by_node(pods, related), now)
    return pods[:count]
