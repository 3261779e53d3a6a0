"""Namespaces: the ``kubernetes`` finalizer, Active phase and metadata.name label.

As upstream's namespace strategy: a new namespace starts Active with the
``kubernetes`` finalizer (which the namespace controller removes through the
``finalize`` subresource once the contents are gone), carries the immutable
``kubernetes.io/metadata.name`` label, and keeps its finalizers and status
across ordinary updates.
"""

from __future__ import annotations

import copy

from ..errors import FieldError, invalid
from ..strategy import Strategy
from ..validation import is_qualified_name
from . import register

KUBERNETES_FINALIZER = "kubernetes"
NAME_LABEL = "kubernetes.io/metadata.name"
STANDARD_FINALIZERS = (KUBERNETES_FINALIZER, "orphan", "foregroundDeletion")


@register("", "Namespace")
class NamespaceStrategy(Strategy):
    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {"phase": "Active"}
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        finalizers = list(spec.get("finalizers") or [])
        if KUBERNETES_FINALIZER not in finalizers:
            finalizers.append(KUBERNETES_FINALIZER)
        spec["finalizers"] = finalizers
        obj["spec"] = spec

    def prepare_for_update(self, obj: dict, old: dict) -> None:
        """Finalizers change only through the ``finalize`` subresource (status is the store's)."""
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        old_finalizers = (old.get("spec") or {}).get("finalizers")
        if old_finalizers is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = copy.deepcopy(old_finalizers)
        obj["spec"] = spec

    def default(self, obj: dict) -> None:
        meta = obj.setdefault("metadata", {})
        if meta.get("name"):
            labels = meta.get("labels") or {}
            labels[NAME_LABEL] = meta["name"]
            meta["labels"] = labels
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status.setdefault("phase", "Active")

    def validate(self, obj: dict) -> list[FieldError]:
        errs: list[FieldError] = []
        for f in (obj.get("spec") or {}).get("finalizers") or []:
            errs += [invalid("spec.finalizers", f, m) for m in is_qualified_name(f)]
            if "/" not in f and f not in STANDARD_FINALIZERS:
                errs.append(
                    invalid(
                        "spec.finalizers",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    )
                )
        status = obj.get("status") or {}
        if status.get("phase") == "Terminating" and not (obj.get("metadata") or {}).get(
            "deletionTimestamp"
        ):
            errs.append(
                invalid(
                    "status.Phase",
                    "Terminating",
                    "may only be 'Active' if `deletionTimestamp` is empty",
                )
            )
        return errs

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return {
            "status.phase": (obj.get("status") or {}).get("phase") or "",
            "name": (obj.get("metadata") or {}).get("name") or "",
        }
