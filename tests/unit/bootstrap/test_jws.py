"""Detached JWS over cluster-info: byte-for-byte upstream vectors and a hand-built one."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from pyk8s.bootstrap.jws import compute_detached_signature, detached_signature_is_valid

CONTENT = "Hello from the other side. I must have called a thousand times."
TOKEN_ID = "joshua"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def by_hand(content: str, token_id: str, secret: str) -> str:
    header = _b64url(('{"alg":"HS256","kid":"' + token_id + '"}').encode())
    signing_input = (header + "." + _b64url(content.encode())).encode()
    return header + ".." + _b64url(hmac.new(secret.encode(), signing_input,
                                            hashlib.sha256).digest())


@pytest.mark.parametrize("content, secret, expected", [
    # cluster-bootstrap's jws_test.go vectors (go-jose output); the long secret is the
    # newer test's, the 23-byte one the older test's (upstream now zero-pads short keys
    # to 32 bytes, which HMAC does anyway)
    (CONTENT, "my voice is my passcode",
     "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"),
    ("", "my voice is my passcode",
     "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk"),
    (CONTENT, "my voice is my passcode. my voice is my passcode",
     "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..SFoKn0-YxqnvpSExt4LuCZ_7pvIBdX3SoUO_NsTpkdg"),
])
def test_known_vectors(content, secret, expected):
    assert compute_detached_signature(content, TOKEN_ID, secret) == expected
    assert by_hand(content, TOKEN_ID, secret) == expected
    assert detached_signature_is_valid(expected, content, TOKEN_ID, secret)


def test_bootstrap_token_shaped_vector():
    kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n"
    sig = compute_detached_signature(kubeconfig, "abcdef", "0123456789abcdef")
    assert sig == by_hand(kubeconfig, "abcdef", "0123456789abcdef")
    header, empty, mac = sig.split(".")
    assert empty == ""
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","kid":"abcdef"}'
    assert "=" not in sig and len(mac) == 43


@pytest.mark.parametrize("change", ["signature", "content", "token_id", "secret"])
def test_verify_rejects_any_difference(change):
    args = {"signature": compute_detached_signature(CONTENT, "abcdef", "0123456789abcdef"),
            "content": CONTENT, "token_id": "abcdef", "token_secret": "0123456789abcdef"}
    assert detached_signature_is_valid(**args)
    key = "token_secret" if change == "secret" else change
    args[key] = args[key][:-1] + ("x" if args[key][-1] != "x" else "y")
    assert not detached_signature_is_valid(**args)
