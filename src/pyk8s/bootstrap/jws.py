"""Detached JWS signatures over ``cluster-info`` (RFC 7515 appendix F), as kubeadm uses them.

A signature is the compact serialization of an HS256 JWS whose payload section is left empty:
``base64url(header) + ".." + base64url(HMAC-SHA256(secret, signing input))``, base64url without
padding, with the protected header ``{"alg":"HS256","kid":"<token id>"}`` serialized exactly so
(keys sorted, no spaces) -- the bytes go-jose emits, so signatures match upstream's byte for
byte. Verification recomputes the signature and compares in constant time, as upstream compares
the whole string.

Upstream pads secrets shorter than 32 bytes with zeros before handing them to go-jose; HMAC
pads every key shorter than the SHA-256 block with zeros anyway, so the plain secret gives the
same MAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

ALGORITHM = "HS256"


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def protected_header(token_id: str) -> str:
    """The encoded protected header naming ``token_id`` as the key."""
    header = json.dumps({"alg": ALGORITHM, "kid": token_id}, separators=(",", ":"),
                        sort_keys=True)
    return b64url(header.encode())


def compute_detached_signature(content: str, token_id: str, token_secret: str) -> str:
    """The detached JWS of ``content`` made with the token ``token_id.token_secret``."""
    header = protected_header(token_id)
    signing_input = f"{header}.{b64url(content.encode())}".encode("ascii")
    mac = hmac.new(token_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}..{b64url(mac)}"


def detached_signature_is_valid(signature: str, content: str, token_id: str,
                                token_secret: str) -> bool:
    """Whether ``signature`` is the detached JWS of ``content`` made with this token."""
    expected = compute_detached_signature(content, token_id, token_secret)
    return hmac.compare_digest(signature.encode(), expected.encode())
