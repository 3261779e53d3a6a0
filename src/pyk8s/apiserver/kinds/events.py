"""Events, in both their core/v1 and events.k8s.io/v1 forms.

Upstream stores one kind of Event and validates it by the API version of the
request: core/v1 writes get only the lenient legacy checks, events.k8s.io/v1
writes the strict ones (eventTime, reporting fields, type, immutable fields on
update). Field selectors (``involvedObject.name=...``, ``regarding.kind=...``)
are offered in each form's own field names.
"""

from __future__ import annotations

from typing import Any

from ..errors import FieldError, invalid, required
from ..strategy import Strategy
from ..validation import validate_immutable, validate_qualified_name
from . import register

_LIMITS = {"reportingInstance": 128, "action": 128, "reason": 128, "message": 1024}
#: events.k8s.io/v1 field -> the core field name upstream's error paths use.
_CORE_NAMES = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reason": "reason",
    "type": "type",
    "eventTime": "eventTime",
    "action": "action",
    "related": "related",
    "reportingController": "reportingController",
    "reportingInstance": "reportingInstance",
}


def _legacy(namespace: str, involved: dict, fields: dict[str, Any]) -> list[FieldError]:
    """legacyValidateEvent over core-named ``fields``."""
    errs: list[FieldError] = []
    involved_ns = involved.get("namespace") or ""
    if not fields.get("eventTime"):
        if (not involved_ns and namespace not in ("", "default")) or (
            involved_ns and namespace != involved_ns
        ):
            errs.append(
                invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
            )
        return errs
    if not involved_ns and namespace not in ("default", "kube-system"):
        errs.append(
            invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
        )
    controller = fields.get("reportingController") or ""
    if not controller:
        errs.append(required("reportingController"))
    errs += validate_qualified_name("reportingController", controller)
    for key in ("reportingInstance", "action", "reason", "message"):
        value = fields.get(key) or ""
        if not value and key != "message":
            errs.append(required(key))
        if len(value) > _LIMITS[key]:
            errs.append(invalid(key, "", f"can have at most {_LIMITS[key]} characters"))
    return errs


def _core_selectable(involved: dict, obj: dict, source: str) -> dict[str, str]:
    fields = {
        f"involvedObject.{k}": str(involved.get(k) or "")
        for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    }
    fields.update(
        {
            "reason": obj.get("reason") or "",
            "type": obj.get("type") or "",
            "reportingComponent": obj.get("reportingComponent")
            or obj.get("reportingController")
            or "",
            "source": source,
        }
    )
    return fields


@register("", "Event")
class CoreEventStrategy(Strategy):
    allow_create_on_update = True

    def validate(self, obj: dict) -> list[FieldError]:
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        return _legacy(
            namespace,
            obj.get("involvedObject") or {},
            {
                "eventTime": obj.get("eventTime"),
                "reportingController": obj.get("reportingComponent"),
                "reportingInstance": obj.get("reportingInstance"),
                "action": obj.get("action"),
                "reason": obj.get("reason"),
                "message": obj.get("message"),
            },
        )

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        source = (obj.get("source") or {}).get("component") or obj.get("reportingComponent") or ""
        return _core_selectable(obj.get("involvedObject") or {}, obj, source)


@register("events.k8s.io", "Event")
class EventStrategy(Strategy):
    """events.k8s.io/v1 Events (stored as core Events by the object store)."""

    allow_create_on_update = True

    def validate(self, obj: dict) -> list[FieldError]:
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        core = {_CORE_NAMES[k]: v for k, v in obj.items() if k in _CORE_NAMES}
        errs = _legacy(namespace, obj.get("regarding") or {}, core)
        series = obj.get("series")
        if series is not None:
            if (series.get("count") or 0) < 2:
                errs.append(invalid("series.count", "", "should be at least 2"))
            if not series.get("lastObservedTime"):
                errs.append(required("series.lastObservedTime"))
        if not obj.get("eventTime"):
            errs.append(required("eventTime"))
        if obj.get("type") not in ("Normal", "Warning"):
            errs.append(invalid("type", "", f"has invalid value: {obj.get('type') or ''}"))
        for key in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"):
            if obj.get(key):
                errs.append(invalid(_CORE_NAMES[key], "", "needs to be unset"))
        source = obj.get("deprecatedSource") or {}
        if source.get("component") or source.get("host"):
            errs.append(invalid("source", "", "needs to be unset"))
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        errs = self.validate(obj)
        for key, core_name in _CORE_NAMES.items():
            errs += validate_immutable(core_name, obj.get(key), old.get(key))
        return errs

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        regarding = obj.get("regarding") or {}
        fields = {
            f"regarding.{k}": str(regarding.get(k) or "")
            for k in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        }
        fields.update(
            {
                "reason": obj.get("reason") or "",
                "type": obj.get("type") or "",
                "reportingController": obj.get("reportingController") or "",
            }
        )
        return fields
