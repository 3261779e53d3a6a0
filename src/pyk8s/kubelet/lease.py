"""The node's heartbeat: its Lease in ``kube-node-lease``, renewed every 10 seconds.

As ``pkg/kubelet/nodelease`` (component-helpers' lease controller): the Lease is
named after the node, held by it, ``leaseDurationSeconds`` 40, owned by the Node (so
it goes when the Node does). Each renewal updates the Lease last written (one
request); a conflict or a missing Lease falls back to get-or-create. The node
lifecycle controller reads ``renewTime`` to decide whether the node is alive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..client import AlreadyExists, Client, Conflict, NotFound
from ..client.errors import ClientError
from ..client.meta import micro_time

log = logging.getLogger("pyk8s.kubelet.lease")

NAMESPACE = "kube-node-lease"


class NodeLease:
    def __init__(self, client: Client, node_name: str, node_uid: Callable[[], str | None], *,
                 duration: int = 40, renew_interval: float = 10.0) -> None:
        self.api = client.api("coordination.k8s.io/v1", "Lease")
        self.name = node_name
        self.node_uid = node_uid
        self.duration = duration
        self.renew_interval = renew_interval
        self.lease: dict | None = None

    def _renewed(self, lease: dict) -> dict:
        meta = dict(lease.get("metadata") or {})
        uid = self.node_uid()
        if uid and not meta.get("ownerReferences"):
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                        "uid": uid}]
        spec = {**(lease.get("spec") or {}), "holderIdentity": self.name,
                "leaseDurationSeconds": self.duration, "renewTime": micro_time()}
        return {**lease, "metadata": meta, "spec": spec}

    async def renew(self) -> None:
        if self.lease is not None:
            try:
                self.lease = await self.api.update(self._renewed(self.lease))
                return
            except (Conflict, NotFound):
                pass
        try:
            current = await self.api.get(self.name, namespace=NAMESPACE)
        except NotFound:
            try:
                self.lease = await self.api.create(self._renewed(
                    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": self.name, "namespace": NAMESPACE}}))
                return
            except AlreadyExists:
                current = await self.api.get(self.name, namespace=NAMESPACE)
        self.lease = await self.api.update(self._renewed(current))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.renew()
            except (ClientError, OSError) as err:
                log.warning("renewing lease %s failed: %s", self.name, err)
            try:
                async with asyncio.timeout(self.renew_interval):
                    await stop.wait()
            except TimeoutError:
                pass
