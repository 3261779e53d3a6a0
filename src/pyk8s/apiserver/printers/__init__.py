"""Server-side printing: the columns and cells of the Tables that ``kubectl get`` asks for.

kubectl 1.32 prints nothing itself for built-in kinds: it requests
``application/json;as=Table;g=meta.k8s.io;v=v1`` and shows the columns the server defines. This
package holds one :class:`Printer` per kind, ported from upstream's
``pkg/printers/internalversion/printers.go`` and split by API group or family; the Table
response itself (rows, ``includeObject``, watch framing) is built by the API server from these.

``printer_for(group, kind)`` never fails: kinds without a dedicated printer (Role, ClusterRole,
LimitRange, ...) get upstream's default columns, Name and Created At. Custom resources' printers
are added and removed at run time with ``register_printer``/``unregister_printer``.
"""

from __future__ import annotations

from . import apps, batch, cluster, core, events, networking, pods, rbac, volumes
from .base import DEFAULT_PRINTER, Printer
from .timefmt import human_duration

__all__ = [
    "DEFAULT_PRINTER",
    "Printer",
    "human_duration",
    "partial_object_metadata",
    "printer_for",
    "register_printer",
    "registered_kinds",
    "unregister_printer",
]

_PRINTERS: dict[tuple[str, str], Printer] = {}
for _module in (pods, core, events, volumes, apps, batch, networking, rbac, cluster):
    _PRINTERS.update(_module.PRINTERS)


def printer_for(group: str, kind: str) -> Printer:
    """The printer of ``group``/``kind`` (core group ``""``), or the default printer."""
    return _PRINTERS.get((group, kind), DEFAULT_PRINTER)


def register_printer(group: str, kind: str, printer: Printer) -> None:
    """Make ``printer`` the one of ``group``/``kind`` (custom resources' printer columns)."""
    _PRINTERS[(group, kind)] = printer


def unregister_printer(group: str, kind: str) -> None:
    """Forget a printer registered with :func:`register_printer`."""
    _PRINTERS.pop((group, kind), None)


def registered_kinds() -> list[tuple[str, str]]:
    """The (group, kind) pairs that have a dedicated printer."""
    return sorted(_PRINTERS)


def partial_object_metadata(obj: dict) -> dict:
    """What a Table row carries as ``object`` for ``includeObject=Metadata`` (the default)."""
    metadata = obj.get("metadata")
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(metadata) if isinstance(metadata, dict) else {},
    }
