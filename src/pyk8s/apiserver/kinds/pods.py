"""Pods and PodTemplates: defaults, validation, field selectors.

Upstream's pod strategy: status reset to Pending with its QoS class, the "pod
updates may not change fields other than ..." rule, selectable fields. What
kube-apiserver's admission plugins add to pods (service account and its token
volume, default tolerations, priority) lives in :mod:`pyk8s.apiserver.admission`.
"""

from __future__ import annotations

import copy
from decimal import Decimal
import orjson

from ..errors import FieldError, forbidden, invalid, required
from ..strategy import Strategy
from ..validation import inclusive_range_error, is_dns1123_label
from . import register
from .podspec import (
    default_pod_only,
    default_pod_spec,
    default_template,
    validate_pod_spec,
    validate_pod_template_spec,
)
from .quantity import parse_quantity

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

UPDATABLE_POD_SPEC_FIELDS = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)",
    ]
)


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def qos_class(spec: dict) -> str:
    """GetPodQOS: BestEffort, Burstable or Guaranteed from cpu/memory requests and limits."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for bucket, source in ((requests, res.get("requests")), (limits, res.get("limits"))):
            for name, value in (source or {}).items():
                q = parse_quantity(value)
                if name in ("cpu", "memory") and q is not None and q > 0:
                    bucket[name] = bucket.get(name, Decimal(0)) + q
        found = {
            n
            for n, v in (res.get("limits") or {}).items()
            if n in ("cpu", "memory") and (parse_quantity(v) or 0) > 0
        }
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if (
        guaranteed
        and all(limits.get(n) == q for n, q in requests.items())
        and len(requests) == len(limits)
    ):
        return "Guaranteed"
    return "Burstable"


def _spec_diff(old: dict, new: dict) -> str:
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"-\t{key}: {orjson.dumps(old[key]).decode()}")
            if key in new:
                lines.append(f"+\t{key}: {orjson.dumps(new[key]).decode()}")
    return "  core.PodSpec{\n" + "\n".join(lines) + "\n  }"


def validate_pod_update(new: dict, old: dict) -> list[FieldError]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations and gates may change."""
    spec, old_spec = _spec(new), old.get("spec") or {}
    errs: list[FieldError] = []
    for kind in ("containers", "initContainers"):
        containers, old_containers = spec.get(kind) or [], old_spec.get(kind) or []
        if len(containers) != len(old_containers):
            return errs + [
                forbidden(f"spec.{kind}", "pod updates may not add or remove containers")
            ]
        for i, c in enumerate(containers):
            image = c.get("image") or ""
            if not image:
                errs.append(required(f"spec.{kind}[{i}].image"))
            elif image != image.strip():
                errs.append(
                    invalid(
                        f"spec.{kind}[{i}].image",
                        image,
                        "must not have leading or trailing whitespace",
                    )
                )
    deadline, old_deadline = (
        spec.get("activeDeadlineSeconds"),
        old_spec.get("activeDeadlineSeconds"),
    )
    if deadline is not None:
        if not 0 <= deadline <= 2**31 - 1:
            return errs + [
                invalid("spec.activeDeadlineSeconds", deadline, inclusive_range_error(0, 2**31 - 1))
            ]
        if old_deadline is not None and old_deadline < deadline:
            return errs + [
                invalid(
                    "spec.activeDeadlineSeconds",
                    deadline,
                    "must be less than or equal to previous value",
                )
            ]
    elif old_deadline is not None:
        errs.append(
            invalid(
                "spec.activeDeadlineSeconds",
                None,
                "must not update from a positive integer to nil value",
            )
        )
    new_tolerations = spec.get("tolerations") or []
    for t in old_spec.get("tolerations") or []:
        stripped = {k: v for k, v in t.items() if k != "tolerationSeconds"}
        if not any(
            {k: v for k, v in n.items() if k != "tolerationSeconds"} == stripped
            for n in new_tolerations
        ):
            errs.append(
                forbidden(
                    "spec.tolerations",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            )
            break
    old_gates = {g.get("name") for g in old_spec.get("schedulingGates") or []}
    for i, gate in enumerate(spec.get("schedulingGates") or []):
        if gate.get("name") not in old_gates:
            errs.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{gate.get('name')}'",
                )
            )
    if spec == old_spec:
        return errs
    munged = copy.deepcopy(spec)
    for kind in ("containers", "initContainers"):
        for c, o in zip(munged.get(kind) or [], old_spec.get(kind) or []):
            c["image"] = o.get("image")
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        munged.pop(key, None)
        if key in old_spec:
            munged[key] = old_spec[key]
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if old_gates and munged.get("nodeSelector") != old_spec.get("nodeSelector"):
        old_selector = old_spec.get("nodeSelector") or {}
        if all((munged.get("nodeSelector") or {}).get(k) == v for k, v in old_selector.items()):
            munged.pop("nodeSelector", None)
            if "nodeSelector" in old_spec:
                munged["nodeSelector"] = old_spec["nodeSelector"]
    if munged != old_spec:
        errs.append(
            forbidden(
                "spec",
                "pod updates may not change fields other than "
                f"{UPDATABLE_POD_SPEC_FIELDS}\n{_spec_diff(old_spec, munged)}",
            )
        )
    return errs


def _validate_pod(obj: dict) -> list[FieldError]:
    return _validate_pod_annotations(obj) + validate_pod_spec(_spec(obj), "spec", is_pod=True)


def validate_ephemeral_containers_update(new: dict, old: dict) -> list[FieldError]:
    """ValidatePodEphemeralContainersUpdate: ephemeral containers are only ever added
    (never changed or removed), and not to static pods."""
    if MIRROR_ANNOTATION in ((old.get("metadata") or {}).get("annotations") or {}):
        return [forbidden("", "static pods do not support ephemeral containers")]
    errs = _validate_pod(new)
    added = {c.get("name"): c for c in _spec(new).get("ephemeralContainers") or ()}
    for c in (old.get("spec") or {}).get("ephemeralContainers") or ():
        name = c.get("name")
        if name not in added:
            errs.append(forbidden("spec.ephemeralContainers",
                                  f'existing ephemeral containers "{name}" may not be removed\n'))
        elif added[name] != c:
            errs.append(forbidden("spec.ephemeralContainers",
                                  f'existing ephemeral containers "{name}" may not be changed\n'))
    return errs


def _validate_pod_annotations(obj: dict) -> list[FieldError]:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    errs: list[FieldError] = []
    if MIRROR_ANNOTATION in annotations and not _spec(obj).get("nodeName"):
        errs.append(
            invalid(
                f"metadata.annotations[{MIRROR_ANNOTATION}]",
                annotations[MIRROR_ANNOTATION],
                "must set spec.nodeName if mirror pod annotation is set",
            )
        )
    if DELETION_COST_ANNOTATION in annotations:
        value = annotations[DELETION_COST_ANNOTATION]
        try:
            ok = str(int(value)) == value.lstrip("+") and -(2**31) <= int(value) < 2**31
        except ValueError:
            ok = False
        if not ok:
            errs.append(
                invalid(
                    f"metadata.annotations[{DELETION_COST_ANNOTATION}]",
                    value,
                    "must be a 32bit integer",
                )
            )
    return errs


@register("", "Pod")
class PodStrategy(Strategy):
    return_deleted_object = True

    def prepare_for_create(self, obj: dict) -> None:
        spec = _spec(obj)
        self.default(obj)
        status: dict = {"phase": "Pending", "qosClass": qos_class(spec)}
        if spec.get("schedulingGates"):
            status["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": None,
                    "reason": "SchedulingGated",
                    "message": "Scheduling is blocked due to non-empty scheduling gates",
                }
            ]
        obj["status"] = status

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        default_pod_spec(spec)
        default_pod_only(spec)

    def validate(self, obj: dict) -> list[FieldError]:
        errs = _validate_pod(obj)
        if _spec(obj).get("ephemeralContainers"):
            errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return _validate_pod(obj) + validate_pod_update(obj, old)

    def validate_subresource_update(self, subresource: str, obj: dict,
                                    old: dict) -> list[FieldError]:
        if subresource == "ephemeralcontainers":
            return validate_ephemeral_containers_update(obj, old)
        return self.validate_update(obj, old)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        pod_ips = status.get("podIPs") or []
        return {
            "spec.nodeName": spec.get("nodeName") or "",
            "spec.restartPolicy": spec.get("restartPolicy") or "",
            "spec.schedulerName": spec.get("schedulerName") or "",
            "spec.serviceAccountName": spec.get("serviceAccountName") or "",
            "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
            "status.phase": status.get("phase") or "",
            "status.podIP": (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "",
            "status.nominatedNodeName": status.get("nominatedNodeName") or "",
        }

    def warnings(self, obj: dict) -> list[str]:
        msgs = is_dns1123_label((obj.get("metadata") or {}).get("name") or "")
        if not msgs:
            return []
        return [
            "metadata.name: this is used in the Pod's hostname, which can result in "
            f"surprising behavior; a DNS label is recommended: [{' '.join(msgs)}]"
        ]


@register("", "PodTemplate")
class PodTemplateStrategy(Strategy):
    def default(self, obj: dict) -> None:
        default_template(obj.get("template"))

    def validate(self, obj: dict) -> list[FieldError]:
        return validate_pod_template_spec(obj.get("template"), "template")
