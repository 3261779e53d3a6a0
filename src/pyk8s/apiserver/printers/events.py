"""Events, for both ``v1`` and ``events.k8s.io/v1``: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.

Upstream prints both API versions with one printer over the internal (core-shaped) event, so an
``events.k8s.io`` object is first read into core field names (``regarding`` as
``involvedObject``, ``note`` as ``message``, the ``deprecated*`` fields as the old ones).
Events written by the newer API carry ``eventTime`` and ``series`` instead of first/last
timestamps and counts; the fallbacks below are upstream's, so both styles print alike.
"""

from __future__ import annotations

import datetime

from .base import Printer, as_int, column, dig, name_column, name_of
from .descriptions import doc
from .timefmt import parse_time, since

# events.k8s.io/v1 field -> core/v1 field
_NEW_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}


def as_core_event(event: dict) -> dict:
    """The event in core/v1 field names (an ``events.k8s.io/v1`` one is renamed, others kept)."""
    if not str(event.get("apiVersion") or "").startswith("events.k8s.io/") and not any(
        key in event for key in ("regarding", "note", "deprecatedSource")
    ):
        return event
    core = dict(event)
    for new, old in _NEW_TO_CORE.items():
        if new in core:
            core[old] = core.pop(new)
    return core


def _event_source(event: dict) -> str:
    """``formatEventSource``: component (or reporting controller), then host (or instance)."""
    component = dig(event, "source", "component") or event.get("reportingComponent") or ""
    instance = dig(event, "source", "host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def _event_cells(obj: dict, now: datetime.datetime) -> list:
    event = as_core_event(obj)
    if parse_time(event.get("firstTimestamp")) is None:
        first_seen = since(event.get("eventTime"), now)
    else:
        first_seen = since(event.get("firstTimestamp"), now)
    if parse_time(event.get("lastTimestamp")) is None:
        last_seen = first_seen
    else:
        last_seen = since(event.get("lastTimestamp"), now)
    seen = as_int(event.get("count"))
    series = event.get("series")
    if isinstance(series, dict):
        last_seen = since(series.get("lastObservedTime"), now)
        seen = as_int(series.get("count"))
    elif seen == 0:
        seen = 1  # singleton events of the new API carry no count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last_seen,
        str(event.get("type") or ""),
        str(event.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        _event_source(event),
        str(event.get("message") or "").strip(),
        first_seen,
        seen,
        name_of(event),
    ]


EVENT = Printer(
    [
        column("Last Seen", "string", doc("Event.lastTimestamp")),
        column("Type", "string", doc("Event.type")),
        column("Reason", "string", doc("Event.reason")),
        column("Object", "string", doc("Event.involvedObject")),
        column("Subobject", "string", doc("ObjectReference.fieldPath"), priority=1),
        column("Source", "string", doc("Event.source"), priority=1),
        column("Message", "string", doc("Event.message")),
        column("First Seen", "string", doc("Event.firstTimestamp"), priority=1),
        column("Count", "string", doc("Event.count"), priority=1),
        name_column(priority=1),
    ],
    _event_cells,
)

PRINTERS = {("", "Event"): EVENT, ("events.k8s.io", "Event"): EVENT}
