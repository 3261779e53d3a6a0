"""Bootstrap token Secrets: where they live, how they are named, and when they are usable.

A token ``abcdef.0123456789abcdef`` is the Secret ``kube-system/bootstrap-token-abcdef`` of type
``bootstrap.kubernetes.io/token`` holding ``token-id``, ``token-secret``, an optional RFC 3339
``expiration`` and ``usage-bootstrap-*`` flags. As upstream's cluster-bootstrap helpers, an
expiration that does not parse counts as already expired, so a malformed token is never honoured
and the token cleaner removes it.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

NAMESPACE = "kube-system"
SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_PREFIX = "bootstrap-token-"
TOKEN_ID_KEY = "token-id"
TOKEN_SECRET_KEY = "token-secret"
EXPIRATION_KEY = "expiration"
USAGE_SIGNING_KEY = "usage-bootstrap-signing"

TOKEN_ID_RE = re.compile(r"^[a-z0-9]{6}$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def secret_data(secret: dict, key: str) -> str:
    """A value of the Secret's ``data``, decoded; empty when absent or undecodable."""
    value = (secret.get("data") or {}).get(key)
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def token_id_from_name(name: str) -> str | None:
    """The token id a Secret name carries (``bootstrap-token-<id>``), None if malformed."""
    if not name.startswith(SECRET_PREFIX):
        return None
    token_id = name[len(SECRET_PREFIX):]
    return token_id if TOKEN_ID_RE.match(token_id) else None


def parse_rfc3339(text: str) -> datetime | None:
    """An RFC 3339 timestamp with its offset, or None when it is not one."""
    if not RFC3339_RE.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def expiration(secret: dict, now: datetime) -> tuple[float, bool]:
    """(seconds left, expired) of the token; no expiration never expires (0, False)."""
    text = secret_data(secret, EXPIRATION_KEY)
    if not text:
        return 0.0, False
    when = parse_rfc3339(text)
    if when is None:
        return 0.0, True
    left = (when - now).total_seconds()
    return (0.0, True) if left <= 0 else (left, False)


def signing_token(secret: dict, now: datetime) -> tuple[str, str] | None:
    """(id, secret) when the Secret is a live token allowed to sign cluster-info."""
    if secret.get("type") != SECRET_TYPE:
        return None
    name_id = token_id_from_name((secret.get("metadata") or {}).get("name") or "")
    token_id = secret_data(secret, TOKEN_ID_KEY)
    token_secret = secret_data(secret, TOKEN_SECRET_KEY)
    if name_id is None or not token_id or token_id != name_id or not token_secret:
        return None
    if expiration(secret, now)[1] or secret_data(secret, USAGE_SIGNING_KEY) != "true":
        return None
    return token_id, token_secret
