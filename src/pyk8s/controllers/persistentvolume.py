"""PersistentVolume binder: static provisioning, as upstream's ``persistentvolume-binder``.

A PersistentVolumeClaim asks for storage by class, access modes, size and an optional
label selector; an administrator creates PersistentVolumes (here: hostPath or local
directories). This controller pairs them and keeps both sides of the pair consistent,
the way upstream's ``pv_controller.go`` does:

* an unbound claim gets the smallest Available volume of its ``storageClassName`` whose
  access modes include the claim's, whose volume mode and labels (``spec.selector``)
  match and whose capacity is at least the request; a volume pre-bound to the claim
  (``spec.claimRef`` without uid) wins, and a claim naming ``spec.volumeName`` takes only
  that volume. Binding writes the volume first (``claimRef`` with the claim's uid, phase
  Bound), then the claim (``spec.volumeName``, the ``bind-completed`` annotation, phase
  Bound with the volume's capacity and access modes). A claim with no match stays
  Pending with a ``FailedBinding`` event; dynamic provisioning is not done. A claim
  whose StorageClass has ``volumeBindingMode: WaitForFirstConsumer`` takes only a
  volume pre-bound to it: the scheduler picks that volume (setting its ``claimRef``)
  for the claim's first pod, and this controller completes the claim side;
* a volume without a claim is Available; one whose claim is gone (or replaced by a new
  object of the same name) is Released and then reclaimed per
  ``persistentVolumeReclaimPolicy``: Retain keeps it Released, Delete deletes the
  PersistentVolume object (the directory stays: there is no deleter for hostPath, a
  deliberate simplification), Recycle is not supported (Failed, ``VolumeFailedRecycle``);
* a bound claim whose volume disappeared, or is bound to another claim, is Lost.

Claims and volumes go through one queue and one worker (``pvc:NS/NAME``, ``pv:NAME``),
so two claims never race for one volume; every write carries the resourceVersion it
read, and objects this controller wrote are remembered until the informer catches up.
Everything is resynced every 15 s, as upstream's ``--pvclaimbinder-sync-period``.
"""

from __future__ import annotations

import asyncio
import copy
from decimal import Decimal

from ..apiserver.kinds.quantity import parse_quantity
from ..client import Conflict, NotFound
from . import register
from .base import Controller
from .util.selectors import matches
from .util.times import utcnow

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
SYNC_PERIOD = 15.0


def claim_class(claim: dict) -> str:
    annotations = claim["metadata"].get("annotations") or {}
    return annotations.get(BETA_CLASS) or (claim.get("spec") or {}).get("storageClassName") or ""


def volume_class(volume: dict) -> str:
    annotations = volume["metadata"].get("annotations") or {}
    return annotations.get(BETA_CLASS) or (volume.get("spec") or {}).get("storageClassName") \
        or ""


def _size(obj: dict | None) -> Decimal:
    return parse_quantity((obj or {}).get("storage") or "0") or Decimal(0)


def _claim_key(claim: dict) -> str:
    return f"{claim['metadata']['namespace']}/{claim['metadata']['name']}"


def _ref_key(ref: dict) -> str:
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


def prebound_to(volume: dict, claim: dict) -> bool:
    """Whether ``volume``'s claimRef names ``claim`` (by name, and by uid when set)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref or _ref_key(ref) != _claim_key(claim):
        return False
    return not ref.get("uid") or ref["uid"] == claim["metadata"]["uid"]


def satisfies(volume: dict, claim: dict) -> str:
    """Why ``volume`` cannot serve ``claim`` ("" when it can); claimRef is not checked."""
    vspec, cspec = volume.get("spec") or {}, claim.get("spec") or {}
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if not set(cspec.get("accessModes") or ()) <= set(vspec.get("accessModes") or ()):
        return "incompatible accessMode"
    if (vspec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return "incompatible volumeMode"
    if _size(vspec.get("capacity")) < _size((cspec.get("resources") or {}).get("requests")):
        return "requested PV is too small"
    selector = cspec.get("selector")
    if selector is not None and not matches(selector, volume["metadata"].get("labels")):
        return "volume labels do not match the claim's selector"
    return ""


def best_match(volumes: list[dict], claim: dict, *, delayed: bool = False) -> dict | None:
    """The volume to bind ``claim`` to: one pre-bound to it first, else (unless binding
    is ``delayed`` to the scheduler) the smallest that satisfies it among those without
    a claimRef (and not being deleted)."""
    best = None
    for volume in volumes:
        if volume["metadata"].get("deletionTimestamp") or satisfies(volume, claim):
            continue
        if prebound_to(volume, claim):
            return volume
        if delayed or (volume.get("spec") or {}).get("claimRef"):
            continue
        if best is None or _size(volume["spec"].get("capacity")) < \
                _size(best["spec"].get("capacity")):
            best = volume
    return best


def _rv(obj: dict) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


@register("persistentvolume-binder")
class PersistentVolumeBinder(Controller):
    workers = 1

    def setup(self) -> None:
        self.volumes = self.ctx.informers.informer("v1", "PersistentVolume")
        self.claims = self.ctx.informers.informer("v1", "PersistentVolumeClaim")
        self.classes = self.ctx.informers.informer("storage.k8s.io/v1", "StorageClass")
        self.volumes.add_event_handler(
            on_add=self._volume_changed, on_update=lambda old, new: self._volume_changed(new),
            on_delete=self._volume_deleted)
        self.claims.add_event_handler(
            on_add=self._claim_changed, on_update=lambda old, new: self._claim_changed(new),
            on_delete=self._claim_deleted)
        self.pv_api = self.client.api("v1", "PersistentVolume")
        self.pvc_api = self.client.api("v1", "PersistentVolumeClaim")
        self._written: dict[str, dict] = {}  # "pv:NAME" / "pvc:NS/NAME" -> what we wrote

    # -- event handlers ----------------------------------------------------------------

    def _volume_changed(self, volume: dict) -> None:
        self.queue.add(f"pv:{volume['metadata']['name']}")

    def _volume_deleted(self, volume: dict) -> None:
        volume = getattr(volume, "obj", volume)
        self._written.pop(f"pv:{volume['metadata']['name']}", None)
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref:
            self.queue.add(f"pvc:{_ref_key(ref)}")

    def _claim_changed(self, claim: dict) -> None:
        self.queue.add(f"pvc:{_claim_key(claim)}")

    def _claim_deleted(self, claim: dict) -> None:
        claim = getattr(claim, "obj", claim)
        self._written.pop(f"pvc:{_claim_key(claim)}", None)
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:
            self.queue.add(f"pv:{volume}")

    async def run(self, stop: asyncio.Event) -> None:
        resync = asyncio.create_task(self._resync(stop))
        try:
            await super().run(stop)
        finally:
            resync.cancel()

    async def _resync(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(SYNC_PERIOD)
            for volume in self.volumes.store.list():
                self._volume_changed(volume)
            for claim in self.claims.store.list():
                self._claim_changed(claim)

    # -- reading: the informer cache, or what we wrote when that is newer ---------------

    def _fresh(self, key: str, cached: dict | None) -> dict | None:
        written = self._written.get(key)
        if cached is None:
            return None
        if written is not None and _rv(written) > _rv(cached):
            return copy.deepcopy(written)
        self._written.pop(key, None)
        return copy.deepcopy(cached)

    def _volume(self, name: str) -> dict | None:
        return self._fresh(f"pv:{name}", self.volumes.store.get(name))

    def _claim(self, key: str) -> dict | None:
        return self._fresh(f"pvc:{key}", self.claims.store.get(key))

    def _all_volumes(self) -> list[dict]:
        return [self._volume(v["metadata"]["name"]) for v in self.volumes.store.list()]

    # -- writes ------------------------------------------------------------------------

    async def _save_volume(self, volume: dict, *, status: bool = False) -> dict:
        saved = await (self.pv_api.update_status(volume) if status else
                       self.pv_api.update(volume))
        self._written[f"pv:{saved['metadata']['name']}"] = saved
        return saved

    async def _save_claim(self, claim: dict, *, status: bool = False) -> dict:
        saved = await (self.pvc_api.update_status(claim) if status else
                       self.pvc_api.update(claim))
        self._written[f"pvc:{_claim_key(saved)}"] = saved
        return saved

    async def _volume_phase(self, volume: dict, phase: str, message: str = "") -> dict:
        status = volume.setdefault("status", {})
        if status.get("phase") == phase and (status.get("message") or "") == message:
            return volume
        if status.get("phase") != phase:
            status["lastPhaseTransitionTime"] = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        status["phase"] = phase
        status.pop("reason", None)
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        return await self._save_volume(volume, status=True)

    async def _claim_phase(self, claim: dict, phase: str, volume: dict | None = None) -> dict:
        status = claim.setdefault("status", {})
        want = dict(status, phase=phase)
        if volume is not None:
            want["accessModes"] = list(volume["spec"].get("accessModes") or ())
            want["capacity"] = dict(volume["spec"].get("capacity") or {})
        elif phase == "Pending":
            want.pop("accessModes", None)
            want.pop("capacity", None)
        if want == status:
            return claim
        claim["status"] = want
        return await self._save_claim(claim, status=True)

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        kind, _, name = key.partition(":")
        try:
            if kind == "pvc":
                claim = self._claim(name)
                if claim is not None:
                    await self._sync_claim(claim)
            else:
                volume = self._volume(name)
                if volume is not None:
                    await self._sync_volume(volume)
        except (Conflict, NotFound):
            self.queue.add_after(key, 0.2)

    async def _sync_claim(self, claim: dict) -> None:
        if claim["metadata"].get("deletionTimestamp") and \
                not (claim.get("spec") or {}).get("volumeName"):
            return
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(BIND_COMPLETED) != "yes":
            await self._sync_unbound_claim(claim)
        else:
            await self._sync_bound_claim(claim)

    async def _sync_unbound_claim(self, claim: dict) -> None:
        wanted = (claim.get("spec") or {}).get("volumeName")
        if not wanted:
            delayed = self._delayed(claim)
            volume = best_match(self._all_volumes(), claim, delayed=delayed)
            if volume is None:
                await self._claim_phase(claim, "Pending")
                if delayed:
                    self.ctx.recorder.event(claim, reason="WaitForFirstConsumer",
                                            action="Binding",
                                            note="waiting for first consumer to be created "
                                                 "before binding")
                    return
                cls = claim_class(claim)
                note = ("no persistent volumes available for this claim and no storage class "
                        "is set" if not cls else
                        f'no persistent volumes available for this claim of storage class '
                        f'"{cls}" (dynamic provisioning is not supported)')
                self.ctx.recorder.event(claim, reason="FailedBinding", action="Binding",
                                        note=note)
                return
            await self._bind(volume, claim)
            return
        volume = self._volume(wanted)
        if volume is None:
            await self._claim_phase(claim, "Pending")
            self.ctx.recorder.event(claim, reason="FailedBinding", action="Binding",
                                    note=f'volume "{wanted}" not found')
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref and not prebound_to(volume, claim):
            await self._claim_phase(claim, "Pending")
            self.ctx.recorder.event(claim, type="Warning", reason="FailedBinding",
                                    action="Binding",
                                    note="volume already bound to a different claim.")
            return
        problem = satisfies(volume, claim)
        if problem:
            await self._claim_phase(claim, "Pending")
            self.ctx.recorder.event(claim, type="Warning", reason="FailedBinding",
                                    action="Binding",
                                    note=f"Cannot bind to requested volume \"{wanted}\": "
                                         f"{problem}")
            return
        await self._bind(volume, claim)

    def _delayed(self, claim: dict) -> bool:
        name = claim_class(claim)
        storage_class = self.classes.store.get(name) if name else None
        return (storage_class or {}).get("volumeBindingMode") == "WaitForFirstConsumer"

    async def _bind(self, volume: dict, claim: dict) -> None:
        """Volume first (claimRef, Bound), then the claim (volumeName, annotations, Bound)."""
        meta = claim["metadata"]
        ref = (volume["spec"].get("claimRef") or {})
        if ref.get("uid") != meta["uid"]:
            if not ref:
                volume["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            volume["spec"]["claimRef"] = {
                "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
                "resourceVersion": meta.get("resourceVersion", "")}
            volume = await self._save_volume(volume)
        volume = await self._volume_phase(volume, "Bound")
        annotations = meta.setdefault("annotations", {})
        if claim["spec"].get("volumeName") != volume["metadata"]["name"] or \
                annotations.get(BIND_COMPLETED) != "yes":
            if claim["spec"].get("volumeName") != volume["metadata"]["name"]:
                annotations[BOUND_BY_CONTROLLER] = "yes"
                claim["spec"]["volumeName"] = volume["metadata"]["name"]
            annotations[BIND_COMPLETED] = "yes"
            claim = await self._save_claim(claim)
        await self._claim_phase(claim, "Bound", volume)
        self.log.info("bound claim %s to volume %s", _claim_key(claim),
                      volume["metadata"]["name"])

    async def _sync_bound_claim(self, claim: dict) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        volume = self._volume(name) if name else None
        if volume is None:
            if (claim.get("status") or {}).get("phase") != "Lost":
                await self._claim_phase(claim, "Lost")
                self.ctx.recorder.event(claim, type="Warning", reason="ClaimLost",
                                        action="Binding",
                                        note="Bound claim has lost reference to "
                                             "PersistentVolume. Data on the volume is lost!")
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or prebound_to(volume, claim):
            await self._bind(volume, claim)
            return
        if (claim.get("status") or {}).get("phase") != "Lost":
            await self._claim_phase(claim, "Lost")
            self.ctx.recorder.event(claim, type="Warning", reason="ClaimMisbound",
                                    action="Binding",
                                    note="Two claims are bound to the same volume, this one "
                                         "is bound incorrectly")

    async def _sync_volume(self, volume: dict) -> None:
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            if (volume.get("status") or {}).get("phase") not in ("Available",):
                await self._volume_phase(volume, "Available")
            if ref:
                self.queue.add(f"pvc:{_ref_key(ref)}")
            return
        claim = self._claim(_ref_key(ref))
        if claim is None or claim["metadata"]["uid"] != ref["uid"]:
            claim = await self._claim_from_server(ref)
        if claim is None:
            await self._released(volume)
            return
        claimed = (claim.get("spec") or {}).get("volumeName")
        if not claimed:
            self.queue.add(f"pvc:{_claim_key(claim)}")
            return
        if claimed == volume["metadata"]["name"]:
            await self._volume_phase(volume, "Bound")
            return
        annotations = volume["metadata"].get("annotations") or {}
        if annotations.get(BOUND_BY_CONTROLLER) == "yes":
            volume["spec"].pop("claimRef", None)
            annotations.pop(BOUND_BY_CONTROLLER, None)
            volume = await self._save_volume(volume)
            await self._volume_phase(volume, "Available")

    async def _claim_from_server(self, ref: dict) -> dict | None:
        """The claim the volume names, re-read from the API server: the cache may not have
        seen a new claim yet, and a claim of the same name with another uid does not count."""
        try:
            claim = await self.pvc_api.get(ref["name"], namespace=ref.get("namespace"))
        except NotFound:
            return None
        return claim if claim["metadata"]["uid"] == ref["uid"] else None

    async def _released(self, volume: dict) -> None:
        name = volume["metadata"]["name"]
        if (volume.get("status") or {}).get("phase") not in ("Released", "Failed"):
            volume = await self._volume_phase(volume, "Released")
        policy = volume["spec"].get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain" or (volume.get("status") or {}).get("phase") == "Failed":
            return
        if policy == "Delete":
            if volume["metadata"].get("deletionTimestamp"):
                return
            try:
                await self.pv_api.delete(name, preconditions={"uid": volume["metadata"]["uid"]})
            except (NotFound, Conflict):
                return
            self.log.info("deleted released volume %s (reclaim policy Delete)", name)
            return
        await self._volume_phase(volume, "Failed", "No recycler plugin found for the volume!")
        self.ctx.recorder.event(volume, type="Warning", reason="VolumeFailedRecycle",
                                action="Recycle", note="No recycler plugin found for the volume!")
