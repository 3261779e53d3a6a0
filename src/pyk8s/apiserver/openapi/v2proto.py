"""The Swagger 2.0 document as the gnostic ``openapi.v2.Document`` protobuf message.

Why this exists: when kubectl cannot use server-side field validation for an
object (``kubectl create/apply -f`` of a ``kind: List``, whose GVK v1/List is not a
served kind, or ``--validate=strict`` against an object without ``fieldValidation``
support), it validates client-side against ``GET /openapi/v2`` fetched *only* as
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and decoded into
gnostic's ``openapi_v2.Document`` (kube-openapi ``proto.NewOpenAPIData``). Without
this encoding that step fails with "the server was unable to respond with a content
type that the client supports".

The message is built from the very JSON document :func:`.documents.v2_document`
serves, so both forms always say the same thing. Encoding is table driven: each
gnostic message is a :class:`_Message` listing ``(json key, field number, codec)``
using the field numbers of gnostic's ``openapiv2/OpenAPIv2.proto``; ``x-*`` keys
become ``NamedAny`` vendor extensions whose ``Any.yaml`` holds the value as JSON
(a subset of YAML, which is how kube-openapi reads it back). Fields are written in
field-number order, so equal documents give equal bytes. Only the wire types
protobuf needs here are produced: varint, 64-bit (doubles) and length-delimited.

The result is cached keyed by the JSON document's hash; that document's own cache
is keyed by the registry fingerprint and the definition generation, so a change in
either yields new JSON, a new hash and a re-encoded message.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from ..registry import Registry
from .documents import v2_document_and_hash

_CACHE_SIZE = 8
_cache: OrderedDict[str, bytes] = OrderedDict()

Codec = Callable[[int, Any], bytes]


# -- wire format --------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are ten-byte two's complement varints
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _delimited(field: int, payload: bytes) -> bytes:
    return _tag(field, 2) + _varint(len(payload)) + payload


# -- codecs: (field number, JSON value) -> encoded field (empty for proto3 defaults) --------


def _string(field: int, value: Any) -> bytes:
    return _delimited(field, str(value).encode()) if value != "" else b""


def _strings(field: int, value: Any) -> bytes:
    items = value if isinstance(value, list) else [value]
    return b"".join(_delimited(field, str(item).encode()) for item in items)


def _bool(field: int, value: Any) -> bytes:
    return _tag(field, 0) + b"\x01" if value else b""


def _int64(field: int, value: Any) -> bytes:
    return _tag(field, 0) + _varint(int(value)) if value else b""


def _double(field: int, value: Any) -> bytes:
    return _tag(field, 1) + struct.pack("<d", float(value)) if value else b""


def _any_message(value: Any) -> bytes:
    """gnostic ``Any``: only ``yaml`` (field 2) is set; JSON text is valid YAML."""
    return _delimited(2, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def _any(field: int, value: Any) -> bytes:
    return _delimited(field, _any_message(value))


def _anys(field: int, value: Any) -> bytes:
    return b"".join(_any(field, item) for item in value)


def _named(value_codec: Codec) -> Codec:
    """A JSON map as repeated ``Named<X>`` messages: name is field 1, value field 2."""
    def codec(field: int, mapping: Any) -> bytes:
        return b"".join(_delimited(field, _string(1, name) + value_codec(2, item))
                        for name, item in mapping.items())
    return codec


_named_any = _named(_any)


class _Message:
    """One gnostic message: JSON keys mapped to field numbers and codecs.

    ``extensions`` is the field number of its ``repeated NamedAny vendor_extension``
    (None when the message has none); ``x-*`` keys of the JSON object go there.
    """

    def __init__(self, extensions: int | None = None) -> None:
        self.extensions = extensions
        self.fields: list[tuple[str, int, Codec]] = []

    def define(self, *fields: tuple[str, int, Codec]) -> _Message:
        self.fields = sorted(fields, key=lambda f: f[1])
        return self

    def encode(self, obj: dict) -> bytes:
        out = bytearray()
        for key, field, codec in self.fields:
            if key in obj:
                out += codec(field, obj[key])
        if self.extensions is not None:
            out += _named_any(self.extensions, _extensions(obj))
        return bytes(out)

    def one(self, field: int, value: Any) -> bytes:
        """As a singular message field: present (even if empty) whenever the key is."""
        return _delimited(field, self.encode(value))

    def many(self, field: int, value: Any) -> bytes:
        return b"".join(_delimited(field, self.encode(item)) for item in value)


def _extensions(obj: dict) -> dict:
    return {k: obj[k] for k in sorted(obj) if k.startswith("x-")}


def _oneof(choose: Callable[[Any], tuple[int, Codec]]) -> Codec:
    """A wrapper message holding a ``oneof``: ``choose`` picks the member for a value."""
    def codec(field: int, value: Any) -> bytes:
        member, member_codec = choose(value)
        return _delimited(field, member_codec(member, value))
    return codec


# -- the gnostic messages -----------------------------------------------------------------

_EXTERNAL_DOCS = _Message(3).define(("description", 1, _string), ("url", 2, _string))
_JSON_REFERENCE = _Message().define(("$ref", 1, _string), ("description", 2, _string))

def _oneof_bool(field: int, value: bool) -> bytes:
    """A bool oneof member: written even when false, its presence is the point."""
    return _tag(field, 0) + (b"\x01" if value else b"\x00")


_SCHEMA = _Message(31)
_ADDITIONAL_PROPERTIES = _oneof(  # AdditionalPropertiesItem
    lambda v: (2, _oneof_bool) if isinstance(v, bool) else (1, _SCHEMA.one))
_SCHEMA.define(
    ("$ref", 1, _string), ("format", 2, _string), ("title", 3, _string),
    ("description", 4, _string), ("default", 5, _any), ("multipleOf", 6, _double),
    ("maximum", 7, _double), ("exclusiveMaximum", 8, _bool), ("minimum", 9, _double),
    ("exclusiveMinimum", 10, _bool), ("maxLength", 11, _int64), ("minLength", 12, _int64),
    ("pattern", 13, _string), ("maxItems", 14, _int64), ("minItems", 15, _int64),
    ("uniqueItems", 16, _bool), ("maxProperties", 17, _int64),
    ("minProperties", 18, _int64), ("required", 19, _strings), ("enum", 20, _anys),
    ("additionalProperties", 21, _ADDITIONAL_PROPERTIES),
    ("type", 22, lambda f, v: _delimited(f, _strings(1, v))),  # TypeItem
    ("items", 23, lambda f, v: _delimited(  # ItemsItem
        f, _SCHEMA.many(1, v if isinstance(v, list) else [v]))),
    ("allOf", 24, _SCHEMA.many),
    ("properties", 25, lambda f, v: _delimited(f, _named(_SCHEMA.one)(1, v))),  # Properties
    ("discriminator", 26, _string), ("readOnly", 27, _bool),
    ("externalDocs", 29, _EXTERNAL_DOCS.one), ("example", 30, _any),
)

_PRIMITIVES_ITEMS = _Message(18)
_PRIMITIVES_ITEMS.define(
    ("type", 1, _string), ("format", 2, _string), ("items", 3, _PRIMITIVES_ITEMS.one),
    ("collectionFormat", 4, _string), ("default", 5, _any), ("maximum", 6, _double),
    ("exclusiveMaximum", 7, _bool), ("minimum", 8, _double),
    ("exclusiveMinimum", 9, _bool), ("maxLength", 10, _int64), ("minLength", 11, _int64),
    ("pattern", 12, _string), ("maxItems", 13, _int64), ("minItems", 14, _int64),
    ("uniqueItems", 15, _bool), ("enum", 16, _anys), ("multipleOf", 17, _double),
)


def _non_body_parameter(first: int, allow_empty: bool) -> _Message:
    """Header/FormData/Query/PathParameterSubSchema: the same fields, numbered from
    ``type`` = ``first`` on (form and query parameters insert allowEmptyValue first)."""
    names = ("type", "format", "items", "collectionFormat", "default", "maximum",
             "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
             "pattern", "maxItems", "minItems", "uniqueItems", "enum", "multipleOf")
    codecs = (_string, _string, _PRIMITIVES_ITEMS.one, _string, _any, _double, _bool,
              _double, _bool, _int64, _int64, _string, _int64, _int64, _bool, _anys,
              _double)
    fields = [("required", 1, _bool), ("in", 2, _string), ("description", 3, _string),
              ("name", 4, _string)]
    if allow_empty:
        fields.append(("allowEmptyValue", 5, _bool))
    fields += [(n, first + i, c) for i, (n, c) in enumerate(zip(names, codecs))]
    return _Message(first + len(names)).define(*fields)


_NON_BODY = {"header": (1, _non_body_parameter(5, False)),
             "formData": (2, _non_body_parameter(6, True)),
             "query": (3, _non_body_parameter(6, True)),
             "path": (4, _non_body_parameter(5, False))}
_BODY_PARAMETER = _Message(6).define(
    ("description", 1, _string), ("name", 2, _string), ("in", 3, _string),
    ("required", 4, _bool), ("schema", 5, _SCHEMA.one))


def _parameter(field: int, value: dict) -> bytes:
    """``Parameter``: body_parameter (1) or non_body_parameter (2, itself a oneof)."""
    if value.get("in") == "body":
        return _delimited(field, _BODY_PARAMETER.one(1, value))
    member, message = _NON_BODY[value["in"]]
    return _delimited(field, _delimited(2, message.one(member, value)))


def _parameters_item(field: int, value: dict) -> bytes:
    if "$ref" in value:
        return _delimited(field, _JSON_REFERENCE.one(2, value))
    return _delimited(field, _parameter(1, value))


def _parameters(field: int, value: list) -> bytes:
    return b"".join(_parameters_item(field, item) for item in value)


_RESPONSE = _Message(5).define(
    ("description", 1, _string),
    ("schema", 2, lambda f, v: _delimited(f, _SCHEMA.one(1, v))))  # SchemaItem.schema
_RESPONSE_VALUE = _oneof(lambda v: (2, _JSON_REFERENCE.one) if "$ref" in v
                         else (1, _RESPONSE.one))


def _responses(field: int, value: dict) -> bytes:
    """``Responses``: status codes as NamedResponseValue (1), ``x-*`` as NamedAny (2)."""
    codes = {k: v for k, v in value.items() if not k.startswith("x-")}
    return _delimited(field, _named(_RESPONSE_VALUE)(1, codes)
                      + _named_any(2, _extensions(value)))


def _security(field: int, value: list) -> bytes:
    """repeated SecurityRequirement, each a map of scheme name to StringArray."""
    return b"".join(_delimited(field, _named(_string_array)(1, req)) for req in value)


def _string_array(field: int, value: list) -> bytes:
    return _delimited(field, _strings(1, value))


_OPERATION = _Message(13).define(
    ("tags", 1, _strings), ("summary", 2, _string), ("description", 3, _string),
    ("externalDocs", 4, _EXTERNAL_DOCS.one), ("operationId", 5, _string),
    ("produces", 6, _strings), ("consumes", 7, _strings), ("parameters", 8, _parameters),
    ("responses", 9, _responses), ("schemes", 10, _strings), ("deprecated", 11, _bool),
    ("security", 12, _security))
_PATH_ITEM = _Message(10).define(
    ("$ref", 1, _string), ("get", 2, _OPERATION.one), ("put", 3, _OPERATION.one),
    ("post", 4, _OPERATION.one), ("delete", 5, _OPERATION.one),
    ("options", 6, _OPERATION.one), ("head", 7, _OPERATION.one),
    ("patch", 8, _OPERATION.one), ("parameters", 9, _parameters))


def _paths(field: int, value: dict) -> bytes:
    """``Paths``: ``x-*`` as NamedAny (1), every path as NamedPathItem (2)."""
    items = {k: v for k, v in value.items() if not k.startswith("x-")}
    return _delimited(field, _named_any(1, _extensions(value))
                      + _named(_PATH_ITEM.one)(2, items))


_BASIC_SECURITY = _Message(3).define(("type", 1, _string), ("description", 2, _string))
_API_KEY_SECURITY = _Message(5).define(
    ("type", 1, _string), ("name", 2, _string), ("in", 3, _string),
    ("description", 4, _string))
_SECURITY_SCHEME = _oneof(lambda v: (1, _BASIC_SECURITY.one) if v.get("type") == "basic"
                          else (2, _API_KEY_SECURITY.one))

_CONTACT = _Message(4).define(("name", 1, _string), ("url", 2, _string),
                              ("email", 3, _string))
_LICENSE = _Message(3).define(("name", 1, _string), ("url", 2, _string))
_INFO = _Message(7).define(
    ("title", 1, _string), ("version", 2, _string), ("description", 3, _string),
    ("termsOfService", 4, _string), ("contact", 5, _CONTACT.one),
    ("license", 6, _LICENSE.one))
_TAG = _Message(4).define(("name", 1, _string), ("description", 2, _string),
                          ("externalDocs", 3, _EXTERNAL_DOCS.one))

_DOCUMENT = _Message(16).define(
    ("swagger", 1, _string), ("info", 2, _INFO.one), ("host", 3, _string),
    ("basePath", 4, _string), ("schemes", 5, _strings), ("consumes", 6, _strings),
    ("produces", 7, _strings), ("paths", 8, _paths),
    ("definitions", 9, lambda f, v: _delimited(f, _named(_SCHEMA.one)(1, v))),
    ("security", 12, _security),
    ("securityDefinitions", 13,
     lambda f, v: _delimited(f, _named(_SECURITY_SCHEME)(1, v))),
    ("tags", 14, _TAG.many), ("externalDocs", 15, _EXTERNAL_DOCS.one))


def encode_document(doc: dict) -> bytes:
    """A Swagger 2.0 document (parsed JSON) as ``openapi.v2.Document`` wire bytes."""
    return _DOCUMENT.encode(doc)


def v2_protobuf(registry: Registry) -> bytes:
    """Body of ``GET /openapi/v2`` for the gnostic protobuf media type (cached)."""
    data, digest = v2_document_and_hash(registry)
    hit = _cache.get(digest)
    if hit is not None:
        _cache.move_to_end(digest)
        return hit
    encoded = encode_document(orjson.loads(data))
    _cache[digest] = encoded
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return encoded
