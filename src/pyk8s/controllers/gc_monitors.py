"""The garbage collector's monitors: one informer per watchable resource, feeding its graph.

Upstream's GraphBuilder monitors: every resource that supports list, watch and delete
(events excepted) gets an informer whose events become :class:`~.gc_graph.GraphEvent`\\s.
The set follows discovery: :meth:`Monitors.sync` starts informers for new resources (a CRD
just established) and stops those no longer served, keeping the monitors of groups whose
discovery failed this time. The informers are the collector's own rather than the shared
factory's because they come and go with discovery, which the factory cannot do. Updates
that change none of the fields the graph reads are dropped here, so a busy status writer
costs the graph nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from ..client import Client, Informer
from ..client.discovery import Resource
from .gc_graph import GraphEvent
from .util.discovery import resource_api

log = logging.getLogger("pyk8s.controllers.garbage-collector")

IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})
GRAPH_FIELDS = ("uid", "ownerReferences", "finalizers", "deletionTimestamp")


def monitorable(resources: Iterable[Resource]) -> list[Resource]:
    """The resources the collector watches: list+watch+delete, events excepted."""
    return [r for r in resources
            if {"list", "watch", "delete"} <= r.verbs and (r.group, r.plural) not in IGNORED]


def graph_relevant(old: dict, new: dict) -> bool:
    """Whether an update changes anything the dependency graph looks at."""
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return any(old_meta.get(f) != new_meta.get(f) for f in GRAPH_FIELDS)


class Monitors:
    """Informers by (group, version, plural), started and stopped as discovery changes."""

    def __init__(self, client: Client, process: Callable[[GraphEvent], None]) -> None:
        self.client = client
        self.process = process
        self._informers: dict[tuple[str, str, str], Informer] = {}
        self._tasks: dict[tuple[str, str, str], asyncio.Task] = {}
        self._stopping: set[asyncio.Task] = set()

    def _handlers(self, res: Resource) -> dict:
        def event(kind: str, obj, old: dict | None = None) -> None:
            self.process(GraphEvent(kind, getattr(obj, "obj", obj), res.api_version, res.kind,
                                    old=old))

        def on_update(old: dict, new: dict) -> None:
            if graph_relevant(old, new):
                event("update", new, old)

        return {"on_add": lambda obj: event("add", obj), "on_update": on_update,
                "on_delete": lambda obj: event("delete", obj)}

    def sync(self, resources: Iterable[Resource], failed: Iterable[str] = ()
             ) -> tuple[list[str], list[str]]:
        """Watch exactly ``resources`` (plus what is watched in ``failed`` group versions);
        returns the plurals started and stopped."""
        wanted = {(r.group, r.version, r.plural): r for r in resources}
        keep = set(failed)
        stopped = []
        for key in list(self._informers):
            group, version, plural = key
            if key not in wanted and (f"{group}/{version}" if group else version) not in keep:
                task = self._tasks.pop(key)
                task.cancel()
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
                del self._informers[key]
                stopped.append(plural)
        started = []
        for key, res in wanted.items():
            if key in self._informers:
                continue
            informer = Informer(resource_api(self.client, res))
            informer.add_event_handler(**self._handlers(res))
            self._informers[key] = informer
            self._tasks[key] = asyncio.create_task(informer.run(),
                                                   name=f"gc monitor {res.plural}")
            started.append(res.plural if not res.group else f"{res.plural}.{res.group}")
        return started, stopped

    async def wait_for_sync(self) -> None:
        await asyncio.gather(*(i.wait_for_sync() for i in self._informers.values()))

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *self._stopping]
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("monitor ended with %r", result)
        self._tasks.clear()
        self._informers.clear()
