"""Small kinds of several groups whose printers are a column or two each: CertificateSigningRequest
(``certificates.k8s.io``), Lease (``coordination.k8s.io``), PodDisruptionBudget (``policy``) and
PriorityClass (``scheduling.k8s.io``).

A CSR's CONDITION folds its conditions the way ``kubectl certificate approve`` users expect:
Denied beats Approved beats Pending, then ``,Failed`` and ``,Issued`` once a certificate exists.
"""

from __future__ import annotations

import datetime

from .base import Printer, age_column, age_of, as_int, column, dig, name_column, name_of
from .descriptions import doc
from .timefmt import human_duration

# --- CertificateSigningRequest ----------------------------------------------------------------


def csr_condition(csr: dict) -> str:
    kinds = {
        c.get("type") for c in dig(csr, "status", "conditions", default=[]) if isinstance(c, dict)
    }
    if "Denied" in kinds:
        status = "Denied"
    elif "Approved" in kinds:
        status = "Approved"
    else:
        status = "Pending"
    if "Failed" in kinds:
        status += ",Failed"
    if dig(csr, "status", "certificate"):
        status += ",Issued"
    return status


def _requested_duration(spec: dict) -> str:
    seconds = spec.get("expirationSeconds")
    if seconds is None:
        return "<none>"
    return human_duration(datetime.timedelta(seconds=as_int(seconds)))


def _csr_cells(csr: dict, now: datetime.datetime) -> list:
    spec = csr.get("spec") or {}
    return [
        name_of(csr),
        age_of(csr, now),
        str(spec.get("signerName") or "<none>"),
        str(spec.get("username") or ""),
        _requested_duration(spec),
        csr_condition(csr),
    ]


_CSR = "certificates/v1beta1.CertificateSigningRequest"

CERTIFICATE_SIGNING_REQUEST = Printer(
    [
        name_column(),
        age_column(),
        column("SignerName", "string", doc(_CSR + "Spec.signerName")),
        column("Requestor", "string", doc(_CSR + "Spec.request")),
        column("RequestedDuration", "string", doc(_CSR + "Spec.expirationSeconds")),
        column("Condition", "string", doc(_CSR + "Status.conditions")),
    ],
    _csr_cells,
)

# --- Lease ------------------------------------------------------------------------------------

LEASE = Printer(
    [name_column(), column("Holder", "string", doc("LeaseSpec.holderIdentity")), age_column()],
    lambda obj, now: [
        name_of(obj),
        str(dig(obj, "spec", "holderIdentity", default="")),
        age_of(obj, now),
    ],
)

# --- PodDisruptionBudget ----------------------------------------------------------------------


def _int_or_string(value: object) -> str:
    """An IntOrString field's ``String()``, ``N/A`` when unset."""
    if value is None:
        return "N/A"
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


POD_DISRUPTION_BUDGET = Printer(
    [
        name_column(),
        column("Min Available", "string", "The minimum number of pods that must be available."),
        column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
        column(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        age_column(),
    ],
    lambda obj, now: [
        name_of(obj),
        _int_or_string(dig(obj, "spec", "minAvailable")),
        _int_or_string(dig(obj, "spec", "maxUnavailable")),
        as_int(dig(obj, "status", "disruptionsAllowed")),
        age_of(obj, now),
    ],
)

# --- PriorityClass ----------------------------------------------------------------------------

PRIORITY_CLASS = Printer(
    [
        name_column(),
        column("Value", "integer", doc("PriorityClass.value")),
        column("Global-Default", "boolean", doc("PriorityClass.globalDefault")),
        age_column(),
        column("PreemptionPolicy", "string", doc("PriorityClass.preemptionPolicy")),
    ],
    lambda obj, now: [
        name_of(obj),
        as_int(obj.get("value")),
        bool(obj.get("globalDefault") or False),
        age_of(obj, now),
        str(obj.get("preemptionPolicy") or ""),
    ],
)

PRINTERS = {
    ("certificates.k8s.io", "CertificateSigningRequest"): CERTIFICATE_SIGNING_REQUEST,
    ("coordination.k8s.io", "Lease"): LEASE,
    ("policy", "PodDisruptionBudget"): POD_DISRUPTION_BUDGET,
    ("scheduling.k8s.io", "PriorityClass"): PRIORITY_CLASS,
}
