"""Bootstrap token Secrets: expiration arithmetic and which tokens may sign cluster-info."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from pyk8s.bootstrap.tokens import expiration, signing_token, token_id_from_name

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def secret(name="bootstrap-token-abcdef", type_="bootstrap.kubernetes.io/token", **data):
    enc = {k.replace("_", "-"): base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": {"name": name, "namespace": "kube-system"}, "type": type_,
            "data": enc}


@pytest.mark.parametrize("value, left, expired", [
    (None, 0.0, False),
    ("2025-06-01T12:00:30Z", 30.0, False),
    ("2025-06-01T14:00:30+02:00", 30.0, False),
    ("2025-06-01T12:00:00Z", 0.0, True),
    ("2025-06-01T11:00:00Z", 0.0, True),
    ("2025-06-01T12:00:30", 0.0, True),  # no offset: not RFC 3339, treated as expired
    ("tomorrow", 0.0, True),
])
def test_expiration(value, left, expired):
    s = secret(**({"expiration": value} if value else {}))
    assert expiration(s, NOW) == (left, expired)


@pytest.mark.parametrize("name, token_id", [
    ("bootstrap-token-abcdef", "abcdef"), ("bootstrap-token-ABCDEF", None),
    ("bootstrap-token-abcdefg", None), ("token-abcdef", None),
])
def test_token_id_from_name(name, token_id):
    assert token_id_from_name(name) == token_id


GOOD = {"token_id": "abcdef", "token_secret": "0123456789abcdef",
        "usage_bootstrap_signing": "true", "expiration": "2025-06-02T00:00:00Z"}


@pytest.mark.parametrize("overrides, signs", [
    ({}, True),
    ({"usage_bootstrap_signing": "false"}, False),
    ({"expiration": "2025-06-01T00:00:00Z"}, False),
    ({"token_id": "zzzzzz"}, False),      # id must match the name
    ({"token_secret": ""}, False),
    ({"name": "bootstrap-token-bad"}, False),
    ({"type_": "Opaque"}, False),
])
def test_signing_token(overrides, signs):
    fields = {**GOOD, **overrides}
    fields = {k: v for k, v in fields.items() if v != ""}
    s = secret(**fields)
    assert signing_token(s, NOW) == (("abcdef", "0123456789abcdef") if signs else None)
