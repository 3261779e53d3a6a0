"""Raw durable write rate of the SQLite store (a benchmark, not a test).

Measures SQLiteStore.create() through the async API with 1, 8 and 32 concurrent
writers (WAL, synchronous=FULL, group commit: the settings the server uses), and,
for comparison, plain sqlite3 doing one INSERT per transaction with the same pragmas.
Prints a markdown table. The database lives in a temporary directory under --dir
(default: the system temp dir); point it at the disk the server will use, since a
tmpfs makes fsync free and the numbers meaningless.

    python bench/store_write_rate.py [--seconds 3] [--dir /var/tmp] [--no-uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time

from pyk8s.store.sqlite import SQLiteStore

VALUE = b'{"kind":"Pod","metadata":{"name":"x"}}' + b" " * 1000  # ~1 KB object


async def store_rate(path: str, writers: int, seconds: float) -> tuple[float, float, float]:
    """creates/s and p50/p99 latency (ms) with ``writers`` concurrent tasks."""
    store = SQLiteStore(path)
    await store.start()
    latencies: list[float] = []
    count = 0
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        nonlocal count
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await store.create(f"/registry/pods/bench-{writers}/{w}-{i}", VALUE)
            latencies.append(time.perf_counter() - t0)
            count += 1
            i += 1

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - start
    await store.close()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return count / elapsed, p50, p99


def raw_sqlite_rate(path: str, seconds: float) -> tuple[float, float, float]:
    """One INSERT per transaction in one thread, WAL + synchronous=FULL."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS kv (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL, value BLOB NOT NULL)"
    )
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    i = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO kv (name, value) VALUES (?, ?)", (f"/raw/{i}", VALUE))
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - t0)
        i += 1
    elapsed = time.perf_counter() - start
    conn.close()
    latencies.sort()
    return i / elapsed, statistics.median(latencies) * 1000, latencies[int(i * 0.99)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each run")
    parser.add_argument("--dir", default=None, help="where to put the database files")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    args = parser.parse_args()

    loop_name = "asyncio"
    if not args.no_uvloop:
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            loop_name = "uvloop"
        except ImportError:
            pass

    with tempfile.TemporaryDirectory(prefix="pyk8s-bench-", dir=args.dir) as tmp:
        rows = []
        for writers in (1, 8, 32):
            path = os.path.join(tmp, f"store-{writers}.db")
            rate, p50, p99 = asyncio.run(store_rate(path, writers, args.seconds))
            rows.append((f"SQLiteStore.create, {writers} concurrent writer(s), {loop_name}",
                         rate, p50, p99))
        rate, p50, p99 = raw_sqlite_rate(os.path.join(tmp, "raw.db"), args.seconds)
        rows.append(("raw sqlite3, one INSERT per transaction", rate, p50, p99))

    print(f"durable writes (WAL, synchronous=FULL, ~{len(VALUE)} B values, {args.seconds:g} s each)")
    print()
    print("| writer | writes/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, rate, p50, p99 in rows:
        print(f"| {name} | {rate:,.0f} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
