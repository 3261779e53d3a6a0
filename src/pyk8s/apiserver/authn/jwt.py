"""Compact JWS (JWT) signing and verification over ``cryptography``, and the SA key pair.

ServiceAccount tokens are JWTs signed with the cluster's service-account key (RS256
for RSA keys, ES256/384/512 for EC keys), as kube-apiserver signs them with
go-jose. This is the small part of JOSE tokens need: no encryption, no JWK sets,
and ``alg`` must match the verifying key's type (``none`` never verifies). On first
start, without ``--service-account-signing-key-file``, the server makes
``pki/sa.key`` (RSA 2048) and ``pki/sa.pub`` as kubeadm does.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_RSA_ALGS = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}
_EC_ALGS = {"ES256": (hashes.SHA256, 32), "ES384": (hashes.SHA384, 48),
            "ES512": (hashes.SHA512, 66)}
_EC_ALG_FOR_CURVE = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class JWTError(Exception):
    """The token is not a well-formed JWS or its signature does not verify."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise JWTError("malformed base64url segment") from None


def key_id(public: PublicKey) -> str:
    """kube-apiserver's ``kid``: base64url(sha256(DER SubjectPublicKeyInfo))."""
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def algorithm_for(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    alg = _EC_ALG_FOR_CURVE.get(key.curve.name)
    if alg is None:
        raise ValueError(f"unsupported EC curve {key.curve.name}")
    return alg


def sign(claims: dict, key: PrivateKey) -> str:
    """The compact JWS of ``claims`` (keys sorted, as Go's JSON encoder writes maps)."""
    alg = algorithm_for(key)
    header = {"alg": alg, "kid": key_id(key.public_key())}
    signing_input = (b64url(orjson.dumps(header)) + "." +
                     b64url(orjson.dumps(claims, option=orjson.OPT_SORT_KEYS)))
    data = signing_input.encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), _RSA_ALGS[alg]())
    else:
        digest, size = _EC_ALGS[alg]
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest())))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return signing_input + "." + b64url(signature)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def unverified_claims(token: str) -> tuple[dict, dict]:
    """(header, claims) without checking the signature: to pick the right verifier."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError("not a compact JWS")
    try:
        header = orjson.loads(b64url_decode(parts[0]))
        claims = orjson.loads(b64url_decode(parts[1]))
    except orjson.JSONDecodeError:
        raise JWTError("malformed JWS segment") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JWTError("malformed JWS segment")
    return header, claims


def verify(token: str, keys: list[PublicKey]) -> dict:
    """The claims of ``token`` if one of ``keys`` verifies its signature."""
    header, claims = unverified_claims(token)
    alg = header.get("alg")
    signing_input, _, sig_text = token.rpartition(".")
    signature = b64url_decode(sig_text)
    data = signing_input.encode()
    for key in keys:
        if _verifies(key, alg, data, signature):
            return claims
    raise JWTError("invalid signature")


def _verifies(key: PublicKey, alg, data: bytes, signature: bytes) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey) and alg in _RSA_ALGS:
            key.verify(signature, data, padding.PKCS1v15(), _RSA_ALGS[alg]())
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and alg in _EC_ALGS:
            digest, size = _EC_ALGS[alg]
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                       int.from_bytes(signature[size:], "big"))
            key.verify(der, data, ec.ECDSA(digest()))
            return True
    except InvalidSignature:
        return False
    return False


# ---- key files ---------------------------------------------------------------


def load_private_key(path: str | Path) -> PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise TypeError(f"{path}: service account keys must be RSA or ECDSA")
    return key


def load_public_keys(path: str | Path) -> list[PublicKey]:
    """Every public key in a PEM file: public keys, private keys and certificates."""
    text = Path(path).read_bytes()
    keys: list[PublicKey] = []
    for block in _pem_blocks(text):
        kind = block.split(b"\n", 1)[0]
        if b"CERTIFICATE" in kind:
            key = x509.load_pem_x509_certificate(block).public_key()
        elif b"PRIVATE KEY" in kind:
            key = serialization.load_pem_private_key(block, None).public_key()
        elif b"PUBLIC KEY" in kind:
            key = serialization.load_pem_public_key(block)
        else:
            continue
        if isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            keys.append(key)
    if not keys:
        raise ValueError(f"{path}: no RSA or ECDSA public key found")
    return keys


def _pem_blocks(text: bytes) -> list[bytes]:
    blocks, start = [], text.find(b"-----BEGIN ")
    while start != -1:
        end_marker = text.find(b"-----END ", start)
        if end_marker == -1:
            break
        end = text.find(b"-----", end_marker + 9)
        blocks.append(text[start:end + 5] + b"\n")
        start = text.find(b"-----BEGIN ", end + 5)
    return blocks


def ensure_keypair(pki_dir: Path) -> tuple[Path, Path]:
    """``sa.key`` (RSA 2048, PKCS#1) and ``sa.pub`` (PKIX) under ``pki_dir``, made when missing."""
    key_path, pub_path = pki_dir / "sa.key", pki_dir / "sa.pub"
    if key_path.exists():
        key = load_private_key(key_path)
    else:
        pki_dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()))
    if not pub_path.exists():
        pub_path.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path
