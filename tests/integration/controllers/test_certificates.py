"""CSR approval and signing against a real API server: a kubelet joining with a bootstrap token
gets its client certificate approved and signed, and the certificate authenticates it as
system:node:NAME; other requests are left for humans, signed once approved, or Failed when the
signer cannot honour them."""

from __future__ import annotations

import pytest
import base64
import contextlib
import uuid

from bootstrapkit import (
    cert_client,
    create_token,
    delete_token,
    in_seconds,
    running,
    token_client,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lifecycle_harness import eventually

from pyk8s.client import ApiError, Forbidden, Invalid
from pyk8s.controllers.csrapproving import CSRApprovingController
from pyk8s.controllers.csrsigning import CSRSigningController

CSR_API = ("certificates.k8s.io/v1", "CertificateSigningRequest")
KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"


def signing_options(apiserver) -> dict:
    pki = apiserver.data_dir / "pki"
    return {"cluster_signing_cert_file": str(pki / "ca.crt"),
            "cluster_signing_key_file": str(pki / "ca.key")}


def new_request(cn: str, orgs=(), dns=()) -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return key, base64.b64encode(pem).decode()


def csr_body(name: str, request: str, signer: str, usages: list[str], **spec) -> dict:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": request, "signerName": signer, "usages": usages, **spec}}


async def issued(api, name: str) -> dict | None:
    obj = await api.get(name)
    return obj if (obj.get("status") or {}).get("certificate") else None


async def approve(api, name: str) -> None:
    await api.patch(name, {"status": {"conditions": [
        {"type": "Approved", "status": "True", "reason": "ByTest", "message": "test"}]}},
        subresource="approval")


@contextlib.asynccontextmanager
async def bindings(client, user: str, *roles: str):
    """ClusterRoleBindings of ``roles`` to ``user``, removed afterwards."""
    api = client.api("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    names = []
    for role in roles:
        name = f"test-{uuid.uuid4().hex[:8]}"
        await api.create({"metadata": {"name": name},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                      "kind": "ClusterRole", "name": role},
                          "subjects": [{"apiGroup": "rbac.authorization.k8s.io",
                                        "kind": "User", "name": user}]})
        names.append(name)
    try:
        yield
    finally:
        for name in names:
            with contextlib.suppress(ApiError):
                await api.delete(name)


async def test_bootstrap_kubelet_csr_is_approved_signed_and_authenticates(apiserver, tmp_path):
    node = f"n-{uuid.uuid4().hex[:8]}"
    async with running(apiserver, CSRApprovingController, CSRSigningController,
                       **signing_options(apiserver)) as admin:
        token_id, secret = await create_token(admin, authentication=True,
                                              expiration=in_seconds(3600))
        user = f"system:bootstrap:{token_id}"
        api = admin.api(*CSR_API)
        names = [f"node-csr-{node}", f"alice-{node}"]
        try:
            async with bindings(admin, user, "system:node-bootstrapper",
                                "system:certificates.k8s.io:certificatesigningrequests:"
                                "nodeclient"), \
                    token_client(apiserver, f"{token_id}.{secret}") as kubelet:
                # a CSR of the kubelet signer whose subject is no node: never auto-approved
                _, alice = new_request("alice", orgs=("system:nodes",))
                key, request = new_request(f"system:node:{node}", orgs=("system:nodes",))
                # the API server records the requester in spec.username/groups (ours does
                # not yet, so the kubelet states them; upstream overwrites with the same)
                who = {"username": user, "groups": ["system:bootstrappers",
                                                    "system:authenticated"]}
                csrs = kubelet.api(*CSR_API)

                async def create(name, req):
                    try:
                        return await csrs.create(csr_body(
                            name, req, KUBELET_SIGNER, ["digital signature", "client auth"],
                            **who))
                    except Forbidden:  # until the authorizer sees the new bindings
                        return None

                await eventually(lambda: create(names[1], alice))
                await eventually(lambda: create(names[0], request))
                obj = await eventually(lambda: issued(api, names[0]))

                approved = [c for c in obj["status"]["conditions"] if c["type"] == "Approved"]
                assert approved[0]["reason"] == "AutoApproved"
                assert approved[0]["message"] == ("Auto approving kubelet client certificate "
                                                  "after SubjectAccessReview.")
                pending = await api.get(names[1])
                assert not (pending.get("status") or {}).get("conditions")

            pem = base64.b64decode(obj["status"]["certificate"])
            cert = x509.load_pem_x509_certificate(pem)
            assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
                f"system:node:{node}"
            assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) \
                == [ExtendedKeyUsageOID.CLIENT_AUTH]
            (tmp_path / "kubelet.crt").write_bytes(pem)
            (tmp_path / "kubelet.key").write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            async with cert_client(apiserver, str(tmp_path / "kubelet.crt"),
                                   str(tmp_path / "kubelet.key")) as node_client:
                review = await node_client.api("authentication.k8s.io/v1",
                                               "SelfSubjectReview").create({})
            info = review["status"]["userInfo"]
            assert info["username"] == f"system:node:{node}"
            assert "system:nodes" in info["groups"]

            # even approved by a human, the kubelet signer refuses a subject that is no node
            await approve(api, names[1])

            async def failed():
                obj = await api.get(names[1])
                return [c for c in obj["status"]["conditions"] if c["type"] == "Failed"]

            (cond,) = await eventually(failed)
            assert cond["message"] == "subject common name does not begin with system:node:"
        finally:
            for name in names:
                with contextlib.suppress(ApiError):
                    await api.delete(name)
            await delete_token(admin, token_id)


async def test_signer_issues_serving_certs_and_fails_requests_it_cannot_honour(apiserver):
    suffix = uuid.uuid4().hex[:8]
    async with running(apiserver, CSRSigningController, **signing_options(apiserver)) as admin:
        api = admin.api(*CSR_API)
        serving = ["digital signature", "server auth"]
        _, with_sans = new_request("system:node:s1", orgs=("system:nodes",), dns=("s1.local",))
        _, no_sans = new_request("system:node:s1", orgs=("system:nodes",))
        _, alice = new_request("alice", orgs=("devs",))
        cases = {
            f"serving-{suffix}": csr_body(f"serving-{suffix}", with_sans,
                                          "kubernetes.io/kubelet-serving", serving,
                                          expirationSeconds=3600),
            f"nosans-{suffix}": csr_body(f"nosans-{suffix}", no_sans,
                                         "kubernetes.io/kubelet-serving", serving),
            f"client-{suffix}": csr_body(f"client-{suffix}", alice,
                                         "kubernetes.io/kube-apiserver-client",
                                         ["client auth"]),
        }
        junk = csr_body(f"junk-{suffix}", base64.b64encode(b"junk").decode(),
                        "kubernetes.io/legacy-unknown", ["client auth"])
        with pytest.raises(Invalid, match="PEM block type must be CERTIFICATE REQUEST"):
            await api.create(junk)  # refused at create, as kube-apiserver's CSR validation does
        try:
            for name, body in cases.items():
                await api.create(body)
                await approve(api, name)

            async def failed(name):
                obj = await api.get(name)
                return [c for c in obj["status"].get("conditions") or ()
                        if c["type"] == "Failed"]

            obj = await eventually(lambda: issued(api, f"serving-{suffix}"))
            cert = x509.load_pem_x509_certificate(base64.b64decode(obj["status"]["certificate"]))
            assert cert.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == \
                ["s1.local"]
            lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
            assert lifetime.total_seconds() == 3600 + 300  # short: full hour, backdated start

            obj = await eventually(lambda: issued(api, f"client-{suffix}"))
            cert = x509.load_pem_x509_certificate(base64.b64decode(obj["status"]["certificate"]))
            assert cert.subject.rfc4514_string() == "CN=alice,O=devs"

            (cond,) = await eventually(lambda: failed(f"nosans-{suffix}"))
            assert cond["reason"] == "SignerValidationFailure"
            assert cond["message"] == "DNS or IP subjectAltName is required"
        finally:
            for name in cases:
                with contextlib.suppress(ApiError):
                    await api.delete(name)
