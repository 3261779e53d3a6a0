"""Controller manager benchmark on a real ``pyk8s server`` with 1,000 hollow nodes.

Starts ``pyk8s server`` (API server, controller manager, scheduler as processes) on a
fresh data dir and one ``pyk8s hollow-nodes --count N`` process, then measures:

1. a Deployment of R replicas (default 3,000): time from create until
   ``availableReplicas == R`` (all pods scheduled, Running/Ready on hollow nodes);
2. a rolling update of it (new image, default 25 %/25 %): time until the rollout is
   complete (every replica updated and available, the old ReplicaSet at 0 pods);
3. churn: RATE pod creations and RATE pod deletions per second for DURATION seconds
   (bare pods, scheduled and run like any other), with a pod GET and a pod LIST of the
   churn namespace every second; the API call latency of each verb is measured in this
   client (request sent to response parsed) and reported as p50/p99.

CPU seconds of each process (API server, controller manager, scheduler, hollow nodes)
are read from /proc per phase. A benchmark, not a test: nothing here asserts a timing.

Run: ``.venv/bin/python bench/controllers_bench.py [--nodes 1000] [--replicas 3000]
[--churn-rate 20] [--churn-seconds 300]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "e2e" / "cluster"))

from clusterkit import Cluster, Proc, pyk8s  # noqa: E402

from pyk8s.client import Client, NotFound, load_kubeconfig  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


class Latency:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def __call__(self, verb: str, coro):
        started = time.perf_counter()
        try:
            return await coro
        finally:
            self.samples[verb].append((time.perf_counter() - started) * 1000)

    def table(self) -> list[str]:
        rows = ["| verb | calls | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
        for verb, xs in sorted(self.samples.items()):
            xs = sorted(xs)
            p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
            rows.append(f"| {verb} | {len(xs):,} | {statistics.median(xs):.1f} | "
                        f"{p99:.1f} | {xs[-1]:.1f} |")
        return rows


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except OSError:
        return 0.0


class CPU:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.last = {k: cpu_seconds(p) for k, p in pids.items()}
        self.t = time.monotonic()

    def lap(self) -> str:
        now = {k: cpu_seconds(p) for k, p in self.pids.items()}
        wall = time.monotonic() - self.t
        out = ", ".join(f"{k} {(now[k] - self.last[k]) / wall * 100:.0f} %"
                        for k in self.pids)
        self.last, self.t = now, time.monotonic()
        return out


def deployment(replicas: int, image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "big"}},
                     "template": {"metadata": {"labels": {"app": "big"}},
                                  "spec": {"containers": [{
                                      "name": "app", "image": image,
                                      "resources": {"requests": {"cpu": "10m",
                                                                 "memory": "16Mi"}}}]}}}}


async def wait_rollout(deps, lat: Latency, ns: str, replicas: int, generation: int) -> None:
    while True:
        d = await lat("GET deployment", deps.get("big", namespace=ns))
        st = d.get("status") or {}
        if (st.get("observedGeneration", 0) >= generation
                and st.get("updatedReplicas") == replicas
                and st.get("availableReplicas") == replicas
                and st.get("replicas") == replicas):
            return
        await asyncio.sleep(1.0)


async def churn(client: Client, lat: Latency, ns: str, rate: int, seconds: float) -> dict:
    pods = client.api("v1", "Pod")
    live: list[str] = []
    tasks: set[asyncio.Task] = set()
    counter = 0
    errors = 0

    async def create(name: str) -> None:
        nonlocal errors
        try:
            await lat("POST pod", pods.create({
                "metadata": {"name": name, "labels": {"app": "churn"}},
                "spec": {"containers": [{"name": "c", "image": "x"}],
                         "terminationGracePeriodSeconds": 0}}, namespace=ns))
            live.append(name)
        except Exception:
            errors += 1

    async def delete(name: str) -> None:
        nonlocal errors
        try:
            await lat("DELETE pod", pods.delete(name, namespace=ns))
        except NotFound:
            pass
        except Exception:
            errors += 1

    async def reads() -> None:
        while True:
            if live:
                try:
                    await lat("GET pod", pods.get(live[-1], namespace=ns))
                except NotFound:
                    pass
            await lat("LIST pods (ns)", pods.list(namespace=ns))
            await asyncio.sleep(1.0)

    def spawn(coro) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    reader = asyncio.create_task(reads())
    started = time.monotonic()
    interval = 1.0 / rate
    tick = 0
    while time.monotonic() - started < seconds:
        spawn(create(f"churn-{counter:06d}"))
        counter += 1
        # Keep about 10 s worth of pods alive: delete the oldest once past that.
        if len(live) > rate * 10:
            spawn(delete(live.pop(0)))
        tick += 1
        delay = started + tick * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    reader.cancel()
    await asyncio.gather(reader, *tasks, return_exceptions=True)
    return {"created": counter, "errors": errors, "wall": time.monotonic() - started}


async def bench(args, cluster: Cluster, cpu: CPU) -> list[str]:
    out: list[str] = []
    lat = Latency()
    async with Client(load_kubeconfig(cluster.kubeconfig, component="controllers-bench"),
                      connection_limit=64) as client:
        nodes = client.api("v1", "Node")
        t0 = time.monotonic()
        while True:
            page = await nodes.list()
            ready = sum(1 for n in page["items"] if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (n.get("status") or {}).get("conditions") or ()))
            if ready >= args.nodes:
                break
            await asyncio.sleep(1)
        print(f"{args.nodes} nodes Ready after {time.monotonic() - t0:.1f} s", flush=True)
        await client.api("v1", "Namespace").create({"metadata": {"name": "bench"}})
        sa = client.api("v1", "ServiceAccount")
        while True:
            try:
                await sa.get("default", namespace="bench")
                break
            except NotFound:
                await asyncio.sleep(0.2)
        cpu.lap()
        deps = client.api("apps/v1", "Deployment")
        started = time.monotonic()
        await lat("POST deployment", deps.create(deployment(args.replicas, "app:v1"),
                                                 namespace="bench"))
        await wait_rollout(deps, lat, "bench", args.replicas, 1)
        t_create = time.monotonic() - started
        line = (f"| {args.replicas:,}-replica Deployment created -> all available | "
                f"{t_create:.1f} s | {cpu.lap()} |")
        print(line, flush=True)
        out.append(line)
        started = time.monotonic()
        await lat("PATCH deployment", deps.patch(
            "big", {"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "app:v2"}]}}}}, namespace="bench",
            type="strategic"))
        await wait_rollout(deps, lat, "bench", args.replicas, 2)
        t_roll = time.monotonic() - started
        line = (f"| rolling update (25 % / 25 %) of it -> complete | {t_roll:.1f} s | "
                f"{cpu.lap()} |")
        print(line, flush=True)
        out.append(line)

        await client.api("v1", "Namespace").create({"metadata": {"name": "churn"}})
        while True:
            try:
                await sa.get("default", namespace="churn")
                break
            except NotFound:
                await asyncio.sleep(0.2)
        lat_churn = Latency()
        cpu.lap()
        result = await churn(client, lat_churn, "churn", args.churn_rate, args.churn_seconds)
        line = (f"| churn: {args.churn_rate} creates/s + deletes/s for "
                f"{args.churn_seconds:.0f} s ({result['created']:,} pods, "
                f"{result['errors']} errors) | {result['wall']:.1f} s | {cpu.lap()} |")
        print(line, flush=True)
        out.append(line)
        out.append("")
        out.append("API call latency during the churn (client-side, this process):")
        out.append("")
        out += lat_churn.table()
        out.append("")
        out.append("API call latency of the deployment phases:")
        out.append("")
        out += lat.table()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--replicas", type=int, default=3000)
    p.add_argument("--churn-rate", type=int, default=20, help="pod creates (and deletes) /s")
    p.add_argument("--churn-seconds", type=float, default=300.0)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="controllers-bench-"))
    cluster = Cluster(work)
    try:
        cluster.start(node_monitor_grace=None, timeout=120)
        hollow = Proc("hollow", pyk8s(
            "hollow-nodes", "--kubeconfig", str(cluster.kubeconfig), "--count",
            str(args.nodes), "--pod-cidr-base", "10.64.0.0/10"), work / "hollow.log").start()
        cluster.extra.append(hollow)
        pids = {"apiserver": cluster.component_pid("apiserver"),
                "controller-manager": cluster.component_pid("controller-manager"),
                "scheduler": cluster.component_pid("scheduler"), "hollow-nodes": hollow.pid}
        rows = asyncio.run(bench(args, cluster, CPU(pids)))
    finally:
        cluster.stop()
    print()
    print(f"Machine: {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}; data dir {work}")
    print()
    print("| what | time | CPU (% of one core over the phase) |")
    print("|---|---:|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
