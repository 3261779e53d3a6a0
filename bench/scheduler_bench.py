"""Scheduler benchmark: pods/s and creation-to-bound latency with N nodes.

Starts ``pyk8s apiserver`` on a fresh data dir, registers N nodes (directly as Node
objects with a kubelet-like status, or with ``--hollow`` through ``pyk8s hollow-nodes``),
starts ``pyk8s scheduler`` as its own process (as in a cluster: it only talks to the
API), then creates P pods (100m cpu, 64Mi each) with 32 concurrent clients while a
watch records when each pod gets ``spec.nodeName``.

Reports throughput (pods bound / time from first create to last bind) and the p50/p99
of each pod's creation-to-bound latency (create request sent -> watch saw nodeName).

Run: ``.venv/bin/python bench/scheduler_bench.py --nodes 1000 5000 --pods 10000``;
``--cycle-only`` times the scheduling cycle in-process instead (no API, no binding).
This is a benchmark, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from serverproc import ServerProcess, free_port

from pyk8s.client import Client, load_kubeconfig

CONCURRENCY = 32


def node_body(i: int) -> dict:
    name = f"bench-node-{i:05d}"
    return {"metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
        "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True",
                                   "reason": "KubeletReady"}],
                   "nodeInfo": {"kubeletVersion": "v1.31.0"}}}


def pod_body(i: int) -> dict:
    return {"metadata": {"name": f"pod-{i:05d}", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0",
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "64Mi"}}}]}}


def start_pyk8s(command: str, *args: str, log: Path | None = None) -> subprocess.Popen:
    """A ``pyk8s <command>`` process, its output to ``log`` (or discarded)."""
    with open(log or os.devnull, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "pyk8s", command, *args],
                                stdout=out, stderr=subprocess.STDOUT)


async def bounded(n: int, make) -> None:
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with sem:
            await make(i)

    await asyncio.gather(*(one(i) for i in range(n)))


async def wait_nodes(client: Client, n: int) -> None:
    nodes = client.api("v1", "Node")
    while len((await nodes.list())["items"]) < n:
        await asyncio.sleep(1)


async def run_case(server: ServerProcess, n_nodes: int, n_pods: int, hollow: bool) -> dict:
    cfg = load_kubeconfig(server.kubeconfig, component="scheduler-bench")
    procs = []
    async with Client(cfg, connection_limit=CONCURRENCY * 2) as client:
        t0 = time.monotonic()
        if hollow:
            procs.append(start_pyk8s("hollow-nodes", "--kubeconfig",
                                     str(server.kubeconfig), "--count", str(n_nodes)))
            await wait_nodes(client, n_nodes)
        else:
            nodes = client.api("v1", "Node")
            await bounded(n_nodes, lambda i: nodes.create(node_body(i)))
        node_secs = time.monotonic() - t0
        procs.append(start_pyk8s("scheduler", "--kubeconfig",
                                 str(server.data_dir / "scheduler.conf"),
                                 "--leader-elect=false",
                                 log=server.data_dir.parent / "scheduler.log"))
        ns = "bench"
        await client.api("v1", "Namespace").create({"metadata": {"name": ns}})
        await client.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                         namespace=ns)
        await asyncio.sleep(3)  # let the scheduler list nodes
        pods = client.api("v1", "Pod")
        sent: dict[str, float] = {}
        bound: dict[str, float] = {}
        done = asyncio.Event()

        async def watch() -> None:
            rv = (await pods.list(namespace=ns, limit=1))["metadata"]["resourceVersion"]
            while not done.is_set():
                async for kind, obj in pods.watch(namespace=ns, resource_version=rv,
                                                  timeout_seconds=600):
                    rv = obj["metadata"]["resourceVersion"]
                    name = obj["metadata"]["name"]
                    if obj["spec"].get("nodeName") and name not in bound:
                        bound[name] = time.monotonic()
                        if len(bound) >= n_pods:
                            done.set()
                            return

        watcher = asyncio.create_task(watch())

        async def make(i: int) -> None:
            body = pod_body(i)
            sent[body["metadata"]["name"]] = time.monotonic()
            await pods.create(body, namespace=ns)

        start = time.monotonic()
        await bounded(n_pods, make)
        create_secs = time.monotonic() - start
        try:
            await asyncio.wait_for(done.wait(), timeout=3600)
        finally:
            watcher.cancel()
        end = max(bound.values())
        lat = sorted(bound[n] - sent[n] for n in bound)
    for proc in procs:
        proc.terminate()
        proc.wait(30)
    return {"nodes": n_nodes, "pods": n_pods, "node_setup_s": node_secs,
            "create_s": create_secs, "total_s": end - start,
            "pods_per_s": n_pods / (end - start),
            "p50_ms": lat[len(lat) // 2] * 1000, "p99_ms": lat[int(len(lat) * 0.99)] * 1000}


class _NoAPI:
    """Stands in for the client in :func:`cycle_only`: no plugin calls the API there."""

    def api(self, *args, **kwargs) -> None:
        return None


def cycle_only(n_nodes: int, n_pods: int) -> float:
    """Pods/s of the scheduling cycle alone, in this process: snapshot update, PreFilter,
    Filter, Score and assume per pod, with no API server and no binding."""
    from pyk8s.scheduler.framework.config import parse
    from pyk8s.scheduler.framework.interface import CycleState
    from pyk8s.scheduler.plugins import implemented_points
    from pyk8s.scheduler.scheduler import Scheduler

    sched = Scheduler(_NoAPI(), parse(None, implemented_points()))
    for i in range(n_nodes):
        sched.on_node_add(node_body(i))
    fwk = sched.profiles["default-scheduler"]
    pods = []
    for i in range(n_pods):
        pod = pod_body(i)
        pod["metadata"].update(namespace="default", uid=f"uid-{i}")
        pods.append(pod)
    start = time.perf_counter()
    for pod in pods:
        sched.cache.update_snapshot(sched.snapshot)
        node, status, _ = sched.schedule_pod(fwk, CycleState(), pod)
        if not node:
            raise RuntimeError(f"pod did not fit: {status}")
        sched.cache.assume_pod({**pod, "spec": {**pod["spec"], "nodeName": node}})
    return n_pods / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--hollow", action="store_true",
                        help="register nodes with `pyk8s hollow-nodes` instead of creating them")
    parser.add_argument("--cycle-only", action="store_true",
                        help="time the scheduling cycle in this process (no API server)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    if args.cycle_only:
        for n in args.nodes:
            print(f"{n} nodes: {cycle_only(n, args.pods):.0f} pods/s (scheduling cycle alone)")
        return
    print("| nodes | pods | pods/s | p50 create->bound | p99 create->bound | creates took |")
    print("|---|---|---|---|---|---|")
    for n in args.nodes:
        with tempfile.TemporaryDirectory() as tmp:
            server = ServerProcess(Path(tmp) / "data", free_port())
            server.start()
            try:
                r = asyncio.run(run_case(server, n, args.pods, args.hollow))
            finally:
                server.stop()
        print(f"| {r['nodes']} | {r['pods']} | {r['pods_per_s']:.0f} | {r['p50_ms']:.0f} ms "
              f"| {r['p99_ms']:.0f} ms | {r['create_s']:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
