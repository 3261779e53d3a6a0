"""Real kubectl v1.32 against CustomResourceDefinitions: serve, validate, print, delete."""

from __future__ import annotations

import json
import time

import pytest
from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

SCHEMA = """\
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-validations:
              - rule: "self.replicas <= self.maxReplicas"
                message: replicas must not exceed maxReplicas
              required: [color]
              properties:
                color: {type: string, enum: [red, green, blue]}
                replicas: {type: integer, minimum: 0, default: 1}
                maxReplicas: {type: integer, default: 10}
                size: {type: string, maxLength: 5, default: small}
            status:
              type: object
              properties:
                replicas: {type: integer}
                selector: {type: string}
"""

CRD = f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [gadgets]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {{}}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    schema:
{SCHEMA}
  - name: v1beta1
    served: true
    storage: false
    schema:
{SCHEMA}
"""

WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  color: red
"""


def _wait_gone_from_discovery(kubectl, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if "widgets" not in kubectl("api-resources").stdout:
            return
        time.sleep(0.3)
    raise AssertionError("widgets still in discovery")


def test_crd_lifecycle(kubectl, ns):
    kubectl("apply", "-f", "-", input=CRD)
    kubectl("wait", "--for", "condition=established", "crd/widgets.example.com",
            "--timeout=15s")
    resources = kubectl("api-resources", "--api-group=example.com").stdout
    assert "widgets" in resources and "wd" in resources and "Widget" in resources

    kubectl("apply", "-n", ns, "-f", "-", input=WIDGET)
    obj = json.loads(kubectl("get", "widget", "w1", "-n", ns, "-o", "json").stdout)
    assert obj["spec"] == {"color": "red", "replicas": 1, "maxReplicas": 10, "size": "small"}
    assert obj["metadata"]["generation"] == 1

    table = kubectl("get", "wd", "-n", ns).table()
    assert table[0] == ["NAME", "COLOR", "REPLICAS"]
    assert table[1] == ["w1", "red", "1"]
    assert "w1" in kubectl("get", "gadgets", "-n", ns).stdout

    explain = kubectl("explain", "widget.spec").stdout
    assert "color" in explain and "maxReplicas" in explain

    kubectl("patch", "widget", "w1", "-n", ns, "--type=merge", "-p",
            '{"spec":{"color":"blue"}}')
    assert kubectl.jsonpath("get", "widget", "w1", "-n", ns, path="{.spec.color}") == "blue"

    kubectl("scale", "widget", "w1", "-n", ns, "--replicas=3")
    obj = json.loads(kubectl("get", "widget", "w1", "-n", ns, "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 3 and obj["metadata"]["generation"] == 3

    beta = json.loads(kubectl("get", "widgets.v1beta1.example.com", "w1", "-n", ns,
                              "-o", "json").stdout)
    assert beta["apiVersion"] == "example.com/v1beta1" and beta["spec"]["color"] == "blue"

    kubectl("delete", "crd", "widgets.example.com", "--timeout=30s")
    _wait_gone_from_discovery(kubectl)
    kubectl.fails("get", "widgets", "-n", ns)


def test_custom_object_validation(kubectl, ns):
    crd = CRD.replace("widgets", "gizmos").replace("widget", "gizmo").replace(
        "Widget", "Gizmo").replace("wd]", "gz]")
    kubectl("apply", "-f", "-", input=crd)
    kubectl("wait", "--for", "condition=established", "crd/gizmos.example.com",
            "--timeout=15s")
    gizmo = WIDGET.replace("Widget", "Gizmo").replace("name: w1", "name: g1")

    bad = kubectl.fails("apply", "-n", ns, "-f", "-", input=gizmo + "  bogus: 1\n")
    assert 'strict decoding error: unknown field "spec.bogus"' in bad.stderr

    bad = kubectl.fails("apply", "-n", ns, "-f", "-",
                        input=gizmo + '  replicas: "three"\n')
    assert ('spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
            'integer: "string"') in bad.stderr

    bad = kubectl.fails("apply", "-n", ns, "-f", "-", input=gizmo.replace("red", "pink"))
    assert 'spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"' \
        in bad.stderr

    bad = kubectl.fails("apply", "-n", ns, "-f", "-",
                        input=gizmo + "  replicas: 11\n")
    assert 'spec: Invalid value: "object": replicas must not exceed maxReplicas' in bad.stderr

    kubectl("apply", "-n", ns, "-f", "-", input=gizmo)
    status = '{"status":{"replicas":2,"selector":"app=g"}}'
    kubectl("patch", "gizmo", "g1", "-n", ns, "--type=merge", "-p", status)
    assert kubectl.jsonpath("get", "gizmo", "g1", "-n", ns, path="{.status}") == ""
    kubectl("patch", "gizmo", "g1", "-n", ns, "--subresource=status", "--type=merge",
            "-p", status)
    assert kubectl.jsonpath("get", "gizmo", "g1", "-n", ns,
                            path="{.status.replicas}") == "2"
    bad = kubectl.fails("patch", "gizmo", "g1", "-n", ns, "-p", '{"spec":{"color":"red"}}')
    assert "UnsupportedMediaType" in bad.stderr or "unknown format" in bad.stderr
    kubectl("delete", "crd", "gizmos.example.com", "--timeout=30s")
