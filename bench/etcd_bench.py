"""etcd store benchmark: pod creates/s through pyk8s next to raw etcd puts/s.

In one run on one machine, on a fresh single-member etcd (Debian's etcd-server, on
loopback, its data directory under --dir):

* **pyk8s**: one ``pyk8s apiserver --etcd-servers`` and 8, then 64 concurrent HTTPS
  clients (aiohttp, admin certificate) creating Pods, as bench/api_bench.py does;
* **raw etcd**: the same number of concurrent clients putting values of the size pyk8s
  stores for such a Pod (measured from etcd after the pyk8s run), over gRPC, spread over
  two load processes so the Python load generator is not the limit it measures. This
  is what the store itself can take: the physical limit for pyk8s on it;
* for reference, the same pod creates through ``pyk8s apiserver`` on its default SQLite
  store (data directory under --dir as well).

Prints a Markdown table with the ratio, and the CPU time the API server process spent per
create (from /proc, so it holds up when other work shares the machine, unlike the rates).
A benchmark, not a test: nothing asserts a timing.

    .venv/bin/python bench/etcd_bench.py [--duration 5] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from api_bench import POD, machine, make_namespace, rate, ssl_context  # noqa: E402
from etcdproc import EtcdProcess  # noqa: E402
from serverproc import ServerProcess, free_port  # noqa: E402

CLIENTS = (8, 64)
LOAD_PROCESSES = 2


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def pyk8s_creates(base: str, ctx, clients: int, duration: float,
                        server_pid: int) -> tuple[float, float]:
    """Creates/s, and the server's CPU milliseconds per create."""
    conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
    async with aiohttp.ClientSession(connector=conn) as http:
        async def create(i: int, n: int) -> None:
            body = dict(POD, metadata={**POD["metadata"], "name": f"p{clients}-{i}-{n}"})
            async with http.post(f"{base}/api/v1/namespaces/bench/pods",
                                 data=orjson.dumps(body),
                                 headers={"Content-Type": "application/json"}) as r:
                assert r.status == 201, await r.text()
                await r.read()

        cpu = cpu_seconds(server_pid)
        creates = await rate("create", clients, duration, create)
        return creates, (cpu_seconds(server_pid) - cpu) * 1000 / (creates * duration)


def _put_load(endpoint: str, tag: str, clients: int, value_size: int, duration: float,
              out: multiprocessing.Queue) -> None:
    """One load process: ``clients`` concurrent puts for ``duration`` seconds."""
    from pyk8s.store.etcdclient import EtcdClient
    from pyk8s.store.etcdpb import etcd_pb2 as pb

    async def run() -> int:
        client = EtcdClient([endpoint])
        value = b"x" * value_size
        await client.call("Range", pb.RangeRequest(key=b"/"), wait_for_ready=True)
        count = 0
        stop = time.perf_counter() + duration

        async def worker(w: int) -> None:
            nonlocal count
            n = 0
            while time.perf_counter() < stop:
                key = f"/raw/{tag}/{w}-{n}".encode()
                await client.call("Put", pb.PutRequest(key=key, value=value))
                n += 1
                count += 1

        await asyncio.gather(*(worker(w) for w in range(clients)))
        await client.close()
        return count

    try:
        import uvloop

        out.put(uvloop.run(run()))
    except ImportError:
        out.put(asyncio.run(run()))


def raw_puts(endpoint: str, clients: int, value_size: int, duration: float) -> float:
    out: multiprocessing.Queue = multiprocessing.Queue()
    shares = [clients // LOAD_PROCESSES + (i < clients % LOAD_PROCESSES)
              for i in range(LOAD_PROCESSES)]
    procs = [multiprocessing.Process(target=_put_load, args=(
        endpoint, f"{clients}-{i}", share, value_size, duration, out)) for i, share in
        enumerate(shares)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    total = sum(out.get(timeout=duration + 60) for _ in procs)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    # the processes start in ~0.3 s and each counts over exactly ``duration``
    return total / min(elapsed, duration)


def stored_pod_size(etcd: EtcdProcess) -> int:
    out = subprocess.run(["etcdctl", "--endpoints", etcd.url, "get", "--prefix",
                          "/registry/pods/bench/", "--limit", "1", "--print-value-only"],
                         capture_output=True, check=True, timeout=30).stdout
    return len(out.rstrip(b"\n"))


def compact(etcd: EtcdProcess) -> None:
    """Keep etcd small between runs (its backend size changes its write rate)."""
    status = subprocess.run(["etcdctl", "--endpoints", etcd.url, "endpoint", "status",
                             "-w", "json"], capture_output=True, check=True, timeout=30)
    revision = orjson.loads(status.stdout)[0]["Status"]["header"]["revision"]
    subprocess.run(["etcdctl", "--endpoints", etcd.url, "compact", str(revision),
                    "--physical"], capture_output=True, check=True, timeout=120)


async def main_async(args) -> None:
    base_dir = Path(tempfile.mkdtemp(prefix="etcd-bench-", dir=args.dir))
    etcd = EtcdProcess(base_dir / "etcd").start()
    server = ServerProcess(base_dir / "apiserver", free_port())
    results = []
    try:
        server.start("--etcd-servers", etcd.url, *args.server_arg)
        ctx = ssl_context(server.kubeconfig, base_dir)
        conn = aiohttp.TCPConnector(ssl=ctx)
        async with aiohttp.ClientSession(connector=conn) as http:
            await make_namespace(http, server.url, "bench")
        pyk8s = {}
        for clients in CLIENTS:
            pyk8s[clients] = await pyk8s_creates(server.url, ctx, clients, args.duration,
                                                 server.proc.pid)
            compact(etcd)
        size = stored_pod_size(etcd)
        server.stop()
        for clients in CLIENTS:
            raw = raw_puts(etcd.endpoint, clients, size, args.duration)
            compact(etcd)
            results.append((clients, pyk8s[clients], raw))
        etcd.stop()
        sqlite = ServerProcess(base_dir / "apiserver-sqlite", free_port())
        sqlite.start(*args.server_arg)
        try:
            ctx = ssl_context(sqlite.kubeconfig, base_dir)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http:
                await make_namespace(http, sqlite.url, "bench")
            on_sqlite = {c: await pyk8s_creates(sqlite.url, ctx, c, args.duration,
                                                sqlite.proc.pid) for c in CLIENTS}
        finally:
            sqlite.stop()
    finally:
        server.stop()
        etcd.stop()
        shutil.rmtree(base_dir, ignore_errors=True)

    print(f"Machine: {machine()}; etcd {etcd_version()} on loopback, data on "
          f"{args.dir or tempfile.gettempdir()}\n")
    print(f"Stored pod: {size:,} bytes of JSON; {args.duration:g} s per run.\n")
    print("| concurrent clients | pyk8s pod creates/s on etcd | raw etcd puts/s (same size) "
          "| ratio | pyk8s pod creates/s on SQLite | server CPU ms/create, etcd | SQLite |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for clients, (ours, ours_cpu), raw in results:
        sqlite_rate, sqlite_cpu = on_sqlite[clients]
        print(f"| {clients} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.0%} | "
              f"{sqlite_rate:,.0f} | {ours_cpu:.2f} | {sqlite_cpu:.2f} |")


def etcd_version() -> str:
    out = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout
    return out.split()[2] if out.startswith("etcd Version:") else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--dir", default=None, help="where etcd's data directory goes")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra flag for pyk8s apiserver (repeatable)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
