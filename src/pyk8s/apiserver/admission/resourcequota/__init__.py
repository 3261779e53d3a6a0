"""ResourceQuota: refuse writes that would take a namespace past its quotas.

As upstream's quota admission (staging apiserver/pkg/admission/plugin/resourcequota),
the last validating plugin: it works out what the object adds (``usage``), and
for each quota of the namespace whose hard limits cover it, charges the quota's
``status.used`` with a compare-and-swap update before the object is written,
re-checking on every conflict, so concurrent creates never overshoot. Over the
limit is Forbidden: ``exceeded quota: q, requested: pods=1, used: pods=2,
limited: pods=2``.

Charging only ever adds. Giving usage back when objects go away is the resource
quota controller's replenishment (kube-controller-manager); here the API server
only recalculates a quota when it is created or its spec changes: ``status.hard``
from ``spec.hard`` and ``status.used`` by counting the namespace's objects.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ... import errors
from ...user import SYSTEM_APISERVER
from .. import AdmissionPlugin, AdmissionRequest, lookup
from ..quantities import ResourceList, add, parse_list, pretty, subtract, to_json
from .usage import (
    ZERO,
    container_missing,
    matches_scopes,
    resources_for_hard,
    tally,
    usage,
)

if TYPE_CHECKING:
    from ...context import ServerContext

log = logging.getLogger(__name__)

MANAGER = "kube-apiserver"
#: Evaluators that charge updates too (what an update can grow), as upstream.
UPDATE_CHARGED = frozenset({("", "services"), ("", "persistentvolumeclaims")})
RECALC_WAIT_STEPS = 40  # x 50 ms: how long a spec change may take to reach the store


def _hard(quota: dict) -> ResourceList:
    return parse_list((quota.get("spec") or {}).get("hard"))


def _stale(quota: dict) -> bool:
    """status.hard is not spec.hard, or a hard resource has no used value yet."""
    spec_hard = (quota.get("spec") or {}).get("hard") or {}
    status = quota.get("status") or {}
    return parse_list(status.get("hard")) != parse_list(spec_hard) or any(
        name not in (status.get("used") or {}) for name in spec_hard)


async def compute_used(ctx: "ServerContext", quota: dict) -> ResourceList:
    """status.used from the namespace's objects (what the controller recalculates)."""
    hard = _hard(quota)
    namespace = quota["metadata"].get("namespace")
    listed = []
    for group, plural in sorted(resources_for_hard(set(hard))):
        rt = lookup.resource(ctx, group, plural)
        if rt is not None:
            listed.append((rt, await lookup.list_objects(ctx, group, plural, namespace)))
    return tally(quota, hard, listed)


async def recalculate(ctx: "ServerContext", namespace: str, name: str) -> None:
    """Write a quota's status afresh (hard from spec, used by counting)."""
    from ...objects import ObjectStore

    rt = lookup.resource(ctx, "", "resourcequotas")
    current = await lookup.get(ctx, "", "resourcequotas", namespace, name, live=True)
    if current is None:
        return
    used = await compute_used(ctx, current)

    def mutate(quota: dict) -> dict:
        quota["status"] = {"hard": (quota.get("spec") or {}).get("hard") or {},
                           "used": to_json(used)}
        return quota

    try:
        await ObjectStore(ctx).update(rt, namespace, name, mutate, subresource="status",
                                      client_rv_from_body=False, user=SYSTEM_APISERVER,
                                      manager=MANAGER)
    except errors.APIError as err:
        if err.code != 404:
            raise


class ResourceQuota(AdmissionPlugin):
    name = "ResourceQuota"

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if (req.is_resource("", "resourcequotas") and req.operation == "CREATE"
                and not req.subresource and isinstance(req.object, dict)):
            quota = req.object
            quota.setdefault("metadata", {}).setdefault("namespace", req.namespace)
            used = await compute_used(ctx, quota)
            quota["status"] = {"hard": (quota.get("spec") or {}).get("hard") or {},
                               "used": to_json(used)}

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.subresource or not req.rt.namespaced or not req.namespace \
                or not isinstance(req.object, dict):
            return
        key = (req.rt.group, req.rt.plural)
        if key == ("", "resourcequotas") and req.operation == "UPDATE":
            if (req.object.get("spec") or {}).get("hard") != \
                    ((req.old_object or {}).get("spec") or {}).get("hard") and not req.dry_run:
                self._recalculate_after_write(ctx, req)
        if req.operation != "CREATE" and (req.operation != "UPDATE"
                                          or key not in UPDATE_CHARGED):
            return
        # Most namespaces have no quota: look before computing the object's usage.
        quotas = await lookup.list_objects(ctx, "", "resourcequotas", req.namespace)
        if not quotas:
            return
        if req.operation == "CREATE":
            delta = usage(req.rt, req.object)
        else:
            delta = subtract(usage(req.rt, req.object), usage(req.rt, req.old_object or {}))
        delta = {k: v for k, v in delta.items() if v.value != 0}
        if not delta:
            return
        for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
            hard = _hard(quota)
            if not matches_scopes(quota, req.rt, req.object) or not set(hard) & set(delta):
                continue
            if key == ("", "pods"):
                self._check_constraints(req, quota, set(hard))
            await self._charge(ctx, req, quota["metadata"]["name"], delta)

    def _check_constraints(self, req: AdmissionRequest, quota: dict, hard: set[str]) -> None:
        missing = container_missing(req.object, hard)
        if missing:
            detail = "; ".join(f"{name} for: {','.join(sorted(containers))}"
                               for name, containers in sorted(missing.items()))
            raise req.forbidden(f"failed quota: {quota['metadata']['name']}: must specify "
                                f"{detail}")

    async def _charge(self, ctx: "ServerContext", req: AdmissionRequest, name: str,
                      delta: ResourceList) -> None:
        from ...objects import ObjectStore

        current = await lookup.get(ctx, "", "resourcequotas", req.namespace, name, live=True)
        if current is None:
            return
        if _stale(current):
            await recalculate(ctx, req.namespace, name)

        def mutate(quota: dict) -> dict:
            status = quota.get("status") or {}
            hard, used = parse_list(status.get("hard")), parse_list(status.get("used"))
            requested = {k: v for k, v in delta.items() if k in hard}
            new_used = add(used, requested)
            exceeded = sorted(k for k in requested if new_used[k].value > hard[k].value)
            if exceeded:
                raise req.forbidden(
                    f"exceeded quota: {name}, requested: "
                    f"{pretty({k: requested[k] for k in exceeded})}, used: "
                    f"{pretty({k: used.get(k, ZERO) for k in exceeded})}, "
                    f"limited: {pretty({k: hard[k] for k in exceeded})}")
            if req.dry_run:
                raise _DryRunChecked
            quota["status"] = {**status, "used": {**(status.get("used") or {}),
                                                  **to_json({k: new_used[k] for k in requested})}}
            return quota

        rt = lookup.resource(ctx, "", "resourcequotas")
        try:
            await ObjectStore(ctx).update(rt, req.namespace, name, mutate, subresource="status",
                                          client_rv_from_body=False, user=SYSTEM_APISERVER,
                                          manager=MANAGER)
        except _DryRunChecked:
            return
        except errors.APIError as err:
            if err.code == 404:  # the quota went away meanwhile: nothing to charge
                return
            raise

    def _recalculate_after_write(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        """Recalculate once the new spec is stored (this request writes it after us)."""
        hard = (req.object.get("spec") or {}).get("hard")

        async def run() -> None:
            for _ in range(RECALC_WAIT_STEPS):
                await asyncio.sleep(0.05)
                quota = await lookup.get(ctx, "", "resourcequotas", req.namespace, req.name,
                                         live=True)
                if quota is None:
                    return
                if (quota.get("spec") or {}).get("hard") == hard:
                    await recalculate(ctx, req.namespace, req.name)
                    return

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("quota recalculation failed: %s", task.exception())


class _DryRunChecked(Exception):
    """Ends a dry-run charge once the limits were checked, without writing."""
