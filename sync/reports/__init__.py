"""Excel reports (`ozon-sync export`): ``orders``, ``daily`` and ``picklist``, streamed to .xlsx.

Where the postings come from (:mod:`sync.reports.sources`):
    state store (default)  fast and offline; what the daemon last saw, with every observed status change
    Ozon (``--live``)      the period fetched now through OzonClient; no history, so "late" is partly unknown

What each report holds (period = local dates ``--from``..``--to``, inclusive, in the config's timezone):
    orders     one row per posting accepted in the period (``in_process_at``), oldest first
    daily      per day of «Собрать до» (``shipment_date``) in the period: postings due, their current
               statuses, on time / late, units and sum; two charts; a sheet listing the late postings
    picklist   postings in awaiting_packaging due (``shipment_date``) no later than ``--cutoff``: per
               warehouse, units to pick per product with totals; a sheet of the postings line by line

"Late" is defined in :mod:`sync.reports.rules`. Buyer data (name, phone, address) is never written to a
report, whatever the state store holds. Memory stays flat in the number of postings: the sources stream
(a SQLite cursor) into xlsxwriter's constant_memory worksheets (:mod:`sync.reports.workbook`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

from sync.reports.daily import build_daily
from sync.reports.orders import ORDER_COLS, build_orders, order_values
from sync.reports.picklist import build_picklist
from sync.reports.request import (
    REPORTS,
    Request,
    Result,
    check_output,
    default_period,
    end_of_day,
    parse_cutoff,
    parse_day,
)
from sync.reports.rules import PUNCTUALITY_TEXT, Entry, Punctuality, punctuality, shipped_time
from sync.reports.sources import live_entries, state_entries
from sync.reports.workbook import DATE, DATETIME, FONT, HOURS, RUB, UNITS, Book, Col, write

BUILDERS: dict[str, Callable[[Book, Request, Iterable[Entry]], Result]] = {
    "orders": build_orders, "daily": build_daily, "picklist": build_picklist}


def write_report(req: Request, entries: Iterable[Entry], path: Path) -> Result:
    """Build ``req.report`` from ``entries`` into ``path``; a failed export leaves no file behind."""
    build = BUILDERS[req.report]
    result = write(path, lambda book: build(book, req, entries))
    return dataclasses.replace(result, path=path)


__all__ = [
    "BUILDERS", "Book", "DATE", "DATETIME", "FONT", "HOURS", "ORDER_COLS", "PUNCTUALITY_TEXT", "REPORTS", "RUB",
    "UNITS", "Col", "Entry", "Punctuality", "Request", "Result", "check_output", "default_period", "end_of_day",
    "live_entries",
    "order_values", "parse_cutoff", "parse_day", "punctuality", "shipped_time", "state_entries", "write_report",
]
