"""Garbage collector: deletes dependents whose owners are gone, and carries out the
foreground and orphan deletion the API server only marks with finalizers.

As upstream's garbagecollector (``garbagecollector.go``, ``operations.go``):

* monitors (:mod:`.gc_monitors`) watch every list/watch/delete resource, custom ones
  included, and feed the dependency graph (:mod:`.gc_graph`); discovery is redone every
  ``RESYNC_PERIOD`` seconds and whenever a CustomResourceDefinition changes, so monitors
  follow the served set without ever relisting on a timer;
* ``attempt_to_delete`` workers look at one node at a time: they read the object live,
  check each owner with a live GET (uid compared, absences remembered in a small cache),
  and then keep it, drop references to owners that are gone or waiting, or delete it with
  uid and resourceVersion preconditions (Background unless the object's own finalizers ask
  for Orphan or Foreground). An owner in foreground deletion loses its
  ``foregroundDeletion`` finalizer once no dependent blocks it;
* ``attempt_to_orphan`` workers remove an owner's references from all its dependents, then
  its ``orphan`` finalizer.

Owners that do not exist produce *virtual delete* events, fed straight back into the graph.
Work starts once every monitor has listed; on stop the queues are shut down and whatever
is still queued is dropped unprocessed (the next leader starts from a fresh graph).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from ..client import Conflict, NotFound, RateLimitingQueue, ShutDown, retry_on_conflict
from ..client.discovery import Resource
from ..client.errors import ClientError
from . import register
from .base import Controller
from .gc_graph import FOREGROUND, ORPHAN, Graph, Identity, Node, decide, virtual_delete
from .gc_monitors import Monitors, monitorable
from .util.discovery import ServedResources, discover, resource_api

RESYNC_PERIOD = 30.0
SYNC_TIMEOUT = 60.0
DELETE_WORKERS = 20
ORPHAN_WORKERS = 5


class VirtualDeleteQueued(Exception):
    """The item does not exist; a virtual delete event went to the graph."""


class NamespacedOwnerOfClusterScoped(Exception):
    """A cluster-scoped object names a namespaced owner: it can never resolve."""


class RestMappingError(Exception):
    """apiVersion/kind of a reference is not served (yet)."""


@register("garbage-collector")
class GarbageCollector(Controller):
    def setup(self) -> None:
        self.delete_queue = RateLimitingQueue(name="garbage_collector_attempt_to_delete")
        self.orphan_queue = RateLimitingQueue(name="garbage_collector_attempt_to_orphan")
        self.graph = Graph(self.delete_queue, self.orphan_queue,
                           on_invalid_namespace=self._report_invalid_namespace)
        self.monitors = Monitors(self.client, self.graph.process)
        self.served = ServedResources()
        self._rediscover = asyncio.Event()
        crds = self.ctx.informers.informer("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        crds.add_event_handler(on_add=lambda obj: self._rediscover.set(),
                               on_update=lambda old, new: self._rediscover.set(),
                               on_delete=lambda obj: self._rediscover.set())

    # -- lifecycle ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            if not await _until(stop, self._first_sync()):
                return
            self.log.info("proceeding to collect garbage")
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._resync_loop(stop))
                for i in range(DELETE_WORKERS):
                    tg.create_task(self._worker(self.delete_queue, self._attempt_to_delete,
                                                stop), name=f"gc delete worker {i}")
                for i in range(ORPHAN_WORKERS):
                    tg.create_task(self._worker(self.orphan_queue, self._attempt_to_orphan,
                                                stop), name=f"gc orphan worker {i}")
                await stop.wait()
                self.delete_queue.shutdown()
                self.orphan_queue.shutdown()
        finally:
            await self.monitors.stop()

    async def _first_sync(self) -> None:
        """Discover (retrying) and wait for the monitors' first lists; a monitor that
        cannot list (forbidden, failing) does not hold the collector back for ever:
        every decision is checked against the API server anyway."""
        while not await self._resync():
            await asyncio.sleep(1.0)
        try:
            async with asyncio.timeout(SYNC_TIMEOUT):
                await self.monitors.wait_for_sync()
        except TimeoutError:
            self.log.warning("not all resource monitors synced within %.0fs; proceeding",
                             SYNC_TIMEOUT)

    async def _resync_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _until(stop, _wait_event(self._rediscover, RESYNC_PERIOD))
            if stop.is_set():
                return
            self._rediscover.clear()
            await self._resync()

    async def _resync(self) -> bool:
        """Rediscover and adjust the monitors; False when discovery failed."""
        try:
            served = await discover(self.client)
        except ClientError as err:
            self.log.warning("failed to discover resources: %s", err)
            return False
        self.served = served
        started, stopped = self.monitors.sync(monitorable(served.preferred), served.failed)
        if started or stopped:
            self.log.info("monitors: started %s, stopped %s", started or "none",
                          stopped or "none")
        return True

    async def _worker(self, queue: RateLimitingQueue,
                      handle: Callable[[Node], Awaitable[bool]], stop: asyncio.Event) -> None:
        while True:
            try:
                node = await queue.get()
            except ShutDown:
                return
            try:
                requeue = not stop.is_set() and await self._handle(handle, node)
                if requeue:
                    queue.add_rate_limited(node)
                else:
                    queue.forget(node)
            finally:
                queue.done(node)

    async def _handle(self, handle: Callable[[Node], Awaitable[bool]], node: Node) -> bool:
        try:
            return await handle(node)
        except RestMappingError as err:
            self.log.debug("%s: %s; will retry", node.identity, err)
        except Exception as err:  # any failure is retried with backoff, never fatal
            self.log.warning("processing %s failed (%s); requeued", node.identity, err,
                             exc_info=self.log.isEnabledFor(logging.DEBUG))
        return True

    # -- attempt to delete ----------------------------------------------------------------

    async def _attempt_to_delete(self, node: Node) -> bool:
        """Look at one node; True to look again later (with backoff)."""
        if node.virtual:
            current = self.graph.nodes.get(node.identity.uid)
            if current is None or not current.virtual:
                return False  # observed or removed meanwhile
        try:
            await self._attempt_to_delete_item(node)
        except (VirtualDeleteQueued, NamespacedOwnerOfClusterScoped):
            return False
        # a virtual node stays on the queue until its object is observed (or gone)
        return node.virtual

    async def _attempt_to_delete_item(self, item: Node) -> None:
        if item.being_deleted and not item.deleting_dependents:
            return
        latest = await self._get_live(item.identity)
        if item.deleting_dependents:
            await self._process_deleting_dependents(item)
            return
        refs = latest["metadata"].get("ownerReferences") or []
        if not refs:
            return
        solid, dangling, waiting = await self._classify(item, refs)
        decision = decide(latest, solid, dangling, waiting, item.dependents)
        if decision.action == "drop-refs":
            self.log.info("removing dangling and waiting references %s from %s",
                          decision.remove_uids, item.identity)
            await self._patch_metadata(item.identity, _drop_refs(set(decision.remove_uids)))
        elif decision.action == "delete":
            if decision.unblock:
                await self._patch_metadata(item.identity, _unblock_refs)
            self.log.info("deleting %s with propagation %s", item.identity, decision.policy)
            await self._delete_object(item.identity, latest["metadata"].get("resourceVersion"),
                                      refs, decision.policy)

    async def _get_live(self, identity: Identity) -> dict:
        """The object now, or VirtualDeleteQueued if it (that uid) no longer exists."""
        try:
            latest = await self._get(identity)
        except NotFound:
            latest = None
        if latest is None or latest["metadata"].get("uid") != identity.uid:
            self.graph.process(virtual_delete(identity))
            raise VirtualDeleteQueued(str(identity))
        return latest

    async def _process_deleting_dependents(self, item: Node) -> None:
        blocking = item.blocking_dependents()
        if not blocking:
            self.log.info("removing %s finalizer from %s", FOREGROUND, item.identity)
            await self._remove_finalizer(item.identity, FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.delete_queue.add(dep)

    async def _classify(self, item: Node, refs: list[dict]
                        ) -> tuple[list[dict], list[dict], list[dict]]:
        """Sort references into solid, dangling and waiting-for-dependents owners."""
        solid, dangling, waiting = [], [], []
        for ref in refs:
            owner = await self._live_owner(ref, item)
            if owner is None:
                dangling.append(ref)
            elif owner["metadata"].get("deletionTimestamp") and \
                    FOREGROUND in (owner["metadata"].get("finalizers") or ()):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    async def _live_owner(self, ref: dict, item: Node) -> dict | None:
        """The owner ``ref`` names, or None when it is verified absent."""
        cluster_key = Identity(ref.get("apiVersion", ""), ref.get("kind", ""),
                               ref.get("name", ""), ref.get("uid", ""))
        namespaced_key = replace(cluster_key, namespace=item.identity.namespace)
        if cluster_key in self.graph.absent or namespaced_key in self.graph.absent:
            return None
        res = self._mapping(cluster_key.api_version, cluster_key.kind)
        if res.namespaced and not item.identity.namespace:
            self.log.info("%s is cluster-scoped but refers to a namespaced owner of type %s",
                          item.identity, res.kind)
            raise NamespacedOwnerOfClusterScoped(str(item.identity))
        key = namespaced_key if res.namespaced else cluster_key
        try:
            owner = await self._get(key)
        except NotFound:
            owner = None
        if owner is None or owner["metadata"].get("uid") != key.uid:
            self.graph.absent.add(key)
            return None
        return owner

    # -- attempt to orphan ----------------------------------------------------------------

    async def _attempt_to_orphan(self, owner: Node) -> bool:
        dependents = list(owner.dependents)
        results = await asyncio.gather(
            *(self._patch_metadata(dep.identity, _drop_refs({owner.identity.uid}))
              for dep in dependents), return_exceptions=True)
        failed = [f"{dep.identity}: {res}" for dep, res in zip(dependents, results)
                  if isinstance(res, Exception)]
        if failed:
            self.log.warning("orphaning dependents of %s failed: %s", owner.identity,
                             "; ".join(failed))
            return True
        await self._remove_finalizer(owner.identity, ORPHAN)
        return False

    # -- API calls ------------------------------------------------------------------------

    def _mapping(self, api_version: str, kind: str) -> Resource:
        res = self.served.lookup(api_version, kind)
        if res is None:
            self._rediscover.set()
            raise RestMappingError(f"unable to get REST mapping for {kind}.{api_version}")
        return res

    def _locate(self, identity: Identity) -> tuple[Any, str | None]:
        res = self._mapping(identity.api_version, identity.kind)
        if res.namespaced and not identity.namespace:
            raise NamespacedOwnerOfClusterScoped(str(identity))
        return resource_api(self.client, res), identity.namespace if res.namespaced else None

    async def _get(self, identity: Identity) -> dict:
        api, namespace = self._locate(identity)
        return await api.get(identity.name, namespace=namespace)

    async def _delete_object(self, identity: Identity, resource_version: str | None,
                             owners: list[dict], policy: str) -> None:
        api, namespace = self._locate(identity)
        preconditions = {"uid": identity.uid}
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        try:
            await api.delete(identity.name, namespace=namespace, propagation_policy=policy,
                             preconditions=preconditions)
        except NotFound:
            return
        except Conflict:
            if not resource_version:
                raise
            try:
                live = await api.get(identity.name, namespace=namespace)
            except NotFound:
                return
            meta = live["metadata"]
            if meta.get("uid") == identity.uid and \
                    meta.get("resourceVersion") != resource_version and \
                    (meta.get("ownerReferences") or []) == owners:
                await self._delete_object(identity, None, owners, policy)
                return
            raise

    async def _patch_metadata(self, identity: Identity,
                              change: Callable[[dict], dict | None]) -> None:
        """Merge-patch the metadata fields ``change(metadata)`` returns (None: nothing to
        do), guarded by resourceVersion and retried on conflict; a vanished object (or a
        different one under the same name) is left alone."""
        api, namespace = self._locate(identity)

        async def get() -> dict:
            return await api.get(identity.name, namespace=namespace)

        def mutate(obj: dict) -> dict | None:
            meta = obj["metadata"]
            if meta.get("uid") != identity.uid:
                return None
            fields = change(meta)
            if fields is None:
                return None
            return {"metadata": {"resourceVersion": meta.get("resourceVersion"), **fields}}

        async def patch(body: dict) -> dict:
            return await api.patch(identity.name, body, namespace=namespace, type="merge")

        try:
            await retry_on_conflict(get, mutate, patch)
        except NotFound:
            pass

    async def _remove_finalizer(self, identity: Identity, finalizer: str) -> None:
        def change(meta: dict) -> dict | None:
            finalizers = meta.get("finalizers") or []
            if finalizer not in finalizers:
                return None
            return {"finalizers": [f for f in finalizers if f != finalizer] or None}

        await self._patch_metadata(identity, change)

    def _report_invalid_namespace(self, node: Node, ref: dict) -> None:
        ident = node.identity
        invalid = Identity(ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""),
                           ref.get("uid", ""), ident.namespace)
        regarding = {"apiVersion": ident.api_version, "kind": ident.kind,
                     "metadata": {"name": ident.name, "namespace": ident.namespace,
                                  "uid": ident.uid}}
        self.ctx.recorder.event(regarding, type="Warning", reason="OwnerRefInvalidNamespace",
                                action="GarbageCollect",
                                note=f"ownerRef {invalid} does not exist in namespace "
                                     f'"{ident.namespace}"')


def _drop_refs(uids: set[str]) -> Callable[[dict], dict | None]:
    def change(meta: dict) -> dict | None:
        refs = meta.get("ownerReferences") or []
        kept = [r for r in refs if r.get("uid") not in uids]
        if len(kept) == len(refs):
            return None
        return {"ownerReferences": kept or None}
    return change


def _unblock_refs(meta: dict) -> dict | None:
    refs = meta.get("ownerReferences") or []
    if not any(r.get("blockOwnerDeletion") for r in refs):
        return None
    return {"ownerReferences": [{**r, "blockOwnerDeletion": False}
                                if r.get("blockOwnerDeletion") else r for r in refs]}


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass


async def _until(stop: asyncio.Event, work: Awaitable[Any]) -> bool:
    """Run ``work`` unless ``stop`` is set first; True if ``work`` finished."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopped):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(task, stopped, return_exceptions=True)
    if task.cancelled():
        return False
    if task.exception() is not None:
        raise task.exception()
    return True
