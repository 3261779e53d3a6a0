"""A node whose kubelet dies: it goes NotReady (Unknown), is tainted unreachable, and
the pods there are evicted once their tolerationSeconds pass and recreated elsewhere."""

from __future__ import annotations

import json
import signal

import pytest
from clusterkit import is_active, is_ready, wait_until

pytestmark = pytest.mark.e2e

REPLICAS = 6
TOLERATION_SECONDS = 5


def manifest() -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "svc"},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": "svc"}},
            "template": {
                "metadata": {"labels": {"app": "svc"}},
                "spec": {
                    "containers": [{"name": "app", "image": "nginx"}],
                    "tolerations": [
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": TOLERATION_SECONDS},
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": TOLERATION_SECONDS},
                    ],
                },
            },
        },
    })


def get(kubectl, *args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def test_dead_node_is_tainted_and_its_pods_move(cluster, kubectl, ns):
    kubectl("apply", "-n", ns, "-f", "-", input=manifest())
    kubectl("rollout", "status", "deployment/svc", "-n", ns, "--timeout=60s", timeout=70)
    pods = get(kubectl, "pods", "-n", ns, "-l", "app=svc")["items"]
    by_node: dict[str, list[str]] = {}
    for pod in pods:
        by_node.setdefault(pod["spec"]["nodeName"], []).append(pod["metadata"]["name"])
    victim = max(by_node, key=lambda n: len(by_node[n]))
    doomed = set(by_node[victim])
    assert doomed

    cluster.nodes[victim].stop(signal.SIGKILL)  # the kubelet dies: no more heartbeats

    def ready_status() -> str:
        node = get(kubectl, "node", victim)
        return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")

    wait_until(lambda: ready_status() == "Unknown", 60, f"{victim} Ready=Unknown")
    rows = kubectl("get", "node", victim).table()
    assert rows[1][1] == "NotReady", rows

    def taints() -> set:
        return {(t["key"], t["effect"]) for t in get(kubectl, "node", victim)["spec"]
                .get("taints") or ()}

    wait_until(lambda: ("node.kubernetes.io/unreachable", "NoExecute") in taints(), 30,
               f"{victim} tainted unreachable:NoExecute")
    assert ("node.kubernetes.io/unreachable", "NoSchedule") in taints()

    def moved() -> bool:
        now = get(kubectl, "pods", "-n", ns, "-l", "app=svc")["items"]
        old = [p for p in now if p["metadata"]["name"] in doomed]
        live = [p for p in now if is_active(p)]
        return (all(p["metadata"].get("deletionTimestamp") for p in old)
                and len(live) == REPLICAS
                and all(is_ready(p) and p["spec"]["nodeName"] != victim for p in live))

    wait_until(moved, 60, f"the pods on {victim} evicted and recreated on other nodes")
    # The evictions are the taint-eviction controller's, after the toleration ran out.
    events = get(kubectl, "events", "-n", ns)["items"]
    reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events}
    assert any((name, "TaintManagerEviction") in reasons for name in doomed), sorted(reasons)
    dep = wait_until(lambda: (d := get(kubectl, "deployment", "svc", "-n", ns))["status"]
                     .get("availableReplicas") == REPLICAS and d, 30,
                     "the Deployment fully available again")
    assert dep["status"]["readyReplicas"] == REPLICAS
