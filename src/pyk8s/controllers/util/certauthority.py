"""Issuing certificates from the cluster CA, with the local signer's policy.

As kube-controller-manager's csrsigning (``authority.PermissiveSigningPolicy``): the
certificate carries the request's subject, public key and DNS/email/IP/URI SANs, but none of
its other extensions; ``spec.usages`` become the key usage (critical) and extended key usage
extensions (the latter in Go's ExtKeyUsage order); basic constraints say CA:false. It is
backdated five minutes against clock skew: NotBefore = now - 5m, NotAfter = now + ttl - 5m,
except that a short certificate (ttl < 8h) keeps its full ttl, NotAfter = now + ttl; NotAfter
never outlives the CA. The ttl is ``--cluster-signing-duration`` unless ``expirationSeconds``
asks for less (never below ten minutes, twice the backdate).

The CA files are re-read when they change, so a rotated CA is picked up without a restart.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from .csr import Request, RequestError

BACKDATE = timedelta(minutes=5)
SHORT = timedelta(hours=8)
MIN_DURATION = timedelta(minutes=10)

KEY_USAGE_FLAGS = {
    "signing": "digital_signature", "digital signature": "digital_signature",
    "content commitment": "content_commitment", "key encipherment": "key_encipherment",
    "key agreement": "key_agreement", "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign", "crl sign": "crl_sign",
    "encipher only": "encipher_only", "decipher only": "decipher_only",
}
#: In the order Go numbers ExtKeyUsage, which is the order the signer writes them in.
EXT_KEY_USAGES = (
    ("any", ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE),
    ("server auth", ExtendedKeyUsageOID.SERVER_AUTH),
    ("client auth", ExtendedKeyUsageOID.CLIENT_AUTH),
    ("code signing", ExtendedKeyUsageOID.CODE_SIGNING),
    ("email protection", ExtendedKeyUsageOID.EMAIL_PROTECTION),
    ("s/mime", ExtendedKeyUsageOID.EMAIL_PROTECTION),
    ("ipsec end system", ObjectIdentifier("1.3.6.1.5.5.7.3.5")),
    ("ipsec tunnel", ObjectIdentifier("1.3.6.1.5.5.7.3.6")),
    ("ipsec user", ObjectIdentifier("1.3.6.1.5.5.7.3.7")),
    ("timestamping", ExtendedKeyUsageOID.TIME_STAMPING),
    ("ocsp signing", ExtendedKeyUsageOID.OCSP_SIGNING),
    ("microsoft sgc", ObjectIdentifier("1.3.6.1.4.1.311.10.3.3")),
    ("netscape sgc", ObjectIdentifier("2.16.840.1.113730.4.1")),
)
_EXT_BY_NAME = dict(EXT_KEY_USAGES)
_EXT_RANK = {oid: rank for rank, (_, oid) in reversed(list(enumerate(EXT_KEY_USAGES)))}


class SignerError(Exception):
    """The CA cannot sign right now (unreadable files, expired); retried with backoff."""


def key_usages(usages: list[str]) -> tuple[x509.KeyUsage | None, list[ObjectIdentifier]]:
    """The key usage extension (None if no bits) and extended key usages for ``usages``."""
    flags: set[str] = set()
    extended: set[ObjectIdentifier] = set()
    unrecognized = []
    for usage in usages:
        if usage in KEY_USAGE_FLAGS:
            flags.add(KEY_USAGE_FLAGS[usage])
        elif usage in _EXT_BY_NAME:
            extended.add(_EXT_BY_NAME[usage])
        else:
            unrecognized.append(usage)
    if unrecognized:
        quoted = " ".join(f'"{u}"' for u in unrecognized)
        raise RequestError(f"unrecognized usage values: [{quoted}]")
    key_usage = None
    if flags:
        if flags & {"encipher_only", "decipher_only"} and "key_agreement" not in flags:
            raise RequestError("encipher only and decipher only need key agreement")
        key_usage = x509.KeyUsage(**{name: name in flags
                                     for name in set(KEY_USAGE_FLAGS.values())})
    return key_usage, sorted(extended, key=_EXT_RANK.__getitem__)


def duration(expiration_seconds: int | None, cert_ttl: timedelta) -> timedelta:
    """The lifetime to issue: ``cert_ttl`` unless the CSR asks for less (10 minutes at least)."""
    if expiration_seconds is None:
        return cert_ttl
    requested = timedelta(seconds=expiration_seconds)
    return min(cert_ttl, max(MIN_DURATION, requested))


def validity(now: datetime, ttl: timedelta, signer_not_after: datetime
             ) -> tuple[datetime, datetime]:
    """(NotBefore, NotAfter) of a certificate issued at ``now``, backdated as upstream."""
    not_before = now - BACKDATE
    not_after = now + ttl if ttl < SHORT else now + ttl - BACKDATE
    not_after = min(not_after, signer_not_after)
    if not_before >= signer_not_after:
        raise SignerError(f"the signer has expired: NotAfter={signer_not_after}")
    if now >= signer_not_after:
        raise SignerError("refusing to sign a certificate that expired in the past: "
                          f"NotAfter={signer_not_after}")
    return not_before, not_after


def _hash_for(key) -> hashes.HashAlgorithm | None:
    """The digest Go's x509 picks for a CA key (none for Ed25519/Ed448)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        return hashes.SHA512() if size > 384 else hashes.SHA384() if size > 256 \
            else hashes.SHA256()
    return None


def _subject_alt_names(req: Request) -> list[x509.GeneralName]:
    """The request's SANs in the order Go writes them: DNS, email, IP, URI."""
    try:
        sans = req.csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    order = (x509.DNSName, x509.RFC822Name, x509.IPAddress, x509.UniformResourceIdentifier)
    return [name for kind in order for name in sans if isinstance(name, kind)]


class CertificateAuthority:
    """A CA certificate and its private key."""

    def __init__(self, cert: x509.Certificate, key) -> None:
        self.cert = cert
        self.key = key

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            key = serialization.load_pem_private_key(key_pem, None)
        except (ValueError, TypeError) as err:
            raise SignerError(f"unable to load the signing CA: {err}") from err
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
            raise SignerError("the signing CA's key does not match its certificate")
        return cls(cert, key)

    def sign(self, req: Request, usages: list[str], ttl: timedelta, now: datetime) -> bytes:
        """A PEM certificate for ``req``; RequestError if the request itself is unusable."""
        if not req.csr.is_signature_valid:
            raise RequestError("unable to verify certificate request signature")
        key_usage, extended = key_usages(usages)
        not_before, not_after = validity(now, ttl, self.cert.not_valid_after_utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(req.csr.subject)
                   .issuer_name(self.cert.subject)
                   .public_key(req.csr.public_key())
                   .serial_number(secrets.randbelow(2 ** 128 - 1) + 1)
                   .not_valid_before(not_before)
                   .not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True))
        if key_usage is not None:
            builder = builder.add_extension(key_usage, critical=True)
        if extended:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
        sans = _subject_alt_names(req)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans),
                                            critical=len(req.csr.subject) == 0)
        try:
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value),
                critical=False)
        except x509.ExtensionNotFound:
            pass
        cert = builder.sign(self.key, _hash_for(self.key))
        return cert.public_bytes(serialization.Encoding.PEM)


class CAFiles:
    """The CA in ``--cluster-signing-cert-file``/``-key-file``, reloaded when they change."""

    def __init__(self, cert_file: str, key_file: str) -> None:
        self.paths = (Path(cert_file), Path(key_file))
        self._stamp: tuple | None = None
        self._ca: CertificateAuthority | None = None

    def current(self) -> CertificateAuthority:
        try:
            stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in self.paths)
            if stamp != self._stamp or self._ca is None:
                self._ca = CertificateAuthority.from_pem(*(p.read_bytes() for p in self.paths))
                self._stamp = stamp
        except OSError as err:
            raise SignerError(f"unable to read the signing CA: {err}") from err
        return self._ca
