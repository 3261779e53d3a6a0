"""This node's Node object: registration, then its status kept current.

After ``kubelet_node_status.go`` and ``nodestatus/setters.go``. The machine is read
from the host: CPUs (``os.cpu_count``), memory (``/proc/meminfo``), ephemeral storage
(``statvfs`` of the root dir), 110 pods. Allocatable is capacity less the default hard
eviction thresholds (``memory.available<100Mi``, ``nodefs.available<10%``). Conditions
come in the kubelet's order: MemoryPressure and DiskPressure from the same thresholds,
PIDPressure from the share of ``pid_max`` in use, Ready from whether the container
runtime answers and reports its pod network ready (CRI ``NetworkReady``: containerd says
no until a CNI config exists, i.e. until this node's podCIDR is known). ``nodeInfo`` carries the runtime's name and version.

Registration creates the Node (or takes over one of that name, labels brought to
ours). Every ``update_frequency`` (10 s) the status is recomputed and patched if it
changed, or anyway once ``report_frequency`` has passed; heartbeat times alone are no
change, since the Lease carries liveness.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import socket
import time
import uuid
from dataclasses import dataclass

from ..client import AlreadyExists, Client, NotFound
from ..client.backoff import Backoff
from ..client.errors import ClientError
from .podstatus import rfc3339
from .runtime import Runtime, RuntimeError_, network_problem

log = logging.getLogger("pyk8s.kubelet.nodestatus")

KUBELET_VERSION = "v1.32.4-pyk8s"
KUBELET_PORT = 10250
MAX_PODS = 110
MEMORY_EVICTION = 100 * 2 ** 20
DISK_EVICTION_FRACTION = 0.10
PID_PRESSURE_FRACTION = 0.9


@dataclass
class Machine:
    """What the host has, as read at one moment."""

    cpus: int
    memory_total: int
    memory_available: int
    disk_total: int
    disk_available: int
    pids_used: int
    pid_max: int


def _meminfo(path: str = "/proc/meminfo") -> dict[str, int]:
    out = {}
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[key] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def read_machine(root_dir: str) -> Machine:
    mem = _meminfo()
    fs = os.statvfs(root_dir)
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
    except OSError:
        pid_max = 32768
    pids = sum(1 for name in os.listdir("/proc") if name.isdigit())
    return Machine(cpus=os.cpu_count() or 1, memory_total=mem.get("MemTotal", 0),
                   memory_available=mem.get("MemAvailable", mem.get("MemFree", 0)),
                   disk_total=fs.f_blocks * fs.f_frsize, disk_available=fs.f_bavail * fs.f_frsize,
                   pids_used=pids, pid_max=pid_max)


def capacity(m: Machine) -> dict[str, str]:
    return {"cpu": str(m.cpus), "memory": f"{m.memory_total // 1024}Ki",
            "ephemeral-storage": f"{m.disk_total // 1024}Ki", "pods": str(MAX_PODS),
            "hugepages-1Gi": "0", "hugepages-2Mi": "0"}


def allocatable(m: Machine) -> dict[str, str]:
    memory = max(0, m.memory_total - MEMORY_EVICTION)
    disk = int(m.disk_total * (1 - DISK_EVICTION_FRACTION))
    return {**capacity(m), "memory": f"{memory // 1024}Ki", "ephemeral-storage": str(disk)}


def default_labels(name: str) -> dict[str, str]:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": arch}


def _os_image() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _file(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def conditions(m: Machine, not_ready: str, old: list | None, now: str) -> list[dict]:
    """The four node conditions (``not_ready``: why the node is not Ready, "" when it is);
    lastTransitionTime moves only on a status change."""
    memory = m.memory_available < MEMORY_EVICTION
    disk = m.disk_total and m.disk_available < m.disk_total * DISK_EVICTION_FRACTION
    pids = m.pids_used > m.pid_max * PID_PRESSURE_FRACTION
    rows = [
        ("MemoryPressure", memory, ("KubeletHasInsufficientMemory",
                                    "kubelet has insufficient memory available")
         if memory else ("KubeletHasSufficientMemory", "kubelet has sufficient memory available")),
        ("DiskPressure", disk, ("KubeletHasDiskPressure", "kubelet has disk pressure")
         if disk else ("KubeletHasNoDiskPressure", "kubelet has no disk pressure")),
        ("PIDPressure", pids, ("KubeletHasInsufficientPID", "kubelet has insufficient PID")
         if pids else ("KubeletHasSufficientPID", "kubelet has sufficient PID available")),
        ("Ready", not not_ready, ("KubeletNotReady", not_ready) if not_ready
         else ("KubeletReady", "kubelet is posting ready status")),
    ]
    previous = {c.get("type"): c for c in old or ()}
    out = []
    for ctype, flag, (reason, message) in rows:
        status = "True" if flag else "False"
        was = previous.get(ctype) or {}
        since = was.get("lastTransitionTime") if was.get("status") == status else None
        out.append({"type": ctype, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": since or now, "reason": reason, "message": message})
    return out


def changed(current: dict | None, desired: dict) -> bool:
    """Whether ``desired`` differs from ``current`` in more than heartbeat times."""
    current = current or {}
    for key in ("capacity", "allocatable", "addresses", "nodeInfo", "daemonEndpoints"):
        if current.get(key) != desired[key]:
            return True
    have = {c.get("type"): c for c in current.get("conditions") or ()}
    fields = ("status", "reason", "message", "lastTransitionTime")
    return any(any((have.get(c["type"]) or {}).get(f) != c[f] for f in fields)
               for c in desired["conditions"])


class NodeStatusManager:
    def __init__(self, client: Client, runtime: Runtime, *, node_name: str, node_ip: str,
                 root_dir: str, pod_cidr: str = "", labels: dict[str, str] | None = None,
                 update_frequency: float = 10.0,
                 report_frequency: float = 300.0, kubelet_port: int = KUBELET_PORT) -> None:
        self.api = client.api("v1", "Node")
        self.runtime = runtime
        self.name, self.node_ip, self.root_dir = node_name, node_ip, root_dir
        self.pod_cidr = pod_cidr
        self.kubelet_port = kubelet_port
        self.labels = {**default_labels(node_name), **(labels or {})}
        self.update_frequency, self.report_frequency = update_frequency, report_frequency
        self.uid: str | None = None
        self.node: dict | None = None
        self.runtime_name = "unknown"
        self._last_report = 0.0
        self._poked = asyncio.Event()
        self._boot_id = _file("/proc/sys/kernel/random/boot_id")
        self._machine_id = _file("/etc/machine-id") or uuid.uuid5(
            uuid.NAMESPACE_DNS, node_name).hex

    def machine(self) -> Machine:
        return read_machine(self.root_dir)

    async def status(self, old: dict | None) -> dict:
        m = self.machine()
        not_ready, version = "", ""
        try:
            self.runtime_name, version = await self.runtime.version()
            network = network_problem(await self.runtime.status())
            if network:
                not_ready = f"container runtime network not ready: {network}"
        except (RuntimeError_, OSError) as err:
            not_ready = f"container runtime is down: {err}"
        now = rfc3339()
        return {
            "capacity": capacity(m), "allocatable": allocatable(m),
            "conditions": conditions(m, not_ready, (old or {}).get("conditions"), now),
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": socket.gethostname()}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port}},
            "nodeInfo": {"machineID": self._machine_id, "systemUUID": self._machine_id,
                         "bootID": self._boot_id, "kernelVersion": platform.release(),
                         "osImage": _os_image(), "operatingSystem": "linux",
                         "architecture": default_labels(self.name)["kubernetes.io/arch"],
                         "containerRuntimeVersion": f"{self.runtime_name}://{version}",
                         "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": ""},
        }

    async def register(self, stop: asyncio.Event) -> bool:
        """Create or take over the Node, retrying with backoff; False if stopped first."""
        backoff = Backoff(initial=0.2, cap=7.0, jitter=0.2)
        while not stop.is_set():
            try:
                await self._register_once()
                return True
            except ClientError as err:
                delay = backoff.next()
                log.warning("registering node %s failed: %s (retry in %.1fs)", self.name,
                            err, delay)
                try:
                    async with asyncio.timeout(delay):
                        await stop.wait()
                except TimeoutError:
                    pass
        return False

    async def _register_once(self) -> None:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": self.labels,
                             "annotations": {"volumes.kubernetes.io/controller-managed-"
                                             "attach-detach": "true"}},
                "spec": {"podCIDR": self.pod_cidr, "podCIDRs": [self.pod_cidr]}
                if self.pod_cidr else {}}
        try:
            self.node = await self.api.create(node)
            log.info("registered node %s", self.name)
        except AlreadyExists:
            existing = await self.api.get(self.name)
            labels = (existing["metadata"].get("labels") or {})
            missing = {k: v for k, v in self.labels.items() if labels.get(k) != v}
            self.node = await self.api.patch(self.name, {"metadata": {"labels": missing}}) \
                if missing else existing
            log.info("node %s already registered; taking it over", self.name)
        self.uid = self.node["metadata"]["uid"]
        await self._post(force=True)

    async def _post(self, *, force: bool = False) -> None:
        current = (self.node or {}).get("status")
        desired = await self.status(current)
        due = time.monotonic() - self._last_report >= self.report_frequency
        if not (force or due or changed(current, desired)):
            return
        self.node = await self.api.patch(self.name, {"status": desired}, type="strategic",
                                         subresource="status")
        self._last_report = time.monotonic()

    def poke(self) -> None:
        """Recompute the status now rather than at the next period (the network came up)."""
        self._poked.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Post the status every ``update_frequency`` (or when poked) until ``stop``."""
        while not stop.is_set():
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._poked.wait())]
            try:
                await asyncio.wait(waits, timeout=self.update_frequency,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
            if stop.is_set():
                return
            self._poked.clear()
            try:
                self.node = await self.api.get(self.name)
                await self._post()
            except NotFound:
                log.warning("node %s was deleted; registering it again", self.name)
                await self.register(stop)
            except (ClientError, OSError) as err:
                log.warning("updating node status failed: %s", err)
