"""Resource quota controller: recalculates every ResourceQuota's ``status.used``.

Quota admission in the API server only ever charges a quota (with compare-and-swap on
``status.used``) when objects are created or grow; giving usage back is this controller's
job, as upstream's pkg/controller/resourcequota:

* replenishment: the kinds a quota counts are watched (informers made on demand from
  the quota's hard resources: pods, services, claims, ``count/<resource>.<group>`` of
  anything served); when one is deleted, or changes what it uses (a pod finishing, a
  service changing type, a claim resized), the quotas of its namespace counting that
  kind are queued;
* a full resync queues every quota every five minutes, and a quota is queued when it
  appears or its ``spec.hard`` changes;
* a sync counts the namespace's objects from the informer caches with the same
  evaluators admission uses (apiserver/admission/resourcequota/usage.py) and writes
  ``status.hard = spec.hard`` and ``status.used`` only when either changed (an update
  carrying the cached resourceVersion, so a concurrent admission charge makes it a
  conflict and the quota is recounted).
"""

from __future__ import annotations

import asyncio
import time

from ..apiserver.admission.quantities import parse_list, to_json
from ..apiserver.admission.resourcequota.usage import (
    Kind,
    resources_for_hard,
    tally,
    usage,
)
from ..client import Informer
from ..client.store import namespace_index
from . import register
from .base import Controller
from .util.discovery import ServedResources, discover

RESYNC_PERIOD = 300.0
#: A kind discovery did not know is looked up again at most this often.
DISCOVERY_INTERVAL = 30.0
SYNC_WAIT = 30.0


def _counted_kinds(quota: dict) -> set[tuple[str, str]]:
    return resources_for_hard(set((quota.get("spec") or {}).get("hard") or {}))


def needs_write(quota: dict, used: dict) -> bool:
    """Whether status differs from spec.hard and the recounted usage (as quantities)."""
    status = quota.get("status") or {}
    hard = (quota.get("spec") or {}).get("hard") or {}
    return parse_list(status.get("hard")) != parse_list(hard) or \
        set(status.get("used") or {}) != set(used) or parse_list(status.get("used")) != used


@register("resourcequota")
class ResourceQuotaController(Controller):
    def setup(self) -> None:
        self.quotas = self.ctx.informers.informer("v1", "ResourceQuota",
                                                  indexers={"namespace": namespace_index})
        self.quotas.add_event_handler(on_add=self.enqueue, on_update=self._quota_updated)
        self.api = self.client.api("v1", "ResourceQuota")
        self.counted: dict[tuple[str, str], Informer] = {}
        self._served: ServedResources | None = None
        self._discovered_at = 0.0
        self._discovery_lock = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        resync = asyncio.create_task(self._resync(stop))
        try:
            await super().run(stop)
        finally:
            resync.cancel()

    async def _resync(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with asyncio.timeout(RESYNC_PERIOD):
                    await stop.wait()
            except TimeoutError:
                for quota in self.quotas.store.list():
                    self.enqueue(quota)

    def _quota_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("hard") != (new.get("spec") or {}).get("hard"):
            self.enqueue(new)

    # -- replenishment -------------------------------------------------------------------

    def _replenish(self, kind: tuple[str, str], obj) -> None:
        obj = getattr(obj, "obj", obj)
        namespace = (obj.get("metadata") or {}).get("namespace")
        if not namespace:
            return
        for quota in self.quotas.store.by_index("namespace", namespace):
            if kind in _counted_kinds(quota):
                self.enqueue(quota)

    def _watch(self, group: str, version: str, plural: str) -> Informer:
        key = Kind(group, plural)
        informer = self.ctx.informers.informer(group=group, version=version, plural=plural,
                                               indexers={"namespace": namespace_index})

        def updated(old: dict, new: dict) -> None:
            if usage(key, old) != usage(key, new):
                self._replenish((group, plural), new)

        informer.add_event_handler(on_update=updated,
                                   on_delete=lambda obj: self._replenish((group, plural), obj))
        self.ctx.informers.start()  # starts only informers not yet running
        return informer

    def _preferred_version(self, group: str, plural: str) -> str | None:
        for res in self._served.preferred if self._served is not None else ():
            if res.group == group and res.plural == plural and {"list", "watch"} <= res.verbs:
                return res.version
        return None

    async def _version_of(self, group: str, plural: str) -> str | None:
        """The preferred served version of a listable, watchable resource (discovery is
        asked again for an unknown one, at most every DISCOVERY_INTERVAL seconds)."""
        async with self._discovery_lock:
            version = self._preferred_version(group, plural)
            if version is None and (self._served is None or
                                    time.monotonic() - self._discovered_at >= DISCOVERY_INTERVAL):
                self._served = await discover(self.client)
                self._discovered_at = time.monotonic()
                version = self._preferred_version(group, plural)
            return version

    async def _informer(self, group: str, plural: str) -> Informer | None:
        if (group, plural) not in self.counted:
            version = await self._version_of(group, plural)
            if version is None:
                return None
            if (group, plural) not in self.counted:  # another worker may have won the race
                self.counted[(group, plural)] = self._watch(group, version, plural)
        informer = self.counted[(group, plural)]
        if not await informer.wait_for_sync(SYNC_WAIT):
            raise TimeoutError(f"the {plural}.{group} informer did not sync")
        return informer

    # -- sync ----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        quota = self.quotas.store.get(key)
        if quota is None:
            return
        namespace = quota["metadata"]["namespace"]
        hard = parse_list((quota.get("spec") or {}).get("hard"))
        listed = []
        for group, plural in sorted(_counted_kinds(quota)):
            informer = await self._informer(group, plural)
            if informer is not None:
                listed.append((Kind(group, plural),
                               informer.store.by_index("namespace", namespace)))
        used = tally(quota, hard, listed)
        if not needs_write(quota, used):
            return
        status = {"hard": (quota.get("spec") or {}).get("hard") or {}, "used": to_json(used)}
        await self.api.update_status({**quota, "status": status})
        self.log.debug("quota %s used %s", key, status["used"])
