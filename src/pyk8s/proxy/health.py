"""kube-proxy's two HTTP servers: health (``:10256``) and metrics (``127.0.0.1:10249``).

Load balancers and node agents probe ``http://NODE:10256/healthz`` to learn whether this
node's service rules are current, as they would upstream's kube-proxy
(pkg/proxy/healthcheck/proxy_health.go):

* the proxier calls :meth:`ProxyHealth.queued_update` when a change arrives and
  :meth:`ProxyHealth.updated` after each successful sync; it is unhealthy once a queued
  change has waited longer than the health timeout (2 x ``--iptables-sync-period``);
* ``/healthz`` also fails (503) when this Node is being deleted or carries the cluster
  autoscaler's ``ToBeDeletedByClusterAutoscaler`` taint (``nodeEligible: false``);
  ``/livez`` ignores the Node;
* bodies are upstream's JSON, times in Go's ``time.Time`` string form; when healthy,
  ``lastUpdated`` is the current time (upstream keeps that old meaning).

The metrics server answers ``/metrics`` (Prometheus text), ``/proxyMode`` and ``/healthz``
(``ok``). Both bind what ``--healthz-bind-address`` / ``--metrics-bind-address`` say
(empty disables one). Unlike upstream, failing to bind (another kube-proxy on the same
network namespace) is logged and kube-proxy keeps programming rules without that server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from .metrics import ProxyMetrics

log = logging.getLogger("pyk8s.kube-proxy.health")

TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"
GO_ZERO_TIME = "0001-01-01 00:00:00 +0000 UTC"  # never synced
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def go_time(epoch: float) -> str:
    """``time.Time.String()`` of a UTC instant: ``2024-05-01 10:00:00.123456 +0000 UTC``."""
    stamp = datetime.fromtimestamp(epoch, UTC)
    fraction = f"{stamp.microsecond:06d}".rstrip("0")
    return stamp.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + \
        " +0000 UTC"


def node_eligible(node: dict) -> bool:
    """False while the Node is being deleted or the autoscaler is about to delete it."""
    if (node.get("metadata") or {}).get("deletionTimestamp"):
        return False
    taints = (node.get("spec") or {}).get("taints") or ()
    return not any(t.get("key") == TO_BE_DELETED_TAINT for t in taints)


class ProxyHealth:
    """Whether the proxier keeps up: the state behind ``/healthz`` and ``/livez``."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.time) -> None:
        self.timeout = timeout
        self.clock = clock
        self.last_updated: float | None = None
        self.oldest_queued: float | None = None
        self.node_eligible = True  # until the first Node event says otherwise

    def queued_update(self) -> None:
        if self.oldest_queued is None:
            self.oldest_queued = self.clock()

    def updated(self) -> None:
        self.oldest_queued = None
        self.last_updated = self.clock()

    def sync_node(self, node: dict, *, deleted: bool = False) -> None:
        self.node_eligible = not deleted and node_eligible(node)

    def healthy(self) -> bool:
        """Healthy while starting up, when synced, or while a queued change is not late."""
        return (self.oldest_queued is None
                or self.clock() - self.oldest_queued < self.timeout)

    def report(self, *, with_node: bool) -> tuple[int, dict]:
        now = self.clock()
        ok = self.healthy() and (self.node_eligible or not with_node)
        last = now if ok else self.last_updated
        body: dict = {"lastUpdated": GO_ZERO_TIME if last is None else go_time(last),
                      "currentTime": go_time(now)}
        if with_node:
            body["nodeEligible"] = self.node_eligible
        return (200 if ok else 503), body


def health_app(health: ProxyHealth, metrics: ProxyMetrics) -> web.Application:
    def handler(with_node: bool, counter) -> Callable:
        async def handle(_: web.Request) -> web.Response:
            status, body = health.report(with_node=with_node)
            counter.inc(str(status))
            return web.json_response(body, status=status,
                                     headers={"X-Content-Type-Options": "nosniff"})
        return handle
    app = web.Application()
    app.router.add_get("/healthz", handler(True, metrics.healthz_total))
    app.router.add_get("/livez", handler(False, metrics.livez_total))
    return app


def metrics_app(metrics: ProxyMetrics, mode: str = "iptables") -> web.Application:
    async def serve_metrics(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition().encode(),
                            headers={"Content-Type": PROMETHEUS_TEXT})

    async def proxy_mode(_: web.Request) -> web.Response:
        return web.Response(text=mode)

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_get("/metrics", serve_metrics)
    app.router.add_get("/proxyMode", proxy_mode)
    app.router.add_get("/healthz", ok)
    return app


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` into its parts."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{address!r}: want HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


class Servers:
    """The running HTTP servers; :meth:`start` binds what it can, :meth:`stop` closes all."""

    def __init__(self) -> None:
        self.runners: list[web.AppRunner] = []
        self.bound: dict[str, tuple[str, int]] = {}

    async def start(self, name: str, app: web.Application, address: str) -> None:
        if not address:
            return
        host, port = split_address(address)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as err:
            log.error("%s server could not listen on %s: %s", name, address, err)
            await runner.cleanup()
            return
        self.runners.append(runner)
        self.bound[name] = tuple(runner.addresses[0][:2])
        log.info("%s server listening on %s:%d", name, *self.bound[name])

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
