"""The CronJob controller against a real API server, driven by an injected clock: Jobs
named after their scheduled minute, Forbid concurrency, lastScheduleTime and
lastSuccessfulTime, history-limit cleanup, suspend, and the requeue for the next run."""

# ruff: noqa: F811 -- pytest fixtures imported from workloadkit are parameters here
from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from workloadkit import client, namespace, now, running, wait_for  # noqa: F401

from pyk8s.controllers.cronjob import SCHEDULED_TIMESTAMP, CronJobController
from pyk8s.controllers.util.times import parse_time


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def cronjob_body(name: str, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {
        "schedule": "* * * * *", "jobTemplate": {"metadata": {"labels": {"app": name}}, "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "busybox"}]}}}}, **spec}}


async def settle(ctl, api, key: str, informer) -> dict:
    """Wait until the informer's copy of ``key`` is the API server's current one."""
    ns, name = key.split("/")
    fresh = await api.get(name, namespace=ns)
    rv = fresh["metadata"]["resourceVersion"]
    await wait_for(lambda: (informer.store.get(key) or {}).get("metadata", {}).get(
        "resourceVersion") == rv)
    return fresh


async def complete(jobs, name: str, namespace: str) -> None:
    await jobs.patch(name, {"status": {"startTime": now(), "completionTime": now(),
                                       "succeeded": 1, "conditions": [
        {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now()},
        {"type": "Complete", "status": "True", "lastTransitionTime": now()}]}},
        namespace=namespace, subresource="status")


async def test_cronjob_schedules_forbids_and_cleans_up(client, namespace):
    cronjobs, jobs = client.api("batch/v1", "CronJob"), client.api("batch/v1", "Job")
    created = await cronjobs.create(cronjob_body("tick", concurrencyPolicy="Forbid",
                                                 successfulJobsHistoryLimit=1),
                                    namespace=namespace)
    start = parse_time(created["metadata"]["creationTimestamp"])
    first_run = (start + timedelta(minutes=1)).replace(second=0)
    clock = Clock(first_run + timedelta(seconds=5))
    key = f"{namespace}/tick"
    async with running(client, CronJobController, workers=False, clock=clock) as ctl:
        await settle(ctl, cronjobs, key, ctl.cronjobs)
        await ctl.sync(key)
        cj = await settle(ctl, cronjobs, key, ctl.cronjobs)
        minute = int(first_run.timestamp()) // 60
        assert [r["name"] for r in cj["status"]["active"]] == [f"tick-{minute}"]
        assert parse_time(cj["status"]["lastScheduleTime"]) == first_run
        job = await jobs.get(f"tick-{minute}", namespace=namespace)
        assert job["metadata"]["ownerReferences"][0]["uid"] == cj["metadata"]["uid"]
        assert job["metadata"]["labels"]["app"] == "tick"
        assert parse_time(job["metadata"]["annotations"][SCHEDULED_TIMESTAMP]) == first_run

        # a minute later the job still runs: Forbid skips this run
        clock.now += timedelta(minutes=1)
        await wait_for(lambda: ctl.jobs.store.get(f"{namespace}/tick-{minute}"))
        await ctl.sync(key)
        cj = await settle(ctl, cronjobs, key, ctl.cronjobs)
        assert len(cj["status"]["active"]) == 1
        assert len((await jobs.list(namespace=namespace))["items"]) == 1

        # the job completes: it leaves status.active and the next run starts
        await complete(jobs, f"tick-{minute}", namespace)
        await settle(ctl, jobs, f"{namespace}/tick-{minute}", ctl.jobs)
        clock.now += timedelta(minutes=1)
        await ctl.sync(key)
        cj = await settle(ctl, cronjobs, key, ctl.cronjobs)
        second = minute + 2
        assert [r["name"] for r in cj["status"]["active"]] == [f"tick-{second}"]
        assert cj["status"]["lastSuccessfulTime"]
        assert parse_time(cj["status"]["lastScheduleTime"]) == first_run + timedelta(minutes=2)

        # the second completes too; history keeps only the newest successful job
        await complete(jobs, f"tick-{second}", namespace)
        await settle(ctl, jobs, f"{namespace}/tick-{second}", ctl.jobs)
        clock.now += timedelta(minutes=1)
        await ctl.sync(key)
        cj = await settle(ctl, cronjobs, key, ctl.cronjobs)
        names = sorted(j["metadata"]["name"] for j in (await jobs.list(
            namespace=namespace))["items"] if not j["metadata"].get("deletionTimestamp"))
        assert names == sorted([f"tick-{second}", f"tick-{second + 1}"])

        # the key was requeued for the next minute, not polled
        assert key in ctl.queue._delayed
        delay = ctl.queue._delayed[key][0] - asyncio.get_running_loop().time()
        assert 0 < delay <= 60.2


async def test_suspended_cronjob_starts_nothing(client, namespace):
    cronjobs, jobs = client.api("batch/v1", "CronJob"), client.api("batch/v1", "Job")
    created = await cronjobs.create(cronjob_body("quiet", suspend=True, timeZone="Europe/Paris"),
                                    namespace=namespace)
    clock = Clock(parse_time(created["metadata"]["creationTimestamp"]) + timedelta(minutes=5))
    key = f"{namespace}/quiet"
    async with running(client, CronJobController, workers=False, clock=clock) as ctl:
        await settle(ctl, cronjobs, key, ctl.cronjobs)
        await ctl.sync(key)
        assert not (await jobs.list(namespace=namespace))["items"]
        await cronjobs.patch("quiet", {"spec": {"suspend": False}}, namespace=namespace)
        await settle(ctl, cronjobs, key, ctl.cronjobs)
        await ctl.sync(key)
        cj = await settle(ctl, cronjobs, key, ctl.cronjobs)
        (job,) = (await jobs.list(namespace=namespace))["items"]
        stamp = job["metadata"]["annotations"][SCHEDULED_TIMESTAMP]
        assert stamp.endswith(("+01:00", "+02:00"))  # written in the CronJob's time zone
        assert parse_time(cj["status"]["lastScheduleTime"]) == parse_time(stamp).astimezone(UTC)
