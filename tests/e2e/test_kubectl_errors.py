"""Real kubectl v1.32: error cases must read exactly as against kube-apiserver; strict validation."""

from __future__ import annotations

import json

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

RFC1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")

STALE = ("the object has been modified; please apply your changes to the latest version and "
         "try again")


def test_not_found(kubectl, ns):
    out = kubectl.fails("get", "configmap", "nope", "-n", ns)
    assert out.stderr.strip() == 'Error from server (NotFound): configmaps "nope" not found', out
    assert out.stdout == ""
    out = kubectl.fails("get", "deployment", "nope", "-n", ns)
    assert out.stderr.strip() == \
        'Error from server (NotFound): deployments.apps "nope" not found', out
    out = kubectl.fails("delete", "secret", "nope", "-n", ns)
    assert out.stderr.strip() == 'Error from server (NotFound): secrets "nope" not found', out
    out = kubectl.fails("get", "namespace", "no-such-namespace-here")
    assert out.stderr.strip() == \
        'Error from server (NotFound): namespaces "no-such-namespace-here" not found', out
    out = kubectl.fails("get", "frobnicators")
    assert 'the server doesn\'t have a resource type "frobnicators"' in out.stderr, out


def test_already_exists(kubectl, ns):
    kubectl("create", "configmap", "x", "-n", ns)
    # `kubectl create -f` adds the source; a raw API error prints as "Error from server"
    path = kubectl.write("x.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                                   f"  namespace: {ns}\n")
    out = kubectl.fails("create", "-f", str(path))
    assert out.stderr.strip() == (f'Error from server (AlreadyExists): error when creating '
                                  f'"{path}": configmaps "x" already exists'), out
    # kubectl 1.32's `create configmap` wraps the server's message in its own words
    out = kubectl.fails("create", "configmap", "x", "-n", ns)
    assert out.stderr.strip() == \
        'error: failed to create configmap: configmaps "x" already exists', out
    kubectl("create", "namespace", f"{ns}-dup")
    out = kubectl.fails("create", "namespace", f"{ns}-dup")
    assert out.stderr.strip() == \
        f'Error from server (AlreadyExists): namespaces "{ns}-dup" already exists', out
    kubectl("create", "deployment", "d", "--image=nginx", "-n", ns)
    out = kubectl.fails("create", "deployment", "d", "--image=nginx", "-n", ns)
    assert out.stderr.strip() == \
        'error: failed to create deployment: deployments.apps "d" already exists', out


def test_invalid_name(kubectl, ns):
    path = kubectl.write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                     "  name: Bad_Name\ndata: {k: v}\n")
    out = kubectl.fails("create", "-f", str(path), "-n", ns)
    assert out.stderr.strip() == (
        f'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        f"{RFC1123_SUBDOMAIN}"), out
    assert out.returncode == 1
    out = kubectl.fails("apply", "-f", str(path), "-n", ns)
    assert out.stderr.strip() == (
        f'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        f"{RFC1123_SUBDOMAIN}"), out
    # kubectl 1.32's `create configmap` wraps the server's message in its own words
    out = kubectl.fails("create", "configmap", "Bad_Name", "-n", ns)
    assert out.stderr.strip() == (
        f'error: failed to create configmap: ConfigMap "Bad_Name" is invalid: metadata.name: '
        f'Invalid value: "Bad_Name": {RFC1123_SUBDOMAIN}'), out


def test_invalid_object_lists_every_cause(kubectl, ns):
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": ns},
           "spec": {"ports": [{"port": 0}], "type": "Nonsense"}}
    path = kubectl.write("svc.json", json.dumps(bad))
    out = kubectl.fails("create", "-f", str(path))
    assert out.stderr.startswith('The Service "svc" is invalid: \n* '), out
    assert "* spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" \
        in out.stderr, out
    assert '* spec.type: Unsupported value: "Nonsense": supported values: "ClusterIP", ' \
           '"ExternalName", "LoadBalancer", "NodePort"' in out.stderr, out


def test_stale_replace_conflicts(kubectl, ns):
    kubectl("create", "configmap", "x", "-n", ns, "--from-literal=k=v1")
    old = kubectl("get", "configmap", "x", "-n", ns, "-o", "yaml").stdout
    path = kubectl.write("old.yaml", old.replace("k: v1", "k: from-old"))
    kubectl("label", "configmap", "x", "-n", ns, "touched=yes")
    out = kubectl.fails("replace", "-f", str(path))
    assert out.stderr.strip() == (
        f'Error from server (Conflict): error when replacing "{path}": Operation cannot be '
        f'fulfilled on configmaps "x": {STALE}'), out
    assert kubectl.jsonpath("get", "cm", "x", "-n", ns, path="{.data.k}") == "v1"


def test_unknown_field_is_strict_by_default(kubectl, ns):
    manifest = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: strict
  namespace: {ns}
spec:
  foo: bar
  selector:
    matchLabels: {{app: strict}}
  template:
    metadata:
      labels: {{app: strict}}
    spec:
      containers:
      - name: c
        image: nginx
"""
    path = kubectl.write("strict.yaml", manifest)
    out = kubectl.fails("apply", "-f", str(path))
    assert 'unknown field "spec.foo"' in out.stderr, out
    assert out.stderr.startswith("Error from server (BadRequest): "), out
    assert "strict decoding error" in out.stderr, out
    gone = kubectl.fails("get", "deploy", "strict", "-n", ns)
    assert "NotFound" in gone.stderr

    out = kubectl.fails("create", "-f", str(path))
    assert 'unknown field "spec.foo"' in out.stderr, out

    out = kubectl("apply", "-f", str(path), "--validate=warn")
    assert out.lines == ["deployment.apps/strict created"], out
    assert 'Warning: unknown field "spec.foo"' in out.stderr, out
    stored = json.loads(kubectl("get", "deploy", "strict", "-n", ns, "-o", "json").stdout)
    assert "foo" not in stored["spec"], "unknown fields are pruned, never stored"

    out = kubectl("apply", "-f", str(path), "--validate=false")
    assert "unknown field" not in out.stderr, out

    nested = manifest.replace("        image: nginx\n", "        image: nginx\n        imagePullPolice: Always\n")
    path.write_text(nested.replace("strict", "strict2").replace("  foo: bar\n", ""))
    out = kubectl.fails("create", "-f", str(path))
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolice"' in out.stderr, out

