"""Taints, tolerations and node conditions as the node lifecycle and taint-eviction
controllers read them.

A toleration tolerates a taint when its effect is empty or equal, its key is empty or
equal, and its operator is ``Exists`` or ``Equal`` (the default) with equal values
(upstream's ``Toleration.ToleratesTaint``). For ``NoExecute`` taints the first toleration
that tolerates each taint decides how long the pod may stay: forever without
``tolerationSeconds``, not at all with zero or less, else that many seconds after the
taint was added. :func:`eviction_deadline` turns that into one instant per pod.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from .times import format_time, parse_time

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"

#: Never: a toleration without tolerationSeconds keeps the pod on the node.
NEVER = None


def taints(node: dict | None, effect: str | None = None) -> list[dict]:
    found = ((node or {}).get("spec") or {}).get("taints") or []
    return [t for t in found if effect is None or t.get("effect") == effect]


def has_taint(node: dict | None, key: str, effect: str | None = None) -> bool:
    return any(t.get("key") == key for t in taints(node, effect))


def tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def first_toleration(taint: dict, tolerations: list[dict]) -> dict | None:
    return next((t for t in tolerations if tolerates(t, taint)), None)


def eviction_deadline(node_taints: list[dict], tolerations: list[dict],
                      added: Callable[[dict], datetime]) -> datetime | None:
    """When a pod with ``tolerations`` must leave a node with ``node_taints`` (NoExecute
    ones are considered): None for never, ``added(taint)`` (the taint's start) plus the
    tolerated seconds otherwise, the earliest over all taints. An untolerated taint, or
    tolerationSeconds <= 0, means at the taint's start (i.e. already due)."""
    deadline: datetime | None = NEVER
    for taint in node_taints:
        if taint.get("effect") != NO_EXECUTE:
            continue
        toleration = first_toleration(taint, tolerations)
        if toleration is not None and toleration.get("tolerationSeconds") is None:
            continue
        seconds = 0 if toleration is None else max(0, int(toleration["tolerationSeconds"]))
        due = added(taint) + timedelta(seconds=seconds)
        deadline = due if deadline is None else min(deadline, due)
    return deadline


def taint_time(taint: dict) -> datetime | None:
    return parse_time(taint.get("timeAdded"))


def new_taint(key: str, effect: str, now: datetime) -> dict:
    return {"key": key, "effect": effect, "timeAdded": format_time(now)}


def swap_taints(node: dict, add: list[dict], remove: list[dict]) -> dict | None:
    """``node`` (a private copy) with taints added (matched by key and effect) and
    removed; None when nothing changes."""
    current = taints(node)
    same = {(t.get("key"), t.get("effect")) for t in remove}
    kept = [t for t in current if (t.get("key"), t.get("effect")) not in same]
    present = {(t.get("key"), t.get("effect")) for t in kept}
    kept += [t for t in add if (t["key"], t["effect"]) not in present]
    if kept == current:
        return None
    node.setdefault("spec", {})["taints"] = kept
    return node


def condition(obj: dict | None, type_: str) -> dict | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond
    return None


def ready_status(node: dict | None) -> str | None:
    """The node's Ready condition status (True/False/Unknown), None when never reported."""
    cond = condition(node, "Ready")
    return cond.get("status") if cond else None
