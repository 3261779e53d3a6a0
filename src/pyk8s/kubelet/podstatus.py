"""The API status of a pod from what the runtime reports: ``generateAPIPodStatus``.

Pure: given the pod, its :class:`RuntimePod`, why containers wait (from the last
sync's actions), probe results and the node's IP, :func:`pod_status` builds
``phase``, the five conditions, ``containerStatuses``/``initContainerStatuses``/
``ephemeralContainerStatuses`` (state from the newest instance, ``lastState`` from the
one before, restartCount from the container's annotation, ``containerID`` as
``<runtime>://<id>``; ephemeral containers are never ready and count for neither phase
nor conditions), host and pod IPs (the sandbox's) and ``startTime``. Fields the kubelet does not own (``qosClass``,
``nominatedNodeName``, other conditions) are left to the strategic merge patch.

The phase follows ``getPhase``: pending while init containers have not finished;
running while any container runs or will be restarted; when nothing runs and nothing
will, Succeeded if every container exited 0, else Failed. A pod being deleted whose
containers have all stopped is terminal the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .actions import CREATED, EXITED, RUNNING, RuntimePod, restart_count

POD_COMPLETED = "PodCompleted"


def rfc3339(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ns_time(ns: int) -> str | None:
    return rfc3339(datetime.fromtimestamp(ns / 1e9, UTC)) if ns else None


@dataclass
class StatusInputs:
    """What besides the pod and the runtime the status depends on."""

    host_ip: str
    runtime_name: str = "containerd"
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    ready: Callable[[str], bool] = lambda cid: True  # readiness of a running container
    started: Callable[[str], bool] = lambda cid: True  # startup probe passed
    terminal: bool = False  # the pod is being deleted / will not run again
    failure: tuple[str, str] | None = None  # (reason, message): the kubelet failed the pod
    now: str = ""


def _terminated(status, runtime_name: str) -> dict:
    reason = status.reason or ("Completed" if status.exit_code == 0 else "Error")
    out = {"exitCode": status.exit_code, "reason": reason,
           "startedAt": _ns_time(status.started_at), "finishedAt": _ns_time(status.finished_at),
           "containerID": f"{runtime_name}://{status.id}"}
    if status.message:
        out["message"] = status.message
    return out


def container_status(container: dict, rp: RuntimePod, inputs: StatusInputs, *,
                     default_wait: str) -> dict:
    """One entry of containerStatuses for spec container ``container``."""
    name = container["name"]
    instances = rp.instances(name)
    latest = instances[0] if instances else None
    out = {"name": name, "image": container.get("image", ""), "imageID": "",
           "ready": False, "started": False, "restartCount": restart_count(latest),
           "state": {}, "lastState": {}}
    if latest is not None:
        out["imageID"] = latest.image_ref
        out["containerID"] = f"{inputs.runtime_name}://{latest.id}"
    previous = instances[1] if len(instances) > 1 else None
    waiting = inputs.waiting.get(name)
    if latest is not None and latest.state in (RUNNING, CREATED) and not inputs.terminal:
        started = inputs.started(latest.id)
        out["state"] = {"running": {"startedAt": _ns_time(latest.started_at or
                                                           latest.created_at)}}
        out["started"] = started
        out["ready"] = started and inputs.ready(latest.id)
        if previous is not None and previous.state == EXITED:
            out["lastState"] = {"terminated": _terminated(previous, inputs.runtime_name)}
    elif latest is not None and latest.state == EXITED and waiting:
        out["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
        out["lastState"] = {"terminated": _terminated(latest, inputs.runtime_name)}
    elif latest is not None and latest.state == EXITED:
        out["state"] = {"terminated": _terminated(latest, inputs.runtime_name)}
        if previous is not None and previous.state == EXITED:
            out["lastState"] = {"terminated": _terminated(previous, inputs.runtime_name)}
    elif latest is not None and inputs.terminal:
        out["state"] = {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                       "message": "The container could not be located "
                                                  "when the pod was terminated"}}
    else:
        reason, message = waiting or (default_wait, "")
        out["state"] = {"waiting": {"reason": reason, **({"message": message}
                                                          if message else {})}}
    return out


def _counts(statuses: list[dict]) -> tuple[int, int, int, int]:
    running = waiting = stopped = succeeded = 0
    for s in statuses:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif s["lastState"].get("terminated"):
            stopped += 1
        else:
            waiting += 1
    return running, waiting, stopped, succeeded


def _init_done(pod: dict, statuses: list[dict]) -> tuple[bool, bool]:
    """(all init containers done, an init container failed for good)."""
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    specs = {c["name"]: c for c in (pod.get("spec") or {}).get("initContainers") or ()}
    done, failed = True, False
    for s in statuses:
        if specs[s["name"]].get("restartPolicy") == "Always":
            done = done and s["started"]
            continue
        term = s["state"].get("terminated")
        if term and term["exitCode"] == 0:
            continue
        done = False
        if term and policy == "Never":
            failed = True
    return done, failed


def phase(pod: dict, statuses: list[dict], init_statuses: list[dict], terminal: bool) -> str:
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    init_done, init_failed = _init_done(pod, init_statuses)
    if init_failed:
        return "Failed"
    if not init_done and not terminal:
        return "Pending"
    running, waiting, stopped, succeeded = _counts(statuses)
    if running and not terminal:
        return "Running"
    if terminal and not running:
        return "Succeeded" if succeeded == len(statuses) else "Failed"
    if waiting and not stopped:
        return "Pending"
    if stopped and not running:
        if policy == "Always" or (policy == "OnFailure" and succeeded < stopped):
            return "Running"
        return "Succeeded" if succeeded == stopped == len(statuses) else \
            ("Pending" if waiting else "Failed")
    return "Pending"


def _condition(ctype: str, ok: bool, old: dict, now: str, reason: str = "",
               message: str = "") -> dict:
    status = "True" if ok else "False"
    previous = old.get(ctype) or {}
    since = previous.get("lastTransitionTime") if previous.get("status") == status else None
    cond = {"type": ctype, "status": status, "lastTransitionTime": since or now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _names(statuses: list[dict], test) -> list[str]:
    return [s["name"] for s in statuses if test(s)]


def _conditions(pod: dict, rp: RuntimePod, statuses: list[dict], init_statuses: list[dict],
                pod_phase: str, now: str) -> list[dict]:
    old = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or ()}
    done = pod_phase in ("Succeeded", "Failed")
    completed = POD_COMPLETED if pod_phase == "Succeeded" else ""
    init_done, _ = _init_done(pod, init_statuses)
    pending_init = _names(init_statuses, lambda s: not (
        s["started"] if s.get("sidecar") else
        (s["state"].get("terminated") or {}).get("exitCode") == 0))
    unready = _names(statuses, lambda s: not s["ready"])
    containers_ready = not unready and not done
    if done:
        why, msg = completed or "PodFailed", ""
    elif unready:
        why, msg = "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]"
    else:
        why, msg = "", ""
    gates = _gate_message(pod, old)
    ready = containers_ready and not gates
    return [
        _condition("PodReadyToStartContainers", rp.ready_sandbox() is not None and not done,
                   old, now),
        _condition("Initialized", init_done or pod_phase == "Succeeded", old, now,
                   completed if pod_phase == "Succeeded" else
                   ("" if init_done else "ContainersNotInitialized"),
                   "" if init_done or pod_phase == "Succeeded" else
                   f"containers with incomplete status: [{' '.join(pending_init)}]"),
        _condition("Ready", ready, old, now, "ReadinessGatesNotReady" if containers_ready
                   and gates else why, gates if containers_ready and gates else msg),
        _condition("ContainersReady", containers_ready, old, now, why, msg),
        _condition("PodScheduled", True, old, now),
    ]


def _gate_message(pod: dict, old: dict) -> str:
    for gate in (pod.get("spec") or {}).get("readinessGates") or ():
        ctype = gate.get("conditionType")
        cond = old.get(ctype)
        if cond is None:
            return f'corresponding condition of pod readiness gate "{ctype}" does not exist.'
        if cond.get("status") != "True":
            return f'the status of pod readiness gate "{ctype}" is not "True", but ' \
                   f'{cond.get("status")}'
    return ""


def pod_status(pod: dict, rp: RuntimePod, inputs: StatusInputs) -> dict:
    """The kubelet-owned part of ``pod``'s status."""
    spec, current = pod.get("spec") or {}, pod.get("status") or {}
    now = inputs.now or rfc3339()
    inits = []
    for c in spec.get("initContainers") or ():
        s = container_status(c, rp, inputs, default_wait="PodInitializing")
        if c.get("restartPolicy") == "Always":
            s["sidecar"] = True
        inits.append(s)
    init_done, _ = _init_done(pod, inits)
    statuses = [container_status(c, rp, inputs, default_wait="ContainerCreating"
                                 if init_done else "PodInitializing")
                for c in spec.get("containers") or ()]
    pod_phase = "Failed" if inputs.failure else phase(pod, statuses, inits, inputs.terminal)
    out = {"phase": pod_phase,
           "conditions": _conditions(pod, rp, statuses, inits, pod_phase, now),
           "hostIP": inputs.host_ip, "hostIPs": [{"ip": inputs.host_ip}],
           "startTime": current.get("startTime") or now,
           "containerStatuses": statuses}
    if inputs.failure:
        out["reason"], out["message"] = inputs.failure
    for s in inits:
        s.pop("sidecar", None)
    if inits:
        out["initContainerStatuses"] = inits
    ephemeral = [{**container_status(c, rp, inputs, default_wait="ContainerCreating"),
                  "ready": False}
                 for c in spec.get("ephemeralContainers") or ()]
    if ephemeral:
        out["ephemeralContainerStatuses"] = ephemeral
    sandbox = rp.ready_sandbox() or (rp.sandboxes[0] if rp.sandboxes else None)
    ip = (sandbox.ip if sandbox else "") or current.get("podIP") or ""
    if spec.get("hostNetwork"):
        ip = inputs.host_ip
    if ip:
        ips = [ip] + [a for a in (sandbox.additional_ips if sandbox else []) if a != ip]
        out["podIP"], out["podIPs"] = ip, [{"ip": a} for a in ips]
    return out


def _prune(value):
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def needs_update(current: dict | None, desired: dict) -> bool:
    """Whether posting ``desired`` changes the stored status (empty values ignored)."""
    current = current or {}
    for key, value in desired.items():
        if key == "conditions":
            have = {c.get("type"): _prune(c) for c in current.get("conditions") or ()}
            if any(have.get(c["type"]) != _prune(c) for c in value):
                return True
        elif _prune(current.get(key)) != _prune(value):
            return True
    return False
