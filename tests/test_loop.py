"""The two-way loop end to end, on both spreadsheets: the Ozon emulator over real HTTP, a real .xlsx
or the Google Sheets emulator driven by gspread, and a real SQLite state file.

Each test plays a person editing the sheet (openpyxl, as Excel saves it; or the browser) and checks
both what Ozon received (the emulator's write log) and what the row says afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sync.app import App, open_app
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.engine.cycle import Engine
from sync.model import Posting
from tests.conftest import write_config
from tests.people import SHEET, ExcelPerson, GooglePerson, append_row, row_of

RFBS = {"scheme": "rFBS", "integration": "non_integrated"}


@dataclass
class Loop:
    """One shop: Ozon (the emulator), the staff sheet and a person at it, and the app between them."""

    app: App
    ozon: OzonEmulator
    person: Any  # tests.backend_contract.Person

    def add(self, status: str = "awaiting_packaging", substatus: str = "", **kw: str) -> str:
        number = self.ozon.add_posting(**kw)  # type: ignore[arg-type]
        if status != "awaiting_packaging" or substatus:
            self.ozon.set_state(number, status, substatus)
        return number

    def edit(self, number: str, **cells: str) -> None:
        """A person types into the row of ``number``: field -> value."""
        r = row_of(self.person, number)
        for field, value in cells.items():
            col = self.app.columns.get(field)
            assert col is not None
            self.person.set(r, col.header, value)

    def row(self, number: str) -> dict[str, str]:
        rows = [r for r in self.app.backend.read(self.app.columns.read_fields).rows
                if r.get("posting_number") == number]
        assert len(rows) == 1, f"{number} is in {len(rows)} rows"
        return rows[0].cells

    def accepted(self, number: str) -> list[str]:
        return [e["path"] for e in self.ozon.write_log if e["posting_number"] == number and e["accepted"]]

    def sync(self, times: int = 1) -> None:
        for _ in range(times):
            self.app.engine.run_cycle()


@pytest.fixture(params=["excel", "google"])
def loop(request: pytest.FixtureRequest, tmp_path: Path, emulator: OzonEmulator) -> Iterator[Loop]:
    if request.param == "excel":
        app = open_app(load_config(write_config(tmp_path, emulator.base_url)))
        app.ensure_sheet()
        assert app.config.spreadsheet.path is not None
        lp = Loop(app, emulator, ExcelPerson(app.config.spreadsheet.path, SHEET))
        yield lp
        lp.app.close()  # the test may have restarted the app
        return
    with SheetsEmulator() as sheets:
        sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1"])
        spreadsheet = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                       f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        app = open_app(load_config(write_config(tmp_path, emulator.base_url, backend=spreadsheet)))
        app.ensure_sheet()
        lp = Loop(app, emulator, GooglePerson(sheets, sid))
        yield lp
        lp.app.close()


# --- every status move the sheet offers, success ------------------------------------------------


@pytest.mark.parametrize(
    ("status", "substatus", "kind", "cells", "paths", "after_status"),
    [
        ("awaiting_packaging", "", {}, {"status": "Ожидает отгрузки"}, ["/v4/posting/fbs/ship"], "awaiting_deliver"),
        ("arbitration", "posting_in_arbitration", {}, {"status": "ожидает отгрузки"},
         ["/v2/posting/fbs/awaiting-delivery"], "awaiting_deliver"),
        ("awaiting_deliver", "", RFBS, {"status": "Доставляется", "tracking_number": "0012345678"},
         ["/v2/fbs/posting/tracking-number/set", "/v2/fbs/posting/delivering"], "delivering"),
        ("awaiting_deliver", "", RFBS, {"status": "Доставляется"}, ["/v2/fbs/posting/delivering"], "delivering"),
        ("delivering", "posting_on_way_to_city", RFBS, {"status": "Курьер в пути"}, ["/v2/fbs/posting/last-mile"],
         "delivering"),
        ("delivering", "posting_on_way_to_city", RFBS, {"status": "DELIVERED"}, ["/v2/fbs/posting/delivered"],
         "delivered"),
        ("awaiting_packaging", "", {}, {"status": "Отменено", "cancel_reason": "352"}, ["/v2/posting/fbs/cancel"],
         "cancelled"),
        ("awaiting_deliver", "", RFBS, {"tracking_number": "RA000111222RU"}, ["/v2/fbs/posting/tracking-number/set"],
         "awaiting_deliver"),
    ],
    ids=["ship", "awaiting-delivery", "track+delivering", "delivering", "last-mile", "delivered-raw-code",
         "cancel", "track-alone"],
)
def test_each_move_reaches_ozon_once_and_is_verified(
    loop: Loop, status: str, substatus: str, kind: dict[str, str], cells: dict[str, str], paths: list[str],
    after_status: str,
) -> None:
    number = loop.add(status, substatus, **kind)
    loop.sync()
    loop.edit(number, **cells)
    loop.sync(3)
    assert loop.accepted(number) == paths
    assert loop.ozon.posting(number)["status"] == after_status
    r = loop.row(number)
    assert r["sync_note"].split(" ", 2)[2].startswith("Готово"), r["sync_note"]
    if "tracking_number" in cells:
        assert loop.ozon.posting(number)["tracking_number"] == cells["tracking_number"]
        assert r["tracking_number"] == cells["tracking_number"]  # leading zeros kept in the sheet too
    assert not [e for e in loop.ozon.write_log if e.get("duplicate")]


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "substatus", "kind", "cells", "words"),
    [
        ("awaiting_packaging", "", {}, {"status": "Доставлено"}, "так перевести нельзя"),
        ("arbitration", "posting_in_arbitration", RFBS, {"status": "Ожидает отгрузки"}, "так перевести нельзя"),
        ("awaiting_deliver", "", {"scheme": "rFBS", "integration": "3pl_tracking"}, {"status": "Доставляется"},
         "так перевести нельзя"),
        ("awaiting_deliver", "", {}, {"status": "Курьер в пути"}, "так перевести нельзя"),
        ("awaiting_packaging", "", {}, {"status": "Отменено", "cancel_reason": "667"}, "Ozon отказал"),
        ("awaiting_deliver", "", {}, {"tracking_number": "123"}, "для FBS назначает Ozon"),
        ("awaiting_packaging", "", {}, {"status": "Упаковано"},
         "Не понял статус «Упаковано». Можно: «Ожидает отгрузки»"),
    ],
    ids=["no-such-move", "awaiting-delivery-rfbs", "delivering-integrated", "last-mile-wrong-state",
         "cancel-reason-refused-by-ozon", "track-on-fbs", "unknown-status"],
)
def test_refusals_say_why_in_the_row_and_restore_ozons_value(
    loop: Loop, status: str, substatus: str, kind: dict[str, str], cells: dict[str, str], words: str,
) -> None:
    number = loop.add(status, substatus, **kind)
    loop.sync()
    before = loop.row(number)
    loop.edit(number, **cells)
    loop.sync()
    r = loop.row(number)
    assert words in r["sync_note"]
    typed = next(iter(cells.values()))
    assert f"«{typed}»" in r["sync_note"]  # every refusal note quotes what was typed
    assert r["status"] == before["status"] and r["tracking_number"] == before["tracking_number"]
    assert not loop.accepted(number)
    loop.sync()  # answered once: the next cycle neither calls Ozon nor rewrites the note
    assert loop.row(number)["sync_note"] == r["sync_note"]
    assert not loop.accepted(number)


def test_ship_failed_is_retried_then_refused(loop: Loop) -> None:
    loop.ozon.ship_fail_rate = 1.0
    number = loop.add()
    loop.sync()
    loop.edit(number, status="Ожидает отгрузки")
    loop.sync(4)
    assert loop.accepted(number) == ["/v4/posting/fbs/ship"] * 3  # first try + ship_retries (2)
    r = loop.row(number)
    assert "не смог собрать" in r["sync_note"] and r["status"] == "Ожидает сборки"
    assert not [e for e in loop.ozon.write_log if e.get("duplicate")]


def test_edit_while_ozon_cancelled_the_posting_ozon_wins(loop: Loop) -> None:
    number = loop.add()
    loop.sync()
    loop.edit(number, status="Ожидает отгрузки")
    loop.ozon.buyer_cancel(number)
    loop.sync()
    r = loop.row(number)
    assert r["status"] == "Отменено"
    assert "Ozon отменил" in r["sync_note"] and "«Ожидает отгрузки»" in r["sync_note"]
    assert not loop.accepted(number)


def test_cancel_without_reason_is_held_then_pushed_once_the_reason_is_typed(loop: Loop) -> None:
    number = loop.add()
    loop.sync()
    loop.edit(number, status="Отменено")
    loop.sync()
    r = loop.row(number)
    assert r["status"] == "Отменено" and "Укажите причину отмены" in r["sync_note"]  # held, typed value kept
    loop.edit(number, cancel_reason="Товар закончился")
    loop.sync(2)
    assert loop.accepted(number) == ["/v2/posting/fbs/cancel"]
    assert loop.ozon.posting(number)["cancellation"]["cancel_reason_id"] == 352


def test_staff_comment_never_touched_and_sorting_changes_nothing(loop: Loop) -> None:
    numbers = [loop.add() for _ in range(5)]
    loop.sync()
    loop.person.sort_by("Отправление")
    first = loop.person.rows()[0][0]
    loop.person.set(2, "Комментарий", "=позвонить клиенту")
    before = loop.person.rows()
    calls = len(loop.ozon.write_log)
    loop.sync()
    assert loop.person.rows() == before  # nothing to change after a sort: nothing written
    assert len(loop.ozon.write_log) == calls
    loop.edit(numbers[0], status="Ожидает отгрузки")
    loop.sync(2)
    assert loop.person.get(row_of(loop.person, first), "Комментарий") == "=позвонить клиенту"
    assert loop.accepted(numbers[0]) == ["/v4/posting/fbs/ship"]


def test_deleted_row_of_open_posting_comes_back_and_unknown_number_is_noted(loop: Loop) -> None:
    keep, gone = loop.add(), loop.add()
    loop.sync()
    loop.person.delete_row(row_of(loop.person, gone))
    append_row(loop.person, {"Отправление": "9999999999-0001-1"})
    loop.sync()
    assert "вернули" in loop.row(gone)["sync_note"]
    assert "не найдено" in loop.row("9999999999-0001-1")["sync_note"]
    assert loop.row(keep)["status"] == "Ожидает сборки"


def test_duplicated_row_pushes_nothing_and_notes_every_copy(loop: Loop) -> None:
    number = loop.add()
    loop.sync()
    header = loop.person.header()
    copy = loop.person.rows()[row_of(loop.person, number) - 2]
    append_row(loop.person, {h: v for h, v in zip(header, copy, strict=True) if v})
    rows = [n for n, r in enumerate(loop.person.rows(), start=2) if r[0] == number]
    for n in rows:
        loop.person.set(n, "Статус", "Ожидает отгрузки")
    loop.sync()
    notes = [r.get("sync_note") for r in loop.app.backend.read(loop.app.columns.read_fields).rows
             if r.get("posting_number") == number]
    assert len(notes) == 2 and all("удалите лишние копии" in n for n in notes)
    assert not loop.accepted(number)


def test_libreoffice_lock_defers_writes_but_pushes_edits(tmp_path: Path, emulator: OzonEmulator) -> None:
    app = open_app(load_config(write_config(tmp_path, emulator.base_url)))
    try:
        app.ensure_sheet()
        loop = Loop(app, emulator, ExcelPerson(tmp_path / "orders.xlsx", SHEET))
        number = loop.add()
        loop.sync()
        loop.edit(number, status="Ожидает отгрузки")
        path = tmp_path / "orders.xlsx"
        lock = path.with_name(f".~lock.{path.name}#")
        lock.write_text("Ivan Petrov,ivan,WS-12,23.11.2026 12:03,file:///home/ivan/.config/libreoffice/4;\n")
        before = path.read_bytes()
        rep = app.engine.run_cycle()
        assert path.read_bytes() == before  # not overwritten while open
        assert rep.deferred and loop.accepted(number) == ["/v4/posting/fbs/ship"]
        lock.unlink()
        loop.sync()
        assert "Готово" in loop.row(number)["sync_note"]
        assert loop.accepted(number) == ["/v4/posting/fbs/ship"]
    finally:
        app.close()


class Crash(BaseException):
    """A process dying mid-cycle (BaseException, so nothing in the engine catches it)."""


class CrashingOzon:
    """Wraps the real client and dies just before or just after one write call."""

    def __init__(self, inner: object, when: str):
        self.inner = inner
        self.when = when

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def ship(self, posting: Posting) -> None:
        if self.when == "before":
            raise Crash
        self.inner.ship(posting)  # type: ignore[attr-defined]
        raise Crash


@pytest.mark.parametrize("when", ["before", "after"])
def test_exactly_once_across_a_crash_around_the_call(loop: Loop, when: str) -> None:
    app = loop.app
    number = loop.add()
    loop.sync()
    loop.edit(number, status="Ожидает отгрузки")
    crashing = Engine(CrashingOzon(app.ozon, when), app.backend, app.state, app.columns, app.statuses,  # type: ignore[arg-type]
                      app.engine.opt)
    with pytest.raises(Crash):
        crashing.run_cycle()
    assert [e.state for e in app.state.open_entries()] == ["sending"]  # committed before the call
    app.close()
    loop.app = open_app(app.config)  # a new process on the same state file
    loop.sync(3)
    assert loop.accepted(number) == ["/v4/posting/fbs/ship"]
    assert loop.ozon.posting(number)["status"] == "awaiting_deliver"
    assert not loop.app.state.open_entries()
    assert "Готово" in loop.row(number)["sync_note"]


# --- what Ozon leaves out is unknown, not empty ------------------------------------------------------

LEFT_OUT = ("order_number", "delivery_method", "in_process_at", "shipment_date", "products", "available_actions")


def test_fields_ozon_sends_as_null_keep_their_last_values_and_refuse_nothing(loop: Loop) -> None:
    n = loop.add()
    loop.sync()
    before = loop.row(n)
    shown = ("order_number", "warehouse", "delivery_method", "in_process_at", "shipment_date", "total_price",
             "products", "quantity")
    assert all(before[f] for f in shown)
    loop.ozon.answer_nulls(*LEFT_OUT)
    loop.edit(n, status="Ожидает отгрузки")
    loop.sync(2)
    assert loop.accepted(n) == ["/v4/posting/fbs/ship"]  # not refused for want of available_actions
    after = loop.row(n)
    assert after["status"] == "Ожидает отгрузки" and "Готово" in after["sync_note"]
    assert {f: after[f] for f in shown} == {f: before[f] for f in shown}
    loop.ozon.answer_nulls()  # Ozon answers whole again: nothing was lost meanwhile
    loop.sync()
    assert {f: loop.row(n)[f] for f in shown} == {f: before[f] for f in shown}
