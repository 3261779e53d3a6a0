"""Protobuf wire format, read side: varints, length-delimited fields, fixed32/fixed64.

Why hand-written: the server only has to *read* the few bodies kubectl's typed clients
send (a ConfigMap, a Deployment, an Eviction...), so a small reader interpreting the
field table in fields.json is enough, and the ``protobuf`` package (with generated
classes for all of k8s.io/api) stays out of the dependencies.

Reference: https://protobuf.dev/programming-guides/encoding/ — a message is a sequence
of (key, value) records, key = field_number << 3 | wire_type.  Kubernetes' gogo
messages use wire types 0 (varint), 2 (length-delimited) and, for no field today,
1/5 (fixed 64/32); groups (3/4) are never used and are rejected.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_MASK64 = (1 << 64) - 1


class ProtobufError(ValueError):
    """Malformed protobuf data, or data that does not fit the message it claims to be."""


def read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return (value as uint64, next position)."""
    if pos < end and buf[pos] < 0x80:  # one byte: most keys, lengths and small numbers
        return buf[pos], pos + 1
    result = shift = 0
    while True:
        if pos >= end:
            raise ProtobufError("unexpected end of data inside a varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def iter_fields(buf: memoryview, pos: int = 0, end: int | None = None
                ) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield ``(field_number, wire_type, value)`` for each record of one message.

    ``value`` is an int for varints, a memoryview of the payload for length-delimited
    records and of the 8/4 raw bytes for fixed64/fixed32.
    """
    end = len(buf) if end is None else end
    while pos < end:
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = read_varint(buf, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("illegal field number 0")
        if wire_type == LEN:
            length, pos = read_varint(buf, pos, end)
            if length > end - pos:
                raise ProtobufError(f"field {number}: length {length} runs past the end of data")
            value, pos = buf[pos:pos + length], pos + length
        elif wire_type == VARINT:
            value, pos = read_varint(buf, pos, end)
        elif wire_type in (I64, I32):
            size = 8 if wire_type == I64 else 4
            if size > end - pos:
                raise ProtobufError(f"field {number}: truncated fixed{size * 8}")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ProtobufError(f"field {number}: unsupported wire type {wire_type}")
        yield number, wire_type, value


# protobuf scalar type -> the wire type it is written with
WIRE_TYPE = {
    "int32": VARINT, "int64": VARINT, "uint32": VARINT, "uint64": VARINT, "sint32": VARINT,
    "sint64": VARINT, "bool": VARINT, "string": LEN, "bytes": LEN,
    "fixed64": I64, "sfixed64": I64, "double": I64,
    "fixed32": I32, "sfixed32": I32, "float": I32,
}
_FIXED = {"fixed64": "<Q", "sfixed64": "<q", "double": "<d",
          "fixed32": "<I", "sfixed32": "<i", "float": "<f"}


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _varint_value(typ: str, value: int) -> int | bool:
    if typ == "int32":  # negative int32s are sign-extended to 10-byte varints
        return _signed(value, 32)
    if typ == "int64":
        return _signed(value, 64)
    if typ == "uint32":
        return value & 0xFFFFFFFF
    if typ == "uint64":
        return value
    if typ == "bool":
        return value != 0
    if typ in ("sint32", "sint64"):  # zigzag
        decoded = (value >> 1) ^ -(value & 1)
        return _signed(decoded, 32) if typ == "sint32" else decoded
    raise ProtobufError(f"not a varint type: {typ}")


def scalar(typ: str, wire_type: int, value: int | memoryview, field: str) -> object:
    """Convert one wire value to the Python value of protobuf scalar type ``typ``.

    Strings are decoded as UTF-8 with invalid bytes replaced (Go keeps the bytes, and its
    JSON encoder then writes U+FFFD: same result).  Bytes stay ``bytes``.
    """
    expected = WIRE_TYPE[typ]
    if wire_type != expected:
        raise ProtobufError(f"wrong wireType = {wire_type} for field {field}")
    if wire_type == VARINT:
        return _varint_value(typ, value)  # type: ignore[arg-type]
    if typ == "string":
        return bytes(value).decode("utf-8", "replace")  # type: ignore[arg-type]
    if typ == "bytes":
        return bytes(value)  # type: ignore[arg-type]
    return struct.unpack(_FIXED[typ], value)[0]


def packed(typ: str, data: memoryview, field: str) -> list:
    """Decode a packed repeated scalar (proto3 style; accepted for proto2 fields too)."""
    expected = WIRE_TYPE[typ]
    if expected == LEN:
        raise ProtobufError(f"wrong wireType = {LEN} for field {field}")
    out: list = []
    pos, end = 0, len(data)
    while pos < end:
        if expected == VARINT:
            value, pos = read_varint(data, pos, end)
            out.append(_varint_value(typ, value))
        else:
            size = 8 if expected == I64 else 4
            if size > end - pos:
                raise ProtobufError(f"field {field}: truncated packed fixed{size * 8}")
            out.append(struct.unpack(_FIXED[typ], data[pos:pos + size])[0])
            pos += size
    return out
