"""Deployments on a real cluster: scaling, a rolling update that never drops below
replicas - maxUnavailable available pods, rollout undo, and deletion with each
propagation policy through the garbage collector."""

from __future__ import annotations

import json

import pytest
from clusterkit import PodWatch, available, is_active, is_ready, wait_until

pytestmark = pytest.mark.e2e


def deployment(name: str, replicas: int, image: str = "nginx:1.25", *,
               max_unavailable: int = 1, max_surge: int = 1) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                "maxUnavailable": max_unavailable, "maxSurge": max_surge}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    })


def get(kubectl, *args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def items(kubectl, kind: str, ns: str, selector: str) -> list[dict]:
    return get(kubectl, kind, "-n", ns, "-l", selector)["items"]


def ready_pods(kubectl, ns: str, selector: str) -> list[dict]:
    return [p for p in items(kubectl, "pods", ns, selector) if is_active(p) and is_ready(p)]


def create(kubectl, ns: str, manifest: str) -> None:
    kubectl("apply", "-n", ns, "-f", "-", input=manifest)


def test_scale_up_and_down(kubectl, ns):
    create(kubectl, ns, deployment("web", 2))
    kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=70)
    kubectl("scale", "deployment/web", "-n", ns, "--replicas=6")
    wait_until(lambda: len(ready_pods(kubectl, ns, "app=web")) == 6, 60, "6 ready pods")
    wait_until(lambda: get(kubectl, "deployment", "web", "-n", ns)["status"]
               .get("availableReplicas") == 6, 30, "availableReplicas 6")
    kubectl("scale", "deployment/web", "-n", ns, "--replicas=1")
    wait_until(lambda: len(items(kubectl, "pods", ns, "app=web")) == 1, 60,
               "the pods beyond 1 deleted")
    dep = wait_until(lambda: (d := get(kubectl, "deployment", "web", "-n", ns))["status"]
                     .get("replicas") == 1 and d, 30, "status.replicas 1")
    assert dep["status"].get("availableReplicas") == 1, dep["status"]
    rs = items(kubectl, "replicasets", ns, "app=web")
    assert [r["spec"]["replicas"] for r in rs] == [1], rs


def test_rolling_update_keeps_availability_then_undo(cluster, kubectl, ns):
    replicas, max_unavailable = 5, 1
    create(kubectl, ns, deployment("roll", replicas, "nginx:1.25",
                                   max_unavailable=max_unavailable, max_surge=1))
    kubectl("rollout", "status", "deployment/roll", "-n", ns, "--timeout=60s", timeout=70)
    floor = replicas - max_unavailable
    lowest: list[int] = []
    most: list[int] = []

    def invariant(pods: dict) -> None:
        n = available(pods)
        lowest.append(n)
        most.append(sum(1 for p in pods.values() if is_active(p)))
        assert n >= floor, (f"only {n} available pods (< {floor}): "
                            f"{[(k, is_ready(p), is_active(p)) for k, p in pods.items()]}")

    with PodWatch(cluster, ns, "app=roll", invariant) as watch:
        kubectl("set", "image", "deployment/roll", "-n", ns, "app=nginx:1.26")
        kubectl("rollout", "status", "deployment/roll", "-n", ns, "--timeout=90s",
                timeout=100)
        wait_until(lambda: sorted(p["spec"]["containers"][0]["image"]
                                  for p in watch.snapshot().values())
                   == ["nginx:1.26"] * replicas, 30, "only new pods left")
        watch.check()
        kubectl("rollout", "undo", "deployment/roll", "-n", ns)
        kubectl("rollout", "status", "deployment/roll", "-n", ns, "--timeout=90s",
                timeout=100)
        wait_until(lambda: sorted(p["spec"]["containers"][0]["image"]
                                  for p in watch.snapshot().values())
                   == ["nginx:1.25"] * replicas, 30, "only the undone pods left")
        watch.check()
    assert min(lowest) >= floor
    assert max(most) <= replicas + 1, "more pods than replicas + maxSurge"
    assert len(watch.events) > 4 * replicas, "the watch saw the rollout happen"
    dep = get(kubectl, "deployment", "roll", "-n", ns)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    rs = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
          r for r in items(kubectl, "replicasets", ns, "app=roll")}
    assert sorted(rs) == ["2", "3"], "undo reuses revision 1's ReplicaSet as revision 3"
    assert rs["3"]["spec"]["replicas"] == replicas and rs["2"]["spec"]["replicas"] == 0
    history = kubectl("rollout", "history", "deployment/roll", "-n", ns).stdout
    assert "2" in history and "3" in history


def _gc_setup(kubectl, ns: str, name: str, replicas: int = 3) -> tuple[dict, list[dict]]:
    create(kubectl, ns, deployment(name, replicas))
    kubectl("rollout", "status", f"deployment/{name}", "-n", ns, "--timeout=60s", timeout=70)
    rs = items(kubectl, "replicasets", ns, f"app={name}")
    assert len(rs) == 1
    pods = items(kubectl, "pods", ns, f"app={name}")
    assert len(pods) == replicas
    return rs[0], pods


def test_delete_background_removes_replicasets_and_pods(kubectl, ns):
    _gc_setup(kubectl, ns, "bg")
    kubectl("delete", "deployment", "bg", "-n", ns, "--cascade=background")
    assert kubectl("get", "deployment", "bg", "-n", ns, check=False).returncode != 0
    wait_until(lambda: not items(kubectl, "replicasets", ns, "app=bg"), 30,
               "the ReplicaSet collected")
    wait_until(lambda: not items(kubectl, "pods", ns, "app=bg"), 30, "the pods collected")


def test_delete_foreground_waits_for_dependents(kubectl, ns):
    rs, pods = _gc_setup(kubectl, ns, "fg")
    held = pods[0]["metadata"]["name"]
    # A finalizer of ours keeps one pod (so its ReplicaSet, so the Deployment) around
    # for as long as the test wants to look.
    kubectl("patch", "pod", held, "-n", ns, "--type=merge",
            "-p", '{"metadata":{"finalizers":["e2e.pyk8s.io/hold"]}}')
    kubectl("delete", "deployment", "fg", "-n", ns, "--cascade=foreground", "--wait=false")
    dep = get(kubectl, "deployment", "fg", "-n", ns)
    assert dep["metadata"].get("deletionTimestamp")
    assert "foregroundDeletion" in dep["metadata"]["finalizers"]
    wait_until(lambda: [p["metadata"]["name"] for p in items(kubectl, "pods", ns, "app=fg")]
               == [held], 30, "every pod but the held one gone")
    pod = get(kubectl, "pod", held, "-n", ns)
    assert pod["metadata"].get("deletionTimestamp"), "the held pod is being deleted"
    dep = get(kubectl, "deployment", "fg", "-n", ns)
    assert "foregroundDeletion" in dep["metadata"]["finalizers"], "the Deployment lingers"
    rs_now = get(kubectl, "replicaset", rs["metadata"]["name"], "-n", ns)
    assert rs_now["metadata"].get("deletionTimestamp")
    assert "foregroundDeletion" in rs_now["metadata"].get("finalizers", [])
    kubectl("patch", "pod", held, "-n", ns, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}')
    wait_until(lambda: kubectl("get", "deployment", "fg", "-n", ns, check=False).returncode
               != 0, 30, "the Deployment gone once its dependents are")
    assert not items(kubectl, "replicasets", ns, "app=fg")
    assert not items(kubectl, "pods", ns, "app=fg")


def test_delete_orphan_keeps_replicasets_and_pods(kubectl, ns):
    rs, pods = _gc_setup(kubectl, ns, "orph")
    kubectl("delete", "deployment", "orph", "-n", ns, "--cascade=orphan")
    wait_until(lambda: kubectl("get", "deployment", "orph", "-n", ns, check=False).returncode
               != 0, 30, "the Deployment gone")

    def orphaned() -> bool:
        now = items(kubectl, "replicasets", ns, "app=orph")
        assert [r["metadata"]["uid"] for r in now] == [rs["metadata"]["uid"]], now
        return not now[0]["metadata"].get("ownerReferences")

    wait_until(orphaned, 30, "the ReplicaSet's ownerReferences removed")
    now = items(kubectl, "pods", ns, "app=orph")
    assert sorted(p["metadata"]["uid"] for p in now) == sorted(
        p["metadata"]["uid"] for p in pods), "the pods stay"
    assert all(not p["metadata"].get("deletionTimestamp") for p in now)
    rs_now = items(kubectl, "replicasets", ns, "app=orph")[0]
    assert rs_now["spec"]["replicas"] == 3
    assert not rs_now["metadata"].get("finalizers")
