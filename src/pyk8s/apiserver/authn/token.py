"""Bearer tokens: the token authenticators' contract and their union.

Each token authenticator answers None for a token that is not of its kind (so
the next one may try), a :class:`TokenResult` for a valid one, and raises
:class:`TokenError` for one of its kind that is invalid (expired, revoked,
forged). The union tries them in kube-apiserver's order: static token file,
ServiceAccount JWTs (legacy and bound), bootstrap tokens. The same union answers
TokenReview, so a review and a request see one verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..objects import from_kv
from ..user import UserInfo


class TokenError(Exception):
    """A token of this authenticator's kind that does not authenticate."""


@dataclass(frozen=True)
class TokenResult:
    user: UserInfo
    audiences: tuple[str, ...]  # those of the requested audiences the token is valid for


class TokenAuthenticator(Protocol):
    async def authenticate_token(self, token: str,
                                 audiences: tuple[str, ...]) -> TokenResult | None: ...


INVALID_TOKEN = "invalid bearer token"


class TokenUnion:
    """The first token authenticator that accepts the token decides; errors aggregate."""

    def __init__(self, authenticators: list[TokenAuthenticator],
                 api_audiences: tuple[str, ...]) -> None:
        self.authenticators = authenticators
        self.api_audiences = api_audiences

    async def authenticate_token(self, token: str,
                                 audiences: tuple[str, ...] = ()) -> TokenResult:
        audiences = audiences or self.api_audiences
        problems: list[str] = []
        for authenticator in self.authenticators:
            try:
                result = await authenticator.authenticate_token(token, audiences)
            except TokenError as exc:
                problems.append(str(exc))
                continue
            if result is not None:
                return result
        if not problems:
            raise TokenError(INVALID_TOKEN)
        if len(problems) == 1:
            raise TokenError(problems[0])
        raise TokenError("[" + ", ".join(problems) + "]")


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (scheme case-insensitive)."""
    parts = authorization.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


async def lookup(ctx, plural: str, namespace: str, name: str) -> dict | None:
    """A core/v1 object as the server holds it: the watch cache first, the store when
    the cache has not seen it yet (an object created a moment ago)."""
    rt = ctx.registry.get("", "v1", plural)
    key = rt.key(namespace, name)
    if ctx.watch_cache is not None:
        obj = ctx.watch_cache.get(rt.prefix, key)
        if obj is not None:
            return obj
    kv = await ctx.store.get(key)
    return from_kv(kv) if kv is not None else None
