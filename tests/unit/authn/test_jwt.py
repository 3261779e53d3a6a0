"""JWS signing and verification: round trips, tampering, key types and key files."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pyk8s.apiserver.authn import jwt


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("curve,alg", [(ec.SECP256R1(), "ES256"), (ec.SECP384R1(), "ES384"),
                                       (ec.SECP521R1(), "ES512")])
def test_ec_round_trip(curve, alg):
    key = ec.generate_private_key(curve)
    token = jwt.sign({"sub": "x"}, key)
    header, _ = jwt.unverified_claims(token)
    assert header == {"alg": alg, "kid": jwt.key_id(key.public_key())}
    assert jwt.verify(token, [key.public_key()]) == {"sub": "x"}


def test_rsa_round_trip_and_sorted_claims(rsa_key):
    token = jwt.sign({"sub": "x", "aud": ["a"], "exp": 5}, rsa_key)
    assert jwt.unverified_claims(token)[0]["alg"] == "RS256"
    assert jwt.b64url_decode(token.split(".")[1]) == b'{"aud":["a"],"exp":5,"sub":"x"}'
    assert jwt.verify(token, [rsa_key.public_key()])["aud"] == ["a"]


def test_any_listed_key_verifies(rsa_key):
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.sign({"sub": "x"}, rsa_key)
    assert jwt.verify(token, [other.public_key(), rsa_key.public_key()])["sub"] == "x"


def test_wrong_key_and_tampering_fail(rsa_key):
    token = jwt.sign({"sub": "x"}, rsa_key)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.JWTError):
        jwt.verify(token, [other.public_key()])
    header, _, sig = token.split(".")
    forged = header + "." + jwt.b64url(b'{"sub":"admin"}') + "." + sig
    with pytest.raises(jwt.JWTError):
        jwt.verify(forged, [rsa_key.public_key()])


def test_alg_none_and_mismatched_alg_never_verify(rsa_key):
    payload = jwt.b64url(b'{"sub":"x"}')
    none = jwt.b64url(b'{"alg":"none"}') + "." + payload + "."
    with pytest.raises(jwt.JWTError):
        jwt.verify(none, [rsa_key.public_key()])
    ec_token = jwt.sign({"sub": "x"}, ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(jwt.JWTError):
        jwt.verify(ec_token, [rsa_key.public_key()])


@pytest.mark.parametrize("text", ["abc", "a.b", "a.b.c", "!!.??.x"])
def test_malformed_tokens(text, rsa_key):
    with pytest.raises(jwt.JWTError):
        jwt.verify(text, [rsa_key.public_key()])


def test_ensure_keypair_is_made_once_and_files_load(tmp_path):
    key_path, pub_path = jwt.ensure_keypair(tmp_path)
    assert (key_path.stat().st_mode & 0o777) == 0o600
    first = key_path.read_bytes()
    jwt.ensure_keypair(tmp_path)
    assert key_path.read_bytes() == first
    key = jwt.load_private_key(key_path)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    token = jwt.sign({"sub": "x"}, key)
    assert jwt.verify(token, jwt.load_public_keys(pub_path))["sub"] == "x"
    assert jwt.verify(token, jwt.load_public_keys(key_path))["sub"] == "x"  # a private key file


def test_public_keys_from_several_blocks_and_certificates(tmp_path):
    from pyk8s import pki

    ca = pki.ensure_ca(tmp_path)
    jwt.ensure_keypair(tmp_path)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem() + (tmp_path / "sa.pub").read_bytes())
    keys = jwt.load_public_keys(bundle)
    assert isinstance(keys[0], ec.EllipticCurvePublicKey)  # the CA certificate's key
    assert isinstance(keys[1], rsa.RSAPublicKey)
    (tmp_path / "empty.pem").write_text("nothing here")
    with pytest.raises(ValueError):
        jwt.load_public_keys(tmp_path / "empty.pem")
