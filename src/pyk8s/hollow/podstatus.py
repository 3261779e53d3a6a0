"""The status a hollow kubelet posts for a pod it "runs", after the kubelet's conventions.

Nothing is started: a pod bound to a hollow node is reported Running at once, as if
every image were cached and every container started instantly. The shapes follow
``generateAPIPodStatus`` and ``pkg/kubelet/status/generate.go``: conditions
PodReadyToStartContainers, Initialized, Ready, ContainersReady (Ready also needs every
readiness gate's condition True) and PodScheduled; container statuses running and
ready; init containers terminated ``Completed`` (sidecars, restartPolicy Always, run
beside the main containers); hostIP/podIP with their plural lists; startTime.
``lastTransitionTime`` moves only when a condition's status changes, and times already
reported are kept, so rebuilding the status of a running pod changes nothing.

Finishing: a pod whose ``restartPolicy`` is Never or OnFailure and that carries the
annotation ``pyk8s.io/hollow-run-seconds: "N"`` has its containers exit 0 N seconds
after it started, and the pod becomes Succeeded (so Jobs complete on hollow nodes).
A pod being deleted has its containers stopped the same way (they exit 0 on SIGTERM
at once), which for a pod being deleted is the kubelet's terminal phase Succeeded.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

RUN_SECONDS_ANNOTATION = "pyk8s.io/hollow-run-seconds"
CONTAINER_ID_SCHEME = "hollow://"
POD_COMPLETED = "PodCompleted"

def rfc3339(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def run_seconds(pod: dict) -> float | None:
    """How long the pod's containers run before exiting 0 (None: until deleted)."""
    spec = pod.get("spec") or {}
    if spec.get("restartPolicy", "Always") == "Always":
        return None
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(RUN_SECONDS_ANNOTATION)
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return max(0.0, seconds) if seconds is not None else None


def container_id(pod_uid: str, name: str) -> str:
    return CONTAINER_ID_SCHEME + hashlib.sha256(f"{pod_uid}/{name}".encode()).hexdigest()


def image_id(image: str) -> str:
    return f"{CONTAINER_ID_SCHEME}sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _is_sidecar(container: dict) -> bool:
    return container.get("restartPolicy") == "Always"


def _condition(ctype: str, status: str, old: dict, now: str, reason: str = "",
               message: str = "") -> dict:
    previous = old.get(ctype) or {}
    since = previous.get("lastTransitionTime") if previous.get("status") == status else None
    cond = {"type": ctype, "status": status, "lastProbeTime": None,
            "lastTransitionTime": since or now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _gates_message(pod: dict, old: dict) -> str:
    """Why readiness gates hold the pod unready ("" when they all pass)."""
    for gate in (pod.get("spec") or {}).get("readinessGates") or ():
        ctype = gate.get("conditionType")
        cond = old.get(ctype)
        if cond is None:
            return f'corresponding condition of pod readiness gate "{ctype}" does not exist.'
        if cond.get("status") != "True":
            return f'the status of pod readiness gate "{ctype}" is not "True", but ' \
                   f'{cond.get("status")}'
    return ""


def _started_at(previous: dict, now: str) -> str:
    state = previous.get("state") or {}
    return ((state.get("running") or state.get("terminated") or {}).get("startedAt")) or now


def _status(container: dict, pod_uid: str, state: dict, *, ready: bool, started: bool) -> dict:
    image = container.get("image") or ""
    return {"name": container["name"], "state": state, "lastState": {}, "ready": ready,
            "restartCount": 0, "image": image, "imageID": image_id(image),
            "containerID": container_id(pod_uid, container["name"]), "started": started}


def _terminated(container: dict, pod_uid: str, started_at: str, finished_at: str) -> dict:
    state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started_at,
                            "finishedAt": finished_at,
                            "containerID": container_id(pod_uid, container["name"])}}
    return _status(container, pod_uid, state, ready=False, started=False)


def _previous(status: dict, key: str) -> dict:
    return {s.get("name"): s for s in status.get(key) or ()}


def _addresses(host_ip: str, pod_ip: str) -> dict:
    """hostIP(s) and podIP(s); a pod stopped before it ever got an address has none."""
    out = {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
    if pod_ip:
        out.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    return out


def running_status(pod: dict, *, host_ip: str, pod_ip: str, now: str) -> dict:
    """The status of ``pod`` with every container started and ready."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    uid = (pod.get("metadata") or {}).get("uid", "")
    start = status.get("startTime") or now
    old = {c.get("type"): c for c in status.get("conditions") or ()}
    previous = _previous(status, "containerStatuses")
    containers = [_status(c, uid, {"running": {"startedAt": _started_at(
        previous.get(c["name"]) or {}, start)}}, ready=True, started=True)
        for c in spec.get("containers") or ()]
    previous_init = _previous(status, "initContainerStatuses")
    inits = []
    for c in spec.get("initContainers") or ():
        began = _started_at(previous_init.get(c["name"]) or {}, start)
        inits.append(_status(c, uid, {"running": {"startedAt": began}}, ready=True,
                             started=True) if _is_sidecar(c) else
                     {**_terminated(c, uid, began, began), "ready": True})
    gates = _gates_message(pod, old)
    out = {"phase": "Running", "conditions": [
        _condition("PodReadyToStartContainers", "True", old, now),
        _condition("Initialized", "True", old, now),
        _condition("Ready", "False", old, now, "ReadinessGatesNotReady", gates) if gates
        else _condition("Ready", "True", old, now),
        _condition("ContainersReady", "True", old, now),
        _condition("PodScheduled", "True", old, now),
    ], **_addresses(host_ip, pod_ip), "startTime": start,
        "containerStatuses": containers}
    if inits:
        out["initContainerStatuses"] = inits
    return out


def finished_status(pod: dict, *, host_ip: str, pod_ip: str, now: str) -> dict:
    """The status of ``pod`` once every container has exited 0: phase Succeeded."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    uid = (pod.get("metadata") or {}).get("uid", "")
    start = status.get("startTime") or now
    old = {c.get("type"): c for c in status.get("conditions") or ()}
    previous = _previous(status, "containerStatuses")
    previous_init = _previous(status, "initContainerStatuses")
    containers = [_terminated(c, uid, _started_at(previous.get(c["name"]) or {}, start), now)
                  for c in spec.get("containers") or ()]
    inits = []
    for c in spec.get("initContainers") or ():
        prior = previous_init.get(c["name"]) or {}
        began = _started_at(prior, start)
        done = ((prior.get("state") or {}).get("terminated") or {}).get("finishedAt")
        inits.append(_terminated(c, uid, began, done or (now if _is_sidecar(c) else began)))
    out = {"phase": "Succeeded", "conditions": [
        _condition("PodReadyToStartContainers", "False", old, now),
        _condition("Initialized", "True", old, now, POD_COMPLETED),
        _condition("Ready", "False", old, now, POD_COMPLETED),
        _condition("ContainersReady", "False", old, now, POD_COMPLETED),
        _condition("PodScheduled", "True", old, now),
    ], **_addresses(host_ip, pod_ip), "startTime": start,
        "containerStatuses": containers}
    if inits:
        out["initContainerStatuses"] = inits
    return out


def _summary(statuses: list | None) -> list:
    out = []
    for s in statuses or ():
        state = s.get("state") or {}
        kind = next(iter(state), "")
        out.append((s.get("name"), kind, (state.get(kind) or {}).get("startedAt"),
                    s.get("ready"), s.get("started"), s.get("containerID")))
    return out


def needs_update(current: dict | None, desired: dict) -> bool:
    """Whether ``desired`` says anything the stored status does not (nulls and field order
    the API server may normalise are ignored)."""
    current = current or {}
    for key in ("phase", "hostIP", "podIP", "startTime"):
        if current.get(key) != desired.get(key):
            return True
    for key in ("containerStatuses", "initContainerStatuses"):
        if _summary(current.get(key)) != _summary(desired.get(key)):
            return True
    have = {c.get("type"): c for c in current.get("conditions") or ()}
    return any((have.get(c["type"]) or {}).get(f) != c.get(f)
               for c in desired["conditions"]
               for f in ("status", "reason", "message", "lastTransitionTime"))
