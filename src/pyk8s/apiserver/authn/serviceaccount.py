"""ServiceAccount tokens: the claims kube-apiserver signs, and their verification.

Bound tokens (TokenRequest) carry the issuer, audiences, a lifetime and a
``kubernetes.io`` claim naming the ServiceAccount and the object the token is
bound to (Pod, Secret or Node) with their uids. A token authenticates only while
its signature, issuer, audiences and lifetime check out *and* those objects still
exist with the same uid: deleting a pod revokes the tokens bound to it. Legacy
tokens (issuer ``kubernetes/serviceaccount``, stored in Secrets of type
``kubernetes.io/service-account-token``) are verified against the Secret's copy;
this server never creates them.
"""

from __future__ import annotations

import datetime
import hmac
import time
import uuid
from dataclasses import dataclass

from ..user import UserInfo
from . import jwt
from .bootstrap import secret_data
from .token import TokenError, TokenResult, lookup

LEGACY_ISSUER = "kubernetes/serviceaccount"
LEEWAY = 60  # seconds of clock skew go-jose allows on exp/nbf, and grace after deletion

USER_PREFIX = "system:serviceaccount:"
ALL_GROUP = "system:serviceaccounts"
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
LEGACY_INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since"

_LEGACY = "kubernetes.io/serviceaccount/"


def username(namespace: str, name: str) -> str:
    return f"{USER_PREFIX}{namespace}:{name}"


def ref(obj: dict) -> dict:
    meta = obj.get("metadata") or {}
    return {"name": meta.get("name", ""), "uid": meta.get("uid", "")}


def claims(issuer: str, sa: dict, audiences: list[str], expiration_seconds: int, now: int, *,
           pod: dict | None = None, secret: dict | None = None, node: dict | None = None,
           warn_after: int = 0, jti: str | None = None) -> dict:
    """The claims of a bound token (pkg/serviceaccount Claims), times in Unix seconds."""
    namespace = (sa.get("metadata") or {}).get("namespace", "")
    private: dict = {"namespace": namespace, "serviceaccount": ref(sa)}
    if pod is not None:
        private["pod"] = ref(pod)
    elif secret is not None:
        private["secret"] = ref(secret)
    if node is not None:
        private["node"] = ref(node)
    if warn_after:
        private["warnafter"] = now + warn_after
    return {
        "iss": issuer,
        "sub": username(namespace, ref(sa)["name"]),
        "aud": list(audiences),
        "exp": now + expiration_seconds,
        "iat": now,
        "nbf": now,
        "jti": jti or str(uuid.uuid4()),
        "kubernetes.io": private,
    }


@dataclass
class TokenIssuer:
    """Mints bound tokens with the cluster's signing key (TokenRequest's generator)."""

    issuer: str
    key: jwt.PrivateKey
    api_audiences: tuple[str, ...]

    def mint(self, sa: dict, audiences: list[str], expiration_seconds: int, **bound) -> str:
        return jwt.sign(claims(self.issuer, sa, audiences, expiration_seconds,
                               int(time.time()), **bound), self.key)


def audiences_of(token_claims: dict) -> tuple[str, ...]:
    aud = token_claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()


def _deleted_long_ago(obj: dict, now: float) -> bool:
    """Marked for deletion more than the leeway ago (a token outlives its object briefly)."""
    stamp = (obj.get("metadata") or {}).get("deletionTimestamp")
    if not stamp:
        return False
    when = datetime.datetime.fromisoformat(stamp).timestamp()
    return when < now - LEEWAY


class ServiceAccountTokenAuthenticator:
    """JWTs of one issuer, verified with the service-account public keys."""

    def __init__(self, ctx, issuers: tuple[str, ...], keys: list[jwt.PublicKey],
                 implicit_audiences: tuple[str, ...], *, legacy: bool = False) -> None:
        self.ctx = ctx
        self.issuers = issuers
        self.keys = keys
        self.implicit_audiences = implicit_audiences
        self.legacy = legacy

    async def authenticate_token(self, token: str,
                                 audiences: tuple[str, ...]) -> TokenResult | None:
        if not jwt.looks_like_jwt(token):
            return None
        try:
            _, unverified = jwt.unverified_claims(token)
        except jwt.JWTError:
            return None
        if unverified.get("iss") not in self.issuers:
            return None
        try:
            token_claims = jwt.verify(token, self.keys)
        except jwt.JWTError:
            raise TokenError("go-jose/go-jose: error in cryptographic primitive") from None
        token_audiences = audiences_of(token_claims) or self.implicit_audiences
        granted = tuple(a for a in token_audiences if a in audiences)
        if not granted:
            raise TokenError(f"token audiences {_go_list(token_audiences)} is invalid for the "
                             f"target audiences {_go_list(audiences)}")
        if self.legacy:
            user = await self._validate_legacy(token, token_claims)
        else:
            user = await self._validate_bound(token_claims)
        return TokenResult(user, granted)

    async def _validate_bound(self, c: dict) -> UserInfo:
        now = time.time()
        exp, nbf = c.get("exp"), c.get("nbf")
        if not isinstance(exp, (int, float)) or now - LEEWAY > exp:
            raise TokenError("service account token has expired")
        if isinstance(nbf, (int, float)) and now + LEEWAY < nbf:
            raise TokenError("service account token is not valid yet")
        private = c.get("kubernetes.io")
        if not isinstance(private, dict) or not isinstance(private.get("serviceaccount"), dict):
            raise TokenError("service account token claims could not be validated due to "
                             "unexpected private claim")
        namespace = private.get("namespace", "")
        sa_ref = private["serviceaccount"]
        sa = await self._existing("serviceaccounts", namespace, sa_ref, now,
                                  missing=f'serviceaccounts "{sa_ref.get("name")}" not found')
        pod_ref, secret_ref, node_ref = (private.get(k) for k in ("pod", "secret", "node"))
        if isinstance(secret_ref, dict):
            await self._existing("secrets", namespace, secret_ref, now, kind="secret",
                                 claim="service account secret ref claim")
        extra: dict[str, tuple[str, ...]] = {}
        if isinstance(pod_ref, dict):
            await self._existing("pods", namespace, pod_ref, now, kind="pod",
                                 claim="service account pod ref claim")
            extra[EXTRA_POD_NAME] = (pod_ref.get("name", ""),)
            extra[EXTRA_POD_UID] = (pod_ref.get("uid", ""),)
        if isinstance(node_ref, dict):
            if not isinstance(pod_ref, dict):  # a node-bound token lives with its node
                await self._existing("nodes", "", node_ref, now, kind="node",
                                     claim="service account node ref claim")
            extra[EXTRA_NODE_NAME] = (node_ref.get("name", ""),)
            extra[EXTRA_NODE_UID] = (node_ref.get("uid", ""),)
        if c.get("jti"):
            extra[EXTRA_CREDENTIAL_ID] = (f"JTI={c['jti']}",)
        return sa_user(namespace, sa, extra)

    async def _existing(self, plural: str, namespace: str, wanted: dict, now: float, *,
                        kind: str = "", claim: str = "", missing: str = "") -> dict:
        """The object a claim names, if it still exists with the claimed uid."""
        obj = await lookup(self.ctx, plural, namespace, wanted.get("name", ""))
        if obj is None or _deleted_long_ago(obj, now):
            if plural == "serviceaccounts":
                raise TokenError(missing if obj is None else
                                 f"service account {namespace}/{wanted.get('name')} has been "
                                 f"deleted")
            raise TokenError("service account token has been invalidated")
        uid = obj["metadata"].get("uid", "")
        if uid != wanted.get("uid"):
            if plural == "serviceaccounts":
                raise TokenError(f"service account UID ({uid}) does not match claim "
                                 f"({wanted.get('uid')})")
            raise TokenError(f"{kind} UID ({uid}) does not match {claim} ({wanted.get('uid')})")
        return obj

    async def _validate_legacy(self, token: str, c: dict) -> UserInfo:
        namespace = c.get(_LEGACY + "namespace") or ""
        secret_name = c.get(_LEGACY + "secret.name") or ""
        sa_name = c.get(_LEGACY + "service-account.name") or ""
        sa_uid = c.get(_LEGACY + "service-account.uid") or ""
        for value, what in ((namespace, "namespace"), (secret_name, "secretName"),
                            (sa_name, "serviceAccountName"), (sa_uid, "serviceAccountUID")):
            if not value:
                raise TokenError(f"{what} claim is missing")
        if c.get("sub") != username(namespace, sa_name):
            raise TokenError("sub claim is invalid")
        secret = await lookup(self.ctx, "secrets", namespace, secret_name)
        if secret is None or (secret.get("metadata") or {}).get("deletionTimestamp"):
            raise TokenError("token has been invalidated")
        if not hmac.compare_digest(secret_data(secret, "token").encode(), token.encode()):
            raise TokenError("token does not match server's copy")
        if ((secret["metadata"].get("labels") or {}).get(LEGACY_INVALID_SINCE)):
            raise TokenError("service account token has been invalidated")
        sa = await lookup(self.ctx, "serviceaccounts", namespace, sa_name)
        if sa is None:
            raise TokenError(f'serviceaccounts "{sa_name}" not found')
        if sa["metadata"].get("deletionTimestamp"):
            raise TokenError(f"service account {namespace}/{sa_name} has been deleted")
        if sa["metadata"].get("uid") != sa_uid:
            raise TokenError(f"service account UID ({sa['metadata'].get('uid')}) does not "
                             f"match claim ({sa_uid})")
        return sa_user(namespace, sa, {})


def sa_user(namespace: str, sa: dict, extra: dict[str, tuple[str, ...]]) -> UserInfo:
    meta = sa["metadata"]
    return UserInfo(username(namespace, meta["name"]), uid=meta.get("uid", ""),
                    groups=(ALL_GROUP, f"{ALL_GROUP}:{namespace}"), extra=extra)


def _go_list(items: tuple[str, ...]) -> str:
    """A string slice as Go's %q prints it: ["a" "b"]."""
    return "[" + " ".join(f'"{i}"' for i in items) + "]"
