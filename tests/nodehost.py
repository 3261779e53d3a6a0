"""Host cleanup after a test ran a real kubelet (and its containerd) on this machine.

A kubelet with ``--kill-pods-on-exit`` removes its pods itself; this is the safety net for
a run that failed half-way, and removes what outlives every kubelet by design: the CNI
bridge, the nat rules CNI tagged with the test's network name, and the ``unreachable``
routes the kubelet added (only those that were not there before the test).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

from pyk8s.kubelet.podnetwork import SERVICE_DEVICE

UNREACHABLE = ("10.96.0.0/12", "10.244.0.0/16")


def route_exists(cidr: str) -> bool:
    return bool(subprocess.run(["ip", "route", "show", "exact", cidr], capture_output=True,
                               text=True, check=False).stdout.strip())


def routes_present() -> dict[str, bool]:
    """Which of the kubelet's routes (and its service-CIDR device) exist now (call before
    the kubelet starts)."""
    device = subprocess.run(["ip", "link", "show", SERVICE_DEVICE], capture_output=True,
                            check=False).returncode == 0
    return {**{cidr: route_exists(cidr) for cidr in UNREACHABLE}, SERVICE_DEVICE: device}


def remove_added_routes(before: dict[str, bool]) -> None:
    for name, existed in before.items():
        if existed:
            continue
        if name == SERVICE_DEVICE:  # its route goes with it
            subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
            continue
        while subprocess.run(["ip", "route", "del", "unreachable", name], capture_output=True,
                             check=False).returncode == 0:
            pass  # the service CIDR has two: metric 0 and the last-resort one


def _kill_shims(socket: str) -> None:
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and socket.encode() in argv:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


def _drop_nat_rules(network: str) -> None:
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True,
                           check=True).stdout
    chains = set()
    for line in saved.splitlines():
        if line.startswith("-A ") and f'name: \\"{network}\\"' in line:
            args = shlex.split(line)[1:]
            subprocess.run(["iptables", "-t", "nat", "-D", *args], capture_output=True, check=False)
            if args[0].startswith("CNI-") and not args[0].startswith("CNI-HOSTPORT"):
                chains.add(args[0])
    for chain in chains:
        subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True, check=False)
        subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True, check=False)


def cleanup_runtime(root: Path, socket: str) -> None:
    """Shims serving ``socket``, mounts under ``root``, then ``root`` itself."""
    _kill_shims(socket)
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f"{root}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


def cleanup_host(root: Path, socket: str, bridge: str, network: str) -> None:
    """:func:`cleanup_runtime`, and the bridge and nat rules in this network namespace."""
    cleanup_runtime(root, socket)
    subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    _drop_nat_rules(network)
