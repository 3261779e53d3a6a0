"""Workload controllers' objects: Deployments, ReplicaSets, StatefulSets, DaemonSets,
ReplicationControllers and ControllerRevisions.

Defaults follow pkg/apis/apps/v1/defaults.go (and the core ReplicationController
ones), pod templates get the PodSpec defaults, status is reset on create, the
generation is tracked, and validation gives upstream's messages for the mistakes
users make most: a missing or non-matching selector, negative replicas, a
template restartPolicy other than Always, changes to immutable selectors.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import FieldError, forbidden, invalid, not_supported, required
from ..strategy import Strategy
from ..validation import (
    is_dns1123_label,
    is_valid_percent,
    selector_is_empty,
    selector_matches,
    validate_annotations,
    validate_immutable,
    validate_label_selector,
    validate_labels,
    validate_nonnegative,
)
from . import register
from .podspec import default_template, template_labels, validate_pod_template_spec

DS_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def _int_or_percent(value: Any) -> int:
    if isinstance(value, str):
        return int(value[:-1]) if value.endswith("%") and value[:-1].isdigit() else 0
    return value if isinstance(value, int) else 0


def validate_int_or_percent(path: str, value: Any) -> list[FieldError]:
    """ValidatePositiveIntOrPercent plus IsNotMoreThan100Percent."""
    if isinstance(value, str):
        errs = [invalid(path, value, m) for m in is_valid_percent(value)]
        if not errs and _int_or_percent(value) > 100:
            errs.append(invalid(path, value, "must not be greater than 100%"))
        return errs
    if isinstance(value, int) and not isinstance(value, bool):
        return validate_nonnegative(path, value)
    return [invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def _validate_rolling(path: str, rolling: dict) -> list[FieldError]:
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs: list[FieldError] = []
    for key, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
        if value is not None:
            errs += validate_int_or_percent(f"{path}.{key}", value)
    if _int_or_percent(unavailable) == 0 and _int_or_percent(surge) == 0:
        errs.append(
            invalid(f"{path}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0")
        )
    return errs


def validate_selector_and_template(
    spec: dict, kind: str, *, require_selector: bool = True, validate_pod: bool = True
) -> list[FieldError]:
    """Selector present, non-empty and matching the template's labels; template valid."""
    errs: list[FieldError] = []
    selector = spec.get("selector")
    if selector is None:
        if require_selector:
            errs.append(required("spec.selector"))
    else:
        errs += validate_label_selector("spec.selector", selector)
        if selector_is_empty(selector):
            errs.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind}"))
    template = spec.get("template")
    if template is None:
        return errs + [required("spec.template")]
    labels = template_labels(template)
    if (selector is not None and not selector_is_empty(selector)) or not require_selector:
        if not selector_matches(selector, labels):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
    if validate_pod:
        errs += validate_pod_template_spec(template, "spec.template")
    else:
        meta = template.get("metadata") or {}
        errs += validate_labels("spec.template.labels", meta.get("labels"))
        errs += validate_annotations("spec.template.annotations", meta.get("annotations"))
    return errs


def _validate_always_restart(
    spec: dict, kind_name: str, *, deadline_invalid: bool = False
) -> list[FieldError]:
    pod = (spec.get("template") or {}).get("spec") or {}
    errs: list[FieldError] = []
    if pod.get("restartPolicy") != "Always":
        errs.append(
            not_supported(
                "spec.template.spec.restartPolicy", pod.get("restartPolicy") or "", ["Always"]
            )
        )
    deadline = pod.get("activeDeadlineSeconds")
    if deadline is not None:
        msg = f"activeDeadlineSeconds in {kind_name} is not Supported"
        errs.append(
            invalid("spec.template.spec.activeDeadlineSeconds", deadline, msg)
            if deadline_invalid
            else forbidden("spec.template.spec.activeDeadlineSeconds", msg)
        )
    return errs


def _name_warning(obj: dict) -> list[str]:
    msgs = is_dns1123_label((obj.get("metadata") or {}).get("name") or "")
    if not msgs:
        return []
    return [
        "metadata.name: this is used in Pod names and hostnames, which can result in "
        f"surprising behavior; a DNS label is recommended: [{' '.join(msgs)}]"
    ]


class _WorkloadStrategy(Strategy):
    """Status reset on create, generation tracking, template defaults."""

    tracks_generation = True
    empty_status: dict = {}

    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = copy.deepcopy(self.empty_status)

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        if not isinstance(spec.get("template"), dict):
            spec["template"] = {}
        default_template(spec["template"])

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return self.validate(obj) + validate_immutable(
            "spec.selector", _spec(obj).get("selector"), (old.get("spec") or {}).get("selector")
        )


@register("apps", "Deployment")
class DeploymentStrategy(_WorkloadStrategy):
    def prepare_for_update(self, obj: dict, old: dict) -> None:
        # Annotations are copied to ReplicaSets, so changing them is a new generation too.
        meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
        if meta.get("annotations") != old_meta.get("annotations"):
            meta["generation"] = int(old_meta.get("generation") or 1) + 1

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.get("rollingUpdate")
            if not isinstance(rolling, dict):
                rolling = strategy["rollingUpdate"] = {}
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        super().default(obj)

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = validate_nonnegative("spec.replicas", spec.get("replicas"))
        errs += validate_selector_and_template(spec, "deployment")
        errs += _validate_always_restart(spec, "ReplicaSet")
        strategy = spec.get("strategy") or {}
        stype = strategy.get("type")
        if stype == "Recreate":
            if strategy.get("rollingUpdate") is not None:
                errs.append(
                    forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    )
                )
        elif stype == "RollingUpdate":
            if strategy.get("rollingUpdate") is None:
                errs.append(
                    required(
                        "spec.strategy.rollingUpdate", "this should be defaulted and never be nil"
                    )
                )
            else:
                errs += _validate_rolling("spec.strategy.rollingUpdate", strategy["rollingUpdate"])
        else:
            errs.append(not_supported("spec.strategy", strategy, ["Recreate", "RollingUpdate"]))
        errs += validate_nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
        errs += validate_nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
        deadline = spec.get("progressDeadlineSeconds")
        if deadline is not None:
            if deadline <= 0:
                errs.append(
                    invalid("spec.progressDeadlineSeconds", deadline, "must be greater than zero")
                )
            if deadline <= (spec.get("minReadySeconds") or 0):
                errs.append(
                    invalid(
                        "spec.progressDeadlineSeconds",
                        deadline,
                        "must be greater than minReadySeconds",
                    )
                )
        return errs

    def warnings(self, obj: dict) -> list[str]:
        return _name_warning(obj)


@register("apps", "ReplicaSet")
class ReplicaSetStrategy(_WorkloadStrategy):
    empty_status = {"replicas": 0}

    def default(self, obj: dict) -> None:
        _spec(obj).setdefault("replicas", 1)
        super().default(obj)

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = validate_nonnegative("spec.replicas", spec.get("replicas"))
        errs += validate_nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
        errs += validate_selector_and_template(spec, "deployment")
        return errs + _validate_always_restart(spec, "ReplicaSet")

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return {"status.replicas": str((obj.get("status") or {}).get("replicas") or 0)}

    def warnings(self, obj: dict) -> list[str]:
        return _name_warning(obj)


@register("", "ReplicationController")
class ReplicationControllerStrategy(ReplicaSetStrategy):
    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        labels = template_labels(spec.get("template"))
        if labels:
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
        spec.setdefault("replicas", 1)
        default_template(spec.get("template"))

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = validate_nonnegative("spec.replicas", spec.get("replicas"))
        errs += validate_nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
        selector = spec.get("selector") or {}
        if not selector:
            errs.append(required("spec.selector"))
        errs += validate_labels("spec.selector", selector)
        template = spec.get("template")
        if template is None:
            return errs + [required("spec.template")]
        labels = template_labels(template)
        if selector and not all(labels.get(k) == v for k, v in selector.items()):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        errs += validate_pod_template_spec(template, "spec.template")
        return errs + _validate_always_restart(spec, "ReplicationController")

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return self.validate(obj)


@register("apps", "StatefulSet")
class StatefulSetStrategy(_WorkloadStrategy):
    empty_status = {"replicas": 0, "availableReplicas": 0}

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        update = spec.setdefault("updateStrategy", {})
        if not update.get("type"):
            update["type"] = "RollingUpdate"
            update.setdefault("rollingUpdate", {})
        if update["type"] == "RollingUpdate" and isinstance(update.get("rollingUpdate"), dict):
            update["rollingUpdate"].setdefault("partition", 0)
        retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
        retention.setdefault("whenDeleted", "Retain")
        retention.setdefault("whenScaled", "Retain")
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        for claim in spec.get("volumeClaimTemplates") or []:
            claim.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
            claim.setdefault("status", {}).setdefault("phase", "Pending")
        super().default(obj)

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs: list[FieldError] = []
        policy = spec.get("podManagementPolicy")
        if not policy:
            errs.append(required("spec.podManagementPolicy"))
        elif policy not in ("OrderedReady", "Parallel"):
            errs.append(
                invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
            )
        update = spec.get("updateStrategy") or {}
        if not update.get("type"):
            errs.append(required("spec.updateStrategy"))
        elif update["type"] == "OnDelete" and update.get("rollingUpdate") is not None:
            errs.append(
                invalid(
                    "spec.updateStrategy.rollingUpdate",
                    update["rollingUpdate"],
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            )
        elif update["type"] == "RollingUpdate" and update.get("rollingUpdate") is not None:
            rolling = update["rollingUpdate"]
            errs += validate_nonnegative(
                "spec.updateStrategy.rollingUpdate.partition", rolling.get("partition")
            )
            if rolling.get("maxUnavailable") is not None:
                errs += validate_int_or_percent(
                    "spec.updateStrategy.rollingUpdate.maxUnavailable", rolling["maxUnavailable"]
                )
        elif update["type"] not in ("OnDelete", "RollingUpdate"):
            errs.append(
                invalid("spec.updateStrategy", update, "must be 'RollingUpdate' or 'OnDelete'")
            )
        retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        for key in ("whenDeleted", "whenScaled"):
            if key in retention and retention[key] not in ("Retain", "Delete"):
                errs.append(
                    not_supported(
                        f"spec.persistentVolumeClaimRetentionPolicy.{key}",
                        retention[key],
                        ["Retain", "Delete"],
                    )
                )
        errs += validate_nonnegative("spec.replicas", spec.get("replicas"))
        errs += validate_nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
        errs += validate_nonnegative(
            "spec.ordinals.start", (spec.get("ordinals") or {}).get("start")
        )
        errs += validate_selector_and_template(spec, "statefulset", validate_pod=False)
        return errs + _validate_always_restart(spec, "StatefulSet")

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        errs = self.validate(obj)
        mutable = (
            "replicas",
            "template",
            "updateStrategy",
            "minReadySeconds",
            "ordinals",
            "persistentVolumeClaimRetentionPolicy",
        )
        spec, old_spec = _spec(obj), old.get("spec") or {}
        if {k: v for k, v in spec.items() if k not in mutable} != {
            k: v for k, v in old_spec.items() if k not in mutable
        }:
            errs.append(
                forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than "
                    "'replicas', 'ordinals', 'template', 'updateStrategy', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                    "are forbidden",
                )
            )
        return errs


@register("apps", "DaemonSet")
class DaemonSetStrategy(_WorkloadStrategy):
    empty_status = {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        obj.setdefault("metadata", {}).setdefault("annotations", {})[DS_TEMPLATE_GENERATION] = "1"

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        old_annotations = (old.get("metadata") or {}).get("annotations") or {}
        generation = int(old_annotations.get(DS_TEMPLATE_GENERATION) or 0)
        if _spec(obj).get("template") != (old.get("spec") or {}).get("template"):
            generation += 1
        if generation:
            meta = obj.setdefault("metadata", {})
            annotations = meta.get("annotations") or {}
            annotations[DS_TEMPLATE_GENERATION] = str(generation)
            meta["annotations"] = annotations

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        update = spec.setdefault("updateStrategy", {})
        update.setdefault("type", "RollingUpdate")
        if update["type"] == "RollingUpdate":
            rolling = update.get("rollingUpdate")
            if not isinstance(rolling, dict):
                rolling = update["rollingUpdate"] = {}
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        super().default(obj)

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = validate_selector_and_template(spec, "daemonset", require_selector=False)
        errs += _validate_always_restart(spec, "DaemonSet", deadline_invalid=True)
        errs += validate_nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
        errs += validate_nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
        update = spec.get("updateStrategy") or {}
        if update.get("type") == "RollingUpdate":
            if update.get("rollingUpdate") is None:
                errs.append(required("spec.updateStrategy.rollingUpdate"))
            else:
                errs += _validate_rolling(
                    "spec.updateStrategy.rollingUpdate", update["rollingUpdate"]
                )
        elif update.get("type") != "OnDelete":
            errs.append(not_supported("spec.updateStrategy", update, ["RollingUpdate", "OnDelete"]))
        return errs


@register("apps", "ControllerRevision")
class ControllerRevisionStrategy(Strategy):
    def validate(self, obj: dict) -> list[FieldError]:
        errs = [] if obj.get("data") is not None else [required("data", "data is mandatory")]
        return errs + validate_nonnegative("revision", obj.get("revision"))

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return self.validate(obj) + validate_immutable("data", obj.get("data"), old.get("data"))
