"""CRI log parsing and the /containerLogs options: tables over bytes, one file for follow."""

from __future__ import annotations

import asyncio

import pytest
from multidict import MultiDict

from pyk8s.kubelet import logs
from pyk8s.kubelet.logs import LogOptions, Record

T0 = logs.parse_time("2024-05-01T10:00:00.000000001Z")


@pytest.mark.parametrize("text, ns", [
    ("1970-01-01T00:00:00Z", 0),
    ("1970-01-01T00:00:01.5Z", 1_500_000_000),
    ("1970-01-01T00:00:00.000000123Z", 123),
    ("1970-01-01T01:00:00.25+01:00", 250_000_000),
    ("1969-12-31T23:00:00-01:00", 0),
])
def test_parse_time(text, ns):
    assert logs.parse_time(text) == ns


def test_format_time_is_fixed_width_utc():
    assert logs.format_time(1_500_000_000) == "1970-01-01T00:00:01.500000000Z"


@pytest.mark.parametrize("line, record", [
    (b"2024-05-01T10:00:00.000000001Z stdout F hello world",
     Record(T0, "stdout", False, b"hello world")),
    (b"2024-05-01T10:00:00.000000001Z stderr P part", Record(T0, "stderr", True, b"part")),
    (b"2024-05-01T10:00:00.000000001Z stdout F", Record(T0, "stdout", False, b"")),
    (b"2024-05-01T10:00:00.000000001Z stdout F:x  two spaces",
     Record(T0, "stdout", False, b" two spaces")),
])
def test_parse_record(line, record):
    assert logs.parse_record(line) == record


@pytest.mark.parametrize("line", [b"", b"garbage", b"2024-05-01T10:00:00Z stdin F x",
                                  b"2024-05-01T10:00:00Z stdout X x", b"notatime stdout F x"])
def test_parse_record_rejects(line):
    with pytest.raises(logs.LogFormatError):
        logs.parse_record(line)


def _lines(*items):
    return b"".join(b"%s stdout %s %s\n" % (logs.format_time(T0 + i).encode(), tag, text)
                    for i, (tag, text) in enumerate(items))


def test_partial_records_join_with_the_first_time():
    records, rest = logs.parse_lines(_lines((b"P", b"ab"), (b"P", b"cd"), (b"F", b"ef"),
                                            (b"F", b"g")) + b"2024-05-01T10:00")
    assert rest == b"2024-05-01T10:00"
    joined = list(logs.join_partials(records))
    assert [(r.time_ns, r.content) for r in joined] == [(T0, b"abcdef"), (T0 + 3, b"g")]


def test_pending_partials_carry_over_between_reads():
    pending: list[Record] = []
    first, _ = logs.parse_lines(_lines((b"P", b"ab")))
    assert list(logs.join_partials(first, pending)) == []
    second, _ = logs.parse_lines(_lines((b"F", b"cd")))
    assert [r.content for r in logs.join_partials(second, pending)] == [b"abcd"]


@pytest.mark.parametrize("opts, expected", [
    (LogOptions(), [b"a", b"b", b"c"]),
    (LogOptions(tail_lines=2), [b"b", b"c"]),
    (LogOptions(tail_lines=0), []),
    (LogOptions(since_ns=T0 + 1), [b"b", b"c"]),
    (LogOptions(since_ns=T0 + 1, tail_lines=1), [b"c"]),
])
def test_select(opts, expected):
    records = [Record(T0 + i, "stdout", False, c) for i, c in enumerate((b"a", b"b", b"c"))]
    assert [r.content for r in logs.select(records, opts)] == expected


def test_render_with_timestamps():
    assert logs.render(Record(T0, "stdout", False, b"x"), True) == \
        b"2024-05-01T10:00:00.000000001Z x\n"


@pytest.mark.parametrize("query, expected", [
    ({}, LogOptions()),
    ({"follow": "true", "timestamps": "1", "tailLines": "5", "limitBytes": "10",
      "previous": "true"},
     LogOptions(follow=True, previous=True, timestamps=True, tail_lines=5, limit_bytes=10)),
    ({"sinceSeconds": "10"}, LogOptions(since_ns=1000 * 10**9 - 10 * 10**9)),
    ({"sinceTime": "1970-01-01T00:00:05Z"}, LogOptions(since_ns=5 * 10**9)),
])
def test_options_from_query(query, expected):
    assert logs.options_from_query(MultiDict(query), now_ns=lambda: 1000 * 10**9) == expected


@pytest.mark.parametrize("query", [{"tailLines": "x"}, {"tailLines": "-1"},
                                   {"limitBytes": "0"}, {"sinceSeconds": "0"},
                                   {"sinceTime": "yesterday"},
                                   {"sinceSeconds": "1", "sinceTime": "1970-01-01T00:00:05Z"}])
def test_options_from_query_rejects(query):
    with pytest.raises(ValueError):
        logs.options_from_query(MultiDict(query))


async def _collect(path, opts, running=None):
    out: list[bytes] = []

    async def write(data: bytes) -> None:
        out.append(data)

    async def never() -> bool:
        return False

    await logs.stream_log(str(path), opts, write, running or never)
    return b"".join(out)


async def test_stream_log_limit_bytes_and_tail(tmp_path):
    path = tmp_path / "0.log"
    path.write_bytes(_lines((b"F", b"one"), (b"P", b"tw"), (b"F", b"o"), (b"F", b"three")))
    assert await _collect(path, LogOptions()) == b"one\ntwo\nthree\n"
    assert await _collect(path, LogOptions(tail_lines=1)) == b"three\n"
    assert await _collect(path, LogOptions(limit_bytes=6)) == b"one\ntw"


async def test_stream_log_follows_until_the_container_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "FOLLOW_POLL", 0)
    path = tmp_path / "0.log"
    path.write_bytes(_lines((b"F", b"one")))
    polls = []

    async def running() -> bool:
        polls.append(1)
        if len(polls) == 2:  # the container writes a split line, then exits
            with open(path, "ab") as f:
                f.write(_lines((b"P", b"tw")))
                f.write(_lines((b"F", b"o")))
        return len(polls) < 3

    out = await asyncio.wait_for(_collect(path, LogOptions(follow=True), running), 10)
    assert out == b"one\ntwo\n"


async def test_a_last_line_without_newline_is_not_lost(tmp_path, monkeypatch):
    """A container that exits mid-line leaves a final partial record: clients get its
    text without a newline, as from upstream's kubelet, with and without follow."""
    monkeypatch.setattr(logs, "FOLLOW_POLL", 0)
    path = tmp_path / "0.log"
    path.write_bytes(_lines((b"F", b"one"), (b"P", b"token")))
    assert await _collect(path, LogOptions()) == b"one\ntoken"
    assert await _collect(path, LogOptions(tail_lines=1)) == b"token"
    assert await _collect(path, LogOptions(follow=True)) == b"one\ntoken"
