"""Bootstrap tokens: ``ID.SECRET`` bearer tokens kept as Secrets in kube-system.

A token ``abcdef.0123456789abcdef`` authenticates when the Secret
``kube-system/bootstrap-token-abcdef`` has type ``bootstrap.kubernetes.io/token``,
the same ``token-id``, a ``token-secret`` equal to the secret half (compared in
constant time), ``usage-bootstrap-authentication: "true"`` and no past
``expiration``. The user is ``system:bootstrap:ID`` in ``system:bootstrappers``
plus the Secret's ``auth-extra-groups``. As upstream, a token that fails any check
is simply not recognized (the request then fails as an invalid bearer token);
why is logged at debug level only, since the Secret is the credential.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import logging
import re

from ..user import UserInfo
from .token import TokenResult, lookup

log = logging.getLogger(__name__)

SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_PREFIX = "bootstrap-token-"
NAMESPACE = "kube-system"
USER_PREFIX = "system:bootstrap:"
DEFAULT_GROUP = "system:bootstrappers"

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed bootstrap token, else None."""
    match = TOKEN_RE.match(token)
    return (match.group(1), match.group(2)) if match else None


def secret_data(secret: dict, key: str) -> str:
    """A Secret's ``data`` value, decoded; empty when absent or not base64."""
    value = (secret.get("data") or {}).get(key)
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def has_expired(secret: dict, now: datetime.datetime) -> bool:
    """Past its ``expiration`` (RFC 3339); an unreadable expiration counts as expired."""
    text = secret_data(secret, "expiration")
    if not text:
        return False
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return True
    if when.tzinfo is None:
        return True
    return now >= when


def groups_of(secret: dict) -> tuple[str, ...] | None:
    """system:bootstrappers plus valid extra groups, sorted; None if one is invalid."""
    groups = {DEFAULT_GROUP}
    extra = secret_data(secret, "auth-extra-groups")
    if extra:
        for group in extra.split(","):
            if not GROUP_RE.match(group):
                return None
            groups.add(group)
    return tuple(sorted(groups))


def user_for(secret: dict, token_id: str, token_secret: str,
             now: datetime.datetime) -> UserInfo | None:
    """The user the Secret makes of this token, None when it does not authenticate."""
    meta = secret.get("metadata") or {}
    name = f"{NAMESPACE}/{meta.get('name')}"
    if meta.get("deletionTimestamp"):
        log.debug("bootstrap token %s is deleted and awaiting removal", name)
        return None
    if secret.get("type") != SECRET_TYPE or not secret.get("data"):
        log.debug("bootstrap token %s has invalid type, expected %s", name, SECRET_TYPE)
        return None
    if not hmac.compare_digest(secret_data(secret, "token-secret").encode(),
                               token_secret.encode()):
        log.debug("bootstrap token %s has invalid value for key token-secret", name)
        return None
    if secret_data(secret, "token-id") != token_id:
        log.debug("bootstrap token %s has invalid value for key token-id", name)
        return None
    if has_expired(secret, now):
        log.debug("bootstrap token %s has expired", name)
        return None
    if secret_data(secret, "usage-bootstrap-authentication") != "true":
        log.debug("bootstrap token %s not marked usage-bootstrap-authentication=true", name)
        return None
    groups = groups_of(secret)
    if groups is None:
        log.debug("bootstrap token %s has invalid value for key auth-extra-groups", name)
        return None
    return UserInfo(USER_PREFIX + token_id, groups=groups)


class BootstrapTokenAuthenticator:
    def __init__(self, ctx) -> None:
        self.ctx = ctx

    async def authenticate_token(self, token: str,
                                 audiences: tuple[str, ...]) -> TokenResult | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        token_id, token_secret = parsed
        secret = await lookup(self.ctx, "secrets", NAMESPACE, SECRET_PREFIX + token_id)
        if secret is None:
            return None
        user = user_for(secret, token_id, token_secret,
                        datetime.datetime.now(datetime.UTC))
        return TokenResult(user, audiences) if user is not None else None
