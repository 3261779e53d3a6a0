"""The scheduling and binding cycles, and the informer events that feed them.

One pod at a time goes through the scheduling cycle (synchronous over a snapshot):
PreFilter, Filter over nodes from a rotating start index until
``num_feasible_nodes_to_find`` fit, PreScore/Score, highest total wins (ties broken at
random), Reserve and Permit; the pod is then assumed in the cache and the binding cycle
(PreBind, Bind through pods/binding) runs as its own task, so the next pod is scheduled
while the API call is in flight. A pod that fits nowhere runs PostFilter (preemption)
and gets ``PodScheduled=False``/``Unschedulable`` with upstream's "0/N nodes are
available" message and a FailedScheduling event.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from ..client.errors import ClientError, NotFound
from ..client.informers import DeletedFinalStateUnknown
from ..client.meta import micro_time
from .cache import Cache, Snapshot
from .framework.config import SchedulerConfig
from .framework.fiterror import fit_error_message
from .framework.interface import Code, CycleState, QueuedPodInfo, Status, unschedulable
from .framework.registry import Registry
from .framework.runtime import Framework, Handle
from .nominator import Nominator
from .plugins import in_tree_registry, plugin_events
from .queue import SchedulingQueue

log = logging.getLogger("pyk8s.scheduler")

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
ASSUMED_CLEANUP_PERIOD = 1.0
#: Binding cycles in flight at once; the scheduling loop waits for a free slot, so a
#: slow API server slows scheduling instead of piling up timed-out bind calls.
MAX_BINDINGS_IN_FLIGHT = 64
NO_NODES = "no nodes available to schedule pods"


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """How many feasible nodes to look for before scoring (upstream's adaptive rule)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def select_host(scores: dict[str, int]) -> str:
    """The highest-scoring node; ties broken uniformly at random."""
    if not scores:
        return ""
    best_score = max(scores.values())
    return random.choice([name for name, score in scores.items() if score == best_score])


def _is_terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _node_name(pod: dict) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


def _node_relevant(node: dict) -> tuple:
    spec, status = node.get("spec") or {}, node.get("status") or {}
    return ((node.get("metadata") or {}).get("labels"), spec.get("taints"),
            spec.get("unschedulable"), status.get("allocatable"), status.get("images"))


class Scheduler:
    def __init__(self, client, config: SchedulerConfig, *, registry: Registry | None = None,
                 recorder=None, pdbs: Callable[[], list[dict]] | None = None,
                 volume_stores=None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.config, self.recorder = client, config, recorder
        self.cache = Cache(clock=clock)
        self.snapshot = Snapshot()
        self.nominator = Nominator()
        self.namespace_labels: dict[str, dict] = {}
        registry = registry or in_tree_registry()
        self.profiles: dict[str, Framework] = {}
        for profile in config.profiles:
            handle = Handle(self.snapshot, client, self.namespace_labels, pdbs,
                            self.nominator, recorder, volume_stores)
            self.profiles[profile.scheduler_name] = Framework(profile, registry, handle)
        first = next(iter(self.profiles.values()))
        self.queue = SchedulingQueue(first.less, initial_backoff=config.pod_initial_backoff,
                                     max_backoff=config.pod_max_backoff,
                                     plugin_events=plugin_events, clock=clock)
        self.next_start_index = 0
        self.waiting: dict[str, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()
        self._binding_slots = asyncio.Semaphore(MAX_BINDINGS_IN_FLIGHT)
        self.pods = client.api("v1", "Pod") if client is not None else None

    # -- informer events (sync, quick) ------------------------------------------------

    def _responsible(self, pod: dict) -> bool:
        return (pod.get("spec") or {}).get("schedulerName", "default-scheduler") \
            in self.profiles

    def on_pod_add(self, pod: dict) -> None:
        if _is_terminal(pod):
            return
        if _node_name(pod):
            self.cache.add_pod(pod)
            self.queue.move_all("AssignedPodAdd")
        elif self._responsible(pod):
            self.queue.add(pod)
            self.nominator.add(pod)

    def on_pod_update(self, old: dict, new: dict) -> None:
        if _node_name(new):
            if not _node_name(old):
                self.queue.delete(old)
                self.nominator.remove(old)
            if _is_terminal(new):
                self.on_pod_delete(new)
            elif old.get("metadata", {}).get("resourceVersion") != \
                    new["metadata"].get("resourceVersion") or not _node_name(old):
                self.cache.update_pod(old, new)
                self.queue.move_all("AssignedPodUpdate")
        elif self._responsible(new) and not _is_terminal(new):
            self.queue.update(old, new)
            if (new.get("status") or {}).get("nominatedNodeName") or \
                    self.nominator.node_of(new) is None:
                self.nominator.add(new)

    def on_pod_delete(self, obj: object) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if pod is None:
            return
        if _node_name(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all("AssignedPodDelete")
        else:
            self.queue.delete(pod)
            self.nominator.remove(pod)

    def on_node_add(self, node: dict) -> None:
        self.cache.add_node(node)
        self.queue.move_all("NodeAdd")

    def on_node_update(self, old: dict, new: dict) -> None:
        self.cache.add_node(new)
        if _node_relevant(old) != _node_relevant(new):
            self.queue.move_all("NodeUpdate")

    def on_node_delete(self, obj: object) -> None:
        node = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if node is not None:
            self.cache.remove_node(node)

    def on_namespace(self, *args: dict) -> None:
        ns = args[-1]
        self.namespace_labels[ns["metadata"]["name"]] = (ns["metadata"].get("labels") or {})

    def on_storage_event(self, event: str) -> Callable[..., None]:
        """An informer handler that requeues pods waiting on ``event`` (e.g.
        ``PersistentVolumeClaimAdd``): claims, volumes and StorageClasses only matter
        to VolumeBinding, which reads them from the informer caches."""
        return lambda *args: self.queue.move_all(event)

    # -- running ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until ``stop`` is set, then wait for bindings in flight."""
        helpers = [asyncio.create_task(self.queue.run_flushers()),
                   asyncio.create_task(self._cleanup_loop())]
        loop = asyncio.create_task(self._loop())
        try:
            await stop.wait()
        finally:
            self.queue.close()
            loop.cancel()
            for task in helpers:
                task.cancel()
            await asyncio.gather(loop, *helpers, return_exceptions=True)
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)

    async def _loop(self) -> None:
        while await self.schedule_one():
            pass

    async def _cleanup_loop(self) -> None:
        while True:
            await asyncio.sleep(ASSUMED_CLEANUP_PERIOD)
            if self.cache.cleanup_expired():
                self.queue.move_all("AssignedPodDelete")

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the scheduling cycle ---------------------------------------------------------

    async def schedule_one(self) -> bool:
        """Take one pod off the queue and try to place it; False once the queue closed."""
        info = await self.queue.pop()
        if info is None:
            return False
        pod, key = info.pod, info.key
        fwk = self.profiles.get((pod.get("spec") or {}).get("schedulerName",
                                                            "default-scheduler"))
        if fwk is None or pod["metadata"].get("deletionTimestamp") or \
                self.cache.is_assumed(key):
            self.queue.done(key)
            return True
        cycle = self.queue.scheduling_cycle
        state = CycleState()
        self.cache.update_snapshot(self.snapshot)
        node, status, statuses = self.schedule_pod(fwk, state, pod)
        if not node:
            await self.handle_failure(fwk, info, state, status, statuses, cycle)
            return True
        assumed = {**pod, "spec": {**pod["spec"], "nodeName": node}}
        self.cache.assume_pod(assumed)
        status = fwk.run_reserve(state, assumed, node)
        wait = 0.0
        if status is None:
            status, wait = fwk.run_permit(state, assumed, node)
            if status is not None and status.code == Code.WAIT:
                status = None
                self.waiting[key] = asyncio.get_running_loop().create_future()
        if status is not None:
            fwk.run_unreserve(state, assumed, node)
            self.cache.forget_pod(assumed)
            await self.handle_failure(fwk, info, state, status, {}, cycle)
            return True
        await self._binding_slots.acquire()
        self._spawn(self.binding_cycle(fwk, state, info, assumed, node, cycle, wait))
        return True

    def schedule_pod(self, fwk: Framework, state: CycleState, pod: dict
                     ) -> tuple[str, Status | None, dict[str, Status]]:
        """(node, None, {}) or ("", why, per-node statuses)."""
        nodes = self.snapshot.node_infos
        if not nodes:
            return "", unschedulable(NO_NODES), {}
        status = fwk.run_pre_filter(state, pod, nodes)
        if status is not None:
            return "", status, {}
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if nominated and (info := self.snapshot.get(nominated)) is not None and \
                fwk.run_filter_with_nominated(state, pod, info) is None:
            return nominated, None, {}
        feasible, statuses, status = self.find_feasible(fwk, state, pod, nodes)
        if status is not None:
            return "", status, {}
        if not feasible:
            return "", unschedulable(), statuses
        if len(feasible) == 1:
            return feasible[0].name, None, {}
        status = fwk.run_pre_score(state, pod, feasible)
        if status is not None:
            return "", status, {}
        scores, status = fwk.run_score(state, pod, feasible)
        if status is not None:
            return "", status, {}
        return select_host(scores), None, {}

    def find_feasible(self, fwk: Framework, state: CycleState, pod: dict, nodes: list
                      ) -> tuple[list, dict[str, Status], Status | None]:
        total = len(nodes)
        wanted = num_feasible_nodes_to_find(
            fwk.profile.percentage_of_nodes_to_score
            if fwk.profile.percentage_of_nodes_to_score is not None
            else self.config.percentage_of_nodes_to_score, total)
        start = self.next_start_index % total
        if not fwk.has_filters():
            self.next_start_index = (start + wanted) % total
            return [nodes[(start + i) % total] for i in range(wanted)], {}, None
        feasible, statuses, processed = [], {}, 0
        for i in range(total):
            node = nodes[(start + i) % total]
            processed += 1
            status = fwk.run_filter_with_nominated(state, pod, node)
            if status is None:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
            elif status.code == Code.ERROR:
                return [], {}, status
            else:
                statuses[node.name] = status
        self.next_start_index = (start + processed) % total
        return feasible, statuses, None

    # -- the binding cycle ------------------------------------------------------------

    async def binding_cycle(self, fwk: Framework, state: CycleState, info: QueuedPodInfo,
                            assumed: dict, node: str, cycle: int, wait: float) -> None:
        try:
            await self._bind(fwk, state, info, assumed, node, cycle, wait)
        finally:
            self._binding_slots.release()

    async def _bind(self, fwk: Framework, state: CycleState, info: QueuedPodInfo,
                    assumed: dict, node: str, cycle: int, wait: float) -> None:
        key = info.key
        status = None
        if key in self.waiting:
            status = await self._wait_on_permit(key, wait)
        if status is None:
            status = await fwk.run_pre_bind(state, assumed, node)
        if status is None:
            status = await fwk.run_bind(state, assumed, node)
        if status is not None:
            fwk.run_unreserve(state, assumed, node)
            self.cache.forget_pod(assumed)
            self.queue.move_all("AssignedPodDelete")
            await self.handle_failure(fwk, info, state, status, {}, cycle)
            return
        self.cache.finish_binding(assumed)
        self.queue.done(key)
        self.nominator.remove(assumed)
        if self.recorder is not None:
            meta = assumed["metadata"]
            self.recorder.event(assumed, reason="Scheduled", action="Binding",
                                note=f"Successfully assigned {meta['namespace']}/"
                                     f"{meta['name']} to {node}")

    async def _wait_on_permit(self, key: str, timeout: float) -> Status | None:
        future = self.waiting[key]
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            return unschedulable("rejected due to timeout after waiting "
                                 f"{timeout:.0f}s at plugin permit")
        finally:
            self.waiting.pop(key, None)

    def allow(self, key: str, status: Status | None = None) -> None:
        """Let a pod waiting at Permit proceed (None) or reject it (a Status)."""
        future = self.waiting.get(key)
        if future is not None and not future.done():
            future.set_result(status)

    # -- failures ---------------------------------------------------------------------

    async def handle_failure(self, fwk: Framework, info: QueuedPodInfo, state: CycleState,
                             status: Status, statuses: dict[str, Status], cycle: int) -> None:
        pod = info.pod
        nominated = None
        if status.is_rejected() and status.reasons != (NO_NODES,):
            pre_filter_msg = ""
            if not statuses:  # PreFilter rejected the pod for every node at once
                pre_filter_msg = status.message
                statuses = {n.name: status for n in self.snapshot.node_infos}
            info.unschedulable_plugins = {s.plugin for s in statuses.values() if s.plugin}
            nominated, post = await fwk.run_post_filter(state, pod, statuses)
            message = fit_error_message(len(self.snapshot.node_infos), statuses,
                                        pre_filter_msg, post.message if post else "")
            reason = "Unschedulable"
            backoff = False
        else:
            message = status.message or NO_NODES
            reason = "Unschedulable" if status.reasons == (NO_NODES,) else "SchedulerError"
            backoff = status.code == Code.ERROR
            if status.code == Code.ERROR:
                log.warning("scheduling %s: %s", info.key, message)
        if nominated:
            self.nominator.add(pod, nominated)
        self.queue.add_unschedulable(info, cycle, backoff=backoff)
        if self.recorder is not None:
            self.recorder.event(pod, type="Warning", reason="FailedScheduling",
                                action="Scheduling", note=message)
        self._spawn(self._set_unschedulable(pod, reason, message, nominated))

    async def _set_unschedulable(self, pod: dict, reason: str, message: str,
                                 nominated: str | None) -> None:
        meta = pod["metadata"]
        current = next((c for c in (pod.get("status") or {}).get("conditions") or ()
                        if c.get("type") == "PodScheduled"), {})
        same = (current.get("status"), current.get("reason"), current.get("message")) == \
            ("False", reason, message)
        if same and not nominated:
            return
        status: dict = {}
        if not same:
            status["conditions"] = [{"type": "PodScheduled", "status": "False",
                                     "reason": reason, "message": message,
                                     "lastProbeTime": None,
                                     "lastTransitionTime": micro_time()[:19] + "Z"}]
        if nominated:
            status["nominatedNodeName"] = nominated
        try:
            await self.pods.patch_status(meta["name"], {"status": status},
                                         namespace=meta["namespace"], type="strategic")
        except NotFound:
            pass
        except ClientError as err:
            log.info("updating status of %s/%s: %s", meta["namespace"], meta["name"], err)


