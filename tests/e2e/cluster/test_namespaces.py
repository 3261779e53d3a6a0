"""Deleting a namespace full of objects: its contents go first, then the namespace."""

from __future__ import annotations

import json

import pytest
from clusterkit import wait_until

pytestmark = pytest.mark.e2e

KINDS = ("deployments.apps", "replicasets.apps", "pods", "services", "configmaps",
         "secrets", "jobs.batch", "serviceaccounts", "endpoints",
         "endpointslices.discovery.k8s.io")


def contents(kubectl, ns: str) -> dict[str, list[str]]:
    out = json.loads(kubectl("get", ",".join(KINDS), "-n", ns, "-o", "json").stdout)
    found: dict[str, list[str]] = {}
    for item in out["items"]:
        found.setdefault(item["kind"], []).append(item["metadata"]["name"])
    return found


def test_deleting_a_namespace_deletes_everything_in_it(kubectl, ns):
    kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "-n", ns)
    kubectl("expose", "deployment", "web", "--port=80", "-n", ns)
    kubectl("create", "service", "clusterip", "other", "--tcp=8080:8080", "-n", ns)
    for i in range(3):
        kubectl("create", "configmap", f"cm-{i}", f"--from-literal=k={i}", "-n", ns)
        kubectl("create", "secret", "generic", f"s-{i}", f"--from-literal=k={i}", "-n", ns)
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "work"},
        "spec": {"parallelism": 2, "completions": 4, "template": {
            "metadata": {"annotations": {"pyk8s.io/hollow-run-seconds": "600"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "w", "image": "busybox"}]}}},
    }
    kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(job))
    kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=70)
    wait_until(lambda: len([n for n in contents(kubectl, ns).get("Pod", ())
                            if n.startswith("work-")]) == 2, 30, "the Job's 2 pods")
    wait_until(lambda: any(n.startswith("web-")
                           for n in contents(kubectl, ns).get("EndpointSlice", ())), 30,
               "the web Service's EndpointSlice")
    before = contents(kubectl, ns)
    assert {"Deployment", "ReplicaSet", "Pod", "Service", "ConfigMap", "Secret", "Job",
            "ServiceAccount", "Endpoints", "EndpointSlice"} <= set(before), before
    assert "kube-root-ca.crt" in before["ConfigMap"], "root-ca-cert-publisher ran"

    kubectl("delete", "namespace", ns, "--wait=false")
    phase = json.loads(kubectl("get", "namespace", ns, "-o", "json").stdout)["status"]["phase"]
    assert phase == "Terminating"
    assert kubectl("create", "configmap", "late", "-n", ns, check=False).returncode != 0, \
        "nothing new may be created in a terminating namespace"

    def namespace_gone() -> bool:
        result = kubectl("get", "namespace", ns, "-o", "json", check=False)
        if result.returncode != 0:
            assert "NotFound" in result.stderr, result.stderr
            return True
        return False

    wait_until(namespace_gone, 60, f"namespace {ns} deleted")
    assert contents(kubectl, ns) == {}, "everything in the namespace is gone"
