"""The writes of one Deployment sync (upstream's sync.go and progress.go).

:class:`DeploymentSync` holds our own copy of the Deployment and the ReplicaSets it
claimed for one sync, and offers the steps the strategies compose: find or create the new
ReplicaSet (named ``<deployment>-<pod-template-hash>``, revision max(old)+1, bumping a
reused one's revision, which is what a ``kubectl rollout undo`` amounts to), scale a
ReplicaSet with its desired/max-replicas annotations and a ``ScalingReplicaSet`` event,
scale proportionally when a Deployment is resized mid-rollout, delete old ReplicaSets
past ``revisionHistoryLimit``, and write status. ReplicaSets read from the cache are
never changed: each write sends a copy and the answer replaces the list entry.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from ..client import AlreadyExists, ApiError
from . import deployment_util as du
from .deployment_status import calculate_status, requeue_after, rollout_status
from .util.controllerref import controller_of, new_controller_ref
from .util.hashing import compute_hash
from .util.podcontrol import error_text, namespace_terminating

if TYPE_CHECKING:
    from .deployment import DeploymentController

log = logging.getLogger("pyk8s.controllers.deployment")


class DeploymentSync:
    def __init__(self, ctl: DeploymentController, d: dict, rs_list: list[dict]) -> None:
        self.ctl = ctl
        self.d = d
        self.rs_list = list(rs_list)
        self.key = f"{d['metadata']['namespace']}/{d['metadata']['name']}"

    # -- writes -----------------------------------------------------------------------

    def _replace(self, rs: dict) -> dict:
        uid = rs["metadata"]["uid"]
        self.rs_list = [rs if r["metadata"]["uid"] == uid else r for r in self.rs_list]
        return rs

    async def update_status(self) -> None:
        """Write our copy's status (and the revision annotation) back."""
        wanted = du.annotations(self.d).get(du.REVISION)
        self.d = await self.ctl.deployment_api.update_status(self.d)
        if wanted is not None and du.annotations(self.d).get(du.REVISION) != wanted:
            # Upstream's status strategy keeps annotations; ours drops metadata changes,
            # so the revision goes through the main resource.
            meta = self.d["metadata"]
            self.d = await self.ctl.deployment_api.patch(
                meta["name"], {"metadata": {"annotations": {du.REVISION: wanted}}},
                namespace=meta["namespace"])

    def _event(self, reason: str, note: str, type: str = "Normal") -> None:
        self.ctl.ctx.recorder.event(self.d, type=type, reason=reason, action="Scale"
                                    if reason == "ScalingReplicaSet" else "Sync", note=note)

    async def scale_rs(self, rs: dict, size: int, operation: str = "") -> tuple[bool, dict]:
        """Set ``rs``'s replicas (and replica annotations); (scaled, the ReplicaSet)."""
        desired, maximum = du.replicas(self.d), du.replicas(self.d) + du.max_surge(self.d)
        resize = du.replicas(rs) != size
        if not resize and not du.replicas_annotations_need_update(rs, desired, maximum):
            return False, rs
        old_size = du.replicas(rs)
        body = copy.deepcopy(rs)
        body["spec"]["replicas"] = size
        du.set_replicas_annotations(body, desired, maximum)
        rs = self._replace(await self.ctl.rs_api.update(body))
        if resize:
            op = operation or ("up" if old_size < size else "down")
            self._event("ScalingReplicaSet", f"Scaled {op} replica set "
                        f"{rs['metadata']['name']} from {old_size} to {size}")
        return resize, rs

    async def scale_rs_and_record(self, rs: dict, size: int) -> tuple[bool, dict]:
        if du.replicas(rs) == size:
            return False, rs
        return await self.scale_rs(rs, size)

    # -- new and old ReplicaSets ---------------------------------------------------------

    async def all_rss(self, create: bool) -> tuple[dict | None, list[dict]]:
        """(new ReplicaSet or None, every old one), syncing revisions on the way."""
        olds = du.find_old_rss(self.d, self.rs_list)
        new = await self._new_rs(olds, create)
        return new, du.find_old_rss(self.d, self.rs_list) if new else olds

    async def _new_rs(self, olds: list[dict], create: bool) -> dict | None:
        existing = du.find_new_rs(self.d, self.rs_list)
        new_revision = du.max_revision(olds) + 1
        if existing is not None:
            return await self._sync_existing(existing, new_revision)
        if not create:
            return None
        return await self._create_new(olds, new_revision)

    async def _sync_existing(self, existing: dict, new_revision: int) -> dict:
        body = copy.deepcopy(existing)
        changed = du.set_new_rs_annotations(self.d, body, new_revision, True)
        min_ready = (self.d["spec"].get("minReadySeconds") or 0)
        if changed or (body["spec"].get("minReadySeconds") or 0) != min_ready:
            body["spec"]["minReadySeconds"] = min_ready
            return self._replace(await self.ctl.rs_api.update(body))
        needs_update = self._set_revision(du.annotations(existing).get(du.REVISION, ""))
        status = self.d.setdefault("status", {})
        if du.has_progress_deadline(self.d) and not du.get_condition(status, "Progressing"):
            du.set_condition(status, du.new_condition(
                "Progressing", "True", "FoundNewReplicaSet",
                f'Found new replica set "{existing["metadata"]["name"]}"'))
            needs_update = True
        if needs_update:
            await self.update_status()
        return existing

    def _set_revision(self, revision: str) -> bool:
        ann = self.d["metadata"].setdefault("annotations", {})
        if ann.get(du.REVISION) == revision:
            return False
        ann[du.REVISION] = revision
        return True

    def _new_rs_body(self) -> dict:
        spec, meta = self.d["spec"], self.d["metadata"]
        template = copy.deepcopy(spec["template"])
        pod_hash = compute_hash(template, (self.d.get("status") or {}).get("collisionCount"))
        template.setdefault("metadata", {}).setdefault("labels", {})[du.HASH_LABEL] = pod_hash
        selector = copy.deepcopy(spec["selector"])
        selector.setdefault("matchLabels", {})[du.HASH_LABEL] = pod_hash
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{meta['name']}-{pod_hash}",
                             "namespace": meta["namespace"],
                             "ownerReferences": [new_controller_ref(self.d, "apps/v1",
                                                                    "Deployment")],
                             "labels": dict(template["metadata"]["labels"])},
                "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds") or 0,
                         "selector": selector, "template": template}}

    async def _create_new(self, olds: list[dict], new_revision: int) -> dict | None:
        body = self._new_rs_body()
        size = du.new_rs_new_replicas(self.d, olds + [body], body)
        body["spec"]["replicas"] = size
        du.set_new_rs_annotations(self.d, body, new_revision, False)
        name = body["metadata"]["name"]
        created, exists = None, False
        try:
            created = await self.ctl.rs_api.create(body, namespace=self.d["metadata"]["namespace"])
        except AlreadyExists:
            created, exists = await self._on_name_taken(name), True
        except ApiError as err:
            if not namespace_terminating(err):
                await self._report_create_failure(name, err)
            raise
        self.rs_list.append(created)
        if not exists and size > 0:
            self._event("ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {size}")
        needs_update = self._set_revision(str(new_revision))
        if not exists and du.has_progress_deadline(self.d):
            du.set_condition(self.d.setdefault("status", {}), du.new_condition(
                "Progressing", "True", "NewReplicaSetCreated",
                f'Created new replica set "{name}"'))
            needs_update = True
        if needs_update:
            await self.update_status()
        return created

    async def _on_name_taken(self, name: str) -> dict:
        """Ours already (a stale cache), or a hash collision: bump collisionCount and fail
        this sync so the next one hashes differently."""
        rs = await self.ctl.rs_api.get(name, namespace=self.d["metadata"]["namespace"])
        ref = controller_of(rs)
        if ref and ref.get("uid") == self.d["metadata"]["uid"] and du.equal_ignore_hash(
                rs["spec"].get("template"), self.d["spec"]["template"]):
            return rs
        status = self.d.setdefault("status", {})
        status["collisionCount"] = (status.get("collisionCount") or 0) + 1
        await self.update_status()
        log.info("hash collision for deployment %s: collisionCount now %d", self.key,
                 status["collisionCount"])
        raise RuntimeError(f"replica set {name} already exists with another template")

    async def _report_create_failure(self, name: str, err: ApiError) -> None:
        msg = f'Failed to create new replica set "{name}": {error_text(err)}'
        if du.has_progress_deadline(self.d):
            du.set_condition(self.d.setdefault("status", {}), du.new_condition(
                "Progressing", "False", "ReplicaSetCreateError", msg))
            await self.update_status()
        self._event("ReplicaSetCreateError", msg, type="Warning")

    # -- scaling ------------------------------------------------------------------------

    async def is_scaling_event(self) -> bool:
        """Some active ReplicaSet was sized for a different spec.replicas."""
        new, olds = await self.all_rss(False)
        for rs in du.filter_active(olds + [new]):
            desired = du.desired_annotation(rs)
            if desired is not None and desired != du.replicas(self.d):
                return True
        return False

    async def scale(self, new: dict | None, olds: list[dict]) -> None:
        """Resize for a new spec.replicas (upstream's scale)."""
        target = du.find_active_or_latest(new, olds)
        if target is not None:
            if du.replicas(target) != du.replicas(self.d):
                await self.scale_rs_and_record(target, du.replicas(self.d))
            return
        if du.is_saturated(self.d, new):
            for old in du.filter_active(olds):
                await self.scale_rs_and_record(old, 0)
            return
        if du.is_rolling(self.d):
            await self._scale_proportionally(du.filter_active(olds + [new]))

    async def _scale_proportionally(self, active: list[dict]) -> None:
        sizes, operation = proportional_sizes(self.d, active)
        for rs in active:
            await self.scale_rs(rs, sizes[rs["metadata"]["name"]], operation)

    async def cleanup(self, olds: list[dict]) -> None:
        """Delete the oldest scaled-down ReplicaSets beyond revisionHistoryLimit."""
        limit = self.d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in olds if not rs["metadata"].get("deletionTimestamp")]
        excess = len(alive) - limit
        if excess <= 0:
            return
        alive.sort(key=lambda rs: (du.revision(rs), du.by_creation(rs)))
        for rs in alive[:excess]:
            if du.status_of(rs, "replicas") or du.replicas(rs) or \
                    (rs["metadata"].get("generation") or 0) > du.status_of(rs, "observedGeneration"):
                continue
            log.info("deleting old replica set %s/%s", rs["metadata"]["namespace"],
                     rs["metadata"]["name"])
            await self.ctl.rs_api.delete(rs["metadata"]["name"],
                                         namespace=rs["metadata"]["namespace"],
                                         preconditions={"uid": rs["metadata"]["uid"]})

    # -- status -------------------------------------------------------------------------

    async def sync_status(self, all_rss: list[dict | None], new: dict | None) -> None:
        status = calculate_status(self.d, all_rss, new)
        if status != (self.d.get("status") or {}):
            self.d["status"] = status
            await self.update_status()

    async def sync_rollout_status(self, all_rss: list[dict | None], new: dict | None) -> None:
        status = rollout_status(self.d, all_rss, new)
        if status == (self.d.get("status") or {}):
            delay = requeue_after(self.d, status)
            if delay is not None:
                self.ctl.queue.add_after(self.key, delay)
            return
        self.d["status"] = status
        await self.update_status()

    async def sync_only(self) -> None:
        """Paused or resized: scale without rolling out, then write status."""
        new, olds = await self.all_rss(False)
        await self.scale(new, olds)
        new, olds = await self.all_rss(False)
        if self.d["spec"].get("paused"):
            await self.cleanup(olds)
        await self.sync_status(olds + [new], new)

    async def sync_status_only(self) -> None:
        new, olds = await self.all_rss(False)
        await self.sync_status(olds + [new], new)

    async def check_paused_conditions(self) -> None:
        if not du.has_progress_deadline(self.d):
            return
        status = self.d.setdefault("status", {})
        cond = du.get_condition(status, "Progressing")
        if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
            return
        paused_cond = cond is not None and cond.get("reason") == "DeploymentPaused"
        if self.d["spec"].get("paused") and not paused_cond:
            du.set_condition(status, du.new_condition(
                "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"))
        elif not self.d["spec"].get("paused") and paused_cond:
            du.set_condition(status, du.new_condition(
                "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"))
        else:
            return
        await self.update_status()


def proportional_sizes(d: dict, active: list[dict]) -> tuple[dict[str, int], str]:
    """New sizes of the active ReplicaSets when ``d`` is resized mid-rollout: each gets
    its share of the change by the max-replicas it was sized for, larger ones first
    (newer first when growing, older first when shrinking), leftovers to the first."""
    allowed = du.replicas(d) + du.max_surge(d) if du.replicas(d) > 0 else 0
    to_add = allowed - du.replica_count(active)
    operation = ""
    ordered = sorted(active, key=du.by_creation, reverse=to_add > 0)
    ordered.sort(key=du.replicas, reverse=True)
    if to_add:
        operation = "up" if to_add > 0 else "down"
    sizes, added = {}, 0
    for rs in ordered:
        share = du.proportion(rs, d, to_add, added) if to_add else 0
        sizes[rs["metadata"]["name"]] = du.replicas(rs) + share
        added += share
    if ordered and to_add:
        first = ordered[0]["metadata"]["name"]
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes, operation
