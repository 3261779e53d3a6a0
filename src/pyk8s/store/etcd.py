"""``etcd://host:2379[,host:2379]``: the store on an etcd v3 cluster, as upstream keeps it.

Several API servers can share one etcd, so nothing here is authoritative in-process:
every read, write and watch is one etcd request, and the contract maps onto etcd's own
model almost one to one:

* **Revisions.** etcd's global revision is the store revision and a key's mod_revision
  its resourceVersion, so ``etcdctl get -w json`` and ``kubectl get -o yaml`` agree. A
  fresh etcd starts at revision 1 with nothing written; that is reported as 0 ("no write
  yet"), which is what the contract says for an empty store.
* **Writes are transactions guarded by the data.** create is ``txn(create_revision == 0
  -> put, else get)``, update and delete are ``txn(mod_revision == expected -> put/delete,
  else get)``: the failure branch returns the current value for the ConflictError in the
  same round trip.
* **Keys.** The API server names keys ``/registry/<resource>/...``; ``prefix`` (kube-
  apiserver's ``--etcd-prefix``) replaces that leading ``/registry``, and with the default
  the keys are stored exactly as named. Values are the bytes given (JSON).
* **Compaction.** etcd refuses reads *below* its compaction point C, while the contract
  makes C itself unreadable (a tombstone at C is gone after etcd compacts at C, so a watch
  from C could miss it). So reads at C are refused here, and a watch from S asks etcd for
  S-1: etcd then cancels it exactly when S <= C, with C in the answer. etcd reveals C
  only in errors and watch responses, so ``start()`` finds it by bisecting ranges
  (O(log revision) cheap reads).
* **Leases.** Keys under a prefix given in ``ttls`` (the API server passes
  ``/registry/events/`` with ``--event-ttl``) are written with an etcd lease, so etcd
  deletes them (and watchers see DELETED) once the lease runs out; every write renews by
  attaching a newer lease. As upstream's lease manager, one lease serves every such write
  in a window of min(60 s, 10% of the ttl) and at most 1,000 keys: it is granted for
  ttl + window, so each key lives between ttl and ttl + window after its last write,
  and etcd keeps one lease per window instead of one per Event.
* **Compaction is coordinated** through etcd (:class:`Compactor`, upstream's
  ``compact_rev_key`` protocol), so several API servers compact once per interval.
* **Watch.** One gRPC Watch stream per watch, with ``prev_kv`` so updates carry the old
  value and a DELETE the last one. A "canceled" response with ``compact_revision`` (the
  watch fell behind a compaction) ends the watch with CompactedError, as upstream turns
  it into 410 Gone; the caller relists.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import AsyncIterator

import grpc
import grpc.aio

from .etcdclient import EtcdClient, EtcdError, EtcdUnavailableError
from .etcdpb import etcd_pb2 as pb
from .interface import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    Store,
    StoreError,
)

log = logging.getLogger(__name__)

REGISTRY = "/registry"
_CMP = pb.Compare
LEASE_REUSE_SECONDS = 60  # upstream's lease reuse window: min(this, 10% of the ttl)
LEASE_REUSE_FRACTION = 0.1
LEASE_MAX_KEYS = 1000  # keys one lease may carry before a new one is granted
COMPACT_REV_KEY = b"compact_rev_key"  # kube-apiserver's key, outside --etcd-prefix
START_TIMEOUT = 60.0  # seconds start() waits for an unreachable etcd
_TLS_FAILURE = re.compile(r"(?i)ssl|tls|handshake|certificate")


def prefix_end(key: bytes) -> bytes:
    """The range_end that makes a range cover every key starting with ``key``."""
    end = bytearray(key)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"  # every key


class LeaseManager:
    """Grants etcd leases for keys that expire, reusing one lease per short window."""

    def __init__(self, client: EtcdClient, clock=time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._lock = asyncio.Lock()
        self._id = 0
        self._expires = 0.0  # when the current lease runs out, by self._clock
        self._attached = 0
        self.granted = 0  # leases granted so far (for tests and logs)

    async def lease(self, ttl: int) -> int:
        """A lease that keeps a key at least ``ttl`` seconds from now."""
        async with self._lock:
            now = self._clock()
            reuse = min(LEASE_REUSE_SECONDS, int(LEASE_REUSE_FRACTION * ttl))
            if (self._id and now + ttl < self._expires <= now + ttl + reuse
                    and self._attached < LEASE_MAX_KEYS):
                self._attached += 1
                return self._id
            resp = await self._client.call("LeaseGrant", pb.LeaseGrantRequest(TTL=ttl + reuse))
            if resp.error:
                raise StoreError(f"etcd refused a lease: {resp.error}")
            self._id, self._expires, self._attached = resp.ID, now + ttl + reuse, 1
            self.granted += 1
            return self._id

    def forget(self, lease: int) -> None:
        """Drops ``lease`` (etcd no longer knows it) so the next write gets a new one."""
        if self._id == lease:
            self._id = 0


class ReadCoalescer:
    """Shares reads of a key's latest value between concurrent callers, linearizably.

    Admission reads the same few keys (the namespace) live for every write, so under load
    many identical reads overlap. A caller arriving while a read of its key is in flight
    must not take that read's answer (it may predate a write that finished before the
    caller came), so it waits for it to end and then shares one *next* read with
    everyone else who arrived meanwhile: that read is issued after all of them called.
    At most one read per key is in flight, and one more queued.
    """

    def __init__(self, read) -> None:
        self._read = read
        self._inflight: dict[str, asyncio.Future] = {}  # done when the current read ends
        self._next: dict[str, asyncio.Future] = {}  # the queued read's answer
        self._tasks: set[asyncio.Task] = set()

    async def get(self, key: str):
        inflight = self._inflight.get(key)
        if inflight is None:
            return await self._run(key)
        queued = self._next.get(key)
        if queued is None:
            queued = self._next[key] = asyncio.get_running_loop().create_future()
            queued.add_done_callback(_retrieve)
            task = asyncio.create_task(self._after(key, inflight, queued))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(queued)

    async def _run(self, key: str):
        done = self._inflight[key] = asyncio.get_running_loop().create_future()
        try:
            return await self._read(key)
        finally:
            done.set_result(None)
            if self._inflight.get(key) is done:
                del self._inflight[key]

    async def _after(self, key: str, inflight: asyncio.Future, queued: asyncio.Future) -> None:
        await inflight
        del self._next[key]
        try:
            queued.set_result(await self._run(key))
        except asyncio.CancelledError:
            queued.cancel()
            raise
        except Exception as exc:  # handed to every waiting caller
            queued.set_exception(exc)


def _retrieve(future: asyncio.Future) -> None:
    """Marks a shared future's exception as seen (its callers may all be gone)."""
    if not future.cancelled():
        future.exception()


class EtcdStore(Store):
    """The store contract over an etcd cluster reached at ``endpoints`` (``host:port``)."""

    def __init__(self, endpoints: list[str], *, prefix: str = REGISTRY, tls: bool = False,
                 ca: str | None = None, cert: str | None = None,
                 key: str | None = None, ttls: dict[str, int] | None = None) -> None:
        self._client = EtcdClient(endpoints, tls=tls, ca=ca, cert=cert, key=key)
        self._prefix = prefix.rstrip("/") or "/"
        self._ttls = {p: int(t) for p, t in (ttls or {}).items() if t > 0}
        self.leases = LeaseManager(self._client)
        self._latest = ReadCoalescer(self._get)
        self._revision = 0  # the newest revision this process has seen
        self._compacted = 0
        self._closed = False
        self._watches: set[grpc.aio.StreamStreamCall] = set()

    # -- keys and values -------------------------------------------------------------

    def _ekey(self, key: str) -> bytes:
        if self._prefix == REGISTRY:
            return key.encode()
        if key == REGISTRY or key.startswith(REGISTRY + "/"):
            return (self._prefix + key[len(REGISTRY):]).encode()
        raise ValueError(f"key {key!r} is outside {REGISTRY}/ (etcd prefix {self._prefix})")

    def _key(self, ekey: bytes) -> str:
        key = ekey.decode()
        if self._prefix != REGISTRY and key.startswith(self._prefix):
            return REGISTRY + key[len(self._prefix):]
        return key

    def _kv(self, kv: pb.KeyValue) -> KeyValue:
        return KeyValue(self._key(kv.key), kv.value, kv.create_revision, kv.mod_revision)

    def _seen(self, header: pb.ResponseHeader) -> int:
        """Notes a response's revision; 1 (a fresh etcd, nothing written) counts as 0."""
        revision = header.revision if header.revision > 1 else 0
        self._revision = max(self._revision, revision)
        return revision

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        resp = await self._first_contact()
        self._seen(resp.header)
        self._compacted = await self._find_compaction(self._revision)
        log.info("etcd store on %s at revision %d (compacted at %d)",
                 ",".join(self._client.endpoints), self._revision, self._compacted)

    async def _first_contact(self) -> pb.RangeResponse:
        """The first read, retried while etcd starts up; a TLS failure (wrong CA, refused
        client certificate) or a cluster that stays unreachable raises with gRPC's reason,
        so the API server exits saying why instead of waiting silently."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return await self._client.call(
                    "Range", pb.RangeRequest(key=self._ekey(REGISTRY), count_only=True))
            except EtcdUnavailableError as exc:
                where = ",".join(self._client.endpoints)
                if _TLS_FAILURE.search(exc.message):
                    raise EtcdUnavailableError(
                        exc.code, f"TLS handshake with etcd at {where} failed (check "
                        f"--etcd-cafile, --etcd-certfile, --etcd-keyfile): {exc.message}"
                    ) from None
                if time.monotonic() > deadline:
                    raise EtcdUnavailableError(
                        exc.code, f"etcd at {where} unreachable: {exc.message}") from None
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for call in list(self._watches):
            call.cancel()
        await self._client.close()

    async def _find_compaction(self, current: int) -> int:
        """etcd's compaction point: the lowest revision it still reads (bisected)."""
        lo, hi = max(1, self._compacted), max(1, current)
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                await self._client.call("Range", pb.RangeRequest(
                    key=self._ekey(REGISTRY), revision=mid, count_only=True))
            except EtcdError as exc:
                if not exc.compacted:
                    raise
                lo = mid + 1
            else:
                hi = mid
        return lo if lo > 1 else 0

    # -- reads -----------------------------------------------------------------------

    async def current_revision(self) -> int:
        resp = await self._client.call(
            "Range", pb.RangeRequest(key=self._ekey(REGISTRY), count_only=True))
        return self._seen(resp.header)

    @property
    def compact_revision(self) -> int:
        return self._compacted

    async def _range(self, request: pb.RangeRequest) -> pb.RangeResponse:
        """A range at ``request.revision`` with etcd's refusals mapped to the contract's."""
        revision = request.revision
        if revision and revision <= self._compacted:
            raise CompactedError(revision, self._compacted)
        try:
            resp = await self._client.call("Range", request)
        except EtcdError as exc:
            if exc.future:
                raise FutureRevisionError(revision, await self.current_revision()) from None
            if exc.compacted:
                self._compacted = await self._find_compaction(await self.current_revision())
                raise CompactedError(revision, self._compacted) from None
            raise
        self._seen(resp.header)
        return resp

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        if revision:
            return await self._get(key, revision)
        return await self._latest.get(key)

    async def _get(self, key: str, revision: int = 0) -> KeyValue | None:
        resp = await self._range(pb.RangeRequest(key=self._ekey(key), revision=revision))
        return self._kv(resp.kvs[0]) if resp.kvs else None

    def _span(self, prefix: str) -> tuple[bytes, bytes]:
        if prefix:
            start = self._ekey(prefix)
            return start, prefix_end(start)
        start = self._ekey(REGISTRY) if self._prefix != REGISTRY else b""
        return start or b"\0", prefix_end(start)

    async def list(
        self, prefix: str, *, revision: int = 0, start_after: str = "", limit: int = 0
    ) -> ListResult:
        start, end = self._span(prefix)
        if start_after:
            start = max(start, self._ekey(start_after) + b"\0")
        resp = await self._range(pb.RangeRequest(
            key=start, range_end=end, revision=revision, limit=limit))
        items = [self._kv(kv) for kv in resp.kvs]
        at = revision or self._seen(resp.header)
        return ListResult(items, at, max(0, resp.count - len(items)))

    async def count(self, prefix: str) -> int:
        start, end = self._span(prefix)
        resp = await self._range(pb.RangeRequest(key=start, range_end=end, count_only=True))
        return resp.count

    # -- writes ----------------------------------------------------------------------

    async def _txn(self, compare: list[pb.Compare], success: pb.RequestOp,
                   ekey: bytes) -> pb.TxnResponse:
        failure = pb.RequestOp(request_range=pb.RangeRequest(key=ekey))
        resp = await self._client.call("Txn", pb.TxnRequest(
            compare=compare, success=[success], failure=[failure]))
        self._seen(resp.header)
        return resp

    @staticmethod
    def _current(resp: pb.TxnResponse) -> pb.KeyValue | None:
        kvs = resp.responses[0].response_range.kvs
        return kvs[0] if kvs else None

    def _ttl(self, key: str) -> int:
        for prefix, ttl in self._ttls.items():
            if key.startswith(prefix):
                return ttl
        return 0

    async def _put_txn(self, key: str, ekey: bytes, value: bytes,
                       compare: list[pb.Compare]) -> pb.TxnResponse:
        """A guarded put, with a lease when ``key`` expires (a new lease if etcd lost it)."""
        ttl = self._ttl(key)
        for attempt in (1, 2):
            lease = await self.leases.lease(ttl) if ttl else 0
            put = pb.RequestOp(request_put=pb.PutRequest(key=ekey, value=value, lease=lease))
            try:
                return await self._txn(compare, put, ekey)
            except EtcdError as exc:
                if not lease or "lease not found" not in exc.message or attempt == 2:
                    raise
                self.leases.forget(lease)
        raise AssertionError("unreachable")

    async def create(self, key: str, value: bytes) -> int:
        ekey = self._ekey(key)
        resp = await self._put_txn(
            key, ekey, value,
            [_CMP(key=ekey, target=_CMP.CREATE, result=_CMP.EQUAL, create_revision=0)])
        if not resp.succeeded:
            raise KeyExistsError(key)
        return resp.header.revision

    def _guards(self, ekey: bytes, expected_revision: int) -> list[pb.Compare]:
        guards = [_CMP(key=ekey, target=_CMP.CREATE, result=_CMP.GREATER, create_revision=0)]
        if expected_revision:
            guards.append(_CMP(key=ekey, target=_CMP.MOD, result=_CMP.EQUAL,
                               mod_revision=expected_revision))
        return guards

    def _refused(self, key: str, resp: pb.TxnResponse) -> StoreError:
        current = self._current(resp)
        if current is None:
            return KeyNotFoundError(key)
        return ConflictError(key, self._kv(current))

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        ekey = self._ekey(key)
        guards = self._guards(ekey, expected_revision)
        if not expected_revision:  # the contract's "equals 0" can only fail on a live key
            guards.append(_CMP(key=ekey, target=_CMP.MOD, result=_CMP.EQUAL, mod_revision=0))
        resp = await self._put_txn(key, ekey, value, guards)
        if not resp.succeeded:
            raise self._refused(key, resp)
        return resp.header.revision

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        ekey = self._ekey(key)
        resp = await self._txn(
            self._guards(ekey, expected_revision),
            pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=ekey, prev_kv=True)),
            ekey)
        if not resp.succeeded:
            raise self._refused(key, resp)
        deleted = resp.responses[0].response_delete_range.prev_kvs
        if not deleted:  # deleted by someone else between the compare and the delete
            raise KeyNotFoundError(key)
        return resp.header.revision, self._kv(deleted[0])

    async def compact(self, revision: int) -> None:
        revision = min(revision, await self.current_revision())
        if revision <= self._compacted:
            return
        try:
            await self._client.call("Compact", pb.CompactionRequest(revision=revision))
        except EtcdError as exc:
            if not exc.compacted:
                raise
            # another API server compacted further already
            self._compacted = await self._find_compaction(await self.current_revision())
            return
        self._compacted = revision

    # -- watch -----------------------------------------------------------------------

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        # "from now" is fixed at the call, not at the first iteration, as in the other
        # backends: a write the caller makes right after watch() is seen.
        return self._watch(prefix, start_revision or self._revision + 1)

    def _event(self, e: pb.Event) -> Event:
        prev = self._kv(e.prev_kv) if e.HasField("prev_kv") else None
        if e.type == pb.Event.DELETE:
            last = prev or KeyValue(self._key(e.kv.key), b"", 0, 0)
            return Event("DELETE", KeyValue(last.key, last.value, last.create_revision,
                                            e.kv.mod_revision), prev)
        return Event("PUT", self._kv(e.kv), prev)

    async def _watch(self, prefix: str, start: int) -> AsyncIterator[list[Event]]:
        if start <= self._compacted:
            raise CompactedError(start, self._compacted)
        key, end = self._span(prefix)
        # Ask for one revision earlier: etcd cancels that exactly when start is compacted.
        ask = start - 1 if start > 1 else start
        call = self._client.watch()
        self._watches.add(call)
        try:
            await call.write(pb.WatchRequest(create_request=pb.WatchCreateRequest(
                key=key, range_end=end, start_revision=ask, prev_kv=True)))
            while True:
                resp = await self._next(call)
                if resp is None:
                    return
                if resp.compact_revision:
                    self._compacted = max(self._compacted, resp.compact_revision)
                    raise CompactedError(start, resp.compact_revision)
                if resp.canceled:
                    raise StoreError(f"etcd canceled the watch: {resp.cancel_reason}")
                self._seen(resp.header)
                batch = [self._event(e) for e in resp.events if e.kv.mod_revision >= start]
                if batch:
                    start = batch[-1].kv.mod_revision + 1
                    yield batch
        finally:
            self._watches.discard(call)
            call.cancel()

    async def _next(self, call: grpc.aio.StreamStreamCall) -> pb.WatchResponse | None:
        """The next response, or None when the store closed (the stream is cancelled)."""
        try:
            resp = await call.read()
        except asyncio.CancelledError:
            if self._closed and not asyncio.current_task().cancelling():
                return None
            raise
        except grpc.aio.AioRpcError as exc:
            if self._closed:
                return None
            raise self._client.watch_failed(exc) from None
        if resp is grpc.aio.EOF:
            if self._closed:
                return None
            raise StoreError("etcd ended the watch stream")
        return resp


class Compactor:
    """kube-apiserver's compaction protocol, so that several API servers on one etcd
    compact once per interval between them, keeping one interval of history.

    ``compact_rev_key`` holds the revision last compacted to; its etcd *version* (how
    often it was written) is a logical clock. Each :meth:`tick` (one per interval) tries
    ``txn(version(compact_rev_key) == clock -> put(key, R), else get(key))`` where R is the
    revision this server saw at its previous tick. The one server whose txn wins advances
    the clock and compacts at R; the others learn the clock and revision from the answer
    and wait for the next interval. So whoever ticks first per interval compacts, at the
    revision the previous interval ended on, and the first tick only records.
    """

    def __init__(self, store: EtcdStore) -> None:
        self._store = store
        self._clock = 0  # compact_rev_key's version as last seen
        self._revision = 0  # etcd's revision at the previous tick

    async def tick(self) -> int:
        """One interval's turn; returns the revision compacted to, or 0 if none."""
        clock, revision = self._clock, self._revision
        resp = await self._store._client.call("Txn", pb.TxnRequest(
            compare=[_CMP(key=COMPACT_REV_KEY, target=_CMP.VERSION, result=_CMP.EQUAL,
                          version=clock)],
            success=[pb.RequestOp(request_put=pb.PutRequest(
                key=COMPACT_REV_KEY, value=str(revision).encode()))],
            failure=[pb.RequestOp(request_range=pb.RangeRequest(key=COMPACT_REV_KEY))]))
        self._revision = resp.header.revision
        if not resp.succeeded:
            kvs = resp.responses[0].response_range.kvs
            self._clock = kvs[0].version if kvs else 0
            return 0
        self._clock = clock + 1
        if revision <= 1:  # the first turn only records where this interval starts
            return 0
        await self._store.compact(revision)
        return revision
