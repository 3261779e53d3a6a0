"""The CRI exec/attach client against a loopback stand-in for containerd's streaming server.

The stand-in speaks the server side of remotecommand v4 over SPDY/3.1 with the same
framing helpers: it checks the upgrade, replies to each stream, echoes stdin to stdout
(and a note to stderr) and, at stdin's FIN, writes the Status the test chose on the
error stream and hangs up, as the streaming server does when an attach ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from pyk8s.kubelet import spdy
from pyk8s.kubelet.runtime import RuntimeError_, cristream


class StreamingServer:
    def __init__(self, *, status: dict | None = None, refuse: bool = False) -> None:
        self.status = status or {"metadata": {}, "status": "Success"}
        self.refuse = refuse
        self.request = b""
        self.streams: dict[str, int] = {}
        self.resizes: list[dict] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.request = await reader.readuntil(b"\r\n\r\n")
        if self.refuse:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
            await writer.drain()
            writer.close()
            return
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     b"Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
        codec, frames = spdy.HeaderCodec(), spdy.FrameReader()
        kinds: dict[int, str] = {}
        while chunk := await reader.read(4096):
            for frame in frames.feed(chunk):
                if isinstance(frame, spdy.ControlFrame):
                    assert frame.type == spdy.SYN_STREAM
                    stream_id, headers = spdy.parse_syn_stream(frame, codec)
                    kinds[stream_id] = headers["streamtype"][0]
                    self.streams[kinds[stream_id]] = stream_id
                    writer.write(spdy.syn_reply(stream_id, codec))
                elif kinds[frame.stream_id] == "resize":
                    self.resizes.append(json.loads(frame.data))
                elif kinds[frame.stream_id] == "stdin" and frame.data:
                    writer.write(spdy.data_frame(self.streams["stdout"], b"out:" + frame.data))
                    if "stderr" in self.streams:
                        writer.write(spdy.data_frame(self.streams["stderr"], b"noted\n"))
                if isinstance(frame, spdy.DataFrame) and frame.fin:
                    writer.write(spdy.data_frame(self.streams["error"],
                                                 json.dumps(self.status).encode(), fin=True))
                    await writer.drain()
                    writer.close()
                    return


@contextlib.asynccontextmanager
async def serving(server: StreamingServer):
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/attach/token123"
    finally:
        listener.close()
        await listener.wait_closed()


async def output_until_end(session) -> list[tuple[int, bytes]]:
    items = []
    while (item := await asyncio.wait_for(session.read_output(), 10)) is not None:
        items.append(item)
    return items


async def test_stdin_output_and_half_close():
    server = StreamingServer()
    async with serving(server) as url:
        session = await cristream.connect(url, stdin=True, stdout=True, stderr=True, tty=False)
        try:
            await session.write_stdin(b"hello\n")
            assert await asyncio.wait_for(session.read_output(), 10) == (1, b"out:hello\n")
            assert await asyncio.wait_for(session.read_output(), 10) == (2, b"noted\n")
            await session.close_stdin()  # the FIN that ends the stand-in's attach
            assert await output_until_end(session) == []
            assert await session.wait_exit() == 0
        finally:
            await session.close()
    assert server.request.startswith(b"POST /attach/token123 HTTP/1.1\r\n")
    assert b"Upgrade: SPDY/3.1\r\n" in server.request
    assert b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n" in server.request
    assert server.streams == {"error": 1, "stdin": 3, "stdout": 5, "stderr": 7}


async def test_tty_has_resize_and_no_stderr():
    server = StreamingServer()
    async with serving(server) as url:
        session = await cristream.connect(url, stdin=True, stdout=True, stderr=True, tty=True)
        try:
            await session.resize(120, 40)
            await session.write_stdin(b"x")
            assert await asyncio.wait_for(session.read_output(), 10) == (1, b"out:x")
            await session.close_stdin()
            assert await output_until_end(session) == []
        finally:
            await session.close()
    assert set(server.streams) == {"error", "stdin", "stdout", "resize"}
    assert server.resizes == [{"Width": 120, "Height": 40}]


async def test_failure_status_is_raised():
    status = {"metadata": {}, "status": "Failure", "reason": "InternalError",
              "message": "error attaching to container: container is in CONTAINER_EXITED state"}
    async with serving(StreamingServer(status=status)) as url:
        session = await cristream.connect(url, stdin=True, stdout=True, stderr=False,
                                          tty=False)
        try:
            await session.close_stdin()
            assert await output_until_end(session) == []
            with pytest.raises(RuntimeError_, match="CONTAINER_EXITED state"):
                await session.wait_exit()
        finally:
            await session.close()


async def test_refused_upgrade():
    async with serving(StreamingServer(refuse=True)) as url:
        with pytest.raises(RuntimeError_, match="404 Not Found: not found"):
            await cristream.connect(url, stdin=False, stdout=True, stderr=True, tty=False)


async def test_only_http_urls():
    with pytest.raises(RuntimeError_, match="unsupported streaming URL"):
        await cristream.connect("unix:///run/x.sock", stdin=False, stdout=True, stderr=False,
                                tty=False)


async def test_exec_exit_code_from_its_status():
    status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
              "message": "command terminated with non-zero exit code: error executing "
                         "command [sh -c exit 3], exit code 3",
              "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    async with serving(StreamingServer(status=status)) as url:
        session = await cristream.connect(url, stdin=True, stdout=True, stderr=True,
                                          tty=False)
        try:
            await session.close_stdin()
            assert await output_until_end(session) == []
            assert await session.wait_exit() == 3
        finally:
            await session.close()
