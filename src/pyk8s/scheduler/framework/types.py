"""What the scheduler knows about pods and nodes: PodInfo, NodeInfo and resources.

A PodInfo precomputes, once per pod version, what every cycle asks of a pod (its
requests with init containers and overhead folded in, host ports, affinity terms);
a NodeInfo aggregates one node with the pods on it (requested and non-zero-requested
resources, used ports, pods with affinity). Resources are plain dicts of integers:
``cpu`` in millicores, everything else in units (bytes, pods, devices).
The cache owns NodeInfos and mutates them; the snapshot a cycle reads holds clones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from functools import cached_property

from .labels import labels_of, match_label_selector

CPU, MEMORY, PODS, EPHEMERAL = "cpu", "memory", "pods", "ephemeral-storage"

#: Upstream's defaults for containers that request nothing, used only for scoring.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
           "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def parse_quantity(value: object) -> Decimal:
    """A resource.Quantity string (``500m``, ``1Gi``, ``2e3``) as a Decimal (0 if bad)."""
    text = str(value).strip()
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T",
                   "P", "E"):
        if text.endswith(suffix):
            number, scale = text[:-len(suffix)], _SUFFIX[suffix]
            break
    else:
        number, scale = text, 1
    try:
        return Decimal(number) * scale
    except InvalidOperation:
        return Decimal(0)


def resource_value(name: str, value: object) -> int:
    """One quantity in the scheduler's integer units (millicores for cpu), rounded up."""
    q = parse_quantity(value)
    if name == CPU:
        q *= 1000
    return int(q.to_integral_value(rounding=ROUND_CEILING))


def resource_list(raw: dict | None) -> dict[str, int]:
    return {name: resource_value(name, value) for name, value in (raw or {}).items()}


def add_into(total: dict[str, int], other: dict[str, int], sign: int = 1) -> None:
    for name, value in other.items():
        total[name] = total.get(name, 0) + sign * value


def _max_into(total: dict[str, int], other: dict[str, int]) -> None:
    for name, value in other.items():
        if value > total.get(name, 0):
            total[name] = value


def pod_requests(pod: dict, *, non_zero: bool = False) -> dict[str, int]:
    """Effective requests: max(sum of app containers (+ sidecars), each init container
    (+ sidecars started before it)) + overhead; upstream's resource.PodRequests.
    With ``non_zero``, cpu/memory left unset default to 100m/200Mi per container."""
    spec = pod.get("spec") or {}

    def requests(container: dict) -> dict[str, int]:
        reqs = resource_list((container.get("resources") or {}).get("requests"))
        if non_zero:
            reqs.setdefault(CPU, DEFAULT_MILLI_CPU_REQUEST)
            reqs.setdefault(MEMORY, DEFAULT_MEMORY_REQUEST)
        return reqs

    total: dict[str, int] = {}
    for container in spec.get("containers") or ():
        add_into(total, requests(container))
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for container in spec.get("initContainers") or ():
        reqs = requests(container)
        if container.get("restartPolicy") == "Always":
            add_into(total, reqs)
            add_into(sidecars, reqs)
            reqs = dict(sidecars)
        else:
            add_into(reqs, sidecars)
        _max_into(init_max, reqs)
    _max_into(total, init_max)
    add_into(total, resource_list(spec.get("overhead")))
    return total


def normalized_image(name: str) -> str:
    """``nginx`` -> ``nginx:latest``; names with a tag or digest stay as they are."""
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return name + ":latest"


def pod_priority(pod: dict) -> int:
    return (pod.get("spec") or {}).get("priority") or 0


def pod_key(pod: dict) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


@dataclass(frozen=True)
class AffinityTerm:
    """A PodAffinityTerm with its namespaces resolved: ``namespaces`` is the explicit set
    (or the pod's own namespace), ``namespace_selector`` selects more by labels."""

    selector: dict | None
    topology_key: str
    namespaces: frozenset[str]
    namespace_selector: dict | None
    weight: int = 0

    def matches(self, pod: dict, namespace_labels: dict[str, dict]) -> bool:
        ns = pod["metadata"].get("namespace", "")
        if ns not in self.namespaces and (self.namespace_selector is None or
                                          not match_label_selector(
                                              self.namespace_selector,
                                              namespace_labels.get(ns, {}))):
            return False
        return match_label_selector(self.selector, labels_of(pod))


def _terms(pod: dict, raw: list[dict] | None, weighted: bool) -> tuple[AffinityTerm, ...]:
    own = pod["metadata"].get("namespace", "")
    out = []
    for item in raw or ():
        term = item.get("podAffinityTerm", {}) if weighted else item
        namespaces = term.get("namespaces") or []
        ns_selector = term.get("namespaceSelector")
        names = frozenset(namespaces) if namespaces or ns_selector is not None \
            else frozenset([own])
        selector = _merge_label_keys(term, pod)
        out.append(AffinityTerm(selector, term.get("topologyKey", ""), names, ns_selector,
                                item.get("weight", 0) if weighted else 0))
    return tuple(out)


def _merge_label_keys(term: dict, pod: dict) -> dict | None:
    """matchLabelKeys/mismatchLabelKeys folded into the selector (In/NotIn the pod's
    own values), as the API server does on create in upstream."""
    selector = term.get("labelSelector")
    labels = labels_of(pod)
    extra = [{"key": k, "operator": "In", "values": [labels[k]]}
             for k in term.get("matchLabelKeys") or () if k in labels]
    extra += [{"key": k, "operator": "NotIn", "values": [labels[k]]}
              for k in term.get("mismatchLabelKeys") or () if k in labels]
    if not extra or selector is None:
        return selector
    return {**selector, "matchExpressions": [*(selector.get("matchExpressions") or ()),
                                             *extra]}


@dataclass(eq=False)
class PodInfo:
    """One pod version with what the plugins ask of it computed once."""

    pod: dict

    @property
    def key(self) -> str:
        return pod_key(self.pod)

    @property
    def priority(self) -> int:
        return pod_priority(self.pod)

    @cached_property
    def requests(self) -> dict[str, int]:
        return pod_requests(self.pod)

    @cached_property
    def non_zero_requests(self) -> dict[str, int]:
        reqs = pod_requests(self.pod, non_zero=True)
        return {CPU: reqs.get(CPU, 0), MEMORY: reqs.get(MEMORY, 0)}

    @cached_property
    def host_ports(self) -> tuple[tuple[str, str, int], ...]:
        """(hostIP, protocol, hostPort) of every container port with a hostPort."""
        out = []
        for container in (self.pod.get("spec") or {}).get("containers") or ():
            for port in container.get("ports") or ():
                if port.get("hostPort"):
                    out.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP",
                                int(port["hostPort"])))
        return tuple(out)

    @cached_property
    def _affinity(self) -> dict:
        return (self.pod.get("spec") or {}).get("affinity") or {}

    def _pod_terms(self, kind: str, field_name: str, weighted: bool) -> tuple[AffinityTerm, ...]:
        return _terms(self.pod, (self._affinity.get(kind) or {}).get(field_name), weighted)

    @cached_property
    def required_affinity(self) -> tuple[AffinityTerm, ...]:
        return self._pod_terms("podAffinity",
                               "requiredDuringSchedulingIgnoredDuringExecution", False)

    @cached_property
    def required_anti_affinity(self) -> tuple[AffinityTerm, ...]:
        return self._pod_terms("podAntiAffinity",
                               "requiredDuringSchedulingIgnoredDuringExecution", False)

    @cached_property
    def preferred_affinity(self) -> tuple[AffinityTerm, ...]:
        return self._pod_terms("podAffinity",
                               "preferredDuringSchedulingIgnoredDuringExecution", True)

    @cached_property
    def preferred_anti_affinity(self) -> tuple[AffinityTerm, ...]:
        return self._pod_terms("podAntiAffinity",
                               "preferredDuringSchedulingIgnoredDuringExecution", True)

    @property
    def has_affinity(self) -> bool:
        return bool(self._affinity.get("podAffinity") or self._affinity.get("podAntiAffinity"))


@dataclass(eq=False)
class NodeInfo:
    """One node and the pods the scheduler counts on it (bound and assumed)."""

    node: dict | None = None
    pods: list[PodInfo] = field(default_factory=list)
    requested: dict[str, int] = field(default_factory=dict)
    non_zero_requested: dict[str, int] = field(default_factory=dict)
    used_ports: dict[tuple[str, str, int], int] = field(default_factory=dict)
    pods_with_affinity: list[PodInfo] = field(default_factory=list)
    pods_with_required_anti_affinity: list[PodInfo] = field(default_factory=list)
    allocatable: dict[str, int] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)
    name: str = ""
    labels: dict = field(default_factory=dict)
    taints: list = field(default_factory=list)

    def set_node(self, node: dict) -> None:
        self.node = node
        self.name = node["metadata"]["name"]
        self.labels = labels_of(node)
        self.taints = (node.get("spec") or {}).get("taints") or []
        status = node.get("status") or {}
        self.allocatable = resource_list(status.get("allocatable") or status.get("capacity"))
        self.images = {normalized_image(n): img.get("sizeBytes") or 0
                       for img in status.get("images") or () for n in img.get("names") or ()}

    def add_pod(self, info: PodInfo) -> None:
        self.pods.append(info)
        self._account(info, 1)

    def remove_pod(self, key: str) -> PodInfo | None:
        for i, info in enumerate(self.pods):
            if info.key == key:
                del self.pods[i]
                self._account(info, -1)
                return info
        return None

    def _account(self, info: PodInfo, sign: int) -> None:
        add_into(self.requested, info.requests, sign)
        add_into(self.non_zero_requested, info.non_zero_requests, sign)
        for port in info.host_ports:
            count = self.used_ports.get(port, 0) + sign
            if count > 0:
                self.used_ports[port] = count
            else:
                self.used_ports.pop(port, None)
        if info.has_affinity:
            self._file(self.pods_with_affinity, info, sign)
        if info.required_anti_affinity:
            self._file(self.pods_with_required_anti_affinity, info, sign)

    @staticmethod
    def _file(items: list[PodInfo], info: PodInfo, sign: int) -> None:
        if sign > 0:
            items.append(info)
        else:
            items[:] = [i for i in items if i.key != info.key]

    def clone(self) -> NodeInfo:
        return NodeInfo(self.node, list(self.pods), dict(self.requested),
                        dict(self.non_zero_requested), dict(self.used_ports),
                        list(self.pods_with_affinity),
                        list(self.pods_with_required_anti_affinity), self.allocatable,
                        self.images, self.name, self.labels, self.taints)
