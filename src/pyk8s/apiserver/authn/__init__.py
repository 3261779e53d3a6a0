"""Authentication: maps each request to a :class:`~pyk8s.apiserver.user.UserInfo`.

Authenticators are tried in order (as kube-apiserver's union authenticator): the
first that recognizes a credential decides. A credential that is present but bad
is a 401; no credential at all makes the request ``system:anonymous``, which
authorization then judges.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from .. import errors
from ..user import UserInfo, anonymous
from .x509 import X509Authenticator


class Authenticator(Protocol):
    async def authenticate(self, request: web.Request) -> UserInfo | None:
        """The user, None when this authenticator finds no credential of its kind;
        raise :func:`unauthorized` for a credential of its kind that is invalid."""


def unauthorized() -> errors.APIError:
    return errors.APIError(401, "Unauthorized", "Unauthorized")


class UnionAuthenticator:
    """The first authenticator that finds a credential decides."""

    def __init__(self, authenticators: list[Authenticator], *, allow_anonymous: bool = True):
        self.authenticators = authenticators
        self.allow_anonymous = allow_anonymous

    async def authenticate(self, request: web.Request) -> UserInfo:
        for authenticator in self.authenticators:
            user = await authenticator.authenticate(request)
            if user is not None:
                return user
        if request.headers.get("Authorization"):
            raise unauthorized()
        if not self.allow_anonymous:
            raise unauthorized()
        return anonymous()


def default_authenticator() -> UnionAuthenticator:
    return UnionAuthenticator([X509Authenticator()])


def build(opts, ctx) -> UnionAuthenticator:
    """The authenticators the server's options ask for, in upstream's order."""
    return UnionAuthenticator([X509Authenticator()], allow_anonymous=opts.anonymous_auth)
