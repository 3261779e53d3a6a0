"""Port forwarding: TCP connections into a pod, carried over the kubelet's WebSocket.

Upstream's kubelet hands port forwarding to the CRI streaming server, which dials
``localhost:PORT`` inside the pod's network namespace. Here the runtime makes that same
dial (:meth:`~pyk8s.kubelet.runtime.Runtime.port_forward`) and the kubelet carries the
bytes itself, so servers bound to the pod's own loopback are reachable too; a
host-network pod's namespace is the node's.

Two wire protocols reach ``/portForward/{ns}/{pod}``:

- ``SPDY/3.1+portforward.k8s.io`` (kubectl 1.32): the WebSocket carries SPDY/3.1
  frames (:mod:`.spdy`). For each local connection kubectl opens two streams sharing a
  ``requestID`` header, ``streamType`` ``error`` then ``data``, with the ``port``; the
  kubelet replies to each SYN_STREAM, dials once both exist, copies bytes between the
  data stream and the socket and, on failure, writes the message to the error stream.
  Both streams end with a FIN (upstream's ``httpstream.go``).
- ``v4.channel.k8s.io`` with ``?ports=p1,p2`` (the Python client, upstream's
  ``websocket.go``): one connection per listed port, dialed when the socket opens;
  channel ``2i`` is port i's data, ``2i+1`` its errors, and the first message on each
  channel is the port as 2 little-endian bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from . import spdy

log = logging.getLogger(__name__)

SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (SPDY_TUNNEL, V4)
#: port -> a connection to it in the pod (ConnectionError when nothing answers).
Dial = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
CHUNK = 32 * 1024


def parse_ports(query) -> list[int]:
    """The ``ports`` of a v4 request (ValueError with upstream's wording when bad)."""
    raw = [p for value in query.getall("ports", []) for p in value.split(",") if p]
    if not raw:
        raise ValueError("query parameter \"port\" is required")
    ports = []
    for text in raw:
        try:
            port = int(text)
        except ValueError:
            raise ValueError(f"unable to parse \"{text}\" as a port") from None
        if not 0 < port < 65536:
            raise ValueError(f"port \"{text}\" must be > 0 and < 65536")
        ports.append(port)
    return ports


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ConnectionError):
        await writer.wait_closed()


# --- v4.channel.k8s.io ------------------------------------------------------------------


async def serve_channels(ws: web.WebSocketResponse, dial: Dial, ports: list[int]) -> None:
    """The v4 protocol on a prepared WebSocket, until the client or every socket ends."""
    lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with lock:
            await ws.send_bytes(bytes((channel,)) + data)

    writers: dict[int, asyncio.StreamWriter] = {}
    pumps = []
    for index, port in enumerate(ports):
        prefix = struct.pack("<H", port)
        await send(2 * index, prefix)
        await send(2 * index + 1, prefix)
        try:
            reader, writer = await dial(port)
        except ConnectionError as err:
            await send(2 * index + 1, str(err).encode())
            continue
        writers[2 * index] = writer
        pumps.append(asyncio.create_task(_socket_to_channel(reader, send, 2 * index)))
    inbound = asyncio.create_task(_channels_to_sockets(ws, writers))
    try:
        if pumps:
            await asyncio.wait([inbound, asyncio.gather(*pumps)],
                               return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (inbound, *pumps):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        for writer in writers.values():
            await _close_writer(writer)
        await ws.close()


async def _socket_to_channel(reader: asyncio.StreamReader, send, channel: int) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(CHUNK):
            await send(channel, data)


async def _channels_to_sockets(ws: web.WebSocketResponse,
                               writers: dict[int, asyncio.StreamWriter]) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or len(msg.data) < 1:
            continue
        writer = writers.get(msg.data[0])
        if writer is not None and not writer.is_closing():
            writer.write(msg.data[1:])
            with contextlib.suppress(OSError, ConnectionError):
                await writer.drain()


# --- SPDY/3.1 over WebSocket -------------------------------------------------------------


@dataclass
class _Pair:
    """The error and data streams of one forwarded connection (one ``requestID``)."""

    port: int
    error_id: int = 0
    data_id: int = 0
    writer: asyncio.StreamWriter | None = None
    pending: list[bytes] = field(default_factory=list)  # data before the dial completes
    client_done: bool = False
    task: asyncio.Task | None = None


class SpdySession:
    """kubectl's SPDY streams on one WebSocket, each pair forwarded to the pod."""

    def __init__(self, ws: web.WebSocketResponse, dial: Dial) -> None:
        self.ws = ws
        self.dial = dial
        self.codec = spdy.HeaderCodec()
        self._lock = asyncio.Lock()
        self._pairs: dict[str, _Pair] = {}
        self._by_stream: dict[int, _Pair] = {}
        self._tasks: set[asyncio.Task] = set()

    async def send(self, frame: bytes) -> None:
        async with self._lock:
            await self.ws.send_bytes(frame)

    async def serve(self) -> None:
        reader = spdy.FrameReader()
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    continue
                for frame in reader.feed(msg.data):
                    if isinstance(frame, spdy.DataFrame):
                        await self._on_data(frame)
                    elif not await self._on_control(frame):
                        return
        except spdy.ProtocolError as err:
            log.debug("port-forward: %s", err)
            with contextlib.suppress(ConnectionError):
                await self.send(spdy.goaway(0, spdy.PROTOCOL_ERROR))
        finally:
            for task in list(self._tasks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
            await self.ws.close()

    async def _on_control(self, frame: spdy.ControlFrame) -> bool:
        """Handle one control frame; False when the client said GOAWAY."""
        if frame.type == spdy.SYN_STREAM:
            stream_id, headers = spdy.parse_syn_stream(frame, self.codec)
            await self._on_syn_stream(stream_id, headers)
        elif frame.type == spdy.PING:
            await self.send(spdy.control(spdy.PING, 0, frame.data))
        elif frame.type == spdy.RST_STREAM:
            pair = self._by_stream.get(spdy.stream_id_of(frame))
            if pair is not None:
                self._finish(pair)
        elif frame.type == spdy.GOAWAY:
            return False
        elif frame.type == spdy.HEADERS:
            self.codec.decompress(frame.data[4:])  # keeps the zlib stream in step
        return True  # SETTINGS, WINDOW_UPDATE: nothing to do

    async def _on_syn_stream(self, stream_id: int, headers: dict[str, list[str]]) -> None:
        def header(name: str) -> str:
            return (headers.get(name) or [""])[0]

        kind, request_id = header("streamtype"), header("requestid")
        try:
            port = int(header("port"))
        except ValueError:
            port = 0
        if kind not in ("error", "data") or not 0 < port < 65536:
            await self.send(spdy.rst_stream(stream_id, spdy.REFUSED_STREAM))
            return
        await self.send(spdy.syn_reply(stream_id, self.codec))
        pair = self._pairs.setdefault(request_id or str(stream_id), _Pair(port))
        if kind == "error":
            pair.error_id = stream_id
        else:
            pair.data_id = stream_id
        self._by_stream[stream_id] = pair
        if pair.error_id and pair.data_id and pair.task is None:
            pair.task = asyncio.create_task(self._forward(pair), name="port-forward")
            self._tasks.add(pair.task)
            pair.task.add_done_callback(self._tasks.discard)

    async def _on_data(self, frame: spdy.DataFrame) -> None:
        pair = self._by_stream.get(frame.stream_id)
        if pair is None or frame.stream_id != pair.data_id:
            return  # the error stream carries nothing from the client
        if pair.writer is None:
            pair.pending.append(frame.data)
        elif frame.data and not pair.writer.is_closing():
            pair.writer.write(frame.data)
            with contextlib.suppress(OSError, ConnectionError):
                await pair.writer.drain()
        if frame.fin:
            pair.client_done = True
            if pair.writer is not None and pair.writer.can_write_eof():
                with contextlib.suppress(OSError):
                    pair.writer.write_eof()

    async def _forward(self, pair: _Pair) -> None:
        try:
            reader, pair.writer = await self.dial(pair.port)
        except ConnectionError as err:
            message = f"error forwarding port {pair.port} to pod: {err}"
            await self.send(spdy.data_frame(pair.error_id, message.encode()))
            await self._close_streams(pair)
            return
        for chunk in pair.pending:
            pair.writer.write(chunk)
        pair.pending.clear()
        if pair.client_done and pair.writer.can_write_eof():
            pair.writer.write_eof()
        try:
            while data := await reader.read(CHUNK):
                await self.send(spdy.data_frame(pair.data_id, data))
        except OSError as err:
            log.debug("port-forward to port %d: %s", pair.port, err)
        finally:
            await _close_writer(pair.writer)
        await self._close_streams(pair)

    async def _close_streams(self, pair: _Pair) -> None:
        with contextlib.suppress(ConnectionError):
            await self.send(spdy.data_frame(pair.data_id, fin=True))
            await self.send(spdy.data_frame(pair.error_id, fin=True))
        self._finish(pair)

    def _finish(self, pair: _Pair) -> None:
        for stream_id in (pair.error_id, pair.data_id):
            self._by_stream.pop(stream_id, None)
        for key, value in list(self._pairs.items()):
            if value is pair:
                del self._pairs[key]
        if pair.writer is not None:
            pair.writer.close()
