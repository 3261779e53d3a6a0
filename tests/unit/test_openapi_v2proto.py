"""/openapi/v2 as gnostic protobuf: decoded here with a minimal wire reader and checked
against the JSON document and the field numbers of gnostic's OpenAPIv2.proto."""

from __future__ import annotations

import struct

import orjson
import pytest
import yaml

from pyk8s.apiserver import openapi
from pyk8s.apiserver.app import _wants_v2_protobuf
from pyk8s.apiserver.openapi.v2proto import encode_document, v2_protobuf
from pyk8s.apiserver.registry import Registry, ResourceType
from pyk8s.apiserver.resources import builtin_registry

Fields = dict[int, list]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def decode(data: bytes) -> Fields:
    """field number -> values in order: ints (varint), floats (64-bit), bytes (length)."""
    out: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value = struct.unpack("<d", data[pos:pos + 8])[0]
            pos += 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value = data[pos:pos + size]
            pos += size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.setdefault(field, []).append(value)
    assert pos == len(data)
    return out


def text(fields: Fields, number: int) -> str:
    (value,) = fields[number]
    return value.decode()


def named(fields: Fields, number: int) -> dict[str, bytes]:
    """A repeated Named<X> field (name 1, value 2) as a dict of raw values."""
    out = {}
    for entry in fields.get(number, []):
        item = decode(entry)
        out[text(item, 1)] = item.get(2, [b""])[0]
    return out


def extensions(fields: Fields, number: int) -> dict:
    """Vendor extensions (NamedAny), each Any.yaml (field 2) parsed as YAML."""
    return {name: yaml.safe_load(text(decode(raw), 2))
            for name, raw in named(fields, number).items()}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return builtin_registry()


@pytest.fixture(scope="module")
def document(registry) -> Fields:
    return decode(v2_protobuf(registry))


@pytest.fixture(scope="module")
def swagger(registry) -> dict:
    return orjson.loads(openapi.v2_document(registry))


def test_document_header(document):
    assert text(document, 1) == "2.0"
    info = decode(document[2][0])
    assert text(info, 1) == "Kubernetes"
    assert text(info, 2) == openapi.KUBERNETES_VERSION
    (requirement,) = document[12]
    assert named(decode(requirement), 1) == {"BearerToken": b""}
    schemes = named(decode(document[13][0]), 1)
    api_key = decode(decode(schemes["BearerToken"])[2][0])  # ApiKeySecurity
    assert (text(api_key, 1), text(api_key, 2), text(api_key, 3)) == (
        "apiKey", "authorization", "header")


def test_definitions_match_json(document, swagger):
    models = named(decode(document[9][0]), 1)
    assert list(models) == list(swagger["definitions"])
    assert len(models) == len(swagger["definitions"]) > 300


def test_configmap_schema(document):
    models = named(decode(document[9][0]), 1)
    schema = decode(models["io.k8s.api.core.v1.ConfigMap"])
    assert text(schema, 4).startswith("ConfigMap holds configuration data")
    assert decode(schema[22][0]) == {1: [b"object"]}  # TypeItem
    assert extensions(schema, 31)["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "ConfigMap", "version": "v1"}]
    props = named(decode(schema[25][0]), 1)
    assert {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"} <= set(props)
    metadata = decode(props["metadata"])
    assert text(metadata, 1) == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert 22 not in metadata  # a reference carries no type (kube-openapi rejects that)
    data = decode(props["data"])
    value = decode(decode(data[21][0])[1][0])  # AdditionalPropertiesItem.schema
    assert decode(value[22][0]) == {1: [b"string"]}
    assert decode(decode(props["immutable"])[22][0]) == {1: [b"boolean"]}


def test_list_schema_items_and_extensions(document):
    models = named(decode(document[9][0]), 1)
    pod_spec = named(decode(decode(models["io.k8s.api.core.v1.PodSpec"])[25][0]), 1)
    containers = decode(pod_spec["containers"])
    assert decode(containers[22][0]) == {1: [b"array"]}
    (item,) = decode(containers[23][0])[1]  # ItemsItem: exactly one schema
    assert text(decode(item), 1) == "#/definitions/io.k8s.api.core.v1.Container"
    ext = extensions(containers, 31)
    assert ext["x-kubernetes-patch-merge-key"] == "name"
    assert ext["x-kubernetes-patch-strategy"] == "merge"


def test_paths_operations_and_parameters(document):
    paths = named(decode(document[8][0]), 2)
    item = decode(paths["/api/v1/namespaces/{namespace}/configmaps"])
    path_params = [decode(p) for p in item[9]]
    namespace = decode(decode(decode(path_params[0][1][0])[2][0])[4][0])  # path sub-schema
    assert (text(namespace, 4), text(namespace, 2), namespace[1]) == (
        "namespace", "path", [1])
    get = decode(item[2][0])
    assert text(get, 5) == "listCoreV1NamespacedConfigMap"
    assert extensions(get, 13)["x-kubernetes-group-version-kind"] == {
        "group": "", "kind": "ConfigMap", "version": "v1"}
    query_names = {text(decode(decode(decode(decode(p)[1][0])[2][0])[3][0]), 4)
                   for p in get.get(8, [])}
    assert {"labelSelector", "watch", "limit"} <= query_names
    post = decode(item[4][0])
    body = decode(decode(decode(post[8][0])[1][0])[1][0])  # BodyParameter
    assert (text(body, 2), text(body, 3), body[4]) == ("body", "body", [1])
    assert text(decode(body[5][0]), 1) == "#/definitions/io.k8s.api.core.v1.ConfigMap"
    responses = named(decode(post[9][0]), 1)
    created = decode(decode(responses["201"])[1][0])  # ResponseValue.response
    assert text(created, 1) == "Created"
    assert text(decode(decode(created[2][0])[1][0]), 1) == (
        "#/definitions/io.k8s.api.core.v1.ConfigMap")


def test_scalars_and_oneofs():
    doc = {"swagger": "2.0", "definitions": {"X": {
        "type": "object", "additionalProperties": False, "minimum": -1, "maxLength": 3,
        "multipleOf": 0.5, "enum": ["a", 1], "x-flag": True, "properties": {}}}}
    schema = decode(named(decode(decode(encode_document(doc))[9][0]), 1)["X"])
    assert schema[21] == [b"\x10\x00"]  # AdditionalPropertiesItem.boolean = false, present
    assert schema[9] == [-1.0] and schema[11] == [3] and schema[6] == [0.5]
    assert [yaml.safe_load(text(decode(v), 2)) for v in schema[20]] == ["a", 1]
    assert extensions(schema, 31) == {"x-flag": True}
    assert schema[25] == [b""]  # empty properties stay present: kube-openapi sees a Kind
    negative = encode_document({"definitions": {"Y": {"maxItems": -2}}})
    value = decode(named(decode(decode(negative)[9][0]), 1)["Y"])[14][0]
    assert value == (1 << 64) - 2  # int64 two's complement


def test_cached_and_invalidated_with_definitions():
    reg = builtin_registry()
    reg.add(ResourceType("proto.example.com", "v1", "Widget", "widgets", True,
                         "proto.example.com/widgets"))
    before = v2_protobuf(reg)
    assert v2_protobuf(reg) is before
    openapi.register_definition("proto.example.com", "v1", "Widget",
                                "com.example.proto.v1.Widget",
                                {"type": "object", "properties": {"size": {"type": "integer"}}})
    try:
        after = v2_protobuf(reg)
        assert after != before
        assert "com.example.proto.v1.Widget" in named(decode(decode(after)[9][0]), 1)
    finally:
        openapi.unregister_definition("proto.example.com", "v1", "Widget")
    assert v2_protobuf(reg) == before


@pytest.mark.parametrize("accept, protobuf", [
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", True),
    ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf", True),
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf; q=0.9, */*", True),
    ("application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", False),
    ("application/json", False),
    ("*/*", False),
    ("", False),
])
def test_accept_negotiation(accept, protobuf):
    assert _wants_v2_protobuf(accept) is protobuf
