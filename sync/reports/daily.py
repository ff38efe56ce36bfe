"""The ``daily`` report: per day of «Собрать до» (``shipment_date``) in the period, the postings due, their
current statuses, on time / late, units and sum, with two charts; a second sheet lists the late postings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.reports.request import Request, Result
from sync.reports.rules import PUNCTUALITY_TEXT, Entry, Punctuality, punctuality, shipped_time
from sync.reports.workbook import FONT, Book, Col, Sheet, made_text, period_text, products_text

LATE_COLS = [
    Col("Отправление", 19, "code"), Col("Заказ", 16, "code"), Col("Собрать до", 16, "datetime"),
    Col("Отгружено", 16, "datetime"),
    Col("Опоздание, ч", 10, "hours"), Col("Срок", 18), Col("Статус", 18), Col("Склад", 20),
    Col("Способ доставки", 26), Col("Товары", 44), Col("Сумма", 14, "rub"),
]
OTHER = "Другие"  # the column for statuses the status map has no label for


@dataclass
class _Day:
    due: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    punct: Counter[Punctuality] = field(default_factory=Counter)
    units: int = 0
    total: Decimal = Decimal(0)


def build_daily(book: Book, req: Request, entries: Iterable[Entry]) -> Result:
    assert req.start is not None and req.end is not None
    period = period_text(req)
    days = [req.start + timedelta(days=i) for i in range((req.end - req.start).days + 1)]
    summary_ws = book.tab("По дням")  # first tab; written once the postings are counted
    late_sheet = book.sheet("Просроченные", LATE_COLS, print_title=f"Просроченные отправления {period}", tz=req.tz)
    per_day = {d: _Day() for d in days}
    count, late = _count(req, entries, per_day, late_sheet)
    late_sheet.filter_table()
    late_sheet.blank()
    late_sheet.note("Просрочено: отгружено (покинуло «Ожидает сборки») позже «Собрать до», или всё ещё не собрано "
                    "после него. Время отгрузки — первая синхронизация, увидевшая новый статус.")
    late_sheet.note(made_text(req))
    summary, shown = _summary(book, summary_ws, req, per_day, count)
    _charts(book, summary, len(shown), days=len(days), most=max((d.due for d in per_day.values()), default=0))
    return Result(Path(), count, late, [f"{count} postings due {period}, {late} late"])


def _count(req: Request, entries: Iterable[Entry], per_day: dict[date, _Day], late_sheet: Sheet) -> tuple[int, int]:
    """Count each posting into its due day, listing the late ones on ``late_sheet``; returns (postings, late)."""
    labels = [lab.label for lab in req.statuses.labels]
    count = late = 0
    for e in entries:
        p = e.posting
        assert p.shipment_date is not None
        day = per_day.get(p.shipment_date.astimezone(req.tz).date())
        if day is None:
            continue
        punct = punctuality(e, req.now)
        label = req.statuses.label_for(p)
        count += 1
        day.due += 1
        day.statuses[label if label in labels else OTHER] += 1
        day.punct[punct] += 1
        day.units += p.total_quantity
        day.total += p.total_price
        if punct.late:
            late += 1
            hours = ((e.shipped_at or req.now) - p.shipment_date).total_seconds() / 3600
            late_sheet.row([p.posting_number, p.order_number, p.shipment_date, shipped_time(e), round(hours, 1),
                            PUNCTUALITY_TEXT[punct], label, p.warehouse, p.delivery_method, products_text(p),
                            p.total_price])
    return count, late


def _punct_cells(c: Counter[Punctuality]) -> list[int]:
    return [c[Punctuality.ON_TIME], c[Punctuality.LATE] + c[Punctuality.OVERDUE], c[Punctuality.PENDING],
            c[Punctuality.UNKNOWN]]


def _summary(book: Book, ws: Any, req: Request, per_day: dict[date, _Day], count: int) -> tuple[Sheet, list[str]]:
    """The per-day table with its totals row; returns it and the status columns shown (those anyone is in)."""
    labels = [lab.label for lab in req.statuses.labels]
    totals: Counter[str] = Counter()
    for counted in per_day.values():
        totals.update(counted.statuses)
    shown = [lab for lab in [*labels, OTHER] if totals[lab]] or labels[:1]
    cols = [Col("Дата", 12, "date"), Col("Отправлений", 8, "int"), *(Col(lab, 8, "int") for lab in shown),
            Col("В срок", 8, "int"), Col("Просрочено", 8, "int"), Col("Ждёт сборки", 8, "int"),
            Col("Не измерено", 8, "int"), Col("Товаров, шт", 8, "int"), Col("Сумма", 15, "rub")]
    sheet = book.sheet(ws, cols, print_title=f"Отгрузки по дням {period_text(req)}", tz=req.tz, grid=False,
                       repeat_header=len(per_day) > ONE_PAGE_OF_DAYS)
    all_punct: Counter[Punctuality] = Counter()
    for d, row in per_day.items():
        all_punct.update(row.punct)
        sheet.row([d, row.due, *(row.statuses[lab] for lab in shown), *_punct_cells(row.punct), row.units, row.total])
    sheet.filter_table()
    sheet.total(["Итого", count, *(totals[lab] for lab in shown), *_punct_cells(all_punct),
                 sum(x.units for x in per_day.values()), sum((x.total for x in per_day.values()), Decimal(0))])
    sheet.blank()
    sheet.note("Отправления по дню «Собрать до»; статусы — текущие. «Просрочено» — см. лист «Просроченные».")
    sheet.note(made_text(req))
    return sheet, shown


ONE_PAGE_OF_DAYS = 28  # day rows that print on one A4 landscape page with the header, totals and notes
CHART_HEIGHT = 290  # px: two charts and the gap between them fit one A4 landscape page at any fit-to-width scale


def tick(most: int) -> int:
    """The step of a count axis up to ``most``: 1, 2, 5, 10, 20, 50… — at most 8 steps, and whole postings
    (never the spreadsheet's own 0.5)."""
    step, k = 1, 0
    while most > 8 * step:
        k += 1
        step = (1, 2, 5)[k % 3] * 10 ** (k // 3)
    return step


def _charts(book: Book, sheet: Sheet, statuses: int, days: int, most: int) -> None:
    """Two stacked column charts below the table, on a page of their own (a page break before them, so neither
    is cut in two): postings per day by status, and on time against late; the counts on whole steps."""
    name = sheet.ws.get_name()
    first_row, last_row = 1, days  # the day rows (0-based, after the header)
    cats = [name, first_row, 0, last_row, 0]
    width = min(900, int(sum(sheet.widths) * 7 + 5 * len(sheet.widths)))  # no wider than the table's columns
    anchor = sheet.rows + 1
    sheet.ws.set_h_pagebreaks([anchor])
    series: tuple[list[tuple[int, str | None]], ...] = (
        [(3 + i, None) for i in range(statuses)], [(3 + statuses, "#70AD47"), (4 + statuses, "#C00000")])
    titles = "Отправления по дням и статусам", "В срок и с опозданием"
    font = {"name": FONT["font_name"]}
    for n, (title, columns) in enumerate(zip(titles, series, strict=True)):
        chart = book.wb.add_chart({"type": "column", "subtype": "stacked"})
        for col, colour in columns:
            spec: dict[str, Any] = {"name": [name, 0, col - 1], "categories": cats,
                                    "values": [name, first_row, col - 1, last_row, col - 1], "gap": 60}
            if colour:
                spec["fill"] = {"color": colour}
                spec["border"] = {"color": colour}
            chart.add_series(spec)
        chart.set_title({"name": title, "name_font": {**font, "size": 12, "bold": True}})
        chart.set_x_axis({"num_format": "DD.MM", "num_font": {**font, "size": 9}})
        chart.set_y_axis({"name": "Отправлений", "name_font": {**font, "size": 9, "bold": False},
                          "min": 0, "major_unit": tick(most), "num_format": "0",
                          "num_font": {**font, "size": 9}, "major_gridlines": {"visible": True,
                                                                               "line": {"color": "#D9D9D9"}}})
        chart.set_legend({"position": "right", "font": {**font, "size": 9}})
        chart.set_size({"width": width, "height": CHART_HEIGHT})
        sheet.ws.insert_chart(anchor + 1 + n * (CHART_HEIGHT // 17 + 2), 0, chart, {"object_position": 1})
