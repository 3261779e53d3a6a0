"""SPDY/3.1 framing, the minimum ``kubectl port-forward`` and CRI attach need.

kubectl 1.32 opens ``pods/portforward`` as a WebSocket with the subprotocol
``SPDY/3.1+portforward.k8s.io`` (client-go's ``tunneling_connection.go``): the binary
messages are an ordered byte stream carrying SPDY/3.1 frames (a frame may span messages),
spoken with moby/spdystream as before WebSockets. Upstream's API server translates the
tunnel back into a SPDY upgrade to the kubelet; here the API server relays the
WebSocket unchanged, so the kubelet reads the frames itself with this module.

The kubelet is also a SPDY client: exec and attach reach containers through containerd's
CRI streaming server, which speaks SPDY/3.1 (``runtime/cristream.py``).

Frames (draft 3): a control frame is ``1 | version(15) | type(16) | flags(8) |
length(24) | data``; a data frame ``0 | stream-id(31) | flags(8) | length(24) | data``.
Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are a count and length-prefixed
name/value pairs, compressed with one zlib stream per direction primed with the SPDY/3
dictionary below and flushed (Z_SYNC_FLUSH) after each block. Flow control
(WINDOW_UPDATE) is not enforced by spdystream and is ignored here.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = (
    1, 2, 3, 4, 6, 7, 8, 9)
FLAG_FIN = 0x01
#: RST_STREAM and GOAWAY status codes used here.
PROTOCOL_ERROR, REFUSED_STREAM = 1, 3
MAX_LENGTH = 0xFFFFFF

_WORD_TEXT = (
    "options head post put delete trace accept accept-charset accept-encoding "
    "accept-language accept-ranges age allow authorization cache-control connection "
    "content-base content-encoding content-language content-length content-location "
    "content-md5 content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
    "server te trailer transfer-encoding upgrade user-agent vary via warning "
    "www-authenticate method get status")
_WORDS = [*_WORD_TEXT.split(), "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
          "keep-alive", "origin"]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502"
    "504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
    "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
    "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
    "charset=iso-8859-1,utf-,*,enq=0.")
#: The header compression dictionary of SPDY/3 (section 2.6.10.1 of the draft).
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


class ProtocolError(ValueError):
    """Bytes that are not SPDY/3 frames."""


@dataclass(frozen=True)
class ControlFrame:
    type: int
    flags: int
    data: bytes


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    flags: int
    data: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class FrameReader:
    """Frames out of a byte stream fed in arbitrary pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[ControlFrame | DataFrame]:
        self._buffer += data
        frames: list[ControlFrame | DataFrame] = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack_from(">II", self._buffer)
            length = flags_length & MAX_LENGTH
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            flags = flags_length >> 24
            if first & 0x80000000:
                version = (first >> 16) & 0x7FFF
                if version != VERSION:
                    raise ProtocolError(f"unsupported SPDY version {version}")
                frames.append(ControlFrame(first & 0xFFFF, flags, payload))
            else:
                frames.append(DataFrame(first, flags, payload))
        return frames


def control(frame_type: int, flags: int, data: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(data)) + data


def data_frame(stream_id: int, data: bytes = b"", *, fin: bool = False) -> bytes:
    if len(data) > MAX_LENGTH:
        raise ValueError("SPDY data frame too long")
    return struct.pack(">II", stream_id & 0x7FFFFFFF,
                       ((FLAG_FIN if fin else 0) << 24) | len(data)) + data


def rst_stream(stream_id: int, status: int) -> bytes:
    return control(RST_STREAM, 0, struct.pack(">II", stream_id & 0x7FFFFFFF, status))


def goaway(last_stream_id: int, status: int = 0) -> bytes:
    return control(GOAWAY, 0, struct.pack(">II", last_stream_id & 0x7FFFFFFF, status))


def encode_headers(headers: dict[str, list[str]]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        raw_name, raw_value = name.lower().encode(), "\0".join(values).encode()
        out += [struct.pack(">I", len(raw_name)), raw_name,
                struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def decode_headers(block: bytes) -> dict[str, list[str]]:
    try:
        (count,), pos = struct.unpack_from(">I", block), 4
        headers: dict[str, list[str]] = {}
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4:pos + 4 + size].decode()
            pos += 4 + size
            (size,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4:pos + 4 + size].decode()
            pos += 4 + size
            headers.setdefault(name.lower(), []).extend(value.split("\0"))
        return headers
    except (struct.error, UnicodeDecodeError) as err:
        raise ProtocolError(f"bad SPDY header block: {err}") from None


class HeaderCodec:
    """One side's header compression state: a zlib stream per direction."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15,
                                         zdict=DICTIONARY)

    def decompress(self, data: bytes) -> dict[str, list[str]]:
        try:
            return decode_headers(self._inflate.decompress(data))
        except zlib.error as err:
            raise ProtocolError(f"bad SPDY header compression: {err}") from None

    def compress(self, headers: dict[str, list[str]]) -> bytes:
        raw = encode_headers(headers)
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)


def parse_syn_stream(frame: ControlFrame, codec: HeaderCodec
                     ) -> tuple[int, dict[str, list[str]]]:
    """(stream id, headers) of a SYN_STREAM."""
    if len(frame.data) < 10:
        raise ProtocolError("short SYN_STREAM")
    (stream_id,) = struct.unpack_from(">I", frame.data)
    return stream_id & 0x7FFFFFFF, codec.decompress(frame.data[10:])


def syn_stream(stream_id: int, codec: HeaderCodec, headers: dict[str, list[str]], *,
               fin: bool = False) -> bytes:
    """A client's SYN_STREAM (no associated stream, priority 0)."""
    return control(SYN_STREAM, FLAG_FIN if fin else 0,
                   struct.pack(">IIH", stream_id & 0x7FFFFFFF, 0, 0) + codec.compress(headers))


def syn_reply(stream_id: int, codec: HeaderCodec, headers: dict[str, list[str]] | None = None,
              *, fin: bool = False) -> bytes:
    return control(SYN_REPLY, FLAG_FIN if fin else 0,
                   struct.pack(">I", stream_id & 0x7FFFFFFF) + codec.compress(headers or {}))


def stream_id_of(frame: ControlFrame) -> int:
    """The stream a RST_STREAM, HEADERS or WINDOW_UPDATE frame is about."""
    if len(frame.data) < 4:
        raise ProtocolError("short control frame")
    return struct.unpack_from(">I", frame.data)[0] & 0x7FFFFFFF
