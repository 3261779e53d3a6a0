"""TTL-after-finished controller: delete finished Jobs once their TTL has run out.

A Job with ``spec.ttlSecondsAfterFinished`` becomes eligible for deletion that many
seconds after its Complete/Failed condition appeared. The sync checks the cached Job,
requeues it for the exact expiry instead of polling, and before deleting re-reads it
from the API server (the TTL may have been changed or the Job restarted), deleting with
a uid precondition so a recreated Job of the same name is never hit. Dependents go with
Background propagation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..client import Conflict, NotFound
from . import register
from .base import Controller
from .util.jobs import finish_time
from .util.times import utcnow


def needs_cleanup(job: dict) -> bool:
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    return ttl is not None and finish_time(job) is not None and \
        not job["metadata"].get("deletionTimestamp")


def time_left(job: dict, now: datetime) -> float | None:
    """Seconds until ``job`` expires (<= 0: expired), None if it never does."""
    if not needs_cleanup(job):
        return None
    expire = finish_time(job) + timedelta(seconds=job["spec"]["ttlSecondsAfterFinished"])
    return (expire - now).total_seconds()


@register("ttl-after-finished")
class TTLAfterFinishedController(Controller):
    clock: Callable[[], datetime] = staticmethod(utcnow)

    def setup(self) -> None:
        self.jobs = self.ctx.informers.informer("batch/v1", "Job")
        self.jobs.add_event_handler(on_add=self._maybe_enqueue,
                                    on_update=lambda old, new: self._maybe_enqueue(new))
        self.api = self.client.api("batch/v1", "Job")

    def _maybe_enqueue(self, job: dict) -> None:
        if needs_cleanup(job):
            self.enqueue(job)

    async def sync(self, key: str) -> None:
        job = self.jobs.store.get(key)
        if job is None:
            return
        left = time_left(job, self.clock())
        if left is None:
            return
        if left > 0:
            self.queue.add_after(key, left)
            return
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        try:
            fresh = await self.api.get(name, namespace=namespace)
        except NotFound:
            return
        left = time_left(fresh, self.clock())
        if left is None:
            return
        if left > 0:
            self.queue.add_after(key, left)
            return
        try:
            await self.api.delete(name, namespace=namespace, propagation_policy="Background",
                                  preconditions={"uid": fresh["metadata"]["uid"]})
        except (NotFound, Conflict):
            return
        self.log.info("deleted finished job %s (ttl expired)", key)
