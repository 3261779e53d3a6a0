"""Job controller: run pods to completion (upstream's pkg/controller/job, 1.32 semantics).

Each sync claims the Job's pods, then:

1. finds pods that ended since the last sync and still carry the
   ``batch.kubernetes.io/job-tracking`` finalizer; they are first recorded in
   ``status.uncountedTerminatedPods`` (so a crash cannot lose or double-count them), then
   their finalizers are removed, then they move into ``succeeded``/``failed``
   (and ``completedIndexes``) -- upstream's three-step tracking protocol;
2. decides whether the Job is done: podFailurePolicy ``FailJob``, more failures than
   ``backoffLimit``, ``activeDeadlineSeconds`` passed, failed indexes, or enough
   successes. As 1.31+, the interim ``FailureTarget``/``SuccessCriteriaMet`` condition
   comes first, active pods are deleted, and ``Failed``/``Complete`` only once no pod is
   left terminating;
3. otherwise creates or deletes pods toward ``min(parallelism, remaining completions)``
   (lowest missing indexes for Indexed Jobs), waiting out the exponential backoff after
   failures; a suspended Job has its pods deleted.

Pods of deleted or finished Jobs lose their finalizer through the orphan path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..client import NotFound
from ..client.meta import meta_namespace_key
from ..client.store import owner_uid_index
from . import register
from .base import Controller
from .job_backoff import DEFAULT_BACKOFF, MAX_BACKOFF, BackoffRecord
from .job_status import FINALIZER, has_finalizer
from .job_sync import JobSync
from .util import selectors
from .util.controllerref import (
    ControllerRefManager,
    controller_of,
    new_controller_ref,
    recheck_owner,
)
from .util.expectations import ControllerExpectations
from .util.jobs import is_finished
from .util.podcontrol import PodControl
from .util.times import utcnow

__all__ = ["FINALIZER", "JobController"]

MANAGED_BY = "kubernetes.io/job-controller"
REMOVE_FINALIZER = {"metadata": {"$deleteFromPrimitiveList/finalizers": [FINALIZER]}}


def _uid(obj: dict) -> str:
    return obj["metadata"]["uid"]


@register("job")
class JobController(Controller):
    clock: Callable[[], datetime] = staticmethod(utcnow)
    backoff_base: float = DEFAULT_BACKOFF
    backoff_cap: float = MAX_BACKOFF

    def setup(self) -> None:
        self.jobs = self.ctx.informers.informer("batch/v1", "Job")
        self.pods = self.ctx.informers.informer("v1", "Pod", indexers={"owner": owner_uid_index})
        self.jobs.add_event_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new),
                                    on_delete=self._job_deleted)
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)
        self.job_api = self.client.api("batch/v1", "Job")
        self.pod_api = self.client.api("v1", "Pod")
        self.pod_control = PodControl(self.pod_api, self.ctx.recorder)
        self.expectations = ControllerExpectations()
        self.backoff: dict[str, BackoffRecord] = {}
        #: pod uids whose finalizer we removed, per job uid, until the cache shows it.
        self.finalizers_removed: dict[str, set[str]] = {}

    # -- event handlers ---------------------------------------------------------------

    def _job_key(self, pod: dict) -> str | None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        return f"{pod['metadata']['namespace']}/{ref['name']}"

    def _pod_added(self, pod: dict) -> None:
        key = self._job_key(pod)
        if key is None:
            return
        self.expectations.creation_observed(key)
        self._pod_changed(pod, key)

    def _pod_updated(self, old: dict, new: dict) -> None:
        key = self._job_key(new) or self._job_key(old)
        if key is None:
            return
        if new["metadata"].get("deletionTimestamp"):
            self.expectations.deletion_observed(key, new["metadata"]["name"])
        self._pod_changed(new, key)

    def _pod_deleted(self, obj) -> None:
        pod = getattr(obj, "obj", obj)
        key = self._job_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, pod["metadata"]["name"])
            self.queue.add(key)

    def _pod_changed(self, pod: dict, key: str) -> None:
        """Queue the job, and the pod itself when its finalizer may have to go: it was
        released (no controller), or its job is gone, replaced or finished."""
        job = self.jobs.store.get(key)
        ref = controller_of(pod)
        if has_finalizer(pod) and (ref is None or job is None or _uid(job) != ref.get("uid")
                                   or is_finished(job)):
            self.queue.add(("orphan", meta_namespace_key(pod)))
        self.queue.add(key)

    def _job_deleted(self, obj) -> None:
        job = getattr(obj, "obj", obj)
        key = f"{job['metadata']['namespace']}/{job['metadata']['name']}"
        self.expectations.delete(key)
        self.backoff.pop(key, None)
        self.finalizers_removed.pop(_uid(job), None)
        for pod in self.pods.store.by_index("owner", _uid(job)):
            if has_finalizer(pod):
                self.queue.add(("orphan", meta_namespace_key(pod)))

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key) -> None:
        if isinstance(key, tuple):
            await self._sync_orphan_pod(key[1])
            return
        job = self.jobs.store.get(key)
        if job is None:
            return
        managed_by = (job.get("spec") or {}).get("managedBy")
        if managed_by and managed_by != MANAGED_BY:
            return
        pods = await self._claim_pods(job)
        if is_finished(job):
            for pod in pods:
                if has_finalizer(pod):
                    await self.remove_finalizer(pod)
            return
        await JobSync(self, key, job, pods, self.clock()).run()

    async def _claim_pods(self, job: dict) -> list[dict]:
        selector = (job.get("spec") or {}).get("selector")
        ns = job["metadata"]["namespace"]
        candidates = [p for p in self.pods.store.by_index("namespace", ns)
                      if controller_of(p) is None or controller_of(p).get("uid") == _uid(job)]
        manager = ControllerRefManager(
            self.pod_api, job, new_controller_ref(job, "batch/v1", "Job"),
            lambda p: selectors.matches(selector, p["metadata"].get("labels")),
            recheck_owner(self.job_api, job))
        return await manager.claim(candidates)

    async def _sync_orphan_pod(self, pod_key: str) -> None:
        pod = self.pods.store.get(pod_key)
        if pod is None or not has_finalizer(pod):
            return
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == "Job":
            job = self.jobs.store.get(f"{pod['metadata']['namespace']}/{ref['name']}")
            if job is None:
                try:
                    job = await self.job_api.get(ref["name"],
                                                 namespace=pod["metadata"]["namespace"])
                except NotFound:
                    job = None
            if job is not None and _uid(job) == ref.get("uid") and not is_finished(job):
                return
        await self.remove_finalizer(pod)

    async def remove_finalizer(self, pod: dict) -> None:
        meta = pod["metadata"]
        try:
            await self.pod_api.patch(meta["name"], REMOVE_FINALIZER, namespace=meta["namespace"],
                                     type="strategic")
        except NotFound:
            pass
