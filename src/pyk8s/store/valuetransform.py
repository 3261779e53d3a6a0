"""Value transformers for encryption at rest, byte-compatible with kube-apiserver's.

A stored value is ``<provider prefix><key name>:<ciphertext>``, e.g.
``k8s:enc:aesgcm:v1:key1:`` + nonce + sealed data, exactly as upstream's
``storage/value/encrypt`` packages write it, so a store written by one can be read by
the other with the same keys. AES-GCM authenticates the storage key as additional
data (a value copied under another key fails to decrypt), as upstream does.

Reading tries the configured transformers in order by prefix (identity has none);
a read is *stale* when it did not use the first transformer and first key, which is
what tells a rewrite (key rotation) that the value must be written again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import nacl.exceptions
import nacl.secret

from .encryptionconfig import ProviderSpec

ENCRYPTED_PREFIX = b"k8s:enc:"
PROVIDER_PREFIX = {
    "aesgcm": b"k8s:enc:aesgcm:v1:",
    "aescbc": b"k8s:enc:aescbc:v1:",
    "secretbox": b"k8s:enc:secretbox:v1:",
}
GCM_NONCE = 12
CBC_BLOCK = 16
SECRETBOX_NONCE = 24
SECRETBOX_OVERHEAD = 16


class TransformError(Exception):
    """A stored value could not be decrypted (wrong key, corrupt data, no provider)."""


class Transformer(Protocol):
    def from_storage(self, data: bytes, key: bytes) -> tuple[bytes, bool]:
        """(plaintext, stale) for stored ``data`` of storage key ``key``."""

    def to_storage(self, data: bytes, key: bytes) -> bytes:
        """The stored form of ``data`` under storage key ``key``."""


class Identity:
    """No encryption; refuses to pass encrypted data through as if it were plaintext."""

    def from_storage(self, data: bytes, key: bytes) -> tuple[bytes, bool]:
        if data.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        return data, False

    def to_storage(self, data: bytes, key: bytes) -> bytes:
        return data


class GCM:
    """AES-GCM: random 96-bit nonce, then ciphertext and tag; the storage key is AAD."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(secret)

    def from_storage(self, data: bytes, key: bytes) -> tuple[bytes, bool]:
        if len(data) < GCM_NONCE:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._aead.decrypt(data[:GCM_NONCE], data[GCM_NONCE:], key), False
        except InvalidTag:
            raise TransformError("cipher: message authentication failed") from None

    def to_storage(self, data: bytes, key: bytes) -> bytes:
        nonce = os.urandom(GCM_NONCE)
        return nonce + self._aead.encrypt(nonce, data, key)


class CBC:
    """AES-CBC: random IV, then the PKCS#7-padded ciphertext (no authentication)."""

    def __init__(self, secret: bytes) -> None:
        self._algorithm = algorithms.AES(secret)

    def from_storage(self, data: bytes, key: bytes) -> tuple[bytes, bool]:
        if len(data) < CBC_BLOCK:
            raise TransformError("the stored data was shorter than the required size")
        iv, body = data[:CBC_BLOCK], data[CBC_BLOCK:]
        if not body or len(body) % CBC_BLOCK:
            raise TransformError("the stored data is not a multiple of the block size")
        dec = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        plain = dec.update(body) + dec.finalize()
        pad = plain[-1]
        if pad == 0 or pad > len(plain):
            raise TransformError("invalid PKCS7 data (empty or not padded)")
        if plain[-pad:] != bytes([pad]) * pad:
            raise TransformError("invalid padding on input")
        return plain[:-pad], False

    def to_storage(self, data: bytes, key: bytes) -> bytes:
        iv = os.urandom(CBC_BLOCK)
        pad = CBC_BLOCK - len(data) % CBC_BLOCK
        enc = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + enc.update(data + bytes([pad]) * pad) + enc.finalize()


class SecretBox:
    """NaCl secretbox (XSalsa20-Poly1305): random 24-byte nonce, then tag and ciphertext."""

    def __init__(self, secret: bytes) -> None:
        self._box = nacl.secret.SecretBox(secret)

    def from_storage(self, data: bytes, key: bytes) -> tuple[bytes, bool]:
        if len(data) < SECRETBOX_NONCE + SECRETBOX_OVERHEAD:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._box.decrypt(data[SECRETBOX_NONCE:], data[:SECRETBOX_NONCE]), False
        except nacl.exceptions.CryptoError:
            raise TransformError("secretbox: message authentication failed") from None

    def to_storage(self, data: bytes, key: bytes) -> bytes:
        return bytes(self._box.encrypt(data, os.urandom(SECRETBOX_NONCE)))


@dataclass(frozen=True, slots=True)
class Prefixed:
    prefix: bytes
    transformer: Transformer


class PrefixChain:
    """Writes with the first transformer; reads with the first whose prefix matches.

    A failing identity (empty prefix) does not stop the search, so identity may come
    first while encrypted values still read; other failures are reported if nothing
    else succeeds. Reads not served by the first transformer are stale.
    """

    def __init__(self, items: list[Prefixed], no_match: str) -> None:
        self.items = items
        self.no_match = no_match

    def from_storage(self, data: bytes, key: bytes) -> tuple[bytes, bool]:
        errs: list[str] = []
        for i, item in enumerate(self.items):
            if not data.startswith(item.prefix):
                continue
            try:
                out, stale = item.transformer.from_storage(data[len(item.prefix):], key)
            except TransformError as exc:
                if item.prefix:
                    errs.append(str(exc))
                continue
            return out, stale or i != 0
        if errs:
            raise TransformError(errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]")
        raise TransformError(self.no_match)

    def to_storage(self, data: bytes, key: bytes) -> bytes:
        first = self.items[0]
        return first.prefix + first.transformer.to_storage(data, key)


_CIPHERS = {"aesgcm": GCM, "aescbc": CBC, "secretbox": SecretBox}


def provider_transformer(spec: ProviderSpec) -> Prefixed:
    """One configured provider as a prefixed transformer (its keys chained by name)."""
    if spec.type == "identity":
        return Prefixed(b"", Identity())
    cipher = _CIPHERS[spec.type]
    keys = PrefixChain(
        [Prefixed(name.encode() + b":", cipher(secret)) for name, secret in spec.keys],
        f"no matching key was found for the provided {spec.type} transformer")
    return Prefixed(PROVIDER_PREFIX[spec.type], keys)


def chain(specs: list[ProviderSpec]) -> PrefixChain:
    """The transformer of a resource: its providers in configuration order."""
    return PrefixChain([provider_transformer(s) for s in specs], "no matching prefix found")
