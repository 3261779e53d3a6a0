"""Conditions and pod outcomes for the Job controller's status (upstream's job_controller.go).

Kept apart from the controller so the status math is tested as tables: the job-tracking
finalizer, which pods count as failed, when restarts exceed the backoff limit, the condition texts of 1.32, and
``ensure_condition`` (upstream's ensureJobConditionStatus: a transition changes
lastTransitionTime, a repeat only refreshes reason and message).
"""

from __future__ import annotations

from datetime import datetime

from .util.times import format_time

COMPLETE_MESSAGE = "Reached expected number of succeeded pods"
FAILURE_MESSAGES = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
    "FailedIndexes": "Job has failed indexes",
    "MaxFailedIndexesExceeded": "Job has exceeded the specified maximum number of failed "
                                "indexes",
}
TERMINAL_OF = {"FailureTarget": "Failed", "SuccessCriteriaMet": "Complete"}
FINALIZER = "batch.kubernetes.io/job-tracking"


def has_finalizer(pod: dict) -> bool:
    """Whether the pod still holds the job-tracking finalizer (it is not yet counted)."""
    return FINALIZER in (pod["metadata"].get("finalizers") or ())


def terminal_for(interim: str, reason: str, message: str) -> dict:
    """What a Job is heading to: the interim condition first, then the terminal one."""
    return {"interim": interim, "type": TERMINAL_OF[interim], "reason": reason,
            "message": message}


def ensure_condition(conds: list[dict], type_: str, status: str, reason: str, message: str,
                     now: datetime) -> bool:
    """Set condition ``type_`` in ``conds`` (in place); True when its status changed."""
    stamp = format_time(now)
    for cond in conds:
        if cond.get("type") != type_:
            continue
        if cond.get("status") == status:
            cond.update(reason=reason, message=message)
            return False
        cond.update(status=status, reason=reason, message=message, lastProbeTime=stamp,
                    lastTransitionTime=stamp)
        return True
    if status == "False":  # no condition yet: nothing to say it is false
        return False
    conds.append({"type": type_, "status": status, "reason": reason, "message": message,
                  "lastProbeTime": stamp, "lastTransitionTime": stamp})
    return True


def is_failed_pod(pod: dict, job_spec: dict) -> bool:
    """Failed, or (unless only Failed pods are replaced) being deleted before succeeding:
    deleted pods count as failures so orphans never go uncounted."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Failed":
        return True
    if job_spec.get("podFailurePolicy") or job_spec.get("podReplacementPolicy") == "Failed":
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded"


def past_backoff_limit_on_failure(job_spec: dict, pods: list[dict]) -> bool:
    """With restartPolicy OnFailure, container restarts of running pods count as failures."""
    template_spec = (job_spec.get("template") or {}).get("spec") or {}
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") not in ("Running", "Pending"):
            continue
        for cs in (status.get("initContainerStatuses") or []) + \
                (status.get("containerStatuses") or []):
            restarts += cs.get("restartCount") or 0
    limit = job_spec.get("backoffLimit") or 0
    return restarts > 0 if limit == 0 else restarts >= limit
