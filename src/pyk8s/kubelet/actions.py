"""What to do to bring a pod's containers to its spec: ``computePodActions`` as a pure function.

Given the pod, what the runtime has for it (:class:`RuntimePod`) and the restart
backoff, :func:`compute_pod_actions` decides, without calling anything:

* whether the sandbox must be (re)created (none ready), which kills what is left of the
  pod first; a ``restartPolicy: Never`` pod whose sandbox died after its containers ran
  is not given a new one;
* the next init container to start: init containers run one at a time, in order, each
  to success (a failure is retried per restartPolicy, or fails the pod under Never);
  sidecars (init containers with ``restartPolicy: Always``) only need to have started;
* which app containers to start: never run, exited and due a restart per restartPolicy
  (Always; OnFailure on a non-zero exit), or running with a changed spec or a failed
  liveness/startup probe (those are killed first);
* which ephemeral containers (``kubectl debug``) to start: each once, in the running
  sandbox, never restarted nor killed for the pod's sake while it runs;
* whether the whole pod is done (nothing running, nothing to start): the sandbox is stopped.

A restart of a container that ran before waits out its backoff (10 s doubling to
5 min, :class:`RestartBackoff`); such a container is reported waiting in
``CrashLoopBackOff`` and ``retry_after`` says when to look again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .containers import (
    CONTAINER_HASH,
    CONTAINER_NAME,
    RESTART_COUNT,
    SANDBOX_ATTEMPT,
    container_hash,
)
from .runtime import ContainerStatus, PodSandboxStatus

RUNNING, EXITED, CREATED = "CONTAINER_RUNNING", "CONTAINER_EXITED", "CONTAINER_CREATED"
SANDBOX_READY = "SANDBOX_READY"
CRASH_LOOP = "CrashLoopBackOff"
BACKOFF_INITIAL, BACKOFF_MAX = 10.0, 300.0


@dataclass
class RuntimePod:
    """The runtime's view of one pod: its sandboxes and containers, newest first."""

    sandboxes: list[PodSandboxStatus] = field(default_factory=list)
    containers: list[ContainerStatus] = field(default_factory=list)

    def ready_sandbox(self) -> PodSandboxStatus | None:
        return next((s for s in self.sandboxes if s.state == SANDBOX_READY), None)

    def instances(self, name: str) -> list[ContainerStatus]:
        """The containers run for spec container ``name``, newest first."""
        return [c for c in self.containers if container_name(c) == name]

    def latest(self, name: str) -> ContainerStatus | None:
        found = self.instances(name)
        return found[0] if found else None

    def running(self) -> list[ContainerStatus]:
        return [c for c in self.containers if c.state in (RUNNING, CREATED)]


def container_name(status: ContainerStatus) -> str:
    return status.labels.get(CONTAINER_NAME) or status.name


def restart_count(status: ContainerStatus | None) -> int:
    if status is None:
        return 0
    try:
        return int(status.annotations.get(RESTART_COUNT, status.attempt))
    except ValueError:
        return status.attempt


class RestartBackoff:
    """Per-container restart delays: the first restart is immediate, then each waits
    10 s, 20 s, ... up to 5 min after the last exit; forgotten after 10 quiet minutes."""

    def __init__(self, *, initial: float = BACKOFF_INITIAL, cap: float = BACKOFF_MAX,
                 clock: Callable[[], float] = time.time) -> None:
        self.initial, self.cap, self.clock = initial, cap, clock
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (delay, last update)

    def _entry(self, key: str) -> tuple[float, float] | None:
        entry = self._entries.get(key)
        if entry and self.clock() - entry[1] > 2 * self.cap:
            del self._entries[key]
            return None
        return entry

    def remaining(self, key: str, since: float) -> float:
        """Seconds left before ``key`` may restart, counting from ``since`` (its exit)."""
        entry = self._entry(key)
        if entry is None:
            return 0.0
        return max(0.0, since + entry[0] - self.clock())

    def until(self, key: str) -> float:
        """Seconds left of the delay that began at the last ``next(key)``."""
        entry = self._entry(key)
        return max(0.0, entry[1] + entry[0] - self.clock()) if entry else 0.0

    def delay(self, key: str) -> float:
        entry = self._entry(key)
        return entry[0] if entry else 0.0

    def next(self, key: str) -> None:
        """Record a restart of ``key`` now: the next one waits twice as long."""
        entry = self._entry(key)
        delay = self.initial if entry is None else min(self.cap, entry[0] * 2)
        self._entries[key] = (delay, self.clock())

    def forget_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]


def backoff_key(pod: dict, container: dict) -> str:
    return f"{pod['metadata']['uid']}/{container['name']}/{container_hash(container)}"


@dataclass
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    attempt: int = 0
    start_init: str | None = None
    start: list[str] = field(default_factory=list)
    start_ephemeral: list[str] = field(default_factory=list)
    kill: dict[str, str] = field(default_factory=dict)  # container id -> why
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (reason, msg)
    retry_after: float | None = None
    pod_done: bool = False

    def hold(self, name: str, reason: str, message: str, after: float) -> None:
        self.waiting[name] = (reason, message)
        self.retry_after = after if self.retry_after is None else min(self.retry_after, after)


def should_restart(policy: str, status: ContainerStatus) -> bool:
    if policy == "Always":
        return True
    return policy == "OnFailure" and status.exit_code != 0


def _may_start(actions: PodActions, pod: dict, container: dict,
               latest: ContainerStatus | None, backoff: RestartBackoff) -> bool:
    """Whether a (re)start of ``container`` is allowed now; else it is held in backoff."""
    if latest is None or latest.state != EXITED:
        return True
    key = backoff_key(pod, container)
    left = backoff.remaining(key, latest.finished_at / 1e9)
    if left <= 0:
        return True
    meta = pod["metadata"]
    actions.hold(container["name"], CRASH_LOOP,
                 f"back-off {int(backoff.delay(key))}s restarting failed container="
                 f"{container['name']} pod={meta['name']}_{meta.get('namespace', '')}"
                 f"({meta['uid']})", left)
    return False


def _init_step(actions: PodActions, pod: dict, rp: RuntimePod, backoff: RestartBackoff,
               policy: str) -> bool:
    """Plan the init containers; True when they are all done (app containers may run)."""
    for container in (pod.get("spec") or {}).get("initContainers") or ():
        latest = rp.latest(container["name"])
        sidecar = container.get("restartPolicy") == "Always"
        if latest is None:
            actions.start_init = container["name"]
            return False
        if latest.state in (RUNNING, CREATED):
            if sidecar:
                continue
            return False
        if latest.exit_code == 0 and not sidecar:
            continue
        if not sidecar and policy == "Never":
            actions.kill_pod = actions.pod_done = True
            return False
        if _may_start(actions, pod, container, latest, backoff):
            actions.start_init = container["name"]
        return False
    return True


def compute_pod_actions(pod: dict, rp: RuntimePod, *, backoff: RestartBackoff,
                        unhealthy: Callable[[str], str | None] = lambda cid: None
                        ) -> PodActions:
    """The actions for one sync of ``pod``; ``unhealthy(container_id)`` names a failed
    liveness or startup probe ("" / None when healthy)."""
    spec = pod.get("spec") or {}
    policy = spec.get("restartPolicy", "Always")
    actions = PodActions()
    sandbox = rp.ready_sandbox()
    if sandbox is None:
        ran_before = bool(rp.sandboxes) and bool(rp.containers)
        actions.kill_pod = bool(rp.sandboxes)
        if ran_before and policy == "Never":
            actions.pod_done = True
            return actions
        actions.create_sandbox = True
        actions.attempt = max((sandbox_attempt(s) for s in rp.sandboxes), default=-1) + 1
    else:
        actions.sandbox_id = sandbox.id
    init_view = RuntimePod() if actions.create_sandbox else rp
    if not _init_step(actions, pod, init_view, backoff, policy) or actions.pod_done:
        _kill_unwanted(actions, pod, rp, keep=set())
        return actions
    keep: set[str] = set()
    for container in spec.get("containers") or ():
        latest = None if actions.create_sandbox else rp.latest(container["name"])
        previous = rp.latest(container["name"])
        if latest is not None and latest.state in (RUNNING, CREATED):
            why = _why_restart(container, latest, unhealthy)
            if not why:
                keep.add(latest.id)
                continue
            actions.kill[latest.id] = why
            if policy == "Never" and why != "spec changed":
                continue
            actions.start.append(container["name"])
            continue
        if previous is not None and previous.state == EXITED and \
                not should_restart(policy, previous):
            continue
        if _may_start(actions, pod, container, previous, backoff):
            actions.start.append(container["name"])
    _kill_unwanted(actions, pod, rp, keep)
    if not keep and not actions.start and not actions.waiting and not actions.create_sandbox:
        actions.kill_pod = actions.pod_done = True
    elif not actions.create_sandbox:
        actions.start_ephemeral = [c["name"] for c in spec.get("ephemeralContainers") or ()
                                   if rp.latest(c["name"]) is None]
    return actions


def sandbox_attempt(sandbox: PodSandboxStatus) -> int:
    try:
        return int(sandbox.annotations.get(SANDBOX_ATTEMPT, "0"))
    except ValueError:
        return 0


def _why_restart(container: dict, status: ContainerStatus,
                 unhealthy: Callable[[str], str | None]) -> str:
    if status.annotations.get(CONTAINER_HASH, container_hash(container)) != \
            container_hash(container):
        return "spec changed"
    return unhealthy(status.id) or ""


def _kill_unwanted(actions: PodActions, pod: dict, rp: RuntimePod, keep: set[str]) -> None:
    """Running containers the spec no longer has (or a replaced sandbox's) are killed."""
    spec = pod.get("spec") or {}
    wanted = {c["name"] for c in (spec.get("containers") or []) +
              (spec.get("ephemeralContainers") or [])}
    init = {c["name"] for c in spec.get("initContainers") or ()}
    for status in rp.running():
        name = container_name(status)
        if status.id in keep or status.id in actions.kill:
            continue
        if actions.create_sandbox or name not in wanted | init:
            actions.kill[status.id] = "not wanted"
