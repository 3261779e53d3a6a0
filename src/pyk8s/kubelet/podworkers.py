"""The pod workers: one asyncio task per pod, driving the runtime toward the pod's spec.

After upstream's ``pod_workers.go`` and virtual-kubelet's pod controller. Pod sources
(the API informer for pods bound to this node, the static-pod directory) call
:meth:`PodWorkers.update` with each new version of a pod and :meth:`PodWorkers.remove`
when it is gone; both only record the pod and wake its worker. A worker syncs
level-triggered, from the latest pod and a fresh look at the runtime:

* a running pod: volumes set up (and refreshed), :func:`compute_pod_actions`, the
  actions carried out, then the status computed and patched when it changed. It syncs
  again when woken, when a restart backoff ends, and every ``resync`` seconds;
* a pod with a ``deletionTimestamp`` (or removed): every container stopped within the
  grace period, the sandbox stopped, the final status posted, then the pod deleted
  with ``gracePeriodSeconds=0`` and a uid precondition: the kubelet's confirmation
  for which the API server holds a graceful deletion. Runtime objects and volumes go;
* a terminal pod (Succeeded/Failed): nothing runs, the worker ends;
* a pod past its ``activeDeadlineSeconds`` (from its startTime): stopped and failed with
  reason ``DeadlineExceeded``; the worker wakes at the deadline to do it;
* a pod that needs a new sandbox on the pod network while the runtime reports its
  network not ready (no CNI config before the node has a podCIDR): a ``NetworkNotReady``
  event, the status posted (Pending, ContainerCreating), a retry shortly; hostNetwork
  pods go ahead, as upstream.

:meth:`PodWorkers.run` is the PLEG: every ``relist_period`` it lists the runtime and
wakes the worker of any pod whose containers changed state since the worker or the last
relist saw them (a container that died is noticed within a second; what a sync did itself
wakes nobody), and it removes what runs for pods nobody wants (the startup sweep of
dangling sandboxes included).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..client import Client, Conflict, EventRecorder, NotFound
from ..client.backoff import Backoff
from ..client.errors import ClientError
from .actions import RestartBackoff, RuntimePod, compute_pod_actions
from .kuberuntime import PodRuntime, grace_period, running_by_name, runtime_pods
from .logs import parse_time
from .podstatus import StatusInputs, needs_update, pod_status
from .probes import ProbeManager
from .runtime import Runtime, RuntimeError_, network_problem
from .volumes import VolumeError, VolumeManager

log = logging.getLogger("pyk8s.kubelet.podworkers")

TERMINAL = ("Succeeded", "Failed")

#: ``target(pod)`` answers where the pod's status goes: (name, namespace, uid, current
#: status) of the API object (a static pod's mirror), or None when there is none yet.
StatusTarget = Callable[[dict], "tuple[str, str, str, dict] | None"]


def _uid(pod: dict) -> str:
    return pod["metadata"]["uid"]


def _fingerprint(rp: RuntimePod) -> tuple:
    return (tuple((s.id, s.state) for s in rp.sandboxes),
            tuple((c.id, c.state) for c in rp.containers))


@dataclass
class _Worker:
    pod: dict
    removed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    retry_after: float | None = None
    task: asyncio.Task | None = None


class PodWorkers:
    def __init__(self, *, client: Client, runtime: Runtime, pod_runtime: PodRuntime,
                 volumes: VolumeManager, recorder: EventRecorder, backoff: RestartBackoff,
                 host_ip: str, runtime_name: str, target: StatusTarget,
                 is_static: Callable[[dict], bool], resync: float = 10.0,
                 relist_period: float = 1.0) -> None:
        self.runtime = runtime
        self.rt = pod_runtime
        self.volumes = volumes
        self.recorder = recorder
        self.backoff = backoff
        self.host_ip = host_ip
        self.runtime_name = runtime_name
        self.target = target
        self.is_static = is_static
        self.resync = resync
        self.relist_period = relist_period
        self.pods_api = client.api("v1", "Pod")
        self.probes = ProbeManager(runtime, self.wake, self._probe_failed)
        self._workers: dict[str, _Worker] = {}
        self._known: dict[str, dict] = {}  # uid -> latest desired pod
        self._seen: dict[str, tuple] = {}

    # -- pod sources -------------------------------------------------------------------

    def update(self, pod: dict) -> None:
        """A new version of a pod this node should run. Its worker is woken only when the
        pod changed beyond its status (as upstream's pod config: the kubelet is the source of
        its pods' status, so its own status writes coming back are no reason to sync)."""
        uid = _uid(pod)
        previous = self._known.get(uid)
        self._known[uid] = pod
        self._ensure(uid, pod).pod = pod
        if previous is None or _differs(previous, pod):
            self.wake(uid)

    def remove(self, pod: dict) -> None:
        """The pod is gone from its source: stop it and clean up."""
        uid = _uid(pod)
        self._known.pop(uid, None)
        worker = self._ensure(uid, pod)
        worker.removed = True
        self.wake(uid)

    def _probe_failed(self, pod: dict, kind: str, message: str) -> None:
        self.recorder.event(pod, type="Warning", reason="Unhealthy", action="Probe",
                            note=f"{kind[:-5].capitalize()} probe failed: {message}")

    def wake(self, uid: str) -> None:
        worker = self._workers.get(uid)
        if worker is not None:
            worker.wake.set()

    def _ensure(self, uid: str, pod: dict) -> _Worker:
        worker = self._workers.get(uid)
        if worker is None:
            worker = self._workers[uid] = _Worker(pod)
            worker.task = asyncio.create_task(self._loop(uid, worker), name=f"pod {uid}")
        return worker

    # -- PLEG and shutdown -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Relist until ``stop``; then end the workers (containers keep running)."""
        try:
            while not stop.is_set():
                try:
                    await self.relist()
                except (RuntimeError_, OSError) as err:
                    log.warning("relisting the runtime failed: %s", err)
                try:
                    async with asyncio.timeout(self.relist_period):
                        await stop.wait()
                except TimeoutError:
                    pass
        finally:
            tasks = [w.task for w in self._workers.values() if w.task]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.probes.close()

    async def relist(self) -> None:
        pods = await runtime_pods(self.runtime, brief=True)
        for uid, rp in pods.items():
            fingerprint = _fingerprint(rp)
            if self._seen.get(uid) != fingerprint:
                self._seen[uid] = fingerprint
                self.wake(uid)
            if uid not in self._known and uid not in self._workers:
                await self._sweep(uid, rp)
        for uid in set(self._seen) - set(pods):
            del self._seen[uid]

    async def _sweep(self, uid: str, rp: RuntimePod) -> None:
        """Remove what runs for a pod no source wants (deleted while we were down)."""
        log.info("removing containers of unknown pod %s", uid)
        for container in rp.running():
            await self.runtime.stop_container(container.id, 10)
        await self.rt.stop_sandboxes(rp)
        await self.rt.remove_pod(rp)
        await self.volumes.teardown(uid)

    # -- one worker --------------------------------------------------------------------

    async def _loop(self, uid: str, worker: _Worker) -> None:
        errors = Backoff(initial=1.0, cap=30.0, jitter=0.2)
        try:
            while True:
                worker.wake.clear()
                synced, removed = worker.pod, worker.removed
                try:
                    if await self._sync(worker):
                        if worker.pod is synced and worker.removed == removed:
                            return
                        continue
                    errors.reset()
                    delay = min(self.resync, worker.retry_after or math.inf)
                except (ClientError, RuntimeError_, OSError) as err:
                    delay = errors.next()
                    log.warning("syncing pod %s failed: %s (retry in %.1fs)",
                                _name(worker.pod), err, delay)
                try:
                    async with asyncio.timeout(delay):
                        await worker.wake.wait()
                except TimeoutError:
                    pass
        finally:
            if self._workers.get(uid) is worker:
                del self._workers[uid]

    async def _sync(self, worker: _Worker) -> bool:
        """One sync of the worker's pod; True when the worker is done."""
        pod = worker.pod
        uid = _uid(pod)
        rp = await self.rt.pod(uid)
        if worker.removed or pod["metadata"].get("deletionTimestamp"):
            await self._terminate(worker, rp)
            return True
        if (pod.get("status") or {}).get("phase") in TERMINAL:
            self.probes.forget(uid)
            if rp.running() or rp.ready_sandbox():
                await self.rt.kill_pod(pod, rp, 0)
            return True
        deadline = active_deadline_left(pod, time.time())
        if deadline is not None and deadline <= 0:
            await self._deadline_exceeded(pod, rp)
            return True
        sandbox = rp.ready_sandbox()
        if sandbox is None and not (pod.get("spec") or {}).get("hostNetwork"):
            problem = network_problem(await self.runtime.status())
            if problem:
                self.recorder.event(pod, type="Warning", reason="NetworkNotReady",
                                    action="Sync", note=f"network is not ready: {problem}")
                await self._post(pod, rp, {}, terminal=False)
                worker.retry_after = 2.0
                return False
        try:
            paths = await self.volumes.setup(pod, host_ip=self.host_ip,
                                             pod_ip=sandbox.ip if sandbox else "")
        except VolumeError as err:
            self.recorder.event(pod, type="Warning", reason="FailedMount", action="Mount",
                                note=str(err))
            await self._post(pod, rp, {}, terminal=False)
            worker.retry_after = 2.0
            return False
        actions = compute_pod_actions(pod, rp, backoff=self.backoff,
                                      unhealthy=self.probes.unhealthy)
        waiting = await self.rt.apply(pod, rp, actions, paths)
        rp = await self.rt.pod(uid)
        self._seen[uid] = _fingerprint(rp)  # the PLEG need not wake us for our own changes
        sandbox = rp.ready_sandbox()
        self.probes.sync(pod, running_by_name(rp), sandbox.ip if sandbox else "")
        status = await self._post(pod, rp, waiting, terminal=actions.pod_done)
        retry = actions.retry_after
        if any(w[0] not in ("CrashLoopBackOff",) for w in waiting.values()):
            retry = min(retry or math.inf, 2.0)
        if deadline is not None:
            retry = min(retry or math.inf, deadline)
        worker.retry_after = retry
        if status["phase"] in TERMINAL and not self.is_static(pod):
            self.probes.forget(uid)
            return True
        return False

    async def _deadline_exceeded(self, pod: dict, rp: RuntimePod) -> None:
        """activeDeadlineSeconds passed: stop the pod and fail it, as upstream's
        activeDeadlineHandler."""
        self.probes.forget(_uid(pod))
        self.recorder.event(pod, reason=DEADLINE_REASON, action="Sync", note=DEADLINE_MESSAGE)
        await self.rt.kill_pod(pod, rp, grace_period(pod))
        rp = await self.rt.pod(_uid(pod))
        await self._post(pod, rp, {}, terminal=True, failure=(DEADLINE_REASON, DEADLINE_MESSAGE))

    async def _post(self, pod: dict, rp: RuntimePod, waiting: dict, *, terminal: bool,
                    failure: tuple[str, str] | None = None) -> dict:
        probes = self.probes
        await self.rt.fill_termination_messages(pod, rp)
        status = pod_status(pod, rp, StatusInputs(
            host_ip=self.host_ip, runtime_name=self.runtime_name, waiting=waiting,
            ready=probes.ready, started=probes.started, terminal=terminal, failure=failure))
        target = self.target(pod)
        if target is None:
            return status
        name, namespace, uid, current = target
        if needs_update(current, status):
            try:
                await self.pods_api.patch(name, {"metadata": {"uid": uid}, "status": status},
                                          namespace=namespace, type="strategic",
                                          subresource="status")
            except NotFound:
                pass
        return status

    async def _terminate(self, worker: _Worker, rp: RuntimePod) -> None:
        pod = worker.pod
        uid = _uid(pod)
        self.probes.forget(uid)
        await self.rt.kill_pod(pod, rp, grace_period(pod))
        rp = await self.rt.pod(uid)
        target = self.target(pod)
        if target is not None and not worker.removed:
            await self._post(pod, rp, {}, terminal=True)
        if target is not None and (not worker.removed or self.is_static(pod)):
            name, namespace, target_uid, _ = target
            try:
                await self.pods_api.delete(name, namespace=namespace, grace_period_seconds=0,
                                           preconditions={"uid": target_uid})
            except (NotFound, Conflict):
                pass
        await self.rt.remove_pod(rp)
        await self.volumes.teardown(uid)
        self.backoff.forget_prefix(uid + "/")
        log.info("pod %s terminated", _name(pod))


DEADLINE_REASON = "DeadlineExceeded"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


def active_deadline_left(pod: dict, now: float) -> float | None:
    """Seconds until the pod's activeDeadlineSeconds, counted from its startTime (None:
    no deadline, or not started yet)."""
    seconds = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    started = (pod.get("status") or {}).get("startTime")
    if seconds is None or not started:
        return None
    return parse_time(started) / 1e9 + seconds - now


def _differs(old: dict, new: dict) -> bool:
    """Whether a pod update is more than a status change (upstream's
    podsDifferSemantically), or changes the conditions its readiness gates wait for."""
    o, n = old.get("metadata") or {}, new.get("metadata") or {}
    if old.get("spec") != new.get("spec") or any(
            o.get(k) != n.get(k) for k in ("labels", "annotations", "deletionTimestamp",
                                            "deletionGracePeriodSeconds")):
        return True
    return bool((new.get("spec") or {}).get("readinessGates")) and \
        (old.get("status") or {}).get("conditions") != (new.get("status") or {}).get("conditions")


def _name(pod: dict) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
