"""Printers of the core (``v1``) kinds other than pods, events and volumes.

Nodes summarise their Ready condition and role labels, services their addresses and ports,
endpoints their first three addresses; the rest count entries (DATA, SECRETS) or list usage
against quota. The formats (``80:30001/TCP``, ``<pending>``, ``+ 2 more...``) are what users and
scripts read from ``kubectl get``, so each follows upstream's printer to the character.
LimitRange has no dedicated printer upstream and falls back to the default columns.
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
    layout_containers,
    meta,
    name_column,
    name_of,
    quantity,
)
from .descriptions import doc
from .labels import format_labels

LOAD_BALANCER_PENDING = "<pending>"
NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"

# --- Namespace, ConfigMap, Secret, ServiceAccount ---------------------------------------------

NAMESPACE = Printer(
    [name_column(), column("Status", "string", "The status of the namespace"), age_column()],
    lambda obj, now: [name_of(obj), str(dig(obj, "status", "phase", default="")), age_of(obj, now)],
)

CONFIG_MAP = Printer(
    [name_column(), column("Data", "string", doc("ConfigMap.data")), age_column()],
    lambda obj, now: [
        name_of(obj),
        count(obj.get("data")) + count(obj.get("binaryData")),
        age_of(obj, now),
    ],
)

SECRET = Printer(
    [
        name_column(),
        column("Type", "string", doc("Secret.type")),
        column("Data", "string", doc("Secret.data")),
        age_column(),
    ],
    lambda obj, now: [
        name_of(obj),
        str(obj.get("type") or ""),
        count(obj.get("data")),
        age_of(obj, now),
    ],
)

SERVICE_ACCOUNT = Printer(
    [name_column(), column("Secrets", "string", doc("ServiceAccount.secrets")), age_column()],
    lambda obj, now: [name_of(obj), count(obj.get("secrets")), age_of(obj, now)],
)

# --- Node -------------------------------------------------------------------------------------


def _node_status(node: dict) -> str:
    ready = None
    for cond in dig(node, "status", "conditions", default=[]):
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            ready = cond  # the last one of a type wins, as in upstream's map
    if ready is None:
        status = ["Unknown"]
    else:
        status = ["Ready" if ready.get("status") == "True" else "NotReady"]
    if dig(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_roles(node: dict) -> str:
    roles = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith(NODE_ROLE_PREFIX):
            role = key[len(NODE_ROLE_PREFIX):]
            if role:
                roles.add(role)
        elif key == NODE_ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: dict, kind: str) -> str:
    for address in dig(node, "status", "addresses", default=[]):
        if isinstance(address, dict) and address.get("type") == kind:
            return str(address.get("address") or "")
    return "<none>"


def _node_cells(node: dict, now: datetime.datetime) -> list:
    info = dig(node, "status", "nodeInfo", default={})
    return [
        name_of(node),
        _node_status(node),
        _node_roles(node),
        age_of(node, now),
        str(info.get("kubeletVersion") or ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        str(info.get("osImage") or "<unknown>"),
        str(info.get("kernelVersion") or "<unknown>"),
        str(info.get("containerRuntimeVersion") or "<unknown>"),
    ]


NODE = Printer(
    [
        name_column(),
        column("Status", "string", "The status of the node"),
        column("Roles", "string", "The roles of the node"),
        age_column(),
        column("Version", "string", doc("NodeSystemInfo.kubeletVersion")),
        column("Internal-IP", "string", doc("NodeStatus.addresses"), priority=1),
        column("External-IP", "string", doc("NodeStatus.addresses"), priority=1),
        column("OS-Image", "string", doc("NodeSystemInfo.osImage"), priority=1),
        column("Kernel-Version", "string", doc("NodeSystemInfo.kernelVersion"), priority=1),
        column(
            "Container-Runtime", "string", doc("NodeSystemInfo.containerRuntimeVersion"), priority=1
        ),
    ],
    _node_cells,
)

# --- Service and Endpoints --------------------------------------------------------------------


def load_balancer_addresses(status: dict) -> str:
    """``loadBalancerStatusStringer`` (wide): unique ingress IPs or hostnames, sorted."""
    found = set()
    for ingress in dig(status, "loadBalancer", "ingress", default=[]):
        if not isinstance(ingress, dict):
            continue
        if ingress.get("ip"):
            found.add(str(ingress["ip"]))
        elif ingress.get("hostname"):
            found.add(str(ingress["hostname"]))
    return ",".join(sorted(found))


def _external_ip(service: dict) -> str:
    spec = service.get("spec") or {}
    external_ips = [str(ip) for ip in spec.get("externalIPs") or []]
    svc_type = spec.get("type")
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        lb_ips = load_balancer_addresses(service.get("status") or {})
        if external_ips:
            return ",".join((lb_ips.split(",") if lb_ips else []) + external_ips)
        return lb_ips or LOAD_BALANCER_PENDING
    if svc_type == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _service_ports(ports: object) -> str:
    pieces = []
    for port in ports if isinstance(ports, list) else []:
        if not isinstance(port, dict):
            continue
        protocol = port.get("protocol") or "TCP"  # upstream defaults it on every write
        node_port = as_int(port.get("nodePort"))
        if node_port > 0:
            pieces.append(f"{as_int(port.get('port'))}:{node_port}/{protocol}")
        else:
            pieces.append(f"{as_int(port.get('port'))}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(service: dict, now: datetime.datetime) -> list:
    spec = service.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or []
    cluster_ip = cluster_ips[0] if cluster_ips else spec.get("clusterIP") or "<none>"
    return [
        name_of(service),
        str(spec.get("type") or ""),
        str(cluster_ip),
        _external_ip(service),
        _service_ports(spec.get("ports")),
        age_of(service, now),
        format_labels(spec.get("selector")),
    ]


SERVICE = Printer(
    [
        name_column(),
        column("Type", "string", doc("ServiceSpec.type")),
        column("Cluster-IP", "string", doc("ServiceSpec.clusterIP")),
        column("External-IP", "string", doc("ServiceSpec.externalIPs")),
        column("Port(s)", "string", doc("ServiceSpec.ports")),
        age_column(),
        column("Selector", "string", doc("ServiceSpec.selector"), priority=1),
    ],
    _service_cells,
)


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(endpoints: dict, limit: int = 3) -> str:
    """``formatEndpoints``: the first three ``ip:port`` pairs and how many more there are."""
    subsets = [s for s in endpoints.get("subsets") or [] if isinstance(s, dict)]
    if not subsets:
        return "<none>"
    shown: list[str] = []
    total = 0
    for subset in subsets:
        addresses = [
            str(a.get("ip") or "") for a in subset.get("addresses") or [] if isinstance(a, dict)
        ]
        ports = [p for p in subset.get("ports") or [] if isinstance(p, dict)]
        # A headless service may have addresses without ports.
        targets = [addresses] if not ports else [
            [_join_host_port(ip, as_int(p.get("port"))) for ip in addresses] for p in ports
        ]
        for group in targets:
            total += len(group)
            shown.extend(group[: max(0, limit - len(shown))])
    text = ",".join(shown)
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text


ENDPOINTS = Printer(
    [name_column(), column("Endpoints", "string", doc("Endpoints.subsets")), age_column()],
    lambda obj, now: [name_of(obj), format_endpoints(obj), age_of(obj, now)],
)

# --- ResourceQuota ----------------------------------------------------------------------------


def _quota_cells(quota: dict, now: datetime.datetime) -> list:
    hard = dig(quota, "status", "hard", default={})
    used = dig(quota, "status", "used", default={})
    requests, limits = [], []
    for resource in sorted(hard):
        pieces = resource.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{resource}: {quantity(used.get(resource))}/{quantity(hard[resource])}")
    return [name_of(quota), ", ".join(requests), ", ".join(limits), age_of(quota, now)]


RESOURCE_QUOTA = Printer(
    [
        name_column(),
        column(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        column(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use "
            "independent of contention on the node.",
        ),
        age_column(),
    ],
    _quota_cells,
)

# --- ReplicationController --------------------------------------------------------------------


def _rc_cells(rc: dict, now: datetime.datetime) -> list:
    spec = rc.get("spec") or {}
    names, images = layout_containers(dig(spec, "template", "spec", "containers", default=[]))
    return [
        name_of(rc),
        as_int(spec.get("replicas"), 1),  # defaulted to 1 when unset
        as_int(dig(rc, "status", "replicas")),
        as_int(dig(rc, "status", "readyReplicas")),
        age_of(rc, now),
        names,
        images,
        format_labels(spec.get("selector")),
    ]


REPLICATION_CONTROLLER = Printer(
    [
        name_column(),
        column("Desired", "integer", doc("ReplicationControllerSpec.replicas")),
        column("Current", "integer", doc("ReplicationControllerStatus.replicas")),
        column("Ready", "integer", doc("ReplicationControllerStatus.readyReplicas")),
        age_column(),
        containers_column(),
        images_column(),
        column("Selector", "string", doc("ReplicationControllerSpec.selector"), priority=1),
    ],
    _rc_cells,
)

PRINTERS = {
    ("", "Namespace"): NAMESPACE,
    ("", "ConfigMap"): CONFIG_MAP,
    ("", "Secret"): SECRET,
    ("", "ServiceAccount"): SERVICE_ACCOUNT,
    ("", "Node"): NODE,
    ("", "Service"): SERVICE,
    ("", "Endpoints"): ENDPOINTS,
    ("", "ResourceQuota"): RESOURCE_QUOTA,
    ("", "ReplicationController"): REPLICATION_CONTROLLER,
}
