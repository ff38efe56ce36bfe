"""`ozon-sync export`: the three Excel reports, built from a real SQLite state store (or the Ozon emulator with
--live), written by the CLI, read back with openpyxl, and opened by LibreOffice to prove real spreadsheet
software reads them.

The state store is filled through StateStore.upsert_posting at chosen times, so every status change has the
time the report measures "late" from. Period: 10–12 January 2026 in Europe/Moscow (UTC+3).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.chart import BarChart

from sync.cli import main
from sync.emulators.ozon import OzonEmulator
from sync.engine.state import StateStore
from sync.mapping import load_statuses
from sync.model import Posting, Product, posting_to_dict
from sync.reports import Entry, Punctuality, Request, punctuality, write_report
from tests.conftest import write_config
from tests.office import convert

MSK = ZoneInfo("Europe/Moscow")
BUYER = ("Пётр Покупателев", "+79990001122", "г. Тверь, ул. Ленина, д. 7")
KETTLE = Product(1001, "KET-17", "Чайник электрический 1,7 л", 1, Decimal("1500.00"))
MUG = Product(1002, "MUG-350", "Кружка керамическая 350 мл", 1, Decimal("300.00"))
FORMULA = Product(1003, "F1-SET", "=Формула-1 набор", 1, Decimal("999.50"))


def msk(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


def qty(product: Product, n: int) -> Product:
    return Product(product.sku, product.offer_id, product.name, n, product.price)


def put(store: StateStore, number: str, accepted: datetime, due: datetime, changes: list[tuple[str, datetime]],
        products: tuple[Product, ...] = (KETTLE,), rfbs: bool = False, warehouse: str = "Склад Софьино",
        delivery: str = "Ozon Логистика") -> None:
    """A posting as the daemon would have recorded it: one upsert per observed status, at its time."""
    for status, at in changes:
        p = Posting(number, status, order_number=number.rsplit("-", 1)[0], in_process_at=accepted,
                    shipment_date=due, products=products, warehouse=warehouse,
                    delivery_method=delivery, tpl_integration_type="non_integrated" if rfbs else "ozon",
                    customer_name=BUYER[0] if rfbs else "", customer_phone=BUYER[1] if rfbs else "",
                    customer_address=BUYER[2] if rfbs else "")
        store.upsert_posting("main", number, status, "", posting_to_dict(p), at)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A config and a state store holding postings A–G (see the module docstring for the period)."""
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    store = StateStore(tmp_path / "state.sqlite")
    now = datetime.now(UTC)
    # A: shipped before its deadline, then delivered: on time
    put(store, "100-1-1", msk(10, 9), msk(11, 12), [("awaiting_packaging", msk(10, 9, 5)),
                                                    ("awaiting_deliver", msk(11, 11)), ("delivered", msk(12, 15))],
        (qty(KETTLE, 2),))
    # B: shipped six hours after its deadline: late; an rFBS posting whose buyer data must stay out
    put(store, "100-2-1", msk(10, 12), msk(11, 12), [("awaiting_packaging", msk(10, 12, 1)),
                                                     ("awaiting_deliver", msk(11, 18))], (FORMULA,), rfbs=True)
    # C: accepted 01:30 local on the 12th (the 11th in UTC), still not packed: overdue
    put(store, "100-3-1", msk(12, 1, 30), msk(12, 23), [("awaiting_packaging", msk(12, 1, 31))],
        (KETTLE, qty(MUG, 2)))
    # D: accepted on the 9th, due on the 10th, cancelled: neither on time nor late
    put(store, "100-4-1", msk(9, 23), msk(10, 12), [("awaiting_packaging", msk(9, 23, 1)),
                                                    ("cancelled", msk(10, 8))])
    # E: accepted 00:30 local on the 13th (the 12th in UTC): outside the period; still to pack
    put(store, "100-5-1", msk(13, 0, 30), msk(14, 12), [("awaiting_packaging", msk(13, 0, 31))], (qty(KETTLE, 3),))
    # F: first seen already delivered, after its deadline: not measured
    put(store, "100-6-1", msk(10, 10), msk(11, 12), [("delivered", msk(12, 13))])
    # G: to pack, due in three days: pending
    put(store, "100-7-1", now - timedelta(hours=1), now + timedelta(days=3), [("awaiting_packaging", now)], (MUG,))
    cycle = store.start_cycle(now)
    store.finish_cycle(cycle, now, "pulled 7 postings")
    store.close()
    return cfg


def export(capsys: pytest.CaptureFixture[str], cfg: Path, *argv: str) -> tuple[int, str]:
    code = main(["--config", str(cfg), "export", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def values(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def every_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)


PERIOD = ("--from", "2026-01-10", "--to", "2026-01-12")


# --- late, by definition ------------------------------------------------------------------------------------

DUE = datetime(2026, 1, 11, 9, tzinfo=UTC)


@pytest.mark.parametrize(("status", "first_seen", "shipped", "now", "expected"), [
    ("delivered", DUE - timedelta(days=1), DUE - timedelta(hours=1), DUE, Punctuality.ON_TIME),
    ("delivered", DUE - timedelta(days=1), DUE, DUE, Punctuality.ON_TIME),  # at the deadline is in time
    ("awaiting_deliver", DUE - timedelta(days=1), DUE + timedelta(minutes=1), DUE, Punctuality.LATE),
    ("awaiting_packaging", DUE - timedelta(days=1), None, DUE + timedelta(seconds=1), Punctuality.OVERDUE),
    ("awaiting_packaging", DUE - timedelta(days=1), None, DUE, Punctuality.PENDING),
    ("delivered", DUE - timedelta(hours=2), DUE - timedelta(hours=2), DUE, Punctuality.ON_TIME),  # first sight
    ("delivered", DUE + timedelta(hours=2), DUE + timedelta(hours=2), DUE, Punctuality.UNKNOWN),  # first sight
    ("cancelled", DUE - timedelta(days=1), None, DUE + timedelta(days=1), Punctuality.NONE),
    ("cancelled", DUE - timedelta(days=1), DUE + timedelta(hours=1), DUE, Punctuality.LATE),  # shipped, then
    ("delivering", None, None, DUE, Punctuality.UNKNOWN),  # --live: Ozon does not date the shipping
])
def test_late_is_measured_from_the_observed_status_changes(status: str, first_seen: datetime | None,
                                                            shipped: datetime | None, now: datetime,
                                                            expected: Punctuality) -> None:
    entry = Entry(Posting("1-1-1", status, shipment_date=DUE), first_seen, shipped)
    assert punctuality(entry, now) is expected
    assert punctuality(Entry(Posting("1-1-1", status), first_seen, shipped), now) is Punctuality.NONE


# --- orders ---------------------------------------------------------------------------------------------------


def test_orders_holds_the_period_in_local_days_with_formats_filter_and_print_setup(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = shop.parent / "orders.xlsx"
    code, out = export(capsys, shop, "--report", "orders", *PERIOD, "-o", str(out_file))
    assert code == 0, out
    assert "4 postings accepted 10.01.2026–12.01.2026, 2 late" in out and str(out_file) in out
    ws = openpyxl.load_workbook(out_file)["Заказы"]
    rows = values(ws)
    header = rows[0]
    col = {h: i for i, h in enumerate(header)}
    data = rows[1:5]
    assert [r[0] for r in data] == ["100-1-1", "100-6-1", "100-2-1", "100-3-1"]  # by acceptance time, local days
    by_number = {r[0]: r for r in data}
    assert by_number["100-1-1"][col["Срок"]] == "В срок"
    assert by_number["100-2-1"][col["Срок"]] == "Отгружено с опозданием"
    assert by_number["100-3-1"][col["Срок"]] == "Не собрано в срок"
    assert by_number["100-6-1"][col["Срок"]] == "Не измерено"
    assert by_number["100-1-1"][col["Статус"]] == "Доставлено"
    assert by_number["100-1-1"][col["Принят"]] == datetime(2026, 1, 10, 9, 0)  # local time, as Excel shows it
    assert by_number["100-1-1"][col["Отгружено"]] == datetime(2026, 1, 11, 11, 0)
    assert by_number["100-2-1"][col["Товары"]] == "=Формула-1 набор × 1"  # text, not a formula
    assert by_number["100-3-1"][col["Кол-во"]] == 3 and by_number["100-3-1"][col["Сумма"]] == 2100
    totals = rows[5]
    assert totals[0] == "Итого: 4" and totals[col["Срок"]] == "Просрочено: 2"
    assert totals[col["Кол-во"]] == 2 + 1 + 3 + 1 and totals[col["Сумма"]] == pytest.approx(3000 + 999.5 + 2100 + 1500)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:P{1 + 4}"
    assert ws.cell(2, col["Сумма"] + 1).number_format == '#,##0.00 "₽"'
    assert ws.cell(2, col["Принят"] + 1).number_format == "DD.MM.YYYY HH:MM"
    assert ws.cell(1, 1).font.b
    late_row = 2 + [r[0] for r in data].index("100-2-1")
    assert ws.cell(late_row, 1).font.color.rgb.endswith("C00000")  # late rows in red
    assert ws.cell(late_row, col["Сумма"] + 1).number_format == '#,##0.00 "₽"'
    assert "C00000" not in str(getattr(ws.cell(2, 1).font.color, "rgb", ""))  # an on-time row is not
    assert by_number["100-6-1"][col["Отгружено"]] is None  # first seen delivered: when it shipped is not known
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth in (None, 1)  # 1: the default
    assert ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$1:$1"
    assert "хранилище состояния" in str(rows[-1][0])
    text = every_text(out_file)
    assert not any(part in text for part in BUYER)


# --- daily ----------------------------------------------------------------------------------------------------


def test_daily_counts_each_due_day_charts_it_and_lists_the_late_postings(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = shop.parent / "daily.xlsx"
    code, out = export(capsys, shop, "--report", "daily", *PERIOD, "-o", str(out_file))
    assert code == 0, out
    assert "5 postings due 10.01.2026–12.01.2026, 2 late" in out
    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == ["По дням", "Просроченные"]
    ws = wb["По дням"]
    rows = values(ws)
    col = {h: i for i, h in enumerate(rows[0])}
    days = {r[0]: r for r in rows[1:4]}
    assert list(days) == [datetime(2026, 1, d) for d in (10, 11, 12)]
    d10, d11, d12 = days.values()
    assert (d10[col["Отправлений"]], d10[col["Отменено"]], d10[col["В срок"]], d10[col["Просрочено"]]) == (1, 1, 0, 0)
    assert (d11[col["Отправлений"]], d11[col["В срок"]], d11[col["Просрочено"]]) == (3, 1, 1)
    assert d11[col["Не измерено"]] == 1
    assert d11[col["Доставлено"]] == 2 and d11[col["Ожидает отгрузки"]] == 1
    assert (d12[col["Отправлений"]], d12[col["Просрочено"]], d12[col["Ожидает сборки"]]) == (1, 1, 1)
    assert rows[4][0] == "Итого" and rows[4][col["Отправлений"]] == 5 and rows[4][col["Просрочено"]] == 2
    assert "Спор" not in col  # statuses nobody is in are left out
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:" + ws.auto_filter.ref.split(":")[1]
    assert ws.cell(2, 1).number_format == "DD.MM.YYYY" and ws.cell(2, col["Сумма"] + 1).number_format.endswith('"₽"')
    charts = ws._charts
    assert len(charts) == 2 and all(isinstance(c, BarChart) and c.grouping == "stacked" for c in charts)
    status_chart, late_chart = charts
    assert len(status_chart.series) == len([h for h in rows[0][2:] if h in ("Ожидает сборки", "Ожидает отгрузки",
                                                                              "Доставлено", "Отменено")])
    assert len(late_chart.series) == 2
    assert "$A$2:$A$4" in late_chart.series[0].cat.numRef.f  # categories: the three days
    assert late_chart.y_axis.majorUnit == 1 and late_chart.y_axis.scaling.min == 0  # whole postings
    assert ws.print_title_rows is None  # three days fit a page: no empty header band over the charts' page
    late = values(wb["Просроченные"])
    lcol = {h: i for i, h in enumerate(late[0])}
    assert [r[0] for r in late[1:3]] == ["100-2-1", "100-3-1"]
    assert late[1][lcol["Опоздание, ч"]] == 6.0 and late[1][lcol["Отгружено"]] == datetime(2026, 1, 11, 18, 0)
    assert late[2][lcol["Отгружено"]] is None and late[2][lcol["Срок"]] == "Не собрано в срок"
    assert not any(late[3])  # the list ends after the two late postings
    assert not any(part in every_text(out_file) for part in BUYER)


# --- picklist -------------------------------------------------------------------------------------------------


def test_picklist_groups_units_by_product_up_to_the_cutoff(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = shop.parent / "pick.xlsx"
    later = (datetime.now(MSK) + timedelta(days=5)).date().isoformat()
    code, out = export(capsys, shop, "--report", "picklist", "--cutoff", later, "-o", str(out_file))
    assert code == 0, out
    assert "3 postings to pack" in out and "in Склад Софьино: 7 units of 2 products, 2 late" in out
    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == ["Склад Софьино", "Отправления"]  # the warehouse's list first, named after it
    rows = values(wb["Склад Софьино"])
    assert rows[0] == ("Артикул", "SKU", "Товар", "Количество", "Отправлений", "Сумма")
    assert rows[1][:5] == ("KET-17", "1001", "Чайник электрический 1,7 л", 4, 2)
    assert rows[2][:5] == ("MUG-350", "1002", "Кружка керамическая 350 мл", 3, 2)
    assert rows[1][5] == 6000 and rows[2][5] == 900
    assert rows[3][0] == "Итого товаров: 2" and rows[3][3:] == (7, 3, 6900)
    lines = values(wb["Отправления"])
    assert [(r[1], r[4], r[6]) for r in lines[1:5]] == [
        ("100-3-1", "KET-17", 1), ("100-3-1", "MUG-350", 2), ("100-5-1", "KET-17", 3), ("100-7-1", "MUG-350", 1)]
    assert wb["Отправления"].freeze_panes == "A2"

    # the default cutoff is the end of today: G (due in three days) is not picked yet
    code, out = export(capsys, shop, "--report", "picklist", "-o", str(out_file))
    assert code == 0 and "2 postings to pack" in out
    # an earlier cutoff, as a local time
    code, out = export(capsys, shop, "--report", "picklist", "--cutoff", "2026-01-12 23:00", "-o", str(out_file))
    assert code == 0 and "1 postings to pack by 12.01.2026 23:00" in out


@pytest.fixture
def two_warehouses(shop: Path) -> Path:
    """The shop, and H: a posting to pack at a second warehouse, of a kettle and a towel."""
    store = StateStore(shop.parent / "state.sqlite")
    towel = Product(1004, "TWL-70", "Полотенце махровое 70×140", 2, Decimal("450.00"))
    put(store, "100-8-1", msk(11, 8), msk(12, 12), [("awaiting_packaging", msk(11, 8, 1))], (KETTLE, towel),
        warehouse="Свой склад, Москва", delivery="Курьер продавца")
    store.close()
    return shop


def test_picklist_gives_each_warehouse_its_own_sheet(two_warehouses: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = two_warehouses.parent / "pick.xlsx"
    later = (datetime.now(MSK) + timedelta(days=5)).date().isoformat()
    code, out = export(capsys, two_warehouses, "--report", "picklist", "--cutoff", later, "-o", str(out_file))
    assert code == 0, out
    assert "4 postings to pack" in out and "in 2 warehouses: 10 units of 4 products, 3 late" in out
    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == ["Свой склад, Москва", "Склад Софьино", "Отправления"]
    moscow = values(wb["Свой склад, Москва"])
    assert [r[:5] for r in moscow[1:3]] == [("KET-17", "1001", "Чайник электрический 1,7 л", 1, 1),
                                            ("TWL-70", "1004", "Полотенце махровое 70×140", 2, 1)]
    assert moscow[3][0] == "Итого товаров: 2" and moscow[3][3:] == (3, 1, 2400)
    assert any("Склад: Свой склад, Москва" in str(r[0]) for r in moscow[4:])
    sofyino = values(wb["Склад Софьино"])
    assert sofyino[1][:5] == ("KET-17", "1001", "Чайник электрический 1,7 л", 4, 2)  # its own units only
    assert sofyino[3][3:] == (7, 3, 6900)
    lines = values(wb["Отправления"])
    assert {r[2] for r in lines[1:6]} == {"Склад Софьино", "Свой склад, Москва"}

    # one warehouse: its sheet and its postings only; the name in any case, spaces around it
    code, out = export(capsys, two_warehouses, "--report", "picklist", "--cutoff", later,
                       "--warehouse", "  свой СКЛАД, москва ", "-o", str(out_file))
    assert code == 0, out
    assert "1 postings to pack" in out and "in Свой склад, Москва: 3 units of 2 products, 1 late" in out
    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == ["Свой склад, Москва", "Отправления"]
    assert [r[1] for r in values(wb["Отправления"])[1:3]] == ["100-8-1", "100-8-1"]


@pytest.mark.parametrize(("argv", "words"), [
    (["--report", "picklist", "--warehouse", "Казань"],
     "--warehouse 'Казань' has no postings to pack by 12.01.2026 23:59; warehouses that have some: "
     "«Свой склад, Москва», «Склад Софьино»"),
    (["--report", "picklist", "--warehouse", " "], "--warehouse is empty"),
    (["--report", "orders", "--warehouse", "Склад Софьино"], "--warehouse applies to the picklist only"),
])
def test_a_warehouse_the_picklist_cannot_use_is_named_with_those_it_can(
        two_warehouses: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    out_file = two_warehouses.parent / "pick.xlsx"
    cutoff = ["--cutoff", "2026-01-12"] if "picklist" in argv else []
    code, out = export(capsys, two_warehouses, *argv, *cutoff, "-o", str(out_file))
    assert code == 2 and words in out, out
    assert not out_file.exists()


# --- live and from the engine ---------------------------------------------------------------------------------


def test_live_and_state_exports_agree_on_what_the_engine_pulled(tmp_path: Path, emulator: OzonEmulator,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    numbers = [emulator.add_posting(age=timedelta(hours=h)) for h in (1, 2, 30)]
    rfbs = emulator.add_posting(scheme="rFBS", age=timedelta(hours=3))  # has a buyer in Ozon's answer
    emulator.set_state(numbers[0], "awaiting_deliver")
    cfg = write_config(tmp_path, emulator.base_url)
    assert main(["--config", str(cfg), "pull"]) == 0
    capsys.readouterr()
    today = datetime.now(MSK).date()
    period = ("--from", (today - timedelta(days=3)).isoformat(), "--to", today.isoformat())
    for live in ((), ("--live",)):
        out_file = tmp_path / f"orders{len(live)}.xlsx"
        code, out = export(capsys, cfg, "--report", "orders", *period, "-o", str(out_file), *live)
        assert code == 0, out
        assert "4 postings accepted" in out
        rows = values(openpyxl.load_workbook(out_file).active)
        assert {r[0] for r in rows[1:5]} == {*numbers, rfbs}
        assert rows[5][0] == "Итого: 4"
        assert ("Ozon (--live)" in str(rows[-1][0])) == bool(live)
        buyer = emulator.posting(rfbs)["customer"]
        assert buyer["name"] not in every_text(out_file) and buyer["phone"] not in every_text(out_file)
    assert any(e for e in emulator.request_counts if "fbs/list" in e)
    # daily: due (Собрать до = accepted + 1 day) within the period, from either source
    period = ("--from", (today - timedelta(days=1)).isoformat(), "--to", (today + timedelta(days=1)).isoformat())
    outs = []
    for live in ((), ("--live",)):
        code, out = export(capsys, cfg, "--report", "daily", *period, "-o", str(tmp_path / "d.xlsx"), *live)
        assert code == 0, out
        outs.append(out.splitlines()[0])
        rows = values(openpyxl.load_workbook(tmp_path / "d.xlsx")["По дням"])
        assert rows[4][0] == "Итого" and rows[4][1] == 4
    assert outs[0] == outs[1] and "4 postings due" in outs[0]


def test_live_picklist_asks_ozon_for_postings_to_pack(tmp_path: Path, emulator: OzonEmulator,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    to_pack = emulator.add_posting(products=[("Чайник электрический 1,7 л", "KET-17", 2, "1500.00")],
                                   age=timedelta(days=2))  # due yesterday
    shipped = emulator.add_posting(products=[("Кружка", "MUG-350", 1, "300.00")], age=timedelta(days=2))
    emulator.set_state(shipped, "awaiting_deliver")
    cfg = write_config(tmp_path, emulator.base_url)
    out_file = tmp_path / "pick.xlsx"
    code, out = export(capsys, cfg, "--report", "picklist", "--live", "-o", str(out_file))
    assert code == 0, out
    assert "1 postings to pack" in out and "2 units of 1 products, 1 late" in out
    lines = values(openpyxl.load_workbook(out_file)["Отправления"])
    assert lines[1][1] == to_pack and lines[1][7] == "Не собрано в срок"


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "code", "words"), [
    (["--report", "orders", "--from", "2026-13-01", "-o", "r.xlsx"], 2, "--from '2026-13-01' is not a date"),
    (["--report", "orders", "--from", "2026-01-12", "--to", "2026-01-10", "-o", "r.xlsx"], 2, "swap them"),
    (["--report", "picklist", "--from", "2026-01-12", "-o", "r.xlsx"], 2, "takes --cutoff"),
    (["--report", "daily", "--cutoff", "2026-01-12", "-o", "r.xlsx"], 2, "picklist only"),
    (["--report", "picklist", "--cutoff", "tomorrow", "-o", "r.xlsx"], 2, "--cutoff 'tomorrow' is not a date"),
    (["--report", "orders", "-o", "no/such/folder/r.xlsx"], 2, "does not exist"),
    (["--report", "orders", "-o", "r.csv"], 2, "ending in .xlsx"),
    (["--report", "orders", "-o", "."], 2, "ending in .xlsx"),
])
def test_bad_input_is_named_with_its_fix(shop: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         code: int, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(shop.parent)
    got, out = export(capsys, shop, *argv)
    assert got == code and words in out, out
    assert not (shop.parent / "r.xlsx").exists()


def test_an_unknown_report_is_a_usage_error(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--config", str(shop), "export", "--report", "sales", "-o", "r.xlsx"])
    assert stop.value.code == 2 and "invalid choice: 'sales'" in capsys.readouterr().err


def test_no_state_yet_says_to_pull_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    code, out = export(capsys, cfg, "--report", "orders", "-o", str(tmp_path / "r.xlsx"))
    assert code == 1 and "no state store" in out and "ozon-sync pull" in out and "--live" in out
    assert not (tmp_path / "state.sqlite").exists()  # looking did not create one
    StateStore(tmp_path / "state.sqlite").close()
    code, out = export(capsys, cfg, "--report", "orders", "-o", str(tmp_path / "r.xlsx"))
    assert code == 1 and "holds no sync yet" in out


@pytest.mark.parametrize("report", ["orders", "daily"])
def test_a_failed_export_leaves_the_old_report_in_place(tmp_path: Path, report: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    scratch = tmp_path / "scratch"  # where xlsxwriter keeps each sheet's rows until the workbook is closed
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    statuses = load_statuses()
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"the previous report")
    req = Request(report, MSK, datetime.now(UTC), statuses, date(2026, 1, 10), date(2026, 1, 12))

    def broken() -> Any:
        yield Entry(Posting("1-1-1", "awaiting_packaging", in_process_at=msk(10, 9), shipment_date=msk(11, 9)))
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_report(req, broken(), target)
    assert target.read_bytes() == b"the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx", "scratch"]  # no temporary workbook left
    assert list(scratch.iterdir()) == []  # nor xlsxwriter's temporary sheet files
    write_report(req, iter([]), target)  # and the same export, not failing, does write
    assert openpyxl.load_workbook(target).sheetnames[0] in ("Заказы", "По дням")


# --- real spreadsheet software -----------------------------------------------------------------------------------


def test_libreoffice_opens_every_report(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    later = (datetime.now(MSK) + timedelta(days=5)).date().isoformat()
    books = []
    for report, extra in (("orders", PERIOD), ("daily", PERIOD), ("picklist", ("--cutoff", later))):
        path = tmp_path / f"{report}.xlsx"
        assert export(capsys, shop, "--report", report, *extra, "-o", str(path))[0] == 0
        books.append(path)
    outdir = tmp_path / "pdf"
    convert(books, "pdf", outdir, profile=tmp_path / "lo-profile")
    pdftotext = shutil.which("pdftotext")
    for book in books:
        pdf = outdir / f"{book.stem}.pdf"
        assert pdf.stat().st_size > 2000, book.name
        assert pdf.read_bytes().startswith(b"%PDF")
        if pdftotext:
            text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
            assert "Итого" in text, book.name
