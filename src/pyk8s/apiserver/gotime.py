"""Go's ``time.Parse`` errors for the two layouts API times use.

metav1.Time decodes with ``time.RFC3339`` (``2006-01-02T15:04:05Z07:00``) and
metav1.MicroTime with ``2006-01-02T15:04:05.000000Z07:00``; a bad value fails the
whole request with Go's own wording, e.g. ``parsing time "x" as
"2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"``. This is a port of the
general ``time.parse`` loop restricted to the elements those layouts contain; it is
only run when a quick pattern has not already accepted the value.
"""

from __future__ import annotations

import calendar
import re

_QUICK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:\d\d)")
# (element text, element kind); literal separators have kind None.
_LAYOUTS = {
    "2006-01-02T15:04:05Z07:00": (("2006", "year"), ("-", None), ("01", "month"), ("-", None),
                                  ("02", "day"), ("T", None), ("15", "hour"), (":", None),
                                  ("04", "minute"), (":", None), ("05", "second"),
                                  ("Z07:00", "zone")),
    "2006-01-02T15:04:05.000000Z07:00": (("2006", "year"), ("-", None), ("01", "month"),
                                         ("-", None), ("02", "day"), ("T", None),
                                         ("15", "hour"), (":", None), ("04", "minute"),
                                         (":", None), ("05", "second"), (".000000", "frac"),
                                         ("Z07:00", "zone")),
}
_RANGES = {"month": (1, 12), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}


class _Bad(Exception):
    pass


def _quote(text: str) -> str:
    out = []
    for char in text:
        if char >= "\x80" or char < " ":
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "replace"))
        else:
            out.append("\\" + char if char in '"\\' else char)
    return '"' + "".join(out) + '"'


def _num(value: str, fixed: bool) -> tuple[int, str]:
    if not value[:1].isdigit() or not value[:1].isascii():
        raise _Bad
    if len(value) < 2 or not ("0" <= value[1] <= "9"):
        if fixed:
            raise _Bad
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def parse_error(layout: str, value: str) -> str | None:
    """Go's ``time.Parse(layout, value)`` error message, or None when it parses."""
    if layout == "2006-01-02T15:04:05Z07:00" and _QUICK.fullmatch(value) and \
            _in_range(value):
        return None
    head = f"parsing time {_quote(value)}"
    full = f"{head} as {_quote(layout)}"
    rest = value
    year = month = day = 1
    for position, (element, kind) in enumerate(_LAYOUTS[layout]):
        if kind is None:
            if not rest.startswith(element):
                # Go reports the whole run of literals up to the next element.
                return f"{full}: cannot parse {_quote(rest)} as {_quote(element)}"
            rest = rest[len(element):]
            continue
        hold = rest
        try:
            rest, parsed = _element(kind, rest, _LAYOUTS[layout][position + 1:])
        except _Bad:
            return f"{full}: cannot parse {_quote(hold)} as {_quote(element)}"
        if kind in _RANGES and parsed is not None and not \
                _RANGES[kind][0] <= parsed <= _RANGES[kind][1]:
            return f"{head}: {kind} out of range"
        year, month, day = (parsed if kind == "year" else year,
                            parsed if kind == "month" else month,
                            parsed if kind == "day" else day)
    if rest:
        return f"{head}: extra text: {_quote(rest)}"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return f"{head}: day out of range"
    return None


def _in_range(value: str) -> bool:
    month, day, year = int(value[5:7]), int(value[8:10]), int(value[:4])
    return 1 <= month <= 12 and int(value[11:13]) <= 23 and int(value[14:16]) <= 59 and \
        int(value[17:19]) <= 59 and 1 <= day <= calendar.monthrange(year, month)[1]


def _element(kind: str, rest: str, following: tuple) -> tuple[str, int | None]:
    if kind == "year":
        if len(rest) < 4 or not rest[:4].isascii() or not rest[:4].isdigit():
            raise _Bad
        return rest[4:], int(rest[:4])
    if kind in ("month", "day", "minute"):
        parsed, rest = _num(rest, True)
        return rest, parsed
    if kind == "hour":
        parsed, rest = _num(rest, False)
        return rest, parsed
    if kind == "second":
        parsed, rest = _num(rest, True)
        frac_next = following and following[0][1] == "frac"
        if not frac_next and len(rest) >= 2 and rest[0] in ".," and "0" <= rest[1] <= "9":
            digits = re.match(r"[.,][0-9]+", rest).end()
            rest = rest[digits:]
        return rest, parsed
    if kind == "frac":
        if len(rest) < 7 or rest[0] not in ".," or not rest[1:7].isdigit():
            raise _Bad
        return rest[7:], None
    # zone: "Z" or ±hh:mm
    if rest[:1] == "Z":
        return rest[1:], None
    if len(rest) < 6 or rest[3] != ":" or rest[0] not in "+-":
        raise _Bad
    _num(rest[1:3], True)
    _num(rest[4:6], True)
    return rest[6:], None
