"""Real kubectl v1.32 against a started server: version, bootstrap objects, discovery, explain."""

from __future__ import annotations

import json
import re

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


def test_version_matches_kubectl_without_skew_warning(kubectl):
    out = kubectl("version", "-o", "json")
    info = json.loads(out.stdout)
    assert info["serverVersion"]["major"] == "1"
    assert info["serverVersion"]["minor"] == "32"
    assert info["serverVersion"]["gitVersion"].startswith("v1.32.")
    assert info["clientVersion"]["gitVersion"].startswith("v1.32."), "the dispatcher picked another kubectl"
    assert "version difference" not in out.stderr.lower()
    assert "warning" not in out.stderr.lower(), out.stderr

    plain = kubectl("version")
    assert re.search(r"^Server Version: v1\.32\.\d+", plain.stdout, re.M), plain.stdout
    assert re.search(r"^Client Version: v1\.32\.\d+", plain.stdout, re.M), plain.stdout
    assert "warning" not in plain.stderr.lower(), plain.stderr
    assert "warning" not in plain.stdout.lower(), plain.stdout


def test_system_namespaces_exist(kubectl):
    out = kubectl("get", "ns")
    rows = out.table()
    assert rows[0] == ["NAME", "STATUS", "AGE"]
    status = {row[0]: row[1] for row in rows[1:]}
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert status.get(name) == "Active", out.stdout
    names = kubectl("get", "namespaces", "-o", "name").lines
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert f"namespace/{name}" in names


def test_kubernetes_service(kubectl):
    svc = json.loads(kubectl("get", "service", "kubernetes", "-n", "default", "-o", "json").stdout)
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["clusterIPs"] == ["10.96.0.1"]
    assert svc["spec"]["type"] == "ClusterIP"
    ports = svc["spec"]["ports"]
    assert [(p["name"], p["port"], p["protocol"]) for p in ports] == [("https", 443, "TCP")]
    assert svc["metadata"]["labels"]["component"] == "apiserver"
    rows = kubectl("get", "svc", "-n", "default").table()
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    row = next(r for r in rows[1:] if r[0] == "kubernetes")
    assert row[1:5] == ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]


def test_api_versions(kubectl):
    versions = kubectl("api-versions").lines
    for gv in ("v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1",
               "coordination.k8s.io/v1", "networking.k8s.io/v1", "policy/v1",
               "storage.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1",
               "certificates.k8s.io/v1", "scheduling.k8s.io/v1"):
        assert gv in versions, f"{gv} missing from {versions}"
    assert versions == sorted(versions)


def test_api_resources(kubectl):
    out = kubectl("api-resources")
    rows = out.table()
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name = {}
    for row in rows[1:]:
        if len(row) == 4:  # no short names
            row = [row[0], "", *row[1:]]
        by_name.setdefault(row[0], []).append(row)
    expected = [
        ["configmaps", "cm", "v1", "true", "ConfigMap"],
        ["namespaces", "ns", "v1", "false", "Namespace"],
        ["pods", "po", "v1", "true", "Pod"],
        ["services", "svc", "v1", "true", "Service"],
        ["secrets", "", "v1", "true", "Secret"],
        ["nodes", "no", "v1", "false", "Node"],
        ["deployments", "deploy", "apps/v1", "true", "Deployment"],
        ["jobs", "", "batch/v1", "true", "Job"],
        ["cronjobs", "cj", "batch/v1", "true", "CronJob"],
        ["leases", "", "coordination.k8s.io/v1", "true", "Lease"],
        ["ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"],
        ["roles", "", "rbac.authorization.k8s.io/v1", "true", "Role"],
        ["clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"],
    ]
    for row in expected:
        assert row in by_name.get(row[0], []), f"{row} not in {by_name.get(row[0])}"

    names = kubectl("api-resources", "-o", "name").lines
    assert "pods" in names and "deployments.apps" in names and "leases.coordination.k8s.io" in names
    cluster = kubectl("api-resources", "--namespaced=false", "-o", "name").lines
    assert "namespaces" in cluster and "nodes" in cluster and "pods" not in cluster
    apps = kubectl("api-resources", "--api-group=apps", "-o", "name").lines
    assert set(apps) >= {"deployments.apps", "replicasets.apps", "statefulsets.apps",
                         "daemonsets.apps", "controllerrevisions.apps"}
    assert all(n.endswith(".apps") for n in apps)

    wide = kubectl("api-resources", "-o", "wide").table()
    assert wide[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS",
                       "CATEGORIES"]
    pods = next(r for r in wide if r[0] == "pods")
    assert pods[5] == "create,delete,deletecollection,get,list,patch,update,watch"
    assert pods[6] == "all"

    listable = kubectl("api-resources", "--verbs=list", "--namespaced=true", "-o", "name").lines
    assert "configmaps" in listable and "bindings" not in listable


def test_explain_nested_field(kubectl):
    out = kubectl("explain", "pod.spec.containers.livenessProbe").stdout
    assert re.search(r"^KIND:\s+Pod$", out, re.M), out
    assert re.search(r"^VERSION:\s+v1$", out, re.M), out
    assert re.search(r"^FIELD:\s+livenessProbe\s+<Probe>$", out, re.M), out
    assert "DESCRIPTION:" in out and "FIELDS:" in out
    assert "Periodic probe of container liveness." in out
    for field, typ in (("exec", "ExecAction"), ("httpGet", "HTTPGetAction"),
                       ("initialDelaySeconds", "integer"), ("tcpSocket", "TCPSocketAction"),
                       ("grpc", "GRPCAction"), ("failureThreshold", "integer")):
        assert re.search(rf"^\s+{field}\s+<{typ}>$", out, re.M), f"{field} <{typ}> in\n{out}"


def test_explain_resource_and_group(kubectl):
    out = kubectl("explain", "deployments.spec.replicas").stdout
    assert re.search(r"^GROUP:\s+apps$", out, re.M), out
    assert re.search(r"^KIND:\s+Deployment$", out, re.M), out
    assert re.search(r"^FIELD:\s+replicas\s+<integer>$", out, re.M), out
    top = kubectl("explain", "configmaps").stdout
    assert re.search(r"^KIND:\s+ConfigMap$", top, re.M), top
    assert re.search(r"^\s+data\s+<map\[string\]string>$", top, re.M), top
    missing = kubectl.fails("explain", "pod.spec.nope")
    assert 'field "nope" does not exist' in missing.stderr, missing


def test_metrics(kubectl, ns):
    kubectl("create", "configmap", "counted", "-n", ns)
    kubectl.fails("get", "configmap", "missing", "-n", ns)
    text = kubectl("get", "--raw", "/metrics").stdout
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    created = ('apiserver_request_total{verb="POST",dry_run="",group="",version="v1",'
               'resource="configmaps",subresource="",scope="namespace",'
               'component="apiserver",code="201"}')
    missing = created.replace('verb="POST"', 'verb="GET"').replace(
        'scope="namespace"', 'scope="resource"').replace('code="201"', 'code="404"')
    assert samples[created] >= 1 and samples[missing] >= 1
    assert samples['apiserver_storage_objects{resource="configmaps"}'] >= 1
    assert samples["process_cpu_seconds_total"] > 0
    assert any(name.startswith("apiserver_request_duration_seconds_bucket{") for name in samples)
    # the monitoring role's URL, not anonymous's
    kubectl("create", "serviceaccount", "watcher", "-n", ns)
    forbidden = kubectl.fails("get", "--raw", "/metrics", f"--as=system:serviceaccount:{ns}:watcher")
    assert "Forbidden" in forbidden.stderr
