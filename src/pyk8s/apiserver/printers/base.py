"""The printer contract and the pieces every kind's printer shares.

A :class:`Printer` is one kind's answer to "what does ``kubectl get`` show": the column
definitions of the Table (exactly the ``TableColumnDefinition`` JSON upstream sends) and a pure
function from one stored object (a JSON dict) and the current time to that object's cells. Like
kube-apiserver, which always renders with ``Wide: true``, a row carries every column, priority-1
ones included; kubectl hides those unless ``-o wide``. Printers keep no state, so one instance
serves all requests, and the clock is passed in so tests can pin it.

Kinds without a printer get :data:`DEFAULT_PRINTER`, upstream's default table convertor: Name
and Created At (an RFC 3339 string, shown as is).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .descriptions import doc
from .timefmt import rfc3339, since

CellsFunction = Callable[[dict, datetime.datetime], list]
ConditionsFunction = Callable[[dict], "list[dict] | None"]


def column(
    name: str, type_: str, description: str, *, priority: int = 0, format_: str = ""
) -> dict:
    """One ``TableColumnDefinition`` as JSON (``format`` and ``priority`` always present)."""
    return {
        "name": name,
        "type": type_,
        "format": format_,
        "description": description,
        "priority": priority,
    }


def name_column(*, priority: int = 0) -> dict:
    return column("Name", "string", doc("ObjectMeta.name"), format_="name", priority=priority)


def age_column() -> dict:
    return column("Age", "string", doc("ObjectMeta.creationTimestamp"))


def containers_column() -> dict:
    return column("Containers", "string", "Names of each container in the template.", priority=1)


def images_column() -> dict:
    return column(
        "Images", "string", "Images referenced by each container in the template.", priority=1
    )


class Printer:
    """Columns and the cells of one row for a kind.

    ``columns`` is a list of column-definition dicts; :meth:`cells` returns one value per column
    (strings, ints or bools, as upstream puts them in ``TableRow.cells``); :meth:`conditions`
    returns the row's ``conditions`` (upstream marks finished pods ``Completed``) or None.
    """

    def __init__(
        self,
        columns: list[dict],
        cells: CellsFunction,
        *,
        conditions: ConditionsFunction | None = None,
    ) -> None:
        self.columns = columns
        self._cells = cells
        self._conditions = conditions

    def cells(self, obj: dict, now: datetime.datetime) -> list:
        return self._cells(obj, now)

    def conditions(self, obj: dict) -> list[dict] | None:
        return self._conditions(obj) if self._conditions else None

    def __repr__(self) -> str:
        names = ", ".join(c["name"] for c in self.columns)
        return f"Printer({names})"


# --- reading objects -------------------------------------------------------------------------


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """The value at ``path`` inside nested dicts and lists, or ``default`` if any step is missing.

    A JSON ``null`` counts as missing, as a nil pointer does upstream.
    """
    current = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return default
            current = current[step]
        else:
            if not isinstance(current, dict):
                return default
            current = current.get(step)
        if current is None:
            return default
    return current


def meta(obj: dict) -> dict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def name_of(obj: dict) -> str:
    return str(meta(obj).get("name") or "")


def age_of(obj: dict, now: datetime.datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


def is_deleting(obj: dict) -> bool:
    """Whether ``metadata.deletionTimestamp`` is set."""
    return meta(obj).get("deletionTimestamp") is not None


def as_int(value: Any, default: int = 0) -> int:
    """An integer field (int32/int64 upstream), ``default`` when unset or not a number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default


def count(value: Any) -> int:
    """The length of a list or map field, 0 when unset."""
    return len(value) if isinstance(value, (list, dict)) else 0


def layout_containers(containers: Any) -> tuple[str, str]:
    """``layoutContainerCells``: container names and images, each joined by commas."""
    items = [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []
    names = ",".join(str(c.get("name") or "") for c in items)
    images = ",".join(str(c.get("image") or "") for c in items)
    return names, images


def template_containers(obj: dict, *template_path: str) -> tuple[str, str]:
    """Names and images of the containers of the pod template at ``template_path``."""
    return layout_containers(dig(obj, *template_path, "spec", "containers", default=[]))


def quantity(value: Any) -> str:
    """A resource quantity's string form; an unset quantity is ``0`` as Go's zero Quantity."""
    if value is None or value == "":
        return "0"
    return str(value)


# --- the default table convertor -------------------------------------------------------------


def _default_cells(obj: dict, now: datetime.datetime) -> list:
    return [name_of(obj), rfc3339(meta(obj).get("creationTimestamp"))]


DEFAULT_PRINTER = Printer(
    [
        name_column(),
        column("Created At", "date", doc("ObjectMeta.creationTimestamp")),
    ],
    _default_cells,
)
