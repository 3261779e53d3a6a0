"""CREATE, UPDATE, PATCH, DELETE and DELETECOLLECTION of resources.

Bodies are decoded, checked against the kind's schema (``fieldValidation``:
Strict rejects unknown and duplicate fields, Warn reports them as ``Warning``
headers; either way unknown fields are dropped, never stored), then handed to the
generic object semantics in :mod:`pyk8s.apiserver.objects`.
"""

from __future__ import annotations

import copy

import orjson
from aiohttp import web

from .. import errors, fieldmanager, fieldvalidation, schemas, typecheck
from ..codec import decode_body, decode_patch
from ..patch.jsonpatch import apply_json_patch
from ..patch.mergepatch import apply_merge_patch
from ..patch.strategic import apply_strategic_merge_patch
from ..registry import ResourceType
from .common import TRUE_VALUES, ResourceRequest, json_response, parse_int, status_success
from .reads import matcher, parse_selectors, render_list, render_object

FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")
FIELD_MANAGER_MAX_BYTES = 128


def field_validation_mode(req: ResourceRequest) -> str:
    mode = req.query.get("fieldValidation") or "Warn"
    if mode not in FIELD_VALIDATION_MODES:
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", '
            '"Strict", "Warn"')
    return mode


def check_fields(req: ResourceRequest, obj: object, raw: bytes | None,
                 rt: ResourceType | None = None, *, decoding: bool = True,
                 patch_type: str = "", patch_body: object = None) -> tuple[str, ...]:
    """Apply fieldValidation to a decoded body; returns warnings, raises in Strict mode.

    Values of the wrong JSON type fail whatever the mode, as upstream's decoding into
    Go structs does: a decoded body answers 400, a patched object (``patch_type``
    ``json``/``merge``/``strategic``, ``decoding=False``) 422 on field ``patch``.
    """
    rt = rt or req.rt
    if not isinstance(obj, dict):
        return ()
    mode = field_validation_mode(req)
    if decoding or patch_type:
        _check_types(rt, obj, decoding, patch_type, patch_body)
    unknown = fieldvalidation.unknown_fields(rt.group, rt.version, rt.kind, obj)
    if unknown:
        fieldvalidation.prune_unknown(rt.group, rt.version, rt.kind, obj)
    if mode == "Ignore":
        return ()
    duplicates = fieldvalidation.duplicate_fields(raw) if raw is not None else []
    if not unknown and not duplicates:
        return ()
    if mode == "Strict":
        if decoding:
            raise errors.bad_request(fieldvalidation.strict_decoding_error(
                rt.kind, rt.version, unknown, duplicates))
        raise errors.bad_request(fieldvalidation.strict_error_message(unknown, duplicates))
    return tuple(fieldvalidation.strict_warnings(unknown, duplicates))


def _check_types(rt: ResourceType, obj: dict, decoding: bool, patch_type: str,
                 patch_body: object) -> None:
    strategic = patch_type == "strategic"
    message = typecheck.type_error(rt.group, rt.version, rt.kind, obj,
                                   "unstructured" if strategic else "json")
    if message is None:
        return
    if decoding:
        raise errors.bad_request(fieldvalidation.decode_error_message(rt.kind, rt.version,
                                                                      message))
    shown = fieldvalidation.go_value_repr(patch_body) if strategic else \
        orjson.dumps(obj).decode()
    raise errors.invalid_object("", "", "", [errors.invalid("patch", shown, message)])


async def create(req: ResourceRequest) -> web.Response:
    raw = await req.http.read()
    obj = decode_body(raw, req.content_type)
    warnings = check_fields(req, obj, raw if req.content_type == "application/json" else None)
    if not isinstance(obj, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    result = await req.objects.create(req.rt, obj, req.namespace, dry_run=req.dry_run,
                                      user=req.user, manager=req.manager)
    return render_object(req, result.object, 201, warnings + result.warnings)


async def update(req: ResourceRequest, subresource: str = "") -> web.Response:
    raw = await req.http.read()
    body = decode_body(raw, req.content_type)
    warnings = check_fields(req, body, raw if req.content_type == "application/json" else None)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    strategy = req.rt.strategy
    create = (lambda: copy.deepcopy(body)) if strategy.allow_create_on_update and not subresource \
        else None
    result = await req.objects.update(req.rt, req.namespace, req.info.name,
                                      lambda current: copy.deepcopy(body),
                                      subresource=subresource, dry_run=req.dry_run,
                                      create_if_missing=create, user=req.user, manager=req.manager)
    return render_object(req, result.object, 201 if result.created else 200,
                         warnings + result.warnings)


def patcher(req: ResourceRequest, kind: str, patch: object, rt: ResourceType | None = None):
    """A function current -> patched for this patch type."""
    rt = rt or req.rt
    if kind == "json":
        return lambda current: apply_json_patch(current, patch)
    if kind == "merge":
        return lambda current: apply_merge_patch(current, patch)
    schema = schemas.schema_for(rt.group, rt.version, rt.kind)
    if kind == "strategic" and schema is None:
        raise errors.APIError(415, "UnsupportedMediaType",
                              "the body of the request was in an unknown format - accepted media "
                              "types include: application/json-patch+json, "
                              "application/merge-patch+json, application/apply-patch+yaml")
    return lambda current: apply_strategic_merge_patch(current, patch, schema)


async def patch(req: ResourceRequest, subresource: str = "") -> web.Response:
    raw = await req.http.read()
    kind, body = decode_patch(raw, req.content_type)
    check_patch_options(req, kind)
    if kind == "apply":
        return await apply(req, body, subresource)
    apply_patch = patcher(req, kind, body)
    warnings: list[str] = []

    def mutate(current: dict) -> dict:
        patched = apply_patch(current)
        warnings[:] = check_fields(req, patched, None, decoding=False, patch_type=kind,
                                   patch_body=body)
        return patched

    result = await req.objects.update(req.rt, req.namespace, req.info.name, mutate,
                                      subresource=subresource, dry_run=req.dry_run,
                                      user=req.user, manager=req.manager)
    return render_object(req, result.object, 200, tuple(warnings) + result.warnings)


async def apply(req: ResourceRequest, body: object, subresource: str) -> web.Response:
    """Server-side apply: the configuration is merged into the live object by type,
    with field ownership and conflicts (:mod:`pyk8s.apiserver.fieldmanager`); a
    missing object is created."""
    if not isinstance(body, dict):
        raise errors.bad_request("the apply configuration must be an object")
    manager = req.query["fieldManager"]
    check_applied(req, body)
    warnings = await _apply_strictness(req)
    force = req.query.get("force") in TRUE_VALUES

    def mutate(current: dict) -> dict:
        return fieldmanager.apply_config(req.rt, current, body, manager, force=force,
                                         subresource=subresource)

    def create() -> dict:
        name = (body.get("metadata") or {}).get("name") or ""
        if name != req.info.name:
            raise _name_mismatch(name, req.info.name)
        return fieldmanager.apply_config(req.rt, None, body, manager, force=force)

    result = await req.objects.update(
        req.rt, req.namespace, req.info.name, mutate, subresource=subresource,
        dry_run=req.dry_run, client_rv_from_body=bool(
            (body.get("metadata") or {}).get("resourceVersion")),
        create_if_missing=None if subresource else create, user=req.user, manager=manager,
        operation="Apply")
    return render_object(req, result.object, 201 if result.created else 200,
                         warnings + result.warnings)


def check_patch_options(req: ResourceRequest, kind: str) -> None:
    """PatchOptions as upstream validates them: ``force`` only for apply, which needs a
    ``fieldManager``; a field manager of at most 128 bytes, all printable."""
    manager = req.query.get("fieldManager") or ""
    errs: list[errors.FieldError] = []
    if kind != "apply":
        if "force" in req.query:
            errs.append(errors.forbidden("force", "may not be specified for non-apply patch"))
    elif not manager:
        errs.append(errors.required("fieldManager", "is required for apply patch"))
    if len(manager.encode()) > FIELD_MANAGER_MAX_BYTES:
        errs.append(errors.FieldError("FieldValueTooLong", "fieldManager",
                                      f"may not be more than {FIELD_MANAGER_MAX_BYTES} bytes"))
    offset = 0
    for char in manager:
        if not char.isprintable():
            errs.append(errors.invalid("fieldManager", manager, f"invalid character "
                                       f"U+{ord(char):04X} (at position {offset})"))
        offset += len(char.encode())
    if errs:
        raise errors.invalid_object("meta.k8s.io", "PatchOptions", "", errs)


def check_applied(req: ResourceRequest, body: dict) -> None:
    """What upstream refuses before merging: another group/version/kind, managedFields,
    a name or namespace other than the URL's, fields the schema does not declare."""
    rt = req.rt
    api_version, kind = str(body.get("apiVersion") or ""), str(body.get("kind") or "")
    if api_version != rt.api_version or kind != rt.kind:
        group, _, version = api_version.rpartition("/")
        raise errors.bad_request(f"invalid object type: {group}/{version}, Kind={kind}")
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    if meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    name, namespace = meta.get("name") or "", meta.get("namespace") or ""
    if name and name != req.info.name:
        raise _name_mismatch(name, req.info.name)
    if req.namespace and namespace and namespace != req.namespace:
        raise errors.bad_request(f"the namespace of the object ({namespace}) does not match "
                                 f"the namespace on the URL ({req.namespace})")
    where = namespace or req.namespace or ""
    unknown = fieldvalidation.apply_unknown_fields(rt.group, rt.version, rt.kind, body)
    if unknown:
        raise errors.APIError(400, "BadRequest", fieldvalidation.typed_patch_error_message(
            where, name, rt.group, rt.version, rt.kind, unknown))
    wrong = fieldmanager.type_errors(rt, body)
    if wrong:
        detail = wrong[0] if len(wrong) == 1 else "errors:\n" + "\n".join(
            "  " + w for w in wrong)
        raise errors.APIError(400, "BadRequest", f"failed to create typed patch object ({where}/{name}; "
                                       f"{rt.group}/{rt.version}, Kind={rt.kind}): {detail}")


def _name_mismatch(name: str, url_name: str) -> errors.APIError:
    return errors.bad_request(f"the name of the object ({name}) does not match the name on the "
                              f"URL ({url_name})")


async def _apply_strictness(req: ResourceRequest) -> tuple[str, ...]:
    """Duplicate keys of a YAML apply body: an error when Strict, warnings when Warn."""
    mode = field_validation_mode(req)
    if mode == "Ignore":
        return ()
    duplicates = fieldvalidation.duplicate_fields_yaml(await req.http.read())
    if duplicates and mode == "Strict":
        raise errors.bad_request(fieldvalidation.yaml_strict_error_message(duplicates))
    return tuple(duplicates)


async def _delete_options(req: ResourceRequest) -> dict:
    raw = await req.http.read()
    options: dict = {}
    if raw.strip():
        body = decode_body(raw, req.content_type or "application/json")
        if not isinstance(body, dict):
            raise errors.bad_request("DeleteOptions must be an object")
        options = body
    grace = parse_int(req.query.get("gracePeriodSeconds"), "gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    if req.query.get("propagationPolicy"):
        options["propagationPolicy"] = req.query["propagationPolicy"]
    if req.query.get("orphanDependents"):
        options["orphanDependents"] = req.query["orphanDependents"] in TRUE_VALUES
    if options.get("dryRun") and options["dryRun"] != ["All"]:
        raise errors.bad_request(f"unsupported dry run option {options['dryRun']!r}")
    return options


async def delete(req: ResourceRequest) -> web.Response:
    options = await _delete_options(req)
    dry_run = req.dry_run or bool(options.get("dryRun"))
    result = await req.objects.delete(req.rt, req.namespace, req.info.name, options,
                                      dry_run=dry_run, user=req.user)
    if result.deleted and not req.rt.strategy.return_deleted_object:
        return json_response(status_success(req.rt, result.object))
    return render_object(req, result.object)


async def delete_collection(req: ResourceRequest) -> web.Response:
    options = await _delete_options(req)
    dry_run = req.dry_run or bool(options.get("dryRun"))
    labels, fields = parse_selectors(req)
    match = matcher(req.rt, labels, fields)
    listing = await req.ctx.store.list(req.rt.namespace_prefix(req.namespace))
    from ..objects import from_kv

    deleted = []
    for kv in listing.items:
        obj = from_kv(kv)
        if not match(obj):
            continue
        meta = obj["metadata"]
        try:
            result = await req.objects.delete(req.rt, meta.get("namespace"), meta["name"],
                                              options, dry_run=dry_run, user=req.user)
        except errors.APIError as err:
            if err.code == 404:
                continue
            raise
        deleted.append(result.object)
    return render_list(req, deleted, {"resourceVersion": str(listing.revision)})
