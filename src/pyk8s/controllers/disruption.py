"""Disruption controller: keeps each PodDisruptionBudget's status true to its pods.

The eviction API (apiserver/eviction.py) decides from a budget's status alone, so this
controller is what makes budgets mean anything. As upstream's pkg/controller/disruption,
each sync of ``namespace/name``:

1. selects the budget's pods (a missing selector selects none, ``{}`` all of the namespace);
2. works out ``expectedPods`` and ``desiredHealthy``: with an integer ``minAvailable``,
   the pod count and that number; with ``maxUnavailable`` or a percentage, the sum of the
   scales of the pods' controllers (ReplicaSet, the Deployment above one, StatefulSet,
   ReplicationController, or any owner serving ``/scale``), percentages rounded up;
   pods without a controller are reported (UnmanagedPods) and left out;
3. keeps the eviction API's ``disruptedPods`` entries younger than two minutes (their pods
   count as gone), counts ready pods as ``currentHealthy``, and writes
   ``disruptionsAllowed = currentHealthy - desiredHealthy`` (never below zero, and zero
   while no pod is expected), ``observedGeneration`` and the DisruptionAllowed condition
   (SufficientPods / InsufficientPods) when any of it changed; it comes back when the
   oldest kept entry expires.

A sync that fails for another reason than a write conflict writes the fail-safe status:
no disruptions allowed, condition reason SyncFailed. A second queue clears the
DisruptionTarget condition the eviction API put on pods that, two minutes later, are
still not being deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ..client import ApiError, Conflict, NotFound, RateLimitingQueue, run_workers
from ..client.errors import MethodNotAllowed
from ..client.meta import meta_namespace_key
from ..client.store import namespace_index
from . import register
from .base import Controller
from .util import selectors
from .util.controllerref import controller_of
from .util.pods import is_pod_ready
from .util.times import format_time, parse_time, utcnow

#: How long an eviction's disruptedPods entry holds before the pod counts again.
DELETION_TIMEOUT = timedelta(minutes=2)
#: How long a DisruptionTarget condition may sit on a pod that is not being deleted.
STALE_DISRUPTION_TIMEOUT = timedelta(minutes=2)
CONDITION = "DisruptionAllowed"
FIELD_MANAGER = "kube-controller-manager"
SCALED_KINDS = {("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "Deployment"),
                ("", "ReplicationController")}

#: (uid, replicas) of the controller a pod's controllerRef names, or None if it is not found.
Finder = Callable[[dict, str], Awaitable[tuple[str, int] | None]]


class SyncError(Exception):
    """A budget whose status cannot be calculated (reported as SyncFailed)."""


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


# ---- the arithmetic ---------------------------------------------------------------------

def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """An IntOrString against ``total`` (intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.endswith("%"):
        raise SyncError(f"invalid value for IntOrString: invalid type: string is not a "
                        f"percentage: {value!r}")
    try:
        percent = int(value[:-1])
    except ValueError:
        raise SyncError(f"invalid value {value!r}: not a percentage") from None
    scaled = percent * total
    return -(-scaled // 100) if round_up else scaled // 100


def needs_scale(spec: dict) -> bool:
    """Whether the budget is measured against its controllers' scale, not its pod count."""
    return spec.get("maxUnavailable") is not None or \
        isinstance(spec.get("minAvailable"), str)


def expected_and_desired(spec: dict, pod_count: int, scale: int) -> tuple[int, int]:
    """(expectedPods, desiredHealthy) for a budget spec (getExpectedPodCount)."""
    if spec.get("maxUnavailable") is not None:
        unavailable = scaled_value(spec["maxUnavailable"], scale, round_up=True)
        return scale, max(0, scale - unavailable)
    minimum = spec.get("minAvailable")
    if minimum is None:
        return 0, 0
    if isinstance(minimum, int):
        return pod_count, minimum
    return scale, scaled_value(minimum, scale, round_up=True)


def disruptions_allowed(current: int, desired: int, expected: int) -> int:
    """Never negative, and zero while no pod is expected (a budget whose first pods have
    appeared before its status caught up must not allow anything)."""
    allowed = current - desired
    return allowed if expected > 0 and allowed > 0 else 0


def live_disruptions(pods: list[dict], recorded: dict | None, now: datetime
                     ) -> tuple[dict[str, str], datetime | None, list[dict]]:
    """The disruptedPods entries to keep (pods not yet deleting, recorded less than
    DELETION_TIMEOUT ago), when the first of them expires, and the pods whose entry
    expired without their deletion (buildDisruptedPodMap)."""
    kept: dict[str, str] = {}
    recheck, overdue = None, []
    for pod in pods:
        meta = pod["metadata"]
        stamp = (recorded or {}).get(meta["name"])
        if meta.get("deletionTimestamp") or stamp is None:
            continue
        when = parse_time(stamp)
        expires = when + DELETION_TIMEOUT if when is not None else now
        if expires < now:
            overdue.append(pod)
            continue
        kept[meta["name"]] = stamp
        recheck = expires if recheck is None or expires < recheck else recheck
    return kept, recheck, overdue


def count_healthy(pods: list[dict], disrupted: dict[str, str], now: datetime) -> int:
    """Ready pods that are neither being deleted nor recently evicted."""
    healthy = 0
    for pod in pods:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        when = parse_time(disrupted.get(meta["name"]))
        if when is not None and when + DELETION_TIMEOUT > now:
            continue
        if is_pod_ready(pod):
            healthy += 1
    return healthy


async def expected_scale(pods: list[dict], finders: list[Finder]) -> tuple[int, list[str]]:
    """The summed scale of the pods' controllers, and the pods without a controller."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        ref = controller_of(pod)
        if ref is None:
            unmanaged.append(pod["metadata"]["name"])
            continue
        if ref.get("uid") in scales:
            continue
        for find in finders:
            found = await find(ref, pod["metadata"]["namespace"])
            if found is not None:
                scales[found[0]] = found[1]
                break
        else:
            raise SyncError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
    return sum(scales.values()), unmanaged


def set_condition(conditions: list[dict] | None, wanted: dict, now: str) -> list[dict]:
    """``conditions`` with ``wanted`` set (meta.SetStatusCondition: the transition time
    moves only when the status does)."""
    out = [dict(c) for c in conditions or ()]
    for cond in out:
        if cond.get("type") == wanted["type"]:
            if cond.get("status") != wanted["status"]:
                cond["lastTransitionTime"] = now
            cond.update(wanted)
            return out
    return [*out, {**wanted, "lastTransitionTime": now}]


def allowed_condition(allowed: int, generation: int) -> dict:
    if allowed > 0:
        return {"type": CONDITION, "status": "True", "reason": "SufficientPods", "message": "",
                "observedGeneration": generation}
    return {"type": CONDITION, "status": "False", "reason": "InsufficientPods", "message": "",
            "observedGeneration": generation}


def status_current(pdb: dict, wanted: dict) -> bool:
    """Whether the stored status already says ``wanted`` (its condition included)."""
    status = pdb.get("status") or {}
    for field in ("currentHealthy", "desiredHealthy", "expectedPods", "disruptionsAllowed",
                  "observedGeneration"):
        if (status.get(field) or 0) != wanted[field]:
            return False
    if (status.get("disruptedPods") or {}) != wanted["disruptedPods"]:
        return False
    cond = next((c for c in status.get("conditions") or () if c.get("type") == CONDITION),
                None)
    expect = allowed_condition(wanted["disruptionsAllowed"], 0)
    return cond is not None and cond.get("status") == expect["status"] and \
        cond.get("reason") == expect["reason"]


# ---- the controller ---------------------------------------------------------------------

@register("disruption")
class DisruptionController(Controller):
    def setup(self) -> None:
        informers = self.ctx.informers
        self.pdbs = informers.informer("policy/v1", "PodDisruptionBudget",
                                       indexers={"namespace": namespace_index})
        self.pods = informers.informer("v1", "Pod")
        self.replicasets = informers.informer("apps/v1", "ReplicaSet")
        self.deployments = informers.informer("apps/v1", "Deployment")
        self.statefulsets = informers.informer("apps/v1", "StatefulSet")
        self.rcs = informers.informer("v1", "ReplicationController")
        self.pdbs.add_event_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new),
                                    on_delete=self.enqueue)
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=lambda old, new: self._pod_changed(new),
                                    on_delete=self._pod_changed)
        for informer in (self.replicasets, self.deployments, self.statefulsets, self.rcs):
            informer.add_event_handler(on_add=self._scale_changed,
                                       on_update=self._scale_updated)
        self.pdb_api = self.client.api("policy/v1", "PodDisruptionBudget")
        self.pod_api = self.client.api("v1", "Pod")
        self.stale_queue = RateLimitingQueue(name=f"{self.name}-stale-pod-disruption")

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(
            super().run(stop),
            run_workers(self.stale_queue, self.sync_stale_pod, workers=self.workers,
                        stop=stop))

    # -- event handlers --------------------------------------------------------------

    def _budgets_for(self, pod: dict) -> list[dict]:
        meta = pod["metadata"]
        return [pdb for pdb in self.pdbs.store.by_index("namespace", meta.get("namespace", ""))
                if selectors.matches((pdb.get("spec") or {}).get("selector"),
                                     meta.get("labels"))]

    def _pod_changed(self, obj) -> None:
        pod = getattr(obj, "obj", obj)
        for pdb in self._budgets_for(pod):
            self.enqueue(pdb)
        stale, wait = stale_disruption(pod, utcnow())
        if stale:  # an eviction that did not end in a deletion: clear it later
            self.stale_queue.add_after(meta_namespace_key(pod), wait.total_seconds())

    def _scale_changed(self, obj: dict) -> None:
        """A controller appeared or was resized: its budgets' expectedPods may move (the
        pods alone would not tell a budget whose pods are all there)."""
        for pdb in self.pdbs.store.by_index("namespace", obj["metadata"].get("namespace", "")):
            if needs_scale(pdb.get("spec") or {}):
                self.enqueue(pdb)

    def _scale_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("replicas") != (new.get("spec") or {}).get("replicas"):
            self._scale_changed(new)

    # -- finders -----------------------------------------------------------------------

    def _finders(self) -> list[Finder]:
        return [self._replicaset, self._deployment, self._cached(self.statefulsets,
                                                                   "apps", "StatefulSet"),
                self._cached(self.rcs, "", "ReplicationController"), self._scale_subresource]

    @staticmethod
    def _cached(informer, group: str, kind: str) -> Finder:
        async def find(ref: dict, namespace: str) -> tuple[str, int] | None:
            if ref.get("kind") != kind or _group(ref.get("apiVersion", "")) != group:
                return None
            obj = informer.store.get(f"{namespace}/{ref['name']}")
            if obj is None or obj["metadata"].get("uid") != ref.get("uid"):
                return None
            return obj["metadata"]["uid"], (obj.get("spec") or {}).get("replicas", 1)

        return find

    def _owning_replicaset(self, ref: dict, namespace: str) -> dict | None:
        if ref.get("kind") != "ReplicaSet" or \
                _group(ref.get("apiVersion", "")) not in ("apps", "extensions"):
            return None
        rs = self.replicasets.store.get(f"{namespace}/{ref['name']}")
        return rs if rs is not None and rs["metadata"].get("uid") == ref.get("uid") else None

    async def _replicaset(self, ref: dict, namespace: str) -> tuple[str, int] | None:
        rs = self._owning_replicaset(ref, namespace)
        if rs is None:
            return None
        owner = controller_of(rs)
        if owner is not None and owner.get("kind") == "Deployment":
            return None  # the Deployment's scale counts
        return rs["metadata"]["uid"], (rs.get("spec") or {}).get("replicas", 1)

    async def _deployment(self, ref: dict, namespace: str) -> tuple[str, int] | None:
        rs = self._owning_replicaset(ref, namespace)
        owner = controller_of(rs) if rs is not None else None
        if owner is None or owner.get("kind") != "Deployment" or \
                _group(owner.get("apiVersion", "")) not in ("apps", "extensions"):
            return None
        return await self._cached(self.deployments, "apps", "Deployment")(
            {**owner, "apiVersion": "apps/v1"}, namespace)

    async def _scale_subresource(self, ref: dict, namespace: str) -> tuple[str, int] | None:
        """Any other owner that serves ``/scale`` (custom resources included)."""
        group = _group(ref.get("apiVersion", ""))
        if (group, ref.get("kind")) in SCALED_KINDS:
            return None
        try:
            scale = await self.client.api(ref["apiVersion"], ref["kind"]).get(
                ref["name"], namespace=namespace, subresource="scale")
        except NotFound:
            return None
        except MethodNotAllowed:
            raise SyncError(f"{ref['kind']}.{group} does not implement the scale subresource"
                            ) from None
        if scale["metadata"].get("uid") != ref.get("uid"):
            return None
        return ref["uid"], (scale.get("spec") or {}).get("replicas", 0)

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        pdb = self.pdbs.store.get(key)
        if pdb is None:
            return
        try:
            await self._try_sync(pdb)
        except Conflict:
            raise
        except (ApiError, SyncError) as err:
            self.log.warning("failed to sync pdb %s: %s", key, err)
            await self._fail_safe(pdb, err)

    def _pods_of(self, pdb: dict) -> list[dict]:
        selector = (pdb.get("spec") or {}).get("selector")
        namespace = pdb["metadata"]["namespace"]
        return [p for p in self.pods.store.list()
                if p["metadata"].get("namespace") == namespace
                and selectors.matches(selector, p["metadata"].get("labels"))]

    async def _try_sync(self, pdb: dict) -> None:
        spec = pdb.get("spec") or {}
        pods = self._pods_of(pdb)
        if not pods:
            self.ctx.recorder.event(pdb, reason="NoPods", action="Sync",
                                    note="No matching pods found")
        scale, unmanaged = 0, []
        if needs_scale(spec):
            try:
                scale, unmanaged = await expected_scale(pods, self._finders())
            except (SyncError, ApiError) as err:
                self.ctx.recorder.event(pdb, type="Warning", action="Sync",
                                        reason="CalculateExpectedPodCountFailed",
                                        note=f"Failed to calculate the number of expected "
                                             f"pods: {err}")
                raise
        expected, desired = expected_and_desired(spec, len(pods), scale)
        if unmanaged:
            self.ctx.recorder.event(
                pdb, type="Warning", reason="UnmanagedPods", action="Sync",
                note=f"Pods selected by this PodDisruptionBudget (selector: "
                     f"{spec.get('selector')}) were found to be unmanaged. As a result, the "
                     "status of the PDB cannot be calculated correctly, which may result in "
                     "undefined behavior. To account for these pods please set "
                     '".spec.minAvailable" field of the PDB to an integer value.')
        now = utcnow()
        disrupted, recheck, overdue = live_disruptions(
            pods, (pdb.get("status") or {}).get("disruptedPods"), now)
        for pod in overdue:
            meta = pdb["metadata"]
            self.ctx.recorder.event(pod, type="Warning", reason="NotDeleted", action="Sync",
                                    note=f"Pod was expected by PDB {meta['namespace']}/"
                                         f"{meta['name']} to be deleted but it wasn't")
        current = count_healthy(pods, disrupted, now)
        await self._write_status(pdb, current, desired, expected, disrupted)
        if recheck is not None:
            self.queue.add_after(meta_namespace_key(pdb), (recheck - now).total_seconds())

    async def _write_status(self, pdb: dict, current: int, desired: int, expected: int,
                            disrupted: dict[str, str]) -> None:
        generation = pdb["metadata"].get("generation") or 0
        allowed = disruptions_allowed(current, desired, expected)
        wanted = {"currentHealthy": current, "desiredHealthy": desired,
                  "expectedPods": expected, "disruptionsAllowed": allowed,
                  "observedGeneration": generation, "disruptedPods": disrupted}
        if status_current(pdb, wanted):
            return
        status = {k: v for k, v in wanted.items() if k != "disruptedPods" or v}
        status["conditions"] = set_condition((pdb.get("status") or {}).get("conditions"),
                                             allowed_condition(allowed, generation),
                                             format_time())
        await self.pdb_api.update_status({**pdb, "status": status})

    async def _fail_safe(self, pdb: dict, err: Exception) -> None:
        status = dict(pdb.get("status") or {})
        status["disruptionsAllowed"] = 0
        status["conditions"] = set_condition(status.get("conditions"), {
            "type": CONDITION, "status": "False", "reason": "SyncFailed", "message": str(err),
            "observedGeneration": status.get("observedGeneration") or 0}, format_time())
        await self.pdb_api.update_status({**pdb, "status": status})

    # -- stale DisruptionTarget conditions ---------------------------------------------

    async def sync_stale_pod(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None:
            return
        stale, wait = stale_disruption(pod, utcnow())
        if not stale:
            return
        if wait > timedelta(0):
            self.stale_queue.add_after(key, wait.total_seconds())
            return
        meta = pod["metadata"]
        await self.pod_api.patch(
            meta["name"], {"metadata": {"resourceVersion": meta["resourceVersion"]},
                           "status": {"conditions": [{
                               "type": "DisruptionTarget", "status": "False",
                               "lastTransitionTime": format_time()}]}},
            namespace=meta["namespace"], type="strategic", subresource="status",
            field_manager=FIELD_MANAGER)


def stale_disruption(pod: dict, now: datetime) -> tuple[bool, timedelta]:
    """Whether the pod carries a DisruptionTarget=True it may lose (not deleting, not
    finished, not the kubelet's), and how long until it may."""
    if pod["metadata"].get("deletionTimestamp") or \
            (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False, timedelta(0)
    cond = next((c for c in (pod.get("status") or {}).get("conditions") or ()
                 if c.get("type") == "DisruptionTarget"), None)
    if cond is None or cond.get("status") != "True" or \
            cond.get("reason") == "TerminationByKubelet":
        return False, timedelta(0)
    since = parse_time(cond.get("lastTransitionTime")) or now
    return True, max(timedelta(0), since + STALE_DISRUPTION_TIMEOUT - now)
