"""Conversion between resources that share storage.

events.k8s.io/v1 Events are stored as core/v1 Events (one key space, as upstream),
so each read through events.k8s.io converts from the stored core form and each
write converts back. The field correspondences are upstream's.
"""

from __future__ import annotations

from .registry import ResourceType

# events.k8s.io/v1 field -> core/v1 field
_EVENT_FIELDS = {
    "note": "message",
    "regarding": "involvedObject",
    "related": "related",
    "reportingController": "reportingComponent",
    "reportingInstance": "reportingInstance",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "eventTime": "eventTime",
    "series": "series",
    "action": "action",
    "reason": "reason",
    "type": "type",
}
_COMMON = ("metadata",)


def _series_to_core(series: dict | None) -> dict | None:
    if not series:
        return series
    return {"count": series.get("count"), "lastObservedTime": series.get("lastObservedTime")}


def to_storage(rt: ResourceType, obj: dict) -> dict:
    """Served form of ``rt`` -> the stored (core) form."""
    if rt.group == "events.k8s.io":
        out = {"apiVersion": "v1", "kind": "Event"}
        for key in _COMMON:
            if key in obj:
                out[key] = obj[key]
        for new, old in _EVENT_FIELDS.items():
            if obj.get(new) is not None:
                out[old] = obj[new]
        if "series" in out:
            out["series"] = _series_to_core(out["series"])
        return out
    return obj


def from_storage(rt: ResourceType, obj: dict) -> dict:
    """Stored (core) form -> the served form of ``rt``."""
    if rt.group == "events.k8s.io":
        out = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
        for key in _COMMON:
            if key in obj:
                out[key] = obj[key]
        for new, old in _EVENT_FIELDS.items():
            if obj.get(old) is not None:
                out[new] = obj[old]
        return out
    return obj
