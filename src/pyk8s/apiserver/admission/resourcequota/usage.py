"""What an object costs against a ResourceQuota (upstream's quota evaluators).

Every stored object counts as ``count/<resource>[.<group>]``; the legacy core
names (pods, services, configmaps, secrets, persistentvolumeclaims,
replicationcontrollers, resourcequotas) count too. Pods that have not finished
also count ``pods`` and their compute requests and limits; services count node
ports and load balancers; claims count requested storage, per storage class too.

Admission charges with :func:`usage`; recalculation (the API server's on quota
create/spec change, the resource quota controller's on replenishment and resync)
adds a namespace's objects up with :func:`tally`. Functions taking a kind need only
its ``group`` and ``plural``: a ResourceType, or a :class:`Kind`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from ...kinds.pods import qos_class
from ..quantities import Quantity, ResourceList, add, parse_list

if TYPE_CHECKING:
    from ...registry import ResourceType

LEGACY_COUNTED = frozenset({"pods", "services", "configmaps", "secrets",
                            "persistentvolumeclaims", "replicationcontrollers",
                            "resourcequotas"})
#: Pod resources that every container must state when a quota limits them.
VALIDATION_SET = frozenset({"cpu", "memory", "requests.cpu", "requests.memory",
                            "limits.cpu", "limits.memory"})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
ONE = Quantity.parse("1")
ZERO = Quantity.parse("0")


class Kind(NamedTuple):
    """A counted resource, for callers without the API server's ResourceType."""

    group: str
    plural: str


def count_name(group: str, plural: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def _compute(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper."""
    out: ResourceList = {"pods": ONE}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = out[f"requests.{name}"] = q
        elif "/" in name and not name.startswith("kubernetes.io/") and \
                not name.startswith("requests."):
            out[f"requests.{name}"] = q  # extended resources
    return out


def _pod_totals(spec: dict, bucket: str) -> ResourceList:
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        total = add(total, parse_list((c.get("resources") or {}).get(bucket)))
    for c in spec.get("initContainers") or []:
        for name, q in parse_list((c.get("resources") or {}).get(bucket)).items():
            if name not in total or q.value > total[name].value:
                total[name] = q
    return add(total, parse_list(spec.get("overhead")))


def pod_terminal(pod: dict) -> bool:
    """Not QuotaV1Pod: finished, or past its deletion grace period."""
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def container_missing(pod: dict, required: set[str]) -> dict[str, list[str]]:
    """Constraints: resource -> containers that do not state it."""
    required = required & VALIDATION_SET
    missing: dict[str, list[str]] = {}
    spec = pod.get("spec") or {}
    for kind in ("containers", "initContainers"):
        for c in spec.get(kind) or []:
            res = c.get("resources") or {}
            have = set(_compute(parse_list(res.get("requests")), parse_list(res.get("limits"))))
            for name in sorted(required - have):
                missing.setdefault(name, []).append(c.get("name"))
    return missing


def usage(rt: "ResourceType", obj: dict) -> ResourceList:
    """Everything ``obj`` uses."""
    out: ResourceList = {count_name(rt.group, rt.plural): ONE}
    if rt.group == "" and rt.plural in LEGACY_COUNTED and rt.plural != "pods":
        out[rt.plural] = ONE
    if rt.group != "":
        return out
    spec = obj.get("spec") or {}
    if rt.plural == "pods":
        if not pod_terminal(obj):
            out.update(_compute(_pod_totals(spec, "requests"), _pod_totals(spec, "limits")))
    elif rt.plural == "services":
        ports = len(spec.get("ports") or [])
        out["services.loadbalancers"] = ZERO
        out["services.nodeports"] = ZERO
        kind = spec.get("type")
        if kind in ("NodePort", "LoadBalancer"):
            if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is False:
                ports = sum(1 for p in spec.get("ports") or [] if p.get("nodePort"))
            out["services.nodeports"] = Quantity.parse(str(ports))
        if kind == "LoadBalancer":
            out["services.loadbalancers"] = ONE
    elif rt.plural == "persistentvolumeclaims":
        storage = parse_list((spec.get("resources") or {}).get("requests")).get("storage")
        if storage is not None:
            out["requests.storage"] = storage
        sc = spec.get("storageClassName")
        if sc:
            out[f"{sc}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
            if storage is not None:
                out[f"{sc}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return out


def _scope_matches(scope: str, operator: str, values: list, pod: dict) -> bool:
    spec = pod.get("spec") or {}
    if scope == "Terminating":
        return spec.get("activeDeadlineSeconds") is not None
    if scope == "NotTerminating":
        return spec.get("activeDeadlineSeconds") is None
    if scope == "BestEffort":
        return qos_class(spec) == "BestEffort"
    if scope == "NotBestEffort":
        return qos_class(spec) != "BestEffort"
    if scope == "PriorityClass":
        name = spec.get("priorityClassName") or ""
        if operator == "In":
            return name in values
        if operator == "NotIn":
            return name not in values
        if operator == "Exists":
            return bool(name)
        return not name  # DoesNotExist
    return False


def matches_scopes(quota: dict, rt: "ResourceType", obj: dict) -> bool:
    """Whether the quota's scopes select the object (scoped quotas only see pods)."""
    spec = quota.get("spec") or {}
    selectors = [(s, "Exists", []) for s in spec.get("scopes") or []]
    selectors += [(e.get("scopeName"), e.get("operator"), e.get("values") or [])
                  for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []]
    if not selectors:
        return True
    if not (rt.group == "" and rt.plural == "pods"):
        return False
    return all(_scope_matches(s, op, values, obj) for s, op, values in selectors)


def resources_for_hard(hard: set[str]) -> set[tuple[str, str]]:
    """(group, plural) of the kinds whose objects a quota with these keys counts."""
    kinds: set[tuple[str, str]] = set()
    for name in hard:
        if name.startswith("count/"):
            plural, _, group = name[len("count/"):].partition(".")
            kinds.add((group, plural))
        elif name in LEGACY_COUNTED:
            kinds.add(("", name))
        elif name.startswith("services."):
            kinds.add(("", "services"))
        elif name == "requests.storage" or STORAGE_CLASS_SUFFIX in name:
            kinds.add(("", "persistentvolumeclaims"))
        else:
            kinds.add(("", "pods"))
    return kinds


def tally(quota: dict, hard: Iterable[str],
          listed: Iterable[tuple[ResourceType | Kind, Iterable[dict]]]) -> ResourceList:
    """status.used for the ``hard`` resources: what the listed objects of each counted
    kind add up to (each resource only from the kinds that count it, so ``pods`` comes
    from pods alone), zero for what nothing uses."""
    hard = set(hard)
    used: ResourceList = {name: ZERO for name in hard}
    for kind, objects in listed:
        counted = {k for k in hard if (kind.group, kind.plural) in resources_for_hard({k})}
        for obj in objects:
            if matches_scopes(quota, kind, obj):
                used = add(used, {k: v for k, v in usage(kind, obj).items() if k in counted})
    return used
