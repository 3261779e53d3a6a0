"""A ReplicaSet's (or ReplicationController's) status, computed from its claimed pods.

Kept apart from the controller so the arithmetic can be tested as tables: replicas counts
the active pods claimed, fullyLabeledReplicas those whose labels carry every template
label, readyReplicas the Ready ones, availableReplicas those Ready for minReadySeconds.
A failed create/delete sets the ReplicaFailure condition (reason FailedCreate or
FailedDelete by the direction of the diff); a clean sync removes it.
"""

from __future__ import annotations

import copy
from datetime import datetime

from .util.pods import is_pod_available, is_pod_ready
from .util.times import format_time

REPLICA_FAILURE = "ReplicaFailure"
COUNTS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")


def get_condition(status: dict, ctype: str) -> dict | None:
    return next((c for c in status.get("conditions") or () if c.get("type") == ctype), None)


def set_condition(status: dict, cond: dict) -> None:
    """Add or replace ``cond`` unless one of its type has the same status and reason."""
    current = get_condition(status, cond["type"])
    if current and current.get("status") == cond["status"] and \
            current.get("reason") == cond.get("reason"):
        return
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: dict, ctype: str) -> None:
    kept = [c for c in status.get("conditions") or () if c.get("type") != ctype]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def calculate_status(rs: dict, pods: list[dict], manage_error: str | None,
                     now: datetime | None = None) -> dict:
    """The new status of ``rs`` for its active claimed ``pods``; ``manage_error`` is the
    text of a failed create/delete in this sync, if any."""
    spec = rs.get("spec") or {}
    status = copy.deepcopy(rs.get("status") or {})
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = spec.get("minReadySeconds") or 0
    labeled = ready = available = 0
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        labeled += all(labels.get(k) == v for k, v in template_labels.items())
        if is_pod_ready(pod):
            ready += 1
            available += is_pod_available(pod, min_ready, now)
    failure = get_condition(status, REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = len(pods) - (spec.get("replicas") if spec.get("replicas") is not None else 1)
        reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
        set_condition(status, {"type": REPLICA_FAILURE, "status": "True",
                               "lastTransitionTime": format_time(now), "reason": reason,
                               "message": manage_error})
    elif manage_error is None and failure is not None:
        remove_condition(status, REPLICA_FAILURE)
    status.update(replicas=len(pods), fullyLabeledReplicas=labeled, readyReplicas=ready,
                  availableReplicas=available)
    return status


def status_unchanged(rs: dict, new: dict) -> bool:
    """The steady state: nothing to write (counts, conditions and generation agree)."""
    old = rs.get("status") or {}
    return all((old.get(f) or 0) == (new.get(f) or 0) for f in COUNTS) and \
        (rs["metadata"].get("generation") or 0) == (old.get("observedGeneration") or 0) and \
        (old.get("conditions") or []) == (new.get("conditions") or [])
