"""GET of one object and LIST of a collection (with selectors and pagination).

Lists at the latest revision come from the watch cache once it has caught up with
the store (a consistent read, as kube-apiserver 1.31+ serves them); paginated
lists and lists at an exact past revision read the store, so every page of a
``limit``/``continue`` walk is taken from the same snapshot.
"""

from __future__ import annotations

import base64

import orjson
from aiohttp import web

from ...store import CompactedError, FutureRevisionError
from .. import errors, tables
from ..codec import Target
from ..objects import from_kv
from ..registry import ResourceType
from ..selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from .common import TABLE_TYPE, ResourceRequest, json_response, parse_int

CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")
LIST_TOO_OLD = "The resourceVersion for the provided list is too old."
LATEST = -1  # a continue token's revision meaning "continue at the latest revision"


def object_fields(rt: ResourceType, obj: dict) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": meta.get("name", "")}
    if rt.namespaced:
        fields["metadata.namespace"] = meta.get("namespace", "")
    fields.update(rt.strategy.selectable_fields(obj))
    return fields


def supported_fields(rt: ResourceType) -> set[str]:
    probe = {"metadata": {}, "spec": {}, "status": {}}
    fields = {"metadata.name", "metadata.namespace"}
    fields.update(rt.strategy.selectable_fields(probe).keys())
    return fields


def parse_selectors(req: ResourceRequest) -> tuple[LabelSelector, FieldSelector]:
    labels = parse_label_selector(req.query.get("labelSelector"))
    fields = parse_field_selector(req.query.get("fieldSelector"))
    allowed = supported_fields(req.rt)
    for r in fields.requirements:
        if r.field not in allowed:
            raise errors.bad_request(
                f'field label not supported: {r.field}')
    return labels, fields


def matcher(rt: ResourceType, labels: LabelSelector, fields: FieldSelector):
    if labels.empty and fields.empty:
        return lambda obj: True

    def match(obj: dict) -> bool:
        return labels.matches((obj.get("metadata") or {}).get("labels")) and (
            fields.empty or fields.matches(object_fields(rt, obj)))

    return match


def render_object(req: ResourceRequest, obj: dict, status: int = 200,
                  warnings: tuple[str, ...] = ()) -> web.Response:
    target = req.target()
    if target.form == "table":
        body = tables.table(req.rt, [obj], include_object=target.include_object,
                            list_meta={"resourceVersion": obj["metadata"].get("resourceVersion", "")})
        return json_response(body, status, content_type=TABLE_TYPE, warnings=warnings)
    if target.form == "partial":
        from ..printers import partial_object_metadata

        return json_response(partial_object_metadata(obj), status, warnings=warnings)
    return json_response(obj, status, warnings=warnings)


async def get(req: ResourceRequest) -> web.Response:
    obj = await req.objects.get(req.rt, req.namespace, req.info.name)
    return render_object(req, obj)


def _encode_continue(revision: int, last_key: str, prefix: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": last_key[len(prefix):]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(data["rv"]), prefix + data["start"]
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request(f"continue key is not valid: {token}") from None


async def list_(req: ResourceRequest) -> web.Response:
    rt = req.rt
    labels, fields = parse_selectors(req)
    match = matcher(rt, labels, fields)
    limit = parse_int(req.query.get("limit"), "limit") or 0
    token = req.query.get("continue")
    rv = req.query.get("resourceVersion")
    rv_match = req.query.get("resourceVersionMatch")
    prefix = rt.namespace_prefix(req.namespace)
    name_pin = fields.exact("metadata.name")
    if rv_match and rv_match not in ("Exact", "NotOlderThan"):
        raise errors.bad_request(f'resourceVersionMatch: Unsupported value: "{rv_match}"')
    if rv_match and not rv:
        raise errors.invalid_object("meta.k8s.io", "ListOptions", "", [errors.forbidden(
            "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion "
            "is provided")])
    if token and rv:
        raise errors.bad_request("specifying resource version is not allowed when using continue")

    items: list[dict]
    list_meta: dict = {}
    if token or (limit and rv != "0") or rv_match == "Exact":
        revision, start_after = (0, "")
        if token:
            revision, start_after = _decode_continue(token, prefix)
            if revision == LATEST:
                revision = 0
        elif rv_match == "Exact":
            revision = parse_int(rv, "resourceVersion") or 0
        items, revision, next_key, remaining = await _list_store(
            req, prefix, revision, start_after, limit, match, paging=bool(token))
        list_meta["resourceVersion"] = str(revision)
        if next_key:
            list_meta["continue"] = _encode_continue(revision, next_key, prefix)
            if labels.empty and fields.empty and remaining:
                list_meta["remainingItemCount"] = remaining
    else:
        cache = req.ctx.watch_cache
        wanted = parse_int(rv, "resourceVersion") if rv and rv != "0" else None
        if rv is None or rv == "":
            wanted = await req.ctx.store.current_revision()
        if wanted and not await cache.wait_for(wanted):
            raise errors.APIError(504, "Timeout", f"Too large resource version: {wanted}, current: "
                                  f"{cache.revision}", {"causes": [{
                                      "reason": "ResourceVersionTooLarge",
                                      "message": "Too large resource version"}],
                                      "retryAfterSeconds": 1})
        key_prefix = prefix
        if name_pin is not None and rt.namespaced and req.namespace:
            key_prefix = rt.key(req.namespace, name_pin)
        objs, revision = cache.snapshot(rt.prefix, key_prefix)
        items = [_present(req, o) for o in objs if match(o)]
        list_meta["resourceVersion"] = str(revision)
    return render_list(req, items, list_meta)


def _present(req: ResourceRequest, obj: dict) -> dict:
    return req.objects._present(req.rt, dict(obj))


async def _list_store(req: ResourceRequest, prefix: str, revision: int, start_after: str,
                      limit: int, match, paging: bool = False
                      ) -> tuple[list[dict], int, str, int]:
    store = req.ctx.store
    continue_from = start_after
    items: list[dict] = []
    last_key = ""
    try:
        while True:
            want = limit - len(items) if limit else 0
            page = await store.list(prefix, revision=revision, start_after=start_after,
                                    limit=max(want, 64) if limit else 0)
            revision = page.revision
            for i, kv in enumerate(page.items):
                obj = from_kv(kv)
                if match(obj):
                    items.append(_present(req, obj))
                last_key = kv.key
                if limit and len(items) >= limit:
                    more = len(page.items) - i - 1 + page.remaining
                    return items, revision, (last_key if more else ""), more
            if not page.remaining or not page.items:
                return items, revision, "", 0
            start_after = last_key
    except CompactedError:
        if not paging:
            raise errors.gone(LIST_TOO_OLD) from None
        # as upstream: 410 with a token continuing at the latest revision (inconsistent list)
        err = errors.gone(CONTINUE_TOO_OLD)
        err.metadata = {"continue": _encode_continue(LATEST, continue_from, prefix)}
        raise err from None
    except FutureRevisionError as exc:
        raise errors.APIError(504, "Timeout", f"Too large resource version: {exc.requested}, "
                              f"current: {exc.current}", {"causes": [{
                                  "reason": "ResourceVersionTooLarge",
                                  "message": "Too large resource version"}],
                                  "retryAfterSeconds": 1}) from None


def render_list(req: ResourceRequest, items: list[dict], list_meta: dict) -> web.Response:
    rt = req.rt
    target: Target = req.target()
    if target.form == "table":
        body = tables.table(rt, items, include_object=target.include_object, list_meta=list_meta)
        return json_response(body, content_type=TABLE_TYPE)
    if target.form == "partial":
        return json_response(tables.partial_list(items, list_meta))
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version,
                          "metadata": list_meta, "items": items})
