"""ReplicaSet controller: keeps ``spec.replicas`` pods matching the selector running.

As upstream's pkg/controller/replicaset. Each sync of ``namespace/name``:

1. claims the active pods of the namespace (adopting matching orphans, releasing pods
   that stopped matching; see util.controllerref);
2. if the expectations of earlier writes have been observed (util.expectations), creates
   the missing pods in slow-start batches (1, 2, 4, ...; at most 500 per sync) or deletes
   the surplus, ranked as upstream (util.pods.pods_to_delete);
3. writes status (replicas, fullyLabeled, ready, available, observedGeneration and the
   ReplicaFailure condition) when it changed, and comes back after minReadySeconds when
   ready pods have still to become available.

Informer events feed the expectations: a pod added with our controller reference is an
observed creation, a deleted one an observed deletion. ReplicationControllers use the same
logic through :class:`ReplicaSetController`'s small adapter surface (``api_version``,
``kind``, :meth:`selector_of`): see replicationcontroller.py.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from ..client import ApiError, Conflict, NotFound
from ..client.meta import meta_namespace_key
from ..client.store import owner_uid_index
from . import register
from .base import Controller
from .replicaset_status import calculate_status, status_unchanged
from .util import selectors
from .util.controllerref import (
    ControllerRefManager,
    controller_of,
    new_controller_ref,
    recheck_owner,
)
from .util.expectations import ControllerExpectations
from .util.podcontrol import (
    PodControl,
    error_text,
    namespace_terminating,
    slow_start_batch,
)
from .util.pods import filter_active_pods, is_pod_ready, pods_to_delete

BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
OWNER = "owner"


def _tombstone(obj):
    return getattr(obj, "obj", obj)


@register("replicaset")
class ReplicaSetController(Controller):
    api_version: ClassVar[str] = "apps/v1"
    kind: ClassVar[str] = "ReplicaSet"

    def selector_of(self, owner: dict) -> dict | None:
        """The owner's LabelSelector (the adapter point for ReplicationControllers)."""
        return (owner.get("spec") or {}).get("selector")

    def setup(self) -> None:
        self.expectations = ControllerExpectations()
        self.owners = self.ctx.informers.informer(self.api_version, self.kind,
                                                  indexers={OWNER: owner_uid_index})
        self.pods = self.ctx.informers.informer("v1", "Pod", indexers={OWNER: owner_uid_index})
        self.owner_api = self.client.api(self.api_version, self.kind)
        self.pod_api = self.client.api("v1", "Pod")
        self.pod_control = PodControl(self.pod_api, self.ctx.recorder)
        self.owners.add_event_handler(on_add=self.enqueue, on_update=self._owner_updated,
                                      on_delete=self._owner_deleted)
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)

    # -- event handlers ---------------------------------------------------------------

    def _owner_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("uid") != new["metadata"].get("uid"):
            self._owner_deleted(old)
        self.enqueue(new)

    def _owner_deleted(self, obj) -> None:
        key = meta_namespace_key(_tombstone(obj))
        self.expectations.delete(key)
        self.queue.add(key)

    def _resolve(self, namespace: str, ref: dict | None) -> dict | None:
        """The owner a controller reference points at, if it is one of ours and current."""
        if ref is None or ref.get("kind") != self.kind:
            return None
        owner = self.owners.store.get(f"{namespace}/{ref.get('name')}")
        return owner if owner and owner["metadata"].get("uid") == ref.get("uid") else None

    def _matching_owners(self, pod: dict) -> list[dict]:
        labels = pod["metadata"].get("labels") or {}
        return [o for o in self.owners.store.by_index("namespace", pod["metadata"]["namespace"])
                if not selectors.is_empty(self.selector_of(o))
                and selectors.matches(self.selector_of(o), labels)]

    def _pod_added(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            owner = self._resolve(pod["metadata"]["namespace"], ref)
            if owner is not None:
                key = meta_namespace_key(owner)
                self.expectations.creation_observed(key)
                self.queue.add(key)
            return
        for owner in self._matching_owners(pod):
            self.enqueue(owner)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
        if new["metadata"].get("deletionTimestamp"):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        ns = new["metadata"]["namespace"]
        old_ref, ref = controller_of(old), controller_of(new)
        ref_changed = old_ref != ref
        if ref_changed and (previous := self._resolve(ns, old_ref)) is not None:
            self.enqueue(previous)
        if ref is not None:
            owner = self._resolve(ns, ref)
            if owner is None:
                return
            self.enqueue(owner)
            min_ready = owner["spec"].get("minReadySeconds") or 0
            if min_ready and not is_pod_ready(old) and is_pod_ready(new):
                self.queue.add_after(meta_namespace_key(owner), min_ready + 1)
            return
        if labels_changed or ref_changed:
            for owner in self._matching_owners(new):
                self.enqueue(owner)

    def _pod_deleted(self, obj) -> None:
        pod = _tombstone(obj)
        owner = self._resolve(pod["metadata"]["namespace"], controller_of(pod))
        if owner is not None:
            key = meta_namespace_key(owner)
            self.expectations.deletion_observed(key, meta_namespace_key(pod))
            self.queue.add(key)

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        owner = self.owners.store.get(key)
        if owner is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        selector = self.selector_of(owner)
        if selector is None:
            self.log.error("%s %s has no selector", self.kind, key)
            return
        namespace = owner["metadata"]["namespace"]
        pods = filter_active_pods(self.pods.store.by_index("namespace", namespace))
        pods = await self._claim(owner, selector, pods)
        manage_error: Exception | None = None
        if needs_sync and not owner["metadata"].get("deletionTimestamp"):
            try:
                await self._manage_replicas(key, owner, pods)
            except (ApiError, ValueError) as err:
                manage_error = err
        new_status = calculate_status(
            owner, pods, error_text(manage_error) if manage_error else None)
        updated = await self._update_status(owner, new_status)
        self._requeue_for_availability(key, updated, manage_error)
        if manage_error is not None:
            raise manage_error

    async def _claim(self, owner: dict, selector: dict, pods: list[dict]) -> list[dict]:
        ref = new_controller_ref(owner, self.api_version, self.kind)
        manager = ControllerRefManager(
            self.pod_api, owner, ref,
            lambda pod: selectors.matches(selector, pod["metadata"].get("labels")),
            recheck_owner(self.owner_api, owner))
        return await manager.claim(pods)

    async def _manage_replicas(self, key: str, owner: dict, pods: list[dict]) -> None:
        wanted = owner["spec"].get("replicas")
        diff = len(pods) - (1 if wanted is None else wanted)
        if diff < 0:
            await self._create_pods(key, owner, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            await self._delete_pods(key, owner, pods, min(diff, BURST_REPLICAS))

    async def _create_pods(self, key: str, owner: dict, count: int) -> None:
        self.log.info("too few replicas for %s %s, need %d, creating %d", self.kind, key,
                      owner["spec"].get("replicas"), count)
        self.expectations.expect_creations(key, count)
        ref = new_controller_ref(owner, self.api_version, self.kind)
        namespace = owner["metadata"]["namespace"]
        template = owner["spec"].get("template") or {}

        async def create() -> None:
            await self.pod_control.create(namespace, template, owner, ref)

        created, err = await slow_start_batch(count, SLOW_START_INITIAL_BATCH, create)
        for _ in range(count - created):  # never attempted or failed: not to be observed
            self.expectations.creation_observed(key)
        if err is not None and not namespace_terminating(err):
            raise err

    async def _delete_pods(self, key: str, owner: dict, pods: list[dict], count: int) -> None:
        victims = pods_to_delete(pods, self._indirectly_related_pods(owner), count)
        self.log.info("too many replicas for %s %s, deleting %d", self.kind, key, count)
        self.expectations.expect_deletions(key, [meta_namespace_key(p) for p in victims])
        namespace = owner["metadata"]["namespace"]
        results = await asyncio.gather(
            *(self.pod_control.delete(namespace, p["metadata"]["name"], owner) for p in victims),
            return_exceptions=True)
        errors = []
        for pod, result in zip(victims, results, strict=True):
            if isinstance(result, Exception):
                self.expectations.deletion_observed(key, meta_namespace_key(pod))
                if not isinstance(result, NotFound):
                    errors.append(result)
        if errors:
            raise errors[0]

    def _indirectly_related_pods(self, owner: dict) -> list[dict]:
        """Pods of every ReplicaSet sharing ``owner``'s controller (a Deployment's RSes),
        so scale-down prefers nodes crowded with the Deployment's pods."""
        ref = controller_of(owner)
        siblings = [owner] if ref is None else [
            o for o in self.owners.store.by_index(OWNER, ref["uid"])
            if (controller_of(o) or {}).get("uid") == ref["uid"]]
        related = {}
        for sibling in siblings:
            uid = sibling["metadata"]["uid"]
            for pod in self.pods.store.by_index(OWNER, uid):
                if (controller_of(pod) or {}).get("uid") == uid:
                    related[pod["metadata"]["uid"]] = pod
        return list(related.values())

    async def _update_status(self, owner: dict, status: dict) -> dict:
        """Write ``status`` unless it is the steady state; one retry after a conflict."""
        if status_unchanged(owner, status):
            return owner
        status["observedGeneration"] = owner["metadata"].get("generation") or 0
        try:
            return await self.owner_api.update_status({**owner, "status": status})
        except Conflict:
            meta = owner["metadata"]
            fresh = await self.owner_api.get(meta["name"], namespace=meta["namespace"])
            return await self.owner_api.update_status({**fresh, "status": status})

    def _requeue_for_availability(self, key: str, owner: dict, error: Exception | None) -> None:
        spec, status = owner.get("spec") or {}, owner.get("status") or {}
        min_ready = spec.get("minReadySeconds") or 0
        replicas = spec.get("replicas")
        if error is None and min_ready and status.get("readyReplicas") == replicas and \
                status.get("availableReplicas") != replicas:
            self.queue.add_after(key, min_ready)

