"""lightkube (1.0.x) against a started server: a custom resource through
``generic_resource.create_namespaced_resource`` and a built-in kind (ConfigMap) through
lightkube's models — create, get, list (paged, selected), merge / JSON / strategic patches,
server-side apply, replace, status subresource, delete, deletecollection, watch — with the
sync and the async client, authenticated by the admin kubeconfig's client certificates.
"""

from __future__ import annotations

import uuid

import pytest
from lightkube import ApiError, AsyncClient, Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.apiextensions_v1 import (
    CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion,
    CustomResourceSubresources,
    CustomResourceValidation,
    JSONSchemaProps,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import ConfigMap, Namespace
from lightkube.types import PatchType

pytestmark = pytest.mark.e2e

GROUP = "lk.pyk8s.io"
Sprocket = create_namespaced_resource(GROUP, "v1", "Sprocket", "sprockets")


@pytest.fixture(scope="module")
def kubeconfig(apiserver) -> KubeConfig:
    return KubeConfig.from_file(str(apiserver.kubeconfig))


@pytest.fixture(scope="module")
def lk(kubeconfig) -> Client:
    return Client(config=kubeconfig, field_manager="lightkube-e2e")


@pytest.fixture(scope="module")
def crd(lk):
    spec_schema = JSONSchemaProps(type="object", properties={
        "size": JSONSchemaProps(type="integer", minimum=0),
        "color": JSONSchemaProps(type="string"),
        "tags": JSONSchemaProps(type="array", items=JSONSchemaProps(type="string")),
    })
    crd = CustomResourceDefinition(
        metadata=ObjectMeta(name=f"sprockets.{GROUP}"),
        spec=CustomResourceDefinitionSpec(
            group=GROUP, scope="Namespaced",
            names=CustomResourceDefinitionNames(plural="sprockets", singular="sprocket", kind="Sprocket"),
            versions=[CustomResourceDefinitionVersion(
                name="v1", served=True, storage=True,
                subresources=CustomResourceSubresources(status={}),
                schema=CustomResourceValidation(openAPIV3Schema=JSONSchemaProps(
                    type="object", properties={
                        "spec": spec_schema,
                        "status": JSONSchemaProps(type="object",
                                                  x_kubernetes_preserve_unknown_fields=True),
                    })),
            )]))
    try:
        lk.create(crd)
    except ApiError as e:
        if e.status.code != 409:
            raise
    got = lk.wait(CustomResourceDefinition, crd.metadata.name, for_conditions=["Established"])
    assert got.spec.names.kind == "Sprocket"
    yield got
    lk.delete(CustomResourceDefinition, crd.metadata.name)  # other modules' kubectl sees none


@pytest.fixture
def ns(lk):
    name = f"lk-{uuid.uuid4().hex[:8]}"
    lk.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    lk.delete(Namespace, name)


def sprocket(name: str, **spec) -> Sprocket:
    return Sprocket(metadata=ObjectMeta(name=name), spec=spec)


def test_custom_resource_crud(lk, crd, ns):
    created = lk.create(sprocket("g1", size=1, color="red"), namespace=ns)
    assert isinstance(created, Sprocket)
    assert created.metadata.namespace == ns and created.metadata.uid
    assert created.spec == {"size": 1, "color": "red"}
    assert created.apiVersion == f"{GROUP}/v1" and created.kind == "Sprocket"

    got = lk.get(Sprocket, "g1", namespace=ns)
    assert got.metadata.resourceVersion == created.metadata.resourceVersion
    assert got.spec["color"] == "red"

    lk.create(sprocket("g2", size=2), namespace=ns)
    g3 = sprocket("g3", size=3)
    g3.metadata.labels = {"tier": "gold"}
    lk.create(g3, namespace=ns)
    assert sorted(g.metadata.name for g in lk.list(Sprocket, namespace=ns)) == ["g1", "g2", "g3"]
    # paged: lightkube follows metadata.continue across chunks
    assert [g.metadata.name for g in lk.list(Sprocket, namespace=ns, chunk_size=1)] == \
        ["g1", "g2", "g3"]
    assert [g.metadata.name for g in lk.list(Sprocket, namespace=ns, labels={"tier": "gold"})] == ["g3"]
    assert [g.metadata.name for g in lk.list(Sprocket, namespace=ns,
                                             fields={"metadata.name": "g2"})] == ["g2"]
    # across all namespaces
    assert {(g.metadata.namespace, g.metadata.name) for g in lk.list(Sprocket, namespace="*")} >= \
        {(ns, "g1"), (ns, "g2"), (ns, "g3")}

    # merge patch (null deletes), JSON patch
    patched = lk.patch(Sprocket, "g1", {"spec": {"color": None, "tags": ["a"]}}, namespace=ns,
                       patch_type=PatchType.MERGE)
    assert patched.spec == {"size": 1, "tags": ["a"]}
    assert patched.metadata.generation == 2
    patched = lk.patch(Sprocket, "g1", [{"op": "add", "path": "/spec/tags/-", "value": "b"}],
                       namespace=ns, patch_type=PatchType.JSON)
    assert patched.spec["tags"] == ["a", "b"]
    # custom resources have no strategic merge patch: 415 like upstream
    with pytest.raises(ApiError) as err:
        lk.patch(Sprocket, "g1", {"spec": {"size": 5}}, namespace=ns)
    assert err.value.status.code == 415

    # replace with the current resourceVersion; a stale one is a 409 Conflict
    current = lk.get(Sprocket, "g1", namespace=ns)
    stale_rv = current.metadata.resourceVersion
    current.spec["size"] = 10
    replaced = lk.replace(current, namespace=ns)
    assert replaced.spec["size"] == 10
    assert int(replaced.metadata.resourceVersion) > int(stale_rv)
    current.metadata.resourceVersion = stale_rv
    with pytest.raises(ApiError) as err:
        lk.replace(current, namespace=ns)
    assert err.value.status.code == 409 and err.value.status.reason == "Conflict"

    # status subresource: status writes go through /status, spec writes there are ignored
    st = lk.patch(Sprocket.Status, "g1", {"status": {"ready": True}, "spec": {"size": 99}},
                  namespace=ns, patch_type=PatchType.MERGE)
    assert st.status == {"ready": True} and st.spec["size"] == 10
    # ... and status in a main-resource write is ignored
    body = lk.get(Sprocket, "g1", namespace=ns)
    body["status"] = {"ready": False}
    assert lk.replace(body).status == {"ready": True}

    # delete, then 404
    lk.delete(Sprocket, "g2", namespace=ns)
    with pytest.raises(ApiError) as err:
        lk.get(Sprocket, "g2", namespace=ns)
    assert err.value.status.code == 404 and err.value.status.reason == "NotFound"
    with pytest.raises(ApiError) as err:
        lk.delete(Sprocket, "g2", namespace=ns)
    assert err.value.status.code == 404

    # dry-run create persists nothing
    lk.create(sprocket("dry", size=1), namespace=ns, dry_run=True)
    with pytest.raises(ApiError):
        lk.get(Sprocket, "dry", namespace=ns)

    lk.deletecollection(Sprocket, namespace=ns)
    assert list(lk.list(Sprocket, namespace=ns)) == []


def test_custom_resource_server_side_apply(lk, crd, ns):
    # apply creates ...
    applied = lk.apply(sprocket("a1", size=1, color="red"), namespace=ns, field_manager="alice")
    assert applied.spec == {"size": 1, "color": "red"}
    managers = {m.manager: m for m in applied.metadata.managedFields}
    assert managers["alice"].operation == "Apply"
    assert managers["alice"].fieldsV1 == {"f:spec": {"f:size": {}, "f:color": {}}}

    # ... and a second manager owning a different field merges, both own their fields
    applied = lk.apply(Sprocket(metadata=ObjectMeta(name="a1", namespace=ns),
                              spec={"tags": ["x"]}), field_manager="bob")
    assert applied.spec == {"size": 1, "color": "red", "tags": ["x"]}
    assert {m.manager for m in applied.metadata.managedFields} == {"alice", "bob"}

    # a conflicting value from another manager is a 409 with the conflict's cause ...
    with pytest.raises(ApiError) as err:
        lk.apply(sprocket("a1", color="blue"), namespace=ns, field_manager="bob")
    assert err.value.status.code == 409
    assert [c.field for c in err.value.status.details.causes] == [".spec.color"]
    assert "alice" in err.value.status.details.causes[0].message
    # ... unless forced, which takes the field over
    applied = lk.apply(sprocket("a1", color="blue", tags=["x"]), namespace=ns,
                       field_manager="bob", force=True)
    assert applied.spec["color"] == "blue"
    owned = {m.manager: m.fieldsV1 for m in applied.metadata.managedFields}
    assert owned["alice"] == {"f:spec": {"f:size": {}}}
    assert owned["bob"] == {"f:spec": {"f:color": {}, "f:tags": {}}}

    # dropping a field from one's applied configuration removes it
    applied = lk.apply(sprocket("a1", size=1), namespace=ns, field_manager="alice")
    assert applied.spec == {"color": "blue", "tags": ["x"], "size": 1}
    applied = lk.apply(sprocket("a1", color="blue"), namespace=ns, field_manager="bob")
    assert applied.spec == {"color": "blue", "size": 1}

    # apply on the status subresource
    st = lk.apply(Sprocket.Status(metadata=ObjectMeta(name="a1", namespace=ns),
                                status={"phase": "Ready"}), field_manager="ctrl")
    assert st.status == {"phase": "Ready"}


def test_custom_resource_watch(lk, crd, ns):
    start = lk.create(sprocket("w1", size=1), namespace=ns).metadata.resourceVersion
    lk.patch(Sprocket, "w1", {"spec": {"size": 2}}, namespace=ns, patch_type=PatchType.MERGE)
    lk.create(sprocket("w2", size=1), namespace=ns)
    lk.delete(Sprocket, "w1", namespace=ns)

    seen = []
    for kind, obj in lk.watch(Sprocket, namespace=ns, resource_version=start, server_timeout=30):
        assert isinstance(obj, Sprocket)
        seen.append((kind, obj.metadata.name, obj.spec["size"]))
        if kind == "DELETED":
            break
    assert seen == [("MODIFIED", "w1", 2), ("ADDED", "w2", 1), ("DELETED", "w1", 2)]

    # a watch from "now" (no resourceVersion) starts with the existing objects as ADDED
    for kind, obj in lk.watch(Sprocket, namespace=ns, labels={}, server_timeout=30):
        assert (kind, obj.metadata.name) == ("ADDED", "w2")
        break


def test_configmap_crud_with_models(lk, ns):
    cm = ConfigMap(metadata=ObjectMeta(name="cm1", labels={"app": "demo"}), data={"a": "1"})
    created = lk.create(cm, namespace=ns)
    assert isinstance(created, ConfigMap)
    assert created.data == {"a": "1"} and created.metadata.uid
    assert lk.get(ConfigMap, "cm1", namespace=ns).data == {"a": "1"}
    lk.create(ConfigMap(metadata=ObjectMeta(name="cm2"), data={"b": "2"}), namespace=ns)
    assert [c.metadata.name for c in lk.list(ConfigMap, namespace=ns, labels={"app": "demo"})] \
        == ["cm1"]
    assert [c.metadata.name for c in lk.list(ConfigMap, namespace=ns, chunk_size=1)
            if c.metadata.name.startswith("cm")] == ["cm1", "cm2"]

    # strategic merge patch (lightkube's default), merge patch, JSON patch
    assert lk.patch(ConfigMap, "cm1", {"data": {"b": "2"}}, namespace=ns).data == \
        {"a": "1", "b": "2"}
    assert lk.patch(ConfigMap, "cm1", {"data": {"a": None}}, namespace=ns,
                    patch_type=PatchType.MERGE).data == {"b": "2"}
    assert lk.patch(ConfigMap, "cm1", [{"op": "replace", "path": "/data/b", "value": "3"}],
                    namespace=ns, patch_type=PatchType.JSON).data == {"b": "3"}
    # a failing JSON patch test op is 422 Invalid-ish like upstream (not a 500)
    with pytest.raises(ApiError) as err:
        lk.patch(ConfigMap, "cm1", [{"op": "test", "path": "/data/b", "value": "nope"}],
                 namespace=ns, patch_type=PatchType.JSON)
    assert err.value.status.code == 422

    # server-side apply with lightkube's model
    applied = lk.apply(ConfigMap(metadata=ObjectMeta(name="cm3", namespace=ns),
                                 data={"k": "v"}), field_manager="applier")
    assert applied.data == {"k": "v"}
    assert [(m.manager, m.operation) for m in applied.metadata.managedFields] == \
        [("applier", "Apply")]

    # replace, and validation errors come back as 422 Status with causes
    current = lk.get(ConfigMap, "cm1", namespace=ns)
    current.data = {"c": "4"}
    assert lk.replace(current).data == {"c": "4"}
    with pytest.raises(ApiError) as err:
        lk.create(ConfigMap(metadata=ObjectMeta(name="Bad_Name"), data={}), namespace=ns)
    assert err.value.status.code == 422 and err.value.status.reason == "Invalid"
    assert err.value.status.details.causes[0].field == "metadata.name"

    lk.delete(ConfigMap, "cm1", namespace=ns)
    with pytest.raises(ApiError) as err:
        lk.get(ConfigMap, "cm1", namespace=ns)
    assert err.value.status.code == 404

    # watch the built-in kind from a resourceVersion
    start = lk.get(ConfigMap, "cm2", namespace=ns).metadata.resourceVersion
    lk.patch(ConfigMap, "cm2", {"data": {"b": "5"}}, namespace=ns)
    lk.delete(ConfigMap, "cm2", namespace=ns)
    events = []
    for kind, obj in lk.watch(ConfigMap, namespace=ns, resource_version=start,
                              fields={"metadata.name": "cm2"}):
        events.append((kind, obj.data))
        if kind == "DELETED":
            break
    assert events == [("MODIFIED", {"b": "5"}), ("DELETED", {"b": "5"})]


async def test_async_client(kubeconfig, crd, ns):
    alk = AsyncClient(config=kubeconfig, field_manager="lightkube-async")
    try:
        created = await alk.create(sprocket("as1", size=1), namespace=ns)
        got = await alk.get(Sprocket, "as1", namespace=ns)
        assert got.metadata.uid == created.metadata.uid
        names = [g.metadata.name async for g in alk.list(Sprocket, namespace=ns)]
        assert names == ["as1"]
        await alk.patch(Sprocket, "as1", {"spec": {"size": 2}}, namespace=ns,
                        patch_type=PatchType.MERGE)
        applied = await alk.apply(sprocket("as2", size=3), namespace=ns)
        assert applied.spec == {"size": 3}
        seen = []
        async for kind, obj in alk.watch(Sprocket, namespace=ns,
                                         resource_version=created.metadata.resourceVersion):
            seen.append((kind, obj.metadata.name, obj.spec["size"]))
            if len(seen) == 2:
                break
        assert seen == [("MODIFIED", "as1", 2), ("ADDED", "as2", 3)]
        await alk.delete(Sprocket, "as1", namespace=ns)
    finally:
        await alk.close()
