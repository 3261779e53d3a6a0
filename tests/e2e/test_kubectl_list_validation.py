"""Real kubectl v1.32: ``create``/``apply -f`` of a ``kind: List`` file.

v1/List is not a served kind, so kubectl cannot rely on server-side field validation
for it and validates client-side against ``/openapi/v2`` fetched as gnostic protobuf.
These tests pin that the round trip ``get -o yaml`` -> ``create -f``/``apply -f``
works and that bad items are rejected with kubectl's own validation errors.
"""

from __future__ import annotations

import pytest
import yaml
from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

VALIDATION_HINT = "if you choose to ignore these errors, turn validation off with --validate=false"


def _saved_list(kubectl, ns) -> str:  # noqa: F811 - fixture names
    """A List printed by ``kubectl get -o yaml`` holding one configmap, then deleted."""
    kubectl("create", "configmap", "settings", "-n", ns, "--from-literal=mode=fast")
    listed = kubectl("get", "configmaps", "-n", ns, "--field-selector",
                     "metadata.name=settings", "-o", "yaml").stdout
    assert yaml.safe_load(listed)["kind"] == "List"
    kubectl("delete", "configmap", "settings", "-n", ns)
    return listed


def test_create_and_apply_list_from_get(kubectl, ns):  # noqa: F811
    path = kubectl.write("list.yaml", _saved_list(kubectl, ns))
    created = kubectl("create", "-f", str(path))
    assert created.stdout.strip() == "configmap/settings created"
    assert kubectl.jsonpath("get", "cm", "settings", "-n", ns, path="{.data.mode}") == "fast"
    kubectl("delete", "configmap", "settings", "-n", ns)
    applied = kubectl("apply", "-f", str(path))
    assert applied.stdout.strip() == "configmap/settings created"
    annotations = yaml.safe_load(
        kubectl("get", "cm", "settings", "-n", ns, "-o", "yaml").stdout)["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in annotations["annotations"]


def test_list_of_several_kinds(kubectl, ns):  # noqa: F811
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx",
                                                        "ports": [{"containerPort": 80}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}},
    ]}
    path = kubectl.write("several.yaml", yaml.safe_dump(doc))
    out = kubectl("apply", "-f", str(path)).lines
    assert out == ["deployment.apps/web created", "service/web created"]
    assert "configured" not in kubectl("apply", "-f", str(path)).stdout


def test_unknown_field_in_item_fails_client_side(kubectl, ns):  # noqa: F811
    doc = yaml.safe_load(_saved_list(kubectl, ns))
    doc["items"][0]["bogus"] = 1
    path = kubectl.write("bad.yaml", yaml.safe_dump(doc))
    expected = (f'error: error validating "{path}": error validating data: '
                'ValidationError(ConfigMap): unknown field "bogus" in '
                f"io.k8s.api.core.v1.ConfigMap; {VALIDATION_HINT}")
    for verb in ("create", "apply"):
        result = kubectl.fails(verb, "-f", str(path))
        assert result.stderr.strip() == expected, result
    assert kubectl("get", "cm", "-n", ns, "-o", "name").stdout == ""


def test_wrong_types_in_item_are_all_reported(kubectl, ns):  # noqa: F811
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": "two", "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx",
                                                        "imagePullPolicyX": "Always"}]}}}}]}
    path = kubectl.write("types.yaml", yaml.safe_dump(doc))
    err = kubectl.fails("apply", "-f", str(path)).stderr
    assert ('ValidationError(Deployment.spec.replicas): invalid type for '
            'io.k8s.api.apps.v1.DeploymentSpec.replicas: got "string", expected "integer"'
            in err)
    assert ('ValidationError(Deployment.spec.template.spec.containers[0]): unknown field '
            '"imagePullPolicyX" in io.k8s.api.core.v1.Container' in err)
    assert kubectl("get", "deployments", "-n", ns, "-o", "name").stdout == ""


def test_single_objects_still_use_server_side_validation(kubectl, ns):  # noqa: F811
    path = kubectl.write("single.yaml", yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": ns},
        "bogus": 1}))
    err = kubectl.fails("apply", "-f", str(path)).stderr
    assert 'strict decoding error: unknown field "bogus"' in err
    assert "error validating data" not in err
    explained = kubectl("explain", "configmap.data").stdout
    assert "FIELD: data <map[string]string>" in explained
