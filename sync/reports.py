"""Excel reports (`ozon-sync export`): ``orders``, ``daily`` and ``picklist``, streamed to .xlsx.

Where the postings come from:
    state store (default)  fast and offline; what the daemon last saw, with every observed status change
    Ozon (``--live``)      the period fetched now through OzonClient; no history, so "late" is partly unknown

What each report holds (period = local dates ``--from``..``--to``, inclusive, in the config's timezone):
    orders     one row per posting accepted in the period (``in_process_at``), oldest first
    daily      per day of «Собрать до» (``shipment_date``) in the period: postings due, their current
               statuses, on time / late, units and sum; two charts; a sheet listing the late postings
    picklist   postings in awaiting_packaging due (``shipment_date``) no later than ``--cutoff``:
               units to pick per product with totals, and a sheet of the postings line by line

"Late" (see :func:`punctuality`): a posting is late when it left awaiting_packaging for a shipped status
(awaiting_deliver, delivering, delivered, ... anything but the pre-packing statuses and cancellations)
after its «Собрать до», or when it still waits for packaging after «Собрать до». The shipping time is the
first time the state store saw the posting in a shipped status, so it is known to within one sync interval.
A posting first seen already shipped is on time if that first sight was before its deadline, else "not
measured"; so is every shipped posting in a ``--live`` report (Ozon's list does not date the shipping).
Cancelled postings are neither on time nor late.

Buyer data (name, phone, address) is never written to a report, whatever the state store holds.

Large exports stream: openpyxl write-only worksheets (styles set per cell in code, since write-only
cannot open a template) fed from a SQLite cursor, so memory stays flat in the number of postings.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from sync.engine.state import StateStore
from sync.errors import ConfigError, FatalError
from sync.mapping import StatusMap
from sync.model import Posting, posting_from_dict
from sync.ozon import OzonClient

REPORTS = ("orders", "daily", "picklist")

PRE_SHIP = ("awaiting_verification", "acceptance_in_progress", "awaiting_approve", "awaiting_packaging")
NEVER_SHIPPED = ("cancelled", "cancelled_from_split_pending")
UNSHIPPED = PRE_SHIP + NEVER_SHIPPED  # a status outside these means the posting left the packing table
DAILY_LIVE_LOOKBACK = timedelta(days=14)  # --live daily: orders placed this long before the period may be due in it

RUB = '#,##0.00 "₽"'
UNITS = "#,##0"
HOURS = "0.0"
DATE = "DD.MM.YYYY"
DATETIME = "DD.MM.YYYY HH:MM"


class Punctuality(StrEnum):
    ON_TIME = "on_time"  # shipped no later than «Собрать до»
    LATE = "late"  # shipped after «Собрать до»
    OVERDUE = "overdue"  # still awaiting packaging after «Собрать до» (counts as late)
    PENDING = "pending"  # awaiting packaging, deadline ahead
    UNKNOWN = "unknown"  # shipped, but when is not known well enough
    NONE = "none"  # cancelled before shipping, or no deadline

    @property
    def late(self) -> bool:
        return self in (Punctuality.LATE, Punctuality.OVERDUE)


PUNCTUALITY_TEXT = {
    Punctuality.ON_TIME: "В срок", Punctuality.LATE: "Отгружено с опозданием",
    Punctuality.OVERDUE: "Не собрано в срок", Punctuality.PENDING: "Ждёт сборки",
    Punctuality.UNKNOWN: "Не измерено", Punctuality.NONE: "—",
}


@dataclass(frozen=True)
class Entry:
    """One posting as a report sees it: ``first_seen`` and ``shipped_at`` come from the state store's history
    (None in a live report); ``shipped_at`` is the first time it was seen in a shipped status."""

    posting: Posting
    first_seen: datetime | None = None
    shipped_at: datetime | None = None


def punctuality(entry: Entry, now: datetime) -> Punctuality:
    """On time or late, by the definition in the module docstring."""
    p, due, shipped = entry.posting, entry.posting.shipment_date, entry.shipped_at
    if due is None:
        return Punctuality.NONE
    if shipped is not None:
        first_sight = entry.first_seen is not None and shipped <= entry.first_seen
        if first_sight and shipped > due:
            return Punctuality.UNKNOWN  # it may have shipped in time, before we first looked
        return Punctuality.LATE if shipped > due else Punctuality.ON_TIME
    if p.status in NEVER_SHIPPED:
        return Punctuality.NONE
    if p.status in PRE_SHIP:
        return Punctuality.OVERDUE if now > due else Punctuality.PENDING
    return Punctuality.UNKNOWN


# --- what to export ---------------------------------------------------------------------------------------


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

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC [since, until)."""
        assert self.start is not None and self.end is not None
        since = datetime.combine(self.start, time(), self.tz).astimezone(UTC)
        until = datetime.combine(self.end + timedelta(days=1), time(), self.tz).astimezone(UTC)
        return since, until


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
    if path.suffix.lower() != ".xlsx":
        raise ConfigError(f"-o {path}: a report is an Excel workbook; give a file name ending in .xlsx")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"-o {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise ConfigError(f"-o {path}: that is a folder; give a file name ending in .xlsx")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise FatalError(f"Cannot write {path}: permission denied; choose another -o path")


# --- where the postings come from ---------------------------------------------------------------------


def state_entries(state: StateStore, req: Request) -> Iterator[Entry]:
    """The report's postings from the state store, streamed in report order."""
    if req.report == "picklist":
        assert req.cutoff is not None
        rows = state.report_postings("shipment_date", None, req.cutoff + timedelta(seconds=1),
                                     statuses=("awaiting_packaging",), unshipped=UNSHIPPED)
    else:
        since, until = req.bounds()
        rows = state.report_postings("in_process_at" if req.report == "orders" else "shipment_date", since, until,
                                     unshipped=UNSHIPPED)
    wanted = _filter(req)
    for data, first_seen, shipped in rows:
        entry = Entry(posting_from_dict(data), first_seen, shipped)
        if wanted(entry.posting):
            yield entry


def live_entries(clients: Sequence[OzonClient], req: Request) -> Iterator[Entry]:
    """The report's postings fetched from Ozon now, from every account (no history: see the module
    docstring). Several accounts' postings are merged in the report's time order."""
    wanted = _filter(req)
    found: list[Entry] = []
    for client in clients:
        if req.report == "picklist":
            postings: Iterable[Posting] = client.list_unfulfilled(statuses=("awaiting_packaging",))
        else:
            since, until = req.bounds()
            if req.report == "daily":
                since -= DAILY_LIVE_LOOKBACK
            postings = client.list_postings(since, until)
        entries = (Entry(p) for p in postings if wanted(p))
        if len(clients) == 1:
            yield from entries
            return
        found += entries
    by = "in_process_at" if req.report == "orders" else "shipment_date"
    yield from sorted(found, key=lambda e: (getattr(e.posting, by), e.posting.account, e.posting.posting_number))


def _filter(req: Request) -> Callable[[Posting], bool]:
    """Whether a posting belongs in the report (the exact bounds; the sources pre-filter roughly)."""
    if req.report == "picklist":
        cutoff = req.cutoff
        assert cutoff is not None
        return lambda p: p.status == "awaiting_packaging" and p.shipment_date is not None and p.shipment_date <= cutoff
    since, until = req.bounds()
    if req.report == "orders":
        return lambda p: p.in_process_at is not None and since <= p.in_process_at < until
    return lambda p: p.shipment_date is not None and since <= p.shipment_date < until


# --- writing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    path: Path
    postings: int
    late: int
    lines: list[str] = field(default_factory=list)  # what to print


def write_report(req: Request, entries: Iterable[Entry], path: Path) -> Result:
    """Build ``req.report`` from ``entries`` into ``path`` (written to a temporary file, then renamed,
    so a failed export never leaves half a workbook behind)."""
    builder: Callable[[Workbook, Request, Iterable[Entry]], Result] = {
        "orders": _orders, "daily": _daily, "picklist": _picklist}[req.report]
    wb = Workbook(write_only=True)
    try:
        result = builder(wb, req, entries)
    except BaseException:
        _discard(wb)
        raise
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise FatalError(f"Cannot write {path}: {exc.strerror or exc}; choose another -o path") from None
    finally:
        tmp.unlink(missing_ok=True)
    return Result(path, result.postings, result.late, result.lines)


def _discard(wb: Workbook) -> None:
    """Close a half-built write-only workbook's sheets and remove their temporary files."""
    for ws in wb.worksheets:
        try:
            ws.close()
        except Exception:  # noqa: S110 - best effort: the original error is the one to report
            pass
        writer = getattr(ws, "_writer", None)
        if writer is not None:
            writer.cleanup()


_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_TOTAL_FONT = Font(bold=True)
_TOTAL_BORDER = Border(top=Side(style="medium"))
_THIN = Border(*(Side(style="thin", color="A6A6A6"),) * 4)
_TITLE_FONT = Font(bold=True, size=13)
_NOTE_FONT = Font(italic=True, color="595959")
_LATE_FONT = Font(color="C00000")
_WRAP = Alignment(wrap_text=True, vertical="top")
_FORMATS = {"int": UNITS, "rub": RUB, "date": DATE, "datetime": DATETIME, "hours": HOURS}


@dataclass(frozen=True)
class Col:
    header: str
    width: float
    kind: str = "text"  # text | int | rub | date | datetime | hours


class _Sheet:
    """A write-only sheet: styled header row, widths, frozen header, filter over the table, print set-up.

    Column widths, the frozen pane and the fit-to-page flag are written before the first row (openpyxl
    write-only puts them ahead of the cells), so they are all set in the constructor.
    """

    def __init__(self, ws: Any, cols: list[Col], *, print_title: str, tz: ZoneInfo, grid: bool = True):
        assert isinstance(ws, WriteOnlyWorksheet)
        self.ws, self.cols, self.tz, self.rows = ws, cols, tz, 0
        # Printed grid lines suit long tables; a sheet with charts gets cell borders instead (the grid
        # would be printed across the charts too).
        self.border = None if grid else _THIN
        ws.row_dimensions[1].height = 30  # the header wraps onto two lines
        for i, c in enumerate(cols, 1):
            ws.column_dimensions[get_column_letter(i)].width = c.width
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = grid
        ws.oddHeader.center.text = print_title
        ws.oddFooter.right.text = "&P / &N"
        self._cells = [self._styled(c) for c in cols]
        self._reuse: dict[tuple[int, bool], Any] = {}
        header = []
        for c in cols:
            cell = WriteOnlyCell(ws, c.header)
            cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP
            header.append(cell)
        self._append(header)

    def _styled(self, col: Col) -> Callable[[Any], Any]:
        fmt = _FORMATS.get(col.kind)
        if fmt is None:
            return self._text
        ws, tz = self.ws, self.tz

        def cell(value: Any) -> Any:
            if value is None or value == "":
                return None
            if isinstance(value, datetime):
                value = value.astimezone(tz).replace(tzinfo=None)  # Excel has no time zones: local time
            elif isinstance(value, Decimal):
                value = float(value)
            c = WriteOnlyCell(ws, value)
            c.number_format = fmt
            return c

        return cell

    def _text(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        text = str(value)
        if text[0] in "=+-@":
            # openpyxl would store "=..." as a formula; Ozon's product names are data, never formulas
            c = WriteOnlyCell(self.ws, text)
            c.data_type = "s"
            return c
        return text

    def _append(self, row: list[Any]) -> None:
        self.ws.append(row)
        self.rows += 1

    def row(self, values: Iterable[Any], *, late: bool = False) -> None:
        """Append one table row; ``late`` rows are set in red.

        Styling a fresh cell costs more than writing it, so each styled column has one cell per variant
        that every row reuses: the write-only writer serialises a row before ``append`` returns.
        """
        out: list[Any] = []
        styled = late or self.border is not None
        for i, (col, value) in enumerate(zip(self.cols, values, strict=True)):
            if value is None or value == "":
                out.append(self._blank(i) if self.border is not None else None)
                continue
            if col.kind == "text":
                text = str(value)
                formula_like = text[0] in "=+-@"
                if not styled and not formula_like:
                    out.append(text)
                    continue
                cell = self._reused(i, late)
                cell.value = text
                if formula_like:
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula; Ozon's names are data
                out.append(cell)
                continue
            if isinstance(value, datetime):
                value = value.astimezone(self.tz).replace(tzinfo=None)  # Excel has no time zones: local time
            elif isinstance(value, Decimal):
                value = float(value)
            cell = self._reused(i, late)
            cell.value = value
            out.append(cell)
        self._append(out)

    def _reused(self, index: int, late: bool) -> Any:
        key = (index, late)
        cell = self._reuse.get(key)
        if cell is None:
            cell = self._reuse[key] = WriteOnlyCell(self.ws)
            fmt = _FORMATS.get(self.cols[index].kind)
            if fmt is not None:
                cell.number_format = fmt
            if late:
                cell.font = _LATE_FONT
            if self.border is not None:
                cell.border = self.border
        return cell

    def _blank(self, index: int) -> Any:
        cell = self._reused(index, False)
        cell.value = None
        return cell

    def total(self, values: Iterable[Any]) -> None:
        cells = [conv(v) for conv, v in zip(self._cells, values, strict=True)]
        out = []
        for c in cells:
            if not isinstance(c, Cell):
                c = WriteOnlyCell(self.ws, c)
            c.font, c.border = _TOTAL_FONT, _TOTAL_BORDER
            out.append(c)
        self._append(out)

    def filter_table(self) -> None:
        """Auto filter over the header and the rows written so far (call before totals and notes)."""
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.cols))}{max(self.rows, 2)}"

    def blank(self) -> None:
        self._append([])

    def note(self, text: str, font: Font = _NOTE_FONT) -> None:
        cell = WriteOnlyCell(self.ws, text)
        cell.font = font
        self._append([cell])


def _products_text(p: Posting) -> str:
    return "; ".join(f"{x.name} × {x.quantity}" for x in p.products)


def _period(req: Request) -> str:
    assert req.start is not None and req.end is not None
    return f"{req.start:%d.%m.%Y}–{req.end:%d.%m.%Y}"


def _made(req: Request) -> str:
    return f"Сформирован {req.now.astimezone(req.tz):%d.%m.%Y %H:%M} ({req.tz.key}). {req.source}"


ORDER_COLS = [
    Col("Отправление", 20), Col("Заказ", 17), Col("Принят", 16, "datetime"), Col("Собрать до", 16, "datetime"),
    Col("Отгружено", 16, "datetime"), Col("Срок", 20), Col("Статус", 18), Col("Схема", 7),
    Col("Склад", 20), Col("Способ доставки", 24), Col("Товары", 44), Col("Артикулы", 18), Col("Кол-во", 8, "int"),
    Col("Сумма", 14, "rub"), Col("Трек-номер", 16), Col("Причина отмены", 24),
]


def order_values(e: Entry, punct: Punctuality, req: Request) -> list[Any]:
    """One row of the orders report, in ORDER_COLS order (no buyer data)."""
    p = e.posting
    return [p.posting_number, p.order_number, p.in_process_at, p.shipment_date, e.shipped_at,
            PUNCTUALITY_TEXT[punct], req.statuses.label_for(p), p.scheme.value, p.warehouse, p.delivery_method,
            _products_text(p), ", ".join(x.offer_id for x in p.products), p.total_quantity, p.total_price,
            p.tracking_number, p.cancel_reason]


def _orders(wb: Workbook, req: Request, entries: Iterable[Entry]) -> Result:
    sheet = _Sheet(wb.create_sheet("Заказы"), ORDER_COLS, print_title=f"Заказы {_period(req)}", tz=req.tz)
    count = late = units = 0
    total = Decimal(0)
    for e in entries:
        p = e.posting
        punct = punctuality(e, req.now)
        count += 1
        late += punct.late
        units += p.total_quantity
        total += p.total_price
        sheet.row(order_values(e, punct, req), late=punct.late)
    sheet.filter_table()
    sheet.total([f"Итого: {count}", None, None, None, None, f"Просрочено: {late}", None, None, None, None, None,
                 None, units, total, None, None])
    sheet.blank()
    sheet.note(_made(req))
    return Result(Path(), count, late, [f"{count} postings accepted {_period(req)}, {late} late"])


LATE_COLS = [
    Col("Отправление", 20), Col("Заказ", 17), Col("Собрать до", 16, "datetime"), Col("Отгружено", 16, "datetime"),
    Col("Опоздание, ч", 12, "hours"), Col("Срок", 20), Col("Статус", 18), Col("Склад", 20),
    Col("Способ доставки", 24), Col("Товары", 44), Col("Сумма", 14, "rub"),
]


@dataclass
class _Day:
    due: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    punct: Counter[Punctuality] = field(default_factory=Counter)
    units: int = 0
    total: Decimal = Decimal(0)


def _daily(wb: Workbook, req: Request, entries: Iterable[Entry]) -> Result:
    assert req.start is not None and req.end is not None
    days = [req.start + timedelta(days=i) for i in range((req.end - req.start).days + 1)]
    summary_ws = wb.create_sheet("По дням")  # first tab; written once the postings are counted
    late_sheet = _Sheet(wb.create_sheet("Просроченные"), LATE_COLS,
                        print_title=f"Просроченные отправления {_period(req)}", tz=req.tz)
    per_day = {d: _Day() for d in days}
    labels = [lab.label for lab in req.statuses.labels]
    other = "Другие"
    count = late = 0
    for e in entries:
        p = e.posting
        assert p.shipment_date is not None
        found = per_day.get(p.shipment_date.astimezone(req.tz).date())
        if found is None:
            continue
        day = found
        punct = punctuality(e, req.now)
        label = req.statuses.label_for(p)
        count += 1
        day.due += 1
        day.statuses[label if label in labels else other] += 1
        day.punct[punct] += 1
        day.units += p.total_quantity
        day.total += p.total_price
        if punct.late:
            late += 1
            hours = ((e.shipped_at or req.now) - p.shipment_date).total_seconds() / 3600
            late_sheet.row([p.posting_number, p.order_number, p.shipment_date, e.shipped_at, round(hours, 1),
                            PUNCTUALITY_TEXT[punct], label, p.warehouse, p.delivery_method, _products_text(p),
                            p.total_price])
    late_sheet.filter_table()
    late_sheet.blank()
    late_sheet.note("Просрочено: отгружено (покинуло «Ожидает сборки») позже «Собрать до», или всё ещё не собрано "
                    "после него. Время отгрузки — первая синхронизация, увидевшая новый статус.")
    late_sheet.note(_made(req))

    totals: Counter[str] = Counter()
    for counted in per_day.values():
        totals.update(counted.statuses)
    shown = [lab for lab in [*labels, other] if totals[lab]] or labels[:1]
    cols = [Col("Дата", 12, "date"), Col("Отправлений", 12, "int"), *(Col(lab, 12, "int") for lab in shown),
            Col("В срок", 10, "int"), Col("Просрочено", 11, "int"), Col("Ждёт сборки", 11, "int"),
            Col("Не измерено", 11, "int"), Col("Товаров, шт", 11, "int"), Col("Сумма", 15, "rub")]
    sheet = _Sheet(summary_ws, cols, print_title=f"Отгрузки по дням {_period(req)}", tz=req.tz, grid=False)

    def punct_cells(c: Counter[Punctuality]) -> list[int]:
        return [c[Punctuality.ON_TIME], c[Punctuality.LATE] + c[Punctuality.OVERDUE], c[Punctuality.PENDING],
                c[Punctuality.UNKNOWN]]

    all_punct: Counter[Punctuality] = Counter()
    for d in days:
        row = per_day[d]
        all_punct.update(row.punct)
        sheet.row([d, row.due, *(row.statuses[lab] for lab in shown), *punct_cells(row.punct), row.units, row.total])
    sheet.filter_table()
    sheet.total(["Итого", count, *(totals[lab] for lab in shown), *punct_cells(all_punct),
                 sum(x.units for x in per_day.values()), sum((x.total for x in per_day.values()), Decimal(0))])
    last_day_row = 1 + len(days)
    sheet.blank()
    sheet.note("Отправления по дню «Собрать до»; статусы — текущие. «Просрочено» — см. лист «Просроченные».")
    sheet.note(_made(req))

    status_chart = BarChart()
    status_chart.type, status_chart.grouping, status_chart.overlap = "col", "stacked", 100
    status_chart.title = "Отправления по дням и статусам"
    status_chart.add_data(Reference(summary_ws, min_col=3, max_col=2 + len(shown), min_row=1, max_row=last_day_row),
                          titles_from_data=True)
    late_chart = BarChart()
    late_chart.type, late_chart.grouping, late_chart.overlap = "col", "stacked", 100
    late_chart.title = "В срок и с опозданием"
    first = 3 + len(shown)
    late_chart.add_data(Reference(summary_ws, min_col=first, max_col=first + 1, min_row=1, max_row=last_day_row),
                        titles_from_data=True)
    for series, colour in zip(late_chart.series, ("70AD47", "C00000"), strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    cats = Reference(summary_ws, min_col=1, min_row=2, max_row=last_day_row)
    anchor_row = last_day_row + 6
    for chart, anchor in ((status_chart, f"A{anchor_row}"), (late_chart, f"A{anchor_row + 18}")):
        chart.set_categories(cats)
        chart.y_axis.title = "Отправлений"
        chart.x_axis.number_format = "DD.MM"
        chart.x_axis.delete = False  # openpyxl 3.1 hides axes unless told
        chart.y_axis.delete = False
        chart.width, chart.height = 24, 8.5
        summary_ws.add_chart(chart, anchor)
    return Result(Path(), count, late, [f"{count} postings due {_period(req)}, {late} late"])


PICK_COLS = [Col("Артикул", 18), Col("SKU", 14), Col("Товар", 48), Col("Количество", 12, "int"),
             Col("Отправлений", 12, "int"), Col("Сумма", 15, "rub")]
PICK_POSTING_COLS = [Col("Собрать до", 16, "datetime"), Col("Отправление", 20), Col("Склад", 20),
                     Col("Способ доставки", 24), Col("Артикул", 18), Col("Товар", 48), Col("Кол-во", 8, "int"),
                     Col("Срок", 18)]


def _picklist(wb: Workbook, req: Request, entries: Iterable[Entry]) -> Result:
    assert req.cutoff is not None
    cutoff = f"{req.cutoff.astimezone(req.tz):%d.%m.%Y %H:%M}"
    products_ws = wb.create_sheet("Сборка")  # first tab; written once the postings are counted
    lines = _Sheet(wb.create_sheet("Отправления"), PICK_POSTING_COLS,
                   print_title=f"Отправления к сборке до {cutoff}", tz=req.tz)
    per_product: dict[tuple[str, int, str], list[Any]] = {}
    count = late = 0
    for e in entries:
        p = e.posting
        punct = punctuality(e, req.now)
        count += 1
        late += punct.late
        for x in p.products:
            lines.row([p.shipment_date, p.posting_number, p.warehouse, p.delivery_method, x.offer_id, x.name,
                       x.quantity, PUNCTUALITY_TEXT[punct]], late=punct.late)
            acc = per_product.setdefault((x.offer_id, x.sku, x.name), [0, set(), Decimal(0)])
            acc[0] += x.quantity
            acc[1].add(p.posting_number)
            acc[2] += x.price * x.quantity
    lines.filter_table()
    lines.blank()
    lines.note(_made(req))
    sheet = _Sheet(products_ws, PICK_COLS, print_title=f"Лист сборки: «Собрать до» не позже {cutoff}", tz=req.tz)
    units = 0
    total = Decimal(0)
    for (offer, sku, name), (qty, numbers, money) in sorted(per_product.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        sheet.row([offer, sku, name, qty, len(numbers), money])
        units += qty
        total += money
    sheet.filter_table()
    sheet.total([f"Итого товаров: {len(per_product)}", None, None, units, count, total])
    sheet.blank()
    sheet.note(f"Отправления в статусе «Ожидает сборки» с «Собрать до» не позже {cutoff}; "
               f"из них не собрано в срок: {late}.")
    sheet.note(_made(req))
    return Result(Path(), count, late,
                  [f"{count} postings to pack by {cutoff}: {units} units of {len(per_product)} products, {late} late"])
