"""DaemonSet controller: one pod on every eligible node (upstream's daemon_controller.go).

Each sync claims the set's pods, files them by node (the node they run on, or the node
their affinity pins them to), records the template as a ControllerRevision whose hash
labels the pods, and per node creates the missing pod, deletes surplus, misplaced,
succeeded and (with backoff) failed ones. Pods are created unbound with a
``matchFields metadata.name`` node affinity for the scheduler to honour, as upstream
since 1.12. A RollingUpdate then replaces old pods within maxUnavailable, or surges new
ones within maxSurge. Node changes requeue every DaemonSet, so sets follow nodes joining,
leaving and changing labels or taints. Expectations keep a lagging pod cache from
causing duplicate creations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..client import NotFound
from ..client.meta import meta_namespace_key
from ..client.store import owner_uid_index
from . import register
from .base import Controller
from .daemonset_nodes import pod_template_for, should_run, target_node
from .daemonset_update import HASH_LABEL, budgets, by_age, plan_node, rolling_update
from .util import history, selectors
from .util.controllerref import (
    ControllerRefManager,
    controller_of,
    new_controller_ref,
    recheck_owner,
)
from .util.expectations import ControllerExpectations
from .util.podcontrol import PodControl, slow_start_batch
from .util.pods import is_pod_available, is_pod_ready
from .util.times import utcnow

TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"
FAILED_POD_BACKOFF = (1.0, 900.0)


@register("daemonset")
class DaemonSetController(Controller):
    clock: Callable[[], datetime] = staticmethod(utcnow)

    def setup(self) -> None:
        self.sets = self.ctx.informers.informer("apps/v1", "DaemonSet")
        self.nodes = self.ctx.informers.informer("v1", "Node")
        self.pods = self.ctx.informers.informer("v1", "Pod", indexers={"owner": owner_uid_index})
        self.revisions = self.ctx.informers.informer("apps/v1", "ControllerRevision",
                                                     indexers={"owner": owner_uid_index})
        self.sets.add_event_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new),
                                    on_delete=self._set_deleted)
        self.nodes.add_event_handler(on_add=self._node_changed, on_update=self._node_updated,
                                     on_delete=self._node_changed)
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)
        self.set_api = self.client.api("apps/v1", "DaemonSet")
        self.pod_api = self.client.api("v1", "Pod")
        self.revision_api = self.client.api("apps/v1", "ControllerRevision")
        self.pod_control = PodControl(self.pod_api, self.ctx.recorder)
        self.expectations = ControllerExpectations()
        #: (set key, node) -> (current delay, when it was last applied) for failed pods.
        self.failed_backoff: dict[tuple[str, str], tuple[float, datetime]] = {}

    # -- event handlers ---------------------------------------------------------------

    def _set_key(self, pod: dict) -> str | None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        return f"{pod['metadata']['namespace']}/{ref['name']}"

    def _pod_added(self, pod: dict) -> None:
        if key := self._set_key(pod):
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if key := self._set_key(new) or self._set_key(old):
            if new["metadata"].get("deletionTimestamp"):
                self.expectations.deletion_observed(key, meta_namespace_key(new))
            self.queue.add(key)

    def _pod_deleted(self, obj) -> None:
        pod = getattr(obj, "obj", obj)
        if key := self._set_key(pod):
            self.expectations.deletion_observed(key, meta_namespace_key(pod))
            self.queue.add(key)

    def _set_deleted(self, obj) -> None:
        ds = getattr(obj, "obj", obj)
        self.expectations.delete(meta_namespace_key(ds))
        self.enqueue(obj)

    def _node_changed(self, _obj) -> None:
        for key in self.sets.store.list_keys():
            self.queue.add(key)

    def _node_updated(self, old: dict, new: dict) -> None:
        def relevant(node: dict) -> tuple:
            return (node["metadata"].get("labels"), (node.get("spec") or {}).get("taints"),
                    (node.get("spec") or {}).get("unschedulable"))
        if relevant(old) != relevant(new):
            self._node_changed(new)

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        ds = self.sets.store.get(key)
        if ds is None:
            return
        pods = await self._claim(ds)
        node_pods: dict[str, list[dict]] = {}
        for pod in pods:
            node = target_node(pod)
            if node is not None:
                node_pods.setdefault(node, []).append(pod)
        current, collisions = await self._history(ds)
        hash_ = current["metadata"]["labels"][HASH_LABEL]
        if not ds["metadata"].get("deletionTimestamp") and self.expectations.satisfied(key):
            await self._manage(key, ds, node_pods, hash_)
            strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type")
            if strategy in (None, "RollingUpdate"):
                await self._rolling_update(key, ds, node_pods, hash_)
            await self._cleanup_history(ds, pods, current)
        await self._update_status(key, ds, node_pods, hash_, collisions)

    async def _claim(self, ds: dict) -> list[dict]:
        selector = (ds.get("spec") or {}).get("selector")
        uid = ds["metadata"]["uid"]
        candidates = [p for p in self.pods.store.by_index("namespace", ds["metadata"]["namespace"])
                      if (controller_of(p) or {}).get("uid", uid) == uid]
        manager = ControllerRefManager(
            self.pod_api, ds, new_controller_ref(ds, "apps/v1", "DaemonSet"),
            lambda p: selectors.matches(selector, p["metadata"].get("labels")),
            recheck_owner(self.set_api, ds))
        return await manager.claim(candidates)

    async def _history(self, ds: dict) -> tuple[dict, int]:
        """constructHistory: the revision of the current template (created or renumbered
        as the newest); answers it and the collision count."""
        uid = ds["metadata"]["uid"]
        revisions = history.owned_revisions(self.revisions.store.by_index("owner", uid), uid)
        collisions = (ds.get("status") or {}).get("collisionCount") or 0
        number = history.next_revision_number(revisions)
        candidate = history.new_revision(ds, new_controller_ref(ds, "apps/v1", "DaemonSet"),
                                         history.template_patch(ds), number, collisions)
        equal = history.equal_revisions(revisions, candidate)
        if equal:
            current = equal[-1]
            if (current.get("revision") or 0) < number - 1:
                current = await history.renumber(self.revision_api, current, number)
            return current, collisions
        return await history.create_revision(self.revision_api, ds, candidate, collisions)

    async def _manage(self, key: str, ds: dict, node_pods: dict[str, list[dict]],
                      hash_: str) -> None:
        surge = budgets(ds, 1)[0] > 0 and \
            ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") \
            == "RollingUpdate"
        create, delete = [], []
        names = set()
        for node in self.nodes.store.list():
            name = node["metadata"]["name"]
            names.add(name)
            run, keep = should_run(ds, node)
            plan = plan_node(run, keep, node_pods.get(name, []), hash_, surge)
            if plan.needs_pod:
                create.append(name)
            delete += plan.delete
            delete += self._failed_to_delete(key, ds, name, plan.failed)
        for name, pods in node_pods.items():  # unscheduled pods pinned to a vanished node
            if name not in names:
                delete += [p for p in pods if not (p.get("spec") or {}).get("nodeName")
                           and not p["metadata"].get("deletionTimestamp")]
        await self._sync_nodes(key, ds, delete, create, hash_)

    def _failed_to_delete(self, key: str, ds: dict, node: str, failed: list[dict]
                          ) -> list[dict]:
        if not failed:
            return []
        now = self.clock()
        delay, since = self.failed_backoff.get((key, node), (0.0, now))
        left = delay - (now - since).total_seconds()
        if delay and left > 0:
            self.queue.add_after(key, left)
            return []
        base, cap = FAILED_POD_BACKOFF
        self.failed_backoff[(key, node)] = (min(cap, delay * 2 or base), now)
        for pod in failed:
            self.ctx.recorder.event(ds, type="Warning", reason="FailedDaemonPod",
                                    action="Delete",
                                    note=f"Found failed daemon pod {meta_namespace_key(pod)} "
                                         f"on node {node}, will try to kill it")
        return failed

    async def _sync_nodes(self, key: str, ds: dict, delete: list[dict], create: list[str],
                          hash_: str) -> None:
        if not delete and not create:
            return
        ns = ds["metadata"]["namespace"]
        unique = {meta_namespace_key(p): p for p in delete}
        if create:
            self.expectations.expect_creations(key, len(create))
        else:
            self.expectations.expect_deletions(key, list(unique))
        generation = (ds["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION)
        template = (ds.get("spec") or {}).get("template") or {}
        ref = new_controller_ref(ds, "apps/v1", "DaemonSet")
        pending = list(create)

        async def create_one() -> None:
            node = pending.pop(0)
            body = pod_template_for(template, node, hash_,
                                    int(generation) if generation else None)
            try:
                await self.pod_control.create(ns, body, ds, ref)
            except Exception:
                self.expectations.creation_observed(key)
                raise

        error = None
        if create:
            _, error = await slow_start_batch(len(create), 1, create_one)
            for _ in pending:
                self.expectations.creation_observed(key)
        for pod_key, pod in unique.items():
            try:
                await self.pod_control.delete(ns, pod["metadata"]["name"], ds)
            except NotFound:
                self.expectations.deletion_observed(key, pod_key)
        if error is not None:
            raise error

    async def _rolling_update(self, key: str, ds: dict, node_pods: dict[str, list[dict]],
                              hash_: str) -> None:
        eligible = {n["metadata"]["name"] for n in self.nodes.store.list()
                    if should_run(ds, n)[0]}
        surge, unavailable = budgets(ds, len(eligible))
        delete, create = rolling_update(node_pods, hash_, surge, unavailable,
                                        (ds.get("spec") or {}).get("minReadySeconds") or 0,
                                        self.clock(), eligible)
        if self.expectations.satisfied(key):
            await self._sync_nodes(key, ds, delete, create, hash_)

    async def _cleanup_history(self, ds: dict, pods: list[dict], current: dict) -> None:
        uid = ds["metadata"]["uid"]
        revisions = history.owned_revisions(self.revisions.store.by_index("owner", uid), uid)
        live = {(p["metadata"].get("labels") or {}).get(HASH_LABEL) for p in pods}
        keep = {current["metadata"]["name"]} | {
            r["metadata"]["name"] for r in revisions
            if (r["metadata"].get("labels") or {}).get(HASH_LABEL) in live}
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
        for revision in history.revisions_to_delete(revisions, keep,
                                                    10 if limit is None else limit):
            try:
                await self.revision_api.delete(revision["metadata"]["name"],
                                               namespace=ds["metadata"]["namespace"])
            except NotFound:
                pass

    # -- status -------------------------------------------------------------------------

    def compute_status(self, ds: dict, node_pods: dict[str, list[dict]], hash_: str,
                       collisions: int) -> dict:
        now = self.clock()
        min_ready = (ds.get("spec") or {}).get("minReadySeconds") or 0
        counts = dict.fromkeys(("desiredNumberScheduled", "currentNumberScheduled",
                                "numberMisscheduled", "numberReady", "numberAvailable",
                                "updatedNumberScheduled"), 0)
        for node in self.nodes.store.list():
            pods = [p for p in node_pods.get(node["metadata"]["name"], [])
                    if not (p["metadata"].get("deletionTimestamp") and
                            (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"))]
            run, _ = should_run(ds, node)
            if not run:
                counts["numberMisscheduled"] += bool(pods)
                continue
            counts["desiredNumberScheduled"] += 1
            if not pods:
                continue
            counts["currentNumberScheduled"] += 1
            pod = by_age(pods)[0]
            if is_pod_ready(pod):
                counts["numberReady"] += 1
                counts["numberAvailable"] += is_pod_available(pod, min_ready, now)
            counts["updatedNumberScheduled"] += \
                (pod["metadata"].get("labels") or {}).get(HASH_LABEL) == hash_
        status = dict(counts, observedGeneration=ds["metadata"].get("generation"))
        unavailable = counts["desiredNumberScheduled"] - counts["numberAvailable"]
        if unavailable:
            status["numberUnavailable"] = unavailable
        if collisions:
            status["collisionCount"] = collisions
        return status

    async def _update_status(self, key: str, ds: dict, node_pods: dict[str, list[dict]],
                             hash_: str, collisions: int) -> None:
        status = self.compute_status(ds, node_pods, hash_, collisions)
        old = ds.get("status") or {}
        if _significant(status) != _significant(old):
            conditions = {"conditions": old["conditions"]} if old.get("conditions") else {}
            await self.set_api.update_status({**ds, "status": {**status, **conditions}})
        min_ready = (ds.get("spec") or {}).get("minReadySeconds") or 0
        if min_ready and status["numberReady"] != status["numberAvailable"]:
            self.queue.add_after(key, min_ready)


def _significant(status: dict) -> dict:
    """The counters of a status, ignoring zeros the API may omit and conditions."""
    return {k: v for k, v in status.items() if v not in (0, None) and k != "conditions"}
