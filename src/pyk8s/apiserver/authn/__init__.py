"""Authentication: maps each request to a :class:`~pyk8s.apiserver.user.UserInfo`.

Authenticators are tried in order (as kube-apiserver's union authenticator): x509
client certificates, then bearer tokens (static token file, ServiceAccount JWTs,
bootstrap tokens). The first that accepts a credential decides, and every
authenticated user gets ``system:authenticated``. A credential that is present but
bad is a 401; no credential at all makes the request ``system:anonymous`` (when
``--anonymous-auth``), which authorization then judges.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from aiohttp import web

from .. import errors
from ..user import AUTHENTICATED, UserInfo, anonymous
from . import jwt
from .bootstrap import BootstrapTokenAuthenticator
from .serviceaccount import LEGACY_ISSUER, ServiceAccountTokenAuthenticator, TokenIssuer
from .token import TokenError, TokenResult, TokenUnion, bearer_token
from .tokenfile import TokenFileAuthenticator
from .x509 import X509Authenticator

log = logging.getLogger(__name__)

__all__ = ["Authenticator", "TokenError", "TokenResult", "UnionAuthenticator", "build",
           "default_authenticator", "unauthorized"]


class Authenticator(Protocol):
    async def authenticate(self, request: web.Request) -> UserInfo | None:
        """The user, None when this authenticator finds no credential of its kind;
        raise :func:`unauthorized` for a credential of its kind that is invalid."""


def unauthorized() -> errors.APIError:
    return errors.APIError(401, "Unauthorized", "Unauthorized")


class BearerTokenAuthenticator:
    """``Authorization: Bearer TOKEN`` checked by the token authenticators."""

    def __init__(self, tokens: TokenUnion) -> None:
        self.tokens = tokens

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request.headers.get("Authorization", ""))
        if token is None:
            return None
        try:
            return (await self.tokens.authenticate_token(token)).user
        except TokenError as exc:
            log.debug("bearer token refused: %s", exc)
            raise unauthorized() from None


def with_authenticated(user: UserInfo) -> UserInfo:
    """Add system:authenticated (upstream's AuthenticatedGroupAdder)."""
    if AUTHENTICATED in user.groups or user.is_anonymous:
        return user
    return UserInfo(user.name, uid=user.uid, groups=user.groups + (AUTHENTICATED,),
                    extra=user.extra)


class UnionAuthenticator:
    """The first authenticator that finds a credential decides.

    ``tokens`` answers TokenReview; ``issuer`` mints TokenRequest tokens (None when
    the server has no signing key, and then the token subresource is not served).
    """

    def __init__(self, authenticators: list[Authenticator], *, allow_anonymous: bool = True,
                 tokens: TokenUnion | None = None, issuer: TokenIssuer | None = None):
        self.authenticators = authenticators
        self.allow_anonymous = allow_anonymous
        self.tokens = tokens or TokenUnion([], ())
        self.issuer = issuer

    async def authenticate(self, request: web.Request) -> UserInfo:
        for authenticator in self.authenticators:
            user = await authenticator.authenticate(request)
            if user is not None:
                return with_authenticated(user)
        if not self.allow_anonymous:
            raise unauthorized()
        return anonymous()

    async def authenticate_token(self, token: str,
                                 audiences: tuple[str, ...] = ()) -> TokenResult:
        """TokenReview: the token's user and granted audiences, or TokenError."""
        result = await self.tokens.authenticate_token(token, audiences)
        return TokenResult(with_authenticated(result.user), result.audiences)


def default_authenticator() -> UnionAuthenticator:
    return UnionAuthenticator([X509Authenticator()])


def build(opts, ctx) -> UnionAuthenticator:
    """The authenticators the server's options ask for, in upstream's order.

    Without ``--service-account-signing-key-file`` the key pair ``pki/sa.key`` /
    ``pki/sa.pub`` is made on first start; ``--service-account-key-file`` defaults to
    the signing key's public half. The API server's audiences are ``[issuer]``.
    """
    signing_path = opts.service_account_signing_key_file
    if signing_path is None:
        signing_path, _ = jwt.ensure_keypair(Path(ctx.config["pki_dir"]))
    signing_key = jwt.load_private_key(signing_path)
    if opts.service_account_key_file:
        keys = jwt.load_public_keys(opts.service_account_key_file)
    else:
        keys = [signing_key.public_key()]
    audiences = (opts.service_account_issuer,)
    token_authenticators = []
    if opts.token_auth_file:
        token_authenticators.append(TokenFileAuthenticator.from_file(opts.token_auth_file))
    token_authenticators += [
        ServiceAccountTokenAuthenticator(ctx, (LEGACY_ISSUER,), keys, audiences, legacy=True),
        ServiceAccountTokenAuthenticator(ctx, (opts.service_account_issuer,), keys, audiences),
        BootstrapTokenAuthenticator(ctx),
    ]
    tokens = TokenUnion(token_authenticators, audiences)
    return UnionAuthenticator(
        [X509Authenticator(), BearerTokenAuthenticator(tokens)],
        allow_anonymous=opts.anonymous_auth, tokens=tokens,
        issuer=TokenIssuer(opts.service_account_issuer, signing_key, audiences))
