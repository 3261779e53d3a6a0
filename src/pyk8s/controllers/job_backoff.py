"""How long the Job controller waits before replacing failed pods (upstream's backoff_utils).

Each Job has a record of the failures seen since its last success and when the last one
happened; every failure doubles the delay before new pods are created, from 10 s up to
6 min, and a success resets it. Records live in memory only (a restart forgets them, as
upstream). Functions take ``now`` explicitly so the math is tested without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .util.times import parse_time

DEFAULT_BACKOFF = 10.0
MAX_BACKOFF = 360.0


@dataclass(frozen=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: datetime | None = None


def pod_finished_time(pod: dict) -> datetime | None:
    """When a pod ended: its latest container termination, else its Ready condition's last
    transition, else its deletion or creation time (getFinishedTime)."""
    status = pod.get("status") or {}
    ends = [parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
            for cs in status.get("containerStatuses") or ()]
    ends = [t for t in ends if t is not None]
    if ends:
        return max(ends)
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("lastTransitionTime"):
            return parse_time(cond["lastTransitionTime"])
    meta = pod.get("metadata") or {}
    return parse_time(meta.get("deletionTimestamp")) or parse_time(meta.get("creationTimestamp"))


def _sorted_times(pods: list[dict]) -> list[datetime]:
    return sorted(t for t in (pod_finished_time(p) for p in pods) if t is not None)


def next_record(record: BackoffRecord, succeeded: list[dict], failed: list[dict]
                ) -> BackoffRecord:
    """The record after pods newly counted as ``succeeded`` and ``failed``: failures after
    the last new success extend it, a success resets it."""
    fail_times = _sorted_times(failed)
    if not succeeded:
        if not fail_times:
            return record
        return BackoffRecord(record.failures_after_last_success + len(fail_times),
                             fail_times[-1])
    last_success = (_sorted_times(succeeded) or [None])[-1]
    later = [t for t in fail_times if last_success is None or t > last_success]
    return BackoffRecord(len(later), later[-1] if later else None)


def backoff_delay(failures: int, base: float = DEFAULT_BACKOFF, cap: float = MAX_BACKOFF
                  ) -> float:
    """base * 2**(failures-1), capped (0 for no failures)."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, 32))


def remaining_time(record: BackoffRecord, now: datetime, base: float = DEFAULT_BACKOFF,
                   cap: float = MAX_BACKOFF) -> float:
    """Seconds still to wait before creating pods (0 when the backoff has passed)."""
    if record.failures_after_last_success == 0 or record.last_failure_time is None:
        return 0.0
    delay = backoff_delay(record.failures_after_last_success, base, cap)
    elapsed = (now - record.last_failure_time).total_seconds()
    return max(0.0, delay - elapsed)
