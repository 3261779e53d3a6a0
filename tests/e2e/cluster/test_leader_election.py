"""Two controller managers: kill -9 the leader and the other takes the Lease once it
expires, while a ReplicaSet of N replicas never has more than N pods."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from clusterkit import PodWatch, is_active, is_ready, wait_until

pytestmark = pytest.mark.e2e

REPLICAS = 4
LEASE_DURATION = 15  # kube-controller-manager's --leader-elect-lease-duration


def lease(kubectl) -> dict:
    return json.loads(kubectl("get", "lease", "kube-controller-manager", "-n", "kube-system",
                              "-o", "json").stdout)["spec"]


def test_standby_takes_over_without_overshooting(cluster, kubectl, ns):
    first = lease(kubectl)["holderIdentity"]
    leader_pid = cluster.component_pid("controller-manager")
    assert leader_pid, "the server's controller manager runs"
    standby = cluster.start_process(
        "controller-manager-2", "controller-manager",
        "--kubeconfig", str(cluster.data_dir / "controller-manager.conf"))
    too_many: list[int] = []

    def at_most_n(pods: dict) -> None:
        n = sum(1 for p in pods.values() if is_active(p))
        if n > REPLICAS:
            too_many.append(n)
        assert n <= REPLICAS, f"{n} pods for a ReplicaSet of {REPLICAS}: {sorted(pods)}"

    with PodWatch(cluster, ns, "app=rs", at_most_n) as watch:
        kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "rs"}},
                     "template": {"metadata": {"labels": {"app": "rs"}},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}},
        }))
        wait_until(lambda: sum(1 for p in watch.snapshot().values() if is_ready(p))
                   == REPLICAS, 60, f"{REPLICAS} ready pods")
        # The standby is up and campaigning, but the Lease stays with the first holder.
        time.sleep(3)
        assert standby.alive(), standby.log()
        assert lease(kubectl)["holderIdentity"] == first

        os.kill(leader_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        victim = sorted(watch.snapshot())[0]
        kubectl("delete", "pod", victim, "-n", ns, "--wait=false")  # work for the successor

        spec = wait_until(lambda: (s := lease(kubectl))["holderIdentity"] not in ("", first)
                          and s, LEASE_DURATION + 15, "a new Lease holder")
        took = time.monotonic() - killed_at
        assert spec.get("leaseTransitions", 0) >= 1
        wait_until(lambda: victim not in watch.snapshot() and sum(
            1 for p in watch.snapshot().values() if is_active(p) and is_ready(p)) == REPLICAS,
            30, f"the new leader replaced {victim}")
        time.sleep(2)  # would a second (stale) manager add more? the watch would see it
        watch.check()
    assert not too_many
    assert standby.alive(), standby.log()
    print(f"new leader after {took:.1f} s (lease duration {LEASE_DURATION} s)")
    rs = json.loads(kubectl("get", "rs", "rs", "-n", ns, "-o", "json").stdout)
    assert rs["status"]["replicas"] == REPLICAS
