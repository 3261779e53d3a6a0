"""NetworkPolicies, Ingresses, IngressClasses and PodDisruptionBudgets.

Small strategies for kinds no pyk8s component enforces yet but clients create
and read back: upstream's defaults (policyTypes, port protocols), status reset on
create, generation tracking, and the checks users hit most often.
"""

from __future__ import annotations

from ..errors import FieldError, invalid, not_supported
from ..strategy import Strategy
from ..validation import validate_label_selector
from . import register
from .containers import PROTOCOLS
from .workloads import validate_int_or_percent


@register("networking.k8s.io", "NetworkPolicy")
class NetworkPolicyStrategy(Strategy):
    tracks_generation = True

    def default(self, obj: dict) -> None:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        obj["spec"] = spec
        for direction in ("ingress", "egress"):
            for rule in spec.get(direction) or []:
                for port in rule.get("ports") or []:
                    port.setdefault("protocol", "TCP")
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])

    def validate(self, obj: dict) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs = validate_label_selector("spec.podSelector", spec.get("podSelector"))
        for i, ptype in enumerate(spec.get("policyTypes") or []):
            if ptype not in ("Ingress", "Egress"):
                errs.append(not_supported(f"spec.policyTypes[{i}]", ptype, ["Ingress", "Egress"]))
        for direction in ("ingress", "egress"):
            for i, rule in enumerate(spec.get(direction) or []):
                for j, port in enumerate(rule.get("ports") or []):
                    if port.get("protocol") not in PROTOCOLS:
                        errs.append(
                            not_supported(
                                f"spec.{direction}[{i}].ports[{j}].protocol",
                                port.get("protocol"),
                                PROTOCOLS,
                            )
                        )
        return errs


@register("networking.k8s.io", "Ingress")
class IngressStrategy(Strategy):
    tracks_generation = True

    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {"loadBalancer": {}}

    def validate(self, obj: dict) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, rule in enumerate((obj.get("spec") or {}).get("rules") or []):
            for j, path in enumerate((rule.get("http") or {}).get("paths") or []):
                ptype = path.get("pathType")
                if ptype not in ("Exact", "Prefix", "ImplementationSpecific"):
                    errs.append(
                        not_supported(
                            f"spec.rules[{i}].http.paths[{j}].pathType",
                            ptype,
                            ["Exact", "ImplementationSpecific", "Prefix"],
                        )
                    )
        return errs


@register("networking.k8s.io", "IngressClass")
class IngressClassStrategy(Strategy):
    tracks_generation = True


@register("policy", "PodDisruptionBudget")
class PodDisruptionBudgetStrategy(Strategy):
    tracks_generation = True

    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "disruptionsAllowed": 0,
            "expectedPods": 0,
        }

    def validate(self, obj: dict) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            errs.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
        for key in ("minAvailable", "maxUnavailable"):
            if spec.get(key) is not None:
                errs += validate_int_or_percent(f"spec.{key}", spec[key])
        errs += validate_label_selector("spec.selector", spec.get("selector"))
        policy = spec.get("unhealthyPodEvictionPolicy")
        if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
            errs.append(
                not_supported(
                    "spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]
                )
            )
        return errs
