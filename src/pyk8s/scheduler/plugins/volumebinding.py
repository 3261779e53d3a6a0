"""VolumeBinding: a pod's PersistentVolumeClaims decide where it may run, as upstream's
volumebinding plugin does for statically provisioned volumes.

* PreFilter: a pod without claims (``persistentVolumeClaim`` or ``ephemeral`` volumes)
  Skips the plugin. A missing or terminating claim, or an unbound claim whose
  StorageClass binds Immediately (the persistentvolume-binder's job, not ours), rejects
  the pod for every node (UnschedulableAndUnresolvable).
* Filter: the volumes of bound claims must have a nodeAffinity the node satisfies; each
  unbound WaitForFirstConsumer claim needs its own Available volume (or one pre-bound to
  it) of its class that satisfies it and whose nodeAffinity fits the node; the chosen
  volumes are kept per node.
* Reserve remembers the node's choice as assumed (``spec.claimRef`` set) so later pods
  do not pick the same volumes; PreBind writes each claimRef through the API, as the
  controller's binder would, and waits until the persistentvolume-binder has completed
  the claim side (``volumeName`` and ``bind-completed``) before the pod is bound.

Dynamic provisioning, CSI storage capacity and volume limits are not modelled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ...apiserver.kinds.quantity import parse_quantity
from ...client.errors import ClientError
from ...controllers.persistentvolume import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    claim_class,
    prebound_to,
    satisfies,
)
from ..framework.interface import (
    SKIP,
    CycleState,
    Status,
    error,
    unresolvable,
    unschedulable,
)
from ..framework.labels import match_node_selector
from ..framework.types import NodeInfo

log = logging.getLogger("pyk8s.scheduler")

NAME = "VolumeBinding"
STATE_KEY = "PreFilter" + NAME
REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
DEFAULT_BIND_TIMEOUT = 600.0
BIND_POLL_PERIOD = 0.1


@dataclass
class VolumeStores:
    """The scheduler's informer caches this plugin reads: claims by ``NS/NAME``,
    volumes and StorageClasses by name (each with ``get(key)`` and ``list()``)."""

    claims: Any
    volumes: Any
    classes: Any


@dataclass
class _PodVolumes:
    bound: list[dict] = field(default_factory=list)
    delayed: list[dict] = field(default_factory=list)
    #: node name -> [(claim, volume chosen for it)], filled by Filter.
    chosen: dict[str, list[tuple[dict, dict]]] = field(default_factory=dict)
    #: volumes written (assumed) by Reserve for the chosen node.
    assumed: list[dict] = field(default_factory=list)

    def clone(self) -> _PodVolumes:
        return self


def _claim_names(pod: dict) -> list[tuple[str, bool]]:
    """(claim name, whether the pod's ephemeral volume makes it) for each claim volume."""
    out = []
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        source = volume.get("persistentVolumeClaim")
        if source is not None:
            out.append((source.get("claimName") or "", False))
        elif volume.get("ephemeral") is not None:
            out.append((f"{pod['metadata']['name']}-{volume.get('name', '')}", True))
    return out


def _size(claim: dict) -> Decimal:
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    return parse_quantity(requests.get("storage") or "0") or Decimal(0)


def _volume_size(volume: dict) -> Decimal:
    capacity = (volume.get("spec") or {}).get("capacity") or {}
    return parse_quantity(capacity.get("storage") or "0") or Decimal(0)


def fits_node(volume: dict, node: dict) -> bool:
    """The volume's required nodeAffinity (if any) matches the node."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required"))
    return required is None or match_node_selector(required, node)


def fully_bound(claim: dict) -> bool:
    annotations = claim["metadata"].get("annotations") or {}
    return bool((claim.get("spec") or {}).get("volumeName")) and BIND_COMPLETED in annotations


def claim_ref(claim: dict) -> dict:
    meta = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
            "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion", "")}


class VolumeBinding:
    name = NAME
    events = frozenset({"NodeAdd", "NodeUpdate",
                        "PersistentVolumeClaimAdd", "PersistentVolumeClaimUpdate",
                        "PersistentVolumeAdd", "PersistentVolumeUpdate",
                        "StorageClassAdd", "StorageClassUpdate"})

    def __init__(self, stores: VolumeStores | None, client: Any = None,
                 bind_timeout: float = DEFAULT_BIND_TIMEOUT) -> None:
        self.stores = stores
        self.client = client
        self.bind_timeout = bind_timeout
        #: volume name -> the claimRef'd copy Reserve assumed, until the informer has it.
        self.assumed: dict[str, dict] = {}

    # -- lookups over the informer caches and assumed volumes -------------------------

    def _newest(self, cached: dict) -> dict:
        """The assumed copy of a cached volume until the informer has a newer one."""
        name = cached["metadata"]["name"]
        assumed = self.assumed.get(name)
        if assumed is None:
            return cached
        if assumed["metadata"].get("resourceVersion") == \
                cached["metadata"].get("resourceVersion"):
            return assumed
        del self.assumed[name]
        return cached

    def _volume(self, name: str) -> dict | None:
        cached = self.stores.volumes.get(name)
        return None if cached is None else self._newest(cached)

    def _volumes(self) -> list[dict]:
        return [self._newest(v) for v in self.stores.volumes.list()]

    def _delayed(self, claim: dict) -> bool:
        name = claim_class(claim)
        if not name:
            return False
        storage_class = self.stores.classes.get(name)
        return (storage_class or {}).get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER

    # -- scheduling cycle -------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status | None:
        names = _claim_names(pod)
        if not names:
            return SKIP
        if self.stores is None:
            return error("volume binding has no PersistentVolumeClaim informer")
        namespace = pod["metadata"].get("namespace", "")
        volumes = _PodVolumes()
        immediate = False
        for name, ephemeral in names:
            claim = self.stores.claims.get(f"{namespace}/{name}")
            if claim is None:
                if ephemeral:
                    return unresolvable("waiting for ephemeral volume controller to create "
                                        f'the persistentvolumeclaim "{name}"')
                return unresolvable(f'persistentvolumeclaim "{name}" not found')
            if claim["metadata"].get("deletionTimestamp"):
                return unresolvable(f'persistentvolumeclaim "{name}" is being deleted')
            if fully_bound(claim):
                volumes.bound.append(claim)
            elif self._delayed(claim):
                volumes.delayed.append(claim)
            else:
                immediate = True
        if immediate:
            return unresolvable(REASON_UNBOUND_IMMEDIATE)
        volumes.delayed.sort(key=_size)
        state.write(STATE_KEY, volumes)
        return None

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status | None:
        volumes: _PodVolumes | None = state.read(STATE_KEY)
        if volumes is None:
            return None
        node_obj = node.node
        for claim in volumes.bound:
            volume = self._volume(claim["spec"]["volumeName"])
            if volume is None:
                return unresolvable(REASON_PV_NOT_EXIST)
            if not fits_node(volume, node_obj):
                return unresolvable(REASON_NODE_CONFLICT)
        if not volumes.delayed:
            return None
        chosen = self._match(volumes.delayed, node_obj)
        if chosen is None:
            return unschedulable(REASON_BIND_CONFLICT)
        volumes.chosen[node.name] = chosen
        return None

    def _match(self, claims: list[dict], node: dict) -> list[tuple[dict, dict]] | None:
        """A distinct volume for each claim (smallest claims first), or None."""
        taken: set[str] = set()
        candidates = self._volumes()
        chosen = []
        for claim in claims:
            volume = self._best(candidates, claim, node, taken)
            if volume is None:
                return None
            taken.add(volume["metadata"]["name"])
            chosen.append((claim, volume))
        return chosen

    @staticmethod
    def _best(volumes: list[dict], claim: dict, node: dict, taken: set[str]) -> dict | None:
        best = None
        for volume in volumes:
            name = volume["metadata"]["name"]
            if name in taken or volume["metadata"].get("deletionTimestamp") or \
                    satisfies(volume, claim) or not fits_node(volume, node):
                continue
            if prebound_to(volume, claim):
                return volume
            if (volume.get("spec") or {}).get("claimRef") or \
                    (volume.get("status") or {}).get("phase") != "Available":
                continue
            if best is None or _volume_size(volume) < _volume_size(best):
                best = volume
        return best

    def reserve(self, state: CycleState, pod: dict, node_name: str) -> Status | None:
        volumes: _PodVolumes | None = state.read(STATE_KEY)
        if volumes is None:
            return None
        for claim, volume in volumes.chosen.get(node_name, ()):
            if prebound_to(volume, claim) and (volume["spec"].get("claimRef") or {}).get("uid"):
                continue
            meta = volume["metadata"]
            annotations = dict(meta.get("annotations") or {})
            if not (volume["spec"].get("claimRef")):
                annotations[BOUND_BY_CONTROLLER] = "yes"
            bound = {**volume, "metadata": {**meta, "annotations": annotations},
                     "spec": {**volume["spec"], "claimRef": claim_ref(claim)}}
            self.assumed[meta["name"]] = bound
            volumes.assumed.append(bound)
        return None

    def unreserve(self, state: CycleState, pod: dict, node_name: str) -> None:
        volumes: _PodVolumes | None = state.read(STATE_KEY)
        if volumes is None:
            return
        for volume in volumes.assumed:
            name = volume["metadata"]["name"]
            if self.assumed.get(name) is volume:
                del self.assumed[name]
        volumes.assumed.clear()

    # -- binding cycle ----------------------------------------------------------------

    async def pre_bind(self, state: CycleState, pod: dict, node_name: str) -> Status | None:
        volumes: _PodVolumes | None = state.read(STATE_KEY)
        if volumes is None or not volumes.chosen.get(node_name):
            return None
        if volumes.assumed:
            api = self.client.api("v1", "PersistentVolume")
            try:
                for volume in volumes.assumed:
                    await api.update(volume)
            except ClientError as err:
                return error(f"binding volumes: {err}")
        try:
            async with asyncio.timeout(self.bind_timeout):
                while not self._bindings_done(volumes.chosen[node_name]):
                    await asyncio.sleep(BIND_POLL_PERIOD)
        except TimeoutError:
            return error("binding volumes: timed out waiting for the condition")
        except _Unbound as err:
            return error(f"binding volumes: {err}")
        return None

    def _bindings_done(self, chosen: list[tuple[dict, dict]]) -> bool:
        """All chosen claims are fully bound to their volumes; raises _Unbound when the
        binding went elsewhere (then the pod is rescheduled)."""
        for claim, volume in chosen:
            meta = claim["metadata"]
            name = volume["metadata"]["name"]
            current = self.stores.claims.get(f"{meta['namespace']}/{meta['name']}")
            if current is None or current["metadata"]["uid"] != meta["uid"]:
                raise _Unbound(f'persistentvolumeclaim "{meta["name"]}" was deleted')
            pv = self.stores.volumes.get(name)
            ref = ((pv or {}).get("spec") or {}).get("claimRef") or {}
            if pv is None or (ref and ref.get("uid") not in (None, meta["uid"])):
                raise _Unbound(f'persistentvolume "{name}" was bound to another claim')
            if not fully_bound(current):
                return False
            if current["spec"]["volumeName"] != name:
                raise _Unbound(f'persistentvolumeclaim "{meta["name"]}" was bound to '
                               f'persistentvolume "{current["spec"]["volumeName"]}"')
        return True


class _Unbound(Exception):
    """A binding PreBind waits for went another way."""


def new(args: dict, handle: Any) -> VolumeBinding:
    return VolumeBinding(getattr(handle, "volume_stores", None),
                         getattr(handle, "client", None),
                         float(args.get("bindTimeoutSeconds") or DEFAULT_BIND_TIMEOUT))
