"""Times as ``kubectl get`` shows them: ages such as ``5s``, ``3m20s``, ``2d4h``, ``2y3d``.

Upstream formats every age with ``duration.HumanDuration`` (k8s.io/apimachinery) and prints
``<unknown>`` for an unset timestamp; clients compare these strings, so the rounding here follows
upstream's integer arithmetic exactly (truncation, not rounding, and a two-second tolerance for
clocks slightly ahead). Objects carry their times as RFC 3339 strings, parsed here.
"""

from __future__ import annotations

import datetime
import re

UNKNOWN = "<unknown>"

_US_PER_SECOND = 1_000_000
_FRACTION = re.compile(r"(\.\d+)")
_ZERO_TIME = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)


def parse_time(value: object) -> datetime.datetime | None:
    """The instant an RFC 3339 string names, or None when unset, zero or unreadable.

    Go's zero time (``0001-01-01T00:00:00Z``) counts as unset, as ``metav1.Time.IsZero`` does.
    Fractions beyond microseconds (RFC3339Nano) are truncated.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: m.group(1)[:7], text, count=1)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    if parsed == _ZERO_TIME:
        return None
    return parsed


def _aware(now: datetime.datetime) -> datetime.datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=datetime.timezone.utc)


def _microseconds(delta: datetime.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND + delta.microseconds


def human_duration(delta: datetime.timedelta) -> str:
    """``duration.HumanDuration``: about two or three significant figures of a duration."""
    total_us = _microseconds(delta)
    # Go's int(d.Seconds()) truncates toward zero.
    seconds = total_us // _US_PER_SECOND if total_us >= 0 else -((-total_us) // _US_PER_SECOND)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def since(value: object, now: datetime.datetime) -> str:
    """``translateTimestampSince``: the age of a timestamp string, ``<unknown>`` when unset."""
    when = parse_time(value)
    if when is None:
        return UNKNOWN
    return human_duration(_aware(now) - when)


def between(start: datetime.datetime, end: datetime.datetime) -> str:
    """The human duration from ``start`` to ``end`` (both aware or both naive-as-UTC)."""
    return human_duration(_aware(end) - _aware(start))


def rfc3339(value: object) -> str:
    """A timestamp as Go's ``Time.UTC().Format(time.RFC3339)`` writes it (zero time if unset)."""
    when = (parse_time(value) or _ZERO_TIME).astimezone(datetime.timezone.utc)
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
        f"T{when.hour:02d}:{when.minute:02d}:{when.second:02d}Z"
    )
