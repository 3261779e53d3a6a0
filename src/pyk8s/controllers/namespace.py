"""Namespace controller: empties a deleted namespace, then releases its ``kubernetes`` finalizer.

Deleting a namespace only marks it (deletionTimestamp, phase Terminating); the API server
removes it once ``spec.finalizers`` is empty. As upstream's namespace controller
(``namespaced_resources_deleter.go``), every pass over a terminating namespace:

1. re-reads it live and makes sure its phase is Terminating;
2. discovers every namespaced resource that supports ``delete`` (custom resources too) and,
   for each, deletes the collection (or each item when deletecollection is not served)
   with propagation Background, then lists what remains;
3. writes the five deletion conditions (:mod:`.util.nsconditions`);
4. when content remains (pods inside their grace period, objects held by finalizers) it
   requeues after half the estimated wait; when a step failed it retries with backoff;
   when the namespace is empty it PUTs ``/finalize`` without the ``kubernetes`` finalizer.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..client import NotFound, retry_on_conflict
from ..client.discovery import Resource
from ..client.errors import ClientError, MethodNotAllowed
from . import register
from .base import Controller
from .util import nsconditions
from .util.discovery import ServedResources, discover, resource_api

FINALIZER = "kubernetes"
# How long to wait for objects that carry finalizers (upstream's finalizerEstimateSeconds).
FINALIZER_ESTIMATE = 15
BACKGROUND = "Background"


class ResourcesRemaining(Exception):
    """Content is still going away; look again in about ``estimate`` seconds."""

    def __init__(self, estimate: int) -> None:
        super().__init__(f"some content remains in the namespace, estimate {estimate} seconds "
                         f"before it is removed")
        self.estimate = estimate


class ContentDeletionFailed(Exception):
    """Discovery, a delete or a list failed; retried with backoff."""


@dataclass
class Outcome:
    """What deleting one resource's content left behind."""

    estimate: int = 0
    remaining: int = 0
    finalizers: Counter = field(default_factory=Counter)
    error: str = ""


def gvr(res: Resource) -> str:
    """A GroupVersionResource as Go's %v prints it."""
    return f"{{{res.group} {res.version} {res.plural}}}"


def leftovers(items: list[dict] | None, estimate: int, res: Resource, namespace: str
              ) -> Outcome:
    """How to judge what a list after deletion still shows (None: list not served)."""
    if items is None:
        return Outcome(estimate=estimate)
    if not items:
        return Outcome()
    finalizers = Counter(f for item in items
                         for f in (item.get("metadata") or {}).get("finalizers") or ())
    if estimate:
        return Outcome(estimate, len(items), finalizers)
    if finalizers:
        return Outcome(FINALIZER_ESTIMATE, len(items), finalizers)
    return Outcome(0, len(items), error=f"unexpected items still remain in namespace: "
                                        f"{namespace} for gvr: {gvr(res)}")


def pod_grace_estimate(pods: list[dict], deleted_at: datetime, now: datetime) -> int:
    """The longest grace period of a non-terminal pod, or 0 once that much time has passed
    since the namespace was deleted."""
    estimate = 0
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        if grace is not None:
            estimate = max(estimate, int(grace))
    return 0 if (now - deleted_at).total_seconds() >= estimate else estimate


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@register("namespace")
class NamespaceController(Controller):
    def setup(self) -> None:
        self.namespaces = self.ctx.informers.informer("v1", "Namespace")
        self.namespaces.add_event_handler(on_add=self._maybe_enqueue,
                                          on_update=lambda old, new: self._maybe_enqueue(new))
        self.api = self.client.api("v1", "Namespace")

    def _maybe_enqueue(self, ns: dict) -> None:
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            self.enqueue(ns)

    async def sync(self, key: str) -> None:
        try:
            await self._delete(key)
        except ResourcesRemaining as err:
            delay = err.estimate // 2 + 1
            self.log.debug("content remaining in namespace %s, waiting %d seconds", key, delay)
            self.queue.add_after(key, delay)

    async def _delete(self, name: str) -> None:
        try:
            ns = await self.api.get(name)
        except NotFound:
            return
        if not ns["metadata"].get("deletionTimestamp"):
            return
        try:
            ns = await self._mark_terminating(ns)
        except NotFound:
            return
        if not (ns.get("spec") or {}).get("finalizers"):
            return
        estimate = await self._delete_all_content(ns)
        if estimate > 0:
            raise ResourcesRemaining(estimate)
        try:
            await self._finalize(ns)
        except NotFound:
            return
        self.log.info("namespace %s emptied and finalized", name)

    # -- namespace writes ---------------------------------------------------------

    async def _retry(self, ns: dict, mutate, write) -> dict:
        """retry_on_conflict over live reads, refusing to act on a recreated namespace."""
        uid = ns["metadata"]["uid"]
        first = True

        async def get() -> dict:
            nonlocal first
            if first:
                first = False
                return ns
            latest = await self.api.get(ns["metadata"]["name"])
            if latest["metadata"].get("uid") != uid:
                raise ContentDeletionFailed("namespace uid has changed across retries")
            return latest

        return await retry_on_conflict(get, mutate, write)

    async def _mark_terminating(self, ns: dict) -> dict:
        def mutate(obj: dict) -> dict | None:
            if not obj["metadata"].get("deletionTimestamp") or \
                    (obj.get("status") or {}).get("phase") == "Terminating":
                return None
            obj.setdefault("status", {})["phase"] = "Terminating"
            return obj

        return await self._retry(ns, mutate, self.api.update_status)

    async def _finalize(self, ns: dict) -> dict:
        def mutate(obj: dict) -> dict | None:
            finalizers = (obj.get("spec") or {}).get("finalizers") or []
            if FINALIZER not in finalizers:
                return None
            obj.setdefault("spec", {})["finalizers"] = sorted(
                {f for f in finalizers if f != FINALIZER})
            return obj

        return await self._retry(
            ns, mutate, lambda body: self.api.update(body, subresource="finalize"))

    async def _update_conditions(self, ns: dict, report: nsconditions.ConditionReport) -> None:
        status = nsconditions.apply(ns.get("status") or {}, report)
        if status is None:
            return
        try:
            await self.api.update_status({**copy.deepcopy(ns), "status": status})
        except ClientError as err:
            self.log.warning("couldn't update status condition for namespace %r: %s",
                             ns["metadata"]["name"], err)

    # -- content ------------------------------------------------------------------

    async def _discover(self, report: nsconditions.ConditionReport, errors: list[str]
                        ) -> list[Resource]:
        try:
            served = await discover(self.client)
        except ClientError as err:
            report.discovery_error = str(err)
            errors.append(str(err))
            served = ServedResources()
        if served.failed:
            report.discovery_failed_groups = served.failed
            errors.append(f"discovery failed for {', '.join(served.failed)}")
        return [r for r in served.preferred if r.namespaced and "delete" in r.verbs]

    async def _delete_all_content(self, ns: dict) -> int:
        """Delete everything in ``ns``; the seconds to wait for what remains (0: empty)."""
        name = ns["metadata"]["name"]
        deleted_at = _parse_time(ns["metadata"]["deletionTimestamp"])
        report = nsconditions.ConditionReport()
        errors: list[str] = []
        resources = await self._discover(report, errors)
        outcomes = await asyncio.gather(*(self._delete_resource(res, name, deleted_at)
                                          for res in resources))
        estimate = 0
        for res, outcome in zip(resources, outcomes):
            if outcome.error:
                report.delete_errors.append(outcome.error)
                errors.append(outcome.error)
            estimate = max(estimate, outcome.estimate)
            if outcome.remaining:
                report.remaining[(res.group, res.plural)] = outcome.remaining
                report.finalizers.update(outcome.finalizers)
        await self._update_conditions(ns, report)
        if errors:
            raise ContentDeletionFailed("; ".join(errors))
        return estimate

    async def _delete_resource(self, res: Resource, namespace: str, deleted_at: datetime
                               ) -> Outcome:
        api = resource_api(self.client, res)
        estimate = 0
        try:
            if (res.group, res.plural) == ("", "pods"):
                pods = (await api.list(namespace=namespace)).get("items") or []
                estimate = pod_grace_estimate(pods, deleted_at, datetime.now(UTC))
            if not await self._delete_collection(res, api, namespace):
                await self._delete_each(res, api, namespace)
            items = await self._list(res, api, namespace)
        except ClientError as err:
            return Outcome(estimate=estimate, error=f"{gvr(res)}: {err}")
        return leftovers(items, estimate, res, namespace)

    async def _delete_collection(self, res: Resource, api, namespace: str) -> bool:
        """True if the collection was deleted, False if deletecollection is not served."""
        if "deletecollection" not in res.verbs:
            return False
        try:
            await api.delete_collection(namespace=namespace, propagation_policy=BACKGROUND)
        except (MethodNotAllowed, NotFound):
            return False
        return True

    async def _list(self, res: Resource, api, namespace: str) -> list[dict] | None:
        if "list" not in res.verbs:
            return None
        try:
            return (await api.list(namespace=namespace)).get("items") or []
        except (MethodNotAllowed, NotFound):
            return None

    async def _delete_each(self, res: Resource, api, namespace: str) -> None:
        for item in await self._list(res, api, namespace) or ():
            try:
                await api.delete(item["metadata"]["name"], namespace=namespace,
                                 propagation_policy=BACKGROUND)
            except (MethodNotAllowed, NotFound):
                pass
