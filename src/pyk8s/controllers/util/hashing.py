"""The pod-template-hash: how a Deployment names and labels the ReplicaSet of a template.

Upstream hashes the PodTemplateSpec with FNV-32a (over Go's printed form of the struct),
appends ``collisionCount`` as 8 little-endian bytes (the low 4 carrying the count) when it
is set, and "safe encodes" the decimal digits of the sum with an alphabet free of vowels
and look-alike characters, so the value is always a valid label and never spells words.
We feed FNV-32a a canonical JSON form of the template instead of Go's printer: values
differ from upstream's, but the shape, stability and collision handling are the same.
ControllerRevision names (StatefulSet, DaemonSet) use the same hash.
"""

from __future__ import annotations

import orjson

FNV32_OFFSET = 0x811C9DC5
FNV32_PRIME = 0x01000193
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes, start: int = FNV32_OFFSET) -> int:
    """FNV-1a 32-bit over ``data`` (continuing from ``start`` to hash in pieces)."""
    value = start
    for byte in data:
        value = ((value ^ byte) * FNV32_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """apimachinery's rand.SafeEncodeString: each character mapped into SAFE_ALPHABET."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


def compute_hash(template: dict, collision_count: int | None = None) -> str:
    """The pod-template-hash of ``template`` (a PodTemplateSpec dict)."""
    value = fnv32a(orjson.dumps(template, option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        value = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4), value)
    return safe_encode(str(value))
