"""What a hollow node says about itself: its Node object, status and Lease.

Pure builders after the kubelet's ``pkg/kubelet/nodestatus/setters.go``: addresses
(InternalIP, Hostname), machine info (capacity = allocatable: a hollow node reserves
nothing for system daemons), version info, daemon endpoints and the four conditions
in the kubelet's order (MemoryPressure, DiskPressure, PIDPressure, Ready). Each
condition's ``lastHeartbeatTime`` is the time of the post; ``lastTransitionTime``
moves only when the condition's status changes. ``status_changed`` is the kubelet's
``nodeStatusHasChanged``: heartbeats do not count as a change, so an unchanged node is
posted only every ``nodeStatusReportFrequency`` while its Lease carries liveness.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

KUBELET_VERSION = "v1.32.4-pyk8s"
RUNTIME_VERSION = "hollow://1.0"
OS_IMAGE = "pyk8s hollow node"
KERNEL_VERSION = "6.1.0-hollow"
KUBELET_PORT = 10250
LEASE_NAMESPACE = "kube-node-lease"
CONTROLLER_MANAGED_ATTACH_DETACH = "volumes.kubernetes.io/controller-managed-attach-detach"

#: (type, reason, message) of the conditions a healthy kubelet reports, in its order.
HEALTHY_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


@dataclass(frozen=True)
class NodeModel:
    """One simulated machine: its name and what it claims to have."""

    name: str
    internal_ip: str
    capacity: Mapping[str, str]
    labels: Mapping[str, str]
    taints: tuple = ()
    boot_id: str = ""

    @property
    def machine_id(self) -> str:
        return uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.name}.hollow.pyk8s.io").hex


def default_labels(name: str) -> dict:
    """The labels every kubelet puts on its Node (updateDefaultLabels)."""
    return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64"}


def node_labels(model: NodeModel) -> dict:
    return {**default_labels(model.name), **model.labels}


def node_object(model: NodeModel, now: str) -> dict:
    """The Node the kubelet registers (initialNode), status included."""
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": model.name, "labels": node_labels(model),
                         "annotations": {CONTROLLER_MANAGED_ATTACH_DETACH: "true"}},
            "spec": {}, "status": node_status(model, None, now)}
    if model.taints:
        node["spec"]["taints"] = [dict(t) for t in model.taints]
    return node


def label_patch(model: NodeModel, current: dict) -> dict | None:
    """A merge patch bringing an existing Node's labels to ours (None if they match)."""
    labels = (current.get("metadata") or {}).get("labels") or {}
    missing = {k: v for k, v in node_labels(model).items() if labels.get(k) != v}
    return {"metadata": {"labels": missing}} if missing else None


def _conditions(current: list, now: str) -> list:
    old = {c.get("type"): c for c in current or ()}
    out = []
    for ctype, status, reason, message in HEALTHY_CONDITIONS:
        previous = old.get(ctype) or {}
        since = previous.get("lastTransitionTime") if previous.get("status") == status else None
        out.append({"type": ctype, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": since or now, "reason": reason, "message": message})
    return out


def node_status(model: NodeModel, current: dict | None, now: str) -> dict:
    """The status fields the kubelet owns, as its setters compute them at ``now``."""
    capacity = {**model.capacity, "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    return {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "conditions": _conditions((current or {}).get("conditions"), now),
        "addresses": [{"type": "InternalIP", "address": model.internal_ip},
                      {"type": "Hostname", "address": model.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": model.machine_id, "systemUUID": model.machine_id,
            "bootID": model.boot_id, "kernelVersion": KERNEL_VERSION, "osImage": OS_IMAGE,
            "containerRuntimeVersion": RUNTIME_VERSION, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
        },
    }


def _condition_key(cond: dict) -> tuple:
    return (cond.get("status"), cond.get("reason") or "", cond.get("message") or "",
            cond.get("lastTransitionTime"))


def status_changed(current: dict | None, desired: dict) -> bool:
    """Whether posting ``desired`` would change more than heartbeat times."""
    current = current or {}
    for key in ("capacity", "allocatable", "daemonEndpoints", "nodeInfo"):
        if current.get(key) != desired[key]:
            return True
    have = {a.get("type"): a.get("address") for a in current.get("addresses") or ()}
    if any(have.get(a["type"]) != a["address"] for a in desired["addresses"]):
        return True
    conditions = {c.get("type"): c for c in current.get("conditions") or ()}
    return any(_condition_key(conditions.get(c["type"]) or {}) != _condition_key(c)
               for c in desired["conditions"])


def lease_object(name: str, node_uid: str | None, duration: int, now: str) -> dict:
    """The node's Lease in kube-node-lease, owned by its Node (SetNodeOwnerFunc)."""
    meta: dict = {"name": name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": name,
                                    "uid": node_uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": name, "leaseDurationSeconds": duration,
                     "renewTime": now}}


def renewed_lease(lease: dict, node_uid: str | None, duration: int, now: str) -> dict:
    """A copy of ``lease`` renewed at ``now`` (the cached one is left untouched)."""
    meta = dict(lease.get("metadata") or {})
    if node_uid and not meta.get("ownerReferences"):
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": meta["name"],
                                    "uid": node_uid}]
    spec = {**(lease.get("spec") or {}), "holderIdentity": meta["name"],
            "leaseDurationSeconds": duration, "renewTime": now}
    return {**lease, "metadata": meta, "spec": spec}
