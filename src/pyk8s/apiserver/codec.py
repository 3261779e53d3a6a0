"""Request bodies in, response bodies out: media types as kube-apiserver takes them.

Bodies are JSON, YAML or Kubernetes protobuf (what kubectl's typed clients send),
at most 3 MiB. Responses
are JSON, optionally transformed into a meta.k8s.io Table or PartialObjectMetadata
when the Accept header asks for ``as=Table`` / ``as=PartialObjectMetadata``.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import yaml

from . import errors

MAX_BODY = 3 * 1024 * 1024

JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


@dataclass(frozen=True)
class Target:
    """What representation the client asked for."""

    form: str = "object"  # object, table, partial
    include_object: str = "Metadata"  # for tables: None, Metadata, Object


def negotiate(accept: str | None, include_object: str | None = None) -> Target:
    for part in (accept or "").split(","):
        params = {}
        for item in part.split(";")[1:]:
            if "=" in item:
                k, v = item.split("=", 1)
                params[k.strip()] = v.strip()
        if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            if params.get("as") == "Table":
                return Target("table", include_object or "Metadata")
            if params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return Target("partial")
    return Target()


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_body(raw: bytes, content_type: str | None) -> object:
    """Parse a create/update body (JSON or YAML)."""
    if len(raw) > MAX_BODY:
        raise errors.too_large()
    mt = media_type(content_type)
    if mt in ("", JSON, "*/*"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"the object provided is unrecognized: {exc}") from None
    if mt == PROTOBUF:
        from .protobuf import decode_object

        return decode_object(raw)
    if mt in ("application/yaml", "application/apply-patch+yaml"):
        return _from_yaml(raw, "error converting YAML to JSON")
    raise errors.APIError(
        415, "UnsupportedMediaType",
        'the body of the request was in an unknown format - accepted media types include: '
        'application/json, application/yaml, application/vnd.kubernetes.protobuf')


def decode_patch(raw: bytes, content_type: str | None) -> tuple[str, object]:
    mt = media_type(content_type)
    kind = PATCH_TYPES.get(mt)
    if kind is None:
        raise errors.APIError(
            415, "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(PATCH_TYPES))
    if len(raw) > MAX_BODY:
        raise errors.too_large()
    if kind == "apply":
        return kind, _from_yaml(raw, "error decoding patch")
    try:
        return kind, orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from None


def _from_yaml(raw: bytes, what: str) -> object:
    """YAML as the JSON it converts to (as sigs.k8s.io/yaml): map keys become strings,
    and what JSON cannot carry (lone surrogates, binary) is a 400, not a later 500."""
    try:
        return orjson.loads(orjson.dumps(yaml.safe_load(raw), option=orjson.OPT_NON_STR_KEYS))
    except (yaml.YAMLError, orjson.JSONEncodeError) as exc:
        raise errors.bad_request(f"{what}: {exc}") from None


def dumps(obj: object) -> bytes:
    return orjson.dumps(obj)
