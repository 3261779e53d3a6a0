"""Exec and attach through containerd's CRI streaming server, as upstream's kubelet.

``kubectl attach`` (and ``kubectl run -i``) talks to the process the container runs, not
to a new one: its stdin (when the pod spec says ``stdin: true``), its stdout and stderr
from now on, and its terminal (``tty: true``). Only the runtime holds those streams, so,
as upstream's kubelet does, the kubelet asks CRI's ``Attach`` for a URL on containerd's
streaming server and connects to it. ``kubectl exec`` goes the same way through CRI's
``Exec``: containerd starts the process in the container with its own pipes or terminal
and reports its exit code.

Decision: speak SPDY/3.1 to that server, as client-go's SPDY executor does, not its
WebSocket endpoint, nor ``ctr tasks attach``/``exec``. containerd 1.6's streaming server
also accepts WebSockets, but only up to ``v4.channel.k8s.io``, which cannot half-close
stdin: kubectl's end of input (v5's close message) could not reach the process, so
``kubectl exec -i .. -- cat`` would never end and a ``stdinOnce`` container
(``kubectl run -i``) would never see EOF. Over SPDY each stream is its own, and a FIN on
stdin is exactly that EOF (containerd then closes an attached container's stdin when the
pod said ``stdinOnce``). ``ctr tasks attach`` would open the task's FIFOs beside the CRI
plugin, which already drains them into the container log, and the two readers would
split the output; ``ctr tasks exec`` through a local pty added a second ``\r`` to every
line of a terminal's output.

The protocol (``v4.channel.k8s.io`` over SPDY, upstream's ``remotecommand`` v4): an
HTTP/1.1 ``POST`` upgraded to ``SPDY/3.1``, then one client-initiated stream per
channel, named by a ``streamType`` header: ``error``, and ``stdin``, ``stdout``,
``stderr`` and ``resize`` (JSON ``{"Width","Height"}`` messages) as asked. The server
writes the end as a metav1.Status on the error stream (Success; NonZeroExitCode with the
exit code for a command that failed; any other failure) and closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import urlsplit

from .. import spdy
from . import RuntimeError_

log = logging.getLogger(__name__)

PROTOCOL = "v4.channel.k8s.io"
CONNECT_TIMEOUT = 10.0
READ_CHUNK = 32 * 1024
STDOUT, STDERR = 1, 2


class StreamSession:
    """One SPDY connection to the streaming server (one exec or attach), driven through
    the ExecSession protocol."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 stdin: bool, stdout: bool, stderr: bool, tty: bool) -> None:
        self._reader = reader
        self._writer = writer
        self._codec = spdy.HeaderCodec()
        self._output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._error = bytearray()
        self._done = False
        self._stdin_closed = not stdin
        ids = iter(range(1, 1 << 31, 2))  # client-initiated streams are odd
        self._streams: dict[str, int] = {}
        for kind, wanted in (("error", True), ("stdin", stdin), ("stdout", stdout),
                             ("stderr", stderr and not tty), ("resize", tty)):
            if wanted:
                self._streams[kind] = next(ids)
                self._writer.write(spdy.syn_stream(self._streams[kind], self._codec,
                                                   {"streamtype": [kind]}))
        self._channels = {self._streams.get("stdout"): STDOUT,
                          self._streams.get("stderr"): STDERR}
        self._channels.pop(None, None)
        self._pump = asyncio.create_task(self._read_frames(), name="cri stream")

    async def _read_frames(self) -> None:
        frames = spdy.FrameReader()
        try:
            while chunk := await self._reader.read(READ_CHUNK):
                for frame in frames.feed(chunk):
                    if not self._handle(frame):
                        return
        except (ConnectionError, spdy.ProtocolError) as err:
            log.debug("streaming connection ended: %s", err)
        finally:
            self._output.put_nowait(None)

    def _handle(self, frame: spdy.ControlFrame | spdy.DataFrame) -> bool:
        """Take one frame in; False once the server is done with the connection."""
        if isinstance(frame, spdy.DataFrame):
            if frame.stream_id == self._streams["error"]:
                self._error += frame.data
            elif frame.data and frame.stream_id in self._channels:
                self._output.put_nowait((self._channels[frame.stream_id], frame.data))
            return True
        if frame.type in (spdy.SYN_REPLY, spdy.HEADERS) and len(frame.data) >= 4:
            self._codec.decompress(frame.data[4:])  # keeps the zlib stream in step
        elif frame.type == spdy.PING:
            self._writer.write(spdy.control(spdy.PING, 0, frame.data))
        elif frame.type == spdy.SYN_STREAM:
            stream_id, _headers = spdy.parse_syn_stream(frame, self._codec)
            self._writer.write(spdy.rst_stream(stream_id, spdy.REFUSED_STREAM))
        elif frame.type == spdy.GOAWAY:
            return False
        return True

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin_closed or self._writer.is_closing():
            return
        stream = self._streams["stdin"]
        for start in range(0, len(data), spdy.MAX_LENGTH):
            self._writer.write(spdy.data_frame(stream, data[start:start + spdy.MAX_LENGTH]))
        await self._writer.drain()

    async def close_stdin(self) -> None:
        if self._stdin_closed or self._writer.is_closing():
            return
        self._stdin_closed = True
        self._writer.write(spdy.data_frame(self._streams["stdin"], fin=True))
        await self._writer.drain()

    async def read_output(self) -> tuple[int, bytes] | None:
        if self._done:
            return None
        item = await self._output.get()
        self._done = item is None
        return item

    async def resize(self, width: int, height: int) -> None:
        if "resize" in self._streams and not self._writer.is_closing():
            size = json.dumps({"Width": width, "Height": height}).encode()
            self._writer.write(spdy.data_frame(self._streams["resize"], size))
            await self._writer.drain()

    async def wait_exit(self) -> int:
        """The exit code the server reported (0 for Success); RuntimeError_ for a
        failure that is not one."""
        await self._pump
        text = bytes(self._error).strip()
        status = json.loads(text) if text else {"status": "Success"}
        if status.get("status") == "Success":
            return 0
        if status.get("reason") == "NonZeroExitCode":
            for cause in (status.get("details") or {}).get("causes") or ():
                if cause.get("reason") == "ExitCode":
                    return int(cause["message"])
        raise RuntimeError_(status.get("message") or "the streaming server reported a failure")

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
        self._writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self._writer.wait_closed()


async def connect(url: str, *, stdin: bool, stdout: bool, stderr: bool,
                  tty: bool) -> StreamSession:
    """Open the URL CRI's Exec or Attach returned (``http://127.0.0.1:PORT/exec/TOKEN``)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise RuntimeError_(f"unsupported streaming URL {url!r}")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise RuntimeError_(f"cannot reach the streaming server at {url}: "
                            f"{err or 'timeout'}", "Unavailable") from None
    try:
        writer.write((f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                      f"X-Stream-Protocol-Version: {PROTOCOL}\r\nContent-Length: 0\r\n\r\n"
                      ).encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_TIMEOUT)
        status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if status_line.split()[1:2] != ["101"]:
            body = await asyncio.wait_for(reader.read(4096), CONNECT_TIMEOUT)
            raise RuntimeError_(f"the streaming server answered {status_line}: "
                                f"{body.decode(errors='replace').strip()}")
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
        writer.close()
        raise RuntimeError_(f"streaming upgrade failed: {err or 'timeout'}",
                            "Unavailable") from None
    except RuntimeError_:
        writer.close()
        raise
    return StreamSession(reader, writer, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty)
