"""Liveness, readiness and startup probes: one asyncio task per running container and probe.

As upstream's prober manager: a probe worker starts when the pod worker sees the
container running and stops when that container (by id) is gone. It waits
``initialDelaySeconds``, then probes every ``periodSeconds`` with
``timeoutSeconds``; a result flips only after ``successThreshold`` /
``failureThreshold`` consecutive outcomes. Until a startup probe succeeds, the
container is not started and the other probes do not run. Readiness starts out
failing when a readiness probe exists. A result change wakes the pod worker
(``on_change(uid)``), which reads readiness into the Ready condition and restarts a
container whose liveness or startup probe failed.

Probe kinds: ``exec`` (the runtime's ExecSync, success on exit 0), ``httpGet``
(status 200-399), ``tcpSocket`` (a connection opens) and ``grpc`` (the standard
``grpc.health.v1.Health/Check`` for ``grpc.service`` answers SERVING), all to the pod's
IP. Every failed attempt is a Warning event ``Unhealthy`` ("Liveness probe failed:
..."), as upstream's prober records it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .grpcprobe import grpc_health_check
from .runtime import Runtime, RuntimeError_

log = logging.getLogger("pyk8s.kubelet.probes")

KINDS = ("startupProbe", "livenessProbe", "readinessProbe")


@dataclass
class _Result:
    ok: bool
    streak: int = 0
    last_ok: bool | None = None
    message: str = ""
    container: str = ""


def _port(container: dict, port) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.get("ports") or ():
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"unknown named port {port!r}")


async def run_probe(runtime: Runtime, probe: dict, container: dict, container_id: str,
                    pod_ip: str) -> tuple[bool, str]:
    """One probe attempt: (success, message)."""
    timeout = int(probe.get("timeoutSeconds") or 1)
    try:
        async with asyncio.timeout(timeout + 1):
            if "exec" in probe:
                result = await runtime.exec_sync(container_id, probe["exec"]["command"], timeout)
                return result.exit_code == 0, result.stdout.decode(errors="replace")[:200]
            if "httpGet" in probe:
                return await _http(probe["httpGet"], container, pod_ip, timeout)
            if "tcpSocket" in probe:
                host = probe["tcpSocket"].get("host") or pod_ip
                _, writer = await asyncio.open_connection(
                    host, _port(container, probe["tcpSocket"]["port"]))
                writer.close()
                return True, ""
            if "grpc" in probe:
                spec = probe["grpc"]
                return await grpc_health_check(pod_ip, int(spec["port"]),
                                               spec.get("service") or "", timeout)
    except (OSError, TimeoutError, ValueError, RuntimeError_) as err:
        return False, str(err) or type(err).__name__
    return False, "unsupported probe handler"


async def _http(spec: dict, container: dict, pod_ip: str, timeout: int) -> tuple[bool, str]:
    host = spec.get("host") or pod_ip
    port = _port(container, spec.get("port", 80))
    path = spec.get("path") or "/"
    headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in spec.get("httpHeaders") or ())
    if (spec.get("scheme") or "HTTP").upper() == "HTTPS":
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    else:
        reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"User-Agent: kube-probe/1.32\r\n{headers}Connection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        line = (await reader.readline()).decode(errors="replace").split()
    finally:
        writer.close()
    code = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
    return 200 <= code < 400, f"HTTP probe failed with statuscode: {code}" if code else \
        "malformed HTTP response"


class ProbeManager:
    """``on_failure(pod, kind, message)`` hears of every failed attempt (for events)."""

    def __init__(self, runtime: Runtime, on_change: Callable[[str], None],
                 on_failure: Callable[[dict, str, str], None] = lambda pod, kind, msg: None
                 ) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.on_failure = on_failure
        self._results: dict[tuple[str, str], _Result] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task] = {}
        self._pods: dict[str, set[str]] = {}  # pod uid -> container ids probed

    # -- what the pod worker reads -----------------------------------------------------

    def ready(self, cid: str) -> bool:
        result = self._results.get((cid, "readinessProbe"))
        return result is None or result.ok

    def started(self, cid: str) -> bool:
        result = self._results.get((cid, "startupProbe"))
        return result is None or result.ok

    def unhealthy(self, cid: str) -> str | None:
        for kind in ("livenessProbe", "startupProbe"):
            result = self._results.get((cid, kind))
            if result is not None and not result.ok and result.last_ok is False and \
                    (kind == "livenessProbe" or result.streak < 0):
                return f"Container {result.container} failed {kind[:-5]} probe, " \
                       "will be restarted"
        return None

    # -- lifecycle ---------------------------------------------------------------------

    def sync(self, pod: dict, running: dict[str, str], pod_ip: str) -> None:
        """Probe the running containers (spec name -> container id) of ``pod``."""
        uid = pod["metadata"]["uid"]
        specs = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or ()}
        wanted = set()
        for name, cid in running.items():
            container = specs.get(name)
            if container is None:
                continue
            wanted.add(cid)
            for kind in KINDS:
                if container.get(kind) and (cid, kind) not in self._tasks:
                    self._results[(cid, kind)] = _Result(ok=kind == "livenessProbe",
                                                         container=name)
                    self._tasks[(cid, kind)] = asyncio.create_task(
                        self._work(pod, cid, kind, container, pod_ip),
                        name=f"probe {kind} {cid[:12]}")
        for cid in self._pods.get(uid, set()) - wanted:
            self._stop_container(cid)
        self._pods[uid] = wanted

    def _stop_container(self, cid: str) -> None:
        for kind in KINDS:
            task = self._tasks.pop((cid, kind), None)
            if task:
                task.cancel()
            self._results.pop((cid, kind), None)

    def forget(self, uid: str) -> None:
        for cid in self._pods.pop(uid, set()):
            self._stop_container(cid)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _work(self, pod: dict, cid: str, kind: str, container: dict,
                    pod_ip: str) -> None:
        uid = pod["metadata"]["uid"]
        probe = container[kind]
        period = float(probe.get("periodSeconds") or 10)
        success_needed = int(probe.get("successThreshold") or 1)
        failure_needed = int(probe.get("failureThreshold") or 3)
        await asyncio.sleep(float(probe.get("initialDelaySeconds") or 0))
        while True:
            if kind == "startupProbe" or self.started(cid):
                ok, message = await run_probe(self.runtime, probe, container, cid, pod_ip)
                result = self._results.get((cid, kind))
                if result is None:
                    return
                if not ok:
                    self.on_failure(pod, kind, message)
                result.streak = (max(result.streak, 0) + 1) if ok else \
                    (min(result.streak, 0) - 1)
                before = result.ok
                if ok and result.streak >= success_needed:
                    result.ok, result.last_ok = True, True
                elif not ok and -result.streak >= failure_needed:
                    result.ok, result.last_ok, result.message = False, False, message
                if result.ok != before:
                    log.info("%s of container %s: %s", kind, cid[:12],
                             "success" if result.ok else f"failure ({message})")
                    self.on_change(uid)
                if kind == "startupProbe" and result.ok:
                    return
            await asyncio.sleep(period)
