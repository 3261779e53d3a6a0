"""Pod startup latency on one real node: create -> Running+Ready, 30 busybox pods at once.

The node is a whole ``pyk8s server`` (API server, controller manager, scheduler, and a
kubelet with its own containerd, no kube-proxy) on a temp data dir, run under ``nsenter
--net`` in a network namespace the bench makes for each run, as tests/e2e/node/nodekit.py
does: the CNI bridge, pod veths, nat rules and the kubelet's routes all live there, the
server advertises an address on an interface inside it (a veth whose peer stays down) and
the only route out drops what it is given, so no packet reaches any other host. The
measuring half of this script runs in the same namespace (the API server is on its
loopback): it waits for the Node to be Ready and the ``default`` ServiceAccount to exist,
starts a watch on the pods, then creates N busybox pods (``sleep 3600``) concurrently with
``pyk8s.client``. A pod's startup latency is the client-side send time of its create
request to the watch event that shows it ``Running`` with ``Ready=True`` (upstream's pod
startup SLO: p99 <= 5 s, image already present). The watch also records when each pod was
bound (``spec.nodeName``), when the kubelet first wrote its status (``status.hostIP``), and
when it got a pod IP, which splits the latency into scheduling and kubelet time.

At the end the server gets SIGTERM (its kubelet runs with ``--kill-pods-on-exit``), shims
and mounts are cleaned with tests/nodehost.py's helper and the namespace is deleted; the
script then checks that no shim or network namespace of the run is left.

Run as root: ``.venv/bin/python bench/pod_startup_bench.py [--pods 30] [--runs 2]``.
This is a benchmark, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from nodehost import cleanup_runtime

from pyk8s.client import Client, load_kubeconfig
from pyk8s.client.errors import ApiError, ClientError
from pyk8s.kubelet.ownruntime import containerd_options

NODE = "bench-node"
NODE_ADDRESS = "192.168.252.10"
API_PORT = 6443
KUBELET_PORT = 10250
CLUSTER_CIDR = "10.244.0.0/16"
NAMESPACE = "default"


def machine() -> str:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, kernel {platform.release()}, "
            f"Python {platform.python_version()}")


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def pod_body(i: int) -> dict:
    return {"metadata": {"name": f"startup-{i:03d}", "labels": {"app": "startup-bench"}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "sleep", "image": "busybox",
                                     "command": ["sleep", "3600"]}]}}


def is_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    conds = {c["type"]: c["status"] for c in status.get("conditions") or ()}
    return status.get("phase") == "Running" and conds.get("Ready") == "True"


COMPONENTS = ("apiserver", "controller-manager", "scheduler", "kubelet", "containerd")


def cpu_seconds(workdir: str) -> dict[str, float]:
    """CPU time (own and reaped children's: CNI plugins, iptables) of the run's processes.
    The shims (and the runc runs they reap) are not counted: containerd daemonizes them."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(COMPONENTS, 0.0)
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if workdir not in argv:
            continue
        name = next((c for c in COMPONENTS if c in argv.split(" --")[0]), None)
        if name:
            used[name] += sum(int(f) for f in fields[11:15]) / ticks
    return used


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))]


async def wait_for(check, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


async def measure(kubeconfig: Path, n_pods: int, proc: subprocess.Popen, workdir: str) -> dict:
    cfg = load_kubeconfig(kubeconfig, component="pod-startup-bench")
    async with Client(cfg, connection_limit=n_pods + 8) as client:
        nodes, pods = client.api("v1", "Node"), client.api("v1", "Pod")
        t_boot = time.monotonic()

        async def node_ready():
            if proc.poll() is not None:
                raise RuntimeError(f"pyk8s server exited with {proc.returncode}")
            try:
                node = await nodes.get(NODE)
            except (ClientError, OSError):
                return None
            conds = {c["type"]: c["status"]
                     for c in (node.get("status") or {}).get("conditions") or ()}
            return conds.get("Ready") == "True" and node
        node = await wait_for(node_ready, 180, f"node {NODE} Ready")
        node_secs = time.monotonic() - t_boot

        async def default_sa():
            try:
                return await client.api("v1", "ServiceAccount").get("default",
                                                                    namespace=NAMESPACE)
            except ApiError:
                return None
        await wait_for(default_sa, 60, "the default ServiceAccount")
        await asyncio.sleep(1)  # let the scheduler's informers settle after Ready

        sent: dict[str, float] = {}
        seen: dict[str, dict[str, float]] = {}
        done = asyncio.Event()

        async def watch(rv: str) -> None:
            async for _, pod in pods.watch(namespace=NAMESPACE, resource_version=rv,
                                           label_selector="app=startup-bench",
                                           timeout_seconds=600):
                now = time.monotonic()
                marks = seen.setdefault(pod["metadata"]["name"], {})
                status = pod.get("status") or {}
                if pod["spec"].get("nodeName"):
                    marks.setdefault("bound", now)
                if status.get("hostIP"):
                    marks.setdefault("kubelet", now)
                if status.get("podIP"):
                    marks.setdefault("ip", now)
                if status.get("phase") == "Running":
                    marks.setdefault("running", now)
                if is_ready(pod):
                    marks.setdefault("ready", now)
                    if sum("ready" in m for m in seen.values()) >= n_pods:
                        done.set()
                        return

        rv = (await pods.list(namespace=NAMESPACE, limit=1))["metadata"]["resourceVersion"]
        watcher = asyncio.create_task(watch(rv))
        await asyncio.sleep(0.2)  # the watch request is on the wire before the creates

        async def create(i: int) -> None:
            body = pod_body(i)
            sent[body["metadata"]["name"]] = time.monotonic()
            await pods.create(body, namespace=NAMESPACE)

        cpu_before = cpu_seconds(workdir)
        start = time.monotonic()
        await asyncio.gather(*(create(i) for i in range(n_pods)))
        create_secs = time.monotonic() - start
        try:
            await asyncio.wait_for(asyncio.shield(done.wait()), timeout=300)
        finally:
            watcher.cancel()
        cpu_after = cpu_seconds(workdir)
        lat = {name: seen[name]["ready"] - t for name, t in sent.items()}
        phase = {key: [seen[n][key] - sent[n] for n in sent if key in seen[n]]
                 for key in ("bound", "kubelet", "ip", "running")}
        return {"node_ready_s": node_secs, "pod_cidr": node["spec"].get("podCIDR"),
                "create_s": create_secs, "latencies": list(lat.values()), "phases": phase,
                "all_ready_s": max(m["ready"] for m in seen.values()) - start,
                "cpu_s": {c: cpu_after[c] - cpu_before[c] for c in COMPONENTS}}


CRI_LINE = re.compile(r'^time="([^"]+)".*?msg="(RunPodSandbox|CreateContainer|StartContainer) ')


def cri_steps(log: str) -> dict[str, list[float]]:
    """Per-pod durations of the CRI steps, from containerd's log (its own clock)."""
    def when(stamp: str) -> float:
        return datetime.fromisoformat(stamp[:26]).timestamp()
    marks: dict[str, dict[str, float]] = {}
    sandbox_pod, container_pod = {}, {}
    for line in log.splitlines():
        m = CRI_LINE.match(line)
        if not m:
            continue
        t, step = when(m.group(1)), m.group(2)
        if step == "RunPodSandbox":
            pod = re.search(r"Name:([^,]+),", line).group(1)
            if got := re.search(r'returns sandbox id \\"([0-9a-f]+)', line):
                sandbox_pod[got.group(1)] = pod
                marks.setdefault(pod, {})["sandbox_done"] = t
            elif "returns" not in line and "failed" not in line.lower():
                marks.setdefault(pod, {}).setdefault("sandbox", t)
        elif step == "CreateContainer":
            pod = sandbox_pod.get(re.search(r'within sandbox \\"([0-9a-f]+)', line).group(1))
            if pod is None:
                continue
            if got := re.search(r'returns container id \\"([0-9a-f]+)', line):
                container_pod[got.group(1)] = pod
                marks[pod]["created"] = t
            else:
                marks[pod].setdefault("create", t)
        else:
            cid = re.search(r'StartContainer for \\"([0-9a-f]+)', line).group(1)
            if (pod := container_pod.get(cid)) is not None:
                marks[pod]["started" if "returns successfully" in line else "start"] = t
    done = [m for m in marks.values() if "started" in m]
    if not done:
        return {}
    first = min(m["sandbox"] for m in done)
    spans = {"kubelet's first RunPodSandbox -> this pod's": ("first", "sandbox"),
             "RunPodSandbox (netns, CNI, pause)": ("sandbox", "sandbox_done"),
             "CreateContainer": ("create", "created"),
             "StartContainer (runc create + start)": ("start", "started"),
             "kubelet's first RunPodSandbox -> this pod started": ("first", "started")}
    return {name: [m[b] - (first if a == "first" else m[a]) for m in done]
            for name, (a, b) in spans.items()}


def shims_of(socket: str) -> list[str]:
    shims = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and socket.encode() in argv:
            shims.append(entry)
    return shims


def make_netns(name: str) -> None:
    """The run's network namespace: loopback, and node0 (its peer stays down, so whatever
    the default route sends there is dropped) carrying the node's address."""
    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    ip("-n", name, "link", "add", "node0", "type", "veth", "peer", "name", "node0p")
    ip("-n", name, "addr", "add", f"{NODE_ADDRESS}/24", "dev", "node0")
    ip("-n", name, "link", "set", "node0", "up")
    ip("-n", name, "route", "add", "default", "dev", "node0")


def inside(args) -> None:
    """The half that runs in the namespace: the server, then the measurement."""
    data_dir, log_path = args.workdir / "data", args.workdir / "server.log"
    argv = [sys.executable, "-m", "pyk8s", "server", "--data-dir", str(data_dir),
            "--secure-port", str(API_PORT), "--advertise-address", NODE_ADDRESS,
            "--node-name", NODE, "--disable", "kube-proxy",
            "--kubelet-arg=--kill-pods-on-exit", f"--kubelet-arg=--port={KUBELET_PORT}",
            f"--kubelet-arg=--cluster-cidr={CLUSTER_CIDR}",
            f"--kube-controller-manager-arg=--cluster-cidr={CLUSTER_CIDR}"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    result: dict = {}
    try:
        deadline = time.monotonic() + 120
        while not (data_dir / "admin.conf").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("no admin.conf:\n" + log_path.read_text()[-3000:])
            time.sleep(0.2)
        result = asyncio.run(measure(data_dir / "admin.conf", args.pods, proc,
                                     str(args.workdir)))
    finally:
        proc.send_signal(signal.SIGTERM)
        t_stop = time.monotonic()
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        result["stop_s"] = time.monotonic() - t_stop
        result["exit_code"] = proc.returncode
        (args.workdir / "result.json").write_text(json.dumps(result))


def run_once(n_pods: int, keep_log: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="pyk8s-startup-") as tmp:
        work = Path(tmp)
        netns = f"pyk8s-bench-{secrets.token_hex(3)}"
        root = work / "data" / "kubelet"
        socket = str(containerd_options(root).socket)
        make_netns(netns)
        try:
            subprocess.run(["nsenter", f"--net=/run/netns/{netns}", sys.executable, __file__,
                            "--inside", str(work), "--pods", str(n_pods)], check=True)
        finally:
            containerd_log = ""
            with contextlib.suppress(OSError):
                containerd_log = containerd_options(root).log_path.read_text(errors="replace")
            if keep_log:
                shutil.copy(work / "server.log", keep_log)
                with open(keep_log, "ab") as out, contextlib.suppress(OSError):
                    out.write(b"\n----- containerd.log -----\n")
                    out.write(containerd_options(root).log_path.read_bytes())
            cleanup_runtime(root, socket)
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
        result = json.loads((work / "result.json").read_text())
        result["cri"] = cri_steps(containerd_log)
        left = []
        if shims := shims_of(socket):
            left.append(f"containerd shims {shims}")
        if netns in netns_names():
            left.append(f"netns {netns}")
        result["left_on_host"] = left
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runs", type=int, default=1, help="fresh server per run")
    parser.add_argument("--keep-log", type=Path, default=None,
                        help="copy the server's log (all components) and containerd's log to "
                             "KEEP_LOG.<run>.log")
    parser.add_argument("--inside", type=Path, metavar="WORKDIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        args.workdir = args.inside
        inside(args)
        return
    if os.geteuid() != 0:
        sys.exit("run as root: the kubelet runs containerd and sets up a bridge")
    print(f"Machine: {machine()}")
    print()
    print("| run | pods | p50 | p99 | max | all Ready after | creates took | node Ready after "
          "boot |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    results = []
    for run in range(1, args.runs + 1):
        log = args.keep_log.with_suffix(f".{run}.log") if args.keep_log else None
        r = run_once(args.pods, log)
        results.append(r)
        lat = r["latencies"]
        print(f"| {run} | {len(lat)} | {pct(lat, 50):.2f} s | {pct(lat, 99):.2f} s "
              f"| {max(lat):.2f} s | {r['all_ready_s']:.2f} s | {r['create_s'] * 1000:.0f} ms "
              f"| {r['node_ready_s']:.1f} s |", flush=True)
    print()
    print("Where the time goes (from the create's send time; p50 / p99 / max):")
    print()
    print("| run | bound (nodeName) | kubelet's first status | pod IP | Running | "
          "Running+Ready |")
    print("|---:|---:|---:|---:|---:|---:|")
    for run, r in enumerate(results, 1):
        cells = [" / ".join(f"{f(v):.2f}" for f in (lambda x: pct(x, 50), lambda x: pct(x, 99),
                                                      max)) + " s" if v else "-"
                 for v in (*r["phases"].values(), r["latencies"])]
        print(f"| {run} | " + " | ".join(cells) + " |")
    print()
    print("CRI steps from containerd's log (p50 / max):")
    print()
    print("| run | " + " | ".join(results[0]["cri"]) + " |")
    print("|---:|" + "---:|" * len(results[0]["cri"]))
    for run, r in enumerate(results, 1):
        print(f"| {run} | " + " | ".join(f"{pct(v, 50):.2f} / {max(v):.2f} s"
                                        for v in r["cri"].values()) + " |")
    print()
    print("CPU seconds used from the first create to the last pod Ready (with reaped children: "
          "CNI plugins under containerd; not the shims and their runc runs):")
    print()
    print("| run | " + " | ".join(COMPONENTS) + " |")
    print("|---:|" + "---:|" * len(COMPONENTS))
    for run, r in enumerate(results, 1):
        print(f"| {run} | " + " | ".join(f"{r['cpu_s'][c]:.2f}" for c in COMPONENTS) + " |")
    print()
    for run, r in enumerate(results, 1):
        print(f"run {run}: server stopped {r['stop_s']:.1f} s after SIGTERM (exit "
              f"{r['exit_code']}); left on the host: "
              f"{'; '.join(r['left_on_host']) or 'nothing'}")


if __name__ == "__main__":
    main()
