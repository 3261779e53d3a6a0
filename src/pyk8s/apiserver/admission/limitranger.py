"""LimitRanger: a namespace's LimitRanges default and bound pod and PVC resources.

As upstream's limitranger plugin: on pod create the Container items' ``default``
and ``defaultRequest`` fill each container's missing limits and requests (recorded
in the ``kubernetes.io/limit-ranger`` annotation); then Container and Pod items'
min, max and maxLimitRequestRatio, and PersistentVolumeClaim items' min and max
on the requested storage, are enforced with upstream's messages (Forbidden).
Pod updates are not checked (containers cannot change); objects being deleted
are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import AdmissionPlugin, AdmissionRequest, lookup
from .quantities import Quantity, ResourceList, add, parse_list

if TYPE_CHECKING:
    from ..context import ServerContext

ANNOTATION = "kubernetes.io/limit-ranger"
CONTAINER_KINDS = (("containers", "container"), ("initContainers", "init container"))


def item_defaults(item: dict) -> tuple[dict, dict]:
    """SetDefaults_LimitRangeItem for a Container item: (default, defaultRequest)."""
    default = dict(item.get("default") or {})
    default_request = dict(item.get("defaultRequest") or {})
    for key, value in (item.get("max") or {}).items():
        default.setdefault(key, value)
    for key, value in default.items():
        default_request.setdefault(key, value)
    for key, value in (item.get("min") or {}).items():
        default_request.setdefault(key, value)
    return default, default_request


def apply_defaults(limit_range: dict, pod: dict) -> None:
    """PodMutateLimitFunc."""
    limits: dict = {}
    requests: dict = {}
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            default, default_request = item_defaults(item)
            limits.update(default)
            requests.update(default_request)
    if not limits and not requests:
        return
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for kind, label in CONTAINER_KINDS:
        for container in spec.get(kind) or []:
            resources = container.get("resources")
            if not isinstance(resources, dict):
                container["resources"] = resources = {}
            own_limits = resources.get("limits") or {}
            if own_limits:  # SetDefaults_Pod runs before admission upstream
                resources["requests"] = {**own_limits, **(resources.get("requests") or {})}
            set_requests = _merge(resources, "requests", requests)
            set_limits = _merge(resources, "limits", limits)
            who = f"{label} {container.get('name')}"
            if set_requests:
                notes.append(f"{', '.join(set_requests)} request for {who}")
            if set_limits:
                notes.append(f"{', '.join(set_limits)} limit for {who}")
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations") or {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
        meta["annotations"] = annotations


def _merge(resources: dict, bucket: str, defaults: dict) -> list[str]:
    current = resources.get(bucket) or {}
    added = sorted(k for k in defaults if k not in current)
    if added:
        resources[bucket] = {**current, **{k: defaults[k] for k in added}}
    return added


def _min(kind: str, name: str, enforced: Quantity, req: ResourceList, lim: ResourceList) -> str:
    if name not in req:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if req[name].value < enforced.value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req[name]}"
    if name in lim and lim[name].value < enforced.value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim[name]}"
    return ""


def _max(kind: str, name: str, enforced: Quantity, req: ResourceList, lim: ResourceList) -> str:
    if name not in lim:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if lim[name].value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim[name]}"
    if name in req and req[name].value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req[name]}"
    return ""


def _max_request(kind: str, name: str, enforced: Quantity, req: ResourceList) -> str:
    if name not in req:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if req[name].value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req[name]}"
    return ""


def _ratio(kind: str, name: str, enforced: Quantity, req: ResourceList, lim: ResourceList) -> str:
    if name not in req or req[name].value == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no request "
                "is specified or request is 0")
    if name not in lim or lim[name].value == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is "
                "specified or limit is 0")
    ratio = lim[name].value / req[name].value
    if ratio > enforced.value:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but provided "
                f"ratio is {float(ratio):f}")
    return ""


def _bounds(kind: str, item: dict, req: ResourceList, lim: ResourceList) -> list[str]:
    out = [_min(kind, n, q, req, lim) for n, q in sorted(parse_list(item.get("min")).items())]
    out += [_max(kind, n, q, req, lim) for n, q in sorted(parse_list(item.get("max")).items())]
    out += [_ratio(kind, n, q, req, lim)
            for n, q in sorted(parse_list(item.get("maxLimitRequestRatio")).items())]
    return [m for m in out if m]


def _pod_totals(spec: dict, bucket: str) -> ResourceList:
    """Sum of the app containers, raised to any single init container's value."""
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        total = add(total, parse_list((c.get("resources") or {}).get(bucket)))
    for c in spec.get("initContainers") or []:
        for name, q in parse_list((c.get("resources") or {}).get(bucket)).items():
            if name not in total or q.value > total[name].value:
                total[name] = q
    return total


def validate_pod(limit_range: dict, pod: dict) -> list[str]:
    """PodValidateLimitFunc: every violation, in item order."""
    spec = pod.get("spec") or {}
    problems: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            for kind in ("containers", "initContainers"):
                for c in spec.get(kind) or []:
                    res = c.get("resources") or {}
                    problems += _bounds("Container", item, parse_list(res.get("requests")),
                                        parse_list(res.get("limits")))
        elif item.get("type") == "Pod":
            problems += _bounds("Pod", item, _pod_totals(spec, "requests"),
                                _pod_totals(spec, "limits"))
    return problems


def validate_pvc(limit_range: dict, pvc: dict) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: min and max of the requested storage."""
    requests = parse_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    problems: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") != "PersistentVolumeClaim":
            continue
        kind = "PersistentVolumeClaim"
        problems += [_min(kind, n, q, requests, {})
                     for n, q in sorted(parse_list(item.get("min")).items())]
        problems += [_max_request(kind, n, q, requests)
                     for n, q in sorted(parse_list(item.get("max")).items())]
    return [m for m in problems if m]


def _aggregate(problems: list[str]) -> str:
    return problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"


class LimitRanger(AdmissionPlugin):
    name = "LimitRanger"

    def _kind(self, req: AdmissionRequest) -> str | None:
        if req.subresource or req.rt.group != "" or not isinstance(req.object, dict):
            return None
        if req.rt.plural == "pods" and req.operation == "CREATE":
            return "pod"
        if req.rt.plural == "persistentvolumeclaims" and req.operation in ("CREATE", "UPDATE"):
            if ((req.old_object or {}).get("metadata") or {}).get("deletionTimestamp"):
                return None
            return "pvc"
        return None

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if self._kind(req) == "pod":
            for limit_range in await lookup.list_objects(ctx, "", "limitranges", req.namespace):
                apply_defaults(limit_range, req.object)

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        kind = self._kind(req)
        if kind is None:
            return
        check = validate_pod if kind == "pod" else validate_pvc
        for limit_range in await lookup.list_objects(ctx, "", "limitranges", req.namespace):
            problems = check(limit_range, req.object)
            if problems:
                raise req.forbidden(_aggregate(problems))
