"""Jobs and CronJobs of ``batch/v1``.

Since 1.30 a Job's row leads with a STATUS derived from its conditions (Complete, Failed,
Suspended, FailureTarget; Terminating while being deleted; Running otherwise) and shows
COMPLETIONS as ``succeeded/completions`` (``0/1 of 3`` for a work queue with parallelism) and
DURATION from start to completion, or to now while running. CronJobs show their schedule, time
zone, suspension, active job count and how long ago they last fired.
"""

from __future__ import annotations

import datetime

from .base import (
    Printer,
    age_column,
    age_of,
    as_int,
    column,
    containers_column,
    count,
    dig,
    images_column,
    is_deleting,
    name_column,
    name_of,
    template_containers,
)
from .descriptions import doc
from .labels import format_label_selector
from .timefmt import between, parse_time, since


def _condition_true(job: dict, kind: str) -> bool:
    """``hasJobCondition``: the first condition of ``kind`` decides."""
    for cond in dig(job, "status", "conditions", default=[]):
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond.get("status") == "True"
    return False


def job_status(job: dict) -> str:
    if _condition_true(job, "Complete"):
        return "Complete"
    if _condition_true(job, "Failed"):
        return "Failed"
    if is_deleting(job):
        return "Terminating"
    if _condition_true(job, "Suspended"):
        return "Suspended"
    if _condition_true(job, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _completions(job: dict) -> str:
    succeeded = as_int(dig(job, "status", "succeeded"))
    completions = dig(job, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{as_int(completions)}"
    parallelism = as_int(dig(job, "spec", "parallelism"))
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def _duration(job: dict, now: datetime.datetime) -> str:
    start = parse_time(dig(job, "status", "startTime"))
    if start is None:
        return ""
    end = parse_time(dig(job, "status", "completionTime"))
    return between(start, end if end is not None else now)


def _job_cells(job: dict, now: datetime.datetime) -> list:
    names, images = template_containers(job, "spec", "template")
    return [
        name_of(job),
        job_status(job),
        _completions(job),
        _duration(job, now),
        age_of(job, now),
        names,
        images,
        format_label_selector(dig(job, "spec", "selector")),
    ]


JOB = Printer(
    [
        name_column(),
        column("Status", "string", "Status of the job."),
        column("Completions", "string", doc("JobStatus.succeeded")),
        column("Duration", "string", "Time required to complete the job."),
        age_column(),
        containers_column(),
        images_column(),
        column("Selector", "string", doc("JobSpec.selector"), priority=1),
    ],
    _job_cells,
)


def _bool_pointer(value: object) -> str:
    """``printBoolPtr``."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def _cron_job_cells(cron: dict, now: datetime.datetime) -> list:
    spec = cron.get("spec") or {}
    last = dig(cron, "status", "lastScheduleTime")
    job_template = spec.get("jobTemplate") or {}
    names, images = template_containers(job_template, "spec", "template")
    return [
        name_of(cron),
        str(spec.get("schedule") or ""),
        str(spec["timeZone"]) if spec.get("timeZone") is not None else "<none>",
        _bool_pointer(spec.get("suspend")),
        count(dig(cron, "status", "active")),
        "<none>" if last is None else since(last, now),
        age_of(cron, now),
        names,
        images,
        format_label_selector(dig(job_template, "spec", "selector")),
    ]


_CRON = "batch/v1beta1.CronJob"

CRON_JOB = Printer(
    [
        name_column(),
        column("Schedule", "string", doc(_CRON + "Spec.schedule")),
        column("Timezone", "string", doc(_CRON + "Spec.timeZone")),
        column("Suspend", "boolean", doc(_CRON + "Spec.suspend")),
        column("Active", "integer", doc(_CRON + "Status.active")),
        column("Last Schedule", "string", doc(_CRON + "Status.lastScheduleTime")),
        age_column(),
        containers_column(),
        images_column(),
        column("Selector", "string", doc("JobSpec.selector"), priority=1),
    ],
    _cron_job_cells,
)

PRINTERS = {("batch", "Job"): JOB, ("batch", "CronJob"): CRON_JOB}
