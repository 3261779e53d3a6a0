"""Leases (coordination.k8s.io): the leader-election and node-heartbeat records.

Controllers and kubelets renew Leases constantly, often with PUT on a lease that
may not exist yet, so leases may be created by update, and their durations and
transition counts are checked like upstream's ValidateLeaseSpec.
"""

from __future__ import annotations

from ..errors import FieldError, invalid
from ..strategy import Strategy
from . import register


@register("coordination.k8s.io", "Lease")
class LeaseStrategy(Strategy):
    allow_create_on_update = True

    def validate(self, obj: dict) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and duration <= 0:
            errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        transitions = spec.get("leaseTransitions")
        if transitions is not None and transitions < 0:
            errs.append(
                invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
            )
        return errs
