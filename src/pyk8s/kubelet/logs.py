"""Container logs as ``kubectl logs`` sees them: reading the CRI log files.

containerd writes each container's output to ``<log_directory>/<log_path>`` in the CRI
format, one record per line: ``<RFC3339Nano> <stdout|stderr> <F|P> <content>``, where
``P`` marks a partial record (a line longer than the runtime's buffer) continued by the
next records up to an ``F``. The kubelet's ``/containerLogs`` endpoint turns that back
into the container's output, as upstream's ``kuberuntime_logs.go`` does: the prefix is
stripped, partial records are joined into one line (stamped with the first part's time),
``sinceTime``/``sinceSeconds`` skip older lines, ``tailLines`` keeps the last N,
``limitBytes`` cuts the output, ``timestamps`` prefixes each line with its time and
``follow`` keeps reading as the file grows until the container stops (polling, where
upstream uses fsnotify; rotated files are not followed).

The parsing is pure (bytes in, records out) so it is tested by tables; only
:func:`stream_log` touches the file and the clock.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

#: How often a followed file is polled for new records (seconds).
FOLLOW_POLL = 0.2

_STAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


class LogFormatError(ValueError):
    """A line that is not a CRI log record."""


@dataclass(frozen=True)
class Record:
    """One CRI log record (``partial`` when the runtime split a long line)."""

    time_ns: int
    stream: str
    partial: bool
    content: bytes


@dataclass(frozen=True)
class LogOptions:
    """The query of ``/containerLogs`` (and of ``pods/log``), parsed."""

    follow: bool = False
    previous: bool = False
    since_ns: int | None = None  # from sinceTime or sinceSeconds, as ns since the epoch
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None


def parse_time(text: str) -> int:
    """RFC3339 (any fraction up to ns, ``Z`` or an offset) as ns since the epoch."""
    m = _STAMP.match(text)
    if m is None:
        raise LogFormatError(f"invalid timestamp {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7) or "", m.group(8)
    seconds = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc).timestamp()
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return int(seconds) * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


def format_time(ns: int) -> str:
    """Go's RFC3339NanoFixed in UTC, as the kubelet prints ``--timestamps``."""
    sec, nsec = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nsec:09d}Z"


def parse_record(line: bytes) -> Record:
    """One CRI log line (without its newline) as a :class:`Record`."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        raise LogFormatError(f"invalid CRI log line {line[:80]!r}")
    stamp, stream, tag = parts[0], parts[1], parts[2]
    if stream not in (b"stdout", b"stderr"):
        raise LogFormatError(f"unexpected stream type {stream!r}")
    flags = tag.split(b":")
    if flags[0] not in (b"F", b"P"):
        raise LogFormatError(f"unexpected tag {tag!r}")
    return Record(parse_time(stamp.decode()), stream.decode(), flags[0] == b"P",
                  parts[3] if len(parts) == 4 else b"")


def join_partials(records: Iterable[Record], pending: list[Record] | None = None
                  ) -> Iterator[Record]:
    """Whole lines from records: partial records are held (in ``pending``, which a
    follower keeps between reads) until the full one that ends them."""
    held = pending if pending is not None else []
    for record in records:
        if record.partial:
            held.append(record)
            continue
        if held:
            first = held[0]
            record = Record(first.time_ns, first.stream, False,
                            b"".join(r.content for r in held) + record.content)
            held.clear()
        yield record


def render(record: Record, timestamps: bool) -> bytes:
    """A whole line as the client gets it; an unfinished last line (a container that
    exited mid-line) without the newline it never wrote, as upstream."""
    prefix = (format_time(record.time_ns) + " ").encode() if timestamps else b""
    return prefix + record.content + (b"" if record.partial else b"\n")


def unfinished(pending: list[Record]) -> Iterator[Record]:
    """What partial records are still held once the log ends, as one unfinished line."""
    if pending:
        yield Record(pending[0].time_ns, pending[0].stream, True,
                     b"".join(r.content for r in pending))
        pending.clear()


def select(lines: Iterable[Record], opts: LogOptions) -> Iterator[Record]:
    """Apply ``since`` then ``tailLines`` to whole lines."""
    if opts.since_ns is not None:
        lines = (r for r in lines if r.time_ns >= opts.since_ns)
    if opts.tail_lines is not None:
        lines = deque(lines, maxlen=max(opts.tail_lines, 0))
    return iter(lines)


def parse_lines(data: bytes) -> tuple[list[Record], bytes]:
    """The records in ``data`` and the trailing bytes of an unfinished line. Lines that
    are not CRI records are skipped, as the kubelet skips them."""
    *complete, rest = data.split(b"\n")
    records = []
    for line in complete:
        try:
            records.append(parse_record(line))
        except LogFormatError:
            continue
    return records, rest


class _Limit:
    """``limitBytes``: how much may still be written."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def cut(self, data: bytes) -> bytes:
        if self.left is None:
            return data
        data = data[:self.left]
        self.left -= len(data)
        return data

    @property
    def reached(self) -> bool:
        return self.left is not None and self.left <= 0


async def stream_log(path: str, opts: LogOptions, write: Callable[[bytes], Awaitable[None]],
                     running: Callable[[], Awaitable[bool]]) -> None:
    """Write the log at ``path`` through ``write``; with ``follow``, keep going while
    ``running()`` says the container runs, then drain what it wrote last."""
    limit = _Limit(opts.limit_bytes)
    with open(path, "rb") as f:
        records, rest = parse_lines(f.read())
        pending: list[Record] = []
        lines = list(join_partials(records, pending))
        if not opts.follow:
            lines += unfinished(pending)
        for record in select(lines, opts):
            await write(limit.cut(render(record, opts.timestamps)))
            if limit.reached:
                return
        if not opts.follow:
            return
        while True:
            alive = await running()
            chunk = f.read()
            if not chunk:
                if not alive:
                    for record in unfinished(pending):
                        await write(limit.cut(render(record, opts.timestamps)))
                    return
                await asyncio.sleep(FOLLOW_POLL)
                continue
            records, rest = parse_lines(rest + chunk)
            for record in join_partials(records, pending):
                if opts.since_ns is not None and record.time_ns < opts.since_ns:
                    continue
                await write(limit.cut(render(record, opts.timestamps)))
                if limit.reached:
                    return


def options_from_query(query, now_ns: Callable[[], int] = time.time_ns) -> LogOptions:
    """:class:`LogOptions` from a ``/containerLogs`` or ``pods/log`` query; ValueError
    (with upstream's wording) on bad values."""

    def flag(name: str) -> bool:
        return query.get(name, "") in ("1", "t", "T", "true", "TRUE", "True")

    def number(name: str) -> int | None:
        value = query.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"invalid value for {name}: {value!r}") from None

    since_ns = None
    since_seconds = number("sinceSeconds")
    if since_seconds is not None:
        if since_seconds < 1:
            raise ValueError("sinceSeconds: Invalid value: must be greater than 0")
        since_ns = now_ns() - since_seconds * 1_000_000_000
    if query.get("sinceTime"):
        if since_ns is not None:
            raise ValueError("at most one of sinceTime or sinceSeconds may be specified")
        try:
            since_ns = parse_time(query["sinceTime"])
        except LogFormatError as err:
            raise ValueError(f"sinceTime: {err}") from None
    tail, limit = number("tailLines"), number("limitBytes")
    if tail is not None and tail < 0:
        raise ValueError("tailLines: Invalid value: must be greater than or equal to 0")
    if limit is not None and limit < 1:
        raise ValueError("limitBytes: Invalid value: must be greater than 0")
    return LogOptions(follow=flag("follow"), previous=flag("previous"), since_ns=since_ns,
                      timestamps=flag("timestamps"), tail_lines=tail, limit_bytes=limit)
