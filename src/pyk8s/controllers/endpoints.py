"""Endpoints controller: one ``v1/Endpoints`` per Service with a selector, as upstream.

For every pod the selector matches (and that has an IP, is not terminal, and is not
terminating unless the Service publishes not-ready addresses), each service port resolves
its targetPort in that pod (named ports per pod), and the pod's address goes to
``addresses`` when it is Ready (or the Service sets ``publishNotReadyAddresses``), else
to ``notReadyAddresses``. The one-address-one-port subsets are then repacked as
upstream's RepackSubsets: addresses grouped by the exact set of ports they serve, a
not-ready state for any port winning. Writes happen only when subsets, labels or the
capacity annotation differ. ``default/kubernetes`` belongs to the API server and
selector-less Services to their users; Endpoints of deleted Services are deleted.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from ..client import Forbidden, NotFound
from . import register
from .base import Controller
from .util.endpoints import (
    API_SERVER_SERVICE,
    HEADLESS_LABEL,
    LAST_CHANGE_TRIGGER_TIME,
    PortNotFound,
    TriggerTimeTracker,
    find_port,
    format_rfc3339nano,
    is_headless,
    pod_ip_for_family,
    selects,
    service_families,
    service_selector,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
)
from .util.pods import is_pod_ready

MAX_CAPACITY = 1000
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
#: Endpoints the leader-election of old components keeps; never garbage collected.
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _address_key(address: dict) -> tuple[str, str]:
    return address.get("ip", ""), (address.get("targetRef") or {}).get("uid", "")


def repack_subsets(subsets: list[dict]) -> list[dict]:
    """Group addresses by the set of ports they serve (upstream's RepackSubsets).

    An address is identified by (ip, targetRef uid); if it is not ready for some port in
    any input subset it is not ready for that port. Subsets without ports keep their
    addresses under a portless subset. The result is sorted deterministically.
    """
    addresses: dict[tuple[str, str], dict] = {}
    # port (as canonical bytes, None for "no ports") -> {address key: ready}
    by_port: dict[bytes | None, dict[tuple[str, str], bool]] = {}
    ports_by_canon: dict[bytes, dict] = {}
    for subset in subsets:
        port_keys: list[bytes | None] = []
        for port in subset.get("ports") or ():
            canon = _canon(port)
            ports_by_canon[canon] = port
            port_keys.append(canon)
        for ready, kind in ((True, "addresses"), (False, "notReadyAddresses")):
            for address in subset.get(kind) or ():
                akey = _address_key(address)
                addresses.setdefault(akey, address)
                for pkey in port_keys or [None]:
                    states = by_port.setdefault(pkey, {})
                    states[akey] = states.get(akey, True) and ready
    groups: dict[tuple, list[bytes]] = {}
    for pkey, states in by_port.items():
        group = groups.setdefault(tuple(sorted(states.items())), [])
        if pkey is not None:
            group.append(pkey)
    final = []
    for states, port_keys in groups.items():
        subset: dict[str, Any] = {}
        ready = [addresses[a] for a, ok in states if ok]
        not_ready = [addresses[a] for a, ok in states if not ok]
        if ready:
            subset["addresses"] = sorted(ready, key=_address_key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_address_key)
        if port_keys:
            subset["ports"] = [ports_by_canon[p] for p in sorted(port_keys)]
        final.append(subset)
    return sorted(final, key=_canon)


def truncate(subsets: list[dict], capacity: int = MAX_CAPACITY) -> bool:
    """Cut ``subsets`` (in place; they are our own) to ``capacity`` addresses: not-ready
    ones go first, each subset keeping its proportional share (rounded up)."""
    ready = sum(len(s.get("addresses") or ()) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses") or ()) for s in subsets)
    if ready + not_ready <= capacity:
        return False
    cut_ready = ready > capacity
    kind = "addresses" if cut_ready else "notReadyAddresses"
    budget = capacity if cut_ready else capacity - ready
    total = ready if cut_ready else not_ready
    left = budget
    for subset in subsets:
        share = math.ceil(len(subset.get(kind) or ()) / total * budget) if total else 0
        subset[kind] = (subset.get(kind) or [])[:min(share, left)]
        left -= len(subset[kind])
        if cut_ready:
            subset.pop("notReadyAddresses", None)
        for name in ("addresses", "notReadyAddresses"):
            if name in subset and not subset[name]:
                del subset[name]
    subsets[:] = [s for s in subsets if s.get("addresses") or s.get("notReadyAddresses")]
    return True


def endpoint_address(service: dict, pod: dict) -> dict | None:
    """The EndpointAddress for ``pod`` in ``service`` (None: no IP of its family)."""
    ip = pod_ip_for_family(pod, service_families(service)[0])
    if ip is None:
        return None
    address: dict[str, Any] = {"ip": ip, "targetRef": target_ref(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        address["nodeName"] = node
    if should_set_hostname(pod, service):
        address["hostname"] = pod["spec"]["hostname"]
    return address


def desired_subsets(service: dict, pods: list[dict]) -> list[dict]:
    """The repacked subsets ``service`` should have given the pods it selects."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    subsets = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, publish):
            continue
        address = endpoint_address(service, pod)
        if address is None:
            continue
        kind = "addresses" if publish or is_pod_ready(pod) else "notReadyAddresses"
        service_ports = spec.get("ports") or []
        if not service_ports:
            if is_headless(service):
                subsets.append({kind: [address]})
            continue
        for sport in service_ports:
            try:
                number = find_port(pod, sport)
            except PortNotFound:
                continue
            port = {"port": number, "protocol": sport.get("protocol") or "TCP"}
            if sport.get("name"):
                port["name"] = sport["name"]
            if sport.get("appProtocol"):
                port["appProtocol"] = sport["appProtocol"]
            subsets.append({kind: [address], "ports": [port]})
    return repack_subsets(subsets)


@register("endpoints")
class EndpointsController(Controller):
    def setup(self) -> None:
        informers = self.ctx.informers
        self.services = informers.informer("v1", "Service")
        self.pods = informers.informer("v1", "Pod")
        self.endpoints = informers.informer("v1", "Endpoints")
        self.api = self.client.api("v1", "Endpoints")
        self.triggers = TriggerTimeTracker()
        self.services.add_event_handler(on_add=self.enqueue,
                                        on_update=lambda old, new: self.enqueue(new),
                                        on_delete=self.enqueue)
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=self._pod_changed,
                                    on_delete=self._pod_deleted)
        self.endpoints.add_event_handler(on_add=self._endpoints_seen,
                                         on_delete=self.enqueue)

    # -- event handlers: map pods to the services selecting them --------------------------

    def _services_of(self, pod: dict) -> list[str]:
        namespace = pod["metadata"].get("namespace")
        keys = []
        for service in self.services.store.by_index("namespace", namespace):
            selector = service_selector(service)
            if selector and selects(selector, pod):
                keys.append(f"{namespace}/{service['metadata']['name']}")
        return keys

    def _pod_changed(self, old: dict, new: dict | None = None) -> None:
        for key in set(self._services_of(old)) | set(self._services_of(new or old)):
            self.queue.add(key)

    def _pod_deleted(self, obj: Any) -> None:
        self._pod_changed(getattr(obj, "obj", obj))

    def _endpoints_seen(self, endpoints: dict) -> None:
        """Endpoints whose Service is gone (e.g. deleted while we were down) get synced,
        which deletes them (upstream's checkLeftoverEndpoints)."""
        meta = endpoints["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        if key not in self.services.store and \
                LEADER_ANNOTATION not in (meta.get("annotations") or {}):
            self.queue.add(key)

    # -- reconcile ------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        if key == API_SERVER_SERVICE:
            return
        namespace, _, name = key.partition("/")
        service = self.services.store.get(key)
        if service is None:
            self.triggers.forget(key)
            if key in self.endpoints.store:
                try:
                    await self.api.delete(name, namespace=namespace)
                except NotFound:
                    pass
            return
        selector = service_selector(service)
        if selector is None:
            return
        pods = [p for p in self.pods.store.by_index("namespace", namespace)
                if selects(selector, p)]
        trigger = self.triggers.compute(key, service, pods)
        subsets = desired_subsets(service, pods)
        truncated = truncate(subsets)
        await self._write(service, self.endpoints.store.get(key), subsets, truncated, trigger)

    async def _write(self, service: dict, current: dict | None, subsets: list[dict],
                     truncated: bool, trigger) -> None:
        smeta = service["metadata"]
        labels = dict(smeta.get("labels") or {})
        if is_headless(service):
            labels[HEADLESS_LABEL] = ""
        if current is not None:
            annotations = current["metadata"].get("annotations") or {}
            capacity_ok = (annotations.get(OVER_CAPACITY) == "truncated") == truncated
            if (current.get("subsets") or []) == subsets and capacity_ok and \
                    (current["metadata"].get("labels") or {}) == labels:
                return
        meta = dict(current["metadata"]) if current else \
            {"name": smeta["name"], "namespace": smeta["namespace"]}
        annotations = dict(meta.get("annotations") or {})
        if trigger is not None:
            annotations[LAST_CHANGE_TRIGGER_TIME] = format_rfc3339nano(trigger)
        else:
            annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
        if truncated:
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        meta["annotations"] = annotations
        meta["labels"] = labels
        body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": subsets}
        if current is None:
            try:
                await self.api.create(body, namespace=smeta["namespace"])
            except Forbidden:  # the namespace is terminating
                self.log.debug("not creating endpoints in terminating %s", smeta["namespace"])
            return
        await self.api.update(body)
