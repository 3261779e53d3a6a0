"""Streamed exec into a containerd container, through containerd's own ``ctr`` tool.

CRI's Exec answers with a URL on containerd's streaming server (SPDY/3.1, or WebSocket
only up to ``v4.channel.k8s.io``, which cannot half-close stdin). An exec starts a new
process, so the kubelet needs no streams the runtime holds: it runs
``ctr -n k8s.io tasks exec`` against the same containerd socket: same process, same
namespaces, same exit status, with plain pipes for stdin/stdout/stderr (stdin's EOF is a
closed pipe), or a pseudo-terminal when the client asked for a TTY (window size changes
are applied to the pty, which ctr forwards to the process; ctr's own diagnostics go to
the log, not into the terminal's output). Attach, which must reach the
container's own process, goes through the streaming server instead (``criattach.py``).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pty
import shutil
import struct
import termios
import uuid

from . import RuntimeError_

log = logging.getLogger(__name__)

READ_CHUNK = 32 * 1024


def ctr_binary() -> str:
    path = shutil.which("ctr")
    if path is None:
        raise RuntimeError_("streamed exec needs containerd's ctr tool on the PATH", "Unavailable")
    return path


class CtrExecSession:
    """One ``ctr tasks exec`` process, driven through the ExecSession protocol."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int | None, *,
                 stdin: bool) -> None:
        self.proc = proc
        self.master = master
        self.stdin = stdin
        self._output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._readers = []
        self._done = False
        if master is not None:
            self._readers.append(asyncio.create_task(self._pump_pty()))
            self._readers.append(asyncio.create_task(self._log_ctr_errors(proc.stderr)))
        else:
            self._readers.append(asyncio.create_task(self._pump(proc.stdout, 1)))
            self._readers.append(asyncio.create_task(self._pump(proc.stderr, 2)))
        self._finisher = asyncio.create_task(self._finish())

    async def _pump(self, stream: asyncio.StreamReader, channel: int) -> None:
        while chunk := await stream.read(READ_CHUNK):
            self._output.put_nowait((channel, chunk))

    async def _log_ctr_errors(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            log.debug("ctr tasks exec: %s", line.decode(errors="replace").rstrip())

    async def _pump_pty(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                chunk = await loop.run_in_executor(None, os.read, self.master, READ_CHUNK)
            except OSError:  # EIO once the process side of the pty is gone
                return
            if not chunk:
                return
            self._output.put_nowait((1, chunk))

    async def _finish(self) -> None:
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._output.put_nowait(None)

    async def write_stdin(self, data: bytes) -> None:
        if self.master is not None:
            await asyncio.get_running_loop().run_in_executor(None, os.write, self.master, data)
        elif self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self.master is not None:
            if self.stdin:  # end of input on a terminal (one nobody types on needs none)
                await self.write_stdin(b"\x04")
        elif self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    async def read_output(self) -> tuple[int, bytes] | None:
        if self._done:
            return None
        item = await self._output.get()
        self._done = item is None
        return item

    async def resize(self, width: int, height: int) -> None:
        if self.master is not None:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait_exit(self) -> int:
        code = await self.proc.wait()
        await self._finisher
        return code if code >= 0 else 128 - code

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.master is not None:
            os.close(self.master)
            self.master = None


async def start(address: str, container_id: str, cmd: list[str], *, stdin: bool,
                tty: bool) -> CtrExecSession:
    """Start ``cmd`` in the container; ``address`` is containerd's socket path."""
    argv = [ctr_binary(), "--address", address, "-n", "k8s.io", "tasks", "exec",
            "--exec-id", f"exec-{uuid.uuid4().hex[:12]}"]
    if tty:
        argv.append("--tty")
    argv += [container_id, *cmd]
    if tty:
        master, slave = pty.openpty()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=slave, stdout=slave, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        finally:
            os.close(slave)
        return CtrExecSession(proc, master, stdin=stdin)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return CtrExecSession(proc, None, stdin=stdin)
