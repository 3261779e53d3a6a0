"""Generic object semantics shared by every kind (upstream's registry/generic Store).

Create, update, delete and their rules live here once: names and generateName,
uid and creationTimestamp, resourceVersion as optimistic concurrency, generation,
the status-subresource split, finalizers and deletionTimestamp, propagation
policies, graceful deletion, dry runs. Handlers translate HTTP to these calls;
strategies add what one kind needs.
"""

from __future__ import annotations

import copy
import datetime
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import orjson

from ..store import ConflictError, KeyExistsError, KeyNotFoundError, KeyValue
from . import errors, fieldmanager, validation
from .admission import AdmissionRequest
from .context import ServerContext
from .registry import ResourceType
from .strategy import get_path
from .user import SYSTEM_APISERVER, UserInfo
from .watchcache import decode

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_CAS_RETRIES = 64

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"


_UID_BATCH = 256
_uid_entropy = b""
_uid_next = 0


def new_uid() -> str:
    """A random (version 4) UUID as uuid.uuid4 makes it, but with the entropy read from
    os.urandom 256 UIDs at a time: each read gives up the GIL, which on a busy server
    costs far more than the read itself."""
    global _uid_entropy, _uid_next
    if _uid_next >= len(_uid_entropy):
        _uid_entropy, _uid_next = os.urandom(16 * _UID_BATCH), 0
    raw = _uid_entropy[_uid_next:_uid_next + 16]
    _uid_next += 16
    return str(uuid.UUID(bytes=raw, version=4))


_now_second = -1
_now_text = ""


def now_rfc3339() -> str:
    """The current UTC time to the second, RFC 3339 (formatted once per second)."""
    global _now_second, _now_text
    second = int(time.time())
    if second != _now_second:
        _now_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        _now_second = second
    return _now_text


def encode_for_store(obj: dict) -> bytes:
    """The stored form: the object without its resourceVersion (the store's revision is)."""
    meta = obj.get("metadata") or {}
    rv = meta.pop("resourceVersion", None)
    try:
        return orjson.dumps(obj)
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def from_kv(kv: KeyValue) -> dict:
    return decode(kv.value, kv.mod_revision)


@dataclass
class WriteResult:
    object: dict
    created: bool = False
    deleted: bool = False  # gone from the store (not just marked for deletion)
    warnings: tuple[str, ...] = ()


class ObjectStore:
    """Create/update/delete of API objects with upstream's metadata semantics."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    # ---- reads -------------------------------------------------------------

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        kv = await self.ctx.store.get(rt.key(namespace, name))
        if kv is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return self._present(rt, from_kv(kv))

    async def _get_kv(self, rt: ResourceType, namespace: str | None, name: str) -> KeyValue:
        kv = await self.ctx.store.get(rt.key(namespace, name))
        if kv is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return kv

    def _present(self, rt: ResourceType, obj: dict) -> dict:
        """Stored form -> the form this resource serves (apiVersion/kind, conversions)."""
        if rt.storage_group is not None:
            from .conversion import from_storage

            obj = from_storage(rt, obj)
        obj = rt.strategy.on_read(obj)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        return obj

    def _to_storage(self, rt: ResourceType, obj: dict) -> dict:
        if rt.storage_group is not None:
            from .conversion import to_storage

            return to_storage(rt, obj)
        return obj

    # ---- create ------------------------------------------------------------

    def check_type(self, rt: ResourceType, obj: dict, namespace: str | None) -> None:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was not a JSON object")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        if api_version and api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})")
        meta = obj.get("metadata")
        if meta is None:
            obj["metadata"] = meta = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request")
            if namespace:
                meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)

    async def create(self, rt: ResourceType, obj: dict, namespace: str | None, *,
                     dry_run: bool = False, user: UserInfo | None = None,
                     manager: str | None = None, operation: str = "Update") -> WriteResult:
        self.check_type(rt, obj, namespace)
        strategy = rt.strategy
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(secrets.choice(GENERATE_ALPHABET) for _ in range(5))
            meta["name"] = meta["generateName"] + suffix
        request = AdmissionRequest("CREATE", rt, meta.get("namespace"), meta.get("name", ""),
                                   user or SYSTEM_APISERVER, obj, None, dry_run=dry_run)
        await self.ctx.admission.admit(self.ctx, request)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        drop_empty_metadata(meta)
        for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "selfLink"):
            meta.pop(field, None)
        if strategy.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        strategy.prepare_for_create(obj)
        strategy.set_requester(obj, user or SYSTEM_APISERVER)
        strategy.default(obj)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        errs = validation.validate_object_meta(
            obj, namespaced=rt.namespaced, name_rule=validation.name_rule_for(rt.group, rt.kind))
        errs += strategy.validate(obj)
        if errs:
            raise errors.invalid_object(rt.group, rt.kind, meta.get("name", ""), errs)
        request.name = meta["name"]
        await self.ctx.admission.validate(self.ctx, request)
        fieldmanager.track(rt, None, obj, manager, operation)
        await strategy.before_create(self.ctx, obj)
        if dry_run:
            await strategy.undo_create(self.ctx, obj)
            return WriteResult(obj, created=True,
                               warnings=(*strategy.warnings(obj), *request.warnings))
        stored = self._to_storage(rt, obj)
        try:
            revision = await self.ctx.store.create(rt.key(meta.get("namespace"), meta["name"]),
                                                   encode_for_store(stored))
        except KeyExistsError:
            await strategy.undo_create(self.ctx, obj)
            raise errors.already_exists(rt.group, rt.plural, meta["name"]) from None
        except BaseException:
            await strategy.undo_create(self.ctx, obj)
            raise
        meta["resourceVersion"] = str(revision)
        return WriteResult(obj, created=True, warnings=(*strategy.warnings(obj), *request.warnings))

    # ---- update ------------------------------------------------------------

    async def update(self, rt: ResourceType, namespace: str | None, name: str,
                     mutate: Callable[[dict], dict], *, subresource: str = "",
                     dry_run: bool = False, client_rv_from_body: bool = True,
                     create_if_missing: Callable[[], dict] | None = None,
                     user: UserInfo | None = None, manager: str | None = None,
                     operation: str = "Update") -> WriteResult:
        """Read-modify-write with compare-and-swap, retried on races.

        ``mutate(current)`` returns the desired object; if it carries a
        resourceVersion that differs from the current one the update is a 409
        Conflict (the client's precondition), otherwise races are retried.
        """
        key = rt.key(namespace, name)
        for _ in range(MAX_CAS_RETRIES):
            kv = await self.ctx.store.get(key)
            if kv is None:
                if create_if_missing is not None:
                    obj = create_if_missing()
                    return await self.create(rt, obj, namespace, dry_run=dry_run, user=user,
                                             manager=manager, operation=operation)
                raise errors.not_found(rt.group, rt.plural, name)
            old = self._present(rt, from_kv(kv))
            new = mutate(copy.deepcopy(old))
            if not isinstance(new, dict):
                raise errors.bad_request("the body of the request was not a JSON object")
            self.check_type(rt, new, namespace)
            new_meta = new["metadata"]
            if new_meta.get("name") and new_meta["name"] != name:
                raise errors.bad_request(
                    f"the name of the object ({new_meta['name']}) does not match the name on "
                    f"the URL ({name})")
            new_meta["name"] = name
            client_rv = new_meta.get("resourceVersion") if client_rv_from_body else None
            if client_rv and client_rv != str(kv.mod_revision):
                raise errors.conflict(rt.group, rt.plural, name, errors.STALE_OBJECT)
            request = AdmissionRequest("UPDATE", rt, namespace, name, user or SYSTEM_APISERVER,
                                       new, old, subresource=subresource, dry_run=dry_run)
            await self.ctx.admission.admit(self.ctx, request)
            await self._prepare_update(rt, new, old, subresource)
            await self.ctx.admission.validate(self.ctx, request)
            fieldmanager.track(rt, old, new, manager, operation, subresource)
            unchanged = _same_content(new, old) and fieldmanager.same_ownership(old, new)
            if unchanged and not await self.ctx.store.stale(kv):  # answer without a write
                return WriteResult(old, warnings=tuple(request.warnings))
            if dry_run:
                return WriteResult(new, warnings=tuple(request.warnings))
            if new_meta.get("deletionTimestamp") and not _held(rt, new):
                return await self._finish_delete(rt, kv, new)
            try:
                revision = await self.ctx.store.update(
                    key, encode_for_store(self._to_storage(rt, new)), kv.mod_revision)
            except ConflictError:
                # re-read and re-mutate: a client's resourceVersion (a PUT body's, or one a patch
                # sets) fails the precondition above; a patch applied to the fresher object
                # carries the fresher version and goes through, as upstream's GuaranteedUpdate
                continue
            except KeyNotFoundError:
                raise errors.not_found(rt.group, rt.plural, name) from None
            new_meta["resourceVersion"] = str(revision)
            return WriteResult(new, warnings=(*rt.strategy.warnings(new), *request.warnings))
        raise errors.conflict(rt.group, rt.plural, name, errors.STALE_OBJECT)

    async def _prepare_update(self, rt: ResourceType, new: dict, old: dict,
                              subresource: str) -> None:
        strategy = rt.strategy
        meta, old_meta = new["metadata"], old["metadata"]
        if not meta.get("uid"):  # a uid the client sent must match (validated as immutable)
            meta["uid"] = old_meta.get("uid")
        for field in ("creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation", "namespace"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta.pop("selfLink", None)
        drop_empty_metadata(meta)
        if subresource in ("status", "approval", "finalize", "binding", "ephemeralcontainers"):
            restored = copy.deepcopy(old)
            if subresource == "status":
                restored["status"] = new.get("status") or {}
                _carry_annotations(restored["metadata"], meta)
            elif subresource == "ephemeralcontainers":
                restored.setdefault("spec", {})["ephemeralContainers"] = get_path(
                    new, "spec", "ephemeralContainers")
                if not restored["spec"]["ephemeralContainers"]:
                    restored["spec"].pop("ephemeralContainers")
            elif subresource == "finalize":
                restored.setdefault("spec", {})["finalizers"] = get_path(new, "spec", "finalizers")
                if not restored["spec"]["finalizers"]:
                    restored["spec"].pop("finalizers")
            elif subresource == "binding":
                restored = copy.deepcopy(new)
                restored["metadata"] = copy.deepcopy(old_meta)
                restored["metadata"]["annotations"] = meta.get("annotations")
                if not restored["metadata"]["annotations"]:
                    restored["metadata"].pop("annotations")
            else:
                restored.setdefault("status", {})["conditions"] = get_path(
                    new, "status", "conditions")
            restored["metadata"]["resourceVersion"] = meta.get("resourceVersion")
            if "managedFields" in meta:
                restored["metadata"]["managedFields"] = meta["managedFields"]
            new.clear()
            new.update(restored)
            meta = new["metadata"]
            strategy.default(new)
        else:
            if "status" in rt.subresources:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            strategy.prepare_for_update(new, old)
            strategy.default(new)
            if strategy.tracks_generation and _spec_changed(new, old):
                meta["generation"] = int(old_meta.get("generation") or 1) + 1
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid_object(rt.group, rt.kind, meta["name"], [errors.forbidden(
                    "metadata.finalizers",
                    f"no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {sorted(added)!r}".replace("'", '"'))])
        errs = validation.validate_object_meta(
            new, namespaced=rt.namespaced, name_rule=validation.name_rule_for(rt.group, rt.kind))
        errs += validation.validate_object_meta_update(new, old)
        if subresource and subresource != "binding":
            errs += strategy.validate_subresource_update(subresource, new, old)
        elif not subresource:
            errs += strategy.validate_update(new, old)
        if errs:
            raise errors.invalid_object(rt.group, rt.kind, meta.get("name", ""), errs)
        await strategy.before_update(self.ctx, new, old)

    # ---- delete ------------------------------------------------------------

    async def delete(self, rt: ResourceType, namespace: str | None, name: str,
                     options: dict | None = None, *, dry_run: bool = False,
                     user: UserInfo | None = None) -> WriteResult:
        options = options or {}
        key = rt.key(namespace, name)
        for _ in range(MAX_CAS_RETRIES):
            kv = await self._get_kv(rt, namespace, name)
            obj = self._present(rt, from_kv(kv))
            meta = obj["metadata"]
            _check_preconditions(rt, obj, options.get("preconditions") or {})
            await self.ctx.admission.validate(self.ctx, AdmissionRequest(
                "DELETE", rt, namespace, name, user or SYSTEM_APISERVER, None, obj,
                dry_run=dry_run, options=options))
            finalizers = list(meta.get("finalizers") or [])
            policy = _propagation_policy(options)
            if policy == "Orphan" and ORPHAN_FINALIZER not in finalizers:
                finalizers.append(ORPHAN_FINALIZER)
            elif policy == "Foreground" and FOREGROUND_FINALIZER not in finalizers:
                finalizers.append(FOREGROUND_FINALIZER)
            if policy in ("Background", "Foreground"):
                finalizers = [f for f in finalizers if f != ORPHAN_FINALIZER]
            if policy in ("Background", "Orphan"):
                finalizers = [f for f in finalizers if f != FOREGROUND_FINALIZER]
            grace = self._grace_period(rt, obj, options)
            if finalizers or grace or _held(rt, obj):
                marked = copy.deepcopy(obj)
                mmeta = marked["metadata"]
                if rt.group == "" and rt.kind == "Namespace":
                    marked.setdefault("status", {})["phase"] = "Terminating"
                if finalizers:
                    mmeta["finalizers"] = finalizers
                else:
                    mmeta.pop("finalizers", None)
                current_grace = mmeta.get("deletionGracePeriodSeconds")
                if not mmeta.get("deletionTimestamp") or grace < int(current_grace or 0):
                    stamp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                        seconds=grace)
                    mmeta["deletionTimestamp"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
                    mmeta["deletionGracePeriodSeconds"] = grace
                    if rt.strategy.tracks_generation:
                        mmeta["generation"] = int(mmeta.get("generation") or 1) + 1
                if _same_content(marked, obj) or dry_run:
                    return WriteResult(marked)
                try:
                    revision = await self.ctx.store.update(
                        key, encode_for_store(self._to_storage(rt, marked)), kv.mod_revision)
                except ConflictError:
                    continue
                except KeyNotFoundError:
                    raise errors.not_found(rt.group, rt.plural, name) from None
                mmeta["resourceVersion"] = str(revision)
                return WriteResult(marked)
            if dry_run:
                return WriteResult(obj, deleted=True)
            try:
                return await self._finish_delete(rt, kv, obj)
            except errors.APIError as err:
                if err.code == 409:
                    continue
                raise
        raise errors.conflict(rt.group, rt.plural, name, errors.STALE_OBJECT)

    def _grace_period(self, rt: ResourceType, obj: dict, options: dict) -> int:
        """Seconds a deletion waits (only pods on a node wait, as upstream)."""
        if rt.group != "" or rt.kind != "Pod":
            return 0
        if not get_path(obj, "spec", "nodeName"):
            return 0
        if get_path(obj, "status", "phase") in ("Failed", "Succeeded"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = get_path(obj, "spec", "terminationGracePeriodSeconds", default=30)
        return max(0, int(grace))

    async def _finish_delete(self, rt: ResourceType, kv: KeyValue, obj: dict) -> WriteResult:
        try:
            revision, _ = await self.ctx.store.delete(kv.key, kv.mod_revision)
        except ConflictError:
            raise errors.conflict(rt.group, rt.plural, obj["metadata"]["name"],
                                  errors.STALE_OBJECT) from None
        except KeyNotFoundError:
            raise errors.not_found(rt.group, rt.plural, obj["metadata"]["name"]) from None
        obj["metadata"]["resourceVersion"] = str(revision)
        await rt.strategy.after_delete(self.ctx, obj)
        return WriteResult(obj, deleted=True)


def drop_empty_metadata(meta: dict) -> None:
    """Empty lists and maps are absent, as Go's omitempty encoding leaves them."""
    for field in ("labels", "annotations", "finalizers", "ownerReferences"):
        if field in meta and not meta[field]:
            del meta[field]


def _carry_annotations(restored: dict, sent: dict) -> None:
    """Status writes may change annotations (e.g. a Deployment's revision), as upstream's
    status strategies of the workload kinds allow; labels and the rest stay."""
    if sent.get("annotations"):
        restored["annotations"] = sent["annotations"]
    else:
        restored.pop("annotations", None)


def _held(rt: ResourceType, obj: dict) -> bool:
    """Whether something still holds the object back from deletion."""
    if get_path(obj, "metadata", "finalizers"):
        return True
    return rt.group == "" and rt.kind == "Namespace" and bool(
        get_path(obj, "spec", "finalizers"))


def _propagation_policy(options: dict) -> str | None:
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is not None:
        policy = "Orphan" if options["orphanDependents"] else "Background"
    if policy not in (None, "Orphan", "Foreground", "Background"):
        raise errors.invalid_object("", "DeleteOptions", "", [errors.not_supported(
            "propagationPolicy", policy, ["Background", "Foreground", "Orphan"])])
    return policy


def _check_preconditions(rt: ResourceType, obj: dict, pre: dict) -> None:
    meta = obj["metadata"]
    name = meta["name"]
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        raise errors.conflict(rt.group, rt.plural, name,
                              f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                              f"object meta: {meta.get('uid')}")
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
        raise errors.conflict(rt.group, rt.plural, name,
                              f"Precondition failed: ResourceVersion in precondition: "
                              f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                              f"{meta.get('resourceVersion')}")


def _spec_changed(new: dict, old: dict) -> bool:
    skip = ("metadata", "status")
    return {k: v for k, v in new.items() if k not in skip} != {
        k: v for k, v in old.items() if k not in skip}


def _same_content(new: dict, old: dict) -> bool:
    def strip(o: dict) -> dict:
        meta = {k: v for k, v in (o.get("metadata") or {}).items()
                if k not in ("resourceVersion", "managedFields")}
        return {**o, "metadata": meta}

    return strip(new) == strip(old)
