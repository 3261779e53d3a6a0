"""Pods and PodTemplates: defaults, admission-time mutations, validation, field selectors.

Besides upstream's pod strategy (status reset to Pending with its QoS class,
the "pod updates may not change fields other than ..." rule, selectable fields)
this applies what kube-apiserver's default admission plugins do to every new
pod: the ServiceAccount plugin's ``serviceAccountName: default``,
DefaultTolerationSeconds' not-ready/unreachable tolerations and Priority's
``priority``/``preemptionPolicy`` from the pod's PriorityClass.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING

import orjson

from .. import errors
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

if TYPE_CHECKING:
    from ..context import ServerContext

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
DEFAULT_TOLERATION_SECONDS = 300
#: Built-in PriorityClasses kube-apiserver creates at start.
SYSTEM_PRIORITY_CLASSES = {
    "system-node-critical": 2000001000,
    "system-cluster-critical": 2000000000,
}

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


def add_default_tolerations(spec: dict) -> None:
    """DefaultTolerationSeconds: tolerate not-ready/unreachable nodes for 300s."""
    tolerations = spec.get("tolerations") or []
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if any(
            t.get("key") in (key, None, "") and t.get("effect") in ("NoExecute", None, "")
            for t in tolerations
        ):
            continue
        tolerations.append(
            {
                "key": key,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }
        )
    if tolerations:
        spec["tolerations"] = tolerations


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
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not spec.get("serviceAccountName") and MIRROR_ANNOTATION not in annotations:
            spec["serviceAccountName"] = spec["serviceAccount"] = "default"
        add_default_tolerations(spec)
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

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        spec, old_spec = _spec(obj), old.get("spec") or {}
        for key in ("priority", "preemptionPolicy"):
            if spec.get(key) is None and old_spec.get(key) is not None:
                spec[key] = old_spec[key]
        add_default_tolerations(spec)

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        default_pod_spec(spec)
        default_pod_only(spec)

    def validate(self, obj: dict) -> list[FieldError]:
        return _validate_pod_annotations(obj) + validate_pod_spec(_spec(obj), "spec", is_pod=True)

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return self.validate(obj) + validate_pod_update(obj, old)

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

    async def before_create(self, ctx: "ServerContext", obj: dict) -> None:
        """Priority admission: priority and preemptionPolicy from the PriorityClass."""
        spec = _spec(obj)
        meta = obj.get("metadata") or {}
        class_name = spec.get("priorityClassName") or ""
        priority, policy = 0, "PreemptLowerPriority"
        pc = await _priority_class(ctx, class_name)
        if class_name:
            if pc is None and class_name in SYSTEM_PRIORITY_CLASSES:
                pc = {"value": SYSTEM_PRIORITY_CLASSES[class_name]}
            if pc is None:
                raise errors.forbidden_error(
                    "",
                    "pods",
                    meta.get("name", ""),
                    f"no PriorityClass with name {class_name} was found",
                )
        if pc is not None:
            priority = int(pc.get("value") or 0)
            policy = pc.get("preemptionPolicy") or "PreemptLowerPriority"
            if not class_name:
                spec["priorityClassName"] = (pc.get("metadata") or {}).get("name")
        if spec.get("priority") is not None and spec["priority"] != priority:
            raise errors.forbidden_error(
                "",
                "pods",
                meta.get("name", ""),
                f"the integer value of priority ({spec['priority']}) must not be provided in pod "
                f"spec; priority admission controller computed {priority} from the given "
                "PriorityClass name",
            )
        if spec.get("preemptionPolicy") not in (None, policy):
            raise errors.forbidden_error(
                "",
                "pods",
                meta.get("name", ""),
                f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must not be "
                f"provided in pod spec; priority admission controller computed {policy} from the "
                "given PriorityClass name",
            )
        spec["priority"] = priority
        spec["preemptionPolicy"] = policy


async def _priority_class(ctx: "ServerContext", name: str) -> dict | None:
    """The named PriorityClass, or (for an empty name) the cluster's globalDefault one."""
    rt = ctx.registry.get("scheduling.k8s.io", "v1", "priorityclasses")
    if rt is None:
        return None
    if name:
        kv = await ctx.store.get(rt.key(None, name))
        return orjson.loads(kv.value) if kv is not None else None
    listing = await ctx.store.list(rt.prefix)
    defaults = [
        pc for pc in (orjson.loads(kv.value) for kv in listing.items) if pc.get("globalDefault")
    ]
    return min(defaults, key=lambda pc: pc.get("value", 0)) if defaults else None


@register("", "PodTemplate")
class PodTemplateStrategy(Strategy):
    def default(self, obj: dict) -> None:
        default_template(obj.get("template"))

    def validate(self, obj: dict) -> list[FieldError]:
        return validate_pod_template_spec(obj.get("template"), "template")
