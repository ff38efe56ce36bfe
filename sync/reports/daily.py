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

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference

from sync.reports.request import Request, Result
from sync.reports.rules import PUNCTUALITY_TEXT, Entry, Punctuality, punctuality
from sync.reports.workbook import Col, Sheet, made_text, period_text, products_text

LATE_COLS = [
    Col("Отправление", 20), Col("Заказ", 17), Col("Собрать до", 16, "datetime"), Col("Отгружено", 16, "datetime"),
    Col("Опоздание, ч", 12, "hours"), Col("Срок", 20), Col("Статус", 18), Col("Склад", 20),
    Col("Способ доставки", 24), Col("Товары", 44), Col("Сумма", 14, "rub"),
]
OTHER = "Другие"  # the column for statuses the status map has no label for


@dataclass
class _Day:
    due: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    punct: Counter[Punctuality] = field(default_factory=Counter)
    units: int = 0
    total: Decimal = Decimal(0)


def build_daily(wb: Workbook, req: Request, entries: Iterable[Entry]) -> Result:
    assert req.start is not None and req.end is not None
    period = period_text(req)
    days = [req.start + timedelta(days=i) for i in range((req.end - req.start).days + 1)]
    summary_ws = wb.create_sheet("По дням")  # first tab; written once the postings are counted
    late_sheet = Sheet(wb.create_sheet("Просроченные"), LATE_COLS,
                       print_title=f"Просроченные отправления {period}", tz=req.tz)
    per_day = {d: _Day() for d in days}
    count, late = _count(req, entries, per_day, late_sheet)
    late_sheet.filter_table()
    late_sheet.blank()
    late_sheet.note("Просрочено: отгружено (покинуло «Ожидает сборки») позже «Собрать до», или всё ещё не собрано "
                    "после него. Время отгрузки — первая синхронизация, увидевшая новый статус.")
    late_sheet.note(made_text(req))
    shown = _summary(summary_ws, req, per_day, count)
    _charts(summary_ws, len(shown), last_day_row=1 + len(days))
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
            late_sheet.row([p.posting_number, p.order_number, p.shipment_date, e.shipped_at, round(hours, 1),
                            PUNCTUALITY_TEXT[punct], label, p.warehouse, p.delivery_method, products_text(p),
                            p.total_price])
    return count, late


def _punct_cells(c: Counter[Punctuality]) -> list[int]:
    return [c[Punctuality.ON_TIME], c[Punctuality.LATE] + c[Punctuality.OVERDUE], c[Punctuality.PENDING],
            c[Punctuality.UNKNOWN]]


def _summary(ws: Any, req: Request, per_day: dict[date, _Day], count: int) -> list[str]:
    """The per-day table with its totals row; returns the status columns shown (those anyone is in)."""
    labels = [lab.label for lab in req.statuses.labels]
    totals: Counter[str] = Counter()
    for counted in per_day.values():
        totals.update(counted.statuses)
    shown = [lab for lab in [*labels, OTHER] if totals[lab]] or labels[:1]
    cols = [Col("Дата", 12, "date"), Col("Отправлений", 12, "int"), *(Col(lab, 12, "int") for lab in shown),
            Col("В срок", 10, "int"), Col("Просрочено", 11, "int"), Col("Ждёт сборки", 11, "int"),
            Col("Не измерено", 11, "int"), Col("Товаров, шт", 11, "int"), Col("Сумма", 15, "rub")]
    sheet = Sheet(ws, cols, print_title=f"Отгрузки по дням {period_text(req)}", tz=req.tz, grid=False)
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
    return shown


def _charts(ws: Any, statuses: int, last_day_row: int) -> None:
    """Two stacked bar charts below the table: postings per day by status, and on time against late."""
    status_chart = BarChart()
    status_chart.type, status_chart.grouping, status_chart.overlap = "col", "stacked", 100
    status_chart.title = "Отправления по дням и статусам"
    status_chart.add_data(Reference(ws, min_col=3, max_col=2 + statuses, min_row=1, max_row=last_day_row),
                          titles_from_data=True)
    late_chart = BarChart()
    late_chart.type, late_chart.grouping, late_chart.overlap = "col", "stacked", 100
    late_chart.title = "В срок и с опозданием"
    first = 3 + statuses
    late_chart.add_data(Reference(ws, min_col=first, max_col=first + 1, min_row=1, max_row=last_day_row),
                        titles_from_data=True)
    for series, colour in zip(late_chart.series, ("70AD47", "C00000"), strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    cats = Reference(ws, min_col=1, min_row=2, max_row=last_day_row)
    anchor_row = last_day_row + 6
    for chart, anchor in ((status_chart, f"A{anchor_row}"), (late_chart, f"A{anchor_row + 18}")):
        chart.set_categories(cats)
        chart.y_axis.title = "Отправлений"
        chart.x_axis.number_format = "DD.MM"
        chart.x_axis.delete = False  # openpyxl 3.1 hides axes unless told
        chart.y_axis.delete = False
        chart.width, chart.height = 24, 8.5
        ws.add_chart(chart, anchor)
