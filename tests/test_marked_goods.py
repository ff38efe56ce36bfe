"""Marked goods from the sheet, end to end: the Ozon emulator over real HTTP, a real .xlsx (and the Google
Sheets emulator), a real state file. A person types «Ожидает отгрузки» and scans codes into «Маркировка»;
the ship waits, saying what is missing, until every code is there and Ozon accepts them, then goes once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.app import open_app
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.engine.cycle import Engine
from sync.engine.marks import GS
from sync.ozon.fbs_day import FbsDay
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.people import SHEET, ExcelPerson, GooglePerson
from tests.test_fbs_day_emulator import mark
from tests.test_loop import Crash, Loop

SHIP, SET = "/v4/posting/fbs/ship", "/v6/fbs/posting/product/exemplar/set"
ITEMS = ("items:\n  EAR-BT: {gtd: 10702070/011226/0012345}\n  UMB-01: {country: CN}\n"
         "  CHS-KG: {weight: '0,45'}\n")


@pytest.fixture
def emu() -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0,
                      exemplar_check_delay=0.0) as e:
        yield e


def _open(tmp_path: Path, emu: OzonEmulator, extra: str = ITEMS, backend: str | None = None) -> Any:
    app = open_app(load_config(write_config(tmp_path, emu.base_url, extra=extra, backend=backend)))
    app.ensure_sheet()
    return app


@pytest.fixture(params=["excel", "google"])
def loop(request: pytest.FixtureRequest, tmp_path: Path, emu: OzonEmulator) -> Iterator[Loop]:
    if request.param == "excel":
        app = _open(tmp_path, emu)
        lp = Loop(app, emu, ExcelPerson(app.config.spreadsheet.path, SHEET))
        yield lp
        lp.app.close()
        return
    with SheetsEmulator() as sheets:
        sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1"])
        backend = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                   f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        lp = Loop(_open(tmp_path, emu, backend=backend), emu, GooglePerson(sheets, sid))
        yield lp
        lp.app.close()


@pytest.fixture
def xl(tmp_path: Path, emu: OzonEmulator) -> Iterator[Loop]:
    app = _open(tmp_path, emu)
    lp = Loop(app, emu, ExcelPerson(app.config.spreadsheet.path, SHEET))
    yield lp
    lp.app.close()


def scanned(serial: str) -> str:
    """A code as it lands in a cell: a GS typed into Excel is stored as ``_x001D_`` (XML cannot hold it)."""
    return mark(serial).replace(GS, "_x001D_")


def shoes(lp: Loop, qty: int = 2) -> str:
    """Shoes (a marking code per pair) and a mug (nothing), awaiting packaging, on the sheet."""
    number = lp.add(products=[("Кроссовки беговые 42", "SHO-42", qty, "4990.00"),
                              ("Кружка керамическая 350 мл", "MUG-350", 1, "390.00")])
    lp.sync()
    return number


def paths(lp: Loop, number: str) -> list[str]:
    return [p for p in lp.accepted(number) if p in (SHIP, SET)]


def test_ship_waits_for_every_code_saying_what_is_missing_then_goes_once(loop: Loop) -> None:
    number = shoes(loop)
    loop.edit(number, status="Ожидает отгрузки")
    loop.sync(2)
    row = loop.row(number)
    assert "Нужно 2 кода маркировки для «Кроссовки беговые 42» (SHO-42), не введено ни одного" in row["sync_note"]
    assert row["status"] == "Ожидает отгрузки" and loop.accepted(number) == []
    loop.edit(number, marks=scanned("PAIR001"))  # one pair scanned
    loop.sync()
    assert "Нужно 2 кода маркировки для «Кроссовки беговые 42» (SHO-42), введён 1" in loop.row(number)["sync_note"]
    assert loop.accepted(number) == []
    # The second pair: its scanner typed the separator as a placeholder, on a new line.
    second = mark("PAIR002").replace(GS, "<GS>")
    loop.edit(number, marks=f"{scanned('PAIR001')}\n{second}")
    loop.sync(2)
    row = loop.row(number)
    assert paths(loop, number) == [SET, SHIP]
    assert loop.ozon.posting(number)["status"] == "awaiting_deliver"
    assert "Готово" in row["sync_note"] and row["status"] == "Ожидает отгрузки"
    assert "PAIR001" in row["marks"] and second in row["marks"]  # what the person typed is never rewritten
    assert not loop.app.state.open_entries()


def test_a_code_ozon_rejects_is_quoted_the_status_waits_and_a_corrected_code_ships(loop: Loop) -> None:
    number = shoes(loop)
    loop.ozon.reject_mark(mark("STOLEN1"))
    loop.edit(number, status="Ожидает отгрузки", marks=f"{scanned('GOOD001')} {scanned('STOLEN1')}")
    loop.sync(2)
    row = loop.row(number)
    assert "Ozon не принял код 010460123456789321STOLEN1 для «Кроссовки беговые 42»" in row["sync_note"]
    assert "не в обороте" in row["sync_note"] and "исправьте в «Маркировка»" in row["sync_note"]
    assert row["status"] == "Ожидает отгрузки" and loop.accepted(number) == []  # nothing shipped
    loop.edit(number, marks=f"{scanned('GOOD001')} {scanned('GOOD002')}")
    loop.sync(2)
    assert paths(loop, number) == [SET, SHIP] and "Готово" in loop.row(number)["sync_note"]


def test_too_many_codes_hold_and_a_code_on_a_posting_needing_none_is_said_and_left_out(xl: Loop) -> None:
    number = shoes(xl, qty=1)
    plain = xl.add(products=[("Кружка керамическая 350 мл", "MUG-350", 1, "390.00")])
    xl.sync()
    xl.edit(number, status="Ожидает отгрузки", marks=f"{scanned('A000001')};{scanned('A000002')}")
    xl.edit(plain, status="Ожидает отгрузки", marks=scanned("A000003"))
    xl.sync(2)
    note = xl.row(number)["sync_note"]
    assert "Лишние коды в «Маркировка» (1): 0104601234567893210000002" not in note  # the serial is quoted whole
    assert "Лишние коды в «Маркировка» (1): 010460123456789321A000002" in note and xl.accepted(number) == []
    assert xl.accepted(plain) == [SHIP]
    assert "маркировка не нужна" in xl.row(plain)["sync_note"]
    assert xl.row(plain)["marks"] == mark("A000003")


def test_item_data_from_the_config_country_gtd_weight(xl: Loop) -> None:
    umbrella = xl.add(products=[("Зонт складной", "UMB-01", 1, "990.00")])
    ear = xl.add(products=[("Наушники беспроводные", "EAR-BT", 1, "2990.00")])
    cheese = xl.add(products=[("Сыр весовой", "CHS-KG", 1, "690.00")])
    xl.sync()
    for n in (umbrella, ear, cheese):
        xl.edit(n, status="Ожидает отгрузки")
    xl.sync(2)
    assert "/v2/posting/fbs/product/country/set" in xl.accepted(umbrella)
    for n in (umbrella, ear, cheese):
        assert xl.accepted(n)[-1] == SHIP and "Готово" in xl.row(n)["sync_note"]


def test_item_data_missing_from_the_config_holds_naming_the_key(tmp_path: Path, emu: OzonEmulator) -> None:
    app = _open(tmp_path, emu, extra="")
    lp = Loop(app, emu, ExcelPerson(app.config.spreadsheet.path, SHEET))
    try:
        ear = lp.add(products=[("Наушники беспроводные", "EAR-BT", 1, "2990.00")])
        lp.sync()
        lp.edit(ear, status="Ожидает отгрузки")
        lp.sync(2)
        note = lp.row(ear)["sync_note"]
        assert "Ozon требует номер ГТД для «Наушники беспроводные» (EAR-BT)" in note
        assert "items → EAR-BT → gtd" in note and lp.accepted(ear) == []
    finally:
        lp.app.close()


class CrashingDay:
    """The real FBS-day client that dies just after one of its calls."""

    def __init__(self, inner: FbsDay, after: str):
        self.inner, self.after = inner, after

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name != self.after:
            return method

        def dying(*args: Any, **kw: Any) -> Any:
            method(*args, **kw)
            raise Crash

        return dying


@pytest.mark.parametrize("after", ["item_needs", "validate_marks", "set_exemplars", "exemplar_status"])
def test_exactly_once_across_a_crash_after_any_item_step(xl: Loop, after: str) -> None:
    number = shoes(xl, qty=2)
    xl.edit(number, status="Ожидает отгрузки", marks=f"{scanned('PAIR001')}\n{scanned('PAIR002')}")
    app = xl.app
    days = {acc: CrashingDay(FbsDay(client), after) for acc, client in app.ozons.items()}
    crashing = Engine(app.ozons, app.backend, app.state, app.columns, app.statuses, app.engine.opt,
                      days=days)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        crashing.run_cycle()
    assert xl.accepted(number)[-1:] != [SHIP]
    app.close()
    xl.app = open_app(app.config)  # a new process on the same state file
    xl.sync(3)
    assert xl.accepted(number).count(SHIP) == 1
    assert xl.ozon.posting(number)["status"] == "awaiting_deliver"
    assert not xl.app.state.open_entries() and "Готово" in xl.row(number)["sync_note"]
