"""Render the neutral path model of :mod:`.operations` as OpenAPI 3 or Swagger 2 dicts.

The shapes follow kube-apiserver's published documents (``api/openapi-spec`` in the
Kubernetes tree): path-level ``name``/``namespace``/``pretty`` parameters, per
operation query parameters, ``*/*`` request bodies (the four patch media types for
PATCH), 200/201/202 responses per action plus 401, ``application/json`` and
``application/yaml`` response content (and ``;stream=watch`` for lists). Protobuf
media types are not listed: pyk8s answers JSON (it decodes protobuf requests only).
"""

from __future__ import annotations

import functools

from .definitions import V2_PREFIX, V3_PREFIX
from .operations import PATCH_CONTENT_TYPES, QUERY_PARAMS, Operation, Path, code_text

_JSON = "application/json"
_YAML = "application/yaml"
_WATCH = "application/json;stream=watch"
_UNAUTHORIZED = {"description": "Unauthorized"}
BEARER = {"BearerToken": {"description": "Bearer Token authentication", "in": "header",
                          "name": "authorization", "type": "apiKey"}}


# -- OpenAPI 3 ----------------------------------------------------------------------------


@functools.cache
def _v3_query(name: str) -> dict:
    kind, description = QUERY_PARAMS[name]
    return {"description": description, "in": "query", "name": name,
            "schema": {"type": kind, "uniqueItems": True}}


def _v3_path_param(name: str, description: str) -> dict:
    return {"description": description, "in": "path", "name": name, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _v3_ref(name: str) -> dict:
    return {"schema": {"$ref": V3_PREFIX + name}}


def v3_paths(paths: list[Path]) -> dict:
    out: dict = {}
    for p in paths:
        item: dict = {}
        params = [_v3_path_param(n, d) for n, d in p.path_params]
        params += [_v3_query(q) for q in p.query_params]
        if params:
            item["parameters"] = params
        for op in p.operations:
            item[op.method] = _v3_operation(op)
        out[p.path] = item
    return out


def _v3_operation(op: Operation) -> dict:
    out: dict = {"description": op.description, "operationId": op.operation_id,
                 "tags": [op.tag], "responses": _v3_responses(op)}
    if op.params:
        out["parameters"] = [_v3_query(q) for q in op.params]
    if op.body:
        if op.is_patch:
            content = {ct: _v3_ref(op.body) for ct in PATCH_CONTENT_TYPES}
        else:
            content = {"*/*": _v3_ref(op.body)}
        body: dict = {"content": content}
        if op.action in ("post", "put", "patch"):
            body["required"] = True
        out["requestBody"] = body
    if op.gvk is not None:
        out["x-kubernetes-action"] = op.action
        group, version, kind = op.gvk
        out["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind,
                                                  "version": version}
    return out


def _v3_responses(op: Operation) -> dict:
    types = (_JSON, _WATCH, _YAML) if op.action == "list" else (_JSON, _YAML)
    out: dict = {}
    for code in op.codes:
        entry: dict = {"description": code_text(code)}
        if op.response:
            entry["content"] = {ct: _v3_ref(op.response) for ct in types}
        out[str(code)] = entry
    out["401"] = _UNAUTHORIZED
    return out


# -- Swagger 2 ----------------------------------------------------------------------------


@functools.cache
def _v2_query(name: str) -> dict:
    kind, description = QUERY_PARAMS[name]
    return {"description": description, "in": "query", "name": name, "type": kind,
            "uniqueItems": True}


def _v2_path_param(name: str, description: str) -> dict:
    return {"description": description, "in": "path", "name": name, "required": True,
            "type": "string", "uniqueItems": True}


def v2_paths(paths: list[Path]) -> dict:
    out: dict = {}
    for p in paths:
        item: dict = {}
        params = [_v2_path_param(n, d) for n, d in p.path_params]
        params += [_v2_query(q) for q in p.query_params]
        if params:
            item["parameters"] = params
        for op in p.operations:
            item[op.method] = _v2_operation(op)
        out[p.path] = item
    return out


def _v2_operation(op: Operation) -> dict:
    produces = [_JSON, _YAML] + ([_WATCH] if op.action == "list" else [])
    out: dict = {"description": op.description, "operationId": op.operation_id,
                 "tags": [op.tag], "schemes": ["https"], "produces": produces,
                 "consumes": list(PATCH_CONTENT_TYPES) if op.is_patch else ["*/*"]}
    params = []
    if op.body:
        body: dict = {"in": "body", "name": "body", "schema": {"$ref": V2_PREFIX + op.body}}
        if op.action in ("post", "put", "patch"):
            body["required"] = True
        params.append(body)
    params += [_v2_query(q) for q in op.params]
    if params:
        out["parameters"] = params
    responses: dict = {}
    for code in op.codes:
        entry: dict = {"description": code_text(code)}
        if op.response:
            entry["schema"] = {"$ref": V2_PREFIX + op.response}
        responses[str(code)] = entry
    responses["401"] = _UNAUTHORIZED
    out["responses"] = responses
    if op.gvk is not None:
        out["x-kubernetes-action"] = op.action
        group, version, kind = op.gvk
        out["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind,
                                                  "version": version}
    return out
