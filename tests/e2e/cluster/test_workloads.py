"""Workload controllers on a real cluster: a Job runs to completion, StatefulSet pods come
up one by one with stable names, a DaemonSet follows nodes joining and leaving, a CronJob
fires, and an unschedulable pod shows its FailedScheduling event in kubectl describe.

The CronJob (schedule every minute) and the orphaned DaemonSet pod of a deleted node (the
pod GC's 40 s quarantine) take up to a minute or so; both are set in motion early and
checked by the last test of the module, so their waits overlap the other tests."""

from __future__ import annotations

import json
import time

import pytest
from clusterkit import PodWatch, is_active, is_ready, wait_until

pytestmark = pytest.mark.e2e


def get(kubectl, *args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def apply(kubectl, ns: str, obj: dict) -> None:
    kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(obj))


@pytest.fixture(scope="module")
def background(cluster, tmp_path_factory):
    """A namespace with a CronJob created at module start; state the last test checks."""
    from kubectl_cli import Kubectl

    kubectl = Kubectl(cluster.kubeconfig, tmp_path_factory.mktemp("bg"))
    ns = "cron-e2e"
    kubectl("create", "namespace", ns)
    wait_until(lambda: kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
               30, "default ServiceAccount")
    apply(kubectl, ns, {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {
            "metadata": {"annotations": {"pyk8s.io/hollow-run-seconds": "1"}},
            "spec": {"restartPolicy": "OnFailure",
                     "containers": [{"name": "t", "image": "busybox"}]}}}}},
    })
    return {"ns": ns, "created": time.time(), "leftover_pods": []}


def test_job_runs_to_completion(background, kubectl, ns):
    apply(kubectl, ns, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "calc"},
        "spec": {"completions": 3, "parallelism": 2, "template": {
            "metadata": {"annotations": {"pyk8s.io/hollow-run-seconds": "1"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox"}]}}},
    })
    kubectl("wait", "--for=condition=complete", "job/calc", "-n", ns, "--timeout=60s",
            timeout=70)
    job = get(kubectl, "job", "calc", "-n", ns)
    assert job["status"]["succeeded"] == 3
    assert job["status"].get("completionTime")
    assert not job["status"].get("active")
    pods = get(kubectl, "pods", "-n", ns, "-l", "batch.kubernetes.io/job-name=calc")["items"]
    assert len(pods) == 3 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    assert all("batch.kubernetes.io/job-tracking" not in (p["metadata"].get("finalizers")
                                                          or ()) for p in pods)


def test_statefulset_pods_come_up_in_order_with_stable_names(cluster, kubectl, ns):
    kubectl("create", "service", "clusterip", "db", "--clusterip=None", "-n", ns)
    order: list[tuple[str, str]] = []  # ("created"|"ready", pod) in watch order
    seen_ready: set[str] = set()

    def record(pods: dict) -> None:
        for name, pod in sorted(pods.items()):
            if ("created", name) not in order:
                order.append(("created", name))
            if name not in seen_ready and is_ready(pod) and is_active(pod):
                seen_ready.add(name)
                order.append(("ready", name))

    with PodWatch(cluster, ns, "app=db", record) as watch:
        apply(kubectl, ns, {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"replicas": 3, "serviceName": "db",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "db", "image": "pg"}]}}},
        })
        kubectl("rollout", "status", "statefulset/db", "-n", ns, "--timeout=60s", timeout=70)
        wait_until(lambda: len(seen_ready) == 3, 30, "3 ready pods seen by the watch")
        watch.check()
        first = order[:]
        for i in (1, 2):
            assert first.index(("ready", f"db-{i - 1}")) < first.index(("created", f"db-{i}")), \
                f"db-{i} was created before db-{i - 1} was Ready: {first}"
        old = get(kubectl, "pod", "db-1", "-n", ns)
        assert old["spec"]["hostname"] == "db-1" and old["spec"]["subdomain"] == "db"
        kubectl("delete", "pod", "db-1", "-n", ns, "--wait=false")

        def replaced() -> bool:
            pod = watch.snapshot().get("db-1")
            return bool(pod and pod["metadata"]["uid"] != old["metadata"]["uid"]
                        and is_ready(pod))

        wait_until(replaced, 30, "db-1 recreated under the same name")
        assert sorted(watch.snapshot()) == ["db-0", "db-1", "db-2"]
        kubectl("scale", "statefulset/db", "--replicas=1", "-n", ns)
        wait_until(lambda: sorted(watch.snapshot()) == ["db-0"], 30, "scaled down to db-0")
        deletions = [name for kind, name in watch.events if kind == "DELETED"]
        assert deletions[-2:] == ["db-2", "db-1"], f"scale-down goes in reverse: {deletions}"
        watch.check()


def test_daemonset_follows_nodes(background, cluster, kubectl, ns):
    apply(kubectl, ns, {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"containers": [{"name": "a", "image": "agent"}]}}},
    })

    def placement() -> dict[str, str]:
        pods = get(kubectl, "pods", "-n", ns, "-l", "app=agent")["items"]
        return {p["spec"].get("nodeName", ""): p["metadata"]["name"] for p in pods
                if is_active(p) and is_ready(p)}

    nodes = sorted(cluster.nodes)
    wait_until(lambda: sorted(placement()) == nodes, 60, f"one ready agent on each of {nodes}")
    joined = cluster.add_node("hollow-d-", "d", "--delete-nodes-on-exit")
    wait_until(lambda: joined in placement(), 60, f"an agent on the new node {joined}")
    ds = wait_until(lambda: (d := get(kubectl, "daemonset", "agent", "-n", ns))["status"]
                    .get("numberReady") == 4 and d, 30, "numberReady 4")
    assert ds["status"]["desiredNumberScheduled"] == 4
    pod = placement()[joined]

    cluster.nodes.pop(joined).stop()  # SIGTERM: the hollow node deletes its Node
    wait_until(lambda: kubectl("get", "node", joined, check=False).returncode != 0, 30,
               f"Node {joined} deleted")
    wait_until(lambda: get(kubectl, "daemonset", "agent", "-n", ns)["status"]
               .get("desiredNumberScheduled") == 3, 30, "desiredNumberScheduled back to 3")
    # The pod bound to the vanished node is the pod GC's (after its 40 s quarantine).
    background["leftover_pods"].append((ns, pod))


def test_unschedulable_pod_shows_failed_scheduling(kubectl, ns):
    apply(kubectl, ns, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
        "spec": {"containers": [{"name": "h", "image": "nginx",
                                 "resources": {"requests": {"cpu": "64"}}}]},
    })

    def described() -> str:
        out = kubectl("describe", "pod", "huge", "-n", ns).stdout
        return out if "FailedScheduling" in out else ""

    out = wait_until(described, 30, "a FailedScheduling event in kubectl describe")
    assert "Insufficient cpu" in out, out
    assert "default-scheduler" in out, out
    assert "0/3 nodes are available" in out, out
    pod = get(kubectl, "pod", "huge", "-n", ns)
    assert not pod["spec"].get("nodeName")
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"


def test_cronjob_fired_and_orphaned_daemon_pod_collected(background, kubectl):
    ns = background["ns"]

    def fired() -> bool:
        jobs = get(kubectl, "jobs", "-n", ns)["items"]
        return any(any(c["type"] == "Complete" and c["status"] == "True"
                       for c in j.get("status", {}).get("conditions") or ()) for j in jobs)

    wait_until(fired, 100 - (time.time() - background["created"]) + 5,
               "a Job of the every-minute CronJob completed")
    cron = get(kubectl, "cronjob", "tick", "-n", ns)
    assert cron["status"].get("lastScheduleTime")
    assert cron["status"].get("lastSuccessfulTime")
    job = get(kubectl, "jobs", "-n", ns)["items"][0]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    for pod_ns, pod in background["leftover_pods"]:
        wait_until(lambda: kubectl("get", "pod", pod, "-n", pod_ns, check=False).returncode
                   != 0, 90, f"pod {pod} of the deleted node collected by the pod GC")
