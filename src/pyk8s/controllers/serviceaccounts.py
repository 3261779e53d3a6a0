"""ServiceAccount controller: a ``default`` ServiceAccount in every namespace.

Pods are refused by the ServiceAccount admission plugin until their account
exists, so every active namespace gets ``default`` soon after it is created, and
gets it back if it is deleted (as kube-controller-manager's serviceaccount-controller).
"""

from __future__ import annotations

from ..client import AlreadyExists, NotFound
from . import register
from .base import Controller

MANAGED = ("default",)


@register("serviceaccount")
class ServiceAccountController(Controller):
    def setup(self) -> None:
        self.namespaces = self.ctx.informers.informer("v1", "Namespace")
        self.accounts = self.ctx.informers.informer("v1", "ServiceAccount")
        self.namespaces.add_event_handler(on_add=self.enqueue,
                                          on_update=lambda old, new: self.enqueue(new))
        self.accounts.add_event_handler(on_delete=self._account_deleted)
        self.api = self.client.api("v1", "ServiceAccount")

    def _account_deleted(self, obj) -> None:
        obj = getattr(obj, "obj", obj)
        if obj["metadata"]["name"] in MANAGED:
            self.queue.add(obj["metadata"]["namespace"])

    async def sync(self, key: str) -> None:
        ns = self.namespaces.store.get(key)
        if ns is None or ns.get("status", {}).get("phase") == "Terminating":
            return
        for name in MANAGED:
            if self.accounts.store.get(f"{key}/{name}") is not None:
                continue
            try:
                await self.api.create({"apiVersion": "v1", "kind": "ServiceAccount",
                                       "metadata": {"name": name, "namespace": key}},
                                      namespace=key)
                self.log.info("created serviceaccount %s/%s", key, name)
            except AlreadyExists:
                pass
            except NotFound:
                return
