"""A Deployment's status from its ReplicaSets (upstream's calculateStatus and the
progress estimate of progress.go), as pure functions for table tests.

* counts: replicas / updatedReplicas / readyReplicas / availableReplicas from the
  ReplicaSets' status, unavailableReplicas from spec replicas minus available;
* Available: True (MinimumReplicasAvailable) while available >= replicas - maxUnavailable;
* Progressing, when progressDeadlineSeconds is set and the rollout is not already marked
  complete: NewReplicaSetAvailable once complete, ReplicaSetUpdated whenever this sync
  saw progress, ProgressDeadlineExceeded once the last progress is older than the deadline;
* ReplicaFailure mirrored from the new (else the newest failing) ReplicaSet.
"""

from __future__ import annotations

import copy
from datetime import datetime

from . import deployment_util as du
from .util.times import utcnow


def calculate_status(d: dict, all_rss: list[dict | None], new: dict | None,
                     now: datetime | None = None) -> dict:
    old = d.get("status") or {}
    available = du.status_count(all_rss, "availableReplicas")
    status = {
        "observedGeneration": d["metadata"].get("generation") or 0,
        "replicas": du.status_count(all_rss, "replicas"),
        "updatedReplicas": du.status_count([new], "replicas"),
        "readyReplicas": du.status_count(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(du.replica_count(all_rss) - available, 0),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    if available >= du.replicas(d) - du.max_unavailable(d):
        cond = du.new_condition("Available", "True", "MinimumReplicasAvailable",
                                "Deployment has minimum availability.", now)
    else:
        cond = du.new_condition("Available", "False", "MinimumReplicasUnavailable",
                                "Deployment does not have minimum availability.", now)
    du.set_condition(status, cond)
    return status


def _subject(d: dict, new: dict | None) -> str:
    return f'ReplicaSet "{new["metadata"]["name"]}"' if new else \
        f'Deployment "{d["metadata"]["name"]}"'


def _progress(d: dict, status: dict, new: dict | None, now: datetime) -> None:
    current = du.get_condition(d.get("status") or {}, "Progressing")
    if du.deployment_complete(d, status):
        du.set_condition(status, du.new_condition(
            "Progressing", "True", "NewReplicaSetAvailable",
            f"{_subject(d, new)} has successfully progressed.", now))
    elif du.deployment_progressing(d, status):
        cond = du.new_condition("Progressing", "True", "ReplicaSetUpdated",
                                f"{_subject(d, new)} is progressing.", now)
        if current is not None:
            if current["status"] == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            du.remove_condition(status, "Progressing")
        du.set_condition(status, cond)
    elif du.deployment_timed_out(d, status, now):
        du.set_condition(status, du.new_condition(
            "Progressing", "False", "ProgressDeadlineExceeded",
            f"{_subject(d, new)} has timed out progressing.", now))


def replica_failures(all_rss: list[dict | None], new: dict | None) -> list[dict]:
    """ReplicaFailure conditions as Deployment conditions: the new ReplicaSet's, else
    those of the newest ReplicaSet that has one."""
    candidates = [new] if new is not None else []
    candidates += sorted((rs for rs in all_rss if rs is not None), key=du.by_creation,
                         reverse=True)
    for rs in candidates:
        found = [{"type": c["type"], "status": c["status"],
                  "lastUpdateTime": c.get("lastTransitionTime"),
                  "lastTransitionTime": c.get("lastTransitionTime"),
                  "reason": c.get("reason", ""), "message": c.get("message", "")}
                 for c in (rs.get("status") or {}).get("conditions") or ()
                 if c.get("type") == "ReplicaFailure"]
        if found:
            return found
    return []


def rollout_status(d: dict, all_rss: list[dict | None], new: dict | None,
                   now: datetime | None = None) -> dict:
    """calculate_status plus the Progressing estimate and ReplicaFailure mirroring."""
    now = now or utcnow()
    status = calculate_status(d, all_rss, new, now)
    if not du.has_progress_deadline(d):
        du.remove_condition(status, "Progressing")
    current = du.get_condition(d.get("status") or {}, "Progressing")
    complete = status["replicas"] == status["updatedReplicas"] and current is not None and \
        current.get("reason") == "NewReplicaSetAvailable"
    if du.has_progress_deadline(d) and not complete:
        _progress(d, status, new, now)
    failures = replica_failures(all_rss, new)
    if failures:
        du.set_condition(status, failures[0])
    else:
        du.remove_condition(status, "ReplicaFailure")
    return status


def requeue_after(d: dict, new_status: dict, now: datetime | None = None) -> float | None:
    """Seconds until a stuck rollout should be checked against its deadline (None: no
    need; upstream's requeueStuckDeployment)."""
    current = du.get_condition(d.get("status") or {}, "Progressing")
    if not du.has_progress_deadline(d) or current is None:
        return None
    if du.deployment_complete(d, new_status) or current.get("reason") == \
            "ProgressDeadlineExceeded":
        return None
    deadline = du.progress_deadline(d, d.get("status") or {})
    if deadline is None:
        return None
    after = (deadline - (now or utcnow())).total_seconds()
    return 0.0 if after < 1 else after + 1
