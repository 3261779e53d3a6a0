"""Nodes: podCIDR defaults, taint and CIDR validation, the ``spec.unschedulable`` selector.

Kubelets register Nodes with their status, so unlike most kinds the status is
kept on create. Validation follows ValidateNode / ValidateNodeUpdate, including
upstream's historical ``metadata.taints`` field path for taint errors.
"""

from __future__ import annotations

import ipaddress

from ..errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from ..strategy import Strategy
from ..validation import is_valid_label_value, validate_cidr, validate_qualified_name
from . import register
from .podspec import TAINT_EFFECTS

_CIDR_CHANGE = 'node updates may not change podCIDR except from "" to valid'


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def validate_taints(taints: list, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        p = f"{path}[{i}]"
        key, effect = taint.get("key") or "", taint.get("effect") or ""
        errs += validate_qualified_name(f"{p}.key", key)
        msgs = is_valid_label_value(taint.get("value") or "")
        if msgs:
            errs.append(invalid(f"{p}.value", taint.get("value") or "", ";".join(msgs)))
        if not effect:
            errs.append(required(f"{p}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
        if (effect, key) in seen:
            err = duplicate(p, taint)
            err.detail = "taints must be unique by key and effect pair"
            errs.append(err)
            continue
        seen.add((effect, key))
    return errs


def _validate_pod_cidrs(cidrs: list) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, cidr in enumerate(cidrs):
        errs += validate_cidr(f"spec.podCIDRs[{i}]", cidr)
    if errs or len(cidrs) < 2:
        return errs
    versions = [ipaddress.ip_network(c, strict=False).version for c in cidrs]
    if len(cidrs) > 2 or len(set(versions)) != len(versions):
        errs.append(
            invalid("spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family")
        )
    for i, cidr in enumerate(cidrs):
        if cidr in cidrs[:i]:
            errs.append(duplicate(f"spec.podCIDRs[{i}]", cidr))
    return errs


@register("", "Node")
class NodeStrategy(Strategy):
    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        if spec.get("podCIDR") and not spec.get("podCIDRs"):
            spec["podCIDRs"] = [spec["podCIDR"]]
        elif spec.get("podCIDRs"):
            spec["podCIDR"] = spec["podCIDRs"][0]
        status = obj.get("status")
        if (
            isinstance(status, dict)
            and status.get("capacity")
            and status.get("allocatable") is None
        ):
            status["allocatable"] = dict(status["capacity"])

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = validate_taints(spec.get("taints") or [], "metadata.taints")
        return errs + _validate_pod_cidrs(spec.get("podCIDRs") or [])

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        spec, old_spec = _spec(obj), old.get("spec") or {}
        errs = self.validate(obj)
        seen: list[dict] = []
        for i, address in enumerate((obj.get("status") or {}).get("addresses") or []):
            if address in seen:
                errs.append(duplicate(f"status.addresses[{i}]", address))
            seen.append(address)
        old_cidrs = old_spec.get("podCIDRs") or []
        if old_cidrs and old_cidrs != (spec.get("podCIDRs") or []):
            errs.append(forbidden("spec.podCIDRs", _CIDR_CHANGE))
        old_provider = old_spec.get("providerID")
        if old_provider and old_provider != spec.get("providerID"):
            errs.append(
                forbidden(
                    "spec.providerID",
                    'node updates may not change providerID except from "" to valid',
                )
            )
        if spec.get("externalID") != old_spec.get("externalID"):
            errs.append(forbidden("spec.externalID", "may not be updated"))
        return errs

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return {"spec.unschedulable": "true" if _spec(obj).get("unschedulable") else "false"}
