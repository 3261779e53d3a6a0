"""API server benchmark: request rates and watch delivery delay, with the machine described.

Starts ``pyk8s apiserver`` on a fresh data dir (SQLite, synchronous=FULL) and drives it
over HTTPS with aiohttp clients holding the admin certificate:

* pod creates/s, gets/s and lists/s with 1, 8 and 32 concurrent clients;
* for 100 and 1000 concurrent watchers, the delay from a write's acknowledgement to
  its event reaching each watcher (p50/p99 over all deliveries, and of the slowest
  watcher per write);
* beside them, the raw durable write rate of the SQLite store underneath.

Run: ``.venv/bin/python bench/api_bench.py [--duration 5]``; prints Markdown.
This is a benchmark, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
import yaml

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"labels": {"app": "bench", "tier": "web"}},
    "spec": {"containers": [{
        "name": "app", "image": "registry.example/bench/app:1.0",
        "ports": [{"containerPort": 8080}],
        "env": [{"name": f"VAR_{i}", "value": "x" * 20} for i in range(10)],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }]},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ssl_context(kubeconfig: Path, tmp: Path) -> ssl.SSLContext:
    cfg = yaml.safe_load(kubeconfig.read_text())
    user = cfg["users"][0]["user"]
    ca = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
    (tmp / "c.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
    (tmp / "c.key").write_bytes(base64.b64decode(user["client-key-data"]))
    ctx = ssl.create_default_context(cadata=ca.decode())
    ctx.load_cert_chain(tmp / "c.crt", tmp / "c.key")
    return ctx


def start_server(data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "pyk8s", "apiserver", "--data-dir", str(data),
                             "--secure-port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=open(data.parent / "server.log", "wb"))
    deadline = time.time() + 30
    while time.time() < deadline:
        if (data / "admin.conf").exists():
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                time.sleep(0.3)
                return proc
            except OSError:
                pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


async def rate(name: str, clients: int, duration: float, make_request) -> float:
    count = 0
    stop = time.perf_counter() + duration

    async def worker(i: int) -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < stop:
            await make_request(i, n)
            n += 1
            count += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return count / (time.perf_counter() - t0)


async def make_namespace(http: aiohttp.ClientSession, base: str, name: str) -> None:
    """A namespace with its ``default`` ServiceAccount (pods need it: the bare API server
    runs no ServiceAccount controller, and ServiceAccount admission refuses pods without)."""
    await http.post(f"{base}/api/v1/namespaces", json={"metadata": {"name": name}})
    await http.post(f"{base}/api/v1/namespaces/{name}/serviceaccounts",
                    json={"metadata": {"name": "default"}})


async def request_rates(base: str, ctx: ssl.SSLContext, duration: float) -> list[tuple]:
    rows = []
    conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
    async with aiohttp.ClientSession(connector=conn) as http:
        await make_namespace(http, base, "bench")
        for clients in (1, 8, 32):
            async def create(i: int, n: int, clients=clients) -> None:
                body = dict(POD, metadata={**POD["metadata"], "name": f"p{clients}-{i}-{n}"})
                async with http.post(f"{base}/api/v1/namespaces/bench/pods",
                                     data=orjson.dumps(body),
                                     headers={"Content-Type": "application/json"}) as r:
                    assert r.status == 201, await r.text()
                    await r.read()

            creates = await rate("create", clients, duration, create)

            async def get(i: int, n: int) -> None:
                async with http.get(f"{base}/api/v1/namespaces/bench/pods/p1-0-{n % 50}") as r:
                    await r.read()

            gets = await rate("get", clients, duration, get)
            rows.append((clients, creates, gets))
        await make_namespace(http, base, "bench-list")
        for n in range(100):
            body = dict(POD, metadata={**POD["metadata"], "name": f"l{n}"})
            await http.post(f"{base}/api/v1/namespaces/bench-list/pods", json=body)
        out = []
        for clients, creates, gets in rows:
            async def list_(i: int, n: int) -> None:
                async with http.get(f"{base}/api/v1/namespaces/bench-list/pods") as r:
                    await r.read()

            lists = await rate("list", clients, duration, list_)
            out.append((clients, creates, gets, lists))
    return out


async def watch_delay(base: str, ctx: ssl.SSLContext, watchers: int, writes: int) -> dict:
    conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as http:
        ns = f"watch-{watchers}"
        await http.post(f"{base}/api/v1/namespaces", json={"metadata": {"name": ns}})
        async with http.post(f"{base}/api/v1/namespaces/{ns}/configmaps",
                             json={"metadata": {"name": "probe"}, "data": {"n": "0"}}) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        arrivals: dict[str, list[float]] = {}
        ready = 0

        async def watcher() -> None:
            nonlocal ready
            url = (f"{base}/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}"
                   f"&timeoutSeconds=600")
            async with http.get(url) as resp:
                ready += 1
                async for line in resp.content:
                    t = time.perf_counter()
                    i = line.find(b'"resourceVersion":"')
                    j = line.find(b'"', i + 19)
                    arrivals.setdefault(line[i + 19:j].decode(), []).append(t)

        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        while ready < watchers:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        acks: dict[str, float] = {}
        for n in range(writes):
            async with http.patch(f"{base}/api/v1/namespaces/{ns}/configmaps/probe",
                                  data=orjson.dumps({"data": {"n": str(n + 1)}}),
                                  headers={"Content-Type": "application/merge-patch+json"}) as r:
                body = await r.json()
                acks[body["metadata"]["resourceVersion"]] = time.perf_counter()
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    every, slowest, missing = [], [], 0
    for rv_, t_ack in acks.items():
        times = arrivals.get(rv_, [])
        missing += watchers - len(times)
        delays = [(t - t_ack) * 1000 for t in times]
        every += delays
        if delays:
            slowest.append(max(delays))

    def pct(values: list[float], p: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")

    return {"watchers": watchers, "p50": pct(every, 0.5), "p99": pct(every, 0.99),
            "slowest_p50": pct(slowest, 0.5), "slowest_p99": pct(slowest, 0.99),
            "missing": missing}


def store_rate() -> str:
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("store_write_rate.py"))],
                         capture_output=True, text=True, timeout=600)
    return out.stdout


def machine() -> str:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return (f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}; server and load generator share the machine")


async def main_async(args) -> None:
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        port = free_port()
        proc = start_server(tmp / "data", port)
        try:
            ctx = ssl_context(tmp / "data" / "admin.conf", tmp)
            base = f"https://127.0.0.1:{port}"
            print(f"Machine: {machine()}\n")
            rates = await request_rates(base, ctx, args.duration)
            print("| clients | pod creates/s | pod gets/s | pod lists/s (100 pods) |")
            print("|---:|---:|---:|---:|")
            for clients, creates, gets, lists in rates:
                print(f"| {clients} | {creates:,.0f} | {gets:,.0f} | {lists:,.0f} |")
            print()
            print("| watchers | delivery p50 ms | p99 ms | slowest watcher p50 ms | p99 ms | "
                  "events missing |")
            print("|---:|---:|---:|---:|---:|---:|")
            for watchers in (100, 1000):
                r = await watch_delay(base, ctx, watchers, args.writes)
                print(f"| {r['watchers']} | {r['p50']:.1f} | {r['p99']:.1f} | "
                      f"{r['slowest_p50']:.1f} | {r['slowest_p99']:.1f} | {r['missing']} |")
            print()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    print("Raw durable write rate of the store underneath (the limit):\n")
    print(store_rate())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per rate run")
    parser.add_argument("--writes", type=int, default=40, help="writes per watch run")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
