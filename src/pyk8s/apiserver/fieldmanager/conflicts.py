"""Apply conflicts as kube-apiserver reports them (409 Conflict, FieldManagerConflict causes).

Why it exists: kubectl prints the server's message verbatim, so the wording must be
upstream's: ``Apply failed with 1 conflict: conflict with "a": .data.key``; Update
managers are named with their API version (``"kubectl-client-side-apply" using
apps/v1``) and a subresource when they wrote through one. Each cause is a
metav1.StatusCause, whose type is serialized as ``reason``.
"""

from __future__ import annotations

from ..errors import APIError
from .fieldpath import Path, path_string
from .managed import UPDATE, Entry


def manager_label(entry: Entry) -> str:
    label = f'"{entry.manager}"'
    if entry.subresource:
        label += f' with subresource "{entry.subresource}"'
    if entry.operation == UPDATE:
        label += f" using {entry.api_version}"
    return label


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> APIError:
    """The error for (owner, path) pairs, sorted by owner then path."""
    conflicts = sorted(conflicts, key=lambda c: (manager_label(c[0]), c[1]))
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {manager_label(e)}",
               "field": path_string(p)} for e, p in conflicts]
    return APIError(409, "Conflict", _message(conflicts), {"causes": causes})


def _message(conflicts: list[tuple[Entry, Path]]) -> str:
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        return (f"Apply failed with 1 conflict: conflict with {manager_label(entry)}: "
                f"{path_string(path)}")
    lines: list[str] = []
    current = None
    for entry, path in conflicts:
        label = manager_label(entry)
        if label != current:
            lines.append(f"conflict with {label}:")
            current = label
        lines.append(f"- {path_string(path)}")
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
