"""EndpointSlice controller: ``discovery.k8s.io/v1`` EndpointSlices for Services with selectors.

Each pod a Service selects (with an IP, not terminal; terminating pods stay, marked
``terminating``) becomes one endpoint per address type the Service serves, carrying the
ready/serving/terminating conditions, its node, the node's ``topology.kubernetes.io/zone``
and a targetRef. :mod:`.util.slicepacking` packs them into slices of at most 100 endpoints
per port list with as few writes as possible. Slices are labelled
``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by`` and owned by
the Service; when the Service is gone we delete its slices ourselves rather than wait for
the garbage collector.

Our own writes reach the slice informer later than we make them; a sync in between
would see too few slices and create duplicates. So, as upstream's EndpointSliceTracker,
we remember the generation each write produced (and the slices we deleted) and refuse to
sync a Service, retrying with backoff, until the cache has caught up.
"""

from __future__ import annotations

from typing import Any

from ..client import Forbidden, NotFound
from ..client.store import label_index, node_name_index
from . import register
from .base import Controller
from .util.endpoints import (
    API_SERVER_SERVICE,
    LAST_CHANGE_TRIGGER_TIME,
    PortNotFound,
    TriggerTimeTracker,
    find_port,
    format_rfc3339nano,
    is_terminating,
    pod_ip_for_family,
    selects,
    service_families,
    service_selector,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
)
from .util.pods import is_pod_ready
from .util.slicepacking import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    Desired,
    plan_slices,
    ports_key,
    with_trigger_time,
)

ZONE_LABEL = "topology.kubernetes.io/zone"
DELETED = -1


class StaleCache(Exception):
    """The slice informer has not yet seen this controller's last writes."""


class NodesMissing(Exception):
    """Some selected pods name nodes we do not know; retried until the nodes show up."""


def endpoint_ports(service: dict, pod: dict) -> list[dict]:
    ports = []
    for sport in (service.get("spec") or {}).get("ports") or ():
        try:
            number = find_port(pod, sport)
        except PortNotFound:
            continue
        port = {"name": sport.get("name") or "", "port": number,
                "protocol": sport.get("protocol") or "TCP"}
        if sport.get("appProtocol"):
            port["appProtocol"] = sport["appProtocol"]
        ports.append(port)
    return ports


def pod_endpoint(service: dict, pod: dict, node: dict | None, address_type: str
                 ) -> dict | None:
    """The Endpoint of ``pod`` for one address type (None: no IP of that family)."""
    ip = pod_ip_for_family(pod, address_type)
    if ip is None:
        return None
    serving = is_pod_ready(pod)
    terminating = is_terminating(pod)
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: dict[str, Any] = {
        "addresses": [ip],
        "conditions": {"ready": publish or (serving and not terminating),
                       "serving": serving, "terminating": terminating},
        "targetRef": target_ref(pod)}
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        endpoint["nodeName"] = node_name
    zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE_LABEL)
    if zone:
        endpoint["zone"] = zone
    if should_set_hostname(pod, service):
        endpoint["hostname"] = pod["spec"]["hostname"]
    return endpoint


def desired_endpoints(service: dict, pods: list[dict], nodes: dict[str, dict]
                      ) -> tuple[dict[str, dict[bytes, Desired]], list[str]]:
    """Wanted endpoints by address type and port list, and the unknown nodes pods name."""
    desired: dict[str, dict[bytes, Desired]] = {t: {} for t in service_families(service)}
    missing = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, True):
            continue
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        node = nodes.get(node_name)
        if node is None:
            missing.append(node_name)
            continue
        ports = endpoint_ports(service, pod)
        key = ports_key(ports)
        for address_type, by_ports in desired.items():
            endpoint = pod_endpoint(service, pod, node, address_type)
            if endpoint is not None:
                by_ports.setdefault(key, Desired(ports)).add(endpoint)
    return desired, missing


class SliceTracker:
    """Generations this controller wrote (or DELETED), per Service key and slice uid."""

    def __init__(self) -> None:
        self._expected: dict[str, dict[str, int]] = {}

    def expect(self, service_key: str, slice_: dict, generation: int = 0) -> None:
        uid = slice_["metadata"]["uid"]
        self._expected.setdefault(service_key, {})[uid] = generation or \
            int(slice_["metadata"].get("generation") or 0)

    def observed(self, service_key: str, slice_: dict, deleted: bool = False) -> None:
        expected = self._expected.get(service_key, {})
        uid = slice_["metadata"].get("uid")
        want = expected.get(uid)
        if want is None:
            return
        seen = int(slice_["metadata"].get("generation") or 0)
        if deleted or (want != DELETED and seen >= want):
            del expected[uid]
            if not expected:
                self._expected.pop(service_key, None)

    def stale(self, service_key: str, slices: list[dict]) -> bool:
        expected = self._expected.get(service_key)
        if not expected:
            return False
        cached = {s["metadata"]["uid"]: int(s["metadata"].get("generation") or 0)
                  for s in slices}
        for uid, want in expected.items():
            if want == DELETED and uid in cached:
                return True
            if want != DELETED and (uid not in cached or cached[uid] < want):
                return True
        return False

    def forget(self, service_key: str) -> None:
        self._expected.pop(service_key, None)


def _service_key(slice_: dict) -> str | None:
    meta = slice_["metadata"]
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != CONTROLLER_NAME or SERVICE_NAME_LABEL not in labels:
        return None
    return f"{meta['namespace']}/{labels[SERVICE_NAME_LABEL]}"


@register("endpointslice")
class EndpointSliceController(Controller):
    def setup(self) -> None:
        informers = self.ctx.informers
        self.services = informers.informer("v1", "Service")
        self.pods = informers.informer("v1", "Pod", indexers={"node": node_name_index})
        self.nodes = informers.informer("v1", "Node")
        self.slices = informers.informer(
            group="discovery.k8s.io", version="v1", plural="endpointslices",
            indexers={SERVICE_NAME_LABEL: label_index(SERVICE_NAME_LABEL)})
        self.api = self.client.api(group="discovery.k8s.io", version="v1",
                                   plural="endpointslices")
        self.triggers = TriggerTimeTracker()
        self.tracker = SliceTracker()
        self.services.add_event_handler(on_add=self.enqueue,
                                        on_update=lambda old, new: self.enqueue(new),
                                        on_delete=self.enqueue)
        self.pods.add_event_handler(on_add=self._pod_changed, on_update=self._pod_changed,
                                    on_delete=lambda o: self._pod_changed(getattr(o, "obj", o)))
        self.nodes.add_event_handler(on_add=self._node_changed,
                                     on_update=self._node_updated)
        self.slices.add_event_handler(on_add=self._slice_changed,
                                      on_update=lambda old, new: self._slice_changed(new),
                                      on_delete=self._slice_deleted)

    # -- event handlers -------------------------------------------------------------------

    def _services_of(self, pod: dict) -> set[str]:
        namespace = pod["metadata"].get("namespace")
        return {f"{namespace}/{s['metadata']['name']}"
                for s in self.services.store.by_index("namespace", namespace)
                if service_selector(s) and selects(service_selector(s), pod)}

    def _pod_changed(self, old: dict, new: dict | None = None) -> None:
        for key in self._services_of(old) | self._services_of(new or old):
            self.queue.add(key)

    def _node_changed(self, node: dict) -> None:
        for pod in self.pods.store.by_index("node", node["metadata"]["name"]):
            self._pod_changed(pod)

    def _node_updated(self, old: dict, new: dict) -> None:
        def zone(n: dict) -> str | None:
            return (n["metadata"].get("labels") or {}).get(ZONE_LABEL)
        if zone(old) != zone(new):
            self._node_changed(new)

    def _slice_changed(self, slice_: dict) -> None:
        key = _service_key(slice_)
        if key is not None:
            self.tracker.observed(key, slice_)
            self.queue.add(key)

    def _slice_deleted(self, obj: Any) -> None:
        slice_ = getattr(obj, "obj", obj)
        key = _service_key(slice_)
        if key is not None:
            self.tracker.observed(key, slice_, deleted=True)
            self.queue.add(key)

    # -- reconcile ------------------------------------------------------------------------

    def _our_slices(self, namespace: str, name: str) -> list[dict]:
        return [s for s in self.slices.store.by_index(SERVICE_NAME_LABEL, name)
                if s["metadata"]["namespace"] == namespace
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == CONTROLLER_NAME]

    async def sync(self, key: str) -> None:
        if key == API_SERVER_SERVICE:
            return
        namespace, _, name = key.partition("/")
        service = self.services.store.get(key)
        existing = self._our_slices(namespace, name)
        if service is None:
            self.triggers.forget(key)
            self.tracker.forget(key)
            for slice_ in existing:
                await self._delete(slice_)
            return
        selector = service_selector(service)
        if selector is None or (service.get("spec") or {}).get("type") == "ExternalName":
            return
        if self.tracker.stale(key, existing):
            raise StaleCache(f"endpointslice cache for {key} is behind our writes")
        pods = [p for p in self.pods.store.by_index("namespace", namespace)
                if selects(selector, p)]
        nodes = {n["metadata"]["name"]: n for n in self.nodes.store.list()}
        desired, missing = desired_endpoints(service, pods, nodes)
        trigger = self.triggers.compute(key, service, pods)
        plan = plan_slices(service, existing, desired)
        stamp = format_rfc3339nano(trigger) if trigger is not None else None
        for slice_ in plan.create:
            created = await self._create(with_trigger_time(slice_, LAST_CHANGE_TRIGGER_TIME,
                                                           stamp))
            if created is None:
                return
            self.tracker.expect(key, created)
        for slice_ in plan.update:
            updated = await self.api.update(with_trigger_time(slice_, LAST_CHANGE_TRIGGER_TIME,
                                                              stamp))
            self.tracker.expect(key, updated)
        for slice_ in plan.delete:
            if await self._delete(slice_):
                self.tracker.expect(key, slice_, DELETED)
        if missing:
            raise NodesMissing(f"{key}: pods on unknown nodes {sorted(set(missing))}")

    async def _create(self, body: dict) -> dict | None:
        try:
            return await self.api.create(body, namespace=body["metadata"]["namespace"])
        except Forbidden:  # the namespace is terminating
            self.log.debug("not creating slices in terminating %s",
                           body["metadata"]["namespace"])
            return None

    async def _delete(self, slice_: dict) -> bool:
        meta = slice_["metadata"]
        try:
            await self.api.delete(meta["name"], namespace=meta["namespace"])
        except NotFound:
            return False
        return True
