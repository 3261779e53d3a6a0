"""Cluster certificates and kubeconfigs, as kubeadm lays them out.

On first start the API server makes a cluster CA, a serving certificate whose
SANs cover every name clients use for it, an admin client certificate
(O=system:masters) wrapped in ``admin.conf``, and the control-plane components'
kubeconfigs (``scheduler.conf``, ``controller-manager.conf``, ``kube-proxy.conf``) and
the API server's client certificate for kubelets (``apiserver-kubelet-client.crt``).
Later starts reuse the files, so kubeconfigs handed out stay valid. A kubelet started
without a serving certificate makes itself a self-signed one, as upstream's does.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=365)


@dataclass
class KeyPair:
    cert_path: Path
    key_path: Path

    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(pair: KeyPair, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    pair.cert_path.parent.mkdir(parents=True, exist_ok=True)
    pair.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(pair.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _load(pair: KeyPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(pair.cert_pem())
    key = serialization.load_pem_private_key(pair.key_pem(), None)
    return cert, key  # type: ignore[return-value]


def ensure_ca(directory: Path) -> KeyPair:
    """The cluster CA (``ca.crt``/``ca.key``), created when missing."""
    pair = KeyPair(directory / "ca.crt", directory / "ca.key")
    if pair.cert_path.exists() and pair.key_path.exists():
        return pair
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(pair, cert, key)
    return pair


def issue(
    ca: KeyPair,
    pair: KeyPair,
    *,
    common_name: str,
    organizations: tuple[str, ...] = (),
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
    server: bool = False,
) -> KeyPair:
    """Sign a leaf certificate with the CA and write it (overwrites)."""
    ca_cert, ca_key = _load(ca)
    key = _new_key()
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
            critical=False,
        )
    )
    if dns_names or ip_addresses:
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ip_addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(pair, cert, key)
    return pair


def serving_names(bind_address: str, first_service_ip: str, extra: tuple[str, ...] = ()) -> tuple:
    """(dns names, ip addresses) the serving certificate must cover."""
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local", os.uname().nodename]
    ips = ["127.0.0.1", first_service_ip]
    for name in (bind_address, *extra):
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            dns.append(name)
            continue
        if not ip.is_unspecified:
            ips.append(str(ip))
    return tuple(dict.fromkeys(dns)), tuple(dict.fromkeys(ips))


def ensure_serving_cert(ca: KeyPair, directory: Path, dns: tuple, ips: tuple) -> KeyPair:
    """``apiserver.crt`` for these names; reissued when the names change."""
    pair = KeyPair(directory / "apiserver.crt", directory / "apiserver.key")
    if pair.cert_path.exists() and pair.key_path.exists():
        cert, _ = _load(pair)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = set(san.get_values_for_type(x509.DNSName)) | {
                str(i) for i in san.get_values_for_type(x509.IPAddress)
            }
        except x509.ExtensionNotFound:
            have = set()
        if have >= set(dns) | set(ips):
            return pair
    return issue(ca, pair, common_name="kube-apiserver", dns_names=dns, ip_addresses=ips,
                 server=True)


def kubeconfig(server: str, ca: KeyPair, client: KeyPair, user: str,
               cluster: str = "pyk8s") -> str:
    """A kubeconfig (YAML) with embedded CA and client credentials."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    context = f"{user}@{cluster}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": server, "certificate-authority-data": b64(ca.cert_pem())}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": b64(client.cert_pem()),
            "client-key-data": b64(client.key_pem())}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def ensure_client_kubeconfig(ca: KeyPair, pki_dir: Path, path: Path, server: str, *,
                             cert_name: str, common_name: str,
                             organizations: tuple[str, ...] = ()) -> Path:
    """A kubeconfig at ``path`` with a client certificate ``pki/<cert_name>.crt`` (made
    once, then reused) for user ``common_name`` in groups ``organizations``."""
    pair = KeyPair(pki_dir / f"{cert_name}.crt", pki_dir / f"{cert_name}.key")
    if not (pair.cert_path.exists() and pair.key_path.exists()):
        issue(ca, pair, common_name=common_name, organizations=organizations)
    text = kubeconfig(server, ca, pair, common_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path


def ensure_admin_kubeconfig(ca: KeyPair, pki_dir: Path, path: Path, server: str) -> Path:
    """``admin.conf``: cluster-admin credentials (O=system:masters), as kubeadm writes."""
    return ensure_client_kubeconfig(ca, pki_dir, path, server, cert_name="admin",
                                    common_name="kubernetes-admin",
                                    organizations=("system:masters",))


#: Kubeconfigs of the control-plane components: (file, cert name, user). The users are
#: those upstream's default RBAC bindings name (system:kube-scheduler,
#: system:kube-controller-manager, and system:kube-proxy bound to system:node-proxier).
COMPONENTS = (
    ("scheduler.conf", "scheduler", "system:kube-scheduler"),
    ("controller-manager.conf", "controller-manager", "system:kube-controller-manager"),
    ("kube-proxy.conf", "kube-proxy", "system:kube-proxy"),
)


def ensure_component_kubeconfigs(ca: KeyPair, pki_dir: Path, directory: Path,
                                 server: str) -> list[Path]:
    """``scheduler.conf``, ``controller-manager.conf`` and ``kube-proxy.conf`` in
    ``directory``, each with its component's client certificate; also the API server's
    own client certificate for kubelets (no kubeconfig: the API server reads it)."""
    ensure_kubelet_client_cert(ca, pki_dir)
    return [ensure_client_kubeconfig(ca, pki_dir, directory / file, server,
                                     cert_name=cert, common_name=user)
            for file, cert, user in COMPONENTS]


def ensure_kubelet_client_cert(ca: KeyPair, pki_dir: Path) -> KeyPair:
    """``apiserver-kubelet-client.crt``: how the API server authenticates to kubelets
    (logs, exec), CN kube-apiserver-kubelet-client in O=system:masters as kubeadm."""
    pair = KeyPair(pki_dir / "apiserver-kubelet-client.crt",
                   pki_dir / "apiserver-kubelet-client.key")
    if not (pair.cert_path.exists() and pair.key_path.exists()):
        issue(ca, pair, common_name="kube-apiserver-kubelet-client",
              organizations=("system:masters",))
    return pair


def ensure_self_signed(pair: KeyPair, *, common_name: str, dns_names: tuple[str, ...] = (),
                       ip_addresses: tuple[str, ...] = ()) -> KeyPair:
    """A self-signed serving certificate (the kubelet's ``kubelet.crt`` when no
    ``--tls-cert-file`` is given), made once."""
    if pair.cert_path.exists() and pair.key_path.exists():
        return pair
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ip_addresses]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    _write(pair, builder.sign(key, hashes.SHA256()), key)
    return pair
