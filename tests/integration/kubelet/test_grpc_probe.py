"""The grpc probe against a real gRPC server on loopback that serves the standard
grpc.health.v1.Health/Check: SERVING passes, NOT_SERVING and an unknown service fail
with upstream's wording, as do a server without the health service and a closed port."""

from __future__ import annotations

import socket

import grpc
import pytest

from pyk8s.kubelet.grpcprobe import decode_status, encode_request
from pyk8s.kubelet.probes import run_probe

SERVING, NOT_SERVING = 1, 2
STATUSES = {"": SERVING, "ready": SERVING, "draining": NOT_SERVING}


async def _check(request: bytes, context) -> bytes:
    service = request[2:].decode() if request else ""
    if service not in STATUSES:
        await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    return b"\x08" + bytes([STATUSES[service]])


@pytest.fixture
async def health_port():
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(_check)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield port
    await server.stop(None)


@pytest.fixture
async def bare_port():
    """A gRPC server that does not implement the health service."""
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield port
    await server.stop(None)


def _probe(port: int, service: str | None = None) -> dict:
    grpc_spec = {"port": port} if service is None else {"port": port, "service": service}
    return {"grpc": grpc_spec, "timeoutSeconds": 2}


async def test_serving_service_passes(health_port):
    assert await run_probe(None, _probe(health_port), {}, "", "127.0.0.1") == (True, "")
    assert await run_probe(None, _probe(health_port, "ready"), {}, "", "127.0.0.1") == \
        (True, "")


async def test_not_serving_fails(health_port):
    ok, message = await run_probe(None, _probe(health_port, "draining"), {}, "", "127.0.0.1")
    assert not ok
    assert message == 'service unhealthy (responded with "NOT_SERVING")'


async def test_unknown_service_fails(health_port):
    ok, message = await run_probe(None, _probe(health_port, "nope"), {}, "", "127.0.0.1")
    assert not ok
    assert message.startswith("health rpc probe failed: rpc error: code = NOT_FOUND")


async def test_server_without_health_service_fails(bare_port):
    ok, message = await run_probe(None, _probe(bare_port), {}, "", "127.0.0.1")
    assert not ok
    assert message.startswith("this server does not implement the grpc health protocol")


async def test_unreachable_port_fails():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, message = await run_probe(None, _probe(port), {}, "", "127.0.0.1")
    assert not ok
    assert message.startswith(f'timeout: failed to connect service "127.0.0.1:{port}"')


def test_health_messages_round_trip():
    assert encode_request("") == b""
    assert encode_request("svc") == b"\x0a\x03svc"
    assert decode_status(b"") == 0
    assert decode_status(b"\x08\x02") == NOT_SERVING
    assert decode_status(b"\x12\x01x\x08\x01") == SERVING
