"""Static pods: pods from manifest files in ``--pod-manifest-path``, mirrored into the API.

As upstream's file source (``pkg/kubelet/config/file.go``) and mirror client: every
``period`` seconds (20 by default) the directory is read; each pod manifest (YAML or
JSON, one pod per file, hidden files ignored) becomes a pod named ``<name>-<node>``
whose uid is a hash of its content, node and file, so an edited manifest is a new pod
(the old one is stopped). The pod workers run it like any other pod; the API gets a
*mirror pod* carrying ``kubernetes.io/config.mirror: <hash>`` and an owner reference
to the Node, and the static pod's status is written there. A mirror pod deleted or
left from an older manifest is replaced; a removed manifest stops the pod and
deletes its mirror.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Callable

import yaml

from ..client import AlreadyExists, Client, Conflict, NotFound, Store
from ..client.errors import ClientError
from .podworkers import PodWorkers

log = logging.getLogger("pyk8s.kubelet.static")

MIRROR = "kubernetes.io/config.mirror"
CONFIG_HASH = "kubernetes.io/config.hash"
CONFIG_SOURCE = "kubernetes.io/config.source"


def is_static(pod: dict) -> bool:
    return ((pod.get("metadata") or {}).get("annotations") or {}).get(CONFIG_SOURCE) == "file"


def is_mirror(pod: dict) -> bool:
    return MIRROR in ((pod.get("metadata") or {}).get("annotations") or {})


def static_pod(manifest: dict, *, node_name: str, filename: str) -> dict:
    """The pod the kubelet runs for ``manifest`` (a fresh dict; the manifest untouched)."""
    digest = hashlib.md5(json.dumps(manifest, sort_keys=True).encode() +
                         node_name.encode() + filename.encode()).hexdigest()
    meta = dict(manifest.get("metadata") or {})
    meta["name"] = f"{meta.get('name', '')}-{node_name}"
    meta["namespace"] = meta.get("namespace") or "default"
    meta["uid"] = digest
    meta["annotations"] = {**(meta.get("annotations") or {}), CONFIG_HASH: digest,
                           CONFIG_SOURCE: "file"}
    spec = {**(manifest.get("spec") or {}), "nodeName": node_name}
    spec.setdefault("restartPolicy", "Always")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def read_manifests(path: str, node_name: str) -> dict[str, dict]:
    """Static pods by uid from the manifest directory (bad files are logged, skipped)."""
    pods = {}
    for name in sorted(os.listdir(path)) if os.path.isdir(path) else ():
        full = os.path.join(path, name)
        if name.startswith(".") or not os.path.isfile(full):
            continue
        try:
            with open(full) as f:
                manifest = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as err:
            log.warning("cannot read static pod manifest %s: %s", full, err)
            continue
        if not isinstance(manifest, dict) or manifest.get("kind", "Pod") != "Pod":
            log.warning("static pod manifest %s is not a Pod", full)
            continue
        pod = static_pod(manifest, node_name=node_name, filename=full)
        pods[pod["metadata"]["uid"]] = pod
    return pods


class StaticPods:
    def __init__(self, client: Client, *, path: str, node_name: str,
                 node_uid: Callable[[], str | None], workers: PodWorkers, pods: Store,
                 period: float = 20.0) -> None:
        self.api = client.api("v1", "Pod")
        self.path, self.node_name, self.node_uid = path, node_name, node_uid
        self.workers = workers
        self.pods = pods  # the pod informer's cache (mirror pods are bound to us)
        self.period = period
        self.current: dict[str, dict] = {}
        self.wake = asyncio.Event()

    def mirror(self, pod: dict) -> dict | None:
        meta = pod["metadata"]
        found = self.pods.get(f"{meta['namespace']}/{meta['name']}")
        if found is None or found["metadata"].get("annotations", {}).get(MIRROR) != meta["uid"]:
            return None
        return found

    def target(self, pod: dict) -> tuple[str, str, str, dict] | None:
        found = self.mirror(pod)
        if found is None or found["metadata"].get("deletionTimestamp"):
            return None
        return (found["metadata"]["name"], found["metadata"]["namespace"],
                found["metadata"]["uid"], found.get("status") or {})

    def on_mirror_event(self) -> None:
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.sync()
            except (ClientError, OSError) as err:
                log.warning("syncing static pods failed: %s", err)
            waiter = asyncio.ensure_future(self.wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait([waiter, stopper], timeout=self.period,
                               return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def sync(self) -> None:
        desired = read_manifests(self.path, self.node_name)
        for uid, pod in self.current.items():
            if uid not in desired:
                self.workers.remove(pod)
        for uid, pod in desired.items():
            if uid not in self.current:
                self.workers.update(pod)
        self.current = desired
        for pod in desired.values():
            await self._ensure_mirror(pod)

    async def _ensure_mirror(self, pod: dict) -> None:
        meta = pod["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        existing = self.pods.get(key)
        if existing is not None and self.mirror(pod) is existing and \
                not existing["metadata"].get("deletionTimestamp"):
            return
        if existing is not None:
            try:
                await self.api.delete(meta["name"], namespace=meta["namespace"],
                                      grace_period_seconds=0,
                                      preconditions={"uid": existing["metadata"]["uid"]})
            except (NotFound, Conflict):
                pass
        body = {"apiVersion": "v1", "kind": "Pod", "spec": pod["spec"],
                "metadata": {k: v for k, v in meta.items() if k != "uid"}}
        body["metadata"]["annotations"] = {**meta["annotations"], MIRROR: meta["uid"]}
        if self.node_uid():
            body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                                    "name": self.node_name,
                                                    "uid": self.node_uid(),
                                                    "controller": True}]
        try:
            await self.api.create(body, namespace=meta["namespace"])
            log.info("created mirror pod %s", key)
        except AlreadyExists:
            pass
