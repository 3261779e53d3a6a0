"""``sqlite:///path``: a durable single-file store, laid out like k3s's kine.

Why it is shaped so:

* **A log, not a table of keys.** Every write appends one row to ``kv``; the row's
  ``INTEGER PRIMARY KEY AUTOINCREMENT`` id *is* the revision, so the global revision,
  history reads (``get``/``list`` at a past revision: the highest id per name at or
  below it) and watch catch-up (``id >= start``) all fall out of one table.
  AUTOINCREMENT never reuses an id, even after compaction deleted the newest rows, so
  revisions stay monotonic across restarts; ``sqlite_sequence`` is the current one.
  A tombstone row keeps the deleted value (the DELETE event reports it) and an update
  row keeps ``old_value`` so history events carry ``prev`` like live ones.
* **Compare-and-swap guarded by the data.** The single writer checks the key's latest
  row inside the write transaction, and a UNIQUE index on ``(name, prev_revision)``
  (as in kine) makes a second successor of the same row impossible anyway.
* **Group commit.** Durability is ``synchronous=FULL`` in WAL mode: an acknowledged
  write survives SIGKILL and power loss. One fsync per write would cap us near 4.6k
  writes/s, so one dedicated writer thread drains every queued request into ONE
  transaction, commits once, then resolves the callers' futures and publishes the
  committed events to the :class:`WatchHub` on the event loop (in commit order).
* **Reads never block the loop or the writer.** They run on a few pool threads, each
  with its own connection; WAL gives them a snapshot, and every read checks the
  compaction mark and current revision inside that same snapshot.
* **Compaction in batches.** The compact revision is recorded first (in ``meta``, so it
  survives restarts), then superseded rows and tombstones are deleted chunk by chunk
  as ordinary queued writes, so client writes interleave with a large compaction.
  ``compact_done`` records progress; an interrupted compaction is finished by the next.

This process must be the only writer of the file: watches are fed in-process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable

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
from .watchers import WatchHub

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL,
    old_value BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_name_prev ON kv (name, prev_revision);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_COLS = "id, name, created, deleted, create_revision, prev_revision, value, old_value"
_STATE = (
    "SELECT (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'kv'),"
    " (SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'compact_rev')"
)
_LATEST = f"SELECT {_COLS} FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1"
_AT = f"SELECT {_COLS} FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1"
_INSERT = (
    "INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_MAX_BATCH = 1024  # requests per group-commit transaction
_COMPACT_CHUNK = 1000  # revisions whose superseded rows one compaction transaction deletes
_READERS = 4
_INLINE_LIST_ROWS = 32  # unlimited lists up to this many rows are read inline


def _kv(row: tuple) -> KeyValue:
    """The KeyValue a live row describes (created rows store create_revision 0)."""
    rid, name, created, _deleted, crev, _prev, value, _old = row
    return KeyValue(name, value, rid if created else crev, rid)


def _event(row: tuple) -> Event:
    rid, name, created, deleted, crev, prev_rev, value, old = row
    crev = rid if created else crev
    if deleted:
        return Event("DELETE", KeyValue(name, value, crev, rid), KeyValue(name, value, crev, prev_rev))
    prev = None if created else KeyValue(name, old, crev, prev_rev)
    return Event("PUT", KeyValue(name, value, crev, rid), prev)


def _prefix_range(prefix: str, start_after: str = "") -> tuple[str, list[Any]]:
    """SQL condition and parameters selecting names under ``prefix`` after ``start_after``."""
    if start_after and start_after >= prefix:
        cond, params = "name > ?", [start_after]
    else:
        cond, params = "name >= ?", [prefix]
    end = prefix
    while end and ord(end[-1]) == 0x10FFFF:
        end = end[:-1]
    if end:
        cond += " AND name < ?"
        params.append(end[:-1] + chr(ord(end[-1]) + 1))
    return cond, params


class _Request:
    __slots__ = ("op", "args", "future", "result", "error", "events")

    def __init__(self, op: str, args: tuple, future: asyncio.Future) -> None:
        self.op = op
        self.args = args
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None
        self.events: list[Event] = []


class SQLiteStore(Store):
    """The kine-style log in one SQLite file, written by one group-committing thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._revision = 0
        self._compacted = 0
        self._compact_done = 0
        self._hub = WatchHub()
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: threading.Thread | None = None
        self._wconn: sqlite3.Connection | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._rconns: list[sqlite3.Connection] = []
        self._rlock = threading.Lock()
        self._iconn: sqlite3.Connection | None = None
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    def _open(self) -> None:
        conn = self._connect()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            log.warning("sqlite store %s: journal_mode is %s, not wal", self.path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(_SCHEMA)
        self._revision, self._compacted = conn.execute(_STATE).fetchone()
        row = conn.execute("SELECT value FROM meta WHERE key = 'compact_done'").fetchone()
        self._compact_done = row[0] if row else 0
        self._wconn = conn

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._open)
        self._pool = ThreadPoolExecutor(_READERS, thread_name_prefix="sqlite-read")
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()
        log.info("sqlite store %s opened at revision %d", self.path, self._revision)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.put(None)  # the writer finishes everything queued before this
            await asyncio.to_thread(self._writer.join)
        await asyncio.sleep(0)  # let the last deliveries run
        self._hub.close()
        if self._pool is not None:
            await asyncio.to_thread(self._pool.shutdown, True)
        for conn in self._rconns:
            conn.close()
        if self._wconn is not None:
            self._wconn.close()

    # -- the writer thread -------------------------------------------------------

    async def _submit(self, op: str, *args: Any) -> Any:
        if self._closed or self._loop is None:
            raise StoreError("store is closed" if self._closed else "store is not started")
        future = self._loop.create_future()
        self._queue.put(_Request(op, args, future))
        return await future

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    req = self._queue.get_nowait()
                except queue.Empty:
                    break
                if req is None:
                    stop = True
                    break
                batch.append(req)
            try:
                self._commit(batch)
            except Exception as err:  # noqa: BLE001 - never let the writer thread die
                log.exception("sqlite writer failed")
                for req in batch:
                    req.error, req.events = err, []
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._deliver, batch)
            except RuntimeError:  # the loop is gone (closed without close()): keep draining
                log.warning("event loop closed; %d committed writes not acknowledged", len(batch))

    def _commit(self, batch: list[_Request]) -> None:
        """Run ``batch`` in one transaction; an unexpected error isolates each request."""
        conn = self._wconn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for req in batch:
                req.events = []
                try:
                    req.result = getattr(self, "_op_" + req.op)(conn, req, *req.args)
                    req.error = None
                except StoreError as err:
                    req.error = err
            conn.execute("COMMIT")
        except Exception as err:  # noqa: BLE001 - a failed batch fails its callers, not us
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if len(batch) > 1:
                log.warning("group commit of %d writes failed (%s); retrying one by one",
                            len(batch), err)
                for req in batch:
                    self._commit([req])
                return
            log.error("sqlite write %s failed: %s", batch[0].op, err)
            batch[0].error, batch[0].events = err, []

    def _deliver(self, batch: list[_Request]) -> None:
        """On the event loop: resolve the committed requests, then fan their events out."""
        events: list[Event] = []
        for req in batch:
            if req.error is None:
                events.extend(req.events)
        if events:
            self._revision = max(self._revision, events[-1].kv.mod_revision)
        self._hub.publish(events)
        for req in batch:
            if req.future.done():
                continue
            if req.error is not None:
                req.future.set_exception(req.error)
            else:
                req.future.set_result(req.result)

    @staticmethod
    def _latest(conn: sqlite3.Connection, key: str) -> tuple[KeyValue | None, int]:
        """The live value of ``key`` (or None) and the id of its newest row (or 0)."""
        row = conn.execute(_LATEST, (key,)).fetchone()
        if row is None:
            return None, 0
        return (None if row[3] else _kv(row)), row[0]

    def _insert(self, conn: sqlite3.Connection, key: str, params: tuple) -> int:
        try:
            return conn.execute(_INSERT, params).lastrowid  # type: ignore[return-value]
        except sqlite3.IntegrityError:  # another successor of the same row: lost a race
            raise ConflictError(key, self._latest(conn, key)[0]) from None

    def _op_create(self, conn: sqlite3.Connection, req: _Request, key: str, value: bytes) -> int:
        current, last = self._latest(conn, key)
        if current is not None:
            raise KeyExistsError(key)
        rev = self._insert(conn, key, (key, 1, 0, 0, last, value, None))
        req.events.append(Event("PUT", KeyValue(key, value, rev, rev)))
        return rev

    def _op_update(
        self, conn: sqlite3.Connection, req: _Request, key: str, value: bytes, expected: int
    ) -> int:
        current, _ = self._latest(conn, key)
        if current is None:
            raise KeyNotFoundError(key)
        if current.mod_revision != expected:
            raise ConflictError(key, current)
        params = (key, 0, 0, current.create_revision, current.mod_revision, value, current.value)
        rev = self._insert(conn, key, params)
        req.events.append(Event("PUT", KeyValue(key, value, current.create_revision, rev), current))
        return rev

    def _op_delete(
        self, conn: sqlite3.Connection, req: _Request, key: str, expected: int
    ) -> tuple[int, KeyValue]:
        current, _ = self._latest(conn, key)
        if current is None:
            raise KeyNotFoundError(key)
        if expected and current.mod_revision != expected:
            raise ConflictError(key, current)
        params = (key, 0, 1, current.create_revision, current.mod_revision, current.value, None)
        rev = self._insert(conn, key, params)
        tomb = KeyValue(key, current.value, current.create_revision, rev)
        req.events.append(Event("DELETE", tomb, current))
        return rev, current

    def _op_compact_mark(self, conn: sqlite3.Connection, req: _Request, revision: int) -> int:
        current, compacted = conn.execute(_STATE).fetchone()
        revision = min(revision, current)
        if revision <= compacted:
            return compacted
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('compact_rev', ?)",
                     (revision,))
        return revision

    def _op_compact_chunk(self, conn: sqlite3.Connection, req: _Request, lo: int, hi: int) -> int:
        """Delete rows superseded by a row in (lo, hi], and tombstones in (lo, hi]."""
        n = conn.execute(
            "DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv"
            " WHERE id > ? AND id <= ? AND prev_revision != 0)", (lo, hi)).rowcount
        n += conn.execute("DELETE FROM kv WHERE id > ? AND id <= ? AND deleted = 1",
                          (lo, hi)).rowcount
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('compact_done', ?)", (hi,))
        return n

    # -- reads -------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._rlock:
                self._rconns.append(conn)
        return conn

    @staticmethod
    def _snapshot(conn: sqlite3.Connection, fn: Callable[..., Any], revision: int,
                  args: tuple) -> Any:
        conn.execute("BEGIN")
        try:
            current, compacted = conn.execute(_STATE).fetchone()
            if revision > current:
                raise FutureRevisionError(revision, current)
            if revision and revision <= compacted:
                raise CompactedError(revision, compacted)
            return fn(conn, revision or current, *args)
        finally:
            conn.execute("COMMIT")

    def _inline_reader(self) -> sqlite3.Connection:
        conn = self._iconn
        if conn is None:
            conn = self._iconn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            # Never wait on the event loop: a busy database sends the read to the pool.
            conn.execute("PRAGMA busy_timeout = 0")
            with self._rlock:
                self._rconns.append(conn)
        return conn

    async def _read(self, fn: Callable[..., Any], revision: int, *args: Any,
                    inline: bool = False) -> Any:
        """Run ``fn(conn, at, *args)`` in one snapshot where revision ``at`` is readable.

        ``inline`` reads (single rows: a few microseconds in WAL mode, where readers do
        not wait for the writer) run on the event loop's own connection, which costs far
        less than a hop through the reader pool; should SQLite ever answer busy there
        (a checkpoint or recovery holding a lock) the read goes to the pool instead.
        """
        if self._closed or self._pool is None:
            raise StoreError("store is closed" if self._closed else "store is not started")
        if inline:
            try:
                return self._snapshot(self._inline_reader(), fn, revision, args)
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise

        def run() -> Any:
            return self._snapshot(self._reader(), fn, revision, args)

        assert self._loop is not None
        return await self._loop.run_in_executor(self._pool, run)

    async def current_revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compacted

    async def create(self, key: str, value: bytes) -> int:
        return await self._submit("create", key, bytes(value))

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        return await self._submit("update", key, bytes(value), expected_revision)

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        return await self._submit("delete", key, expected_revision)

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        if not revision and not self._closed and self._pool is not None:
            # The latest row of one key: a single statement is its own snapshot.
            try:
                row = self._inline_reader().execute(_LATEST, (key,)).fetchone()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
            else:
                return None if row is None or row[3] else _kv(row)

        def run(conn: sqlite3.Connection, at: int) -> KeyValue | None:
            row = conn.execute(_AT, (key, at)).fetchone()
            return None if row is None or row[3] else _kv(row)

        return await self._read(run, revision, inline=True)

    async def list(
        self, prefix: str, *, revision: int = 0, start_after: str = "", limit: int = 0
    ) -> ListResult:
        cond, params = _prefix_range(prefix, start_after)
        # SQLite takes bare columns (also in HAVING) from the row holding MAX(id): the
        # key's row at `at`; the (name, id) index yields groups in name order, so LIMIT
        # stops the scan early.
        sql = (f"SELECT {_COLS.replace('id,', 'MAX(id) AS id,', 1)} FROM kv"
               f" WHERE {cond} AND id <= ? GROUP BY name HAVING deleted = 0 ORDER BY name")

        def run(conn: sqlite3.Connection, at: int) -> ListResult:
            if limit <= 0:
                rows = conn.execute(sql, (*params, at)).fetchall()
                return ListResult([_kv(r) for r in rows], at)
            rows = conn.execute(sql + " LIMIT ?", (*params, at, limit)).fetchall()
            items = [_kv(r) for r in rows]
            remaining = 0
            if len(items) == limit:
                remaining = self._count(conn, prefix, at, items[-1].key)
            return ListResult(items, at, remaining)

        if limit <= 0 and not self._closed and self._pool is not None:
            # Most unlimited lists are small (priority classes, limit ranges, quotas...):
            # try them on the event loop's connection, capped, and send the big ones to
            # the pool.
            def small(conn: sqlite3.Connection, at: int) -> ListResult | None:
                rows = conn.execute(sql + " LIMIT ?", (*params, at, _INLINE_LIST_ROWS + 1)
                                    ).fetchall()
                if len(rows) > _INLINE_LIST_ROWS:
                    return None
                return ListResult([_kv(r) for r in rows], at)

            try:
                result = self._snapshot(self._inline_reader(), small, revision, ())
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
            else:
                if result is not None:
                    return result
        return await self._read(run, revision)

    @staticmethod
    def _count(conn: sqlite3.Connection, prefix: str, at: int, start_after: str = "") -> int:
        cond, params = _prefix_range(prefix, start_after)
        return conn.execute(
            "SELECT COUNT(*) FROM (SELECT MAX(id), deleted FROM kv"
            f" WHERE {cond} AND id <= ? GROUP BY name HAVING deleted = 0)",
            (*params, at)).fetchone()[0]

    async def count(self, prefix: str) -> int:
        return await self._read(lambda conn, at: self._count(conn, prefix, at), 0)

    async def _read_history(self, prefix: str, start: int) -> tuple[list[Event], int]:
        cond, params = _prefix_range(prefix)

        def run(conn: sqlite3.Connection, at: int) -> tuple[list[Event], int]:
            current, compacted = conn.execute(_STATE).fetchone()
            if start <= compacted:
                raise CompactedError(start, compacted)
            rows = conn.execute(f"SELECT {_COLS} FROM kv WHERE id >= ? AND {cond} ORDER BY id",
                                (start, *params)).fetchall()
            return [_event(r) for r in rows], current

        return await self._read(run, 0)

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        start = start_revision or self._revision + 1
        return self._hub.subscribe(prefix, start, self._read_history)

    async def compact(self, revision: int) -> None:
        revision = await self._submit("compact_mark", revision)
        self._compacted = max(self._compacted, revision)
        lo, deleted = self._compact_done, 0
        while lo < revision:
            hi = min(lo + _COMPACT_CHUNK, revision)
            deleted += await self._submit("compact_chunk", lo, hi)
            lo = self._compact_done = hi
        log.debug("compacted %s at revision %d: %d rows deleted", self.path, revision, deleted)
