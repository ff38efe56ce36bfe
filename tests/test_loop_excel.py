"""The two-way loop end to end: the Ozon emulator over real HTTP, a real .xlsx, a real SQLite state file.

Each test plays a person editing the workbook (openpyxl, as Excel would save it) and checks both what
Ozon received (the emulator's write log) and what the row says afterwards.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sync.app import App, open_app
from sync.config import Config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.engine.cycle import Engine
from sync.model import Posting

RFBS = {"scheme": "rFBS", "integration": "non_integrated"}


def add(emu: OzonEmulator, status: str = "awaiting_packaging", substatus: str = "", **kw: str) -> str:
    number = emu.add_posting(**kw)  # type: ignore[arg-type]
    if status != "awaiting_packaging" or substatus:
        emu.set_state(number, status, substatus)
    return number


def edit(app: App, number: str, **cells: str) -> None:
    edit_workbook(app.config.spreadsheet.path, app.config.spreadsheet.worksheet, app.columns,  # type: ignore[arg-type]
                  {number: cells})


def row(app: App, number: str) -> dict[str, str]:
    rows = [r for r in app.backend.read(app.columns.read_fields).rows if r.get("posting_number") == number]
    assert len(rows) == 1, f"{number} is in {len(rows)} rows"
    return rows[0].cells


def accepted(emu: OzonEmulator, number: str) -> list[str]:
    return [e["path"] for e in emu.write_log if e["posting_number"] == number and e["accepted"]]


def sync(app: App, times: int = 1) -> None:
    for _ in range(times):
        app.engine.run_cycle()


# --- every row of DESIGN §3, success ---------------------------------------------------------------


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
    app: App, emulator: OzonEmulator, status: str, substatus: str, kind: dict[str, str], cells: dict[str, str],
    paths: list[str], after_status: str,
) -> None:
    number = add(emulator, status, substatus, **kind)
    sync(app)
    edit(app, number, **cells)
    sync(app, 3)
    assert accepted(emulator, number) == paths
    assert emulator.posting(number)["status"] == after_status
    r = row(app, number)
    assert r["sync_note"].split(" ", 2)[2].startswith("Готово"), r["sync_note"]
    if "tracking_number" in cells:
        assert emulator.posting(number)["tracking_number"] == cells["tracking_number"]
        assert r["tracking_number"] == cells["tracking_number"]  # leading zeros kept in the sheet too
    assert not [e for e in emulator.write_log if e.get("duplicate")]


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
    app: App, emulator: OzonEmulator, status: str, substatus: str, kind: dict[str, str], cells: dict[str, str],
    words: str,
) -> None:
    number = add(emulator, status, substatus, **kind)
    sync(app)
    before = row(app, number)
    edit(app, number, **cells)
    sync(app)
    r = row(app, number)
    assert words in r["sync_note"]
    typed = next(iter(cells.values()))
    assert f"«{typed}»" in r["sync_note"]  # every refusal note quotes what was typed
    assert r["status"] == before["status"] and r["tracking_number"] == before["tracking_number"]
    assert not accepted(emulator, number)
    sync(app)  # answered once: the next cycle neither calls Ozon nor rewrites the note
    assert row(app, number)["sync_note"] == r["sync_note"]
    assert not accepted(emulator, number)


def test_ship_failed_is_retried_then_refused(tmp_path: Path) -> None:
    from sync.config import load_config
    from tests.conftest import API_KEY, CLIENT_ID, write_config

    with OzonEmulator(seed=1, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0,
                      ship_fail_rate=1.0) as emu:
        a = open_app(load_config(write_config(tmp_path, emu.base_url)))
        try:
            a.ensure_sheet()
            number = add(emu)
            sync(a)
            edit(a, number, status="Ожидает отгрузки")
            sync(a, 4)
            assert accepted(emu, number) == ["/v4/posting/fbs/ship"] * 3  # first try + ship_retries (2)
            r = row(a, number)
            assert "не смог собрать" in r["sync_note"] and r["status"] == "Ожидает сборки"
            assert not [e for e in emu.write_log if e.get("duplicate")]
        finally:
            a.close()


def test_edit_while_ozon_cancelled_the_posting_ozon_wins(app: App, emulator: OzonEmulator) -> None:
    number = add(emulator)
    sync(app)
    edit(app, number, status="Ожидает отгрузки")
    emulator.buyer_cancel(number)
    sync(app)
    r = row(app, number)
    assert r["status"] == "Отменено"
    assert "Ozon отменил" in r["sync_note"] and "«Ожидает отгрузки»" in r["sync_note"]
    assert not accepted(emulator, number)


def test_cancel_without_reason_is_held_then_refused(app: App, emulator: OzonEmulator, config: Config) -> None:
    number = add(emulator)
    sync(app)
    edit(app, number, status="Отменено")
    sync(app)
    r = row(app, number)
    assert r["status"] == "Отменено" and "Укажите причину отмены" in r["sync_note"]  # held, typed value kept
    edit(app, number, cancel_reason="Товар закончился")
    sync(app, 2)
    assert accepted(emulator, number) == ["/v2/posting/fbs/cancel"]
    assert emulator.posting(number)["cancellation"]["cancel_reason_id"] == 352


def test_staff_comment_never_touched_and_sorting_changes_nothing(app: App, emulator: OzonEmulator) -> None:
    numbers = [add(emulator) for _ in range(5)]
    sync(app)
    path = app.config.spreadsheet.path
    wb = openpyxl.load_workbook(path)
    ws = wb[app.config.spreadsheet.worksheet]
    header = [c.value for c in ws[1]]
    ci, ki = header.index("Комментарий"), header.index("Отправление")
    data = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    data.sort(key=lambda r: str(r[ki]), reverse=True)  # a person sorts by posting, descending
    for i, values in enumerate(data, start=2):
        for j, v in enumerate(values, start=1):
            ws.cell(row=i, column=j, value=v)
    ws.cell(row=2, column=ci + 1, value="=позвонить клиенту")
    wb.save(path)
    before = path.read_bytes()
    emulator_calls = len(emulator.write_log)
    sync(app)
    assert path.read_bytes() == before  # nothing to change: not even saved
    assert len(emulator.write_log) == emulator_calls
    edit(app, numbers[0], status="Ожидает отгрузки")
    sync(app, 2)
    wb = openpyxl.load_workbook(path)
    ws = wb[app.config.spreadsheet.worksheet]
    assert ws.cell(row=2, column=ci + 1).value == "=позвонить клиенту"
    assert accepted(emulator, numbers[0]) == ["/v4/posting/fbs/ship"]


def test_libreoffice_lock_defers_writes_but_pushes_edits(app: App, emulator: OzonEmulator) -> None:
    number = add(emulator)
    sync(app)
    edit(app, number, status="Ожидает отгрузки")
    path = app.config.spreadsheet.path
    assert path is not None
    lock = path.with_name(f".~lock.{path.name}#")
    lock.write_text("Ivan Petrov,ivan,WS-12,23.11.2026 12:03,file:///home/ivan/.config/libreoffice/4;\n")
    before = path.read_bytes()
    rep = app.engine.run_cycle()
    assert path.read_bytes() == before  # not overwritten while open
    assert rep.deferred and accepted(emulator, number) == ["/v4/posting/fbs/ship"]
    lock.unlink()
    sync(app)
    assert "Готово" in row(app, number)["sync_note"]
    assert accepted(emulator, number) == ["/v4/posting/fbs/ship"]


def test_deleted_row_of_open_posting_comes_back_and_unknown_number_is_noted(app: App, emulator: OzonEmulator) -> None:
    keep, gone = add(emulator), add(emulator)
    sync(app)
    path = app.config.spreadsheet.path
    wb = openpyxl.load_workbook(path)
    ws = wb[app.config.spreadsheet.worksheet]
    for r in ws.iter_rows(min_row=2):
        if r[0].value == gone:
            ws.delete_rows(r[0].row)
            break
    ws.append(["9999999999-0001-1"])
    wb.save(path)
    sync(app)
    assert "вернули" in row(app, gone)["sync_note"]
    assert "не найдено" in row(app, "9999999999-0001-1")["sync_note"]
    assert row(app, keep)["status"] == "Ожидает сборки"


def test_duplicated_row_pushes_nothing_and_notes_every_copy(app: App, emulator: OzonEmulator) -> None:
    number = add(emulator)
    sync(app)
    path = app.config.spreadsheet.path
    wb = openpyxl.load_workbook(path)
    ws = wb[app.config.spreadsheet.worksheet]
    src = next(r for r in ws.iter_rows(min_row=2) if r[0].value == number)
    ws.append([c.value for c in src])
    wb.save(path)
    edit(app, number, status="Ожидает отгрузки")
    sync(app)
    rows = [r for r in app.backend.read(app.columns.read_fields).rows if r.get("posting_number") == number]
    assert len(rows) == 2 and all("удалите лишние копии" in r.get("sync_note") for r in rows)
    assert not accepted(emulator, number)


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
def test_exactly_once_across_a_crash_around_the_call(app: App, emulator: OzonEmulator, when: str) -> None:
    number = add(emulator)
    sync(app)
    edit(app, number, status="Ожидает отгрузки")
    crashing = Engine(CrashingOzon(app.ozon, when), app.backend, app.state, app.columns, app.statuses,  # type: ignore[arg-type]
                      app.engine.opt)
    with pytest.raises(Crash):
        crashing.run_cycle()
    assert [e.state for e in app.state.open_entries()] == ["sending"]  # committed before the call
    app.close()
    restarted = open_app(app.config)  # a new process on the same state file
    try:
        for _ in range(3):
            restarted.engine.run_cycle()
        assert accepted(emulator, number) == ["/v4/posting/fbs/ship"]
        assert emulator.posting(number)["status"] == "awaiting_deliver"
        assert not restarted.state.open_entries()
        assert "Готово" in row(restarted, number)["sync_note"]
    finally:
        restarted.close()
