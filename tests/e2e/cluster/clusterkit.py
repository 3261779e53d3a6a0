"""A real ``pyk8s server`` with hollow nodes for the cluster acceptance tests.

:class:`Cluster` starts ``python -m pyk8s server`` (API server, controller manager and
scheduler as supervised processes) on a free loopback port, waits for ``/readyz`` and for
the controller-manager and scheduler Leases in kube-system, and runs ``pyk8s
hollow-nodes`` processes (one per node here, so a test can stop a single node).
:class:`PodWatch` follows pods from a background thread (its own event loop and client)
so a test can check an invariant at every moment, not only when it polls.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from polling import wait_until  # noqa: F401  (the cluster tests import it from here)
from serverproc import free_port

from pyk8s.client import Client, Gone, load_kubeconfig

#: hollow kubelets renew their Lease every quarter of this; the controller manager runs
#: with --node-monitor-grace-period=10s, so a live node must renew well within 10 s.
NODE_LEASE_SECONDS = "8"


@dataclass
class Proc:
    """A child process whose output goes to a log file."""

    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None

    def start(self) -> "Proc":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""


def pyk8s(*args: str) -> list[str]:
    return [sys.executable, "-m", "pyk8s", *args]


@dataclass
class Cluster:
    workdir: Path
    port: int = field(default_factory=free_port)
    server: Proc | None = None
    nodes: dict[str, Proc] = field(default_factory=dict)
    extra: list[Proc] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.conf"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, *extra_args: str, timeout: float = 60.0,
              node_monitor_grace: str | None = "10s") -> "Cluster":
        grace = ([f"--kube-controller-manager-arg=--node-monitor-grace-period={node_monitor_grace}"]
                 if node_monitor_grace else [])
        self.server = Proc("server", pyk8s(
            "server", "--data-dir", str(self.data_dir), "--secure-port", str(self.port),
            "--disable", "kubelet", "--disable", "kube-proxy", *grace, *extra_args),
            self.workdir / "server.log").start()
        ctx = ssl._create_unverified_context()

        def ready() -> bool:
            assert self.server.alive(), f"pyk8s server exited:\n{self.server.log()}"
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=2) as r:
                    return r.status == 200 and self.kubeconfig.exists()
            except OSError:
                return False

        wait_until(ready, timeout, "the API server's /readyz")
        wait_until(lambda: {"kube-controller-manager", "kube-scheduler"} <= {
            name for name, holder in self.lease_holders().items() if holder},
            timeout, "the controller-manager and scheduler leases in kube-system")
        return self

    def lease_holders(self) -> dict[str, str]:
        out = self.kubectl("get", "leases", "-n", "kube-system", "-o", "json")
        return {item["metadata"]["name"]: (item.get("spec") or {}).get("holderIdentity", "")
                for item in json.loads(out)["items"]}

    def kubectl(self, *args: str, timeout: float = 30.0) -> str:
        proc = subprocess.run(["kubectl", *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env())
        if proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout

    def env(self) -> dict:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def add_node(self, prefix: str, zone: str, *extra: str, wait: bool = True) -> str:
        """Start a hollow-nodes process for one node ``<prefix>0``; return the node name."""
        name = f"{prefix}0"
        self.nodes[name] = Proc(name, pyk8s(
            "hollow-nodes", "--kubeconfig", str(self.kubeconfig), "--count", "1",
            "--name-prefix", prefix, "--labels", f"topology.kubernetes.io/zone={zone}",
            "--node-lease-duration-seconds", NODE_LEASE_SECONDS, *extra),
            self.workdir / f"hollow-{name}.log").start()
        if wait:
            wait_until(lambda: self.node_ready(name), 60, f"node {name} Ready")
        return name

    def node_ready(self, name: str) -> bool:
        proc = subprocess.run(["kubectl", "get", "node", name, "-o",
                               "jsonpath={.status.conditions[?(@.type=='Ready')].status}"],
                              capture_output=True, text=True, timeout=30, env=self.env())
        return proc.returncode == 0 and proc.stdout.strip() == "True"

    def start_process(self, name: str, *args: str) -> Proc:
        proc = Proc(name, pyk8s(*args), self.workdir / f"{name}.log").start()
        self.extra.append(proc)
        return proc

    def component_pid(self, command: str) -> int | None:
        """The pid of the server's supervised ``pyk8s <command>`` child."""
        assert self.server is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.server.pid and command.encode() in cmdline:
                return int(entry.name)
        return None

    def stop(self) -> None:
        for proc in [*self.extra, *self.nodes.values()]:
            proc.stop(signal.SIGTERM, timeout=10)
        if self.server:
            self.server.stop(timeout=30)

    def client(self) -> Client:
        return Client(load_kubeconfig(self.kubeconfig, component="e2e-test"))


class PodWatch:
    """Follows the pods matching a label selector in a namespace, from a thread.

    ``on_change(pods)`` is called with the current {name: pod} after every event, so a
    test can assert an invariant at every step of a rollout.
    """

    def __init__(self, cluster: Cluster, namespace: str, selector: str,
                 on_change: Callable[[dict], None] | None = None) -> None:
        self.cluster, self.namespace, self.selector = cluster, namespace, selector
        self.on_change = on_change or (lambda pods: None)
        self.pods: dict[str, dict] = {}
        self.events: list[tuple[str, str]] = []
        self.errors: list[BaseException] = []
        self.synced = threading.Event()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PodWatch":
        self._thread.start()
        if not self.synced.wait(30):
            raise AssertionError(f"pod watch did not start: {self.errors}")
        return self

    def __exit__(self, *exc) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def snapshot(self) -> dict[str, dict]:
        with self._lock:
            return dict(self.pods)

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        task = asyncio.create_task(self._follow())
        stopper = asyncio.create_task(self._stop.wait())
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
        for t in (task, stopper):
            t.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)

    async def _follow(self) -> None:
        try:
            async with self.cluster.client() as client:
                api = client.api("v1", "Pod")
                while True:
                    page = await api.list(namespace=self.namespace,
                                          label_selector=self.selector)
                    with self._lock:
                        self.pods = {p["metadata"]["name"]: p for p in page["items"]}
                    self._changed()
                    self.synced.set()
                    rv = page["metadata"]["resourceVersion"]
                    try:
                        async for kind, obj in api.watch(namespace=self.namespace,
                                                         label_selector=self.selector,
                                                         resource_version=rv,
                                                         timeout_seconds=300):
                            if kind == "BOOKMARK":
                                continue
                            name = obj["metadata"]["name"]
                            with self._lock:
                                if kind == "DELETED":
                                    self.pods.pop(name, None)
                                else:
                                    self.pods[name] = obj
                                self.events.append((kind, name))
                            self._changed()
                    except Gone:
                        continue
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # surfaced by check()
            self.errors.append(err)
            self.synced.set()

    def _changed(self) -> None:
        try:
            self.on_change(self.snapshot())
        except BaseException as err:
            self.errors.append(err)

    def check(self) -> None:
        """Raise what the watch thread saw go wrong (a failed invariant, an error)."""
        if self.errors:
            raise self.errors[0]


def is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def is_active(pod: dict) -> bool:
    """Not terminating and not finished: what a ReplicaSet counts as one of its replicas."""
    return (not pod["metadata"].get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))


def available(pods: dict[str, dict]) -> int:
    return sum(1 for p in pods.values() if is_active(p) and is_ready(p))
