"""What to export, from `ozon-sync export`'s flags: the :class:`Request`, the parsing and checks of
``--from``/``--to``/``--cutoff``/``-o``, and the :class:`Result` an export hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sync import output
from sync.errors import ConfigError
from sync.mapping import StatusMap

REPORTS = ("orders", "daily", "picklist")


@dataclass(frozen=True)
class Request:
    """A report to build. ``start``/``end`` are local dates (inclusive); ``cutoff`` is for the picklist."""

    report: str
    tz: ZoneInfo
    now: datetime
    statuses: StatusMap
    start: date | None = None
    end: date | None = None
    cutoff: datetime | None = None
    source: str = ""  # a line saying where the data came from, printed in the report
    warehouse: str | None = None  # picklist: only this warehouse's postings (``--warehouse``)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC [since, until)."""
        assert self.start is not None and self.end is not None
        since = datetime.combine(self.start, time(), self.tz).astimezone(UTC)
        until = datetime.combine(self.end + timedelta(days=1), time(), self.tz).astimezone(UTC)
        return since, until


@dataclass(frozen=True)
class Result:
    path: Path
    postings: int
    late: int
    lines: list[str] = field(default_factory=list)  # what to print


def parse_day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-30") from None


def parse_cutoff(text: str, tz: ZoneInfo) -> datetime:
    """``YYYY-MM-DD`` means the end of that local day; ``YYYY-MM-DD HH:MM`` (or with ``T``) that local time."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time.max, tz)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"--cutoff {text!r} is not a date or time: write YYYY-MM-DD or 'YYYY-MM-DD HH:MM'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def default_period(now: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The last 7 days, today included."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=6), today


def end_of_day(now: datetime, tz: ZoneInfo) -> datetime:
    return datetime.combine(now.astimezone(tz).date(), time.max, tz)


def check_output(path: Path) -> None:
    """Refuse an output the report could not be saved to, before any work is done."""
    output.check_output(path, ".xlsx", "a report is an Excel workbook")
