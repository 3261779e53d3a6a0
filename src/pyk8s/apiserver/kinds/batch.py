"""Jobs and CronJobs: defaults, generated selectors, validation, field selectors.

Follows pkg/apis/batch/v1/defaults.go and the job strategy: a Job gets a selector
on its own uid and the matching ``batch.kubernetes.io/*`` labels on its template
(unless ``manualSelector``), its template is immutable once created (except the
scheduling directives of a suspended job), and pod templates must not restart
Always. CronJob schedules are checked with :mod:`pyk8s.apiserver.kinds.cron`.
"""

from __future__ import annotations

import copy
import re
import zoneinfo
from typing import Any

from ..errors import FieldError, invalid, not_supported, required
from ..strategy import Strategy
from ..validation import (
    selector_is_empty,
    selector_matches,
    validate_annotations,
    validate_immutable,
    validate_label_selector,
    validate_labels,
    validate_nonnegative,
)
from . import register
from .cron import CronError, parse_schedule
from .podspec import default_template, template_labels, validate_pod_template_spec
from .workloads import _name_warning

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
#: Template fields a suspended, never-started Job may still change.
_MUTABLE_WHEN_SUSPENDED = ("nodeSelector", "tolerations", "affinity", "schedulingGates")
_TZ_PART = re.compile(r"^[A-Za-z._+\-0-9]+$")


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def default_job_spec(spec: dict) -> None:
    """SetDefaults_Job's spec part (a CronJob's jobTemplate gets only the pod defaults)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or []:
            pattern.setdefault("status", "True")
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = (
            "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
        )


def generate_selector(job: dict) -> None:
    """The job strategy's generateSelector: select this job's uid, label the template."""
    meta = job.get("metadata") or {}
    spec = _spec(job)
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    labels = tmeta.get("labels") or {}
    for key, value in (
        (LEGACY_JOB_NAME, meta.get("name")),
        (LEGACY_CONTROLLER_UID, meta.get("uid")),
        (JOB_NAME, meta.get("name")),
        (CONTROLLER_UID, meta.get("uid")),
    ):
        labels.setdefault(key, value or "")
    tmeta["labels"] = labels
    selector = spec.get("selector") or {}
    match = selector.get("matchLabels") or {}
    match.setdefault(CONTROLLER_UID, meta.get("uid") or "")
    selector["matchLabels"] = match
    spec["selector"] = selector


def _validate_restart(template: Any, path: str) -> list[FieldError]:
    policy = ((template or {}).get("spec") or {}).get("restartPolicy") or ""
    if policy in ("OnFailure", "Never"):
        return []
    return [not_supported(path, policy, ["OnFailure", "Never"])]


def validate_job_spec(spec: dict, path: str) -> list[FieldError]:
    """validateJobSpec: counts, modes and the pod template (selector checks are separate)."""
    errs: list[FieldError] = []
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ):
        errs += validate_nonnegative(f"{path}.{key}", spec.get(key))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed" and spec.get("completions") is None:
        errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None and replacement not in ("TerminatingOrFailed", "Failed"):
        errs.append(
            not_supported(
                f"{path}.podReplacementPolicy", replacement, ["Failed", "TerminatingOrFailed"]
            )
        )
    template = spec.get("template")
    errs += validate_pod_template_spec(template, f"{path}.template")
    errs += _validate_restart(template, f"{path}.template.spec.restartPolicy")
    return errs


@register("batch", "Job")
class JobStrategy(Strategy):
    tracks_generation = True

    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {}
        if not _spec(obj).get("manualSelector"):
            generate_selector(obj)

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        default_job_spec(spec)
        labels = template_labels(spec.get("template"))
        meta = obj.setdefault("metadata", {})
        if labels and not meta.get("labels"):
            meta["labels"] = dict(labels)
        default_template(spec.setdefault("template", {}))

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = validate_job_spec(spec, "spec")
        selector = spec.get("selector")
        labels = template_labels(spec.get("template"))
        if selector is None:
            errs.append(required("spec.selector"))
        else:
            errs += validate_label_selector("spec.selector", selector)
            if not selector_is_empty(selector) and not selector_matches(selector, labels):
                errs.append(
                    invalid(
                        "spec.template.metadata.labels",
                        labels,
                        "`selector` does not match template `labels`",
                    )
                )
        if not spec.get("manualSelector"):
            uid = (obj.get("metadata") or {}).get("uid") or ""
            if (
                labels.get(CONTROLLER_UID, uid) != uid
                or labels.get(LEGACY_CONTROLLER_UID, uid) != uid
            ):
                errs.append(
                    invalid(
                        "spec.template.metadata.labels", labels, "`selector` not auto-generated"
                    )
                )
            if (
                selector is not None
                and (selector.get("matchLabels") or {}).get(CONTROLLER_UID) != uid
            ):
                errs.append(invalid("spec.selector", selector, "`selector` not auto-generated"))
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        spec, old_spec = _spec(obj), old.get("spec") or {}
        errs = self.validate(obj)
        for key in ("selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex"):
            errs += validate_immutable(f"spec.{key}", spec.get(key), old_spec.get(key))
        elastic = (
            spec.get("completionMode") == "Indexed"
            and spec.get("completions") == spec.get("parallelism")
            and old_spec.get("completions") == old_spec.get("parallelism")
        )
        if not elastic:
            errs += validate_immutable(
                "spec.completions", spec.get("completions"), old_spec.get("completions")
            )
        template, old_template = spec.get("template") or {}, old_spec.get("template") or {}
        status = old.get("status") or {}
        if old_spec.get("suspend") and not status.get("startTime"):
            template, old_template = (
                _without_scheduling(template),
                _without_scheduling(old_template),
            )
        errs += validate_immutable("spec.template", template, old_template)
        return errs

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return {"status.successful": str((obj.get("status") or {}).get("succeeded") or 0)}

    def warnings(self, obj: dict) -> list[str]:
        return _name_warning(obj)


def _without_scheduling(template: dict) -> dict:
    template = copy.deepcopy(template)
    meta = template.get("metadata") or {}
    meta.pop("labels", None)
    meta.pop("annotations", None)
    for key in _MUTABLE_WHEN_SUSPENDED:
        (template.get("spec") or {}).pop(key, None)
    return template


def validate_time_zone(path: str, tz: Any) -> list[FieldError]:
    if tz is None:
        return []
    if tz == "":
        return [invalid(path, tz, "timeZone must be nil or non-empty string")]
    if any(p in (".", "..") or p.startswith("-") or not _TZ_PART.match(p) for p in tz.split("/")):
        return [invalid(path, tz, f"unknown time zone {tz}")]
    if tz.lower() == "local":
        return [
            invalid(
                path,
                tz,
                "timeZone must be an explicit time zone as defined in "
                "https://www.iana.org/time-zones",
            )
        ]
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [invalid(path, tz, f"unknown time zone {tz}")]
    return []


@register("batch", "CronJob")
class CronJobStrategy(Strategy):
    tracks_generation = True

    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {}

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = spec.setdefault("jobTemplate", {})
        job_template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        default_template(job_template.setdefault("spec", {}).setdefault("template", {}))

    def _validate(self, obj: dict, *, allow_tz: bool) -> list[FieldError]:
        spec = _spec(obj)
        errs: list[FieldError] = []
        schedule = spec.get("schedule") or ""
        if not schedule:
            errs.append(required("spec.schedule"))
        else:
            try:
                parse_schedule(schedule)
            except CronError as err:
                errs.append(invalid("spec.schedule", schedule, str(err)))
            if "TZ" in schedule and allow_tz and spec.get("timeZone") is not None:
                errs.append(
                    invalid(
                        "spec.schedule",
                        schedule,
                        "cannot use both timeZone field and TZ or CRON_TZ in schedule",
                    )
                )
            elif "TZ" in schedule and not allow_tz:
                errs.append(
                    invalid(
                        "spec.schedule",
                        schedule,
                        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                    )
                )
        errs += validate_time_zone("spec.timeZone", spec.get("timeZone"))
        policy = spec.get("concurrencyPolicy")
        if not policy:
            errs.append(required("spec.concurrencyPolicy"))
        elif policy not in ("Allow", "Forbid", "Replace"):
            errs.append(
                not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"])
            )
        for key in (
            "startingDeadlineSeconds",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        ):
            errs += validate_nonnegative(f"spec.{key}", spec.get(key))
        job_template = spec.get("jobTemplate") or {}
        jmeta = job_template.get("metadata") or {}
        errs += validate_labels("spec.jobTemplate.labels", jmeta.get("labels"))
        errs += validate_annotations("spec.jobTemplate.annotations", jmeta.get("annotations"))
        job_spec = job_template.get("spec") or {}
        errs += validate_job_spec(job_spec, "spec.jobTemplate.spec")
        if job_spec.get("selector") is not None:
            errs.append(
                invalid(
                    "spec.jobTemplate.spec.selector",
                    job_spec["selector"],
                    "`selector` will be auto-generated",
                )
            )
        if job_spec.get("manualSelector"):
            errs.append(
                not_supported(
                    "spec.jobTemplate.spec.manualSelector",
                    job_spec["manualSelector"],
                    ["nil", "false"],
                )
            )
        name = (obj.get("metadata") or {}).get("name") or ""
        if len(name) > 52:
            errs.append(invalid("metadata.name", name, "must be no more than 52 characters"))
        return errs

    def validate(self, obj: dict) -> list[FieldError]:
        return self._validate(obj, allow_tz=False)

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        old_schedule = (old.get("spec") or {}).get("schedule") or ""
        return [
            e
            for e in self._validate(obj, allow_tz="TZ" in old_schedule)
            if e.field != "metadata.name"
        ]

    def warnings(self, obj: dict) -> list[str]:
        return _name_warning(obj)
