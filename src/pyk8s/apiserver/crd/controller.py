"""The in-process CRD controller: turns stored CRDs into served resources and back.

Why this exists: a CRD is data in the store, but serving it changes the server
(registry, discovery, OpenAPI, printers, watch cache). This controller follows the
CRD collection through the watch cache and, for each CRD:

* written (not deleting): (re)installs its served versions when its generation
  changes, and sets its status as upstream's naming and establishing controllers
  do: ``acceptedNames``, conditions ``NamesAccepted`` and ``Established``, and the
  storage version in ``storedVersions``;
* marked for deletion: refuses new objects, sets ``Terminating``, deletes every
  object of the resource, then removes the ``customresourcecleanup`` finalizer so
  the CRD goes away (upstream's finalizer controller);
* gone: stops serving it.
"""

from __future__ import annotations

import asyncio
import logging

from .. import errors
from ..context import ServerContext
from ..objects import ObjectStore, from_kv, now_rfc3339
from ..registry import ResourceType
from ..strategy import get_path
from .customresource import CRDState
from .serving import install, resource_types, storage_version, uninstall
from .strategy import CLEANUP_FINALIZER, GROUP

log = logging.getLogger(__name__)

CLEANUP_DEADLINE = 60.0  # seconds the controller keeps deleting objects held by finalizers


class CRDController:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.objects = ObjectStore(ctx)
        self.crd_rt = ctx.registry.get(GROUP, "v1", "customresourcedefinitions")
        self._served: dict[str, tuple[int, list[ResourceType], CRDState]] = {}
        self._task: asyncio.Task | None = None
        self._cleanups: dict[str, asyncio.Task] = {}

    async def start(self) -> None:
        cache = self.ctx.watch_cache
        items, revision = cache.snapshot(self.crd_rt.prefix, self.crd_rt.prefix)
        for crd in items:
            await self._sync(crd)
        subscribed = cache.subscribe(self.crd_rt.prefix, revision, lambda event: True)
        if subscribed is None:
            raise RuntimeError("CRD controller could not subscribe to the watch cache")
        self._task = asyncio.create_task(self._run(*subscribed), name="crd-controller")

    async def stop(self) -> None:
        for task in [self._task, *self._cleanups.values()]:
            if task:
                task.cancel()
        for task in [self._task, *self._cleanups.values()]:
            if task:
                try:
                    await task
                except asyncio.CancelledError:
                    pass

    async def _run(self, sub, backlog) -> None:
        for event in backlog:
            await self._handle(event)
        while True:
            event = await sub.queue.get()
            if event is None:
                log.warning("CRD watch ended; resubscribing")
                self.ctx.watch_cache.unsubscribe(self.crd_rt.prefix, sub)
                await self.start()
                return
            await self._handle(event)

    async def _handle(self, event) -> None:
        try:
            if event.type == "DELETED":
                self._withdraw(event.object["metadata"]["name"])
            else:
                await self._sync(event.object)
        except Exception:
            log.exception("CRD controller failed on %s", event.key)

    async def _sync(self, crd: dict) -> None:
        name = crd["metadata"]["name"]
        generation = int(get_path(crd, "metadata", "generation", default=1))
        served = self._served.get(name)
        if served is None or served[0] != generation:
            self._serve(crd, generation)
        state = self._served[name][2]
        if get_path(crd, "metadata", "deletionTimestamp"):
            state.terminating = True
            if name not in self._cleanups:
                self._cleanups[name] = asyncio.create_task(self._cleanup(crd, state),
                                                           name=f"crd-cleanup-{name}")
            return
        await self._set_status(name, _established_status)

    def _serve(self, crd: dict, generation: int) -> None:
        name = crd["metadata"]["name"]
        previous = self._served.pop(name, None)
        state = previous[2] if previous else CRDState(name, crd["spec"]["names"]["plural"],
                                                      crd["spec"]["group"])
        if previous:
            uninstall(self.ctx.registry, previous[1])
        rts = resource_types(crd, state)
        for rt in rts[:1]:
            self.ctx.watch_cache.add_prefix(rt.prefix)
        install(self.ctx.registry, crd, rts)
        self._served[name] = (generation, rts, state)
        log.info("serving %s (%s)", name, ", ".join(rt.version for rt in rts))

    def _withdraw(self, name: str) -> None:
        served = self._served.pop(name, None)
        if served is not None:
            uninstall(self.ctx.registry, served[1])
            log.info("stopped serving %s", name)
        self._cleanups.pop(name, None)

    async def _set_status(self, name: str, compute) -> None:
        def mutate(crd: dict) -> dict:
            crd["status"] = compute(crd)
            return crd

        try:
            await self.objects.update(self.crd_rt, None, name, mutate, subresource="status",
                                      client_rv_from_body=False)
        except errors.APIError as err:
            if err.code != 404:
                raise

    async def _cleanup(self, crd: dict, state: CRDState) -> None:
        name = crd["metadata"]["name"]
        try:
            await self._set_status(name, _terminating_status(
                "InstanceDeletionInProgress", "CustomResource deletion is in progress"))
            await self._delete_objects(name)
            await self._remove_finalizer(name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cleaning up CRD %s failed", name)
            self._cleanups.pop(name, None)

    async def _delete_objects(self, name: str) -> None:
        served = self._served.get(name)
        if not served or not served[1]:
            return
        rt = served[1][0]
        deadline = asyncio.get_running_loop().time() + CLEANUP_DEADLINE
        while asyncio.get_running_loop().time() < deadline:
            listing = await self.ctx.store.list(rt.prefix)
            if not listing.items:
                return
            for kv in listing.items:
                meta = from_kv(kv)["metadata"]
                if meta.get("deletionTimestamp"):
                    continue
                try:
                    await self.objects.delete(rt, meta.get("namespace"), meta["name"])
                except errors.APIError as err:
                    if err.code != 404:
                        raise
            await asyncio.sleep(0.2)
        log.warning("objects of %s still held by finalizers; CRD stays terminating", name)

    async def _remove_finalizer(self, name: str) -> None:
        def mutate(crd: dict) -> dict:
            finalizers = [f for f in crd["metadata"].get("finalizers") or ()
                          if f != CLEANUP_FINALIZER]
            crd["metadata"]["finalizers"] = finalizers
            if not finalizers:
                crd["metadata"].pop("finalizers")
            return crd

        try:
            await self.objects.update(self.crd_rt, None, name, mutate, client_rv_from_body=False)
        except errors.APIError as err:
            if err.code != 404:
                raise


def _condition(crd: dict, type_: str, status: str, reason: str, message: str) -> dict:
    for cond in get_path(crd, "status", "conditions", default=[]):
        if cond.get("type") == type_ and cond.get("status") == status:
            return {**cond, "reason": reason, "message": message}
    return {"type": type_, "status": status, "lastTransitionTime": now_rfc3339(),
            "reason": reason, "message": message}


def _accepted_names(crd: dict) -> dict:
    names = dict(crd["spec"]["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    return names


def _established_status(crd: dict) -> dict:
    status = dict(crd.get("status") or {})
    status["acceptedNames"] = _accepted_names(crd)
    others = [c for c in status.get("conditions") or ()
              if c.get("type") not in ("NamesAccepted", "Established")]
    status["conditions"] = [
        _condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        _condition(crd, "Established", "True", "InitialNamesAccepted",
                   "the initial names have been accepted"),
    ] + others
    stored = list(status.get("storedVersions") or ())
    storage = storage_version(crd)
    if storage and storage["name"] not in stored:
        stored.append(storage["name"])
    status["storedVersions"] = stored
    return status


def _terminating_status(reason: str, message: str):
    def compute(crd: dict) -> dict:
        status = dict(crd.get("status") or {})
        others = [c for c in status.get("conditions") or () if c.get("type") != "Terminating"]
        status["conditions"] = others + [_condition(crd, "Terminating", "True", reason,
                                                    message)]
        return status

    return compute
