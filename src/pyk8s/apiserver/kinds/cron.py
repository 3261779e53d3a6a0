"""Standard five-field cron schedules, parsed the way robfig/cron's ParseStandard does.

CronJob validation rejects a schedule with the parser's own error text (e.g.
``expected exactly 5 fields, found 1: [foo]``), and the CronJob controller needs
the parsed fields to compute run times; both use :func:`parse_schedule`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}

#: (min, max, names) of minute, hour, day of month, month, day of week.
_BOUNDS: tuple[tuple[int, int, dict[str, int] | None], ...] = (
    (0, 59, None),
    (0, 23, None),
    (1, 31, None),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns))+$")


class CronError(ValueError):
    """A schedule robfig/cron would refuse; the message is its error text."""


@dataclass(frozen=True)
class Schedule:
    """The values each field allows; ``every`` is set instead for ``@every <duration>``."""

    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    day_star: bool = False
    weekday_star: bool = False
    every_seconds: float | None = None
    timezone: str | None = None


def _int(expr: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", expr):
        raise CronError(
            f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax'
        )
    num = int(expr)
    if num < 0:
        raise CronError(f"negative number ({num}) not allowed: {expr}")
    return num


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names and expr.lower() in names:
        return names[expr.lower()]
    return _int(expr)


def _range(expr: str, lo: int, hi: int, names: dict[str, int] | None) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    star = False
    if low_high[0] in ("*", "?"):
        start, end, star = lo, hi, True
    else:
        start = _int_or_name(low_high[0], names)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if len(low_high) == 1:
            end = hi
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < lo:
        raise CronError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise CronError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def _field(text: str, index: int) -> tuple[frozenset[int], bool]:
    lo, hi, names = _BOUNDS[index]
    values: set[int] = set()
    star = False
    for part in text.split(","):
        got, part_star = _range(part, lo, hi, names)
        values |= got
        star = star or part_star
    return frozenset(values), star


def _duration_seconds(text: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    if not _DURATION.match(text):
        raise CronError(f'failed to parse duration @every {text}: time: invalid duration "{text}"')
    return sum(
        float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
    )


def parse_schedule(spec: str) -> Schedule:
    """Parse a standard cron spec (optionally ``TZ=``/``CRON_TZ=`` prefixed) or raise CronError."""
    if not spec:
        raise CronError("empty spec string")
    timezone = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        head, _, spec = spec.partition(" ")
        timezone = head.split("=", 1)[1]
        spec = spec.strip()
    if spec.startswith("@"):
        if spec.startswith("@every "):
            return Schedule(
                every_seconds=_duration_seconds(spec[len("@every ") :].strip()), timezone=timezone
            )
        if spec not in _DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = _DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_field(text, i) for i, text in enumerate(fields)]
    return Schedule(
        minutes=parsed[0][0],
        hours=parsed[1][0],
        days=parsed[2][0],
        months=parsed[3][0],
        weekdays=parsed[4][0],
        day_star=parsed[2][1],
        weekday_star=parsed[4][1],
        timezone=timezone,
    )
