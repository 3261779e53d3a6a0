"""RFC 3339 timestamps as the API writes them (``2006-01-02T15:04:05Z``), and back.

Controllers compare condition times (readiness, progress deadlines) with "now"; keeping the
parsing in one place lets every helper take an explicit ``now`` for tests.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_time(value: str | None) -> datetime | None:
    """A metav1.Time string as an aware datetime (None for missing or malformed)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def format_time(when: datetime | None = None) -> str:
    """``when`` (default now) as a metav1.Time string, second precision, UTC."""
    return (when or utcnow()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
