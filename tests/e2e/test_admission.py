"""Real kubectl v1.32 against the admission chain: namespace lifecycle, service account
token volume, LimitRange defaults, priority classes, quota, PodSecurity."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  containers: [{name: c, image: nginx}]
"""


def test_namespace_lifecycle(kubectl):
    err = kubectl.fails("create", "configmap", "c", "-n", "no-such-ns")
    assert 'namespaces "no-such-ns" not found' in err.stderr
    kubectl("create", "namespace", "admission-no-sa")
    err = kubectl.fails("run", "early", "-n", "admission-no-sa", "--image=nginx")
    assert ('pods "early" is forbidden: error looking up service account '
            'admission-no-sa/default: serviceaccount "default" not found') in err.stderr
    err = kubectl.fails("delete", "namespace", "kube-public")
    assert ('namespaces "kube-public" is forbidden: this namespace may not be deleted'
            in err.stderr)


def test_service_account_volume_and_priority(kubectl, ns):
    kubectl("run", "web", "-n", ns, "--image=nginx")
    spec = json.loads(kubectl("get", "pod", "web", "-n", ns, "-o", "json").stdout)["spec"]
    volume = spec["volumes"][0]
    assert volume["name"].startswith("kube-api-access-")
    assert volume["projected"]["sources"][0] == {
        "serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert spec["containers"][0]["volumeMounts"] == [{
        "name": volume["name"], "readOnly": True,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert kubectl.jsonpath("get", "priorityclass", "system-node-critical",
                            path="{.value}") == "2000001000"
    kubectl("run", "crit", "-n", ns, "--image=nginx",
            "--overrides", '{"spec": {"priorityClassName": "system-cluster-critical"}}')
    assert kubectl.jsonpath("get", "pod", "crit", "-n", ns,
                            path="{.spec.priority}") == "2000000000"
    err = kubectl.fails("run", "bad", "-n", ns, "--image=nginx",
                        "--overrides", '{"spec": {"priorityClassName": "nope"}}')
    assert 'pods "bad" is forbidden: no PriorityClass with name nope was found' in err.stderr


def test_limit_range_defaults(kubectl, ns):
    kubectl("apply", "-n", ns, "-f", "-", input="""\
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 128Mi}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
""")
    kubectl("apply", "-n", ns, "-f", "-", input=POD % "p")
    resources = json.loads(kubectl.jsonpath("get", "pod", "p", "-n", ns,
                                            path="{.spec.containers[0].resources}"))
    assert resources == {"limits": {"cpu": "500m", "memory": "128Mi"},
                         "requests": {"cpu": "100m", "memory": "128Mi"}}
    err = kubectl.fails("run", "big", "-n", ns, "--image=nginx", "--overrides",
                        '{"spec": {"containers": [{"name": "big", "image": "nginx", '
                        '"resources": {"limits": {"cpu": "2"}}}]}}')
    assert ('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
            in err.stderr)


def test_quota_exact_under_parallel_creates(kubectl, ns):
    kubectl("create", "quota", "q", "-n", ns, "--hard=count/configmaps=5")

    def create(i: int):
        return kubectl("create", "configmap", f"c{i}", "-n", ns, check=False)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(create, range(10)))
    assert sum(r.returncode == 0 for r in results) == 5
    refused = [r for r in results if r.returncode != 0]
    assert all("exceeded quota: q, requested: count/configmaps=1, used: count/configmaps=5, "
               "limited: count/configmaps=5" in r.stderr for r in refused)
    assert kubectl.jsonpath("get", "quota", "q", "-n", ns,
                            path="{.status.used.count/configmaps}") == "5"
    assert len(kubectl("get", "configmaps", "-n", ns, "-o", "name").lines) == 5


def test_pod_security_enforce_and_warn(kubectl, ns):
    kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    err = kubectl.fails("apply", "-n", ns, "-f", "-", input=POD % "x")
    assert ('pods "x" is forbidden: violates PodSecurity "restricted:latest": '
            'allowPrivilegeEscalation != false (container "c" must set '
            "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
            '(container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot '
            '!= true (pod or container "c" must set securityContext.runAsNonRoot=true), '
            'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type '
            'to "RuntimeDefault" or "Localhost")') in err.stderr
    kubectl("label", "namespace", ns, "--overwrite",
            "pod-security.kubernetes.io/enforce=baseline",
            "pod-security.kubernetes.io/warn=restricted")
    out = kubectl("apply", "-n", ns, "-f", "-", input=POD % "why")
    assert ('Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation '
            '!= false (container "c" must set securityContext.allowPrivilegeEscalation=false)'
            in out.stderr)
