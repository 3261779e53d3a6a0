"""Reading CertificateSigningRequests: the request inside, its conditions, kubelet shapes.

The approver and the signer both decode ``spec.request`` (base64 of a PEM ``CERTIFICATE
REQUEST``), read the approval conditions, and decide whether a request has the shape a kubelet
asks for -- a client certificate (CN ``system:node:<name>``, O ``system:nodes``, no SANs) or a
serving certificate (the same subject with DNS/IP SANs). The shape checks return upstream's
error messages (``None`` when the request fits) because the signer puts them into a Failed
condition. As upstream, either usage set is accepted for kubelet requests, with or without
``key encipherment`` (which only RSA keys use), whatever the key type.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"

NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"

KUBELET_CLIENT_USAGES = ({"digital signature", "key encipherment", "client auth"},
                         {"digital signature", "client auth"})
KUBELET_SERVING_USAGES = ({"digital signature", "key encipherment", "server auth"},
                          {"digital signature", "server auth"})


class RequestError(ValueError):
    """The CSR's request or usages cannot be honoured; the message says why."""


@dataclass(frozen=True)
class Request:
    """A parsed ``spec.request`` with the fields the approver and signer look at."""

    csr: x509.CertificateSigningRequest
    common_name: str
    organizations: tuple[str, ...]
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]


def parse_request(obj: dict) -> Request:
    """The request of a CSR object; RequestError when it is not a PEM certificate request."""
    encoded = (obj.get("spec") or {}).get("request") or ""
    try:
        pem = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise RequestError(f"request is not base64: {err}") from err
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise RequestError("PEM block type must be CERTIFICATE REQUEST")
    try:
        csr = x509.load_pem_x509_csr(pem)
        extensions = csr.extensions
    except ValueError as err:
        raise RequestError(f"unable to parse certificate request: {err}") from err
    subject = csr.subject
    common_names = [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = tuple(a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    try:
        sans = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = x509.SubjectAlternativeName([])
    return Request(
        csr=csr, common_name=str(common_names[-1]) if common_names else "",
        organizations=tuple(str(o) for o in orgs),
        dns_names=tuple(sans.get_values_for_type(x509.DNSName)),
        ip_addresses=tuple(str(ip) for ip in sans.get_values_for_type(x509.IPAddress)),
        emails=tuple(sans.get_values_for_type(x509.RFC822Name)),
        uris=tuple(sans.get_values_for_type(x509.UniformResourceIdentifier)))


def conditions(obj: dict) -> list[dict]:
    return list((obj.get("status") or {}).get("conditions") or ())


def approval(obj: dict) -> tuple[bool, bool]:
    """(approved, denied) from the CSR's conditions."""
    types = {c.get("type") for c in conditions(obj)}
    return "Approved" in types, "Denied" in types


def is_approved(obj: dict) -> bool:
    approved, denied = approval(obj)
    return approved and not denied


def has_true_condition(obj: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions(obj))


def usages_of(obj: dict) -> list[str]:
    return list((obj.get("spec") or {}).get("usages") or ())


def _go_list(values: set[str]) -> str:
    """A sorted set printed as Go's ``%v`` prints a string slice, for upstream's messages."""
    return "[" + " ".join(sorted(values)) + "]"


def kubelet_client_problem(req: Request, usages: list[str]) -> str | None:
    """Why ``req`` is not a kubelet client certificate request, or None when it is."""
    if req.organizations != (NODES_GROUP,):
        return "subject organization is not system:nodes"
    if req.dns_names:
        return "DNS subjectAltNames are not allowed"
    if req.emails:
        return "Email subjectAltNames are not allowed"
    if req.ip_addresses:
        return "IP subjectAltNames are not allowed"
    if req.uris:
        return "URI subjectAltNames are not allowed"
    if not req.common_name.startswith(NODE_PREFIX):
        return "subject common name does not begin with system:node:"
    if set(usages) not in KUBELET_CLIENT_USAGES:
        return f"usages did not match {_go_list(KUBELET_CLIENT_USAGES[0])}"
    return None


def kubelet_serving_problem(req: Request, usages: list[str]) -> str | None:
    """Why ``req`` is not a kubelet serving certificate request, or None when it is."""
    if req.organizations != (NODES_GROUP,):
        return "subject organization is not system:nodes"
    if not req.dns_names and not req.ip_addresses:
        return "DNS or IP subjectAltName is required"
    if req.emails:
        return "Email subjectAltNames are not allowed"
    if req.uris:
        return "URI subjectAltNames are not allowed"
    if set(usages) not in KUBELET_SERVING_USAGES:
        return f"usages did not match {_go_list(KUBELET_SERVING_USAGES[0])}"
    if not req.common_name.startswith(NODE_PREFIX):
        return "subject common name does not begin with system:node:"
    return None


def apiserver_client_problem(usages: list[str]) -> str | None:
    """Why these usages do not make a kube-apiserver client certificate, or None."""
    for usage in usages:
        if usage not in ("digital signature", "key encipherment", "client auth"):
            return f"invalid usage for client certificate: {usage}"
    if "client auth" not in usages:
        return "missing required usage for client certificate: client auth"
    return None


def signer_problem(signer: str, req: Request, usages: list[str]) -> str | None:
    """Why the built-in ``signer`` must refuse this request (None: it may sign)."""
    if signer == KUBE_APISERVER_CLIENT_KUBELET:
        return kubelet_client_problem(req, usages)
    if signer == KUBELET_SERVING:
        return kubelet_serving_problem(req, usages)
    if signer == KUBE_APISERVER_CLIENT:
        return apiserver_client_problem(usages)
    return None
