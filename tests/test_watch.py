"""Watching the sheet. The workbook: a person's save wakes the daemon at once (debounced, once), the daemon's
own saves do not — a real .xlsx saved by openpyxl as Excel would, the Ozon emulator over HTTP, the real
Daemon loop. A Google sheet: Drive's version asked every ``schedule.sheet_poll``, the Sheets emulator over
HTTP; an idle look costs one Drive request and no Sheets request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.app import App, open_app
from sync.config import load_config
from sync.daemon import Daemon
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.watch import SheetVersionWatcher, WorkbookWatcher
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.people import SHEET, ExcelPerson, GooglePerson
from tests.test_loop import Loop

SHIP = "/v4/posting/fbs/ship"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Loop]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu:
        app = open_app(load_config(write_config(tmp_path, emu.base_url, extra="schedule:\n  every: 3600s\n")))
        app.ensure_sheet()
        lp = Loop(app, emu, ExcelPerson(app.config.spreadsheet.path, SHEET))
        yield lp
        lp.app.close()


def test_a_save_is_told_once_the_file_is_quiet_and_our_own_saves_are_not(shop: Loop) -> None:
    number = shop.add()
    shop.sync()
    now = [100.0]
    backend = shop.app.backend
    watcher = WorkbookWatcher(backend.path, backend.known_version, monotonic=lambda: now[0])  # type: ignore[attr-defined]
    assert watcher.poll() == ""  # as the daemon last saved it
    now[0] += 1
    assert watcher.poll() == ""
    shop.edit(number, status="Ожидает отгрузки")  # a person saves
    assert watcher.poll() == ""  # just written: wait until it is quiet
    now[0] += 0.2
    assert watcher.poll() == ""
    now[0] += 0.3
    assert watcher.poll() == "orders.xlsx was saved"
    now[0] += 1
    assert watcher.poll() == ""  # told once
    shop.sync()  # the daemon reads, pushes and saves the answer
    for _ in range(3):
        now[0] += 1
        assert watcher.poll() == ""  # its own save wakes nothing


def edit_beside_the_daemon(shop: Loop, number: str, *, wait: float = 0.0) -> Daemon:
    """The real Daemon loop at an hourly interval in this thread and, beside it as staff are, a person
    who waits for the row of ``number``, types «Ожидает отгрузки» (``wait`` seconds later), and watches
    Ozon; returns the stopped daemon once Ozon accepted the ship or 10 s passed."""
    app: App = shop.app
    daemon = Daemon(app.run_cycle, every=3600, lock_path=app.config.state.with_suffix(".lock"),
                    install_signals=False, wakers=app.wakers, on_wake=app.wake)

    def person() -> None:
        try:
            deadline = time.monotonic() + 20
            while daemon.cycles < 1 or not any(number in r for r in shop.person.rows()):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.2)
            time.sleep(wait)
            shop.edit(number, status="Ожидает отгрузки")
            typed = time.monotonic()
            while SHIP not in shop.accepted(number) and time.monotonic() - typed < 10:
                time.sleep(0.05)
        finally:
            daemon.stop()

    threading.Thread(target=person, daemon=True).start()
    daemon.run()  # the daemon owns this thread, as `ozon-sync run` does
    return daemon


def test_a_status_saved_into_the_workbook_reaches_ozon_without_waiting_for_the_cycle(shop: Loop) -> None:
    number = shop.add()
    daemon = edit_beside_the_daemon(shop, number, wait=0.5)
    assert SHIP in shop.accepted(number), "the save did not wake the daemon"
    assert daemon.cycles == 1 and daemon.wakes >= 1  # a wake, not the hourly cycle


@pytest.fixture
def google(tmp_path: Path) -> Iterator[tuple[Loop, SheetsEmulator]]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu, \
            SheetsEmulator() as sheets:
        sid = sheets.create_spreadsheet("Заказы Ozon", [SHEET])
        block = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                 f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        app = open_app(load_config(write_config(tmp_path, emu.base_url, backend=block,
                                                extra="schedule:\n  every: 3600s\n  sheet_poll: 1s\n")))
        app.ensure_sheet()
        lp = Loop(app, emu, GooglePerson(sheets, sid))
        yield lp, sheets
        lp.app.close()


def test_an_idle_google_look_is_one_drive_request_and_a_new_version_is_told_once(
        google: tuple[Loop, SheetsEmulator]) -> None:
    shop, sheets = google
    number = shop.add()
    shop.sync()
    shop.sync()  # the first cycle wrote the rows; this one read them
    now = [100.0]
    backend = shop.app.backend
    watcher = SheetVersionWatcher(backend.version, backend.known_version, every=5,  # type: ignore[attr-defined]
                                  monotonic=lambda: now[0])
    sheets.reset_log()
    for _ in range(4):
        now[0] += 5
        assert watcher.poll() == ""
    now[0] += 1
    assert watcher.poll() == ""  # not due: nothing asked
    assert [p for _m, p, _q, _b in sheets.requests] == [f"/drive/v3/files/{shop.person.id}"] * 4  # type: ignore[attr-defined]
    sheets.reset_log()
    shop.app.engine.run_cycle(pull=False)  # an idle cycle's sheet side: Drive's version, no Sheets request
    assert [p for _m, p, _q, _b in sheets.requests] == [f"/drive/v3/files/{shop.person.id}"]  # type: ignore[attr-defined]
    shop.edit(number, status="Ожидает отгрузки")  # a person types in the browser
    now[0] += 5
    assert watcher.poll() == "The Google sheet changed"
    now[0] += 5
    assert watcher.poll() == ""  # told once


def test_a_status_typed_into_the_google_sheet_reaches_ozon_within_the_poll(google: tuple[Loop, SheetsEmulator]) -> None:
    shop, _sheets = google
    number = shop.add()
    daemon = edit_beside_the_daemon(shop, number)
    assert SHIP in shop.accepted(number), "the edit did not wake the daemon"
    assert daemon.cycles == 1 and daemon.wakes >= 1
