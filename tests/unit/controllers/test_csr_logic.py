"""The CSR approver's decision table and the signer's checks, usages and validity math."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyk8s.controllers.csrapproving import (
    NODE_CLIENT,
    SELF_NODE_CLIENT,
    access_review,
    approved_copy,
    needs_decision,
    recognize,
)
from pyk8s.controllers.csrsigning import failed_copy, issued_copy, wants_certificate
from pyk8s.controllers.util.certauthority import (
    CertificateAuthority,
    SignerError,
    duration,
    key_usages,
    validity,
)
from pyk8s.controllers.util.csr import RequestError, parse_request, signer_problem

KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING = "kubernetes.io/kubelet-serving"
CLIENT = "kubernetes.io/kube-apiserver-client"
LEGACY = "kubernetes.io/legacy-unknown"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def request_pem(cn="system:node:n1", orgs=("system:nodes",), dns=(), ips=(), key=EC_KEY,
                extensions=()) -> bytes:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs += [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i))
                                             for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def csr(pem: bytes | None = None, signer=KUBELET, usages=("digital signature", "client auth"),
        username="system:bootstrap:abcdef", conditions=(), certificate=None) -> dict:
    obj = {"metadata": {"name": "c", "resourceVersion": "3"},
           "spec": {"request": base64.b64encode(pem or request_pem()).decode(),
                    "signerName": signer, "usages": list(usages), "username": username,
                    "groups": ["system:bootstrappers", "system:authenticated"]},
           "status": {"conditions": [{"type": t, "status": "True"} for t in conditions]}}
    if certificate:
        obj["status"]["certificate"] = certificate
    return obj


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("obj, expected", [
    (csr(), [NODE_CLIENT]),
    (csr(username="system:node:n1"), [SELF_NODE_CLIENT, NODE_CLIENT]),
    (csr(pem=request_pem(key=RSA_KEY),
         usages=("digital signature", "key encipherment", "client auth")), [NODE_CLIENT]),
    (csr(usages=("digital signature", "key encipherment", "client auth")), [NODE_CLIENT]),
    (csr(signer=CLIENT), []),
    (csr(pem=request_pem(cn="alice", orgs=("system:nodes",))), []),
    (csr(pem=request_pem(orgs=("system:masters",))), []),
    (csr(pem=request_pem(orgs=("system:nodes", "system:masters"))), []),
    (csr(pem=request_pem(dns=("n1.example",))), []),
    (csr(pem=request_pem(ips=("10.0.0.1",))), []),
    (csr(usages=("digital signature", "client auth", "server auth")), []),
    (csr(usages=("client auth",)), []),
])
def test_approver_recognizes_only_kubelet_client_requests(obj, expected):
    assert recognize(obj, parse_request(obj)) == expected


@pytest.mark.parametrize("obj, pending", [
    (csr(), True),
    (csr(conditions=("Approved",)), False),
    (csr(conditions=("Denied",)), False),
    (csr(certificate="Y2VydA=="), False),
])
def test_only_pending_csrs_need_a_decision(obj, pending):
    assert needs_decision(obj) is pending


def test_access_review_asks_about_the_requester():
    obj = csr()
    obj["spec"]["uid"] = "u-1"
    obj["spec"]["extra"] = {"k": ["v"]}
    review = access_review(obj, "nodeclient")["spec"]
    assert review == {"user": "system:bootstrap:abcdef",
                      "groups": ["system:bootstrappers", "system:authenticated"],
                      "uid": "u-1", "extra": {"k": ["v"]},
                      "resourceAttributes": {"group": "certificates.k8s.io",
                                             "resource": "certificatesigningrequests",
                                             "verb": "create", "subresource": "nodeclient"}}


def test_approval_and_failure_copies_leave_the_cached_object_alone():
    obj = csr()
    approved = approved_copy(obj, NODE_CLIENT.message, "2025-06-01T12:00:00Z")
    assert approved["status"]["conditions"][-1] == {
        "type": "Approved", "status": "True", "reason": "AutoApproved",
        "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
        "lastUpdateTime": "2025-06-01T12:00:00Z", "lastTransitionTime": "2025-06-01T12:00:00Z"}
    failed = failed_copy(approved, "bad", "2025-06-01T12:00:00Z")
    assert [c["type"] for c in failed["status"]["conditions"]] == ["Approved", "Failed"]
    assert failed["status"]["conditions"][-1]["reason"] == "SignerValidationFailure"
    issued = issued_copy(approved, b"PEM")
    assert issued["status"]["certificate"] == "UEVN"
    assert obj["status"] == {"conditions": []}
    assert "certificate" not in approved["status"]


@pytest.mark.parametrize("obj, wanted", [
    (csr(conditions=("Approved",)), True),
    (csr(conditions=("Approved",), signer="example.com/other"), False),
    (csr(conditions=("Approved", "Denied")), False),
    (csr(conditions=("Approved", "Failed")), False),
    (csr(conditions=("Approved",), certificate="Y2VydA=="), False),
    (csr(), False),
])
def test_signer_takes_approved_unissued_csrs_of_its_signers(obj, wanted):
    assert wants_certificate(obj) is wanted


SERVING_USAGES = ["digital signature", "server auth"]


@pytest.mark.parametrize("signer, pem, usages, problem", [
    (KUBELET, request_pem(), ["digital signature", "client auth"], None),
    (KUBELET, request_pem(cn="alice"), ["client auth", "digital signature"],
     "subject common name does not begin with system:node:"),
    (KUBELET, request_pem(), ["client auth"],
     "usages did not match [client auth digital signature key encipherment]"),
    (KUBELET, request_pem(dns=("a",)), ["digital signature", "client auth"],
     "DNS subjectAltNames are not allowed"),
    (SERVING, request_pem(dns=("n1",), ips=("10.0.0.1",)), SERVING_USAGES, None),
    (SERVING, request_pem(), SERVING_USAGES, "DNS or IP subjectAltName is required"),
    (SERVING, request_pem(orgs=()), SERVING_USAGES, "subject organization is not system:nodes"),
    (SERVING, request_pem(dns=("n1",)), ["digital signature", "client auth"],
     "usages did not match [digital signature key encipherment server auth]"),
    (CLIENT, request_pem(cn="alice", orgs=()), ["client auth"], None),
    (CLIENT, request_pem(), ["client auth", "server auth"],
     "invalid usage for client certificate: server auth"),
    (CLIENT, request_pem(), ["digital signature"],
     "missing required usage for client certificate: client auth"),
    (LEGACY, request_pem(cn="anything", orgs=()), ["server auth", "code signing"], None),
])
def test_signer_problems(signer, pem, usages, problem):
    assert signer_problem(signer, parse_request(csr(pem=pem)), usages) == problem


@pytest.mark.parametrize("request_b64, message", [
    (base64.b64encode(b"junk").decode(), "PEM block type must be CERTIFICATE REQUEST"),
    ("not base64!", "request is not base64"),
    (base64.b64encode(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                      b"-----END CERTIFICATE REQUEST-----\n").decode(),
     "unable to parse certificate request"),
])
def test_unparseable_requests(request_b64, message):
    obj = csr()
    obj["spec"]["request"] = request_b64
    with pytest.raises(RequestError, match=message):
        parse_request(obj)


def test_key_usages_map_to_extensions_in_go_order():
    ku, eku = key_usages(["client auth", "signing", "key encipherment", "server auth", "any",
                          "s/mime", "email protection", "timestamping"])
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert eku == [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE, ExtendedKeyUsageOID.SERVER_AUTH,
                   ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION,
                   ExtendedKeyUsageOID.TIME_STAMPING]
    assert key_usages(["server auth"])[0] is None
    with pytest.raises(RequestError, match=r'unrecognized usage values: \["bogus" "x"\]'):
        key_usages(["client auth", "bogus", "x"])


YEAR = timedelta(days=365)


@pytest.mark.parametrize("seconds, ttl", [
    (None, YEAR), (3600, timedelta(hours=1)), (600, timedelta(minutes=10)),
    (60, timedelta(minutes=10)), (10 * 365 * 86400, YEAR),
])
def test_duration_honours_shorter_requests_only(seconds, ttl):
    assert duration(seconds, YEAR) == ttl


@pytest.mark.parametrize("ttl, ca_left, not_after", [
    (YEAR, 10 * YEAR, NOW + YEAR - timedelta(minutes=5)),          # long: backdated end
    (timedelta(hours=8), 10 * YEAR, NOW + timedelta(hours=8) - timedelta(minutes=5)),
    (timedelta(hours=1), 10 * YEAR, NOW + timedelta(hours=1)),     # short: full ttl
    (YEAR, timedelta(days=30), NOW + timedelta(days=30)),          # capped by the CA
])
def test_validity_backdates_five_minutes(ttl, ca_left, not_after):
    assert validity(NOW, ttl, NOW + ca_left) == (NOW - timedelta(minutes=5), not_after)


def test_validity_refuses_an_expired_ca():
    with pytest.raises(SignerError, match="expired"):
        validity(NOW, YEAR, NOW - timedelta(minutes=1))


def make_ca() -> CertificateAuthority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(NOW - YEAR).not_valid_after(NOW + 10 * YEAR)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return CertificateAuthority(cert, key)


def test_issued_certificate_has_the_signer_policy_extensions():
    ca = make_ca()
    pem = request_pem(dns=("n1.example",), ips=("10.0.0.7",),
                      extensions=[x509.BasicConstraints(ca=True, path_length=None)])
    req = parse_request(csr(pem=pem))
    cert = x509.load_pem_x509_certificate(
        ca.sign(req, ["digital signature", "key encipherment", "server auth"],
                timedelta(hours=1), NOW))
    ca.cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                ec.ECDSA(cert.signature_hash_algorithm))
    assert cert.subject == req.csr.subject and cert.issuer == ca.cert.subject
    assert cert.public_key() == req.csr.public_key()
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + timedelta(hours=1)
    ext = {e.oid: e for e in cert.extensions}
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False  # the requested CA:true is dropped
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n1.example"]
    assert [str(i) for i in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert len(ext) == 5


def test_a_request_with_a_broken_signature_is_refused():
    pem = request_pem()
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature value
    broken = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(RequestError, match="signature"):
        make_ca().sign(parse_request(csr(pem=broken)), ["client auth"], YEAR, NOW)
