"""Which pods back a Service and how: shared by the Endpoints and EndpointSlice controllers.

Both controllers answer the same questions about a (Service, Pod) pair the way upstream's
``endpointsliceutil`` does: should the pod be listed at all (it has an IP, is not terminal,
and is not terminating unless the caller includes terminating pods), which of its IPs
matches the Service's address family, what port a service port's ``targetPort`` resolves
to in this pod (named ports are looked up per pod, so pods may differ), and whether the
pod's hostname is published. They also share the trigger-time tracker behind the
``endpoints.kubernetes.io/last-change-trigger-time`` annotation.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from .pods import ready_condition
from .times import parse_time

LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"
#: The API server keeps ``default/kubernetes`` Endpoints pointing at itself.
API_SERVER_SERVICE = "default/kubernetes"


class PortNotFound(LookupError):
    """A named targetPort that no container of the pod declares."""


def service_selector(service: dict) -> dict | None:
    """The Service's selector map, or None when it selects nothing (user-managed)."""
    return (service.get("spec") or {}).get("selector") or None


def selects(selector: dict, pod: dict) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def is_headless(service: dict) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def is_terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_terminating(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def should_pod_be_in_endpoints(pod: dict, include_terminating: bool) -> bool:
    """Not Succeeded/Failed, has an IP, and (unless asked) not being deleted."""
    status = pod.get("status") or {}
    if is_terminal(pod):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not is_terminating(pod)


def pod_ips(pod: dict) -> list[str]:
    status = pod.get("status") or {}
    ips = [entry.get("ip") for entry in status.get("podIPs") or () if entry.get("ip")]
    return ips or ([status["podIP"]] if status.get("podIP") else [])


def ip_family(ip: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None


def service_families(service: dict) -> list[str]:
    """The address families the Service serves (IPv4 when nothing says otherwise)."""
    spec = service.get("spec") or {}
    if spec.get("ipFamilies"):
        return list(spec["ipFamilies"])
    family = ip_family(spec.get("clusterIP") or "")
    return [family] if family else ["IPv4"]


def pod_ip_for_family(pod: dict, family: str) -> str | None:
    return next((ip for ip in pod_ips(pod) if ip_family(ip) == family), None)


def should_set_hostname(pod: dict, service: dict) -> bool:
    """The pod's hostname is published when its subdomain names this Service."""
    spec = pod.get("spec") or {}
    meta, smeta = pod.get("metadata") or {}, service.get("metadata") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == smeta.get("name") \
        and meta.get("namespace") == smeta.get("namespace")


def find_port(pod: dict, service_port: dict) -> int:
    """The container port ``service_port``'s targetPort means in ``pod``."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return port["containerPort"]
    raise PortNotFound(f"no container port named {target!r} ({protocol})")


def target_ref(pod: dict) -> dict:
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", "")}


def format_rfc3339nano(when: datetime) -> str:
    """Go's RFC3339Nano in UTC: fractional seconds only when non-zero, zeros trimmed."""
    when = when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


class TriggerTimeTracker:
    """When did the change that an Endpoints write reflects happen?

    Per Service we remember the trigger times seen at the last sync: each pod's Ready
    condition lastTransitionTime and the Service's creationTimestamp. A sync reports the
    earliest of those that moved since (the Service's creation on its first sync), or None
    when nothing moved, as upstream's TriggerTimeTracker.
    """

    def __init__(self) -> None:
        self._states: dict[str, tuple[dict[str, datetime], datetime | None]] = {}

    def compute(self, key: str, service: dict, pods: list[dict]) -> datetime | None:
        known = key in self._states
        last_pods, last_service = self._states.get(key, ({}, None))
        earliest: datetime | None = None
        now_pods: dict[str, datetime] = {}
        for pod in pods:
            cond = ready_condition(pod)
            when = parse_time(cond.get("lastTransitionTime")) if cond else None
            if when is None:
                continue
            name = pod["metadata"]["name"]
            now_pods[name] = when
            if name not in last_pods or when > last_pods[name]:
                earliest = when if earliest is None else min(earliest, when)
        created = parse_time((service.get("metadata") or {}).get("creationTimestamp"))
        if created is not None and (last_service is None or created > last_service):
            earliest = created if earliest is None else min(earliest, created)
        self._states[key] = (now_pods, created)
        return created if not known else earliest

    def forget(self, key: str) -> None:
        self._states.pop(key, None)

