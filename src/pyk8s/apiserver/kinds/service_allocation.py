"""Cluster IP and node port reservation for Services (upstream's service REST allocator).

A Service of type ClusterIP, NodePort or LoadBalancer needs an address from the
service CIDR, its IP families set for this (single-stack) cluster, and for the
externally reachable types node ports; requested values are honoured when free.
What one create or update reserves is given back if anything later in the same
request fails, and errors carry upstream's wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..allocators import AllocationError
from ..errors import FieldError, invalid
from ..validation import parse_ip

if TYPE_CHECKING:
    from ..context import ServerContext


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def needs_cluster_ip(svc: dict) -> bool:
    return (svc.get("spec") or {}).get("type") != "ExternalName"


def needs_node_port(svc: dict) -> bool:
    return (svc.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")


def should_allocate_node_ports(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    if spec.get("type") == "NodePort":
        return True
    return (
        spec.get("type") == "LoadBalancer"
        and spec.get("allocateLoadBalancerNodePorts", True) is not False
    )


def externally_accessible(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") in ("LoadBalancer", "NodePort") or (
        spec.get("type") == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def needs_health_check(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def is_headless(svc: dict) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def node_ports_of(svc: dict) -> set[int]:
    return {p["nodePort"] for p in (svc.get("spec") or {}).get("ports") or [] if p.get("nodePort")}


class Reservation:
    """What one create/update reserved, so a failure can give it all back."""

    def __init__(self, ctx: "ServerContext", svc: dict) -> None:
        self.ctx, self.svc = ctx, svc
        self.owner = (svc.get("metadata") or {}).get("uid")
        self.ips: list[str] = []
        self.ports: list[int] = []

    async def fail(self, errs: list[FieldError]) -> errors.APIError:
        await self.rollback()
        meta = self.svc.get("metadata") or {}
        return errors.invalid_object("", "Service", meta.get("name", ""), errs)

    async def rollback(self) -> None:
        for ip in self.ips:
            await self.ctx.cluster_ips.unreserve(ip)
        for port in self.ports:
            await self.ctx.node_ports.unreserve(port)

    async def cluster_ip(self) -> None:
        spec = _spec(self.svc)
        requested = (spec.get("clusterIPs") or [None])[0] or spec.get("clusterIP") or None
        try:
            ip = await self.ctx.cluster_ips.reserve(requested, owner=self.owner)
        except AllocationError as err:
            if requested:
                raise await self.fail(
                    [
                        invalid(
                            "spec.clusterIPs",
                            spec.get("clusterIPs") or [requested],
                            f"failed to allocate IP {requested}: {err}",
                        )
                    ]
                ) from None
            await self.rollback()
            raise errors.internal(f"failed to allocate a serviceIP: {err}") from None
        self.ips.append(ip)
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]

    async def node_port(self, path: str, port: int | None) -> int:
        try:
            value = await self.ctx.node_ports.reserve(port or None, owner=self.owner)
        except AllocationError as err:
            if port:
                raise await self.fail([invalid(path, port, str(err))]) from None
            await self.rollback()
            raise errors.internal(f"failed to allocate a nodePort: {err}") from None
        self.ports.append(value)
        return value

    async def node_ports(self, keep: set[int]) -> None:
        """Allocate every port's nodePort; ports sharing a number share a nodePort."""
        spec = _spec(self.svc)
        ports = spec.get("ports") or []
        by_number: dict[Any, int] = {}
        for i, port in enumerate(ports):
            wanted = port.get("nodePort") or 0
            if not wanted and not should_allocate_node_ports(self.svc):
                continue
            shared = by_number.get(port.get("port"))
            if shared and wanted in (0, shared):
                port["nodePort"] = shared
                continue
            if not wanted:
                wanted = next(
                    (
                        p.get("nodePort")
                        for p in ports[i + 1 :]
                        if p.get("port") == port.get("port") and p.get("nodePort")
                    ),
                    0,
                )
            if wanted in keep or wanted in self.ports:
                port["nodePort"] = wanted
            else:
                port["nodePort"] = await self.node_port(f"spec.ports[{i}].nodePort", wanted)
            by_number.setdefault(port.get("port"), port["nodePort"])

    async def health_check_port(self, keep: int | None) -> None:
        spec = _spec(self.svc)
        wanted = spec.get("healthCheckNodePort") or 0
        if wanted and wanted == keep:
            return
        spec["healthCheckNodePort"] = await self.node_port("spec.healthCheckNodePort", wanted)


def init_ip_families(svc: dict, cluster_family: str) -> list[FieldError]:
    """initIPFamilyFields for a single-stack cluster."""
    spec = _spec(svc)
    other = "IPv6" if cluster_family == "IPv4" else "IPv4"
    families = list(spec.get("ipFamilies") or [])
    errs: list[FieldError] = []
    policy = spec.get("ipFamilyPolicy")
    if policy == "SingleStack" and len(families) == 2:
        errs.append(
            invalid(
                "spec.ipFamilyPolicy",
                policy,
                "must be RequireDualStack or "
                "PreferDualStack when multiple IP families are specified",
            )
        )
    for i, value in enumerate(spec.get("clusterIPs") or []):
        if value == "None":
            break
        ip = parse_ip(value)
        family = "IPv4" if ip and ip.version == 4 else "IPv6"
        if i >= len(families):
            if family != cluster_family:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        spec["clusterIPs"],
                        f"{family} is not configured on this cluster",
                    )
                )
            else:
                families.append(family)
    if errs:
        return errs
    if is_headless(svc) and not spec.get("selector"):
        if policy is None and not families:
            policy = "RequireDualStack"
        families = families or [cluster_family]
        if len(families) < 2 and policy != "SingleStack":
            families.append(other if families[0] == cluster_family else cluster_family)
        spec["ipFamilyPolicy"], spec["ipFamilies"] = policy or "SingleStack", families
        return []
    policy = policy or ("RequireDualStack" if len(families) == 2 else "SingleStack")
    if policy == "RequireDualStack":
        errs.append(
            invalid(
                "spec.ipFamilyPolicy",
                policy,
                "this cluster is not configured for dual-stack services",
            )
        )
    errs += [
        invalid(f"spec.ipFamilies[{i}]", f, "not configured on this cluster")
        for i, f in enumerate(families)
        if f != cluster_family
    ]
    spec["ipFamilyPolicy"], spec["ipFamilies"] = policy, families or [cluster_family]
    return errs


async def allocate_ips(res: Reservation) -> None:
    errs = init_ip_families(res.svc, res.ctx.cluster_ips.family)
    if errs:
        raise await res.fail(errs)
    if not is_headless(res.svc):
        await res.cluster_ip()


async def release_all(ctx: "ServerContext", svc: dict) -> None:
    spec = svc.get("spec") or {}
    for ip in spec.get("clusterIPs") or []:
        if ip != "None":
            await ctx.cluster_ips.unreserve(ip)
    for port in node_ports_of(svc):
        await ctx.node_ports.unreserve(port)
    if spec.get("healthCheckNodePort"):
        await ctx.node_ports.unreserve(spec["healthCheckNodePort"])
