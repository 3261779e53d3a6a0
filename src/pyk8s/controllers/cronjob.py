"""CronJob controller: create a Job at each scheduled time (upstream's cronjob_controllerv2).

One sync per CronJob: reconcile ``status.active`` with the Jobs it owns (finished ones
leave it, vanished ones are dropped, ``lastSuccessfulTime`` follows completions), then
find the most recent unmet schedule time since ``lastScheduleTime`` (or creation),
bounded by ``startingDeadlineSeconds``, and start a Job named
``<cronjob>-<scheduled unix minutes>`` for it unless the concurrency policy forbids,
finally trim finished Jobs beyond the history limits. The key is then requeued for the
next schedule time, never polled. ``clock`` is injectable so tests can drive time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..client import AlreadyExists, NotFound
from ..client.store import owner_uid_index
from . import register
from .base import Controller
from .util import cron
from .util.jobs import finished_condition, is_finished, is_succeeded
from .util.times import format_time, parse_time, utcnow

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: Requeue a little after the schedule time so "now" is past it.
NEXT_SCHEDULE_DELTA = timedelta(milliseconds=100)
TOO_MANY_MISSED = 100


def job_name(cronjob: dict, scheduled: datetime) -> str:
    """``<cronjob>-<minutes since the epoch>``: the same name for the same schedule time."""
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def schedule_spec(cronjob: dict) -> str:
    spec = cronjob.get("spec") or {}
    return spec.get("schedule") or ""


def most_recent_schedule_time(cronjob: dict, now: datetime, schedule: cron.Schedule,
                              use_deadline: bool
                              ) -> tuple[datetime, datetime | None, bool]:
    """(earliest time considered, most recent unmet schedule time or None, too many missed).

    The window starts at ``lastScheduleTime`` (or creation), moved up to
    ``now - startingDeadlineSeconds`` when asked. Counting missed times uses the
    interval of the first two activations; the most recent one is found by stepping
    from just before the estimate, so irregular schedules are still exact.
    """
    status, spec = cronjob.get("status") or {}, cronjob.get("spec") or {}
    earliest = (parse_time(status.get("lastScheduleTime"))
                or parse_time(cronjob["metadata"].get("creationTimestamp")) or now)
    deadline = spec.get("startingDeadlineSeconds")
    if use_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=deadline))
    t1 = schedule.next(earliest)
    if t1 is None or now < t1:
        return earliest, None, False
    t2 = schedule.next(t1)
    if t2 is None or now < t2:
        return earliest, t1, False
    interval = max(1, round((t2 - t1).total_seconds()))
    missed = int((now - t1).total_seconds()) // interval + 1
    start = max(t1, t1 + timedelta(seconds=(missed - 2) * interval))
    recent = _last_before(schedule, start, now)
    if recent is None:  # irregular schedule: the estimate overshot, walk from the start
        recent = _last_before(schedule, t1, now)
    return earliest, recent, missed > TOO_MANY_MISSED


def _last_before(schedule: cron.Schedule, start: datetime, now: datetime) -> datetime | None:
    """The last activation in [start, now], where ``start`` is itself an activation
    candidate only if it is one of the schedule's times."""
    on_schedule = schedule.every is not None or \
        schedule.next(start - timedelta(minutes=1)) == start
    recent = start if on_schedule else None
    t = schedule.next(start)
    while t is not None and t <= now:
        recent, t = t, schedule.next(t)
    return recent


def next_schedule_delay(cronjob: dict, now: datetime, schedule: cron.Schedule) -> float | None:
    """Seconds from ``now`` until the sync after the next schedule time."""
    earliest, recent, _ = most_recent_schedule_time(cronjob, now, schedule, False)
    nxt = schedule.next(recent or earliest)
    if nxt is None:
        return None
    return max(0.0, (nxt + NEXT_SCHEDULE_DELTA - now).total_seconds())


def job_from_template(cronjob: dict, scheduled: datetime, zone) -> dict:
    """getJobFromTemplate2: the template with our name, owner and scheduled-time stamp."""
    template = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    meta = cronjob["metadata"]
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = scheduled.astimezone(zone).isoformat()
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": job_name(cronjob, scheduled), "namespace": meta["namespace"],
            "labels": dict(tmeta.get("labels") or {}), "annotations": annotations,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                 "name": meta["name"], "uid": meta["uid"],
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": template.get("spec") or {},
    }


def job_ref(job: dict) -> dict:
    meta = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
            "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", "")}


def _controlled_by(obj: dict, uid: str) -> bool:
    return any(r.get("controller") and r.get("uid") == uid
               for r in obj["metadata"].get("ownerReferences") or ())


@register("cronjob")
class CronJobController(Controller):
    clock: Callable[[], datetime] = staticmethod(utcnow)

    def setup(self) -> None:
        self.cronjobs = self.ctx.informers.informer("batch/v1", "CronJob")
        self.jobs = self.ctx.informers.informer("batch/v1", "Job",
                                                indexers={"owner": owner_uid_index})
        self.cronjobs.add_event_handler(on_add=self.enqueue,
                                        on_update=self._cronjob_updated,
                                        on_delete=self.enqueue)
        self.jobs.add_event_handler(on_add=self._job_changed,
                                    on_update=lambda old, new: self._job_changed(new),
                                    on_delete=lambda obj: self._job_changed(
                                        getattr(obj, "obj", obj)))
        self.cronjob_api = self.client.api("batch/v1", "CronJob")
        self.job_api = self.client.api("batch/v1", "Job")

    def _cronjob_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}) != (new.get("spec") or {}):
            self.queue.forget(meta_key(new))
        self.enqueue(new)

    def _job_changed(self, job: dict) -> None:
        for ref in job["metadata"].get("ownerReferences") or ():
            if ref.get("controller") and ref.get("kind") == "CronJob":
                self.queue.add(f"{job['metadata']['namespace']}/{ref['name']}")

    async def sync(self, key: str) -> None:
        cronjob = self.cronjobs.store.get(key)
        if cronjob is None:
            return
        now = self.clock()
        uid = cronjob["metadata"]["uid"]
        jobs = [j for j in self.jobs.store.by_index("owner", uid) if _controlled_by(j, uid)]
        working = copy.deepcopy(cronjob)
        delay = await self._sync_cronjob(working, jobs, now)
        await self._cleanup_finished(working, jobs)
        if working.get("status") != cronjob.get("status"):
            await self.cronjob_api.update_status(working)
        if delay is not None:
            self.queue.add_after(key, delay)

    async def _reconcile_active(self, cj: dict, jobs: list[dict]) -> None:
        status = cj.setdefault("status", {})
        active = status.get("active") or []
        active_uids = {r.get("uid") for r in active}
        for job in jobs:
            juid = job["metadata"]["uid"]
            if juid not in active_uids and not is_finished(job):
                self.ctx.recorder.event(cj, type="Warning", reason="UnexpectedJob",
                                        action="Reconcile",
                                        note=f"Saw a job that the controller did not create "
                                             f"or forgot: {job['metadata']['name']}")
            elif juid in active_uids and is_finished(job):
                active = [r for r in active if r.get("uid") != juid]
                cond = finished_condition(job) or {}
                self.ctx.recorder.event(cj, reason="SawCompletedJob", action="Reconcile",
                                        note=f"Saw completed job: {job['metadata']['name']}, "
                                             f"condition: {cond.get('type')}")
            if is_succeeded(job):
                done = (job.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if done and (not last or parse_time(done) > parse_time(last)):
                    status["lastSuccessfulTime"] = done
        known = {j["metadata"]["uid"] for j in jobs}
        for ref in list(active):
            if ref.get("uid") in known:
                continue
            try:
                found = await self.job_api.get(ref["name"], namespace=cj["metadata"]["namespace"])
                if found["metadata"]["uid"] == ref.get("uid"):
                    continue
            except NotFound:
                pass
            self.ctx.recorder.event(cj, reason="MissingJob", action="Reconcile",
                                    note=f"Active job went missing: {ref['name']}")
            active = [r for r in active if r.get("uid") != ref.get("uid")]
        if active:
            status["active"] = active
        else:
            status.pop("active", None)

    async def _sync_cronjob(self, cj: dict, jobs: list[dict], now: datetime) -> float | None:
        """syncCronJob: update ``cj`` (a private copy) in place; answer the requeue delay."""
        await self._reconcile_active(cj, jobs)
        spec, status = cj.get("spec") or {}, cj["status"]
        if cj["metadata"].get("deletionTimestamp"):
            return None
        try:
            schedule = cron.parse(schedule_spec(cj), spec.get("timeZone"))
        except cron.CronError as err:
            reason = "UnknownTimeZone" if "time zone" in str(err) else "InvalidSchedule"
            self.ctx.recorder.event(cj, type="Warning", reason=reason, action="Reconcile",
                                    note=f"invalid schedule: {schedule_spec(cj)} : {err}")
            return None
        if spec.get("suspend"):
            return None
        _, scheduled, too_many = most_recent_schedule_time(cj, now, schedule, True)
        if scheduled is None:
            return next_schedule_delay(cj, now, schedule)
        if too_many:
            self.ctx.recorder.event(cj, type="Warning", reason="TooManyMissedTimes",
                                    action="Reconcile",
                                    note="too many missed start times. Set or decrease "
                                         ".spec.startingDeadlineSeconds or check clock skew")
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + timedelta(seconds=deadline) < now:
            self.ctx.recorder.event(cj, type="Warning", reason="MissSchedule",
                                    action="Reconcile",
                                    note="Missed scheduled time to start a job: "
                                         + scheduled.astimezone(UTC).isoformat())
            return next_schedule_delay(cj, now, schedule)
        name = job_name(cj, scheduled)
        active = status.get("active") or []
        if any(r.get("name") == name for r in active) or \
                parse_time(status.get("lastScheduleTime")) == scheduled:
            return next_schedule_delay(cj, now, schedule)
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            self.ctx.recorder.event(cj, reason="JobAlreadyActive", action="Reconcile",
                                    note="Not starting job because prior execution is running "
                                         "and concurrency policy is Forbid")
            return next_schedule_delay(cj, now, schedule)
        if policy == "Replace":
            for ref in active:
                await self._delete_job(cj, ref["name"])
            status.pop("active", None)
        job = await self._create_job(cj, job_from_template(cj, scheduled, schedule.zone))
        status.setdefault("active", []).append(job_ref(job))
        status["lastScheduleTime"] = format_time(scheduled)
        return next_schedule_delay(cj, now, schedule)

    async def _create_job(self, cj: dict, body: dict) -> dict:
        ns = cj["metadata"]["namespace"]
        try:
            job = await self.job_api.create(body, namespace=ns)
        except AlreadyExists:
            job = await self.job_api.get(body["metadata"]["name"], namespace=ns)
            if not _controlled_by(job, cj["metadata"]["uid"]):
                raise RuntimeError(f"job {job['metadata']['name']} exists and is not owned "
                                   f"by cronjob {cj['metadata']['name']}") from None
            self.log.info("job %s/%s already exists", ns, job["metadata"]["name"])
            return job
        except Exception as err:
            self.ctx.recorder.event(cj, type="Warning", reason="FailedCreate",
                                    action="Create", note=f"Error creating job: {err}")
            raise
        self.ctx.recorder.event(cj, reason="SuccessfulCreate", action="Create",
                                note=f"Created job {job['metadata']['name']}")
        return job

    async def _delete_job(self, cj: dict, name: str) -> None:
        try:
            await self.job_api.delete(name, namespace=cj["metadata"]["namespace"],
                                      propagation_policy="Background")
        except NotFound:
            return
        self.ctx.recorder.event(cj, reason="SuccessfulDelete", action="Delete",
                                note=f"Deleted job {name}")

    async def _cleanup_finished(self, cj: dict, jobs: list[dict]) -> None:
        """Delete the oldest finished Jobs beyond the history limits."""
        spec = cj.get("spec") or {}
        limits = (("successful", spec.get("successfulJobsHistoryLimit"), is_succeeded),
                  ("failed", spec.get("failedJobsHistoryLimit"),
                   lambda j: is_finished(j) and not is_succeeded(j)))
        active_uids = {r.get("uid") for r in (cj.get("status") or {}).get("active") or ()}
        for _, limit, pick in limits:
            if limit is None:
                continue
            done = sorted((j for j in jobs if pick(j) and j["metadata"]["uid"] not in active_uids
                           and not j["metadata"].get("deletionTimestamp")),
                          key=_start_key)
            for job in done[:max(0, len(done) - limit)]:
                await self._delete_job(cj, job["metadata"]["name"])


def _start_key(job: dict) -> tuple:
    status = job.get("status") or {}
    start = status.get("startTime") or job["metadata"].get("creationTimestamp") or ""
    return (start, job["metadata"]["name"])


def meta_key(obj: dict) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
