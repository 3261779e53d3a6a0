"""Authentication against a real server: client certificates, ServiceAccount tokens
from ``kubectl create token`` (plain and pod-bound), bad JWTs, a static token file,
bootstrap tokens, TokenReview and ``kubectl auth whoami``.

Whether a user may call SelfSubjectReview is RBAC's business (system:basic-user);
``identity`` asks it and, when authorization refuses (403, which already proves the
token authenticated), asks TokenReview as the admin instead.
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from kubectl_cli import kubectl, ns  # noqa: F401
from serverproc import ServerProcess, free_port

from pyk8s import pki
from pyk8s.apiserver.authn import jwt

pytestmark = pytest.mark.e2e

ISSUER = "https://kubernetes.default.svc.cluster.local"


def call(server, method: str, path: str, *, token: str | None = None, body=None,
         cert: pki.KeyPair | None = None) -> tuple[int, dict]:
    """One HTTPS request verifying the server with the cluster CA; (status, JSON body)."""
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "pki" / "ca.crt"))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def admin_cert(server) -> pki.KeyPair:
    pki_dir = server.data_dir / "pki"
    return pki.KeyPair(pki_dir / "admin.crt", pki_dir / "admin.key")


def review(server, token: str, audiences: list[str] | None = None) -> dict:
    """TokenReview as the admin: the review's status."""
    spec = {"token": token, **({"audiences": audiences} if audiences else {})}
    code, body = call(server, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                      cert=admin_cert(server), body={
                          "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                          "spec": spec})
    assert code == 201, body
    return body["status"]


def identity(server, token: str) -> dict | None:
    """The user a bearer token authenticates as, or None when the server answers 401."""
    code, body = call(server, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                      token=token, body={"apiVersion": "authentication.k8s.io/v1",
                                         "kind": "SelfSubjectReview"})
    if code == 401:
        assert body["reason"] == "Unauthorized" and body["message"] == "Unauthorized"
        return None
    if code == 201:
        return body["status"]["userInfo"]
    assert code == 403, body  # authenticated, not (yet) authorized by RBAC
    status = review(server, token)
    assert status.get("authenticated"), status
    return status["user"]


def token_kubeconfig(server, tmp_path, token: str):
    path = tmp_path / f"token-{uuid.uuid4().hex[:6]}.conf"
    ca = base64.b64encode((server.data_dir / "pki" / "ca.crt").read_bytes()).decode()
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "c", "cluster": {"server": server.url,
                                               "certificate-authority-data": ca}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}]}))
    return path


def claims_of(token: str) -> dict:
    return json.loads(jwt.b64url_decode(token.split(".")[1]))


def ensure_sa(kubectl, namespace: str, name: str) -> None:
    if kubectl("get", "sa", name, "-n", namespace, check=False).returncode != 0:
        kubectl("create", "sa", name, "-n", namespace)


def test_admin_whoami(kubectl):
    out = kubectl("auth", "whoami").stdout
    assert "Username                                            kubernetes-admin" in out
    assert "Groups                                              [system:masters " \
           "system:authenticated]" in out
    assert "Extra: authentication.kubernetes.io/credential-id   [X509SHA256=" in out
    info = json.loads(kubectl("auth", "whoami", "-o", "json").stdout)
    assert info["kind"] == "SelfSubjectReview"
    assert info["status"]["userInfo"]["username"] == "kubernetes-admin"


def test_create_token_and_use_it(kubectl, ns, apiserver, tmp_path):
    ensure_sa(kubectl, ns, "default")
    token = kubectl("create", "token", "default", "-n", ns, "--duration", "15m").stdout.strip()
    c = claims_of(token)
    assert c["iss"] == ISSUER and c["aud"] == [ISSUER] and c["exp"] - c["iat"] == 900
    assert c["sub"] == f"system:serviceaccount:{ns}:default"
    user = identity(apiserver, token)
    assert user["username"] == f"system:serviceaccount:{ns}:default"
    assert user["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                              "system:authenticated"]
    assert user["extra"]["authentication.kubernetes.io/credential-id"] == [f"JTI={c['jti']}"]
    result = kubectl("--kubeconfig", str(token_kubeconfig(apiserver, tmp_path, token)),
                     "auth", "whoami", check=False)
    assert "Unauthorized" not in result.stderr
    if result.returncode == 0:
        assert f"system:serviceaccount:{ns}:default" in result.stdout
    assert "not found" in kubectl.fails("create", "token", "missing", "-n", ns).stderr
    assert "less than 10 minutes" in kubectl.fails("create", "token", "default", "-n", ns,
                                                   "--duration", "5m").stderr


def test_token_bound_to_pod_stops_working_when_pod_is_deleted(kubectl, ns, apiserver):
    ensure_sa(kubectl, ns, "robot")
    kubectl("run", "p", "-n", ns, "--image=nginx",
            '--overrides={"spec":{"serviceAccountName":"robot"}}')
    token = kubectl("create", "token", "robot", "-n", ns, "--bound-object-kind", "Pod",
                    "--bound-object-name", "p").stdout.strip()
    uid = kubectl.jsonpath("get", "pod", "p", "-n", ns, path="{.metadata.uid}")
    assert claims_of(token)["kubernetes.io"]["pod"] == {"name": "p", "uid": uid}
    status = review(apiserver, token)
    assert status["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["p"]
    assert status["user"]["extra"]["authentication.kubernetes.io/pod-uid"] == [uid]
    kubectl("delete", "pod", "p", "-n", ns, "--grace-period=0", "--force")
    deadline = time.monotonic() + 5
    while identity(apiserver, token) is not None:
        assert time.monotonic() < deadline, "token still accepted after its pod was deleted"
        time.sleep(0.1)
    assert review(apiserver, token) == {"user": {},
                                        "error": "service account token has been invalidated"}
    err = kubectl.fails("create", "token", "robot", "-n", ns, "--bound-object-kind", "Pod",
                        "--bound-object-name", "p").stderr
    assert 'pods "p" not found' in err


def test_bad_tokens_are_unauthorized(kubectl, ns, apiserver):
    ensure_sa(kubectl, ns, "default")
    sa = json.loads(kubectl("get", "sa", "default", "-n", ns, "-o", "json").stdout)
    key = jwt.load_private_key(apiserver.data_dir / "pki" / "sa.key")
    now = int(time.time())

    def mint(iss=ISSUER, aud=ISSUER, iat=now, life=3600, signer=key):
        return jwt.sign({"iss": iss, "aud": [aud], "sub": f"system:serviceaccount:{ns}:default",
                         "iat": iat, "nbf": iat, "exp": iat + life, "kubernetes.io": {
                             "namespace": ns, "serviceaccount": {
                                 "name": "default", "uid": sa["metadata"]["uid"]}}}, signer)

    assert identity(apiserver, mint())["username"] == f"system:serviceaccount:{ns}:default"
    expired = mint(iat=now - 7200)
    assert identity(apiserver, expired) is None
    assert review(apiserver, expired)["error"] == "service account token has expired"
    assert identity(apiserver, mint(signer=ec.generate_private_key(ec.SECP256R1()))) is None
    assert identity(apiserver, mint(iss="https://evil.example")) is None
    assert identity(apiserver, mint(aud="https://other.example")) is None
    assert identity(apiserver, "garbage") is None
    assert review(apiserver, "garbage") == {"user": {}, "error": "invalid bearer token"}
    code, body = call(apiserver, "GET", "/api/v1/namespaces")  # no credentials: anonymous
    assert code == 403 and 'User "system:anonymous"' in body["message"]


def test_token_review_audiences(kubectl, ns, apiserver):
    ensure_sa(kubectl, ns, "default")
    token = kubectl("create", "token", "default", "-n", ns, "--audience", "vault",
                    "--audience", ISSUER).stdout.strip()
    assert review(apiserver, token)["audiences"] == [ISSUER]
    assert review(apiserver, token, ["vault", "x"])["audiences"] == ["vault"]
    status = review(apiserver, token, ["x"])
    assert "authenticated" not in status and "is invalid for the target audiences" in \
        status["error"]


def test_client_cert_from_another_ca_is_refused(apiserver, tmp_path):
    """OpenSSL (CERT_OPTIONAL) verifies a presented client certificate and ends the
    handshake when it does not chain to the cluster CA (kube-apiserver answers 401)."""
    other = pki.ensure_ca(tmp_path / "other")
    evil = pki.issue(other, pki.KeyPair(tmp_path / "evil.crt", tmp_path / "evil.key"),
                     common_name="evil", organizations=("system:masters",))
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError, OSError)):
        call(apiserver, "GET", "/api/v1/namespaces", cert=evil)


def test_component_kubeconfigs(apiserver, kubectl):
    for file, user in (("scheduler.conf", "system:kube-scheduler"),
                       ("controller-manager.conf", "system:kube-controller-manager"),
                       ("kube-proxy.conf", "system:kube-proxy")):
        conf = yaml.safe_load((apiserver.data_dir / file).read_text())
        pem = base64.b64decode(conf["users"][0]["user"]["client-certificate-data"])
        subject = x509.load_pem_x509_certificate(pem).subject
        assert subject.rfc4514_string() == f"CN={user}"
        result = kubectl("--kubeconfig", str(apiserver.data_dir / file), "auth", "whoami",
                         check=False)
        assert "Unauthorized" not in result.stderr
        if result.returncode == 0:
            assert user in result.stdout


def test_bootstrap_token_works_until_expiration(kubectl, apiserver):
    token_id = uuid.uuid4().hex[:6]
    expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=3)
    kubectl("create", "secret", "generic", f"bootstrap-token-{token_id}", "-n", "kube-system",
            "--type", "bootstrap.kubernetes.io/token", f"--from-literal=token-id={token_id}",
            "--from-literal=token-secret=0123456789abcdef",
            "--from-literal=usage-bootstrap-authentication=true",
            "--from-literal=auth-extra-groups=system:bootstrappers:worker",
            f"--from-literal=expiration={expiry.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    token = f"{token_id}.0123456789abcdef"
    user = identity(apiserver, token)
    assert user["username"] == f"system:bootstrap:{token_id}"
    assert user["groups"] == ["system:bootstrappers", "system:bootstrappers:worker",
                              "system:authenticated"]
    assert identity(apiserver, f"{token_id}.0123456789abcdeX") is None
    time.sleep(max(0.0, (expiry - datetime.datetime.now(datetime.UTC))
                   .total_seconds()) + 1.1)
    assert identity(apiserver, token) is None


@pytest.fixture(scope="module")
def token_file_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("tokenfile")
    (base / "tokens.csv").write_text('s3cret-alice,alice,1001,"dev,ops"\ns3cret-bob,bob,1002\n')
    server = ServerProcess(base / "data", free_port())
    server.start("--token-auth-file", str(base / "tokens.csv"))
    yield server
    server.stop()


def test_static_token_file(token_file_server):
    user = identity(token_file_server, "s3cret-alice")
    assert user == {"username": "alice", "uid": "1001",
                    "groups": ["dev", "ops", "system:authenticated"]}
    assert identity(token_file_server, "s3cret-bob")["groups"] == ["system:authenticated"]
    assert identity(token_file_server, "s3cret-eve") is None
