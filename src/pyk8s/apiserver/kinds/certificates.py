"""CertificateSigningRequests: who asked, what was asked, and what may change later.

As upstream's CSR strategy: on create the requester's identity (username, uid, groups,
extra) is stamped into the spec from the authenticated user — never taken from the
body, since approvers decide on it — and status is cleared; the spec is immutable;
the request must be a PEM ``CERTIFICATE REQUEST`` that parses, with a signerName and
known usages. Conditions change only through /approval, the certificate through /status.
"""

from __future__ import annotations

from cryptography import x509

from ..errors import FieldError, invalid, not_supported, required
from . import register
from ..strategy import Strategy

KNOWN_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment",
    "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
    "decipher only", "any", "server auth", "client auth", "code signing", "email protection",
    "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
    "microsoft sgc", "netscape sgc",
)


@register("certificates.k8s.io", "CertificateSigningRequest")
class CertificateSigningRequestStrategy(Strategy):
    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {}

    def set_requester(self, obj: dict, user) -> None:
        spec = obj.setdefault("spec", {})
        for field in ("username", "uid", "groups", "extra"):
            spec.pop(field, None)
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        if user.groups:
            spec["groups"] = list(user.groups)
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra.items()}

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        obj["spec"] = old.get("spec", {})

    def validate(self, obj: dict) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errs: list[FieldError] = []
        request = spec.get("request")
        if not request:
            errs.append(required("spec.request"))
        else:
            try:
                import base64

                pem = base64.b64decode(request)
                x509.load_pem_x509_csr(pem)
            except (ValueError, TypeError):
                errs.append(invalid("spec.request", "<omitted>",
                                    "PEM block type must be CERTIFICATE REQUEST"))
        if not spec.get("signerName"):
            errs.append(required("spec.signerName"))
        usages = spec.get("usages") or []
        for i, usage in enumerate(usages):
            if usage not in KNOWN_USAGES:
                errs.append(not_supported(f"spec.usages[{i}]", usage, list(KNOWN_USAGES)))
        expiration = spec.get("expirationSeconds")
        if expiration is not None and (not isinstance(expiration, int) or expiration < 600):
            errs.append(invalid("spec.expirationSeconds", expiration,
                                "may not specify a duration less than 600 seconds (10 minutes)"))
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return []
