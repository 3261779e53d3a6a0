"""Endpoints and EndpointSlices: port protocol defaults and address/port validation.

The endpoints controllers and kube-proxy read these, so the strategies keep them
well formed the way upstream does: valid, non-special IPs, DNS-label port names
(required once there are several ports), supported protocols, and for slices the
address type and size limits. EndpointSlices track their generation.
"""

from __future__ import annotations

import ipaddress

from ..errors import FieldError, duplicate, invalid, not_supported, required
from ..strategy import Strategy
from ..validation import (
    is_dns1123_subdomain,
    is_valid_port_num,
    validate_dns1123_label,
    validate_immutable,
    parse_ip,
    validate_ip,
    validate_qualified_name,
)
from . import register
from .containers import PROTOCOLS

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]


def validate_non_special_ip(path: str, value: str) -> list[FieldError]:
    """ValidateNonSpecialIP: endpoints may not point at unspecified/loopback/link-local IPs."""
    ip = ipaddress.ip_address(value)
    if ip.is_unspecified:
        return [invalid(path, value, "may not be unspecified (0.0.0.0)")]
    if ip.is_loopback:
        return [invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    if ip.is_link_local:
        return [
            invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        ]
    if ip in ipaddress.ip_network("224.0.0.0/24") or ip in ipaddress.ip_network("ff02::/16"):
        return [
            invalid(
                path,
                value,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        ]
    return []


def _validate_port(port: dict, path: str, require_name: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs += validate_dns1123_label(f"{path}.name", name)
    errs += [
        invalid(f"{path}.port", port.get("port"), m) for m in is_valid_port_num(port.get("port"))
    ]
    protocol = port.get("protocol")
    if not protocol:
        errs.append(required(f"{path}.protocol"))
    elif protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    if port.get("appProtocol") is not None:
        errs += validate_qualified_name(f"{path}.appProtocol", port["appProtocol"])
    return errs


def _validate_address(address: dict, path: str) -> list[FieldError]:
    ip = address.get("ip") or ""
    errs = validate_ip(f"{path}.ip", ip)
    if not errs:
        errs += validate_non_special_ip(f"{path}.ip", ip)
    if address.get("hostname"):
        errs += validate_dns1123_label(f"{path}.hostname", address["hostname"])
    if address.get("nodeName"):
        errs += [
            invalid(f"{path}.nodeName", address["nodeName"], m)
            for m in is_dns1123_subdomain(address["nodeName"])
        ]
    return errs


@register("", "Endpoints")
class EndpointsStrategy(Strategy):
    allow_create_on_update = True

    def default(self, obj: dict) -> None:
        for subset in obj.get("subsets") or []:
            for port in subset.get("ports") or []:
                port.setdefault("protocol", "TCP")

    def validate(self, obj: dict) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, subset in enumerate(obj.get("subsets") or []):
            p = f"subsets[{i}]"
            if not subset.get("addresses") and not subset.get("notReadyAddresses"):
                errs.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
            for kind in ("addresses", "notReadyAddresses"):
                for j, address in enumerate(subset.get(kind) or []):
                    errs += _validate_address(address, f"{p}.{kind}[{j}]")
            ports = subset.get("ports") or []
            for j, port in enumerate(ports):
                errs += _validate_port(port, f"{p}.ports[{j}]", len(ports) > 1)
        return errs


@register("discovery.k8s.io", "EndpointSlice")
class EndpointSliceStrategy(Strategy):
    tracks_generation = True

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
        if meta.get("labels") != old_meta.get("labels"):
            meta["generation"] = int(old_meta.get("generation") or 1) + 1

    def default(self, obj: dict) -> None:
        for port in obj.get("ports") or []:
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")

    def validate(self, obj: dict) -> list[FieldError]:
        errs: list[FieldError] = []
        address_type = obj.get("addressType")
        if not address_type:
            errs.append(required("addressType"))
        elif address_type not in ADDRESS_TYPES:
            errs.append(not_supported("addressType", address_type, ADDRESS_TYPES))
        endpoints = obj.get("endpoints") or []
        if len(endpoints) > 1000:
            errs.append(
                FieldError(
                    "FieldValueTooMany", "endpoints", "must have at most 1000 items", len(endpoints)
                )
            )
        for i, ep in enumerate(endpoints):
            p = f"endpoints[{i}]"
            addresses = ep.get("addresses") or []
            if not addresses:
                errs.append(required(f"{p}.addresses", "must contain at least 1 address"))
            elif len(addresses) > 100:
                errs.append(
                    FieldError(
                        "FieldValueTooMany",
                        f"{p}.addresses",
                        "must have at most 100 items",
                        len(addresses),
                    )
                )
            for j, address in enumerate(addresses):
                ap = f"{p}.addresses[{j}]"
                if address_type in ("IPv4", "IPv6"):
                    ip = parse_ip(address)
                    if ip is None or f"IPv{ip.version}" != address_type:
                        errs.append(invalid(ap, address, f"must be a valid {address_type} address"))
                elif address_type == "FQDN":
                    errs += [invalid(ap, address, m) for m in is_dns1123_subdomain(address)]
            if ep.get("hostname"):
                errs += validate_dns1123_label(f"{p}.hostname", ep["hostname"])
            if ep.get("nodeName"):
                errs += [
                    invalid(f"{p}.nodeName", ep["nodeName"], m)
                    for m in is_dns1123_subdomain(ep["nodeName"])
                ]
        ports = obj.get("ports") or []
        if len(ports) > 100:
            errs.append(
                FieldError("FieldValueTooMany", "ports", "must have at most 100 items", len(ports))
            )
        names: set[str] = set()
        for i, port in enumerate(ports):
            p = f"ports[{i}]"
            name = port.get("name") or ""
            if name:
                errs += validate_dns1123_label(f"{p}.name", name)
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
            protocol = port.get("protocol")
            if not protocol:
                errs.append(required(f"{p}.protocol"))
            elif protocol not in PROTOCOLS:
                errs.append(not_supported(f"{p}.protocol", protocol, PROTOCOLS))
            if port.get("port") is not None:
                errs += [
                    invalid(f"{p}.port", port["port"], m) for m in is_valid_port_num(port["port"])
                ]
            if port.get("appProtocol") is not None:
                errs += validate_qualified_name(f"{p}.appProtocol", port["appProtocol"])
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return self.validate(obj) + validate_immutable(
            "addressType", obj.get("addressType"), old.get("addressType")
        )
