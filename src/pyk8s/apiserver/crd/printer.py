"""``kubectl get`` columns of custom resources from a CRD's ``additionalPrinterColumns``.

Why this exists: kubectl prints whatever Table the server sends, so a CRD's printer
columns must be turned into a :class:`~pyk8s.apiserver.printers.Printer`, as
apiextensions-apiserver's table convertor does: Name first, then each column's
``jsonPath`` evaluated on the object (``date`` columns shown as an age, like
``5m``); a CRD without columns gets Name and Age. The JSONPath subset is what
printer columns use: ``.a.b``, ``[n]``, ``[*]`` and ``[?(@.key=="value")]`` filters.
"""

from __future__ import annotations

import datetime
import re

import orjson

from ..printers import Printer
from ..printers.base import column, name_column, name_of
from ..printers.timefmt import since

_STEP = re.compile(r"""\.([A-Za-z0-9_\-$]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*==\s*["']([^"']*)["']\)\]|\['([^']+)'\]""")
_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is "
    "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
    "#metadata")
DEFAULT_COLUMNS = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                    "description": _AGE_DESCRIPTION}]


def parse_path(path: str) -> list[tuple] | None:
    """Steps of a JSONPath (with or without ``{}``), or None when outside the subset."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    steps: list[tuple] = []
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return None
        field, index, fkey, fval, quoted = m.groups()
        if field is not None or quoted is not None:
            steps.append(("field", field if field is not None else quoted))
        elif index is not None:
            steps.append(("all",) if index == "*" else ("index", int(index)))
        else:
            steps.append(("filter", fkey.split("."), fval))
        pos = m.end()
    return steps


def evaluate(steps: list[tuple], obj: object) -> list:
    """All values the path selects in ``obj``."""
    current = [obj]
    for step in steps:
        current = [v for value in current for v in _apply(step, value)]
    return current


def _apply(step: tuple, value: object) -> list:
    if step[0] == "field":
        return [value[step[1]]] if isinstance(value, dict) and step[1] in value else []
    if not isinstance(value, list):
        return []
    if step[0] == "index":
        return [value[step[1]]] if step[1] < len(value) else []
    if step[0] == "all":
        return list(value)
    return [item for item in value if _lookup(item, step[1]) == step[2]]


def _lookup(item: object, keys: list[str]) -> object:
    for key in keys:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return str(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else item


def _cell(col: dict, steps: list[tuple] | None, obj: dict, now: datetime.datetime) -> object:
    values = evaluate(steps, obj) if steps is not None else []
    if not values or values[0] is None:
        return None
    value = values[0] if len(values) == 1 else values
    if col.get("type") == "date" and isinstance(value, str):
        return since(value, now)
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value


def printer_from_columns(columns: list[dict] | None) -> Printer:
    """The Printer for a CRD version's ``additionalPrinterColumns``."""
    columns = columns or DEFAULT_COLUMNS
    compiled = [(col, parse_path(col.get("jsonPath", ""))) for col in columns]
    definitions = [name_column()] + [
        column(col["name"], col.get("type", "string"), col.get("description", ""),
               priority=int(col.get("priority") or 0), format_=col.get("format", ""))
        for col in columns]

    def cells(obj: dict, now: datetime.datetime) -> list:
        return [name_of(obj)] + [_cell(col, steps, obj, now) for col, steps in compiled]

    return Printer(definitions, cells)
