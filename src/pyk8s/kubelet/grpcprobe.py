"""The ``grpc`` probe: one call of the standard ``grpc.health.v1.Health/Check``.

As upstream's gRPC prober: a plaintext channel to the pod's IP and port, a
``HealthCheckRequest`` naming ``grpc.service`` (empty for the server as a whole), and
success only when the answer's status is SERVING. The two messages have one field
each, so they are encoded here by hand rather than through generated stubs (which
would add grpcio-health-checking and its protobuf pin to the dependencies).
"""

from __future__ import annotations

import grpc

CHECK = "/grpc.health.v1.Health/Check"
STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
SERVING = 1


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_request(service: str) -> bytes:
    """``HealthCheckRequest{service}``: field 1, length-delimited (absent when empty)."""
    raw = service.encode()
    return b"\x0a" + _varint(len(raw)) + raw if raw else b""


def decode_status(message: bytes) -> int:
    """The ``status`` (field 1, varint) of a ``HealthCheckResponse``; 0 when absent."""
    status, i = 0, 0
    while i < len(message):
        key, i = _read_varint(message, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(message, i)
            if field == 1:
                status = value
        elif wire == 2:
            length, i = _read_varint(message, i)
            i += length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"malformed HealthCheckResponse (wire type {wire})")
    return status


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("malformed HealthCheckResponse (truncated varint)")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


async def grpc_health_check(host: str, port: int, service: str,
                            timeout: float) -> tuple[bool, str]:
    """One health check: (SERVING, why not) with upstream's failure wording."""
    target = f"{host}:{port}"
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            call = channel.unary_unary(CHECK)
            answer = await call(encode_request(service), timeout=timeout,
                                wait_for_ready=False)
        except grpc.aio.AioRpcError as err:
            code = err.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return False, ("this server does not implement the grpc health protocol "
                               f"(grpc.health.v1.Health): {err.details()}")
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return False, (f'timeout: failed to connect service "{target}" within '
                               f"{timeout:g}s: {err.details()}")
            return False, (f"health rpc probe failed: rpc error: code = {code.name} "
                           f"desc = {err.details()}")
    status = decode_status(answer)
    if status == SERVING:
        return True, ""
    return False, f'service unhealthy (responded with "{STATUS_NAMES.get(status, status)}")'
