"""Cron schedules for the CronJob controller: parse a standard spec, compute the next run.

Upstream's CronJob controller uses robfig/cron v3's ``ParseStandard``: five fields (minute,
hour, day of month, month, day of week) with names (``jan``, ``mon``), ranges, steps, ``*``
and ``?``, the ``@yearly``..``@hourly`` descriptors, ``@every <duration>`` and an optional
``CRON_TZ=``/``TZ=`` prefix. ``Next`` walks the fields in the schedule's time zone, adding
whole hours and minutes as absolute durations, so a spring-forward gap skips the runs it
swallows and a fall-back hour runs twice; we keep that behaviour. This is the controller's
own parser (components do not import the API server's validation code).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

MONTH_NAMES = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
DAY_NAMES = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
#: (lowest, highest, names) of minute, hour, day of month, month, day of week.
BOUNDS = ((0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTH_NAMES), (0, 6, DAY_NAMES))
DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
               "@hourly": "0 * * * *"}
DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
                  "ns": 1e-9}
#: robfig gives up looking for a match this many years ahead.
SEARCH_YEARS = 5


class CronError(ValueError):
    """A schedule that cannot be parsed (or names an unknown time zone)."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    day_star: bool = False
    weekday_star: bool = False
    every: timedelta | None = None
    zone: tzinfo = UTC

    def next(self, after: datetime) -> datetime | None:
        """The first activation strictly after ``after`` (aware), or None within 5 years."""
        if self.every is not None:
            step = max(self.every, timedelta(seconds=1))
            base = after.replace(microsecond=0)
            return (base + step).astimezone(self.zone)
        return _next_time(self, after)

    def day_matches(self, local: datetime) -> bool:
        dom = local.day in self.days
        dow = (local.isoweekday() % 7) in self.weekdays
        if self.day_star or self.weekday_star:
            return dom and dow
        return dom or dow


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"\d+", text):
        raise CronError(f"failed to parse int from {text}")
    return int(text)


def _range(expr: str, lo: int, hi: int, names: dict[str, int] | None) -> tuple[set[int], bool]:
    parts = expr.split("/")
    if len(parts) > 2:
        raise CronError(f"too many slashes: {expr}")
    bounds = parts[0].split("-")
    star = bounds[0] in ("*", "?")
    if star:
        start, end = lo, hi
    elif len(bounds) == 1:
        start = end = _number(bounds[0], names)
    elif len(bounds) == 2:
        start, end = _number(bounds[0], names), _number(bounds[1], names)
    else:
        raise CronError(f"too many hyphens: {expr}")
    step = 1
    if len(parts) == 2:
        step = _number(parts[1], None)
        if len(bounds) == 1:
            end = hi
        if step > 1:
            star = False
    if start < lo or end > hi or start > end or step == 0:
        raise CronError(f"invalid range {expr!r} (allowed {lo}-{hi})")
    return set(range(start, end + 1, step)), star


def _field(text: str, index: int) -> tuple[frozenset[int], bool]:
    lo, hi, names = BOUNDS[index]
    values: set[int] = set()
    star = False
    for part in text.split(","):
        got, part_star = _range(part, lo, hi, names)
        values |= got
        star = star or part_star
    return frozenset(values), star


def _duration(text: str) -> timedelta:
    found = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
    if not found or "".join(n + u for n, u in found) != text:
        raise CronError(f"failed to parse duration @every {text}")
    return timedelta(seconds=sum(float(n) * DURATION_UNITS[u] for n, u in found))


def load_zone(name: str) -> tzinfo:
    """A time zone by IANA name (``Local`` is not allowed, as the API forbids it)."""
    if name in ("UTC", ""):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise CronError(f"unknown time zone {name}") from err


def parse(spec: str, zone: str | None = None) -> Schedule:
    """Parse ``spec`` (ParseStandard); ``zone`` is the CronJob's ``spec.timeZone``."""
    spec = spec.strip()
    if not spec:
        raise CronError("empty spec string")
    tz = load_zone(zone) if zone else UTC
    if spec.startswith(("TZ=", "CRON_TZ=")):
        head, _, spec = spec.partition(" ")
        tz = load_zone(head.split("=", 1)[1])
        spec = spec.strip()
    if spec.startswith("@every "):
        return Schedule(every=_duration(spec[len("@every "):].strip()), zone=tz)
    if spec.startswith("@"):
        if spec not in DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_field(text, i) for i, text in enumerate(fields)]
    return Schedule(minutes=parsed[0][0], hours=parsed[1][0], days=parsed[2][0],
                    months=parsed[3][0], weekdays=parsed[4][0], day_star=parsed[2][1],
                    weekday_star=parsed[4][1], zone=tz)


def _local(naive: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in ``zone`` (a time in a DST gap is moved past the gap)."""
    aware = naive.replace(tzinfo=zone)
    roundtrip = aware.astimezone(UTC).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != naive:  # nonexistent: Go normalises forward
        return aware.replace(fold=1).astimezone(UTC).astimezone(zone)
    return aware


def _add(t: datetime, delta: timedelta) -> datetime:
    """Absolute-time addition (as Go's Time.Add), answered in t's zone."""
    return (t.astimezone(UTC) + delta).astimezone(t.tzinfo)


def _next_time(s: Schedule, after: datetime) -> datetime | None:
    zone = s.zone
    t = after.astimezone(zone).replace(second=0, microsecond=0)
    t = _add(t, timedelta(minutes=1))
    limit = t.year + SEARCH_YEARS
    while t.year <= limit:
        if t.month not in s.months:
            year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
            t = _local(datetime(year, month, 1), zone)
            continue
        if not s.day_matches(t):
            t = _local(datetime(t.year, t.month, t.day) + timedelta(days=1), zone)
            continue
        if t.hour not in s.hours:
            t = _add(t.replace(minute=0), timedelta(hours=1))
            continue
        if t.minute not in s.minutes:
            t = _add(t, timedelta(minutes=1))
            continue
        return t
    return None
