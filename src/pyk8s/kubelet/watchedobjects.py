"""ConfigMaps and Secrets the node's pods use, each kept current by a watch of its own.

After upstream's kubelet ``configmap``/``secret`` managers with the Watch change
detection strategy (``watch_based_manager.go``): the kubelet registers every pod it
runs; each object a registered pod refers to (volumes, projected sources, env,
imagePullSecrets) gets a single-object informer (list and watch with
``fieldSelector=metadata.name=NAME`` in the pod's namespace, which the Node authorizer
allows for objects of pods bound to this node), shared by every pod that refers to it
and stopped when the last of them is unregistered. Reads are served from those caches,
so a pod sync costs no API request, and an update reaches the kubelet as one watch
event.

:meth:`WatchedObjects.get` of an object whose informer has not listed yet waits up to
``sync_timeout`` (1 s, as upstream) and then raises :class:`NotSynced`; an object the
list did not return is :class:`~pyk8s.client.NotFound`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..client import NotFound
from ..client.api import ResourceAPI
from ..client.informers import Informer
from .envvars import referenced

log = logging.getLogger("pyk8s.kubelet.watchedobjects")

SYNC_TIMEOUT = 1.0

Key = tuple[str, str]  # (namespace, name)


class NotSynced(Exception):
    """The object's watch has not delivered its first list yet."""


@dataclass
class _Watched:
    informer: Informer
    task: asyncio.Task
    pods: int = 0


class WatchedObjects:
    """One kind of object referenced by pods (``kind`` as messages name it, "configmap",
    read through ``api``); ``references(pod)`` names the objects of that kind the pod
    uses, in its own namespace."""

    def __init__(self, kind: str, api: ResourceAPI,
                 references: Callable[[dict], Iterable[str]], *,
                 sync_timeout: float = SYNC_TIMEOUT) -> None:
        self.kind = kind
        self.api = api
        self.references = references
        self.sync_timeout = sync_timeout
        self._watched: dict[Key, _Watched] = {}
        self._by_pod: dict[str, frozenset[Key]] = {}

    @property
    def watched(self) -> set[Key]:
        return set(self._watched)

    def register(self, pod: dict) -> None:
        """Start watching what ``pod`` refers to (again, for a pod whose spec changed)."""
        meta = pod["metadata"]
        namespace = meta.get("namespace", "default")
        keys = frozenset((namespace, name) for name in self.references(pod) if name)
        old = self._by_pod.get(meta["uid"], frozenset())
        if keys == old:
            return
        for key in keys - old:
            self._acquire(key)
        for key in old - keys:
            self._release(key)
        self._by_pod[meta["uid"]] = keys

    def unregister(self, uid: str) -> None:
        """The pod is gone: stop the watches nobody else needs."""
        for key in self._by_pod.pop(uid, ()):
            self._release(key)

    async def get(self, namespace: str, name: str) -> dict:
        """The object as last seen by its watch (shared: never mutate it)."""
        watched = self._watched.get((namespace, name))
        if watched is None:
            raise NotSynced(f"object {namespace!r}/{name!r} not registered")
        if not await watched.informer.wait_for_sync(self.sync_timeout):
            raise NotSynced("timed out waiting for the condition")
        obj = watched.informer.store.get(f"{namespace}/{name}")
        if obj is None:
            raise NotFound({"reason": "NotFound", "message": f'{self.kind} "{name}" not found',
                            "details": {"name": name, "kind": self.kind}}, code=404)
        return obj

    async def close(self) -> None:
        tasks = [w.task for w in self._watched.values()]
        self._watched.clear()
        self._by_pod.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _acquire(self, key: Key) -> None:
        watched = self._watched.get(key)
        if watched is None:
            namespace, name = key
            informer = Informer(self.api, namespace=namespace,
                                field_selector=f"metadata.name={name}")
            task = asyncio.create_task(informer.run(),
                                       name=f"watch {self.kind} {namespace}/{name}")
            watched = self._watched[key] = _Watched(informer, task)
            log.debug("watching %s %s/%s", self.kind, namespace, name)
        watched.pods += 1

    def _release(self, key: Key) -> None:
        watched = self._watched.get(key)
        if watched is None:
            return
        watched.pods -= 1
        if watched.pods <= 0:
            del self._watched[key]
            watched.task.cancel()
            log.debug("stopped watching %s %s/%s", self.kind, *key)


# -- what a pod refers to ----------------------------------------------------------------

def _containers(spec: dict) -> Iterable[dict]:
    for group in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(group) or ()


def configmap_names(pod: dict) -> set[str]:
    """The ConfigMaps a pod's volumes, projected sources and environment read."""
    spec = pod.get("spec") or {}
    names = set()
    for volume in spec.get("volumes") or ():
        if volume.get("configMap"):
            names.add(volume["configMap"].get("name", ""))
        for source in (volume.get("projected") or {}).get("sources") or ():
            if source.get("configMap"):
                names.add(source["configMap"].get("name", ""))
    for container in _containers(spec):
        names |= referenced(container)[0]
    names.discard("")
    return names


def secret_names(pod: dict) -> set[str]:
    """The Secrets a pod's volumes, projected sources, environment and image pulls read."""
    spec = pod.get("spec") or {}
    names = {ref.get("name", "") for ref in spec.get("imagePullSecrets") or ()}
    for volume in spec.get("volumes") or ():
        if volume.get("secret"):
            names.add(volume["secret"].get("secretName", ""))
        for source in (volume.get("projected") or {}).get("sources") or ():
            if source.get("secret"):
                names.add(source["secret"].get("name", ""))
    for container in _containers(spec):
        names |= referenced(container)[1]
    names.discard("")
    return names
