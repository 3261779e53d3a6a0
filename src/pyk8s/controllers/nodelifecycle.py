"""Node lifecycle controller: notices dead kubelets, taints their nodes, marks pods not ready.

Every 5 s (upstream's nodeMonitorPeriod) each Node's health is judged from what this
controller has *observed*, never from the kubelet's clock: the last time we saw the Ready
condition's heartbeat or the ``kube-node-lease/<node>`` Lease's renewTime move is the
node's probe time (:class:`HealthTracker`). A node whose probe time is older than
``--node-monitor-grace-period`` (``--node-startup-grace-period`` while it never reported)
gets Ready, MemoryPressure, DiskPressure and PIDPressure set to ``Unknown`` (reason
``NodeStatusUnknown``, "Kubelet stopped posting node status.").

Taints follow the Ready condition, as upstream:

* NoSchedule (at once, on every node event): ``not-ready`` for Ready=False,
  ``unreachable`` for Unknown, ``memory-/disk-/pid-pressure`` and ``network-unavailable``
  for those conditions, ``unschedulable`` for ``spec.unschedulable``;
* NoExecute: ``not-ready`` for Ready=False, ``unreachable`` for Unknown, removed when the
  node is Ready again. Additions are rate limited per zone (``--node-eviction-rate``,
  0.1/s, burst 1). Zones are judged as upstream: a zone whose nodes are all not ready is
  fully disrupted; when every zone is, no NoExecute taints are kept at all (the
  control plane is the likelier culprit); a zone with more than 2 and at least 55 % not
  ready nodes is partially disrupted and gets no new NoExecute taints (0.01/s in zones
  of more than 50 nodes). The taint-eviction controller acts on NoExecute taints.

Pods on a node that is not Ready get their Ready condition set to False
(MarkPodsNotReady), with a ``NodeNotReady`` event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..client import NotFound, retry_on_conflict
from ..client.store import node_name_index
from . import register
from .base import Controller
from .util.taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    NOT_READY,
    UNREACHABLE,
    UNSCHEDULABLE,
    condition,
    new_taint,
    ready_status,
    swap_taints,
    taints,
)
from .util.times import format_time, parse_time

MONITOR_PERIOD = 5.0
LEASE_NAMESPACE = "kube-node-lease"
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
#: condition type -> {status: NoSchedule taint key}
CONDITION_TAINTS = {
    "Ready": {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
CONDITION_TAINT_KEYS = {k for by_status in CONDITION_TAINTS.values() for k in by_status.values()}
UNHEALTHY_ZONE_THRESHOLD = 0.55
LARGE_CLUSTER_THRESHOLD = 50
SECONDARY_EVICTION_RATE = 0.01
NORMAL, PARTIAL, FULL = "Normal", "PartialDisruption", "FullDisruption"
ZONE_LABELS = (("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"),
               ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"))


@dataclass
class Health:
    probe: float
    heartbeat: str | None = None
    transition: str | None = None
    renew: str | None = None


class HealthTracker:
    """Observed probe times per node; ``clock`` is wall-clock seconds (injectable)."""

    def __init__(self, grace: float, startup_grace: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.grace, self.startup_grace, self.clock = grace, startup_grace, clock
        self._health: dict[str, Health] = {}

    def observe(self, node: dict, lease: dict | None) -> bool:
        """Record what ``node``/``lease`` show; True when the node is past its grace."""
        name = node["metadata"]["name"]
        now = self.clock()
        ready = condition(node, "Ready")
        saved = self._health.get(name)
        if ready is None:
            created = parse_time(node["metadata"].get("creationTimestamp"))
            grace = self.startup_grace
            if saved is None:
                saved = Health(probe=created.timestamp() if created else now)
        else:
            grace = self.grace
            beat, moved = ready.get("lastHeartbeatTime"), ready.get("lastTransitionTime")
            if saved is None or saved.heartbeat is None or saved.heartbeat != beat:
                saved = Health(probe=now, heartbeat=beat, transition=moved,
                               renew=saved.renew if saved else None)
        renew = ((lease or {}).get("spec") or {}).get("renewTime")
        if renew and (saved.renew is None or _after(renew, saved.renew)):
            saved.renew = renew
            saved.probe = now
        self._health[name] = saved
        return now > saved.probe + grace

    def forget(self, name: str) -> None:
        self._health.pop(name, None)

    def names(self) -> list[str]:
        return list(self._health)


def _after(a: str, b: str) -> bool:
    ta, tb = parse_time(a), parse_time(b)
    return ta is not None and (tb is None or ta > tb)


def mark_unknown(node: dict, now: datetime) -> dict | None:
    """``node`` (a private copy) with the kubelet's conditions set to Unknown; None when
    the Ready condition is already Unknown and nothing else changes."""
    status = node.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    stamp = format_time(now)
    before = dict(condition(node, "Ready") or {})
    for type_ in MONITORED_CONDITIONS:
        cond = condition(node, type_)
        if cond is None:
            conditions.append({"type": type_, "status": "Unknown",
                               "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status.",
                               "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                               "lastTransitionTime": stamp})
        elif cond.get("status") != "Unknown":
            cond.update(status="Unknown", reason="NodeStatusUnknown",
                        message="Kubelet stopped posting node status.",
                        lastTransitionTime=stamp)
    return node if condition(node, "Ready") != before else None


def no_schedule_taints(node: dict) -> set[str]:
    """The NoSchedule taint keys ``node``'s conditions and spec call for."""
    keys = set()
    for cond in (node.get("status") or {}).get("conditions") or ():
        key = CONDITION_TAINTS.get(cond.get("type"), {}).get(cond.get("status"))
        if key:
            keys.add(key)
    if (node.get("spec") or {}).get("unschedulable"):
        keys.add(UNSCHEDULABLE)
    return keys


def zone_of(node: dict) -> str:
    labels = node["metadata"].get("labels") or {}
    region, zone = (next((labels[k] for k in keys if labels.get(k)), "") for keys in ZONE_LABELS)
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_state(ready_statuses: list[str | None]) -> str:
    ready = sum(1 for s in ready_statuses if s == "True")
    not_ready = len(ready_statuses) - ready
    if ready == 0 and not_ready > 0:
        return FULL
    if not_ready > 2 and not_ready / len(ready_statuses) >= UNHEALTHY_ZONE_THRESHOLD:
        return PARTIAL
    return NORMAL


def zone_rate(state: str, size: int, normal_rate: float) -> float:
    if state == PARTIAL:
        return SECONDARY_EVICTION_RATE if size > LARGE_CLUSTER_THRESHOLD else 0.0
    return normal_rate


class TokenBucket:
    """try-take token bucket (burst 1) for NoExecute taint additions in one zone."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.clock = rate, clock
        self.tokens, self.last = 1.0, clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(1.0, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@register("nodelifecycle")
class NodeLifecycleController(Controller):
    def setup(self) -> None:
        informers, opts = self.ctx.informers, self.ctx.options
        self.nodes = informers.informer("v1", "Node")
        self.leases = informers.informer("coordination.k8s.io/v1", "Lease",
                                         namespace=LEASE_NAMESPACE)
        self.pods = informers.informer("v1", "Pod", indexers={"node": node_name_index})
        self.node_api = self.client.api("v1", "Node")
        self.pod_api = self.client.api("v1", "Pod")
        self.health = HealthTracker(opts.node_monitor_grace_period,
                                    opts.node_startup_grace_period)
        self.buckets: dict[str, TokenBucket] = {}
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.nodes.add_event_handler(on_add=self._node_event,
                                     on_update=lambda old, new: self._node_event(new),
                                     on_delete=self._node_deleted)
        self.pods.add_event_handler(on_add=self._pod_event,
                                    on_update=lambda old, new: self._pod_event(new))

    def _node_event(self, node: dict) -> None:
        self.queue.add(f"node:{node['metadata']['name']}")
        if ready_status(node) not in (None, "True"):
            for pod in self.pods.store.by_index("node", node["metadata"]["name"]):
                self._pod_event(pod)

    def _node_deleted(self, obj: Any) -> None:
        self.health.forget(getattr(obj, "obj", obj)["metadata"]["name"])

    def _pod_event(self, pod: dict) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.queue.add(f"pod:{pod['metadata']['namespace']}/{pod['metadata']['name']}")

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._monitor(stop))
            await super().run(stop)

    async def _monitor(self, stop: asyncio.Event) -> None:
        await self.nodes.wait_for_sync()
        await self.leases.wait_for_sync()
        while not stop.is_set():
            try:
                await self.monitor_node_health()
            except Exception:  # one failed pass must not end monitoring
                self.log.exception("node health pass failed")
            try:
                await asyncio.wait_for(stop.wait(), MONITOR_PERIOD)
            except TimeoutError:
                pass

    # -- health monitoring ----------------------------------------------------------------

    async def monitor_node_health(self) -> None:
        """One pass: mark silent nodes Unknown, then set NoExecute taints per zone."""
        statuses: dict[str, str | None] = {}
        for node in self.nodes.store.list():
            name = node["metadata"]["name"]
            lease = self.leases.store.get(f"{LEASE_NAMESPACE}/{name}")
            if self.health.observe(node, lease) and ready_status(node) != "Unknown":
                node = await self._mark_unknown(name) or node
            statuses[name] = ready_status(node)
        for name in set(self.health.names()) - set(statuses):
            self.health.forget(name)
        await self._taint_no_execute(statuses)

    async def _mark_unknown(self, name: str) -> dict | None:
        try:
            node = await retry_on_conflict(
                lambda: self.node_api.get(name),
                lambda n: mark_unknown(n, self.now()),
                self.node_api.update_status)
        except NotFound:
            return None
        self.log.info("node %s stopped posting status; conditions set to Unknown", name)
        return node

    async def _taint_no_execute(self, statuses: dict[str, str | None]) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.nodes.store.list()}
        zones: dict[str, list[str]] = {}
        for name in statuses:
            if name in nodes:
                zones.setdefault(zone_of(nodes[name]), []).append(name)
        states = {zone: zone_state([statuses[n] for n in names]) for zone, names in zones.items()}
        all_down = bool(states) and all(s == FULL for s in states.values())
        for zone, names in zones.items():
            rate = zone_rate(states[zone], len(names), self.ctx.options.node_eviction_rate)
            bucket = self.buckets.setdefault(zone, TokenBucket(rate))
            bucket.rate = rate
            for name in names:
                await self._no_execute_pass(nodes[name], statuses[name], all_down, bucket)

    async def _no_execute_pass(self, node: dict, status: str | None, all_down: bool,
                               bucket: TokenBucket) -> None:
        if status is None:
            return
        want = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(status)
        have = {t["key"] for t in taints(node, NO_EXECUTE)} & {NOT_READY, UNREACHABLE}
        if want is None or all_down:
            if have:
                await self._swap(node["metadata"]["name"], [],
                                 [{"key": k, "effect": NO_EXECUTE} for k in have])
            return
        if have == {want}:
            return
        if want not in have and not bucket.take():
            return  # rate limited: retried on a later pass
        await self._swap(node["metadata"]["name"], [new_taint(want, NO_EXECUTE, self.now())],
                         [{"key": k, "effect": NO_EXECUTE} for k in have - {want}])

    async def _swap(self, name: str, add: list[dict], remove: list[dict]) -> None:
        try:
            await retry_on_conflict(lambda: self.node_api.get(name),
                                    lambda n: swap_taints(n, add, remove),
                                    self.node_api.update)
        except NotFound:
            return
        self.log.info("node %s taints: +%s -%s", name,
                      [f"{t['key']}:{t['effect']}" for t in add],
                      [f"{t['key']}:{t['effect']}" for t in remove])

    # -- workers: NoSchedule taints and pod readiness ---------------------------------------

    async def sync(self, key: str) -> None:
        kind, _, name = key.partition(":")
        if kind == "node":
            await self._no_schedule_pass(name)
        else:
            await self._mark_pod_not_ready(name)

    async def _no_schedule_pass(self, name: str) -> None:
        node = self.nodes.store.get(name)
        if node is None:
            return
        want = no_schedule_taints(node)
        have = {t["key"] for t in taints(node, NO_SCHEDULE)
                if t["key"] in CONDITION_TAINT_KEYS or t["key"] == UNSCHEDULABLE}
        if want == have:
            return
        now = self.now()
        await self._swap(name, [new_taint(k, NO_SCHEDULE, now) for k in sorted(want - have)],
                         [{"key": k, "effect": NO_SCHEDULE} for k in sorted(have - want)])

    async def _mark_pod_not_ready(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None:
            return
        node = self.nodes.store.get(pod["spec"].get("nodeName") or "")
        if ready_status(node) in (None, "True") or \
                (condition(pod, "Ready") or {}).get("status") != "True":
            return
        namespace, _, name = key.partition("/")
        changed = []

        def not_ready(current: dict) -> dict | None:
            cond = condition(current, "Ready")
            if cond is None or cond.get("status") != "True" or \
                    current["spec"].get("nodeName") != pod["spec"]["nodeName"]:
                return None
            cond.update(status="False", lastTransitionTime=format_time(self.now()))
            changed.append(True)
            return current

        try:
            updated = await retry_on_conflict(
                lambda: self.pod_api.get(name, namespace=namespace), not_ready,
                self.pod_api.update_status)
        except NotFound:
            return
        if changed:
            self.ctx.recorder.event(updated, type="Warning", reason="NodeNotReady",
                                    action="MarkPodNotReady", note="Node is not ready")
