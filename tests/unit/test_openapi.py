"""The /openapi documents: what kubectl reads from them, checked against upstream's shapes."""

from __future__ import annotations

import hashlib
import time

import orjson
import pytest

from pyk8s.apiserver import openapi
from pyk8s.apiserver.openapi import definitions, documents
from pyk8s.apiserver.registry import Registry, ResourceType
from pyk8s.apiserver.resources import BUILTINS, builtin_registry

V3 = "#/components/schemas/"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return builtin_registry()


def _doc(registry: Registry, group: str, version: str) -> dict:
    data = openapi.v3_document(registry, group, version)
    assert data is not None
    return orjson.loads(data)


def _refs(node: object, out: list[str]) -> list[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):  # JSONSchemaProps has a "$ref" field
                out.append(value)
            else:
                _refs(value, out)
    elif isinstance(node, list):
        for item in node:
            _refs(item, out)
    return out


def _types(node: object, out: list[object]) -> list[object]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "type" and not isinstance(value, dict):
                out.append(value)
            elif key == "properties":
                for sub in value.values():
                    _types(sub, out)
            elif key not in ("x-kubernetes-unions", "enum", "required"):
                _types(value, out)
    elif isinstance(node, list):
        for item in node:
            _types(item, out)
    return out


# -- every served kind has its schema ---------------------------------------------------------

@pytest.mark.parametrize("row", BUILTINS, ids=lambda r: f"{r[0] or 'core'}/{r[2]}")
def test_every_builtin_resource_has_a_schema(row):
    group, version, kind, _plural, *_rest, verbs = row
    assert definitions.name_for(group, version, kind), kind
    if "list" in verbs:
        assert definitions.name_for(group, version, kind + "List"), kind + "List"


# -- index -----------------------------------------------------------------------------------

def test_index_lists_every_group_version_with_content_hash(registry):
    index = openapi.v3_index(registry)
    paths = index["paths"]
    expected = {"api", "apis", "version", "api/v1"}
    for group, versions in registry.group_versions().items():
        if group:
            expected.add(f"apis/{group}")
            expected.update(f"apis/{group}/{v}" for v in versions)
    assert set(paths) == expected
    for path, entry in paths.items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{path}?hash=")
        data = openapi.v3_document_for_path(registry, path)
        assert url.endswith("=" + hashlib.sha512(data).hexdigest().upper())


@pytest.mark.parametrize("path", ["apis/nope/v1", "api/v2", "apis/", "logs", "apis/apps/v1/x"])
def test_unknown_document_paths(registry, path):
    assert openapi.v3_document_for_path(registry, path) is None


# -- every document: valid JSON, self-contained refs, OpenAPI 3 forms ------------------------

def test_documents_are_self_contained(registry):
    for path in openapi.index_paths(registry):
        doc = orjson.loads(openapi.v3_document_for_path(registry, path))
        assert doc["openapi"] == "3.0.0"
        assert doc["info"] == {"title": "Kubernetes", "version": openapi.KUBERNETES_VERSION}
        schemas = doc["components"]["schemas"]
        for ref in _refs(doc, []):
            assert ref.startswith(V3), (path, ref)
            assert ref[len(V3):] in schemas, (path, ref)
        assert all(isinstance(t, str) for t in _types(schemas, [])), path


@pytest.mark.parametrize("row", [r for r in BUILTINS if "patch" in r[-1]],
                         ids=lambda r: f"{r[0] or 'core'}/{r[2]}")
def test_query_param_verifier_finds_field_validation(registry, row):
    """cli-runtime's verifier: every PATCH for the GVK must list fieldValidation
    (kinds without a patch verb, such as Binding, have no PATCH to find)."""
    group, version, kind, *_rest, verbs = row
    doc = _doc(registry, group, version)
    gvk = {"group": group, "version": version, "kind": kind}
    patches = [item["patch"] for item in doc["paths"].values() if "patch" in item
               and item["patch"]["x-kubernetes-group-version-kind"] == gvk]
    assert patches
    for op in patches:
        assert "fieldValidation" in [p["name"] for p in op["parameters"]]


@pytest.mark.parametrize("row", BUILTINS, ids=lambda r: f"{r[0] or 'core'}/{r[2]}")
def test_explain_finds_gvk_and_schema(registry, row):
    """kubectl explain's template: GVK from the resource's paths, schema by GVK."""
    group, version, kind, plural, namespaced = row[:5]
    doc = _doc(registry, group, version)
    base = "/api/" + version if not group else f"/apis/{group}/{version}"
    candidates = [f"{base}/{plural}", f"{base}/{plural}/{{name}}",
                  f"{base}/namespaces/{{namespace}}/{plural}",
                  f"{base}/namespaces/{{namespace}}/{plural}/{{name}}"]
    found = None
    for path in candidates:
        for method in ("get", "post", "put", "patch", "delete"):
            op = doc["paths"].get(path, {}).get(method)
            if op and "x-kubernetes-group-version-kind" in op:
                found = op["x-kubernetes-group-version-kind"]
                break
        if found:
            break
    assert found == {"group": group, "version": version, "kind": kind}
    holders = [name for name, schema in doc["components"]["schemas"].items()
               if found in schema.get("x-kubernetes-group-version-kind", [])]
    assert holders


# -- schema shapes as upstream serves them ---------------------------------------------------

def test_schema_shapes(registry):
    schemas = _doc(registry, "", "v1")["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["type"] == "object"
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["apiVersion"] == {
        "description": pod["properties"]["apiVersion"]["description"], "type": "string"}
    spec = pod["properties"]["spec"]
    assert spec["allOf"] == [{"$ref": V3 + "io.k8s.api.core.v1.PodSpec"}]
    assert spec["description"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"allOf": [{"$ref": V3 + "io.k8s.api.core.v1.Container"}],
                                   "default": {}}
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert "containers" in schemas["io.k8s.api.core.v1.PodSpec"]["required"]
    limits = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {
        "$ref": V3 + "io.k8s.apimachinery.pkg.api.resource.Quantity"}
    node_selector = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["nodeSelector"]
    assert node_selector["x-kubernetes-map-type"] == "atomic"
    assert node_selector["additionalProperties"] == {"type": "string"}
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"] == [
        {"type": "integer"}, {"type": "string"}]
    assert schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [
        {"type": "string"}, {"type": "number"}]
    time_ = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]
    assert (time_["type"], time_["format"]) == ("string", "date-time")
    assert "enum" not in schemas["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"][
        "properties"]["kind"]


@pytest.mark.parametrize("path,method,operation_id,action,params", [
    ("/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list",
     {"watch", "labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
      "resourceVersionMatch", "timeoutSeconds", "allowWatchBookmarks", "sendInitialEvents"}),
    ("/api/v1/namespaces/{namespace}/pods", "post", "createCoreV1NamespacedPod", "post",
     {"dryRun", "fieldManager", "fieldValidation"}),
    ("/api/v1/namespaces/{namespace}/pods", "delete", "deleteCoreV1CollectionNamespacedPod",
     "deletecollection", None),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "get", "readCoreV1NamespacedPod", "get",
     set()),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "put", "replaceCoreV1NamespacedPod", "put",
     {"dryRun", "fieldManager", "fieldValidation"}),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "patch", "patchCoreV1NamespacedPod", "patch",
     {"dryRun", "fieldManager", "fieldValidation", "force"}),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "delete", "deleteCoreV1NamespacedPod",
     "delete", {"dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy",
                "ignoreStoreReadErrorWithClusterBreakingPotential"}),
    ("/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list", set()),
    ("/api/v1/namespaces/{namespace}/pods/{name}/status", "patch",
     "patchCoreV1NamespacedPodStatus", "patch", {"dryRun", "fieldManager", "fieldValidation",
                                                 "force"}),
    ("/api/v1/namespaces/{namespace}/pods/{name}/binding", "post",
     "createCoreV1NamespacedPodBinding", "post", {"dryRun", "fieldManager", "fieldValidation"}),
    ("/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post",
     "createCoreV1NamespacedPodEviction", "post", {"dryRun", "fieldManager", "fieldValidation"}),
    ("/api/v1/namespaces/{namespace}/bindings", "post", "createCoreV1NamespacedBinding", "post",
     {"dryRun", "fieldManager", "fieldValidation"}),
    ("/api/v1/namespaces/{name}/finalize", "put", "replaceCoreV1NamespaceFinalize", "put",
     {"dryRun", "fieldManager", "fieldValidation"}),
    ("/api/v1/nodes", "get", "listCoreV1Node", "list", None),
    ("/api/v1/", "get", "getCoreV1APIResources", None, set()),
])
def test_core_operations(registry, path, method, operation_id, action, params):
    doc = _doc(registry, "", "v1")
    op = doc["paths"][path][method]
    assert op["operationId"] == operation_id
    assert op.get("x-kubernetes-action") == action
    if params is not None:
        assert {p["name"] for p in op.get("parameters", [])} == params


@pytest.mark.parametrize("group,path,method,operation_id,gvk", [
    ("apps", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "patch",
     "patchAppsV1NamespacedDeploymentScale", {"group": "autoscaling", "kind": "Scale",
                                              "version": "v1"}),
    ("apps", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status", "get",
     "readAppsV1NamespacedDeploymentStatus", {"group": "apps", "kind": "Deployment",
                                              "version": "v1"}),
    ("rbac.authorization.k8s.io", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "delete",
     "deleteRbacAuthorizationV1CollectionClusterRole", {"group": "rbac.authorization.k8s.io",
                                                        "kind": "ClusterRole", "version": "v1"}),
    ("certificates.k8s.io",
     "/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}/approval", "put",
     "replaceCertificatesV1CertificateSigningRequestApproval",
     {"group": "certificates.k8s.io", "kind": "CertificateSigningRequest", "version": "v1"}),
])
def test_group_operations(registry, group, path, method, operation_id, gvk):
    op = _doc(registry, group, "v1")["paths"][path][method]
    assert op["operationId"] == operation_id
    assert op["x-kubernetes-group-version-kind"] == gvk


def test_request_and_response_bodies(registry):
    paths = _doc(registry, "apps", "v1")["paths"]
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    assert item["parameters"][0]["in"] == "path" and item["parameters"][0]["required"]
    patch = item["patch"]
    assert set(patch["requestBody"]["content"]) == {
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json"}
    assert patch["requestBody"]["content"]["application/merge-patch+json"]["schema"] == {
        "$ref": V3 + "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}
    assert set(patch["responses"]) == {"200", "201", "401"}
    put = item["put"]
    assert put["requestBody"]["content"]["*/*"]["schema"]["$ref"] == (
        V3 + "io.k8s.api.apps.v1.Deployment")
    listing = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]["get"]
    assert listing["responses"]["200"]["content"]["application/json;stream=watch"][
        "schema"]["$ref"] == V3 + "io.k8s.api.apps.v1.DeploymentList"
    deletecollection = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]["delete"]
    assert deletecollection["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"] == V3 + "io.k8s.apimachinery.pkg.apis.meta.v1.Status"


# -- caching and extras ----------------------------------------------------------------------

def test_documents_are_cached_and_stable(registry):
    first = openapi.v3_document(registry, "apps", "v1")
    assert openapi.v3_document(registry, "apps", "v1") is first
    documents._cache.clear()
    again = openapi.v3_document(registry, "apps", "v1")
    assert again == first and again is not first
    assert openapi.v3_document(builtin_registry(), "apps", "v1") is again


def test_registry_change_changes_only_that_document(registry):
    before = openapi.v3_index(registry)["paths"]
    changed = builtin_registry()
    rt = changed.get("apps", "v1", "deployments")
    changed.remove(rt)
    after = openapi.v3_index(changed)["paths"]
    assert after["apis/apps/v1"] != before["apis/apps/v1"]
    assert after["api/v1"] == before["api/v1"]
    doc = _doc(changed, "apps", "v1")
    assert not any("deployments" in p for p in doc["paths"])


CRONTAB = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
        "spec": {"type": "object", "properties": {"cronSpec": {"type": "string"},
                                                  "replicas": {"type": "integer"}}},
    },
}


def test_extra_definitions_join_documents():
    reg = builtin_registry()
    reg.add(ResourceType("stable.example.com", "v1", "CronTab", "crontabs", True,
                         "stable.example.com/crontabs"))
    generation = definitions.generation()
    openapi.register_definition("stable.example.com", "v1", "CronTab",
                                "com.example.stable.v1.CronTab", CRONTAB)
    try:
        assert definitions.generation() != generation
        doc = _doc(reg, "stable.example.com", "v1")
        schema = doc["components"]["schemas"]["com.example.stable.v1.CronTab"]
        assert schema["x-kubernetes-group-version-kind"] == [
            {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]
        assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
        patch = doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"][
            "patch"]
        assert patch["operationId"] == "patchStableExampleComV1NamespacedCronTab"
        assert "apis/stable.example.com/v1" in openapi.v3_index(reg)["paths"]
    finally:
        openapi.unregister_definition("stable.example.com", "v1", "CronTab")
    assert definitions.name_for("stable.example.com", "v1", "CronTab") is None


# -- Swagger 2 -------------------------------------------------------------------------------

def test_v2_document(registry):
    doc = orjson.loads(openapi.v2_document(registry))
    assert doc["swagger"] == "2.0"
    for ref in _refs(doc, []):
        assert ref.startswith("#/definitions/")
        assert ref[len("#/definitions/"):] in doc["definitions"], ref
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    names = [p["name"] for p in patch["parameters"]]
    assert names[0] == "body" and "fieldValidation" in names
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment",
                                                        "version": "v1"}
    spec = doc["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["spec"]
    assert spec["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec" and spec["description"]
    assert doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {
        "description": doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"][
            "description"], "format": "int-or-string", "type": "string"}


def test_building_everything_is_fast():
    reg = builtin_registry()
    documents._cache.clear()
    definitions._v3_cache.clear()
    definitions._v2_cache.clear()
    start = time.perf_counter()
    openapi.v3_index(reg)
    openapi.v2_document(reg)
    assert time.perf_counter() - start < 1.5
