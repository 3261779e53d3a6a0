"""This node's pod network when the kubelet runs its own containerd: CNI config, masquerade
and routes.

Only the Node's ``spec.podCIDR(s)`` (set by the controller manager's node IPAM, or by the
kubelet's ``--pod-cidr`` at registration) says which addresses this node's pods get, so the
CNI conflist (a ``bridge`` + ``host-local`` chain, see :mod:`.runtime.cni`) is written once
the watched Node has one, and again if it changes. Until then containerd reports
``NetworkReady=false`` over CRI, the Node is not Ready and pods wait (``NetworkNotReady``),
as upstream with a CNI plugin that has no config yet. Once containerd has picked the config
up, the node status is recomputed at once rather than at its next period.

Pod traffic leaving the podCIDR (but not multicast) is masqueraded by one nat POSTROUTING
rule per podCIDR, added with the config (as kubenet's single rule, rather than CNI bridge's
``ipMasq`` chain per pod), its comment naming the CNI network so cleanup can find it.

Before that, ``unreachable`` routes for the service and cluster CIDRs are added in this
network namespace when no route for exactly that prefix exists: a packet for a ClusterIP no
proxy rule caught, or for a pod CIDR of a node that is not there, must fail here instead of
following the default route off the machine. More specific routes (this node's podCIDR on
its bridge) still win. The routes are left in place on exit: they only ever stop traffic.

The service CIDR needs one more route. A connection the node itself opens to a ClusterIP
is routed before kube-proxy's nat OUTPUT rule rewrites its destination, and an
``unreachable`` route fails it right there ("No route to host"). So the service CIDR is
routed to :data:`SERVICE_DEVICE`, an empty bridge (no ports: whatever is sent there is
dropped), and its ``unreachable`` route gets the highest metric: the route lookup succeeds,
DNAT then sends the packet to its pod (or kube-proxy's REJECT refuses it), and a packet for
a ClusterIP without any rule dies on that bridge. Not the pod bridge: a pod's packet for a
ClusterIP would then be forwarded out the interface it came in on, the kernel would answer
with an ICMP redirect, and the pod would ARP for the ClusterIP instead of taking the REJECT.
If the device goes away, its route goes with it and the ``unreachable`` route remains.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .runtime import Runtime, RuntimeError_, network_problem
from .runtime.cni import DEFAULT_BRIDGE, DEFAULT_NETWORK, write_conflist

log = logging.getLogger("pyk8s.kubelet.podnetwork")

READY_POLL = 0.2


@dataclass
class NetworkOptions:
    conf_dir: Path
    data_dir: Path
    bridge: str = DEFAULT_BRIDGE
    network: str = DEFAULT_NETWORK
    unreachable: tuple[str, ...] = ("10.96.0.0/12", "10.244.0.0/16")
    service_cidr: str = "10.96.0.0/12"  # also routed to SERVICE_DEVICE (above); "" for none


def pod_cidrs(node: dict) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


async def _ip(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec("ip", *args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode(errors="replace").strip()


async def ensure_unreachable_routes(cidrs: tuple[str, ...]) -> list[str]:
    """``ip route add unreachable CIDR`` for each prefix with no route yet; the ones added."""
    added = []
    for cidr in cidrs:
        code, out = await _ip("route", "show", "exact", cidr)
        if code == 0 and out:
            continue
        code, out = await _ip("route", "add", "unreachable", cidr)
        if code == 0:
            added.append(cidr)
            log.info("added route: unreachable %s", cidr)
        elif "File exists" not in out:
            raise OSError(f"ip route add unreachable {cidr} failed: {out}")
    return added


#: Where the service CIDR is routed: an empty bridge, a dead end for unrewritten packets.
SERVICE_DEVICE = "pyk8s-svc0"
#: The metric of the service CIDR's fallback ``unreachable`` route: the highest there is.
LAST_RESORT_METRIC = "4294967295"


async def ensure_service_route(cidr: str, device: str = SERVICE_DEVICE) -> None:
    """Route ``cidr`` to ``device`` (an empty bridge, made if missing) ahead of an
    ``unreachable`` route of the highest metric; another route for exactly ``cidr`` that
    someone else put there is kept."""
    code, _ = await _ip("link", "show", device)
    if code != 0:
        code, out = await _ip("link", "add", device, "type", "bridge")
        if code != 0 and "File exists" not in out:
            raise OSError(f"ip link add {device} type bridge failed: {out}")
        await _ip("link", "set", device, "up")
    code, out = await _ip("route", "show", "exact", cidr)
    routes = out.splitlines() if code == 0 else []
    if any(f" dev {device} " in f"{line} " for line in routes):
        return
    if any(not line.startswith("unreachable") for line in routes):
        log.info("keeping the existing route for the service CIDR %s", cidr)
        return
    code, out = await _ip("route", "replace", cidr, "dev", device)
    if code != 0:
        raise OSError(f"ip route replace {cidr} dev {device} failed: {out}")
    code, out = await _ip("route", "add", "unreachable", cidr, "metric", LAST_RESORT_METRIC)
    if code != 0 and "File exists" not in out:
        raise OSError(f"ip route add unreachable {cidr} failed: {out}")
    log.info("routed the service CIDR %s to %s (unreachable when it is gone)", cidr, device)


async def _iptables(cidr: str, *args: str) -> tuple[int, str]:
    tool = "ip6tables" if ":" in cidr else "iptables"
    proc = await asyncio.create_subprocess_exec(tool, "-w", *args,
                                                stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode(errors="replace").strip()


async def ensure_masquerade(cidrs: list[str], network: str) -> None:
    """The nat rule masquerading what each pod CIDR sends elsewhere (kept once there)."""
    for cidr in cidrs:
        rule = ["POSTROUTING", "-s", cidr, "!", "-d", cidr, "-m", "addrtype", "!",
                "--dst-type", "MULTICAST", "-m", "comment", "--comment",
                f'name: "{network}" masquerade traffic leaving the pod CIDR',
                "-j", "MASQUERADE"]
        code, _ = await _iptables(cidr, "-t", "nat", "-C", *rule)
        if code == 0:
            continue
        code, out = await _iptables(cidr, "-t", "nat", "-A", *rule)
        if code != 0:
            raise OSError(f"adding the masquerade rule for {cidr} failed: {out}")
        log.info("added masquerade rule for pod CIDR %s", cidr)


class PodNetwork:
    """Writes the conflist for the Node's podCIDRs; ``on_ready`` once containerd has it."""

    def __init__(self, opts: NetworkOptions, runtime: Runtime,
                 on_ready: Callable[[], None]) -> None:
        self.opts = opts
        self.runtime = runtime
        self.on_ready = on_ready
        self.cidrs: list[str] = []
        self._changed = asyncio.Event()

    def node_changed(self, node: dict) -> None:
        """The Node as the informer saw it (add or update)."""
        cidrs = pod_cidrs(node)
        if cidrs and cidrs != self.cidrs:
            self.cidrs = cidrs
            self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        await ensure_unreachable_routes(self.opts.unreachable)
        if self.opts.service_cidr:
            await ensure_service_route(self.opts.service_cidr)
        while not stop.is_set():
            waits = [asyncio.ensure_future(stop.wait()),
                     asyncio.ensure_future(self._changed.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
            if stop.is_set():
                return
            self._changed.clear()
            await ensure_masquerade(self.cidrs, self.opts.network)  # before any pod can start
            if write_conflist(self.opts.conf_dir, self.cidrs, data_dir=str(self.opts.data_dir),
                              bridge=self.opts.bridge, network=self.opts.network):
                log.info("wrote the CNI config for pod CIDRs %s (bridge %s)",
                         ",".join(self.cidrs), self.opts.bridge)
            await self._until_runtime_network_ready(stop)
            self.on_ready()

    async def _until_runtime_network_ready(self, stop: asyncio.Event) -> None:
        """containerd loads the conf dir on a file event; wait until it says so."""
        while not stop.is_set():
            try:
                if not network_problem(await self.runtime.status()):
                    return
            except RuntimeError_ as err:
                log.warning("runtime status failed: %s", err)
            try:
                async with asyncio.timeout(READY_POLL):
                    await stop.wait()
            except TimeoutError:
                pass
