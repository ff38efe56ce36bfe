"""The export's pure rules with plain values: the flags' dates and times, the period's bounds, which
postings belong in each report, and which punctualities count as late."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.errors import ConfigError
from sync.mapping import load_statuses
from sync.model import Posting
from sync.reports import Punctuality, Request, default_period, end_of_day, parse_cutoff, parse_day
from sync.reports.daily import tick
from sync.reports.sources import in_report

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 12, 22, 30, tzinfo=UTC)  # 13 January 01:30 in Moscow


def request(report: str, tz: ZoneInfo = MSK, start: date | None = None, end: date | None = None,
            cutoff: datetime | None = None) -> Request:
    return Request(report, tz, NOW, load_statuses(), start, end, cutoff)


def test_a_day_is_an_iso_date_and_a_bad_one_names_its_flag() -> None:
    assert parse_day(" 2026-01-10 ", "--from") == date(2026, 1, 10)
    with pytest.raises(ConfigError, match=r"--to '10.01.2026' is not a date: write it as YYYY-MM-DD"):
        parse_day("10.01.2026", "--to")


def test_a_cutoff_date_is_the_end_of_that_local_day_and_a_time_is_local() -> None:
    assert parse_cutoff("2026-01-12", MSK) == datetime.combine(date(2026, 1, 12), time.max, MSK)
    assert parse_cutoff("2026-01-12 23:00", MSK) == datetime(2026, 1, 12, 20, tzinfo=UTC)
    assert parse_cutoff("2026-01-12T23:00", MSK) == datetime(2026, 1, 12, 23, tzinfo=MSK)
    assert parse_cutoff("2026-01-12T23:00+00:00", MSK) == datetime(2026, 1, 12, 23, tzinfo=UTC)  # an offset is kept
    with pytest.raises(ConfigError, match="--cutoff 'tomorrow' is not a date or time"):
        parse_cutoff("tomorrow", MSK)


def test_the_default_period_is_the_last_seven_local_days_and_today_ends_at_local_midnight() -> None:
    assert default_period(NOW, MSK) == (date(2026, 1, 7), date(2026, 1, 13))  # already the 13th in Moscow
    assert default_period(NOW, ZoneInfo("UTC")) == (date(2026, 1, 6), date(2026, 1, 12))
    assert end_of_day(NOW, MSK) == datetime.combine(date(2026, 1, 13), time.max, MSK)


def test_the_period_is_local_days_as_utc_bounds_across_a_clock_change() -> None:
    assert request("orders", start=date(2026, 1, 10), end=date(2026, 1, 12)).bounds() == (
        datetime(2026, 1, 9, 21, tzinfo=UTC), datetime(2026, 1, 12, 21, tzinfo=UTC))
    # Berlin moves to summer time on 29 March 2026: that local day is 23 hours long
    since, until = request("orders", BERLIN, start=date(2026, 3, 29), end=date(2026, 3, 29)).bounds()
    assert (since, until - since) == (datetime(2026, 3, 28, 23, tzinfo=UTC), timedelta(hours=23))


def test_which_postings_belong_in_each_report() -> None:
    start, end = date(2026, 1, 10), date(2026, 1, 12)
    first, after = datetime(2026, 1, 9, 21, tzinfo=UTC), datetime(2026, 1, 12, 21, tzinfo=UTC)
    orders = in_report(request("orders", start=start, end=end))
    assert orders(Posting("1-1-1", "delivered", in_process_at=first))
    assert not orders(Posting("1-1-1", "delivered", in_process_at=after))  # the end bound is excluded
    assert not orders(Posting("1-1-1", "delivered", in_process_at=first - timedelta(seconds=1)))
    assert not orders(Posting("1-1-1", "delivered", shipment_date=first))  # orders go by acceptance time
    daily = in_report(request("daily", start=start, end=end))
    assert daily(Posting("1-1-1", "delivered", shipment_date=first)) and not daily(Posting("1-1-1", "delivered"))
    assert not daily(Posting("1-1-1", "delivered", in_process_at=first, shipment_date=after))
    cutoff = datetime(2026, 1, 12, 20, tzinfo=UTC)
    picklist = in_report(request("picklist", cutoff=cutoff))
    assert picklist(Posting("1-1-1", "awaiting_packaging", shipment_date=cutoff))  # the cutoff is included
    assert not picklist(Posting("1-1-1", "awaiting_packaging", shipment_date=cutoff + timedelta(seconds=1)))
    assert not picklist(Posting("1-1-1", "awaiting_deliver", shipment_date=cutoff))
    assert not picklist(Posting("1-1-1", "awaiting_packaging"))


def test_late_and_overdue_count_as_late_nothing_else_does() -> None:
    assert {p for p in Punctuality if p.late} == {Punctuality.LATE, Punctuality.OVERDUE}


def test_a_count_axis_steps_in_whole_postings_and_at_most_eight_steps() -> None:
    assert [tick(n) for n in (0, 4, 8, 9, 16, 17, 40, 41, 80, 81, 1000)] == [1, 1, 1, 2, 2, 5, 5, 10, 10, 20, 200]
