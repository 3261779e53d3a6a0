"""SPDY/3.1 framing: frames split across WebSocket messages, header blocks, replies."""

from __future__ import annotations

import struct
import zlib

import pytest

from pyk8s.kubelet import spdy


def test_dictionary_is_the_spdy3_one():
    # zlib names a preset dictionary by its Adler-32; spdystream's compressor uses this one
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2


def test_frames_split_across_messages():
    raw = (spdy.control(spdy.PING, 0, struct.pack(">I", 7))
           + spdy.data_frame(3, b"hello", fin=True) + spdy.data_frame(5))
    reader = spdy.FrameReader()
    frames = [f for i in range(len(raw)) for f in reader.feed(raw[i:i + 1])]
    assert frames == [spdy.ControlFrame(spdy.PING, 0, struct.pack(">I", 7)),
                      spdy.DataFrame(3, spdy.FLAG_FIN, b"hello"), spdy.DataFrame(5, 0, b"")]
    assert frames[1].fin and not frames[2].fin


def test_syn_stream_headers_share_one_zlib_stream():
    client, server = spdy.HeaderCodec(), spdy.HeaderCodec()
    reader = spdy.FrameReader()
    for stream_id, kind in ((1, "error"), (3, "data")):
        block = client.compress({"streamType": [kind], "port": ["8080"], "requestID": ["0"]})
        frame = spdy.control(spdy.SYN_STREAM, 0,
                             struct.pack(">IIBB", stream_id, 0, 0, 0) + block)
        (parsed,) = reader.feed(frame)
        assert spdy.parse_syn_stream(parsed, server) == (
            stream_id, {"streamtype": [kind], "port": ["8080"], "requestid": ["0"]})


def test_syn_reply_and_rst_stream():
    server, client = spdy.HeaderCodec(), spdy.HeaderCodec()
    (reply,) = spdy.FrameReader().feed(spdy.syn_reply(3, server))
    assert reply.type == spdy.SYN_REPLY and spdy.stream_id_of(reply) == 3
    assert client.decompress(reply.data[4:]) == {}
    (rst,) = spdy.FrameReader().feed(spdy.rst_stream(5, spdy.REFUSED_STREAM))
    assert rst.type == spdy.RST_STREAM and struct.unpack(">II", rst.data) == (5, 3)


def test_bad_input():
    with pytest.raises(spdy.ProtocolError):
        spdy.FrameReader().feed(struct.pack(">HHI", 0x8002, spdy.PING, 0))
    with pytest.raises(spdy.ProtocolError):
        spdy.HeaderCodec().decompress(b"not zlib")
    with pytest.raises(spdy.ProtocolError):
        spdy.decode_headers(struct.pack(">II", 1, 50))
