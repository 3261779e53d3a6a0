"""A small asyncio (grpc.aio) client for etcd's v3 API, used only by the etcd store.

Why our own and not a PyPI client: the candidates measured here (see the README's design
notes) either pin protobuf 7 (conflicting with the CRI stubs), share message names that
clash in protobuf's global descriptor pool, edit ``sys.path``, or go quiet after a
compaction. The store needs six RPCs (Range, Put, DeleteRange, Txn, Compact, Watch) and
grpcio already is a dependency, so this module spells out etcd's method paths over the
messages in :mod:`pyk8s.store.etcdpb` and maps transport failures into the store's
error root in one place.

Endpoints: one channel per endpoint; calls go to the current one and a failed connection
moves on to the next. Reads are retried on the next endpoint; writes are not (a write
that timed out may have been applied, and only the caller can tell), they fail with
:class:`EtcdUnavailableError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from .etcdpb import etcd_pb2 as pb
from .interface import StoreError

log = logging.getLogger(__name__)

CALL_TIMEOUT = 30.0  # seconds for one unary call (etcd's own request timeout is 7 s)
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", -1),  # a list of every pod can be large
    ("grpc.max_send_message_length", 8 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]

_UNARY = {
    "Range": ("/etcdserverpb.KV/Range", pb.RangeRequest, pb.RangeResponse),
    "Put": ("/etcdserverpb.KV/Put", pb.PutRequest, pb.PutResponse),
    "DeleteRange": ("/etcdserverpb.KV/DeleteRange", pb.DeleteRangeRequest,
                    pb.DeleteRangeResponse),
    "Txn": ("/etcdserverpb.KV/Txn", pb.TxnRequest, pb.TxnResponse),
    "Compact": ("/etcdserverpb.KV/Compact", pb.CompactionRequest, pb.CompactionResponse),
    "LeaseGrant": ("/etcdserverpb.Lease/LeaseGrant", pb.LeaseGrantRequest,
                   pb.LeaseGrantResponse),
    "LeaseRevoke": ("/etcdserverpb.Lease/LeaseRevoke", pb.LeaseRevokeRequest,
                    pb.LeaseRevokeResponse),
}
_READS = {"Range"}
_WATCH = "/etcdserverpb.Watch/Watch"


class EtcdError(StoreError):
    """etcd refused a request; ``code`` is the gRPC status, ``message`` etcd's text."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"etcd: {message} ({code.name})")
        self.code = code
        self.message = message

    @property
    def compacted(self) -> bool:
        return "required revision has been compacted" in self.message

    @property
    def future(self) -> bool:
        return "required revision is a future revision" in self.message


class EtcdUnavailableError(EtcdError):
    """No endpoint answered (or the call timed out): the outcome of a write is unknown."""


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


class EtcdClient:
    """Channels to etcd endpoints (``host:port``) and the RPCs the store makes."""

    def __init__(self, endpoints: list[str], *, tls: bool = False, ca: str | None = None,
                 cert: str | None = None, key: str | None = None) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoints given")
        if bool(cert) != bool(key):
            raise ValueError("an etcd client certificate needs both a cert file and a key file")
        self.endpoints = endpoints
        self._credentials = (
            grpc.ssl_channel_credentials(_read(ca), _read(key), _read(cert))
            if tls or ca or cert else None)
        self._channels: list[grpc.aio.Channel | None] = [None] * len(endpoints)
        self._rpcs: dict[tuple[int, str], grpc.aio.UnaryUnaryMultiCallable] = {}
        self._current = 0

    def _channel(self, i: int) -> grpc.aio.Channel:
        channel = self._channels[i]
        if channel is None:
            target = self.endpoints[i]
            channel = (grpc.aio.secure_channel(target, self._credentials, _CHANNEL_OPTIONS)
                       if self._credentials else
                       grpc.aio.insecure_channel(target, _CHANNEL_OPTIONS))
            self._channels[i] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = self._channels, [None] * len(self.endpoints)
        self._rpcs.clear()
        for channel in channels:
            if channel is not None:
                await channel.close()

    async def call(self, method: str, request: Any, *, wait_for_ready: bool = False) -> Any:
        """One unary RPC; gRPC failures become :class:`EtcdError`."""
        attempts = len(self.endpoints) if method in _READS else 1
        for attempt in range(attempts):
            i = self._current
            rpc = self._rpcs.get((i, method)) or self._rpc(i, method)
            try:
                return await rpc(request, timeout=CALL_TIMEOUT, wait_for_ready=wait_for_ready)
            except grpc.aio.AioRpcError as exc:
                code, details = exc.code(), exc.details() or ""
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise EtcdError(code, details) from None
                self._failover(i, details)
                if attempt == attempts - 1:
                    raise EtcdUnavailableError(code, details) from None
        raise AssertionError("unreachable")

    def _rpc(self, i: int, method: str) -> grpc.aio.UnaryUnaryMultiCallable:
        path, req_type, resp_type = _UNARY[method]
        rpc = self._rpcs[(i, method)] = self._channel(i).unary_unary(
            path, request_serializer=req_type.SerializeToString,
            response_deserializer=resp_type.FromString)
        return rpc

    def _failover(self, failed: int, why: str) -> None:
        if len(self.endpoints) > 1 and self._current == failed:
            self._current = (failed + 1) % len(self.endpoints)
            log.warning("etcd endpoint %s failed (%s); using %s", self.endpoints[failed], why,
                        self.endpoints[self._current])

    def watch(self) -> grpc.aio.StreamStreamCall:
        """A new bidirectional Watch stream on the current endpoint."""
        i = self._current
        rpc = self._channel(i).stream_stream(
            _WATCH, request_serializer=pb.WatchRequest.SerializeToString,
            response_deserializer=pb.WatchResponse.FromString)
        return rpc(wait_for_ready=True)

    def watch_failed(self, exc: grpc.aio.AioRpcError) -> EtcdError:
        """Maps a broken watch stream, failing over when the endpoint went away."""
        code, details = exc.code(), exc.details() or ""
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            self._failover(self._current, details)
            return EtcdUnavailableError(code, details)
        return EtcdError(code, details)
