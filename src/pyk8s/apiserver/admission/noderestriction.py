"""NodeRestriction: a kubelet may only touch its own Node, its pods and its Lease.

RBAC's system:node role lets every kubelet write every node and pod; as upstream's
noderestriction plugin, a request from a node identity (user ``system:node:<name>``
in group ``system:nodes``) is further limited: it may create only mirror pods bound
to itself (owned by its Node, referencing no service account, secret, configmap or
claim), delete and update the status of pods bound to itself, evict them, modify
only its own Node (setting only the labels a kubelet may set, never changing taints
on update) and only its own Lease in kube-node-lease.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from . import AdmissionPlugin, AdmissionRequest, lookup
from .serviceaccount import MIRROR_ANNOTATION, _references_secrets

if TYPE_CHECKING:
    from ..context import ServerContext

NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
NODE_LEASE_NAMESPACE = "kube-node-lease"
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
    "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone"})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def node_name(req: AdmissionRequest) -> str | None:
    """The node a request comes from (nodeidentifier), or None."""
    user = req.user
    if user.name.startswith(NODE_USER_PREFIX) and NODES_GROUP in user.groups:
        return user.name[len(NODE_USER_PREFIX):] or None
    return None


def _forbidden_label(key: str) -> bool:
    """Labels under kubernetes.io/k8s.io a kubelet may not set, and the
    node-restriction.kubernetes.io namespace reserved for administrators."""
    if "/" not in key:
        return False
    domain = key.split("/", 1)[0]
    if domain == "node-restriction.kubernetes.io" or domain.endswith(
            ".node-restriction.kubernetes.io"):
        return True
    if key in KUBELET_LABELS:
        return False
    if any(domain == ns or domain.endswith("." + ns) for ns in KUBELET_LABEL_NAMESPACES):
        return False
    return any(domain == d or domain.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))


class NodeRestriction(AdmissionPlugin):
    name = "NodeRestriction"

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        node = node_name(req)
        if node is not None and req.operation != "DELETE":
            await self._check(ctx, req, node)

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        node = node_name(req)
        if node is not None and req.operation == "DELETE":
            await self._check(ctx, req, node)

    async def _check(self, ctx: "ServerContext", req: AdmissionRequest, node: str) -> None:
        if req.is_resource("", "pods"):
            await self._pod(ctx, req, node)
        elif req.is_resource("", "nodes"):
            self._node(req, node)
        elif req.is_resource("coordination.k8s.io", "leases"):
            if req.namespace != NODE_LEASE_NAMESPACE:
                raise req.forbidden(
                    f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
            if req.name != node:
                raise req.forbidden(
                    "can only access node lease with the same name as the requesting node")

    async def _pod(self, ctx: "ServerContext", req: AdmissionRequest, node: str) -> None:
        if req.subresource == "status":
            if ((req.old_object or {}).get("spec") or {}).get("nodeName") != node:
                raise req.forbidden(f'node "{node}" can only update pod status for pods with '
                                    "spec.nodeName set to itself")
        elif req.subresource == "eviction" or (req.subresource == "" and req.operation == "DELETE"):
            pod = req.old_object or await lookup.get(ctx, "", "pods", req.namespace, req.name)
            if pod is None:
                raise errors.not_found("", "pods", req.name)
            if (pod.get("spec") or {}).get("nodeName") != node:
                verb = "evict" if req.subresource == "eviction" else "delete"
                raise req.forbidden(
                    f'node "{node}" can only {verb} pods with spec.nodeName set to itself')
        elif req.subresource == "" and req.operation == "CREATE":
            await self._pod_create(ctx, req, node)
        elif req.subresource == "":
            raise req.forbidden(f'unexpected operation "{req.operation}", node "{node}" can '
                                "only create and delete mirror pods")
        else:
            raise req.forbidden(f'unexpected subresource "{req.subresource}", node "{node}" '
                                "can only update pod status")

    async def _pod_create(self, ctx: "ServerContext", req: AdmissionRequest, node: str) -> None:
        pod = req.object or {}
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if MIRROR_ANNOTATION not in (meta.get("annotations") or {}):
            raise req.forbidden(f'pod does not have "{MIRROR_ANNOTATION}" annotation, node '
                                f'"{node}" can only create mirror pods')
        if spec.get("nodeName") != node:
            raise req.forbidden(
                f'node "{node}" can only create pods with spec.nodeName set to itself')
        owners = meta.get("ownerReferences") or []
        if len(owners) > 1:
            raise req.forbidden(f'node "{node}" can only create pods with a single owner '
                                "reference set to itself")
        owner = owners[0] if owners else {}
        if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
            raise req.forbidden(
                f'node "{node}" can only create pods with an owner reference set to itself')
        if not owner.get("controller"):
            raise req.forbidden(f'node "{node}" can only create pods with a controller owner '
                                "reference set to itself")
        if owner.get("blockOwnerDeletion"):
            raise req.forbidden(f'node "{node}" must not set blockOwnerDeletion on an owner '
                                "reference")
        node_obj = await lookup.get(ctx, "", "nodes", None, node)
        if node_obj is None:
            raise errors.not_found("", "nodes", node)
        if node_obj["metadata"].get("uid") != owner.get("uid"):
            raise req.forbidden(f"node {node} UID mismatch")
        if spec.get("serviceAccountName"):
            raise req.forbidden(
                f'node "{node}" can not create pods that reference a service account')
        if _references_secrets(spec):
            raise req.forbidden(f'node "{node}" can not create pods that reference secrets')
        if _references_configmaps(spec):
            raise req.forbidden(f'node "{node}" can not create pods that reference configmaps')
        if any(v.get("persistentVolumeClaim") for v in spec.get("volumes") or []):
            raise req.forbidden(
                f'node "{node}" can not create pods that reference persistentvolumeclaims')

    def _node(self, req: AdmissionRequest, node: str) -> None:
        if req.name != node:
            raise req.forbidden(f'node "{node}" is not allowed to modify node "{req.name}"')
        if req.operation == "DELETE" or req.subresource:
            return
        labels = (req.object.get("metadata") or {}).get("labels") or {}
        if req.operation == "CREATE":
            bad = sorted(k for k in labels if _forbidden_label(k))
            if bad:
                raise req.forbidden(f'node "{node}" is not allowed to set the following labels: '
                                    + ", ".join(bad))
            return
        old = req.old_object or {}
        old_labels = (old.get("metadata") or {}).get("labels") or {}
        changed = sorted(k for k in set(labels) | set(old_labels)
                         if labels.get(k) != old_labels.get(k) and _forbidden_label(k))
        if changed:
            raise req.forbidden(
                f'node "{node}" is not allowed to modify labels: {", ".join(changed)}')
        if (req.object.get("spec") or {}).get("taints") != (old.get("spec") or {}).get("taints"):
            raise req.forbidden(f'node "{node}" is not allowed to modify taints')


def _references_configmaps(spec: dict) -> bool:
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(kind) or []:
            if any((e.get("valueFrom") or {}).get("configMapKeyRef") for e in c.get("env") or []):
                return True
            if any(src.get("configMapRef") for src in c.get("envFrom") or []):
                return True
    for vol in spec.get("volumes") or []:
        if vol.get("configMap") or any(
                src.get("configMap") for src in (vol.get("projected") or {}).get("sources") or []):
            return True
    return False
