"""The Node authorizer: a kubelet may touch only what the pods bound to its node use.

A request from ``system:node:NAME`` in group ``system:nodes`` reading a secret,
configmap, PVC or PV, or minting a token for a service account, is allowed only if
a pod with ``spec.nodeName == NAME`` refers to it (a PV through its bound claim).
Writes to nodes, leases, CSINodes and pod status are limited to the node's own
objects; everything else a kubelet needs is judged against the system:node rules.
Requests of anyone else get no opinion. Pods are indexed by node from the watch
cache, rebuilt when pods change.
"""

from __future__ import annotations

from typing import Callable

from . import ALLOW, NO_OPINION, Attributes, Decision
from .bootstrappolicy import node_rules
from .cachewatch import ChangeFlag
from .rules import rules_allow

NODES_GROUP = "system:nodes"
NODE_PREFIX = "system:node:"
LEASE_NAMESPACE = "kube-node-lease"
_GRAPH_RESOURCES = ("secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes")
_NODE_RULES = node_rules()


def node_name(attrs: Attributes) -> str | None:
    user = attrs.user
    if NODES_GROUP not in user.groups or not user.name.startswith(NODE_PREFIX):
        return None
    return user.name[len(NODE_PREFIX):] or None


def pod_references(pod: dict) -> dict[str, set[str]]:
    """Names of the secrets, configmaps, PVCs and the service account a pod uses."""
    refs: dict[str, set[str]] = {"secrets": set(), "configmaps": set(),
                                 "persistentvolumeclaims": set(), "serviceaccounts": set()}
    spec = pod.get("spec") or {}
    pod_name = (pod.get("metadata") or {}).get("name", "")
    refs["serviceaccounts"].add(spec.get("serviceAccountName") or "default")
    for item in spec.get("imagePullSecrets") or ():
        refs["secrets"].add(item.get("name", ""))
    for vol in spec.get("volumes") or ():
        _volume_refs(vol, pod_name, refs)
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(group) or ():
            for env in container.get("env") or ():
                source = env.get("valueFrom") or {}
                if source.get("secretKeyRef"):
                    refs["secrets"].add(source["secretKeyRef"].get("name", ""))
                if source.get("configMapKeyRef"):
                    refs["configmaps"].add(source["configMapKeyRef"].get("name", ""))
            for env in container.get("envFrom") or ():
                if env.get("secretRef"):
                    refs["secrets"].add(env["secretRef"].get("name", ""))
                if env.get("configMapRef"):
                    refs["configmaps"].add(env["configMapRef"].get("name", ""))
    return refs


def _volume_refs(vol: dict, pod_name: str, refs: dict[str, set[str]]) -> None:
    if vol.get("secret"):
        refs["secrets"].add(vol["secret"].get("secretName", ""))
    if vol.get("configMap"):
        refs["configmaps"].add(vol["configMap"].get("name", ""))
    if vol.get("persistentVolumeClaim"):
        refs["persistentvolumeclaims"].add(vol["persistentVolumeClaim"].get("claimName", ""))
    if vol.get("ephemeral"):
        refs["persistentvolumeclaims"].add(f"{pod_name}-{vol.get('name', '')}")
    for source in (vol.get("projected") or {}).get("sources") or ():
        if source.get("secret"):
            refs["secrets"].add(source["secret"].get("name", ""))
        if source.get("configMap"):
            refs["configmaps"].add(source["configMap"].get("name", ""))
    for kind in ("cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos",
                 "azureFile", "csi"):
        secret_ref = (vol.get(kind) or {}).get("secretRef") or \
            (vol.get(kind) or {}).get("nodePublishSecretRef")
        if secret_ref and secret_ref.get("name"):
            refs["secrets"].add(secret_ref["name"])
    if (vol.get("azureFile") or {}).get("secretName"):
        refs["secrets"].add(vol["azureFile"]["secretName"])


class NodeGraph:
    """Pods by node, and a way to find a PVC (for the PV it is bound to)."""

    def __init__(self, pods: list[dict], get_pvc: Callable[[str, str], dict | None]) -> None:
        self.get_pvc = get_pvc
        self.pods_by_node: dict[str, list[dict]] = {}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                self.pods_by_node.setdefault(node, []).append(pod)

    def pods_on(self, node: str, namespace: str | None = None) -> list[dict]:
        pods = self.pods_by_node.get(node, ())
        if namespace is None:
            return list(pods)
        return [p for p in pods if p["metadata"].get("namespace") == namespace]

    def uses(self, node: str, resource: str, namespace: str, name: str) -> bool:
        if resource == "persistentvolumes":
            for pod in self.pods_on(node):
                ns = pod["metadata"].get("namespace", "")
                for claim in pod_references(pod)["persistentvolumeclaims"]:
                    pvc = self.get_pvc(ns, claim)
                    if pvc and (pvc.get("spec") or {}).get("volumeName") == name:
                        return True
            return False
        return any(name in pod_references(pod)[resource] for pod in self.pods_on(node, namespace))

    def pod_bound(self, node: str, namespace: str, name: str) -> bool:
        return any(p["metadata"]["name"] == name for p in self.pods_on(node, namespace))


def _no_relation(node: str) -> Decision:
    return Decision(NO_OPINION, f"no relationship found between node '{node}' and this object")


class NodeAuthorizer:
    """Judges kubelets' requests; ``graph`` returns the current :class:`NodeGraph`."""

    def __init__(self, graph: Callable[[], NodeGraph]) -> None:
        self._graph = graph

    async def authorize(self, attrs: Attributes) -> Decision:
        node = node_name(attrs)
        if node is None:
            return Decision(NO_OPINION)
        if not attrs.resource_request:
            return self._by_rules(attrs)
        group, resource, sub = attrs.api_group, attrs.resource, attrs.subresource
        if group == "" and resource in _GRAPH_RESOURCES and not (
                resource == "persistentvolumeclaims" and sub == "status"):
            return self._read_related(node, attrs)
        if group == "" and resource == "persistentvolumeclaims" and sub == "status":
            if attrs.verb not in ("get", "update", "patch"):
                return Decision(NO_OPINION, "can only get, update or patch pvc status")
            return self._related(node, attrs, "persistentvolumeclaims")
        if group == "" and resource == "serviceaccounts" and sub == "token":
            if attrs.verb != "create":
                return Decision(NO_OPINION, "can only create tokens for individual service "
                                "accounts")
            return self._related(node, attrs, "serviceaccounts")
        if group == "coordination.k8s.io" and resource == "leases":
            if attrs.namespace != LEASE_NAMESPACE or (attrs.name != node and not (
                    attrs.verb == "create" and not attrs.name)):
                return Decision(NO_OPINION, "can only access node lease with the same name as "
                                "the requesting node")
            return self._by_rules(attrs)
        if group == "storage.k8s.io" and resource == "csinodes" and attrs.name not in ("", node):
            return Decision(NO_OPINION, "can only access CSINode with the same name as the "
                            "requesting node")
        if group == "" and resource == "nodes" and attrs.verb in ("update", "patch", "delete") \
                and attrs.name != node:
            return Decision(NO_OPINION, "node can only modify its own Node object")
        if group == "" and resource == "pods" and sub == "status":
            if not self._graph().pod_bound(node, attrs.namespace, attrs.name):
                return _no_relation(node)
        return self._by_rules(attrs)

    def _by_rules(self, attrs: Attributes) -> Decision:
        if rules_allow(attrs, _NODE_RULES):
            return Decision(ALLOW)
        return Decision(NO_OPINION)

    def _read_related(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb not in ("get", "list", "watch") or not attrs.name:
            return Decision(NO_OPINION, "can only read individual resources of this type")
        if attrs.subresource:
            return Decision(NO_OPINION, "cannot read subresource")
        return self._related(node, attrs, attrs.resource)

    def _related(self, node: str, attrs: Attributes, kind: str) -> Decision:
        if self._graph().uses(node, kind, attrs.namespace, attrs.name):
            return Decision(ALLOW)
        return _no_relation(node)


class CacheGraph:
    """Builds the :class:`NodeGraph` from the watch cache, again after pods change."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self._graph = NodeGraph([], lambda ns, name: None)
        self._flag: ChangeFlag | None = None

    def __call__(self) -> NodeGraph:
        cache = self._ctx.watch_cache
        if cache is None:
            return self._graph
        pods = self._ctx.registry.get("", "v1", "pods").prefix
        pvcs = self._ctx.registry.get("", "v1", "persistentvolumeclaims").prefix
        if self._flag is None:
            self._flag = ChangeFlag(cache, [pods])
        if self._flag.changed():
            self._graph = NodeGraph(cache.snapshot(pods, pods)[0],
                                    lambda ns, name: cache.get(pvcs, f"{pvcs}{ns}/{name}"))
        return self._graph
