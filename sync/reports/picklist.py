"""The ``picklist`` report: postings in awaiting_packaging due (``shipment_date``) no later than the cutoff.
First sheet: units to pick per product, with totals; second: the postings line by line."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from sync.reports.request import Request, Result
from sync.reports.rules import PUNCTUALITY_TEXT, Entry, punctuality
from sync.reports.workbook import Col, Sheet, made_text

PICK_COLS = [Col("Артикул", 18), Col("SKU", 14), Col("Товар", 48), Col("Количество", 12, "int"),
             Col("Отправлений", 12, "int"), Col("Сумма", 15, "rub")]
PICK_POSTING_COLS = [Col("Собрать до", 16, "datetime"), Col("Отправление", 20), Col("Склад", 20),
                     Col("Способ доставки", 24), Col("Артикул", 18), Col("Товар", 48), Col("Кол-во", 8, "int"),
                     Col("Срок", 18)]


def build_picklist(wb: Workbook, req: Request, entries: Iterable[Entry]) -> Result:
    assert req.cutoff is not None
    cutoff = f"{req.cutoff.astimezone(req.tz):%d.%m.%Y %H:%M}"
    products_ws = wb.create_sheet("Сборка")  # first tab; written once the postings are counted
    lines = Sheet(wb.create_sheet("Отправления"), PICK_POSTING_COLS,
                  print_title=f"Отправления к сборке до {cutoff}", tz=req.tz)
    per_product: dict[tuple[str, int, str], list[Any]] = {}  # (offer, sku, name) -> [units, postings, sum]
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
    lines.note(made_text(req))
    sheet = Sheet(products_ws, PICK_COLS, print_title=f"Лист сборки: «Собрать до» не позже {cutoff}", tz=req.tz)
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
    sheet.note(made_text(req))
    return Result(Path(), count, late,
                  [f"{count} postings to pack by {cutoff}: {units} units of {len(per_product)} products, {late} late"])
