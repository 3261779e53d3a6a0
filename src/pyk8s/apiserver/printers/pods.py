"""Pods and pod templates: the STATUS column users read most, as upstream's ``printPod`` does it.

A pod's STATUS is not a stored field but a summary: the phase or ``status.reason``, overridden by
the first init container that has not finished (``Init:1/3``, ``Init:CrashLoopBackOff``), then by
the app containers' waiting or terminated reasons (scanned last to first, so the first container
wins), and finally by ``Terminating`` while a deletion is pending. RESTARTS adds how long ago the
last restart was. Sidecars (init containers with ``restartPolicy: Always``) count as containers.
Every branch below mirrors one in upstream so that scripts parsing ``kubectl get pods`` keep
working.
"""

from __future__ import annotations

import datetime

from .base import (
    Printer,
    age_column,
    age_of,
    as_int,
    column,
    dig,
    is_deleting,
    layout_containers,
    meta,
    name_column,
    name_of,
)
from .descriptions import doc
from .labels import format_labels
from .timefmt import between, parse_time

NODE_UNREACHABLE_REASON = "NodeLost"

_SUCCEEDED = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
_FAILED = [
    {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
]


def _is_sidecar(container: dict | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def _later(current: datetime.datetime | None, status: dict) -> datetime.datetime | None:
    """The later of ``current`` and the container's last termination time."""
    finished = parse_time(dig(status, "lastState", "terminated", "finishedAt"))
    if finished is None or (current is not None and finished <= current):
        return current
    return finished


def _terminated_reason(terminated: dict, prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    signal = as_int(terminated.get("signal"))
    if signal != 0:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{as_int(terminated.get('exitCode'))}"


def _condition(status: dict, kind: str) -> dict | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def _has_ready_condition(status: dict) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


class _PodSummary:
    """The READY, STATUS and RESTARTS of one pod, computed in upstream's order."""

    def __init__(self, pod: dict) -> None:
        self.spec = pod.get("spec") or {}
        self.status = pod.get("status") or {}
        init_specs = [c for c in self.spec.get("initContainers") or [] if isinstance(c, dict)]
        self.init_specs = {c.get("name"): c for c in init_specs}
        self.init_count = len(init_specs)
        self.total = len(self.spec.get("containers") or []) + sum(
            1 for c in init_specs if _is_sidecar(c)
        )
        self.ready = 0
        self.restarts = 0
        self.last_restart: datetime.datetime | None = None
        self.sidecar_restarts = 0
        self.last_sidecar_restart: datetime.datetime | None = None
        phase = str(self.status.get("phase") or "")
        self.reason = str(self.status.get("reason") or "") or phase
        for cond in self.status.get("conditions") or []:
            if (
                isinstance(cond, dict)
                and cond.get("type") == "PodScheduled"
                and cond.get("reason") == "SchedulingGated"
            ):
                self.reason = "SchedulingGated"
        initializing = self._scan_init_containers()
        initialized = _condition(self.status, "Initialized")
        if not initializing or (initialized is not None and initialized.get("status") == "True"):
            self._scan_containers()
        if is_deleting(pod):
            if self.status.get("reason") == NODE_UNREACHABLE_REASON:
                self.reason = "Unknown"
            elif phase not in ("Succeeded", "Failed"):
                self.reason = "Terminating"

    def _scan_init_containers(self) -> bool:
        """Walk init containers up to the first unfinished one; True if the pod is initializing."""
        statuses = [
            s for s in self.status.get("initContainerStatuses") or [] if isinstance(s, dict)
        ]
        for index, cstatus in enumerate(statuses):
            restarts = as_int(cstatus.get("restartCount"))
            self.restarts += restarts
            self.last_restart = _later(self.last_restart, cstatus)
            sidecar = _is_sidecar(self.init_specs.get(cstatus.get("name")))
            if sidecar:
                self.sidecar_restarts += restarts
                self.last_sidecar_restart = _later(self.last_sidecar_restart, cstatus)
            state = cstatus.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if isinstance(terminated, dict) and as_int(terminated.get("exitCode")) == 0:
                continue
            if sidecar and cstatus.get("started") is True:
                if cstatus.get("ready"):
                    self.ready += 1
                continue
            if isinstance(terminated, dict):
                self.reason = _terminated_reason(terminated, "Init:")
            elif (
                isinstance(waiting, dict)
                and waiting.get("reason")
                and waiting["reason"] != "PodInitializing"
            ):
                self.reason = f"Init:{waiting['reason']}"
            else:
                self.reason = f"Init:{index}/{self.init_count}"
            return True
        return False

    def _scan_containers(self) -> None:
        self.restarts = self.sidecar_restarts
        self.last_restart = self.last_sidecar_restart
        has_running = False
        statuses = [s for s in self.status.get("containerStatuses") or [] if isinstance(s, dict)]
        for cstatus in reversed(statuses):
            self.restarts += as_int(cstatus.get("restartCount"))
            self.last_restart = _later(self.last_restart, cstatus)
            state = cstatus.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if isinstance(waiting, dict) and waiting.get("reason"):
                self.reason = str(waiting["reason"])
            elif isinstance(terminated, dict):
                self.reason = _terminated_reason(terminated, "")
            elif cstatus.get("ready") and state.get("running") is not None:
                has_running = True
                self.ready += 1
        if self.reason == "Completed" and has_running:
            self.reason = "Running" if _has_ready_condition(self.status) else "NotReady"

    def restarts_cell(self, now: datetime.datetime) -> str:
        if self.restarts != 0 and self.last_restart is not None:
            return f"{self.restarts} ({between(self.last_restart, now)} ago)"
        return str(self.restarts)


def _pod_ip(status: dict) -> str:
    # v1 -> internal conversion makes podIP authoritative over podIPs[0].
    return str(status.get("podIP") or dig(status, "podIPs", 0, "ip", default="") or "<none>")


def _readiness_gates(spec: dict, status: dict) -> str:
    gates = [g for g in spec.get("readinessGates") or [] if isinstance(g, dict)]
    if not gates:
        return "<none>"
    true_count = 0
    for gate in gates:
        cond = _condition(status, gate.get("conditionType"))
        if cond is not None and cond.get("status") == "True":
            true_count += 1
    return f"{true_count}/{len(gates)}"


def _pod_cells(pod: dict, now: datetime.datetime) -> list:
    summary = _PodSummary(pod)
    spec, status = summary.spec, summary.status
    return [
        name_of(pod),
        f"{summary.ready}/{summary.total}",
        summary.reason,
        summary.restarts_cell(now),
        age_of(pod, now),
        _pod_ip(status),
        str(spec.get("nodeName") or "<none>"),
        str(status.get("nominatedNodeName") or "<none>"),
        _readiness_gates(spec, status),
    ]


def _pod_conditions(pod: dict) -> list[dict] | None:
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        return [dict(c) for c in _SUCCEEDED]
    if phase == "Failed":
        return [dict(c) for c in _FAILED]
    return None


POD = Printer(
    [
        name_column(),
        column(
            "Ready", "string", "The aggregate readiness state of this pod for accepting traffic."
        ),
        column("Status", "string", "The aggregate status of the containers in this pod."),
        column(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the "
            "last container in this pod has restarted.",
        ),
        age_column(),
        column("IP", "string", doc("PodStatus.podIP"), priority=1),
        column("Node", "string", doc("PodSpec.nodeName"), priority=1),
        column("Nominated Node", "string", doc("PodStatus.nominatedNodeName"), priority=1),
        column("Readiness Gates", "string", doc("PodSpec.readinessGates"), priority=1),
    ],
    _pod_cells,
    conditions=_pod_conditions,
)


def _pod_template_cells(obj: dict, now: datetime.datetime) -> list:
    template = obj.get("template") or {}
    names, images = layout_containers(dig(template, "spec", "containers", default=[]))
    return [name_of(obj), names, images, format_labels(meta(template).get("labels"))]


POD_TEMPLATE = Printer(
    [
        name_column(),
        column("Containers", "string", "Names of each container in the template."),
        column("Images", "string", "Images referenced by each container in the template."),
        column("Pod Labels", "string", "The labels for the pod template."),
    ],
    _pod_template_cells,
)

PRINTERS = {("", "Pod"): POD, ("", "PodTemplate"): POD_TEMPLATE}
