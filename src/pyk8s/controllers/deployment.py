"""Deployment controller: rolls a pod template out through ReplicaSets.

As upstream's pkg/controller/deployment. A Deployment owns ReplicaSets named
``<name>-<pod-template-hash>`` (adopting matching orphans, releasing ones that stopped
matching); the one whose template equals the Deployment's is the new one, the rest are
old. Each sync of ``namespace/name``, on our own copy of the cached Deployment:

* deleting: only status; paused or resized (a ReplicaSet's desired-replicas annotation
  differs from spec.replicas): scale without rolling out (proportionally across
  ReplicaSets mid-rollout);
* otherwise roll out with the strategy (deployment_rollout.py) and update status and the
  Progressing/Available conditions (deployment_status.py).

The steps and writes live in deployment_sync.py, the arithmetic in deployment_util.py.
ReplicaSet events wake the owning Deployment; a pod deletion wakes a Recreate Deployment
waiting for its old pods to go.
"""

from __future__ import annotations

import copy

from ..client.meta import meta_namespace_key
from ..client.store import owner_uid_index
from . import register
from .base import Controller
from .deployment_rollout import rollout_recreate, rollout_rolling
from .deployment_sync import DeploymentSync
from .util import selectors
from .util.controllerref import (
    ControllerRefManager,
    controller_of,
    new_controller_ref,
    recheck_owner,
)

OWNER = "owner"


def _tombstone(obj):
    return getattr(obj, "obj", obj)


@register("deployment")
class DeploymentController(Controller):
    def setup(self) -> None:
        informers = self.ctx.informers
        self.deployments = informers.informer("apps/v1", "Deployment")
        self.replicasets = informers.informer("apps/v1", "ReplicaSet",
                                              indexers={OWNER: owner_uid_index})
        self.pods = informers.informer("v1", "Pod", indexers={OWNER: owner_uid_index})
        self.deployment_api = self.client.api("apps/v1", "Deployment")
        self.rs_api = self.client.api("apps/v1", "ReplicaSet")
        self.deployments.add_event_handler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
            on_delete=lambda obj: self.queue.add(meta_namespace_key(_tombstone(obj))))
        self.replicasets.add_event_handler(on_add=self._rs_added, on_update=self._rs_updated,
                                           on_delete=self._rs_deleted)
        self.pods.add_event_handler(on_delete=self._pod_deleted)

    # -- event handlers ---------------------------------------------------------------

    def _resolve(self, namespace: str, ref: dict | None) -> dict | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.store.get(f"{namespace}/{ref.get('name')}")
        return d if d and d["metadata"].get("uid") == ref.get("uid") else None

    def _matching(self, rs: dict) -> list[dict]:
        labels = rs["metadata"].get("labels") or {}
        return [d for d in self.deployments.store.by_index("namespace",
                                                           rs["metadata"]["namespace"])
                if not selectors.is_empty(d["spec"].get("selector"))
                and selectors.matches(d["spec"].get("selector"), labels)]

    def _rs_added(self, rs: dict) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            self._rs_deleted(rs)
            return
        ref = controller_of(rs)
        if ref is not None:
            if (d := self._resolve(rs["metadata"]["namespace"], ref)) is not None:
                self.enqueue(d)
            return
        for d in self._matching(rs):
            self.enqueue(d)

    def _rs_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        ns = new["metadata"]["namespace"]
        old_ref, ref = controller_of(old), controller_of(new)
        if old_ref != ref and (previous := self._resolve(ns, old_ref)) is not None:
            self.enqueue(previous)
        if ref is not None:
            if (d := self._resolve(ns, ref)) is not None:
                self.enqueue(d)
            return
        if old_ref != ref or old["metadata"].get("labels") != new["metadata"].get("labels"):
            for d in self._matching(new):
                self.enqueue(d)

    def _rs_deleted(self, obj) -> None:
        rs = _tombstone(obj)
        if (d := self._resolve(rs["metadata"]["namespace"], controller_of(rs))) is not None:
            self.enqueue(d)

    def _pod_deleted(self, obj) -> None:
        pod = _tombstone(obj)
        ns = pod["metadata"]["namespace"]
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.store.get(f"{ns}/{ref.get('name')}")
        d = self._resolve(ns, controller_of(rs)) if rs else None
        if d is not None and (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            self.enqueue(d)

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.deployments.store.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        if selectors.is_empty(d["spec"].get("selector")):
            await self._selecting_all(d)
            return
        s = DeploymentSync(self, d, await self._claim_rss(d))
        if d["metadata"].get("deletionTimestamp"):
            await s.sync_status_only()
            return
        await s.check_paused_conditions()
        if s.d["spec"].get("paused") or await s.is_scaling_event():
            await s.sync_only()
        elif (s.d["spec"].get("strategy") or {}).get("type") == "Recreate":
            await rollout_recreate(s, lambda new: self._old_pods_running(s, new))
        else:
            await rollout_rolling(s)

    async def _selecting_all(self, d: dict) -> None:
        self.ctx.recorder.event(d, type="Warning", reason="SelectingAll", action="Sync",
                                note="This deployment is selecting all pods. A non-empty "
                                     "selector is required.")
        status = d.setdefault("status", {})
        if (status.get("observedGeneration") or 0) < (d["metadata"].get("generation") or 0):
            status["observedGeneration"] = d["metadata"]["generation"]
            await self.deployment_api.update_status(d)

    async def _claim_rss(self, d: dict) -> list[dict]:
        selector = d["spec"]["selector"]
        manager = ControllerRefManager(
            self.rs_api, d, new_controller_ref(d, "apps/v1", "Deployment"),
            lambda rs: selectors.matches(selector, rs["metadata"].get("labels")),
            recheck_owner(self.deployment_api, d))
        return await manager.claim(self.replicasets.store.by_index(
            "namespace", d["metadata"]["namespace"]))

    def _old_pods_running(self, s: DeploymentSync, new: dict | None) -> bool:
        """Any pod of an old ReplicaSet not yet Succeeded/Failed (Recreate waits for them)."""
        new_uid = new["metadata"]["uid"] if new else None
        for rs in s.rs_list:
            uid = rs["metadata"]["uid"]
            if uid == new_uid:
                continue
            for pod in self.pods.store.by_index(OWNER, uid):
                if (controller_of(pod) or {}).get("uid") == uid and \
                        (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                    return True
        return False
