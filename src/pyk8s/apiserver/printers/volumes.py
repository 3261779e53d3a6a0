"""Storage: PersistentVolumes, PersistentVolumeClaims and StorageClasses.

These printers share upstream's helpers for access modes (``RWO,ROX,RWX,RWOP`` in that fixed
order, duplicates dropped), for the storage class (the old beta annotation still beats
``storageClassName``) and for the default-class marker ``(default)`` appended to a StorageClass's
name. A claim shows capacity and access modes only once it is bound to a volume.
"""

from __future__ import annotations

import datetime

from .base import (
    Printer,
    age_column,
    age_of,
    column,
    dig,
    is_deleting,
    meta,
    name_column,
    name_of,
    quantity,
)
from .descriptions import doc

BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes(modes: object) -> str:
    """``GetAccessModesAsString``."""
    present = set(modes) if isinstance(modes, list) else set()
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def _storage_class(obj: dict) -> str:
    annotations = meta(obj).get("annotations") or {}
    if BETA_STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_STORAGE_CLASS_ANNOTATION])
    return str(dig(obj, "spec", "storageClassName", default=""))


def _volume_mode(spec: dict) -> str:
    return str(spec["volumeMode"]) if spec.get("volumeMode") is not None else "<unset>"


def _attributes_class(spec: dict) -> str:
    value = spec.get("volumeAttributesClassName")
    return str(value) if value is not None else "<unset>"


def _pv_cells(pv: dict, now: datetime.datetime) -> list:
    spec = pv.get("spec") or {}
    claim = spec.get("claimRef")
    claim_text = ""
    if isinstance(claim, dict):
        claim_text = f"{claim.get('namespace') or ''}/{claim.get('name') or ''}"
    phase = "Terminating" if is_deleting(pv) else str(dig(pv, "status", "phase", default=""))
    return [
        name_of(pv),
        quantity(dig(spec, "capacity", "storage")),
        access_modes(spec.get("accessModes")),
        str(spec.get("persistentVolumeReclaimPolicy") or ""),
        phase,
        claim_text,
        _storage_class(pv),
        _attributes_class(spec),
        str(dig(pv, "status", "reason", default="")),
        age_of(pv, now),
        _volume_mode(spec),
    ]


PERSISTENT_VOLUME = Printer(
    [
        name_column(),
        column("Capacity", "string", doc("PersistentVolumeSpec.capacity")),
        column("Access Modes", "string", doc("PersistentVolumeSpec.accessModes")),
        column(
            "Reclaim Policy", "string", doc("PersistentVolumeSpec.persistentVolumeReclaimPolicy")
        ),
        column("Status", "string", doc("PersistentVolumeStatus.phase")),
        column("Claim", "string", doc("PersistentVolumeSpec.claimRef")),
        column("StorageClass", "string", "StorageClass of the pv"),
        column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
        column("Reason", "string", doc("PersistentVolumeStatus.reason")),
        age_column(),
        column("VolumeMode", "string", doc("PersistentVolumeSpec.volumeMode"), priority=1),
    ],
    _pv_cells,
)


def _pvc_cells(pvc: dict, now: datetime.datetime) -> list:
    spec = pvc.get("spec") or {}
    status = pvc.get("status") or {}
    phase = "Terminating" if is_deleting(pvc) else str(status.get("phase") or "")
    volume = str(spec.get("volumeName") or "")
    capacity = modes = ""
    if volume:
        modes = access_modes(status.get("accessModes"))
        capacity = quantity(dig(status, "capacity", "storage"))
    return [
        name_of(pvc),
        phase,
        volume,
        capacity,
        modes,
        _storage_class(pvc),
        _attributes_class(spec),
        age_of(pvc, now),
        _volume_mode(spec),
    ]


PERSISTENT_VOLUME_CLAIM = Printer(
    [
        name_column(),
        column("Status", "string", doc("PersistentVolumeClaimStatus.phase")),
        column("Volume", "string", doc("PersistentVolumeClaimSpec.volumeName")),
        column("Capacity", "string", doc("PersistentVolumeClaimStatus.capacity")),
        column("Access Modes", "string", doc("PersistentVolumeClaimStatus.accessModes")),
        column("StorageClass", "string", "StorageClass of the pvc"),
        column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
        age_column(),
        column("VolumeMode", "string", doc("PersistentVolumeClaimSpec.volumeMode"), priority=1),
    ],
    _pvc_cells,
)


def is_default_class(obj: dict) -> bool:
    annotations = meta(obj).get("annotations") or {}
    return any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


def _or_default(value: object, default: str) -> str:
    return default if value is None else str(value)


def _storage_class_cells(sc: dict, now: datetime.datetime) -> list:
    name = name_of(sc) + (" (default)" if is_default_class(sc) else "")
    return [
        name,
        str(sc.get("provisioner") or ""),
        _or_default(sc.get("reclaimPolicy"), "Delete"),
        _or_default(sc.get("volumeBindingMode"), "Immediate"),
        bool(sc.get("allowVolumeExpansion") or False),
        age_of(sc, now),
    ]


STORAGE_CLASS = Printer(
    [
        name_column(),
        column("Provisioner", "string", doc("StorageClass.provisioner")),
        column("ReclaimPolicy", "string", doc("StorageClass.reclaimPolicy")),
        column("VolumeBindingMode", "string", doc("StorageClass.volumeBindingMode")),
        column("AllowVolumeExpansion", "string", doc("StorageClass.allowVolumeExpansion")),
        age_column(),
    ],
    _storage_class_cells,
)

PRINTERS = {
    ("", "PersistentVolume"): PERSISTENT_VOLUME,
    ("", "PersistentVolumeClaim"): PERSISTENT_VOLUME_CLAIM,
    ("storage.k8s.io", "StorageClass"): STORAGE_CLASS,
}
