"""Root CA publisher: a ``kube-root-ca.crt`` ConfigMap with the cluster CA in every namespace.

Pods verify the API server (``kubernetes.default.svc``) with this bundle; projected
service-account volumes mount it. As upstream's root-ca-cert-publisher, each namespace
that appears (or is updated while Active) gets the ConfigMap, and a deleted or edited copy
is put back: ``data`` must be exactly ``{"ca.crt": <--root-ca-file>}`` and the
``kubernetes.io/description`` annotation must be present. A create refused because the
namespace is gone or terminating is not retried.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ..client import AlreadyExists, Forbidden, NotFound
from . import register
from .base import Controller

NAME = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")
TERMINATING_CAUSE = "NamespaceTerminating"


def desired_configmap(namespace: str, root_ca: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": namespace,
                         "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
            "data": {"ca.crt": root_ca}}


def repaired(cm: dict, root_ca: str) -> dict | None:
    """A corrected copy of ``cm``, or None when it is already right."""
    annotations = (cm.get("metadata") or {}).get("annotations") or {}
    if cm.get("data") == {"ca.crt": root_ca} and annotations.get(DESCRIPTION_ANNOTATION):
        return None
    fixed = copy.deepcopy(cm)
    fixed["data"] = {"ca.crt": root_ca}
    fixed.pop("binaryData", None)
    fixed["metadata"]["annotations"] = {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
    return fixed


def _terminating(err: Forbidden) -> bool:
    return any(c.get("type") == TERMINATING_CAUSE for c in err.details.get("causes") or ())


@register("root-ca-cert-publisher")
class RootCACertPublisher(Controller):
    def setup(self) -> None:
        path = self.ctx.options.root_ca_file
        self.root_ca = Path(path).read_text() if path else None
        self.namespaces = self.ctx.informers.informer("v1", "Namespace")
        self.configmaps = self.ctx.informers.informer(
            "v1", "ConfigMap", field_selector=f"metadata.name={NAME}")
        self.namespaces.add_event_handler(on_add=self.enqueue,
                                          on_update=self._namespace_updated)
        self.configmaps.add_event_handler(on_update=lambda old, new: self._configmap_changed(new),
                                          on_delete=self._configmap_changed)
        self.api = self.client.api("v1", "ConfigMap")

    def _namespace_updated(self, old: dict, new: dict) -> None:
        if (new.get("status") or {}).get("phase") == "Active":
            self.enqueue(new)

    def _configmap_changed(self, obj) -> None:
        obj = getattr(obj, "obj", obj)
        meta = obj.get("metadata") or {}
        if meta.get("name") == NAME and meta.get("namespace"):
            self.queue.add(meta["namespace"])

    async def run(self, stop) -> None:
        if self.root_ca is None:
            self.log.error("no --root-ca-file given; not publishing %s", NAME)
            await stop.wait()
            return
        await super().run(stop)

    async def sync(self, key: str) -> None:
        cm = self.configmaps.store.get(f"{key}/{NAME}")
        if cm is None:
            cm = await self._create(key)
        if cm is None:
            return
        fixed = repaired(cm, self.root_ca)
        if fixed is not None:
            await self.api.update(fixed)
            self.log.info("updated %s/%s", key, NAME)

    async def _create(self, namespace: str) -> dict | None:
        """Create the ConfigMap; if the cache lagged and one exists, return that one."""
        try:
            await self.api.create(desired_configmap(namespace, self.root_ca),
                                  namespace=namespace)
        except NotFound:
            return None
        except Forbidden as err:
            if _terminating(err):
                return None
            raise
        except AlreadyExists:
            return await self.api.get(NAME, namespace=namespace)
        self.log.info("created %s/%s", namespace, NAME)
        return None
