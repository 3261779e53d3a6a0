"""kube-proxy's control loop: informer events in, debounced syncs of iptables out.

Upstream drives syncProxyRules through a BoundedFrequencyRunner: any change to a
Service, EndpointSlice or this Node asks for a sync, syncs are at least
``min_sync_period`` apart (a burst of endpoint updates becomes one restore), and a
sync happens at least every ``sync_period`` even when nothing changed (rewriting the
top-level chains). We do the same with one asyncio task and an Event. As upstream,
those syncs are partial: only the chains of Services whose Service or EndpointSlices
changed are rewritten, with the top-level chains. Full syncs (the first, after an
error or a change of this Node's labels or addresses, not its status heartbeats, and
at least every ``FULL_SYNC_PERIOD``, upstream's hour, which also repairs chains someone
else flushed) write everything, re-read ``iptables-save`` for stale chains and re-check
the jump rules from the built-in chains. A failed sync is logged and retried after the
minimum period. Rule computation runs in a thread: it only reads the informers'
snapshot lists, and reuses the rules of unchanged services (``rules.RuleCache``). Each
change and sync also feeds upstream's metrics (``metrics.ProxyMetrics``) and the health
state behind ``/healthz`` (``health.ProxyHealth``, stale after 2 x ``sync_period``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from ..client import Client, SharedInformerFactory
from .health import ProxyHealth
from .iptables import Iptables, IptablesError
from .metrics import ProxyMetrics
from .rules import ProxyConfig, RuleCache, Ruleset, compute

log = logging.getLogger("pyk8s.kube-proxy")

TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
FULL_SYNC_PERIOD = 3600.0  # seconds, as upstream's proxyutil.FullSyncPeriod


def nodeport_ips(specs: tuple[str, ...], node: dict | None,
                 local_addresses: list[str]) -> tuple[str, ...] | None:
    """Resolve ``--nodeport-addresses`` (CIDRs and/or ``primary``) to the node's IPs.

    Empty means every local address (None, an ``addrtype LOCAL`` match), as upstream.
    """
    if not specs:
        return None
    out: list[str] = []
    for spec in specs:
        if spec == "primary":
            addrs = ((node or {}).get("status") or {}).get("addresses") or ()
            out += [a["address"] for a in addrs if a.get("type") == "InternalIP"]
            continue
        net = ipaddress.ip_network(spec, strict=False)
        out += [a for a in local_addresses if ipaddress.ip_address(a) in net]
    return tuple(dict.fromkeys(a for a in out if ipaddress.ip_address(a).version == 4))


def _service_key(service: dict) -> tuple[str, str]:
    meta = service.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def _slice_key(endpoint_slice: dict) -> tuple[str, str] | None:
    meta = endpoint_slice.get("metadata") or {}
    owner = (meta.get("labels") or {}).get("kubernetes.io/service-name")
    return (meta.get("namespace", ""), owner) if owner else None


def _node_signature(node: dict) -> tuple:
    """What of this Node the rules depend on: its labels (upstream resyncs everything when
    they change) and addresses (``--nodeport-addresses primary``)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    addresses = ((node.get("status") or {}).get("addresses")) or ()
    return (tuple(sorted(labels.items())),
            tuple((a.get("type"), a.get("address")) for a in addresses))


def _trigger_time(endpoint_slice: dict) -> float | None:
    """When the change behind this slice happened (the EndpointSlice controller's
    annotation), as a Unix time."""
    value = ((endpoint_slice.get("metadata") or {}).get("annotations") or {}).get(TRIGGER_TIME)
    try:
        return datetime.fromisoformat(value).timestamp() if value else None
    except ValueError:
        return None


class Proxier:
    """Keeps this node's iptables in step with the Services the API server holds."""

    def __init__(self, client: Client, config: ProxyConfig, runner: Iptables, *,
                 min_sync_period: float = 1.0, sync_period: float = 30.0,
                 nodeport_addresses: tuple[str, ...] = ()) -> None:
        self.client = client
        self.config = config
        self.runner = runner
        self.min_sync_period = min_sync_period
        self.sync_period = sync_period
        self.nodeport_addresses = nodeport_addresses
        self.factory = SharedInformerFactory(client)
        self.services = self.factory.informer("v1", "Service")
        self.slices = self.factory.informer(group="discovery.k8s.io", version="v1",
                                            plural="endpointslices")
        self.nodes = self.factory.informer(
            "v1", "Node", field_selector=f"metadata.name={config.node_name}")
        self._changed = asyncio.Event()
        self._dirty: set[tuple[str, str]] = set()
        self._need_full = False
        self._node: tuple | None = None
        self._triggers: dict[tuple[str, str], float] = {}
        self.metrics = ProxyMetrics()
        self.health = ProxyHealth(timeout=2 * sync_period)
        for informer, key, counters in (
                (self.services, _service_key, (self.metrics.service_changes_total,
                                               self.metrics.service_changes_pending)),
                (self.slices, _slice_key, (self.metrics.endpoint_changes_total,
                                           self.metrics.endpoint_changes_pending)),
                (self.nodes, None, ())):
            handler = self._handler(key, counters)
            informer.add_event_handler(on_add=handler, on_update=lambda _, new, h=handler: h(new),
                                       on_delete=partial(handler, deleted=True))
        self._chains: set[str] = set()
        self._cache = RuleCache()
        self.syncs = 0
        self.last: Ruleset | None = None

    def _handler(self, key: Callable[[dict], tuple[str, str] | None] | None,
                 counters: tuple) -> Callable[..., None]:
        def changed(obj: Any, deleted: bool = False) -> None:
            obj = getattr(obj, "obj", obj)  # DeletedFinalStateUnknown
            service = key(obj) if key and isinstance(obj, dict) else None
            if service:
                self._dirty.add(service)
                trigger = _trigger_time(obj) if not deleted else None
                if trigger is not None:
                    self._triggers[service] = min(trigger, self._triggers.get(service, trigger))
            elif key is None and isinstance(obj, dict):  # our Node
                self.health.sync_node(obj, deleted=deleted)
                signature = None if deleted else _node_signature(obj)
                if signature == self._node:
                    return  # a status heartbeat: nothing the rules depend on
                self._node, self._need_full = signature, True
            else:  # an unowned slice: resolve everything again
                self._need_full = True
            for counter in counters:
                counter.set(counter.get() + 1)
            self.metrics.last_queued_timestamp.set(time.time())
            self.health.queued_update()
            self._changed.set()
        return changed

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        return await self.factory.wait_for_sync(timeout)

    async def current_config(self) -> ProxyConfig:
        """The config with ``--nodeport-addresses`` resolved against the node right now."""
        if not self.nodeport_addresses:
            return self.config
        nodes = self.nodes.store.list()
        local = await self.runner.addresses()
        return dataclasses.replace(self.config, nodeport_ips=nodeport_ips(
            self.nodeport_addresses, nodes[0] if nodes else None, local))

    async def rules(self, existing: set[str] | None = None,
                    changed: set[tuple[str, str]] | None = None) -> Ruleset:
        """Compute the rules from the informer caches (in a worker thread)."""
        config = await self.current_config()
        return await asyncio.to_thread(partial(
            compute, self.services.store.list(), self.slices.store.list(), config,
            existing_nat_chains=existing or (), changed=changed, cache=self._cache))

    async def sync(self, *, full: bool) -> Ruleset:
        """One syncProxyRules: compute, restore, and (full) re-check jumps and stale chains.

        A sync that is not full writes only the chains of Services changed since the
        last sync (a Node change makes it full: NodePort addresses may have moved)."""
        start = time.perf_counter()
        full = full or self._need_full or self.syncs == 0
        changed = None if full else self._dirty
        self._dirty, self._need_full = set(), False
        if full and self.syncs == 0:
            await self.runner.set_sysctls()
        if full:
            existing = await self.runner.chains("nat") | self._chains
        else:
            existing = self._chains
        ruleset = await self.rules(existing, changed)
        computed = time.perf_counter()
        if full:
            await self.runner.ensure_jumps()
        try:
            await self.runner.restore(ruleset.text)
        except IptablesError:
            self.metrics.restore_failures.inc()
            if not full:
                self.metrics.partial_restore_failures.inc()
            raise
        done = time.perf_counter()
        self._chains = ruleset.nat_chains
        self.syncs += 1
        self.last = ruleset
        self._record(ruleset, full, done - start)
        log.info("synced iptables (%s): %d service ports, %d endpoints, %d filter + %d nat "
                 "rules, %d chains in %.0f ms (compute %.0f ms, apply %.0f ms)",
                 "full" if full else f"{len(changed)} services changed", ruleset.services, ruleset.endpoints,
                 ruleset.filter_rules, ruleset.nat_rules, len(ruleset.nat_chains),
                 (done - start) * 1e3, (computed - start) * 1e3, (done - computed) * 1e3)
        return ruleset

    def _record(self, ruleset: Ruleset, full: bool, seconds: float) -> None:
        """Metrics and health after a successful sync."""
        m, now = self.metrics, time.time()
        m.sync_duration.observe(seconds)
        (m.sync_full_duration if full else m.sync_partial_duration).observe(seconds)
        m.last_sync_timestamp.set(now)
        m.service_changes_pending.set(0)
        m.endpoint_changes_pending.set(0)
        m.iptables_rules.set(ruleset.filter_rules, "filter")
        m.iptables_rules.set(ruleset.nat_rules_total, "nat")
        m.iptables_rules_last.set(ruleset.filter_rules, "filter")
        m.iptables_rules_last.set(ruleset.nat_rules, "nat")
        m.no_local_endpoints.set(ruleset.no_local_internal, "internal")
        m.no_local_endpoints.set(ruleset.no_local_external, "external")
        for trigger in self._triggers.values():
            if now >= trigger:
                m.network_programming.observe(now - trigger)
        self._triggers.clear()
        self.health.updated()

    async def _wait(self, event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
        waits = [asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=max(timeout, 0),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def run(self, stop: asyncio.Event, *, synced: asyncio.Event | None = None,
                  sync_timeout: float = 120.0) -> None:
        """Start the informers, then sync until ``stop`` is set (``synced`` is set after
        the first successful sync)."""
        self.factory.start()
        try:
            if not await self.factory.wait_for_sync(sync_timeout):
                log.warning("informers did not sync within %.0fs; syncing anyway", sync_timeout)
            await self._loop(stop, synced)
        finally:
            await self.factory.stop()

    async def _loop(self, stop: asyncio.Event, synced: asyncio.Event | None) -> None:
        last = last_full = float("-inf")
        never = asyncio.Event()
        while not stop.is_set():
            now = time.monotonic()
            if last > float("-inf"):
                await self._wait(self._changed, stop, last + self.sync_period - now)
                await self._wait(never, stop, last + self.min_sync_period - time.monotonic())
                if stop.is_set():
                    return
            self._changed.clear()
            full = time.monotonic() - last_full >= FULL_SYNC_PERIOD
            last = time.monotonic()
            try:
                await self.sync(full=full)
            except (IptablesError, OSError) as err:
                log.error("sync failed, retrying in %.1fs: %s", self.min_sync_period, err)
                self._changed.set()
                last_full = float("-inf")  # rewrite everything next time
                continue
            last_full = last if full else last_full
            if synced is not None:
                synced.set()
