"""Bootstrap tokens: parsing, the Secret's checks, expiry and extra groups."""

from __future__ import annotations

import base64
import datetime

import pytest

from pyk8s.apiserver.authn.bootstrap import (
    BootstrapTokenAuthenticator,
    has_expired,
    parse_token,
    user_for,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def secret(**data) -> dict:
    values = {"token-id": "abcdef", "token-secret": "0123456789abcdef",
              "usage-bootstrap-authentication": "true", **data}
    return {"metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()
                     if v is not None}}


@pytest.mark.parametrize("token,parsed", [
    ("abcdef.0123456789abcdef", ("abcdef", "0123456789abcdef")),
    ("ABCDEF.0123456789abcdef", None),
    ("abcde.0123456789abcdef", None),
    ("abcdef.0123456789abcde", None),
    ("abcdef:0123456789abcdef", None),
    ("abcdef.0123456789abcdef.x", None),
])
def test_parse_token(token, parsed):
    assert parse_token(token) == parsed


def test_valid_token_user_and_groups():
    user = user_for(secret(**{"auth-extra-groups": "system:bootstrappers:worker,"
                                                     "system:bootstrappers:a"}),
                    "abcdef", "0123456789abcdef", NOW)
    assert user.name == "system:bootstrap:abcdef"
    assert user.groups == ("system:bootstrappers", "system:bootstrappers:a",
                           "system:bootstrappers:worker")


@pytest.mark.parametrize("change", [
    {"token-secret": "0123456789abcdeX"},
    {"token-id": "zzzzzz"},
    {"usage-bootstrap-authentication": None},
    {"usage-bootstrap-authentication": "false"},
    {"auth-extra-groups": "system:masters"},
    {"expiration": "2025-12-31T23:59:59Z"},
    {"expiration": "not a time"},
])
def test_refusals(change):
    assert user_for(secret(**change), "abcdef", "0123456789abcdef", NOW) is None


def test_wrong_type_or_deleted_is_refused():
    wrong = secret() | {"type": "Opaque"}
    assert user_for(wrong, "abcdef", "0123456789abcdef", NOW) is None
    deleted = secret()
    deleted["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    assert user_for(deleted, "abcdef", "0123456789abcdef", NOW) is None


def test_expiration():
    assert not has_expired(secret(), NOW)
    assert not has_expired(secret(expiration="2026-01-01T00:00:01Z"), NOW)
    assert has_expired(secret(expiration="2026-01-01T00:00:00Z"), NOW)
    assert not has_expired(secret(expiration="2026-01-01T02:00:00+01:00"), NOW)


async def test_authenticator_reads_the_secret(ctx, objects):
    auth = BootstrapTokenAuthenticator(ctx)
    assert await auth.authenticate_token("abcdef.0123456789abcdef", ()) is None
    s = secret()
    await objects.put("secrets", "kube-system", "bootstrap-token-abcdef", "u1",
                      type=s["type"], data=s["data"])
    result = await auth.authenticate_token("abcdef.0123456789abcdef", ("api",))
    assert result.user.name == "system:bootstrap:abcdef" and result.audiences == ("api",)
    assert await auth.authenticate_token("abcdef.0123456789abcdeX", ()) is None
    assert await auth.authenticate_token("not-a-bootstrap-token", ()) is None
