"""The remote command channel protocol (frames, statuses, options) and the kubelet's
exec bridge over a real loopback WebSocket with the FakeRuntime's scripted sessions."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web
from multidict import MultiDict

from pyk8s.kubelet import remotecommand as rc
from pyk8s.kubelet.runtime import ExecResult, RuntimeError_
from pyk8s.kubelet.runtime.fake import FakeExecSession


def test_frames_round_trip():
    assert rc.frame(rc.STDOUT, b"hi") == b"\x01hi"
    assert rc.parse_frame(b"\xff\x00") == (rc.CLOSE, b"\x00")
    with pytest.raises(ValueError):
        rc.parse_frame(b"")


@pytest.mark.parametrize("code", [0, 1, 3, 137])
def test_exit_status_round_trip(code):
    status = rc.exit_status(code, ["sh", "-c", f"exit {code}"])
    assert rc.exit_code_of(json.dumps(status).encode()) == code
    if code:
        assert status["reason"] == "NonZeroExitCode"
        assert status["details"]["causes"] == [{"reason": "ExitCode", "message": str(code)}]


def test_error_status_is_not_an_exit_code():
    with pytest.raises(ValueError, match="boom"):
        rc.exit_code_of(json.dumps(rc.error_status("boom")).encode())


@pytest.mark.parametrize("query, expected", [
    ([("command", "ls"), ("command", "-l"), ("stdout", "true")],
     rc.ExecOptions(["ls", "-l"], False, True, False, False)),
    ([("command", "sh"), ("stdin", "1"), ("stdout", "1"), ("stderr", "1"), ("tty", "1")],
     rc.ExecOptions(["sh"], True, True, False, True)),  # a tty has no separate stderr
])
def test_exec_options(query, expected):
    assert rc.exec_options(MultiDict(query)) == expected


@pytest.mark.parametrize("query", [[("stdout", "1")], [("command", "ls")]])
def test_exec_options_rejects(query):
    with pytest.raises(ValueError):
        rc.exec_options(MultiDict(query))


async def _exec(session, query, protocol=rc.V5, send=(), wanted=None):
    """Serve one exec over a loopback WebSocket; the client's received frames (the
    client hangs up after ``wanted`` frames, if given)."""

    async def handler(request):
        ws = web.WebSocketResponse(protocols=rc.PROTOCOLS)
        await ws.prepare(request)
        await rc.serve_exec(ws, session, rc.exec_options(request.query))
        return ws

    app = web.Application()
    app.router.add_get("/exec", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    frames = []
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(
                f"http://127.0.0.1:{port}/exec", params=query, protocols=(protocol,)) as ws:
            assert ws.protocol == protocol
            for message in send:  # str: a text message, as the Python client sends
                await (ws.send_str(message) if isinstance(message, str)
                       else ws.send_bytes(message))
            async for msg in ws:
                frames.append(rc.parse_frame(msg.data))
                if len(frames) == wanted:
                    break
    finally:
        await runner.cleanup()
    return frames


async def test_serve_exec_output_and_exit_code():
    session = FakeExecSession(ExecResult(3, b"out\n", b"err\n"), tty=False)
    frames = await _exec(session, [("command", "x"), ("stdout", "1"), ("stderr", "1")])
    assert frames[:3] == [(rc.STDOUT, b""), (rc.STDOUT, b"out\n"), (rc.STDERR, b"err\n")]
    assert rc.exit_code_of(frames[3][1]) == 3 and frames[3][0] == rc.ERROR
    assert session.closed


async def test_serve_exec_drops_streams_not_asked_for():
    session = FakeExecSession(ExecResult(0, b"out\n", b"err\n"), tty=False)
    frames = await _exec(session, [("command", "x"), ("stderr", "1")])
    assert [f[0] for f in frames] == [rc.STDERR, rc.STDERR, rc.ERROR]


async def test_serve_exec_stdin_resize_and_close():
    session = FakeExecSession(None, tty=True)  # cat
    frames = await _exec(session, [("command", "cat"), ("stdin", "1"), ("stdout", "1"),
                                   ("tty", "1")],
                         send=(rc.frame(rc.RESIZE, b'{"Width":80,"Height":24}'),
                               rc.frame(rc.STDIN, b"abc"), rc.frame(rc.CLOSE, b"\x00")))
    assert frames[1] == (rc.STDOUT, b"abc")
    assert rc.exit_code_of(frames[-1][1]) == 0
    assert session.resizes == [(80, 24)] and session.stdin_closed


async def test_serve_exec_takes_text_stdin_on_v4():
    session = FakeExecSession(None, tty=False)  # cat
    frames = await _exec(session, [("command", "cat"), ("stdin", "1"), ("stdout", "1")],
                         protocol=rc.V4, send=("\x00typed\n",), wanted=2)
    assert frames[1] == (rc.STDOUT, b"typed\n")  # v4 has no close: the client hangs up
    assert session.closed


class FailedAttach(FakeExecSession):
    """An attach the runtime ended with a failure Status."""

    async def wait_exit(self) -> int:
        raise RuntimeError_("error attaching to container: container is in "
                            "CONTAINER_EXITED state")


async def test_serve_exec_reports_a_failed_attach():
    session = FailedAttach(ExecResult(0, b"", b""), tty=False)
    frames = await _exec(session, [("command", "x"), ("stdout", "1")])
    channel, status = frames[-1]
    assert channel == rc.ERROR
    assert json.loads(status) == rc.error_status(
        "error attaching to container: container is in CONTAINER_EXITED state")
