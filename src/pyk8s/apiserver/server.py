"""Runs one API server process: store, certificates, watch cache and HTTPS listener.

``pyk8s apiserver`` and ``pyk8s server`` both end up in :func:`run`. The data
directory holds the SQLite state (unless another datastore is given), the PKI
(``pki/``) and ``admin.conf``; a restart on the same directory keeps every object
and every credential.

Several API servers may share one etcd (``--etcd-servers``) and one CA: copy the first
server's ``pki/`` into the next one's data directory before its first start. What they
must agree on lives in the store: the Service IP and node-port ranges
(:mod:`.rangestore`) and the list of live servers behind ``default/kubernetes``
(:mod:`.endpointreconciler`).

Events expire ``--event-ttl`` after their last write (etcd leases; an in-process
sweeper on the other stores). Compaction runs every ``--etcd-compaction-interval``: on
etcd with upstream's coordination through ``compact_rev_key`` (one interval of history
kept, one compaction per interval however many servers share the etcd); elsewhere by
keeping :data:`COMPACT_KEEP` revisions.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from .. import pki
from ..hostaddr import default_route_address
from ..store import open_store
from ..store.expiry import ExpirySweeper
from ..store.factory import is_etcd
from . import admission, authn, authz
from .admission.priority import ensure_builtin_priority_classes
from .app import APIServerApp, tls_context
from .bootstrap import ensure_system_objects, first_service_ip, restore_allocators
from .context import ServerContext
from .crd.controller import CRDController
from .endpointreconciler import EndpointReconciler
from .rangerepair import RangeRepair
from .rangestore import StoredIPAllocator, StoredPortAllocator
from .resources import builtin_registry
from .watchcache import WatchCache

log = logging.getLogger(__name__)

COMPACT_INTERVAL = 300.0  # kube-apiserver compacts every 5 minutes
COMPACT_KEEP = 10_000  # revisions kept behind the head at each compaction (not etcd)
EVENTS_PREFIX = "/registry/events/"  # core/v1 and events.k8s.io/v1 Events share it
#: Allocations between young-generation collections (CPython's default is 700). A write
#: allocates a few hundred containers (decoded bodies, the watch cache's copy), so with
#: the default the collector ran every couple of requests and a full collection walked
#: every cached object every few hundred creates: ~18 % of the process's CPU under a pod
#: create load. Garbage cycles are rare here; this only makes their collection lazier.
GC_YOUNG_THRESHOLD = 10_000


@dataclass
class APIServerOptions:
    data_dir: Path
    bind_address: str = "127.0.0.1"
    secure_port: int = 6443
    datastore_endpoint: str | None = None
    etcd_servers: str | None = None  # kube-apiserver's --etcd-servers: http(s)://HOST:PORT,...
    etcd_cafile: str | None = None
    etcd_certfile: str | None = None
    etcd_keyfile: str | None = None
    etcd_prefix: str = "/registry"
    service_cluster_ip_range: str = "10.96.0.0/12"
    service_node_port_range: str = "30000-32767"
    advertise_address: str | None = None
    anonymous_auth: bool = True
    token_auth_file: str | None = None
    service_account_issuer: str = "https://kubernetes.default.svc.cluster.local"
    service_account_key_file: str | None = None  # verifies tokens (default: pki/sa.pub)
    service_account_signing_key_file: str | None = None  # signs tokens (default: pki/sa.key)
    authorization_mode: str = "Node,RBAC"
    enable_admission_plugins: str = ""
    disable_admission_plugins: str = ""
    encryption_provider_config: str | None = None
    event_ttl: float = 3600.0  # seconds; kube-apiserver's --event-ttl (1h)
    etcd_compaction_interval: float = COMPACT_INTERVAL  # seconds; 0 turns compaction off

    def store_url(self) -> str:
        if self.etcd_servers and self.datastore_endpoint:
            raise ValueError("give --datastore-endpoint or --etcd-servers, not both")
        return (self.etcd_servers or self.datastore_endpoint
                or f"sqlite://{self.data_dir.resolve()}/state.db")

    def store_options(self) -> dict:
        """open_store's etcd options (ignored by the other backends)."""
        return {"etcd_prefix": self.etcd_prefix, "etcd_ca": self.etcd_cafile,
                "etcd_cert": self.etcd_certfile, "etcd_key": self.etcd_keyfile,
                "ttls": self.key_ttls()}

    def key_ttls(self) -> dict[str, float]:
        return {EVENTS_PREFIX: self.event_ttl} if self.event_ttl > 0 else {}

    def client_host(self) -> str:
        if self.bind_address in ("0.0.0.0", "::", ""):
            return "127.0.0.1"
        return self.bind_address


def _advertise(opts: APIServerOptions) -> str:
    """The address published in the ``kubernetes`` Endpoints: as kube-apiserver, the
    flag, else a non-loopback bind address, else the host's primary address."""
    if opts.advertise_address:
        return opts.advertise_address
    if opts.bind_address not in ("0.0.0.0", "::", "") and not opts.bind_address.startswith(
            "127."):
        return opts.bind_address
    return default_route_address()


class APIServer:
    """An API server that can be started and stopped inside a running event loop."""

    def __init__(self, opts: APIServerOptions) -> None:
        self.opts = opts
        self.runner: web.AppRunner | None = None
        self.ctx: ServerContext | None = None
        self._compactor: asyncio.Task | None = None
        self._expiry: ExpirySweeper | None = None
        self._repair: RangeRepair | None = None
        self._crds: CRDController | None = None
        self._endpoints: EndpointReconciler | None = None
        self._background: list[asyncio.Task] = []
        self.kubeconfig_path = opts.data_dir / "admin.conf"

    async def start(self) -> None:
        opts = self.opts
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        pki_dir = opts.data_dir / "pki"
        ca = pki.ensure_ca(pki_dir)
        advertise = _advertise(opts)
        service_ip = first_service_ip(opts.service_cluster_ip_range)
        dns, ips = pki.serving_names(opts.bind_address, service_ip, (advertise,))
        serving = pki.ensure_serving_cert(ca, pki_dir, dns, ips)
        server_url = f"https://{opts.client_host()}:{opts.secure_port}"
        pki.ensure_admin_kubeconfig(ca, pki_dir, self.kubeconfig_path, server_url)
        pki.ensure_component_kubeconfigs(ca, pki_dir, opts.data_dir, server_url)

        store = raw_store = open_store(opts.store_url(), **opts.store_options())
        if opts.encryption_provider_config:
            from ..store.encryption import wrap_store

            store = wrap_store(store, opts.encryption_provider_config)
        await store.start()
        if opts.key_ttls() and not is_etcd(opts.store_url()):
            self._expiry = ExpirySweeper(store, opts.key_ttls())
            await self._expiry.start()
        registry = builtin_registry()
        first, last = (int(p) for p in opts.service_node_port_range.split("-"))
        self.ctx = ctx = ServerContext(
            store=store, registry=registry,
            cluster_ips=StoredIPAllocator(store, opts.service_cluster_ip_range),
            node_ports=StoredPortAllocator(store, first, last),
            config={"service_cidr": opts.service_cluster_ip_range,
                    "secure_port": opts.secure_port},
        )
        ctx.config["pki_dir"] = str(pki_dir)
        ctx.authenticator = authn.build(opts, ctx)
        ctx.authorizer = authz.build(opts, ctx)
        ctx.admission = admission.build(opts, ctx)
        await restore_allocators(ctx)
        await ctx.cluster_ips.publish()
        await ctx.node_ports.publish()
        self._repair = RangeRepair(store, ctx.cluster_ips, ctx.node_ports)
        self._repair.start()
        prefixes = sorted({rt.prefix for rt in registry.all()})
        ctx.watch_cache = WatchCache(store, prefixes)
        await ctx.watch_cache.start()
        self._crds = CRDController(ctx)
        await self._crds.start()
        api = APIServerApp(ctx, server_address=f"{advertise}:{opts.secure_port}")
        await ensure_system_objects(ctx)
        if ipaddress.ip_address(advertise).is_loopback:
            log.warning("advertise address %s is loopback: not publishing default/kubernetes "
                        "endpoints (pass --advertise-address)", advertise)
        else:
            self._endpoints = EndpointReconciler(ctx, advertise, opts.secure_port)
            await self._endpoints.start()
        await ensure_builtin_priority_classes(ctx)
        self._background += await authz.post_start(ctx)
        api.ready = True
        app = api.build()
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0,
                                    access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, opts.bind_address, opts.secure_port,
                           ssl_context=tls_context(str(serving.cert_path), str(serving.key_path),
                                                   str(ca.cert_path)),
                           backlog=1024, reuse_address=True)
        await site.start()
        if opts.etcd_compaction_interval > 0:
            self._compactor = asyncio.create_task(self._compact_periodically(raw_store),
                                                  name="compactor")
        log.info("serving on %s (store %s)", server_url, opts.store_url())

    async def _compact_periodically(self, store) -> None:
        if is_etcd(self.opts.store_url()):
            from ..store.etcd import Compactor

            compactor = Compactor(store)
            compact_once = compactor.tick
        else:
            async def compact_once() -> int:
                head = await store.current_revision()
                if head <= COMPACT_KEEP:
                    return 0
                await store.compact(head - COMPACT_KEEP)
                return head - COMPACT_KEEP
        while True:
            await asyncio.sleep(self.opts.etcd_compaction_interval)
            try:
                revision = await compact_once()
                if revision:
                    log.info("compacted store up to revision %d", revision)
            except Exception:
                log.exception("compaction failed")

    async def stop(self) -> None:
        if self._endpoints:
            await self._endpoints.stop()
        if self._compactor:
            self._compactor.cancel()
        if self._expiry:
            await self._expiry.stop()
        if self._repair:
            await self._repair.stop()
        for task in self._background:
            task.cancel()
        if self.runner:
            await self.runner.cleanup()
        if self._crds:
            await self._crds.stop()
        if self.ctx:
            if self.ctx.watch_cache:
                await self.ctx.watch_cache.close()
            await self.ctx.store.close()
        log.info("stopped")


async def serve_forever(opts: APIServerOptions, on_ready=None) -> None:
    """Run until SIGTERM or SIGINT, then shut down cleanly."""
    server = APIServer(opts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    await server.start()
    # What start-up built (modules, schemas, the initial watch cache) lives as long as the
    # process: out of the collector's way, so full collections only walk what came after.
    gc.freeze()
    if on_ready:
        on_ready(server)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await server.stop()
