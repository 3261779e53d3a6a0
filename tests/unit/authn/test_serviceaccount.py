"""ServiceAccount tokens: claims, and verification of signature, issuer, audience,
lifetime and the objects the token is bound to; legacy Secret tokens."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pyk8s.apiserver.authn import jwt
from pyk8s.apiserver.authn.serviceaccount import (
    LEGACY_ISSUER,
    ServiceAccountTokenAuthenticator,
    claims,
)
from pyk8s.apiserver.authn.token import TokenError, TokenUnion

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDS = (ISSUER,)
KEY = ec.generate_private_key(ec.SECP256R1())

SA = {"metadata": {"name": "robot", "namespace": "ns", "uid": "sa-uid"}}
POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "pod-uid"}}
NODE = {"metadata": {"name": "n1", "uid": "node-uid"}}


def test_claims_shape():
    c = claims(ISSUER, SA, [ISSUER], 3600, 1000, pod=POD, node=NODE, warn_after=3607, jti="j")
    assert c == {
        "iss": ISSUER, "sub": "system:serviceaccount:ns:robot", "aud": [ISSUER],
        "exp": 4600, "iat": 1000, "nbf": 1000, "jti": "j",
        "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "robot", "uid": "sa-uid"},
                          "pod": {"name": "p", "uid": "pod-uid"},
                          "node": {"name": "n1", "uid": "node-uid"}, "warnafter": 4607},
    }
    secret = {"metadata": {"name": "s", "uid": "s-uid"}}
    c = claims(ISSUER, SA, [ISSUER], 600, 0, secret=secret)
    assert c["kubernetes.io"]["secret"] == {"name": "s", "uid": "s-uid"}
    assert "pod" not in c["kubernetes.io"] and len(c["jti"]) == 36


@pytest.fixture
async def stored(objects):
    await objects.put("serviceaccounts", "ns", "robot", "sa-uid")
    await objects.put("pods", "ns", "p", "pod-uid", spec={"serviceAccountName": "robot"})
    await objects.put("nodes", "", "n1", "node-uid")
    return objects


@pytest.fixture
def auth(ctx):
    keys = [KEY.public_key()]
    return TokenUnion([
        ServiceAccountTokenAuthenticator(ctx, (LEGACY_ISSUER,), keys, AUDS, legacy=True),
        ServiceAccountTokenAuthenticator(ctx, (ISSUER,), keys, AUDS)], AUDS)


def token(lifetime=3600, now=None, key=KEY, issuer=ISSUER, auds=(ISSUER,), **bound) -> str:
    now = int(time.time()) if now is None else now
    return jwt.sign(claims(issuer, SA, list(auds), lifetime, now, **bound), key)


async def test_valid_token_user(stored, auth):
    result = await auth.authenticate_token(token(pod=POD, node=NODE, jti="abc"))
    user = result.user
    assert user.name == "system:serviceaccount:ns:robot" and user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns")
    assert user.extra == {
        "authentication.kubernetes.io/pod-name": ("p",),
        "authentication.kubernetes.io/pod-uid": ("pod-uid",),
        "authentication.kubernetes.io/node-name": ("n1",),
        "authentication.kubernetes.io/node-uid": ("node-uid",),
        "authentication.kubernetes.io/credential-id": ("JTI=abc",),
    }
    assert result.audiences == AUDS


async def test_expiry_with_leeway(stored, auth):
    now = int(time.time())
    assert await auth.authenticate_token(token(lifetime=600, now=now - 630))  # 30 s late: ok
    with pytest.raises(TokenError, match="has expired"):
        await auth.authenticate_token(token(lifetime=600, now=now - 700))
    with pytest.raises(TokenError, match="not valid yet"):
        await auth.authenticate_token(token(now=now + 600))


async def test_audience(stored, auth):
    with pytest.raises(TokenError, match='token audiences \\["other"\\] is invalid'):
        await auth.authenticate_token(token(auds=("other",)))
    result = await auth.authenticate_token(token(auds=("other", ISSUER)), ("other",))
    assert result.audiences == ("other",)


async def test_forged_and_foreign_tokens(stored, auth):
    with pytest.raises(TokenError, match="cryptographic primitive"):
        await auth.authenticate_token(token(key=ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(TokenError, match="invalid bearer token"):
        await auth.authenticate_token(token(issuer="https://elsewhere"))
    with pytest.raises(TokenError, match="invalid bearer token"):
        await auth.authenticate_token("not-a-jwt")


async def test_bound_objects_must_still_exist(stored, auth):
    sa_token, pod_token = token(), token(pod=POD)
    node_token = token(node=NODE)
    await auth.authenticate_token(node_token)
    await stored.remove("pods", "ns", "p")
    with pytest.raises(TokenError, match="has been invalidated"):
        await auth.authenticate_token(pod_token)
    await stored.put("pods", "ns", "p", "new-pod-uid")
    with pytest.raises(TokenError, match="pod UID \\(new-pod-uid\\) does not match"):
        await auth.authenticate_token(pod_token)
    await stored.remove("nodes", "", "n1")
    with pytest.raises(TokenError, match="has been invalidated"):
        await auth.authenticate_token(node_token)
    await stored.remove("serviceaccounts", "ns", "robot")
    with pytest.raises(TokenError, match='serviceaccounts "robot" not found'):
        await auth.authenticate_token(sa_token)
    await stored.put("serviceaccounts", "ns", "robot", "other-uid")
    with pytest.raises(TokenError, match="service account UID \\(other-uid\\) does not match"):
        await auth.authenticate_token(sa_token)


async def test_recently_deleted_pod_keeps_tokens_for_the_leeway(stored, auth):
    pod_token = token(pod=POD)
    await stored.remove("pods", "ns", "p")
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 10))
    await stored.put("pods", "ns", "p", "pod-uid", metadata={"deletionTimestamp": stamp})
    assert await auth.authenticate_token(pod_token)


def legacy_token(secret_name="robot-token", sub="system:serviceaccount:ns:robot") -> str:
    p = "kubernetes.io/serviceaccount/"
    return jwt.sign({"iss": LEGACY_ISSUER, "sub": sub, p + "namespace": "ns",
                     p + "secret.name": secret_name, p + "service-account.name": "robot",
                     p + "service-account.uid": "sa-uid"}, KEY)


async def test_legacy_secret_tokens(stored, auth):
    tok = legacy_token()
    with pytest.raises(TokenError, match="token has been invalidated"):
        await auth.authenticate_token(tok)
    await stored.put("secrets", "ns", "robot-token", "s-uid",
                     type="kubernetes.io/service-account-token",
                     data={"token": base64.b64encode(tok.encode()).decode()})
    result = await auth.authenticate_token(tok)
    assert result.user.name == "system:serviceaccount:ns:robot" and result.user.extra == {}
    with pytest.raises(TokenError, match="sub claim is invalid"):
        await auth.authenticate_token(legacy_token(sub="system:serviceaccount:ns:admin"))
    await stored.remove("secrets", "ns", "robot-token")
    await stored.put("secrets", "ns", "robot-token", "s-uid",
                     data={"token": base64.b64encode(b"something else").decode()})
    with pytest.raises(TokenError, match="does not match server's copy"):
        await auth.authenticate_token(tok)
