"""What kube-proxy reads from Services and EndpointSlices, as small immutable values.

The rule builder (``rules.py``) must stay a pure function that is cheap to test with
tables, so the API objects are boiled down here first: one ``ServicePort`` per port of
each proxied Service and one ``Endpoint`` per ready/serving address of its slices, with
upstream's choices (pkg/proxy/serviceport.go, endpointslicecache.go, topology.go):

* a Service is skipped when headless (no ClusterIP), ExternalName, IPv6, or labelled
  ``service.kubernetes.io/service-proxy-name`` (someone else proxies it);
* an endpoint is Ready unless ``conditions.ready`` is false, Serving unless
  ``conditions.serving`` is false, Terminating only when ``conditions.terminating`` is
  true; slices are merged per Service, de-duplicated by ``ip:port`` and sorted as
  strings, as upstream sorts them;
* ``categorize`` picks the endpoints each traffic policy uses: Ready ones, or, when a
  policy has no Ready endpoint at all, the serving-and-terminating ones (graceful
  termination). Topology hints are not applied.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
DEFAULT_AFFINITY_SECONDS = 10800


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str | None = None

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str  # lower case, as in iptables' ``-p``
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    affinity_seconds: int = 0  # 0: no ClientIP session affinity
    internal_local: bool = False
    external_local: bool = False
    health_check_node_port: int = 0

    @property
    def name_string(self) -> str:
        """``namespace/name:port`` (no ``:port`` for an unnamed port), upstream's String()."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.external_ips or self.load_balancer_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        # "Cluster" endpoints also back the short circuit of external Local traffic.
        return not self.internal_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_local or self.external_local


def _ipv4(value: str | None) -> bool:
    try:
        return ipaddress.ip_address(value or "").version == 4
    except ValueError:
        return False


def service_ports(service: dict) -> list[ServicePort]:
    """The proxied ports of one Service (empty when kube-proxy ignores the Service)."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    if SERVICE_PROXY_NAME_LABEL in (meta.get("labels") or {}):
        return []
    if spec.get("type") == "ExternalName" or not _ipv4(spec.get("clusterIP")):
        return []
    external_ips = tuple(ip for ip in spec.get("externalIPs") or () if _ipv4(ip))
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    lb_ips = tuple(i["ip"] for i in ingress
                   if _ipv4(i.get("ip")) and i.get("ipMode", "VIP") == "VIP")
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)
    accessible_types = ("NodePort", "LoadBalancer")
    out = []
    for p in spec.get("ports") or ():
        node_port = int(p.get("nodePort") or 0) if spec.get("type") in accessible_types else 0
        externally = bool(node_port or external_ips or lb_ips)
        out.append(ServicePort(
            namespace=meta.get("namespace", ""), name=meta["name"],
            port_name=p.get("name") or "", protocol=(p.get("protocol") or "TCP").lower(),
            cluster_ip=spec["clusterIP"], port=int(p["port"]), node_port=node_port,
            external_ips=external_ips, load_balancer_ips=lb_ips, affinity_seconds=affinity,
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            external_local=externally and spec.get("externalTrafficPolicy") == "Local",
            health_check_node_port=int(spec.get("healthCheckNodePort") or 0)))
    return out


def _condition(conditions: dict, name: str, default: bool) -> bool:
    value = conditions.get(name)
    return default if value is None else bool(value)


def slice_endpoints(slices: Iterable[dict], port_name: str,
                    protocol: str) -> list[Endpoint]:
    """The endpoints for one named port across a Service's EndpointSlices."""
    found: dict[str, Endpoint] = {}
    for es in slices:
        if es.get("addressType", "IPv4") != "IPv4":
            continue
        ports = [p for p in es.get("ports") or ()
                 if (p.get("name") or "") == port_name and p.get("port") is not None
                 and (p.get("protocol") or "TCP").lower() == protocol]
        for p in ports:
            for ep in es.get("endpoints") or ():
                addresses = ep.get("addresses") or ()
                if not addresses:
                    continue
                conditions = ep.get("conditions") or {}
                ready = _condition(conditions, "ready", True)
                endpoint = Endpoint(
                    ip=addresses[0], port=int(p["port"]), ready=ready,
                    serving=_condition(conditions, "serving", ready),
                    terminating=_condition(conditions, "terminating", False),
                    node_name=ep.get("nodeName"))
                found.setdefault(str(endpoint), endpoint)
    return [found[k] for k in sorted(found)]


@dataclass(frozen=True)
class Categorized:
    cluster: list[Endpoint]
    local: list[Endpoint]
    reachable: list[Endpoint]  # every endpoint that gets a KUBE-SEP chain
    has_any: bool


def categorize(sp: ServicePort, endpoints: list[Endpoint], node_name: str) -> Categorized:
    """Split endpoints by traffic policy, as upstream's CategorizeEndpoints."""
    cluster: list[Endpoint] = []
    has_any = False
    if sp.uses_cluster_endpoints:
        cluster = [e for e in endpoints if e.ready]
        if not cluster:
            cluster = [e for e in endpoints if e.serving and e.terminating]
        has_any = bool(cluster)
    if not sp.uses_local_endpoints:
        return Categorized(cluster, [], cluster, has_any)
    usable = [e for e in endpoints if e.ready or (e.serving and e.terminating)]
    has_any = has_any or bool(usable)
    mine = [e for e in usable if e.node_name == node_name]
    local = [e for e in mine if e.ready] or [e for e in mine if e.serving and e.terminating]
    if not sp.uses_cluster_endpoints:
        return Categorized(cluster, local, local, has_any)
    merged = {str(e): e for e in cluster} | {str(e): e for e in local}
    return Categorized(cluster, local, [merged[k] for k in sorted(merged)], has_any)
