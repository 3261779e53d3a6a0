"""Reading a Job's outcome, shared by the Job, CronJob and TTL-after-finished controllers.

A Job is finished once it carries a ``Complete`` or ``Failed`` condition with status
``True`` (upstream's ``IsJobFinished``); the condition's lastTransitionTime is when it
finished. The intermediate ``SuccessCriteriaMet``/``FailureTarget`` conditions of 1.31+
do not count: pods may still be terminating.
"""

from __future__ import annotations

from datetime import datetime

from .times import parse_time

FINISHED_TYPES = ("Complete", "Failed")


def condition(obj: dict, type_: str) -> dict | None:
    """The condition of ``type_`` in ``obj.status.conditions`` (any status), or None."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond
    return None


def has_condition(obj: dict, type_: str) -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == "True"


def finished_condition(job: dict) -> dict | None:
    """The Complete or Failed condition that is True, or None while the job runs."""
    for type_ in FINISHED_TYPES:
        if has_condition(job, type_):
            return condition(job, type_)
    return None


def is_finished(job: dict) -> bool:
    return finished_condition(job) is not None


def is_succeeded(job: dict) -> bool:
    return has_condition(job, "Complete")


def finish_time(job: dict) -> datetime | None:
    """When the job finished (its terminal condition's lastTransitionTime)."""
    cond = finished_condition(job)
    return parse_time(cond.get("lastTransitionTime")) if cond else None
