"""Services: defaults, validation, and the hooks that reserve cluster IPs and node ports.

Mirrors upstream's service strategy and REST storage: SetDefaults_Service, the
clusterIP/clusterIPs normalisation, patching of allocated values a client left out
on update, dropping of type-dependent fields on type changes and ValidateService.
The reservations themselves (from ``ctx.cluster_ips`` and ``ctx.node_ports``) are
made by :mod:`pyk8s.apiserver.kinds.service_allocation`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from ..errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from ..strategy import Strategy
from ..validation import (
    is_valid_port_num,
    parse_ip,
    validate_cidr,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_immutable,
    validate_ip,
    validate_labels,
    validate_port_num_or_name,
    validate_qualified_name,
)
from . import register
from .containers import PROTOCOLS
from .service_allocation import (
    Reservation,
    allocate_ips,
    externally_accessible,
    is_headless,
    needs_cluster_ip,
    needs_health_check,
    needs_node_port,
    node_ports_of,
    release_all,
)

if TYPE_CHECKING:
    from ..context import ServerContext

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
MAX_AFFINITY_SECONDS = 86400


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def normalize_cluster_ips(svc: dict, old: dict | None) -> None:
    """NormalizeClusterIPs: keep the singular and plural fields in step."""
    spec = _spec(svc)
    ip, ips = spec.get("clusterIP") or "", spec.get("clusterIPs") or []
    if old is None:
        if ip and not ips:
            spec["clusterIPs"] = [ip]
        return
    old_spec = old.get("spec") or {}
    old_ip, old_ips = old_spec.get("clusterIP") or "", old_spec.get("clusterIPs") or []
    same_ips = ips == old_ips
    if old_ips and not ips and old_ip == ip:
        spec["clusterIPs"] = list(old_ips)
        same_ips = True
    if old_ip != ip:
        if old_ip and not ip and same_ips:
            spec.pop("clusterIPs", None)
        if ip and same_ips:
            spec["clusterIPs"] = [ip]


def patch_allocated_values(svc: dict, old: dict) -> None:
    """Fill in allocated values an update left out (kubectl replace, apply without them)."""
    spec, old_spec = _spec(svc), old.get("spec") or {}
    if needs_cluster_ip(old) and needs_cluster_ip(svc):
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
        for key in ("ipFamilies", "ipFamilyPolicy"):
            if (
                not spec.get(key)
                and old_spec.get(key)
                and spec.get("clusterIP") == old_spec.get("clusterIP")
            ):
                spec[key] = copy.deepcopy(old_spec[key])
    if needs_node_port(old) and needs_node_port(svc):
        used = node_ports_of(old) & node_ports_of(svc)
        by_name = {p.get("name") or "": p.get("nodePort") for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                candidate = by_name.get(port.get("name") or "")
                if candidate and candidate not in used:
                    port["nodePort"] = candidate
    if needs_health_check(old) and needs_health_check(svc) and not spec.get("healthCheckNodePort"):
        if old_spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def drop_type_dependent_fields(svc: dict, old: dict) -> None:
    """Wipe fields the new type does not use, when the client left them as they were."""
    spec, old_spec = _spec(svc), old.get("spec") or {}

    def same(key: str) -> bool:
        return spec.get(key) == old_spec.get(key)

    if needs_cluster_ip(old) and not needs_cluster_ip(svc):
        if same("clusterIP") and same("clusterIPs"):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        for key in ("ipFamilies", "ipFamilyPolicy"):
            if same(key):
                spec.pop(key, None)
    if (
        needs_node_port(old)
        and not needs_node_port(svc)
        and node_ports_of(svc) == node_ports_of(old)
    ):
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)
    if needs_health_check(old) and not needs_health_check(svc) and same("healthCheckNodePort"):
        spec.pop("healthCheckNodePort", None)
    if old_spec.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer":
        for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if same(key):
                spec.pop(key, None)
    if (
        externally_accessible(old)
        and not externally_accessible(svc)
        and same("externalTrafficPolicy")
    ):
        spec.pop("externalTrafficPolicy", None)
    if spec.get("type") != "LoadBalancer" and isinstance(svc.get("status"), dict):
        svc["status"]["loadBalancer"] = {}


# ---- validation ------------------------------------------------------------


def _validate_cluster_ip_fields(spec: dict) -> list[FieldError]:
    """ValidateServiceClusterIPsRelatedFields."""
    if spec.get("type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    ip, ips = spec.get("clusterIP") or "", spec.get("clusterIPs") or []
    families = spec.get("ipFamilies") or []
    if ip:
        if not ips:
            errs.append(required("spec.clusterIPs"))
        elif ips[0] != ip:
            errs.append(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
    elif ips:
        errs.append(
            invalid("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified")
        )
    for i, fam in enumerate(families):
        if fam not in ("IPv4", "IPv6"):
            errs.append(not_supported(f"spec.ipFamilies[{i}]", fam, ["IPv4", "IPv6"]))
        if fam in families[:i]:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", fam))
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in FAMILY_POLICIES:
        errs.append(not_supported("spec.ipFamilyPolicy", policy, FAMILY_POLICIES))
    bad = False
    for i, value in enumerate(ips):
        if i == 0 and value == "None":
            if len(ips) > 1:
                bad = True
                errs.append(
                    invalid("spec.clusterIPs", ips, "'None' must be the first and only value")
                )
            continue
        ip_errs = validate_ip(f"spec.clusterIPs[{i}]", value)
        bad = bad or bool(ip_errs)
        errs += ip_errs
    if len(ips) > 2:
        errs.append(invalid("spec.clusterIPs", ips, "may only hold up to 2 values"))
    if bad:
        return errs
    parsed = [parse_ip(v) for v in ips if v != "None"]
    if len(ips) > 1 and len({p.version for p in parsed if p}) != len(parsed):
        errs.append(
            invalid("spec.clusterIPs", ips, "may specify no more than one IP for each IP family")
        )
    if ip != "None":
        for i, (value, fam) in enumerate(zip(ips, families)):
            version = parse_ip(value).version if parse_ip(value) else 0
            if (fam, version) in (("IPv4", 6), ("IPv6", 4)):
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        value,
                        f"expected an {fam} value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def _validate_ports(spec: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    ports = spec.get("ports") or []
    names: set[str] = set()
    seen_node_ports: set[tuple] = set()
    seen_ports: set[tuple] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errs.append(required(f"{p}.name"))
        elif name:
            errs += validate_dns1123_label(f"{p}.name", name)
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        errs += [
            invalid(f"{p}.port", port.get("port"), m) for m in is_valid_port_num(port.get("port"))
        ]
        protocol = port.get("protocol")
        if not protocol:
            errs.append(required(f"{p}.protocol"))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", protocol, PROTOCOLS))
        errs += validate_port_num_or_name(f"{p}.targetPort", port.get("targetPort"))
        if port.get("appProtocol") is not None:
            errs += validate_qualified_name(f"{p}.appProtocol", port["appProtocol"])
        if spec.get("type") == "ClusterIP" and port.get("nodePort"):
            errs.append(forbidden(f"{p}.nodePort", "may not be used when `type` is 'ClusterIP'"))
        if port.get("nodePort"):
            key = (protocol, port["nodePort"])
            if key in seen_node_ports:
                errs.append(duplicate(f"{p}.nodePort", port["nodePort"]))
            seen_node_ports.add(key)
        key = (protocol, port.get("port"))
        if key in seen_ports:
            errs.append(duplicate(p, {"protocol": protocol, "port": port.get("port")}))
        seen_ports.add(key)
    return errs


def validate_service(svc: dict) -> list[FieldError]:
    """ValidateService (metadata is validated generically)."""
    spec = _spec(svc)
    stype = spec.get("type")
    errs: list[FieldError] = []
    headless = is_headless(svc)
    if not spec.get("ports") and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))
    if stype in ("LoadBalancer", "NodePort") and headless:
        errs.append(
            invalid(
                "spec.clusterIPs[0]",
                (spec.get("clusterIPs") or ["None"])[0],
                f"may not be set to 'None' for {stype} services",
            )
        )
    elif stype == "ExternalName":
        for key in ("clusterIPs", "ipFamilies"):
            if spec.get(key):
                errs.append(forbidden(f"spec.{key}", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(
                forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
            )
        cname = (spec.get("externalName") or "").removesuffix(".")
        if cname:
            errs += validate_dns1123_subdomain("spec.externalName", cname)
        else:
            errs.append(required("spec.externalName"))
    errs += _validate_ports(spec)
    if spec.get("selector") is not None:
        errs += validate_labels("spec.selector", spec["selector"])
    affinity = spec.get("sessionAffinity")
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(
            forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    elif affinity == "ClientIP":
        timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get(
            "timeoutSeconds"
        )
        if timeout is None:
            errs.append(
                required(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    "when session affinity type is ClientIP",
                )
            )
        elif not 0 < timeout <= MAX_AFFINITY_SECONDS:
            errs.append(
                invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    timeout,
                    f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}",
                )
            )
    errs += _validate_cluster_ip_fields(spec)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        errs += validate_ip(f"spec.externalIPs[{i}]", ip)
    if not stype:
        errs.append(required("spec.type"))
    elif stype not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", stype, SERVICE_TYPES))
    for i, cidr in enumerate(spec.get("loadBalancerSourceRanges") or []):
        if stype != "LoadBalancer" and i == 0:
            errs.append(
                forbidden(
                    "spec.LoadBalancerSourceRanges",
                    "may only be used when `type` is 'LoadBalancer'",
                )
            )
        errs += validate_cidr(f"spec.LoadBalancerSourceRanges[{i}]", str(cidr).strip())
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype != "LoadBalancer":
        errs.append(
            forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    etp = spec.get("externalTrafficPolicy")
    if not externally_accessible(svc):
        if etp:
            errs.append(
                invalid(
                    "spec.externalTrafficPolicy",
                    etp,
                    "may only be set for externally-accessible services",
                )
            )
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    hc = spec.get("healthCheckNodePort")
    if hc and not needs_health_check(svc):
        errs.append(
            invalid(
                "spec.healthCheckNodePort",
                hc,
                "may only be set when `type` is "
                "'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            )
        )
    elif hc:
        errs += [invalid("spec.healthCheckNodePort", hc, m) for m in is_valid_port_num(hc)]
    itp = spec.get("internalTrafficPolicy")
    if itp is None and stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        errs.append(required("spec.internalTrafficPolicy"))
    elif itp is not None and itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    td = spec.get("trafficDistribution")
    if td is not None and td != "PreferClose":
        errs.append(not_supported("spec.trafficDistribution", td, ["PreferClose"]))
    return errs


def validate_service_update(svc: dict, old: dict) -> list[FieldError]:
    spec, old_spec = _spec(svc), old.get("spec") or {}
    errs: list[FieldError] = []
    if (
        needs_cluster_ip(svc)
        and needs_cluster_ip(old)
        and not (is_headless(svc) and is_headless(old))
    ):
        ips, old_ips = spec.get("clusterIPs") or [], old_spec.get("clusterIPs") or []
        if old_ips and not ips:
            errs.append(invalid("spec.clusterIPs[0]", ips, "primary clusterIP can not be unset"))
        elif (
            old_ips
            and ips
            and (ips[0] != old_ips[0] or (len(ips) == len(old_ips) and ips != old_ips))
        ):
            errs.append(invalid("spec.clusterIPs[0]", ips, "may not change once set"))
        families, old_families = spec.get("ipFamilies") or [], old_spec.get("ipFamilies") or []
        if old_families and families and families[0] != old_families[0]:
            errs.append(invalid("spec.ipFamilies[0]", families[0], "may not change once set"))
    if (
        old_spec.get("loadBalancerClass")
        and spec.get("type") == "LoadBalancer"
        and old_spec.get("type") == "LoadBalancer"
    ):
        errs += validate_immutable(
            "spec.loadBalancerClass",
            spec.get("loadBalancerClass"),
            old_spec.get("loadBalancerClass"),
        )
    if (
        needs_health_check(old)
        and needs_health_check(svc)
        and spec.get("healthCheckNodePort") != old_spec.get("healthCheckNodePort")
    ):
        errs.append(forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errs


@register("", "Service")
class ServiceStrategy(Strategy):
    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {"loadBalancer": {}}
        normalize_cluster_ips(obj, None)

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        self.default(obj)
        patch_allocated_values(obj, old)
        normalize_cluster_ips(obj, old)
        drop_type_dependent_fields(obj, old)

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        spec.setdefault("sessionAffinity", "None")
        if spec["sessionAffinity"] == "None":
            spec.pop("sessionAffinityConfig", None)
        elif spec["sessionAffinity"] == "ClientIP":
            config = spec.get("sessionAffinityConfig") or {}
            if ((config.get("clientIP") or {}).get("timeoutSeconds")) is None:
                spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
        spec.setdefault("type", "ClusterIP")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
        if externally_accessible(obj):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
            for ingress in ((obj.get("status") or {}).get("loadBalancer") or {}).get(
                "ingress"
            ) or []:
                if ingress.get("ip"):
                    ingress.setdefault("ipMode", "VIP")

    def validate(self, obj: dict) -> list[FieldError]:
        return validate_service(obj)

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return validate_service_update(obj, old) + validate_service(obj)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        spec = obj.get("spec") or {}
        return {"spec.clusterIP": spec.get("clusterIP") or "", "spec.type": spec.get("type") or ""}

    async def before_create(self, ctx: "ServerContext", obj: dict) -> None:
        if not needs_cluster_ip(obj):
            return
        res = Reservation(ctx, obj)
        await allocate_ips(res)
        if needs_node_port(obj):
            await res.node_ports(set())
        if needs_health_check(obj):
            await res.health_check_port(None)

    async def before_update(self, ctx: "ServerContext", obj: dict, old: dict) -> None:
        res = Reservation(ctx, obj)
        old_spec = old.get("spec") or {}
        if needs_cluster_ip(obj) and not needs_cluster_ip(old):
            await allocate_ips(res)
        if needs_node_port(obj):
            await res.node_ports(node_ports_of(old))
        if needs_health_check(obj):
            keep = old_spec.get("healthCheckNodePort") if needs_health_check(old) else None
            await res.health_check_port(keep)
        # Only once everything new is reserved: give back what the service no longer holds.
        spec = _spec(obj)
        if needs_cluster_ip(old) and not needs_cluster_ip(obj):
            for ip in old_spec.get("clusterIPs") or []:
                if ip != "None":
                    await ctx.cluster_ips.unreserve(ip)
        for port in node_ports_of(old) - node_ports_of(obj):
            await ctx.node_ports.unreserve(port)
        old_hc = old_spec.get("healthCheckNodePort")
        if old_hc and old_hc != spec.get("healthCheckNodePort"):
            await ctx.node_ports.unreserve(old_hc)

    async def after_delete(self, ctx: "ServerContext", obj: dict) -> None:
        await release_all(ctx, obj)

    async def undo_create(self, ctx: "ServerContext", obj: dict) -> None:
        await release_all(ctx, obj)
