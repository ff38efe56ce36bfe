"""The ``picklist`` report: postings in awaiting_packaging due (``shipment_date``) no later than the cutoff.

A picker works in one warehouse, so the units to pick per product are counted per warehouse: one sheet per
warehouse (its tab named after it), then a sheet of the postings line by line. ``--warehouse NAME`` keeps
only that warehouse's postings. The warehouses are known only once every posting is read, and their tabs come
first, so the lines are held until then (a picklist is one day's packing; the other reports stream)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sync.config.checks import EXCEL_SHEET_FORBIDDEN, EXCEL_TAB_MAX
from sync.errors import ConfigError
from sync.reports.request import Request, Result
from sync.reports.rules import PUNCTUALITY_TEXT, Entry, punctuality
from sync.reports.workbook import Book, Col, made_text

PICK_COLS = [Col("Артикул", 14), Col("SKU", 12, "code"), Col("Товар", 44), Col("Количество", 10, "int"),
             Col("Отправлений", 10, "int"), Col("Сумма", 15, "rub")]
PICK_POSTING_COLS = [Col("Собрать до", 16, "datetime"), Col("Отправление", 19, "code"), Col("Склад", 20),
                     Col("Способ доставки", 26), Col("Артикул", 14), Col("Товар", 44), Col("Кол-во", 8, "int"),
                     Col("Срок", 18)]
NO_WAREHOUSE = "Склад не указан"
POSTINGS_TAB = "Отправления"


@dataclass
class _Product:
    units: int = 0
    postings: set[str] = field(default_factory=set)
    total: Decimal = Decimal(0)


@dataclass
class _Warehouse:
    products: dict[tuple[str, int, str], _Product] = field(default_factory=dict)  # (offer, sku, name)
    postings: int = 0
    late: int = 0


def same_warehouse(a: str, b: str) -> bool:
    """``--warehouse`` matches a warehouse whatever its case and surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


def build_picklist(book: Book, req: Request, entries: Iterable[Entry]) -> Result:
    assert req.cutoff is not None
    cutoff = f"{req.cutoff.astimezone(req.tz):%d.%m.%Y %H:%M}"
    rows: list[tuple[list[object], bool]] = []
    stores: dict[str, _Warehouse] = {}
    elsewhere: set[str] = set()  # warehouses left out by --warehouse
    count = late = 0
    for e in entries:
        p = e.posting
        where = p.warehouse.strip() or NO_WAREHOUSE
        if req.warehouse is not None and not same_warehouse(where, req.warehouse):
            elsewhere.add(where)
            continue
        punct = punctuality(e, req.now)
        count += 1
        late += punct.late
        store = stores.setdefault(where, _Warehouse())
        store.postings += 1
        store.late += punct.late
        for x in p.products:
            rows.append(([p.shipment_date, p.posting_number, where, p.delivery_method, x.offer_id, x.name,
                          x.quantity, PUNCTUALITY_TEXT[punct]], punct.late))
            acc = store.products.setdefault((x.offer_id, x.sku, x.name), _Product())
            acc.units += x.quantity
            acc.postings.add(p.posting_number)
            acc.total += x.price * x.quantity
    if req.warehouse is not None and not stores:
        raise ConfigError(_no_such_warehouse(req.warehouse, elsewhere, cutoff))
    if not stores:
        stores[req.warehouse or NO_WAREHOUSE] = _Warehouse()  # an empty list still says there is nothing to pick
    tabs = tab_names(list(stores))
    units = products = 0
    for where in sorted(stores):
        units_here, kinds = _warehouse_sheet(book, tabs[where], where, stores[where], req, cutoff)
        units += units_here
        products += kinds
    lines = book.sheet(POSTINGS_TAB, PICK_POSTING_COLS, print_title=f"Отправления к сборке до {cutoff}", tz=req.tz)
    for values, is_late in rows:
        lines.row(values, late=is_late)
    lines.filter_table()
    lines.blank()
    lines.note(made_text(req))
    in_stores = f" in {len(stores)} warehouses" if len(stores) > 1 else f" in {next(iter(stores))}"
    return Result(Path(), count, late, [f"{count} postings to pack by {cutoff}{in_stores}: {units} units of "
                                        f"{products} products, {late} late"])


def _warehouse_sheet(book: Book, tab: str, where: str, store: _Warehouse, req: Request,
                     cutoff: str) -> tuple[int, int]:
    """One warehouse's units to pick per product, with totals; returns (units, products)."""
    sheet = book.sheet(tab, PICK_COLS, print_title=f"Лист сборки — {where}: «Собрать до» не позже {cutoff}",
                       tz=req.tz)
    units = 0
    total = Decimal(0)
    for (offer, sku, name), acc in sorted(store.products.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        sheet.row([offer, sku, name, acc.units, len(acc.postings), acc.total])
        units += acc.units
        total += acc.total
    sheet.filter_table()
    sheet.total([f"Итого товаров: {len(store.products)}", None, None, units, store.postings, total])
    sheet.blank()
    sheet.note(f"Склад: {where}. Отправления в статусе «Ожидает сборки» с «Собрать до» не позже {cutoff}; "
               f"из них не собрано в срок: {store.late}.")
    sheet.note(made_text(req))
    return units, len(store.products)


def tab_names(warehouses: list[str]) -> dict[str, str]:
    """A tab name per warehouse: Excel's rules (at most 31 characters, none of []:*?/\\, not the postings tab's
    name) and each one different."""
    taken = {POSTINGS_TAB.casefold()}
    out: dict[str, str] = {}
    for where in sorted(warehouses):
        base = "".join(" " if ch in EXCEL_SHEET_FORBIDDEN else ch for ch in where).strip(" '") or NO_WAREHOUSE
        name, n = base[:EXCEL_TAB_MAX], 1
        while name.casefold() in taken:
            n += 1
            name = f"{base[:EXCEL_TAB_MAX - len(str(n)) - 1]} {n}"
        taken.add(name.casefold())
        out[where] = name
    return out


def _no_such_warehouse(wanted: str, found: set[str], cutoff: str) -> str:
    if not found:
        return (f"--warehouse {wanted!r}: no postings wait for packaging by {cutoff} in any warehouse; "
                f"drop --warehouse or choose a later --cutoff")
    return (f"--warehouse {wanted!r} has no postings to pack by {cutoff}; warehouses that have some: "
            f"{', '.join(f'«{w}»' for w in sorted(found))}")
