"""Server-side apply and managedFields through the real kubectl.

Covers ``kubectl apply --server-side`` (create, re-apply without a field, two field
managers and the conflict kubectl prints, ``--force-conflicts``), ``kubectl diff``,
``--show-managed-fields``, the client-side ``kubectl apply`` of changed manifests, and
the HTTP answers (status codes, conflict bodies, refusals) through the Python client.
"""

from __future__ import annotations

import json

import pytest
from kubectl_cli import kubectl, ns  # noqa: F401
from kubernetes import client, config
from kubernetes.client.rest import ApiException

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
{data}
"""


def _configmap(kubectl, name: str, **data: str):
    lines = "\n".join(f"  {k}: \"{v}\"" for k, v in data.items()) or "  {}"
    return kubectl.write(name, CONFIGMAP.format(data=lines))


def _get(kubectl, ns: str, *what: str) -> dict:
    return json.loads(kubectl("get", *what, "-n", ns, "-o", "json",
                              "--show-managed-fields").stdout)


def test_apply_creates_then_removes_dropped_field(kubectl, ns):
    first = _configmap(kubectl, "a.yaml", key="1", other="2")
    out = kubectl("apply", "--server-side", "-n", ns, "-f", str(first))
    assert "configmap/cfg serverside-applied" in out.stdout
    second = _configmap(kubectl, "b.yaml", key="1")
    kubectl("apply", "--server-side", "-n", ns, "-f", str(second))
    obj = _get(kubectl, ns, "configmap", "cfg")
    assert obj["data"] == {"key": "1"}
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl" and entry["operation"] == "Apply"
    assert entry["fieldsType"] == "FieldsV1" and entry["apiVersion"] == "v1"
    assert entry["fieldsV1"] == {"f:data": {"f:key": {}}}
    assert entry["time"].endswith("Z") and len(entry["time"]) == 20


def test_two_managers_conflict_and_force(kubectl, ns):
    kubectl("apply", "--server-side", "--field-manager=a", "-n", ns,
            "-f", str(_configmap(kubectl, "a.yaml", key="1")))
    kubectl("apply", "--server-side", "--field-manager=b", "-n", ns,
            "-f", str(_configmap(kubectl, "b.yaml", key="1", extra="x")))
    failed = kubectl.fails("apply", "--server-side", "--field-manager=a", "-n", ns,
                           "-f", str(_configmap(kubectl, "c.yaml", key="2")))
    assert failed.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "b": .data.key\n')
    assert "--force-conflicts" in failed.stderr
    kubectl("apply", "--server-side", "--field-manager=a", "--force-conflicts", "-n", ns,
            "-f", str(_configmap(kubectl, "c.yaml", key="2")))
    obj = _get(kubectl, ns, "configmap", "cfg")
    assert obj["data"] == {"key": "2", "extra": "x"}
    owners = {e["manager"]: e["fieldsV1"] for e in obj["metadata"]["managedFields"]}
    assert owners == {"a": {"f:data": {"f:key": {}}}, "b": {"f:data": {"f:extra": {}}}}


def test_conflict_with_update_manager_names_its_version(kubectl, ns):
    kubectl("create", "deployment", "web", "--image=nginx", "-n", ns)
    manifest = kubectl.write("d.yaml", """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
""")
    failed = kubectl.fails("apply", "--server-side", "-n", ns, "-f", str(manifest))
    assert ('error: Apply failed with 1 conflict: conflict with "kubectl-create" using '
            'apps/v1: .spec.replicas') in failed.stderr


def test_diff_uses_dry_run_apply(kubectl, ns):
    manifest = _configmap(kubectl, "a.yaml", key="1")
    kubectl("apply", "--server-side", "-n", ns, "-f", str(manifest))
    same = kubectl("diff", "--server-side", "-n", ns, "-f", str(manifest))
    assert same.returncode == 0 and same.stdout == ""
    changed = _configmap(kubectl, "b.yaml", key="2")
    diff = kubectl("diff", "--server-side", "-n", ns, "-f", str(changed), check=False)
    assert diff.returncode == 1, str(diff)
    assert '-  key: "1"' in diff.stdout and '+  key: "2"' in diff.stdout
    client = kubectl("diff", "-n", ns, "-f", str(changed), check=False)
    assert client.returncode == 1, str(client)
    assert _get(kubectl, ns, "configmap", "cfg")["data"] == {"key": "1"}


def test_show_managed_fields(kubectl, ns):
    kubectl("create", "configmap", "cfg", "--from-literal=key=1", "-n", ns)
    plain = kubectl("get", "configmap", "cfg", "-n", ns, "-o", "yaml").stdout
    assert "managedFields" not in plain
    shown = kubectl("get", "configmap", "cfg", "-n", ns, "-o", "yaml",
                    "--show-managed-fields").stdout
    assert "manager: kubectl-create" in shown and "operation: Update" in shown
    assert "f:key: {}" in shown


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {labels}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: app}}
  template:
    metadata:
      labels: {{app: app}}
    spec:
      containers:
{containers}
"""


def _container(name: str, env: dict, ports: list[int]) -> str:
    lines = [f"      - name: {name}", "        image: nginx"]
    if env:
        lines.append("        env:")
        lines += [f"        - {{name: {k}, value: \"{v}\"}}" for k, v in env.items()]
    if ports:
        lines.append("        ports:")
        lines += [f"        - containerPort: {p}" for p in ports]
    return "\n".join(lines)


def test_client_side_apply_of_changed_manifest(kubectl, ns):
    first = DEPLOYMENT.format(labels="{app: app, tier: web}", containers="\n".join([
        _container("web", {"A": "1", "B": "2"}, [80, 81]), _container("side", {}, [])]))
    kubectl("apply", "-n", ns, "-f", str(kubectl.write("1.yaml", first)))
    second = DEPLOYMENT.format(labels="{app: app, team: x}", containers="\n".join([
        _container("web", {"A": "1", "C": "3"}, [80, 82]), _container("extra", {}, [90])]))
    kubectl("apply", "-n", ns, "-f", str(kubectl.write("2.yaml", second)))
    obj = _get(kubectl, ns, "deployment", "app")
    assert obj["metadata"]["labels"] == {"app": "app", "team": "x"}
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "extra"]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert [p["containerPort"] for p in containers[0]["ports"]] == [80, 82]
    assert [p["containerPort"] for p in containers[1]["ports"]] == [90]
    managers = {(e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"]}
    assert ("kubectl-client-side-apply", "Update") in managers


def test_server_side_apply_of_changed_deployment(kubectl, ns):
    first = DEPLOYMENT.format(labels="{app: app}", containers="\n".join([
        _container("web", {"A": "1", "B": "2"}, [80]), _container("side", {}, [])]))
    kubectl("apply", "--server-side", "-n", ns, "-f", str(kubectl.write("1.yaml", first)))
    second = DEPLOYMENT.format(labels="{app: app}", containers=_container(
        "web", {"A": "1"}, [80, 443]))
    kubectl("apply", "--server-side", "-n", ns, "-f", str(kubectl.write("2.yaml", second)))
    obj = _get(kubectl, ns, "deployment", "app")
    [web] = obj["spec"]["template"]["spec"]["containers"]
    assert web["env"] == [{"name": "A", "value": "1"}]
    assert [p["containerPort"] for p in web["ports"]] == [80, 443]
    assert web["imagePullPolicy"] == "Always"  # defaulted fields stay


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.ssa.example.com
spec:
  group: ssa.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
              tags: {type: array, items: {type: string}}
          status:
            type: object
            properties:
              ready: {type: boolean}
"""

WIDGET = """apiVersion: ssa.example.com/v1
kind: Widget
metadata:
  name: w
spec:
{spec}
"""


def test_custom_resource_apply_and_status_subresource(kubectl, ns):
    kubectl("apply", "-f", str(kubectl.write("crd.yaml", CRD)))
    try:
        kubectl("wait", "--for=condition=Established", "crd/widgets.ssa.example.com",
                "--timeout=20s")
        first = WIDGET.format(spec="  size: 1\n  color: red\n  tags: [a, b]")
        kubectl("apply", "--server-side", "-n", ns, "-f", str(kubectl.write("w1.yaml", first)))
        second = WIDGET.format(spec="  size: 2\n  tags: [c]")
        kubectl("apply", "--server-side", "-n", ns, "-f", str(kubectl.write("w2.yaml", second)))
        status = WIDGET.format(spec="  size: 2") + "status:\n  ready: true\n"
        kubectl("apply", "--server-side", "--subresource=status", "--field-manager=ctl", "-n", ns,
                "-f", str(kubectl.write("w3.yaml", status)))
        obj = _get(kubectl, ns, "widget", "w")
        assert obj["spec"] == {"size": 2, "tags": ["c"]}
        assert obj["status"] == {"ready": True}
        entries = {(e["manager"], e.get("subresource", "")): e["fieldsV1"]
                   for e in obj["metadata"]["managedFields"]}
        assert entries == {("kubectl", ""): {"f:spec": {"f:size": {}, "f:tags": {}}},
                           ("ctl", "status"): {"f:status": {"f:ready": {}}}}
    finally:  # other modules name a kind Widget too: leave no second one behind
        kubectl("delete", "crd", "widgets.ssa.example.com", "--wait=true")


# ---- the HTTP answers, through the official Python client ---------------------------


@pytest.fixture(scope="module")
def api(apiserver):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(apiserver.kubeconfig), client_configuration=cfg)
    with client.ApiClient(cfg) as api_client:
        yield api_client


def _call(api, method: str, path: str, body, content_type: str, **query) -> tuple[int, dict]:
    try:
        resp = api.call_api(path, method, query_params=list(query.items()),
                            header_params={"Content-Type": content_type,
                                           "Accept": "application/json"},
                            body=body, auth_settings=["BearerToken"], _preload_content=False)
    except ApiException as exc:
        return exc.status, json.loads(exc.body)
    return resp[1], json.loads(resp[0].data)


def _apply(api, ns: str, obj: dict, name: str = "cfg", **query) -> tuple[int, dict]:
    return _call(api, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/{name}", obj,
                 "application/apply-patch+yaml", **query)


def _cm(**data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data}


def test_apply_status_codes_and_conflict_body(api, ns):
    assert _apply(api, ns, _cm(k="1"), fieldManager="a")[0] == 201
    assert _apply(api, ns, _cm(k="1"), fieldManager="a")[0] == 200
    code, body = _apply(api, ns, _cm(k="2"), fieldManager="b")
    assert code == 409 and body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "a": .data.k'
    assert body["details"] == {"causes": [{"reason": "FieldManagerConflict",
                                           "message": 'conflict with "a"', "field": ".data.k"}]}
    code, body = _apply(api, ns, _cm(k="2"), fieldManager="b", dryRun="All", force="true")
    assert code == 200 and body["data"] == {"k": "2"}
    code, body = _apply(api, ns, _cm(k="1"), fieldManager="b")
    assert code == 200
    assert {e["manager"] for e in body["metadata"]["managedFields"]} == {"a", "b"}


@pytest.mark.parametrize("obj, query, code, message", [
    (_cm(k="1"), {}, 422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
     'value: is required for apply patch'),
    (_cm(k="1"), {"fieldManager": "x" * 129}, 422, 'PatchOptions.meta.k8s.io "" is invalid: '
     'fieldManager: Too long: may not be more than 128 bytes'),
    ({**_cm(), "kind": "Secret"}, {"fieldManager": "a"}, 400,
     "invalid object type: /v1, Kind=Secret"),
    ({**_cm(), "metadata": {"name": "cfg", "managedFields": []}}, {"fieldManager": "a"}, 400,
     "metadata.managedFields must be nil"),
    ({**_cm(), "metadata": {"name": "other"}}, {"fieldManager": "a"}, 400,
     "the name of the object (other) does not match the name on the URL (cfg)"),
    ({**_cm(), "spec": {}}, {"fieldManager": "a"}, 400,
     "failed to create typed patch object (NS/cfg; /v1, Kind=ConfigMap): .spec: field not "
     "declared in schema"),
])
def test_apply_refusals(api, ns, obj, query, code, message):
    got_code, body = _apply(api, ns, obj, **query)
    assert (got_code, body["message"]) == (code, message.replace("NS", ns))


def test_force_is_only_for_apply(api, ns):
    _apply(api, ns, _cm(k="1"), fieldManager="a")
    code, body = _call(api, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/cfg",
                       {"data": {"k": "2"}}, "application/merge-patch+json", force="true")
    assert code == 422
    assert body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may '
                               'not be specified for non-apply patch')


def test_update_with_empty_managed_fields_clears_them(api, ns):
    _, live = _apply(api, ns, _cm(k="1"), fieldManager="a")
    live["metadata"]["managedFields"] = []
    code, body = _call(api, "PUT", f"/api/v1/namespaces/{ns}/configmaps/cfg", live,
                       "application/json")
    assert code == 200 and "managedFields" not in body["metadata"]


def test_apply_with_wrong_scalar_type_is_refused(kubectl, ns):
    manifest = kubectl.write("d.yaml", DEPLOYMENT.format(labels="{app: app}", containers=_container(
        "web", {}, [])).replace("replicas: 1", 'replicas: "3"'))
    failed = kubectl.fails("apply", "--server-side", "-n", ns, "-f", str(manifest))
    assert (f"failed to create typed patch object ({ns}/app; apps/v1, Kind=Deployment): "
            ".spec.replicas: expected numeric (int or float), got string") in failed.stderr
    assert "NotFound" in kubectl.fails("get", "deployment", "app", "-n", ns).stderr
