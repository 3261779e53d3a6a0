"""The remote command protocol over WebSocket: how ``kubectl exec`` talks to a container.

Upstream's ``remotecommand`` / ``wsstream`` packages: a WebSocket whose subprotocol is
``v5.channel.k8s.io`` (kubectl 1.32) or ``v4.channel.k8s.io`` (older clients, the CRI
streaming servers). Every binary message is one channel byte then payload: 0 stdin,
1 stdout, 2 stderr, 3 error, 4 resize (JSON ``{"Width","Height"}``); v5 adds 255 =
close, whose payload names the channel half-closed (the client's stdin EOF). The
command's end is reported on channel 3 as a metav1.Status (Success, or Failure with
reason NonZeroExitCode and the code as the ExitCode cause), then the socket closes.

:func:`serve_exec` is the kubelet's side, bridging a WebSocket to an
:class:`~pyk8s.kubelet.runtime.ExecSession`: a new process (exec) or an attach to the
container's own one (attach, whose end is Success, or the runtime's failure as an
InternalError Status). v4 has no close message: its client's stdin ends with the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from .runtime import ExecSession, RuntimeError_

log = logging.getLogger(__name__)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)


def frame(channel: int, data: bytes = b"") -> bytes:
    return bytes((channel,)) + data


def parse_frame(message: bytes) -> tuple[int, bytes]:
    if not message:
        raise ValueError("empty remote command frame")
    return message[0], message[1:]


def exit_status(code: int, command: list[str]) -> dict:
    """The channel-3 Status for a finished command (v4/v5 wording of upstream)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing "
                       f"command {_go_list(command)}, exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def error_status(message: str) -> dict:
    """The channel-3 Status for a command that could not run."""
    return {"metadata": {}, "status": "Failure", "message": message,
            "reason": "InternalError", "code": 500}


def exit_code_of(status: bytes) -> int:
    """The exit code a channel-3 message reports (0 for Success); ValueError for a
    failure that is not an exit code."""
    body = json.loads(status) if status.strip() else {"status": "Success"}
    if body.get("status") == "Success":
        return 0
    if body.get("reason") == "NonZeroExitCode":
        for cause in (body.get("details") or {}).get("causes") or ():
            if cause.get("reason") == "ExitCode":
                return int(cause["message"])
    raise ValueError(body.get("message") or "command failed")


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


@dataclass(frozen=True)
class ExecOptions:
    """The query of ``/exec``: which streams the client wants."""

    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def exec_options(query, *, attach: bool = False) -> ExecOptions:
    """Parse and check the query as upstream's ``NewOptions`` (ValueError if bad); an
    attach names no command."""

    def flag(name: str) -> bool:
        return query.get(name, "") in ("1", "t", "T", "true", "TRUE", "True")

    command = query.getall("command", [])
    if not command and not attach:
        raise ValueError("you must specify a command")
    opts = ExecOptions(command, flag("input") or flag("stdin"), flag("output") or flag("stdout"),
                       flag("error") or flag("stderr"), flag("tty"))
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise ValueError("you must specify at least 1 of stdin, stdout, stderr")
    if opts.tty and opts.stderr:
        opts = ExecOptions(command, opts.stdin, opts.stdout, False, True)
    return opts


async def serve_exec(ws: web.WebSocketResponse, session: ExecSession,
                     opts: ExecOptions) -> int | None:
    """Bridge a prepared WebSocket and a started exec until the command ends (its exit
    code, also sent on channel 3) or the client goes away (None; the process is left to
    the runtime with its stdin closed)."""
    first = STDOUT if opts.stdout else STDERR if opts.stderr else ERROR
    await ws.send_bytes(frame(first))  # tells the client the streams are open
    if not opts.stdin:
        await session.close_stdin()
    pump = asyncio.create_task(_pump_output(ws, session, opts), name="exec output")
    reader = asyncio.create_task(_client_input(ws, session, opts), name="exec input")
    try:
        await asyncio.wait((pump, reader), return_when=asyncio.FIRST_COMPLETED)
        if not pump.done():
            return None  # the client closed the socket first
        return pump.result()
    except ConnectionError:
        return None
    finally:
        for task in (pump, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        await session.close()
        await ws.close()


async def _pump_output(ws: web.WebSocketResponse, session: ExecSession,
                       opts: ExecOptions) -> int:
    while (item := await session.read_output()) is not None:
        channel, data = item
        if (channel == STDOUT and opts.stdout) or (channel == STDERR and opts.stderr):
            await ws.send_bytes(frame(channel, data))
    try:
        code = await session.wait_exit()
    except RuntimeError_ as err:  # an attach the runtime ended with a failure
        await ws.send_bytes(frame(ERROR, json.dumps(error_status(str(err))).encode()))
        return None
    await ws.send_bytes(frame(ERROR, json.dumps(exit_status(code, opts.command)).encode()))
    return code


async def _client_input(ws: web.WebSocketResponse, session: ExecSession,
                        opts: ExecOptions) -> None:
    """stdin, resize and close messages from the client, until it closes."""
    async for msg in ws:
        if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT) or not msg.data:
            continue  # the Python client sends text messages for str input
        raw = msg.data if msg.type == WSMsgType.BINARY else msg.data.encode()
        channel, data = parse_frame(raw)
        if channel == STDIN and opts.stdin:
            await session.write_stdin(data)
        elif channel == CLOSE and data[:1] == bytes((STDIN,)):
            await session.close_stdin()
        elif channel == RESIZE and opts.tty:
            try:
                size = json.loads(data)
                await session.resize(int(size["Width"]), int(size["Height"]))
            except (ValueError, KeyError, TypeError):
                log.debug("ignoring bad resize message %r", data[:80])
    if opts.stdin:
        await session.close_stdin()
