"""Real kubectl v1.32: values of the wrong JSON type are refused as kube-apiserver does."""

from __future__ import annotations

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
spec:
  replicas: "two"
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx
"""


def test_apply_deployment_with_string_replicas(kubectl, ns):
    path = kubectl.write("deploy.yaml", DEPLOYMENT.format(ns=ns))
    out = kubectl.fails("apply", "--validate=false", "-f", str(path))
    assert out.stderr.strip() == (
        f'Error from server (BadRequest): error when creating "{path}": Deployment in version '
        f'"v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct '
        f'field DeploymentSpec.spec.replicas of type int32'), out
    assert kubectl.fails("get", "deployment", "web", "-n", ns).returncode != 0


def test_create_configmap_with_numeric_value(kubectl, ns):
    path = kubectl.write("cm.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
                                    f"  namespace: {ns}\ndata:\n  answer: 42\n")
    out = kubectl.fails("create", "-f", str(path))
    assert out.stderr.strip() == (
        f'Error from server (BadRequest): error when creating "{path}": ConfigMap in version '
        f'"v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct '
        f'field ConfigMap.data of type string'), out


def test_merge_patch_with_wrong_type_is_invalid(kubectl, ns):
    kubectl("create", "configmap", "cm", "-n", ns, "--from-literal=a=b")
    out = kubectl.fails("patch", "configmap", "cm", "-n", ns, "--type=merge",
                        "-p", '{"data": {"a": 1}}')
    assert "is invalid: patch: Invalid value: " in out.stderr, out
    assert out.stderr.strip().endswith(
        "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"), out
    out = kubectl.fails("patch", "configmap", "cm", "-n", ns, "-p", '{"data": {"a": 1}}')
    assert out.stderr.strip().endswith(
        'patch: Invalid value: "map[data:map[a:1]]": cannot convert int64 to string'), out
    assert kubectl("get", "configmap", "cm", "-n", ns, "-o", "jsonpath={.data.a}").stdout == "b"
