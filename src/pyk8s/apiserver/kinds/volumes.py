"""PersistentVolumes, PersistentVolumeClaims and StorageClasses: upstream's defaults.

Binding is the controller manager's (``controllers/persistentvolume.py``); here are
the fields kube-apiserver fills in that clients (and ``kubectl get pv,pvc``) expect:
Pending phases, Filesystem volume mode, the Retain/Delete reclaim policies and
Immediate binding.
"""

from __future__ import annotations

import datetime

from ..errors import FieldError, not_supported, required
from ..strategy import Strategy
from . import register
from .podspec import VOLUME_SOURCE_DEFAULTS

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]


def _spec(obj: dict) -> dict:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    return obj["spec"]


def _validate_access_modes(modes: list, missing_detail: str = "") -> list[FieldError]:
    errs = [] if modes else [required("spec.accessModes", missing_detail)]
    return errs + [
        not_supported("spec.accessModes", m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES
    ]


@register("", "PersistentVolume")
class PersistentVolumeStrategy(Strategy):
    def prepare_for_create(self, obj: dict) -> None:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": now}

    def default(self, obj: dict) -> None:
        spec = _spec(obj)
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        for source, defaults in VOLUME_SOURCE_DEFAULTS.items():
            if isinstance(spec.get(source), dict):
                for key, value in defaults.items():
                    spec[source].setdefault(key, value)
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = _validate_access_modes(spec.get("accessModes") or [])
        if not (spec.get("capacity") or {}).get("storage"):
            errs.append(required("spec.capacity"))
        policy = spec.get("persistentVolumeReclaimPolicy")
        if policy not in ("Delete", "Recycle", "Retain"):
            errs.append(
                not_supported(
                    "spec.persistentVolumeReclaimPolicy", policy, ["Delete", "Recycle", "Retain"]
                )
            )
        return errs


@register("", "PersistentVolumeClaim")
class PersistentVolumeClaimStrategy(Strategy):
    def prepare_for_create(self, obj: dict) -> None:
        obj["status"] = {}

    def default(self, obj: dict) -> None:
        _spec(obj).setdefault("volumeMode", "Filesystem")
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status.setdefault("phase", "Pending")

    def validate(self, obj: dict) -> list[FieldError]:
        spec = _spec(obj)
        errs = _validate_access_modes(
            spec.get("accessModes") or [], "at least 1 access mode is required"
        )
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            errs.append(required("spec.resources[storage]"))
        return errs


@register("storage.k8s.io", "StorageClass")
class StorageClassStrategy(Strategy):
    def default(self, obj: dict) -> None:
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
