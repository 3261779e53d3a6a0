"""``pyk8s server``: the all-in-one control plane as a supervisor of processes.

Each component is its own process, as upstream (the API server, then the
controller manager, the scheduler, the node's kubelet and kube-proxy, which reach it
only through the API with their own kubeconfigs). The supervisor starts them in order, waits for the API
server to be ready before starting its clients, restarts a component that dies
(with backoff), and on SIGTERM/SIGINT stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass, field

log = logging.getLogger("pyk8s.server")

RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
STOP_TIMEOUT = 10.0
HEALTHY_AFTER = 30.0  # a component that ran this long starts its backoff afresh


@dataclass
class Component:
    name: str
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    ready_url: str | None = None
    env: dict = field(default_factory=dict)


def component_argv(command: str, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pyk8s", command, *args]


def _ready(url: str) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


class Supervisor:
    def __init__(self, components: list[Component]) -> None:
        self.components = components
        self._stopping = asyncio.Event()

    async def _start(self, comp: Component) -> None:
        log.info("starting %s", comp.name)
        comp.process = await asyncio.create_subprocess_exec(*comp.argv)
        comp.started_at = time.monotonic()

    async def _wait_ready(self, comp: Component, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            if comp.process and comp.process.returncode is not None:
                return False
            if await asyncio.to_thread(_ready, comp.ready_url):
                return True
            await asyncio.sleep(0.2)
        return False

    async def _watch(self, comp: Component) -> None:
        """Keep one component running until the supervisor stops."""
        while not self._stopping.is_set():
            assert comp.process is not None
            code = await comp.process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - comp.started_at > HEALTHY_AFTER:
                comp.restarts = 0
            delay = RESTART_BACKOFF[min(comp.restarts, len(RESTART_BACKOFF) - 1)]
            comp.restarts += 1
            log.error("%s exited with code %s; restarting in %.0fs", comp.name, code, delay)
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
                return
            except TimeoutError:
                await self._start(comp)

    async def run(self, on_ready=None) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        watchers = []
        try:
            for comp in self.components:
                await self._start(comp)
                if comp.ready_url and not await self._wait_ready(comp):
                    if self._stopping.is_set():
                        return 0
                    log.error("%s did not become ready", comp.name)
                    return 1
                watchers.append(asyncio.create_task(self._watch(comp)))
            if on_ready:
                on_ready()
            await self._stopping.wait()
            return 0
        finally:
            self._stopping.set()
            for task in watchers:
                task.cancel()
            await self._stop_all()

    async def _stop_all(self) -> None:
        for comp in reversed(self.components):
            proc = comp.process
            if proc is None or proc.returncode is not None:
                continue
            log.info("stopping %s", comp.name)
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("%s did not stop in %.0fs; killing it", comp.name, STOP_TIMEOUT)
                proc.kill()
                await proc.wait()
