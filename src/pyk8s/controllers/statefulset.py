"""StatefulSet controller: pods with stable names, storage and ordered rollout
(upstream's stateful_set_control.go).

Each sync claims the set's pods and ControllerRevisions, works out the current and
update revisions, then walks the ordinals: missing pods are created (their PVCs
first), failed ones deleted to be recreated, identities repaired; pods beyond
``replicas`` are deleted from the highest ordinal down. With ``OrderedReady`` every step
waits for the pods before it to be Running and Ready (and the deletion of the previous
one to finish); ``Parallel`` does them all at once. A ``RollingUpdate`` then replaces the
highest-ordinal pod not on the update revision, one at a time, down to the partition;
``OnDelete`` leaves that to the user. Status counts replicas per revision, and old
revisions beyond ``revisionHistoryLimit`` are pruned.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime

from ..client import AlreadyExists, NotFound
from ..client.meta import meta_namespace_key
from ..client.store import owner_uid_index
from . import register
from . import statefulset_pods as sp
from .base import Controller
from .util import history, selectors
from .util.controllerref import (
    ControllerRefManager,
    controller_of,
    new_controller_ref,
    recheck_owner,
)
from .util.times import utcnow


@register("statefulset")
class StatefulSetController(Controller):
    clock: Callable[[], datetime] = staticmethod(utcnow)

    def setup(self) -> None:
        self.sets = self.ctx.informers.informer("apps/v1", "StatefulSet")
        self.pods = self.ctx.informers.informer("v1", "Pod", indexers={"owner": owner_uid_index})
        self.revisions = self.ctx.informers.informer("apps/v1", "ControllerRevision",
                                                     indexers={"owner": owner_uid_index})
        self.claims = self.ctx.informers.informer("v1", "PersistentVolumeClaim")
        self.sets.add_event_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new),
                                    on_delete=self.enqueue)
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=lambda old, new: self._pod_changed(new),
                                    on_delete=lambda obj: self._pod_changed(
                                        getattr(obj, "obj", obj)))
        self.set_api = self.client.api("apps/v1", "StatefulSet")
        self.pod_api = self.client.api("v1", "Pod")
        self.revision_api = self.client.api("apps/v1", "ControllerRevision")
        self.claim_api = self.client.api("v1", "PersistentVolumeClaim")

    def _pod_changed(self, pod: dict) -> None:
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == "StatefulSet":
            self.queue.add(f"{pod['metadata']['namespace']}/{ref['name']}")

    async def sync(self, key: str) -> None:
        sts = self.sets.store.get(key)
        if sts is None:
            return
        pods = await self._claim(sts)
        await StatefulSetSync(self, sts, pods).run()

    async def _claim(self, sts: dict) -> list[dict]:
        selector = (sts.get("spec") or {}).get("selector")
        uid = sts["metadata"]["uid"]
        candidates = [p for p in self.pods.store.by_index("namespace", sts["metadata"]["namespace"])
                      if (controller_of(p) or {}).get("uid", uid) == uid]
        manager = ControllerRefManager(
            self.pod_api, sts, new_controller_ref(sts, "apps/v1", "StatefulSet"),
            lambda p: sp.is_member(sts, p) and selectors.matches(
                selector, p["metadata"].get("labels")),
            recheck_owner(self.set_api, sts))
        return await manager.claim(candidates)


class StatefulSetSync:
    """One sync of one StatefulSet (upstream's updateStatefulSet)."""

    def __init__(self, ctl: StatefulSetController, sts: dict, pods: list[dict]) -> None:
        self.ctl, self.sts, self.pods = ctl, sts, pods
        self.spec = sts.get("spec") or {}
        self.ns = sts["metadata"]["namespace"]
        self.name = sts["metadata"]["name"]
        self.ref = new_controller_ref(sts, "apps/v1", "StatefulSet")
        self.monotonic = self.spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        self.now = ctl.clock()

    async def run(self) -> None:
        revisions = history.owned_revisions(
            self.ctl.revisions.store.by_index("owner", self.sts["metadata"]["uid"]),
            self.sts["metadata"]["uid"])
        current, update, collisions = await self._revisions(revisions)
        if not self.sts["metadata"].get("deletionTimestamp"):
            await self._reconcile_pods(current, update)
        await self._write_status(current, update, collisions)
        await self._truncate_history(revisions, {current["metadata"]["name"],
                                                 update["metadata"]["name"]})

    # -- revisions --------------------------------------------------------------------

    async def _revisions(self, revisions: list[dict]) -> tuple[dict, dict, int]:
        status = self.sts.get("status") or {}
        collisions = status.get("collisionCount") or 0
        number = history.next_revision_number(revisions)
        candidate = history.new_revision(self.sts, self.ref, history.template_patch(self.sts),
                                         number, collisions)
        ordered = history.sort_revisions(revisions)
        equal = history.equal_revisions(revisions, candidate)
        if equal and ordered and equal[-1]["metadata"]["name"] == ordered[-1]["metadata"]["name"]:
            update = equal[-1]
        elif equal:
            update = await history.renumber(self.ctl.revision_api, equal[-1], number)
        else:
            update, collisions = await history.create_revision(
                self.ctl.revision_api, self.sts, candidate, collisions)
        current = next((r for r in revisions
                        if r["metadata"]["name"] == status.get("currentRevision")), update)
        return current, update, collisions

    # -- pods -------------------------------------------------------------------------

    def _template_for(self, ordinal: int, current: dict, update: dict) -> tuple[dict, str]:
        revision = current if sp.use_current_revision(self.sts, ordinal) else update
        return history.template_of(revision), revision["metadata"]["name"]

    async def _reconcile_pods(self, current: dict, update: dict) -> None:
        replicas, condemned = sp.split_pods(self.sts, self.pods)
        start = sp.start_ordinal(self.sts)
        count = self.spec.get("replicas") or 0
        for ordinal in range(start, start + count):
            if await self._process_replica(ordinal, replicas.get(ordinal), current, update):
                return
        first_unhealthy = next((p for p in condemned if not sp.is_healthy(p)), None)
        for pod in reversed(condemned):
            if sp.is_terminating(pod):
                if self.monotonic:
                    return
                continue
            if self.monotonic and not sp.is_running_and_ready(pod) and pod is not first_unhealthy:
                return
            await self._delete_condemned(pod)
            if self.monotonic:
                return
        action, pod = sp.rolling_update_target(self.sts, replicas, update["metadata"]["name"])
        if action == "delete":
            await self._delete_pod(pod)

    async def _process_replica(self, ordinal: int, pod: dict | None, current: dict,
                               update: dict) -> bool:
        """Act on one ordinal; True when an OrderedReady set must wait here."""
        if pod is not None and sp.is_finished(pod) and not sp.is_terminating(pod):
            await self._delete_pod(pod)
            return self.monotonic
        if pod is None:
            template, revision = self._template_for(ordinal, current, update)
            await self._create_claims(ordinal)
            await self._create_pod(sp.new_pod(self.sts, template, ordinal, revision, self.ref))
            return self.monotonic
        if not sp.is_created(pod) or sp.is_terminating(pod):
            return self.monotonic
        min_ready = self.spec.get("minReadySeconds") or 0
        if self.monotonic and not sp.is_available(pod, min_ready, self.now):
            if sp.is_running_and_ready(pod) and min_ready:
                self.ctl.queue.add_after(meta_namespace_key(self.sts), min_ready)
            return True
        if not sp.identity_matches(self.sts, pod):
            await self._repair_identity(pod, ordinal)
        await self._create_claims(ordinal)
        return False

    async def _create_claims(self, ordinal: int) -> None:
        policy = self.spec.get("persistentVolumeClaimRetentionPolicy") or {}
        for claim in sp.claims_for(self.sts, ordinal):
            key = f"{self.ns}/{claim['metadata']['name']}"
            if self.ctl.claims.store.get(key) is not None:
                continue
            if policy.get("whenDeleted") == "Delete":
                claim["metadata"]["ownerReferences"] = [{**self.ref, "controller": False}]
            try:
                await self.ctl.claim_api.create(claim, namespace=self.ns)
            except AlreadyExists:
                continue
            self._event("SuccessfulCreate", "Create",
                        f"create Claim {claim['metadata']['name']} Pod "
                        f"{sp.pod_name(self.sts, ordinal)} in StatefulSet {self.name} success")

    async def _create_pod(self, pod: dict) -> None:
        try:
            await self.ctl.pod_api.create(pod, namespace=self.ns)
        except AlreadyExists:
            return
        except Exception as err:
            self._event("FailedCreate", "Create", f"create Pod {pod['metadata']['name']} in "
                        f"StatefulSet {self.name} failed error: {err}", warning=True)
            raise
        self._event("SuccessfulCreate", "Create", f"create Pod {pod['metadata']['name']} in "
                    f"StatefulSet {self.name} successful")

    async def _delete_pod(self, pod: dict) -> None:
        name = pod["metadata"]["name"]
        try:
            await self.ctl.pod_api.delete(name, namespace=self.ns,
                                          preconditions={"uid": pod["metadata"]["uid"]})
        except NotFound:
            return
        self._event("SuccessfulDelete", "Delete",
                    f"delete Pod {name} in StatefulSet {self.name} successful")

    async def _delete_condemned(self, pod: dict) -> None:
        """Scale-down: with whenScaled=Delete the pod's claims are handed to the pod, so
        the garbage collector removes them after it."""
        policy = self.spec.get("persistentVolumeClaimRetentionPolicy") or {}
        if policy.get("whenScaled") == "Delete":
            owner = {"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"],
                     "uid": pod["metadata"]["uid"], "blockOwnerDeletion": True}
            for claim in sp.claims_for(self.sts, sp.ordinal(pod)):
                try:
                    await self.ctl.claim_api.patch(
                        claim["metadata"]["name"],
                        {"metadata": {"ownerReferences": [owner]}},
                        namespace=self.ns, type="strategic")
                except NotFound:
                    pass
        await self._delete_pod(pod)

    async def _repair_identity(self, pod: dict, ordinal: int) -> None:
        labels = {sp.POD_NAME_LABEL: pod["metadata"]["name"],
                  sp.POD_INDEX_LABEL: str(ordinal)}
        patch = {"metadata": {"labels": labels}}
        await self.ctl.pod_api.patch(pod["metadata"]["name"], patch, namespace=self.ns)

    def _event(self, reason: str, action: str, note: str, warning: bool = False) -> None:
        self.ctl.ctx.recorder.event(self.sts, type="Warning" if warning else "Normal",
                                    reason=reason, action=action, note=note)

    # -- status and history -----------------------------------------------------------

    def compute_status(self, current: dict, update: dict, collisions: int) -> dict:
        status = copy.deepcopy(self.sts.get("status") or {})
        min_ready = self.spec.get("minReadySeconds") or 0
        cur, upd = current["metadata"]["name"], update["metadata"]["name"]
        counts = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0,
                  "currentReplicas": 0, "updatedReplicas": 0}
        for pod in self.pods:
            if sp.ordinal(pod) < 0:
                continue
            if sp.is_created(pod):
                counts["replicas"] += 1
            if sp.is_running_and_ready(pod):
                counts["readyReplicas"] += 1
                if sp.is_available(pod, min_ready, self.now):
                    counts["availableReplicas"] += 1
            if sp.is_created(pod) and not sp.is_terminating(pod):
                counts["currentReplicas"] += sp.revision_of(pod) == cur
                counts["updatedReplicas"] += sp.revision_of(pod) == upd
        status.update(counts)
        status.update(observedGeneration=self.sts["metadata"].get("generation"),
                      currentRevision=cur, updateRevision=upd, collisionCount=collisions)
        strategy = (self.spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
        replicas = self.spec.get("replicas") or 0
        if strategy == "RollingUpdate" and counts["updatedReplicas"] == replicas and \
                counts["readyReplicas"] == replicas and counts["replicas"] == replicas:
            status["currentRevision"] = upd
            status["currentReplicas"] = counts["updatedReplicas"]
        return {k: v for k, v in status.items() if v is not None}

    async def _write_status(self, current: dict, update: dict, collisions: int) -> None:
        status = self.compute_status(current, update, collisions)
        if status == (self.sts.get("status") or {}):
            return
        body = {**self.sts, "status": status}
        try:
            await self.ctl.set_api.update_status(body)
        except NotFound:
            return

    async def _truncate_history(self, revisions: list[dict], keep: set[str]) -> None:
        live = {sp.revision_of(p) for p in self.pods}
        limit = self.spec.get("revisionHistoryLimit")
        limit = 10 if limit is None else limit
        for revision in history.revisions_to_delete(revisions, keep | live, limit):
            try:
                await self.ctl.revision_api.delete(revision["metadata"]["name"],
                                                   namespace=self.ns)
            except NotFound:
                pass
