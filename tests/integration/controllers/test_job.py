"""The Job controller against a real API server: completions with parallelism, retries up
to backoffLimit, Indexed completion, pod failure policy, and TTL-after-finished cleanup.
Pods are bound and finished by the FakeKubelet of the workload kit."""

# ruff: noqa: F811 -- pytest fixtures imported from workloadkit are parameters here
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from workloadkit import FakeKubelet, client, create_node, namespace, running, wait_for  # noqa: F401

from pyk8s.controllers.garbagecollector import GarbageCollector
from pyk8s.controllers.job import FINALIZER, JobController
from pyk8s.controllers.ttlafterfinished import TTLAfterFinishedController


def job_body(name: str, **spec) -> dict:
    return {"metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "busybox"}]}}, **spec}}


def condition_types(job: dict) -> dict:
    return {c["type"]: c for c in (job.get("status") or {}).get("conditions") or ()
            if c["status"] == "True"}


async def finished(jobs, name: str, namespace: str) -> dict | None:
    job = await jobs.get(name, namespace=namespace)
    types = condition_types(job)
    return job if ("Complete" in types or "Failed" in types) else None


async def test_job_completes_with_parallelism(client, namespace):
    node = f"jn-{namespace}"
    await create_node(client, node)
    jobs, pods = client.api("batch/v1", "Job"), client.api("v1", "Pod")
    max_active = 0

    def outcome(pod):
        return 0

    async with running(client, JobController), FakeKubelet(client, namespace, [node], outcome):
        await jobs.create(job_body("work", completions=3, parallelism=2), namespace=namespace)

        async def observe():
            nonlocal max_active
            listing = await pods.list(namespace=namespace)
            live = [p for p in listing["items"]
                    if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            max_active = max(max_active, len(live))
            return await finished(jobs, "work", namespace)

        job = await wait_for(observe, timeout=30)
    status = job["status"]
    types = condition_types(job)
    assert "Complete" in types and "SuccessCriteriaMet" in types
    assert status["succeeded"] == 3 and status.get("failed", 0) == 0
    assert status["active"] == 0 and status["completionTime"] and status["startTime"]
    assert max_active <= 2
    listing = await pods.list(namespace=namespace)
    assert len(listing["items"]) == 3
    for pod in listing["items"]:
        labels = pod["metadata"]["labels"]
        assert labels["batch.kubernetes.io/job-name"] == "work"
        assert labels["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
        assert FINALIZER not in (pod["metadata"].get("finalizers") or [])
        assert pod["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]


async def test_failing_job_retries_then_fails_at_backoff_limit(client, namespace):
    node = f"jf-{namespace}"
    await create_node(client, node)
    jobs, pods = client.api("batch/v1", "Job"), client.api("v1", "Pod")
    async with running(client, JobController, backoff_base=0.2), \
            FakeKubelet(client, namespace, [node], lambda pod: 1):
        await jobs.create(job_body("flaky", backoffLimit=2), namespace=namespace)
        job = await wait_for(lambda: finished(jobs, "flaky", namespace), timeout=30)
    types = condition_types(job)
    assert types["Failed"]["reason"] == "BackoffLimitExceeded"
    assert types["FailureTarget"]["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 3 and job["status"].get("succeeded", 0) == 0
    assert "Complete" not in types
    assert len((await pods.list(namespace=namespace))["items"]) == 3


async def test_indexed_job_and_ttl_cleanup(client, namespace):
    node = f"ji-{namespace}"
    await create_node(client, node)
    jobs, pods = client.api("batch/v1", "Job"), client.api("v1", "Pod")
    async with running(client, JobController, TTLAfterFinishedController), \
            FakeKubelet(client, namespace, [node], lambda pod: 0):
        await jobs.create(job_body("idx", completions=3, parallelism=3,
                                   completionMode="Indexed", ttlSecondsAfterFinished=1),
                          namespace=namespace)
        job = await wait_for(lambda: finished(jobs, "idx", namespace), timeout=30)
        assert job["status"]["completedIndexes"] == "0-2"
        assert "Complete" in condition_types(job)
        listing = await pods.list(namespace=namespace)
        indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                         for p in listing["items"])
        assert indexes == ["0", "1", "2"]
        for pod in listing["items"]:
            index = pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
            assert pod["spec"]["hostname"] == f"idx-{index}"
            assert pod["metadata"]["name"].startswith(f"idx-{index}-")
            env = pod["spec"]["containers"][0]["env"]
            assert env[0]["name"] == "JOB_COMPLETION_INDEX"

        async def gone():
            listing = await jobs.list(namespace=namespace)
            return not listing["items"]

        await wait_for(gone, timeout=20)


async def test_pod_failure_policy_fails_job_on_exit_code(client, namespace):
    node = f"jp-{namespace}"
    await create_node(client, node)
    jobs = client.api("batch/v1", "Job")
    policy = {"rules": [{"action": "FailJob",
                         "onExitCodes": {"operator": "In", "values": [42]}}]}
    async with running(client, JobController, backoff_base=0.2), \
            FakeKubelet(client, namespace, [node], lambda pod: 42):
        await jobs.create(job_body("policy", backoffLimit=5, podFailurePolicy=policy,
                                   podReplacementPolicy="Failed"), namespace=namespace)
        job = await wait_for(lambda: finished(jobs, "policy", namespace), timeout=30)
    failed = condition_types(job)["Failed"]
    assert failed["reason"] == "PodFailurePolicy"
    assert "exit code 42 matching FailJob rule at index 0" in failed["message"]
    assert job["status"]["failed"] == 1


async def test_active_deadline_and_suspend(client, namespace):
    node = f"jd-{namespace}"
    await create_node(client, node)
    jobs, pods = client.api("batch/v1", "Job"), client.api("v1", "Pod")
    async with running(client, JobController), \
            FakeKubelet(client, namespace, [node], lambda pod: "Running"):
        await jobs.create(job_body("paused", parallelism=2, completions=4, suspend=True),
                          namespace=namespace)

        async def suspended():
            job = await jobs.get("paused", namespace=namespace)
            return job if "Suspended" in condition_types(job) else None

        job = await wait_for(suspended)
        assert not (await pods.list(namespace=namespace))["items"]
        assert "startTime" not in job["status"]

        await jobs.create(job_body("slow", activeDeadlineSeconds=1), namespace=namespace)
        job = await wait_for(lambda: finished(jobs, "slow", namespace), timeout=30)
        failed = condition_types(job)["Failed"]
        assert failed["reason"] == "DeadlineExceeded"
        assert failed["message"] == "Job was active longer than specified deadline"
        assert job["status"]["active"] == 0 and job["status"].get("terminating", 0) == 0

        await jobs.patch("paused", {"spec": {"suspend": False}}, namespace=namespace)

        async def resumed():
            job = await jobs.get("paused", namespace=namespace)
            return job if job["status"].get("ready") == 2 else None

        job = await wait_for(resumed)
        cond = next(c for c in job["status"]["conditions"] if c["type"] == "Suspended")
        assert (cond["status"], cond["reason"]) == ("False", "JobResumed")
        assert job["status"]["startTime"]


async def test_deleted_job_releases_pod_finalizers(client, namespace):
    node = f"jo-{namespace}"
    await create_node(client, node)
    jobs, pods = client.api("batch/v1", "Job"), client.api("v1", "Pod")
    async with running(client, JobController, GarbageCollector), \
            FakeKubelet(client, namespace, [node], lambda pod: "Running"):
        await jobs.create(job_body("gone", parallelism=2, completions=2), namespace=namespace)

        async def tracked():
            items = (await pods.list(namespace=namespace))["items"]
            return len(items) == 2 and all(FINALIZER in p["metadata"].get("finalizers", [])
                                           for p in items)

        await wait_for(tracked)
        await jobs.delete("gone", namespace=namespace, propagation_policy="Orphan")

        async def released():
            items = (await pods.list(namespace=namespace))["items"]
            return len(items) == 2 and not any(FINALIZER in p["metadata"].get("finalizers", [])
                                               for p in items)

        await wait_for(released)
        assert not (await jobs.list(namespace=namespace))["items"]
