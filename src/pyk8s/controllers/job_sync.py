"""One sync of one active Job: the working state upstream keeps in ``syncJobCtx``.

Split from the controller module (which owns informers, handlers and the orphan-pod
path) so each reads on its own: classify the Job's pods, decide success or failure,
create or delete pods, then track finished pods through ``uncountedTerminatedPods`` and
write the status. See :mod:`pyk8s.controllers.job` for the protocol.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..client import ApiError, NotFound
from . import job_indexed as indexed
from .job_backoff import BackoffRecord, next_record, remaining_time
from .job_failurepolicy import match as match_failure_policy
from .job_status import (
    COMPLETE_MESSAGE,
    FAILURE_MESSAGES,
    FINALIZER,
    ensure_condition,
    has_finalizer,
    is_failed_pod,
    past_backoff_limit_on_failure,
    terminal_for,
)
from .util.controllerref import new_controller_ref
from .util.jobs import has_condition
from .util.podcontrol import namespace_terminating, pod_from_template, slow_start_batch
from .util.pods import is_pod_active, is_pod_ready, pods_to_delete
from .util.times import format_time, parse_time

if TYPE_CHECKING:
    from .job import JobController

MAX_POD_CHANGES_PER_SYNC = 500


def _uid(obj: dict) -> str:
    return obj["metadata"]["uid"]


class JobSync:
    """One sync of one active Job: the working state upstream keeps in syncJobCtx."""

    def __init__(self, ctl: JobController, key: str, job: dict, pods: list[dict],
                 now: datetime) -> None:
        self.ctl, self.key, self.now = ctl, key, now
        self.job = copy.deepcopy(job)
        self.spec = self.job.get("spec") or {}
        self.status = self.job.setdefault("status", {})
        self.pods = pods
        self.indexed = self.spec.get("completionMode") == "Indexed"
        self.completions = self.spec.get("completions")
        self.handled = ctl.finalizers_removed.setdefault(_uid(job), set())
        self.handled &= {_uid(p) for p in pods if has_finalizer(p)}
        uncounted = self.status.get("uncountedTerminatedPods") or {}
        self.uncounted_ok = list(uncounted.get("succeeded") or [])
        self.uncounted_failed = list(uncounted.get("failed") or [])
        self.succeeded_indexes = indexed.parse_indexes(self.status.get("completedIndexes"),
                                                       self.completions or 0)
        self.failed_indexes = indexed.parse_indexes(self.status.get("failedIndexes"),
                                                    self.completions or 0)
        self.fail_message: str | None = None
        self.finished: dict | None = None  # the terminal condition to reach
        self.active_count = 0
        self.extra_terminating = 0  # pods deleted by this sync, not yet seen terminating

    # -- classification -----------------------------------------------------------------

    def _index_ok(self, pod: dict) -> bool:
        return not self.indexed or indexed.valid_index(pod, self.completions) is not None

    def _new_finished(self) -> tuple[list[dict], list[dict], list[dict]]:
        """(new succeeded, new counted failures, pods whose finalizer just goes)."""
        known = set(self.uncounted_ok) | set(self.uncounted_failed) | self.handled
        ok, failed, drop = [], [], []
        failing = self.finished is not None and self.finished["type"] == "Failed"
        for pod in self.pods:
            if not has_finalizer(pod) or _uid(pod) in known:
                continue
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Succeeded":
                (ok if self._index_ok(pod) else drop).append(pod)
            elif is_failed_pod(pod, self.spec) or failing:
                outcome = match_failure_policy(self.spec.get("podFailurePolicy"), pod) \
                    if phase == "Failed" else None
                if outcome is not None and not outcome.count_failed:
                    drop.append(pod)
                    continue
                if outcome is not None and outcome.action == "FailIndex":
                    index = indexed.valid_index(pod, self.completions or 0)
                    if index is not None:
                        self.failed_indexes.add(index)
                (failed if self._index_ok(pod) else drop).append(pod)
                self._per_index_limit(pod)
        return ok, failed, drop

    def _per_index_limit(self, pod: dict) -> None:
        limit = self.spec.get("backoffLimitPerIndex")
        index = indexed.valid_index(pod, self.completions or 0) if self.indexed else None
        if limit is None or index is None:
            return
        count = (pod["metadata"].get("annotations") or {}).get(indexed.INDEX_FAILURE_COUNT, "0")
        if int(count) + 1 > limit:
            self.failed_indexes.add(index)

    def _fail_job_message(self) -> str | None:
        policy = self.spec.get("podFailurePolicy")
        for pod in self.pods:
            if (pod.get("status") or {}).get("phase") == "Failed":
                outcome = match_failure_policy(policy, pod)
                if outcome.action == "FailJob":
                    return outcome.message
        return None

    # -- the sync ---------------------------------------------------------------------

    async def run(self) -> None:
        if not self.status.get("startTime") and not self.spec.get("suspend"):
            self.status["startTime"] = format_time(self.now)
        self.finished = self._existing_target()
        new_ok, new_failed, drop = self._new_finished()
        succeeded = (self.status.get("succeeded") or 0) + len(self.uncounted_ok) + len(new_ok)
        failed = (self.status.get("failed") or 0) + len(self.uncounted_failed) + len(new_failed)
        for pod in new_ok:
            if self.indexed:
                self.succeeded_indexes.add(indexed.valid_index(pod, self.completions))
        if self.finished is None:
            self.finished = self._failure_condition(failed)
        active = [p for p in self.pods if is_pod_active(p)]
        if self.finished is not None:
            await self._delete_pods(active)
            if self.finished["type"] == "Failed":  # running pods count as failed now
                _, more_failed, more_drop = self._new_finished()
                new_failed += [p for p in more_failed if p not in new_failed]
                drop += [p for p in more_drop if p not in drop]
        else:
            done = len(self.succeeded_indexes) if self.indexed else succeeded
            await self._manage(active, done)
            if self._complete(done):
                self.finished = terminal_for("SuccessCriteriaMet", "CompletionsReached",
                                             COMPLETE_MESSAGE)
            else:
                self._suspend_condition()
        await self._track(new_ok, new_failed, drop)

    def _existing_target(self) -> dict | None:
        for interim in ("FailureTarget", "SuccessCriteriaMet"):
            if has_condition(self.job, interim):
                cond = next(c for c in self.status["conditions"] if c["type"] == interim)
                return terminal_for(interim, cond.get("reason", ""), cond.get("message", ""))
        return None

    def _failure_condition(self, failed: int) -> dict | None:
        spec = self.spec
        message = self._fail_job_message()
        if message is not None:
            return terminal_for("FailureTarget", "PodFailurePolicy", message)
        limit = spec.get("backoffLimit")
        if spec.get("backoffLimitPerIndex") is None and limit is not None and \
                (failed > limit or past_backoff_limit_on_failure(spec, self.pods)):
            return terminal_for("FailureTarget", "BackoffLimitExceeded",
                                FAILURE_MESSAGES["BackoffLimitExceeded"])
        deadline = spec.get("activeDeadlineSeconds")
        start = parse_time(self.status.get("startTime"))
        if deadline is not None and start is not None and not spec.get("suspend"):
            left = (start + timedelta(seconds=deadline) - self.now).total_seconds()
            if left <= 0:
                return terminal_for("FailureTarget", "DeadlineExceeded",
                                    FAILURE_MESSAGES["DeadlineExceeded"])
            self.ctl.queue.add_after(self.key, left)
        if self.indexed and spec.get("backoffLimitPerIndex") is not None:
            max_failed = spec.get("maxFailedIndexes")
            if max_failed is not None and len(self.failed_indexes) > max_failed:
                return terminal_for("FailureTarget", "MaxFailedIndexesExceeded",
                                    FAILURE_MESSAGES["MaxFailedIndexesExceeded"])
            if self.failed_indexes and len(self.failed_indexes | self.succeeded_indexes) >= \
                    self.completions:
                return terminal_for("FailureTarget", "FailedIndexes",
                                    FAILURE_MESSAGES["FailedIndexes"])
        return None

    def _complete(self, done: int) -> bool:
        if self.completions is None:
            return done > 0 and self.active_count == 0
        return done >= self.completions and self.active_count == 0

    def _suspend_condition(self) -> None:
        conds = self.status.setdefault("conditions", [])
        recorder = self.ctl.ctx.recorder
        if self.spec.get("suspend"):
            if ensure_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended",
                                self.now):
                recorder.event(self.job, reason="Suspended", action="Suspend",
                               note="Job suspended")
        elif has_condition(self.job, "Suspended"):
            ensure_condition(conds, "Suspended", "False", "JobResumed", "Job resumed", self.now)
            self.status["startTime"] = format_time(self.now)
            recorder.event(self.job, reason="Resumed", action="Resume", note="Job resumed")
        if not conds:
            self.status.pop("conditions", None)

    # -- pods -------------------------------------------------------------------------

    async def _manage(self, active: list[dict], done: int) -> None:
        ctl, spec = self.ctl, self.spec
        self.active_count = len(active)
        if not ctl.expectations.satisfied(self.key) or self.job["metadata"].get(
                "deletionTimestamp"):
            return
        if spec.get("suspend"):
            await self._delete_pods(active)
            return
        parallelism = spec.get("parallelism") or 0
        if self.completions is None:
            want = len(active) if done > 0 else parallelism
        else:
            want = max(0, min(parallelism, self.completions - done))
        remove: list[dict] = []
        if self.indexed:
            finished_idx = self.succeeded_indexes | self.failed_indexes
            remove = indexed.pods_to_remove(active, self.completions, finished_idx)
            active = [p for p in active if p not in remove]
        excess = len(active) - want
        if excess > 0:
            remove += pods_to_delete(active, active, excess, self.now)
        if remove:
            await self._delete_pods(remove[:MAX_POD_CHANGES_PER_SYNC])
            return
        missing = min(want - len(active), MAX_POD_CHANGES_PER_SYNC)
        if missing <= 0:
            return
        wait = remaining_time(ctl.backoff.get(self.key, BackoffRecord()), self.now,
                              ctl.backoff_base, ctl.backoff_cap)
        if wait > 0:
            ctl.queue.add_after(self.key, wait)
            return
        await self._create_pods(active, missing)

    def _pod_bodies(self, active: list[dict], count: int) -> list[dict]:
        """New pods: the template with our finalizer, owner and (Indexed) index."""
        template = copy.deepcopy(self.spec.get("template") or {})
        tmeta = template.setdefault("metadata", {})
        tmeta["finalizers"] = [*(tmeta.get("finalizers") or []), FINALIZER]
        name = self.job["metadata"]["name"]
        ref = new_controller_ref(self.job, "batch/v1", "Job")
        if not self.indexed:
            return [pod_from_template(template, name, ref) for _ in range(count)]
        per_index = self.spec.get("backoffLimitPerIndex") is not None
        out = []
        done = self.succeeded_indexes | self.failed_indexes
        for index in indexed.indexes_to_create(self.completions, done, active, count):
            failures = self._index_failures(index) if per_index else None
            pod = pod_from_template(indexed.apply_index(template, name, index, failures),
                                    name, ref)
            pod["metadata"]["generateName"] = f"{name}-{index}-"
            out.append(pod)
        return out

    def _index_failures(self, index: int) -> int:
        counts = [int((p["metadata"].get("annotations") or {}).get(
            indexed.INDEX_FAILURE_COUNT, "0")) + 1 for p in self.pods
            if indexed.pod_index(p) == index and (p.get("status") or {}).get("phase") == "Failed"]
        return max(counts, default=0)

    async def _create_pods(self, active: list[dict], count: int) -> None:
        ctl, ns = self.ctl, self.job["metadata"]["namespace"]
        bodies = self._pod_bodies(active, count)
        ctl.expectations.expect_creations(self.key, len(bodies))
        pending = list(bodies)

        async def create_one() -> None:
            body = pending.pop(0)
            try:
                created = await ctl.pod_api.create(body, namespace=ns)
            except ApiError as err:
                ctl.expectations.creation_observed(self.key)
                if not namespace_terminating(err):
                    ctl.ctx.recorder.event(self.job, type="Warning", reason="FailedCreate",
                                           action="Create", note=f"Error creating: {err}")
                raise
            ctl.ctx.recorder.event(self.job, reason="SuccessfulCreate", action="Create",
                                   note=f"Created pod: {created['metadata']['name']}")

        created, err = await slow_start_batch(len(bodies), 1, create_one)
        for _ in range(len(pending)):  # never attempted
            ctl.expectations.creation_observed(self.key)
        self.active_count += created
        if err is not None:
            raise err

    async def _delete_pods(self, pods: list[dict]) -> None:
        ctl, ns = self.ctl, self.job["metadata"]["namespace"]
        if not pods:
            return
        ctl.expectations.expect_deletions(self.key, [p["metadata"]["name"] for p in pods])
        for pod in pods:
            try:
                await ctl.pod_control.delete(ns, pod["metadata"]["name"], self.job)
            except NotFound:
                pass
            finally:
                ctl.expectations.deletion_observed(self.key, pod["metadata"]["name"])
            self.active_count = max(0, self.active_count - 1)
        self.extra_terminating += len(pods)

    # -- status tracking ----------------------------------------------------------------

    async def _track(self, new_ok: list[dict], new_failed: list[dict], drop: list[dict]) -> None:
        ctl, status = self.ctl, self.status
        conds = status.setdefault("conditions", [])
        if self.finished is not None:
            interim = self.finished["interim"]
            ensure_condition(conds, interim, "True", self.finished["reason"],
                             self.finished["message"], self.now)
        if not conds:
            status.pop("conditions", None)
        self.uncounted_ok += [_uid(p) for p in new_ok]
        self.uncounted_failed += [_uid(p) for p in new_failed]
        self._write_indexes()
        status["uncountedTerminatedPods"] = self._uncounted()
        cached = (ctl.jobs.store.get(self.key) or {}).get("status")
        if (new_ok or new_failed or self.finished is not None) and status != cached:
            await self._write_status()
            ctl.backoff[self.key] = next_record(ctl.backoff.get(self.key, BackoffRecord()),
                                                new_ok, new_failed)
        by_uid = {_uid(p): p for p in self.pods}
        for uid in [*self.uncounted_ok, *self.uncounted_failed]:
            pod = by_uid.get(uid)
            if pod is not None and has_finalizer(pod) and uid not in self.handled:
                await ctl.remove_finalizer(pod)
                self.handled.add(uid)
        for pod in drop:
            await ctl.remove_finalizer(pod)
            self.handled.add(_uid(pod))
        status["succeeded"] = (status.get("succeeded") or 0) + len(self.uncounted_ok)
        status["failed"] = (status.get("failed") or 0) + len(self.uncounted_failed)
        self.uncounted_ok, self.uncounted_failed = [], []
        status["uncountedTerminatedPods"] = {}
        status["active"] = self.active_count
        status["ready"] = sum(1 for p in self.pods if is_pod_active(p) and is_pod_ready(p)
                              and not p["metadata"].get("deletionTimestamp"))
        terminating = sum(1 for p in self.pods if p["metadata"].get("deletionTimestamp")
                          and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))
        terminating += self.extra_terminating
        status["terminating"] = terminating
        if self.finished is not None and terminating == 0:
            self._enact_finished(conds)
        if self.job.get("status") != (ctl.jobs.store.get(self.key) or {}).get("status"):
            await self._write_status()

    def _enact_finished(self, conds: list[dict]) -> None:
        ensure_condition(conds, self.finished["type"], "True", self.finished["reason"],
                         self.finished["message"], self.now)
        self.status["conditions"] = conds
        recorder = self.ctl.ctx.recorder
        if self.finished["type"] == "Complete":
            self.status["completionTime"] = format_time(self.now)
            recorder.event(self.job, reason="Completed", action="Complete", note="Job completed")
        else:
            recorder.event(self.job, type="Warning", reason=self.finished["reason"],
                           action="Fail", note=self.finished["message"])

    def _uncounted(self) -> dict:
        out = {}
        if self.uncounted_ok:
            out["succeeded"] = list(self.uncounted_ok)
        if self.uncounted_failed:
            out["failed"] = list(self.uncounted_failed)
        return out

    def _write_indexes(self) -> None:
        if not self.indexed:
            return
        self.status["completedIndexes"] = indexed.format_indexes(self.succeeded_indexes)
        if self.spec.get("backoffLimitPerIndex") is not None:
            self.status["failedIndexes"] = indexed.format_indexes(self.failed_indexes)

    async def _write_status(self) -> None:
        written = await self.ctl.job_api.update_status(self.job)
        self.job["metadata"]["resourceVersion"] = written["metadata"]["resourceVersion"]
