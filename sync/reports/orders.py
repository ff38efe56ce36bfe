"""The ``orders`` report: one row per posting accepted in the period (``in_process_at``), oldest first,
with totals. No buyer data."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.reports.request import Request, Result
from sync.reports.rules import PUNCTUALITY_TEXT, Entry, Punctuality, punctuality, shipped_time
from sync.reports.workbook import Book, Col, made_text, period_text, products_text

# Widths fit a posting number, a date and time, a sum in the hundred thousands; text columns wrap at spaces.
ORDER_COLS = [
    Col("Отправление", 19, "code"), Col("Заказ", 16, "code"), Col("Принят", 16, "datetime"),
    Col("Собрать до", 16, "datetime"),
    Col("Отгружено", 16, "datetime"), Col("Срок", 18), Col("Статус", 18), Col("Схема", 7),
    Col("Склад", 20), Col("Способ доставки", 26), Col("Товары", 44), Col("Артикулы", 16), Col("Кол-во", 8, "int"),
    Col("Сумма", 14, "rub"), Col("Трек-номер", 16, "code"), Col("Причина отмены", 24),
]


def order_values(e: Entry, punct: Punctuality, req: Request) -> list[Any]:
    """One row of the orders report, in ORDER_COLS order (no buyer data)."""
    p = e.posting
    return [p.posting_number, p.order_number, p.in_process_at, p.shipment_date, shipped_time(e),
            PUNCTUALITY_TEXT[punct], req.statuses.label_for(p), p.scheme.value, p.warehouse, p.delivery_method,
            products_text(p), ", ".join(x.offer_id for x in p.products), p.total_quantity, p.total_price,
            p.tracking_number, p.cancel_reason]


def build_orders(book: Book, req: Request, entries: Iterable[Entry]) -> Result:
    period = period_text(req)
    sheet = book.sheet("Заказы", ORDER_COLS, print_title=f"Заказы {period}", tz=req.tz)
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
    sheet.note(made_text(req))
    return Result(Path(), count, late, [f"{count} postings accepted {period}, {late} late"])
