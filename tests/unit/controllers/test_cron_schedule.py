"""Cron schedule parsing and next-run math (robfig/cron semantics), incl. time zones and DST,
and the CronJob controller's missed-schedule window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pyk8s.controllers.cronjob import (
    job_name,
    most_recent_schedule_time,
    next_schedule_delay,
)
from pyk8s.controllers.util import cron

NY = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("spec,after,expected", [
    ("* * * * *", utc(2024, 1, 1, 10, 0, 0), utc(2024, 1, 1, 10, 1)),
    ("* * * * *", utc(2024, 1, 1, 10, 0, 30), utc(2024, 1, 1, 10, 1)),
    ("*/15 * * * *", utc(2024, 1, 1, 10, 7), utc(2024, 1, 1, 10, 15)),
    ("5-10/2 * * * *", utc(2024, 1, 1, 10, 7), utc(2024, 1, 1, 10, 9)),
    ("0 9 * * mon-fri", utc(2024, 1, 5, 10, 0), utc(2024, 1, 8, 9, 0)),
    ("0 0 1 jan,jul *", utc(2024, 2, 1), utc(2024, 7, 1)),
    ("0 0 13 * fri", utc(2024, 1, 1), utc(2024, 1, 5)),  # dom OR dow when both restricted
    ("0 0 29 2 *", utc(2024, 3, 1), utc(2028, 2, 29)),
    ("30 4 * * ?", utc(2024, 1, 1, 5), utc(2024, 1, 2, 4, 30)),
    ("@hourly", utc(2024, 1, 1, 10, 30), utc(2024, 1, 1, 11, 0)),
    ("@daily", utc(2024, 1, 1, 10, 30), utc(2024, 1, 2)),
    ("@midnight", utc(2024, 1, 1, 10, 30), utc(2024, 1, 2)),
    ("@weekly", utc(2024, 1, 1, 10, 30), utc(2024, 1, 7)),
    ("@monthly", utc(2024, 1, 15), utc(2024, 2, 1)),
    ("@yearly", utc(2024, 1, 15), utc(2025, 1, 1)),
    ("@annually", utc(2024, 1, 15), utc(2025, 1, 1)),
    ("@every 90s", utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 0, 1, 30)),
    ("0 0 30 2 *", utc(2024, 1, 1), None),
])
def test_next(spec, after, expected):
    got = cron.parse(spec).next(after)
    assert (got.astimezone(UTC) if got else None) == expected


@pytest.mark.parametrize("spec", ["", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
                                  "* * 0 * *", "* * * 13 *", "* * * * 7", "*/0 * * * *",
                                  "5-1 * * * *", "1-2-3 * * * *", "a * * * *", "@often",
                                  "@every x"])
def test_invalid(spec):
    with pytest.raises(cron.CronError):
        cron.parse(spec)


def test_unknown_zone():
    with pytest.raises(cron.CronError):
        cron.parse("* * * * *", "Mars/Olympus")


@pytest.mark.parametrize("spec,zone,after,expected_local", [
    # New York 9:00 is 14:00 UTC in winter and 13:00 UTC in summer.
    ("0 9 * * *", "America/New_York", utc(2024, 1, 1, 15), datetime(2024, 1, 2, 9, tzinfo=NY)),
    ("0 9 * * *", "America/New_York", utc(2024, 7, 1, 14), datetime(2024, 7, 2, 9, tzinfo=NY)),
    ("CRON_TZ=America/New_York 0 9 * * *", None, utc(2024, 1, 1, 15),
     datetime(2024, 1, 2, 9, tzinfo=NY)),
    ("TZ=Asia/Tokyo 0 0 * * *", None, utc(2024, 1, 1, 0), datetime(2024, 1, 2, tzinfo=ZoneInfo(
        "Asia/Tokyo"))),
    # Spring forward (2024-03-10): 02:30 does not exist and is skipped that day.
    ("30 2 * * *", "America/New_York", utc(2024, 3, 9, 12), datetime(2024, 3, 11, 2, 30,
                                                                       tzinfo=NY)),
])
def test_time_zones(spec, zone, after, expected_local):
    got = cron.parse(spec, zone).next(after)
    assert got == expected_local


def test_fall_back_hour_runs_twice():
    sched = cron.parse("30 1 * * *", "America/New_York")
    first = sched.next(utc(2024, 11, 2, 12))
    second = sched.next(first)
    assert first.astimezone(UTC) == utc(2024, 11, 3, 5, 30)   # 01:30 EDT
    assert second.astimezone(UTC) == utc(2024, 11, 3, 6, 30)  # 01:30 EST
    assert sched.next(second).astimezone(UTC) == utc(2024, 11, 4, 6, 30)


def cronjob(created: datetime, last: datetime | None = None, **spec) -> dict:
    status = {"lastScheduleTime": last.strftime("%Y-%m-%dT%H:%M:%SZ")} if last else {}
    return {"metadata": {"name": "cj", "creationTimestamp": created.strftime(
        "%Y-%m-%dT%H:%M:%SZ")}, "spec": {"schedule": "* * * * *", **spec}, "status": status}


def test_most_recent_schedule_time():
    every_minute = cron.parse("* * * * *")
    created = utc(2024, 1, 1, 10, 0, 30)
    # before the first run: nothing to do
    assert most_recent_schedule_time(cronjob(created), utc(2024, 1, 1, 10, 0, 50),
                                     every_minute, True)[1] is None
    # three runs missed: the latest is taken
    _, recent, too_many = most_recent_schedule_time(cronjob(created), utc(2024, 1, 1, 10, 3, 5),
                                                    every_minute, True)
    assert recent == utc(2024, 1, 1, 10, 3) and not too_many
    # already ran at 10:03
    assert most_recent_schedule_time(cronjob(created, utc(2024, 1, 1, 10, 3)),
                                     utc(2024, 1, 1, 10, 3, 30), every_minute, True)[1] is None
    # a day of missed minutes is too many ...
    _, recent, too_many = most_recent_schedule_time(cronjob(created), utc(2024, 1, 2, 10, 0, 5),
                                                    every_minute, True)
    assert recent == utc(2024, 1, 2, 10, 0) and too_many
    # ... unless startingDeadlineSeconds bounds the window
    _, recent, too_many = most_recent_schedule_time(
        cronjob(created, startingDeadlineSeconds=120), utc(2024, 1, 2, 10, 0, 5),
        every_minute, True)
    assert recent == utc(2024, 1, 2, 10, 0) and not too_many


def test_irregular_schedule_most_recent():
    sched = cron.parse("30 6-16/4 * * 1-5")
    created = utc(2024, 1, 1)  # a Monday
    _, recent, _ = most_recent_schedule_time(cronjob(created), utc(2024, 1, 8, 1), sched, True)
    assert recent == utc(2024, 1, 5, 14, 30)


def test_next_schedule_delay_and_job_name():
    sched = cron.parse("*/5 * * * *")
    cj = cronjob(utc(2024, 1, 1), utc(2024, 1, 1, 10, 5))
    delay = next_schedule_delay(cj, utc(2024, 1, 1, 10, 7), sched)
    assert delay == pytest.approx(180.1)
    assert job_name(cj, utc(2024, 1, 1, 10, 5)) == f"cj-{int(utc(2024, 1, 1, 10, 5).timestamp()) // 60}"
    assert timedelta(seconds=delay) < timedelta(minutes=5)
