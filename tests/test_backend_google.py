"""The Google Sheets backend through real gspread HTTP to the Sheets emulator: the shared contract,
plus what only Google has — the request budget, quotas and retries, sharing errors, the layout
requests, and a person editing in the browser between our read and our write.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from sync.a1 import col_letters
from sync.backends.base import SheetBackend
from sync.backends.google import GoogleBackend
from sync.emulators.sheets import SheetsEmulator
from sync.errors import SheetAccessError, SheetLayoutError, SheetUnavailable
from sync.model import CellWrite
from tests.backend_contract import ALL, COLUMNS, HEADERS, LAYOUT, BackendContract, H, Person, order
from tests.conftest import SA_EMAIL, key_info
from tests.people import SHEET, GooglePerson
from tests.schemas import check_exchanges


@pytest.fixture
def emu() -> Iterator[SheetsEmulator]:
    """The Sheets emulator; every body our backend sent and got back is checked against Google's
    discovery document when the test ends (tests/data/sheets_schemas.json, unknown fields refused)."""
    with SheetsEmulator(record_exchanges=True) as e:
        yield e
        check_exchanges(e)


def backend_for(emu: SheetsEmulator, **kw: Any) -> tuple[GoogleBackend, str]:
    sid = emu.create_spreadsheet("Заказы Ozon", ["Лист1"])
    return GoogleBackend(sid, SHEET, COLUMNS, credentials="anonymous", api_endpoint=emu.base_url,
                         sleep=lambda s: None, **kw), sid


class TestGoogleContract(BackendContract):
    @pytest.fixture(autouse=True)
    def _emulator(self, emu: SheetsEmulator) -> None:
        self.emu = emu
        self.ids: dict[int, str] = {}

    def make_backend(self, tmp_path: Path) -> SheetBackend:
        backend, sid = backend_for(self.emu)
        self.ids[id(backend)] = sid
        return backend

    def person(self, backend: SheetBackend) -> Person:
        return GooglePerson(self.emu, self.ids[id(backend)])


# --- Google only --------------------------------------------------------------------------------------


def test_a_cycle_costs_a_drive_request_then_read_guard_and_write_whatever_the_number_of_edits(
        emu: SheetsEmulator) -> None:
    backend, _ = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    backend.write([], [order(f"{n:04d}-0001-1") for n in range(300)])
    for edits in (10, 300):
        before = backend.requests
        snap = backend.read(COLUMNS.read_fields)  # Drive's version moved (our write): read the sheet
        backend.read(COLUMNS.guard_fields)
        backend.write([CellWrite(r.row, "sync_note", f"note {edits}") for r in snap.rows[:edits]], [])
        assert backend.requests - before == 2 + 2 + 1  # (version, batchGet) twice, one batchUpdate
    assert backend.read(["sync_note"]).rows[299].get("sync_note") == "note 300"


def test_an_idle_read_costs_one_drive_request_and_no_sheets_request_and_an_edit_is_seen(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.write([], [order(f"{n:04d}-0001-1") for n in range(50)])
    first = backend.read(COLUMNS.read_fields)
    assert backend.known_version() == backend.version() == emu.revision(sid)
    for _ in range(3):
        emu.reset_log()
        again = backend.read(COLUMNS.read_fields)
        assert again is first  # the same rows, not read again
        assert [(m, p) for m, p, _q, _b in emu.requests] == [("GET", f"/drive/v3/files/{sid}")]
    GooglePerson(emu, sid).set(5, H["status"], "Ожидает отгрузки")  # a person's edit moves the version
    assert backend.version() != backend.known_version()
    assert backend.read(COLUMNS.read_fields).rows[3].get("status") == "Ожидает отгрузки"
    backend.write([CellWrite(5, "sync_note", "ours")], [])  # our own write: the next read reads too
    assert backend.known_version() is None
    assert {r.row: r.get("sync_note") for r in backend.read(["sync_note"]).rows} == {5: "ours"}


def test_a_failing_look_is_one_try_and_says_nothing_and_the_next_look_asks_again(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    for fault in ("503", "429", "drop"):
        emu.faults.queue("drive.files.get", fault)
        before = backend.requests
        assert backend.version() is None  # no retries: the daemon's loop is not held up
        assert backend.requests - before == 1
        assert backend.version() == emu.revision(sid)


def test_without_drive_versions_every_read_reads_the_sheet(emu: SheetsEmulator,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    backend, _ = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.write([], [order("0001-0001-1")])
    emu.faults.queue("drive.files.get", "disabled")  # the Drive API is not enabled for the project
    for _ in range(2):
        assert [r.get("posting_number") for r in backend.read(COLUMNS.read_fields).rows] == ["0001-0001-1"]
    assert backend.version() is None and backend.known_version() is None
    assert sum("does not tell the version" in r.getMessage() for r in caplog.records) == 1


def test_a_long_sheet_is_read_a_chunk_of_rows_per_request_and_no_row_is_missed(emu: SheetsEmulator) -> None:
    """rows_per_read at a time; the key column's length says how far to go, so a blank stretch longer
    than a chunk does not end the read early."""
    backend, sid = backend_for(emu)
    backend.rows_per_read = 4
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    numbers = [f"{n:04d}-0001-1" for n in range(14)]
    backend.write([], [order(n) for n in numbers])
    person = GooglePerson(emu, sid)
    for r in range(5, 11):  # rows 5-10 emptied: more than a chunk of blank rows
        for header in person.header():
            person.set(r, header, "")
    before = backend.requests
    snap = backend.read(COLUMNS.read_fields)
    # Drive's version; rows 1-5 (the header and 4), 6-9, 10-13, 14-17 (the last key: 15)
    assert backend.requests - before == 1 + 4
    assert [r.get("posting_number") for r in snap.rows] == numbers[:3] + numbers[9:]
    assert [r.row for r in snap.rows] == [2, 3, 4, 11, 12, 13, 14, 15]
    assert snap.rows[-1].get("status") == order(numbers[-1])["status"]
    backend.rows_per_read = 14  # the header and exactly 14 rows: one request, not one more to find nothing
    before = backend.requests
    assert len(backend.read(COLUMNS.read_fields).rows) == 8 and backend.requests - before == 1


def test_the_re_read_before_a_write_asks_for_the_written_rows_only(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    numbers = [f"{n:04d}-0001-1" for n in range(30)]
    backend.write([], [order(n) for n in numbers])
    backend.read(COLUMNS.read_fields)
    person = GooglePerson(emu, sid)
    person.set(5, H["status"], "Отменено")
    fields = COLUMNS.guard_fields
    before = backend.requests
    got = backend.read_rows(fields, [3, 5])
    assert backend.requests - before == 1 and set(got) == {3, 5}
    assert got[3][fields.index("posting_number")] == numbers[1] and got[5][fields.index("status")] == "Отменено"
    person.move_column(H["status"], 0)  # moved after our read: the columns are mapped again
    got = backend.read_rows(fields, [5])
    assert got[5][fields.index("status")] == "Отменено" and got[5][fields.index("posting_number")] == numbers[3]


def test_values_are_written_as_values(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    backend.write([], [order("0012-0001-1", products="=HYPERLINK(\"x\")", tracking_number="0098", quantity="3")])
    person = GooglePerson(emu, sid)
    assert person.get(2, H["products"]) == "=HYPERLINK(\"x\")"
    got = backend.read(ALL).rows[0]
    assert (got.get("tracking_number"), got.get("quantity"), got.get("posting_number")) == ("0098", "3", "0012-0001-1")
    assert check_exchanges(emu) >= 5  # layout, reads and the write were all checked against Google's schemas


def test_layout_lays_out_dropdowns_colours_text_format_protection_and_filter(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.ensure_layout(LAYOUT)  # twice: nothing doubles
    meta = emu.sheet_meta(sid, SHEET)
    assert meta["frozen_rows"] == 1 and meta["basic_filter"]
    status_col = col_letters(HEADERS.index(H["status"]))
    rules = [v["rule"] for v in meta["validations"] if v["range"] == f"{status_col}2:{status_col}1000"]
    assert rules and rules[0]["strict"] is False
    assert [v["userEnteredValue"] for v in rules[0]["condition"]["values"]] == LAYOUT.dropdowns["status"]
    assert len(meta["conditional_formats"]) == len(LAYOUT.status_colours)
    ozon_cols = [c for c in COLUMNS.columns if c.owner.value == "ozon"]
    assert len(meta["protected_ranges"]) == len(ozon_cols)
    assert all(p["warningOnly"] for p in meta["protected_ranges"])
    assert {"range": "A2:A1000", "format": {"numberFormat": {"type": "TEXT"}}} in meta["formats"]  # the key column
    for c in COLUMNS.columns:  # money and counts shown as numbers, whatever the sheet's locale
        if c.format in ("money", "integer"):
            letter = col_letters(HEADERS.index(c.header))
            pattern = "#,##0.00" if c.format == "money" else "0"
            assert {"range": f"{letter}2:{letter}1000", "format": {"numberFormat": {
                "type": "NUMBER", "pattern": pattern}}} in meta["formats"], c.field
    assert GooglePerson(emu, sid).header() == HEADERS


def test_editors_make_protection_enforced(emu: SheetsEmulator) -> None:
    from sync.backends.base import Layout

    backend, sid = backend_for(emu)
    backend.ensure_layout(Layout(editors=("boss@shop.ru",)))
    ranges = emu.sheet_meta(sid, SHEET)["protected_ranges"]
    assert ranges and all(not p["warningOnly"] and p["editors"]["users"] == ["boss@shop.ru"] for p in ranges)


def test_a_person_moving_columns_costs_one_more_request_that_cycle_only(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    backend.write([], [order("1-1-1", status="Новый")])
    backend.read(ALL)
    GooglePerson(emu, sid).move_column(H["status"], 0)
    before = backend.requests
    assert backend.read(["status"]).rows[0].get("status") == "Новый"
    assert backend.requests - before == 1 + 3  # Drive's version; stale columns, the header, the columns again
    before = backend.requests
    backend.read(["status"])
    assert backend.requests - before == 1  # Drive's version: nothing changed since


def test_quota_and_server_errors_are_retried_within_bounds(emu: SheetsEmulator) -> None:
    backend, _ = backend_for(emu, retries=2)
    backend.ensure_layout(LAYOUT)
    emu.faults.queue("values.batchGet", "429", "503")
    backend.read(ALL)  # two failures, then the answer
    emu.faults.queue("values.batchGet", "429", "429", "429")
    with pytest.raises(SheetUnavailable, match="quota"):
        backend.read(["status"])
    emu.faults.queue("spreadsheets.batchUpdate", "500")
    with pytest.raises(SheetUnavailable):  # a write whose outcome is unknown is not repeated
        backend.write([], [order("1-1-1")])


def test_the_pauses_and_the_session_are_the_ones_injected(emu: SheetsEmulator) -> None:
    class Counting(requests.Session):
        sent = 0

        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            self.sent += 1
            return super().send(request, **kwargs)

    slept: list[float] = []
    session = Counting()
    sid = emu.create_spreadsheet("Заказы Ozon", ["Лист1"])
    backend = GoogleBackend(sid, SHEET, COLUMNS, credentials="anonymous", api_endpoint=emu.base_url, retries=2,
                            sleep=slept.append, rng=random.Random(1), session=session)
    backend.ensure_layout(LAYOUT)
    emu.faults.queue("values.batchGet", "429", "503")
    backend.read(ALL)
    assert len(slept) == 2 and 0 <= slept[0] <= 1.0 and 0 <= slept[1] <= 2.0  # jittered under 1 s, then 2 s
    assert session.sent == backend.requests > 2
    backend.close()


def test_per_minute_quota_of_the_emulator_reaches_us_as_unavailable() -> None:
    with SheetsEmulator(reads_per_minute=2) as emu:
        backend, _ = backend_for(emu, retries=0)
        with pytest.raises((SheetUnavailable, SheetLayoutError)):
            for _ in range(5):
                backend.read(ALL)


def test_sharing_and_key_errors_say_what_to_do(emu: SheetsEmulator) -> None:
    missing = GoogleBackend("no-such-key", SHEET, COLUMNS, credentials="anonymous", api_endpoint=emu.base_url)
    with pytest.raises(SheetAccessError, match="no spreadsheet with key no-such-key"):
        missing.read(ALL)
    backend, _ = backend_for(emu)
    with pytest.raises(SheetLayoutError, match="ozon-sync init"):
        backend.read(ALL)  # the tab does not exist yet


def test_not_shared_names_the_service_account_and_nothing_leaves_loopback(
        tmp_path: Path, service_account_key: str, loopback_only: list[str]) -> None:
    with SheetsEmulator(allow_anonymous=False) as emu:
        key = tmp_path / "sa.json"
        key.write_text(json.dumps(key_info(emu, service_account_key)), encoding="utf-8")
        sid = emu.create_spreadsheet("Чужая", [SHEET], shared_with={"someone@else.ru"})
        backend = GoogleBackend(sid, SHEET, COLUMNS, credentials=str(key), api_endpoint=emu.base_url)
        with pytest.raises(SheetAccessError, match=f"share it with {SA_EMAIL}"):
            backend.read(ALL)
        emu.share(sid, SA_EMAIL)
        backend.ensure_layout(LAYOUT)
        assert backend.read(ALL).rows == []
        backend.close()
    assert loopback_only == []


def test_archive_skips_rows_that_moved_since_the_read(emu: SheetsEmulator) -> None:
    backend, sid = backend_for(emu)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    backend.write([], [order("1-1-1"), order("2-2-2")])
    backend.read(ALL)
    GooglePerson(emu, sid).delete_row(2)  # 2-2-2 is now on row 2
    backend.archive_rows([3], "2026-10")  # row 3 held 2-2-2 at our read; it holds nothing now
    assert [r[0] for r in GooglePerson(emu, sid).rows()] == ["2-2-2"]



def test_credentials_from_the_environment(tmp_path: Path, service_account_key: str, loopback_only: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with SheetsEmulator(allow_anonymous=False) as emu:
        key = tmp_path / "sa.json"
        key.write_text(json.dumps(key_info(emu, service_account_key)), encoding="utf-8")
        sid = emu.create_spreadsheet("Заказы", [SHEET], shared_with={SA_EMAIL})
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        backend = GoogleBackend(sid, SHEET, COLUMNS, api_endpoint=emu.base_url)
        backend.ensure_layout(LAYOUT)
        assert GooglePerson(emu, sid).header() == HEADERS
        backend.close()
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
        with pytest.raises(SheetAccessError, match="GOOGLE_APPLICATION_CREDENTIALS"):
            GoogleBackend(sid, SHEET, COLUMNS, api_endpoint=emu.base_url).read(ALL)
    assert loopback_only == []


def test_a_renamed_live_tab_is_named_and_no_empty_one_is_made(request: pytest.FixtureRequest) -> None:
    with SheetsEmulator() as emu:
        sid = emu.create_spreadsheet("Заказы Ozon", ["Лист1"])
        backend = GoogleBackend(sid, SHEET, COLUMNS, credentials="anonymous", api_endpoint=emu.base_url)
        backend.ensure_layout(LAYOUT)
        backend.write([], [order("1-1-1")])
        other = GoogleBackend(sid, "Заказы ноябрь", COLUMNS, credentials="anonymous", api_endpoint=emu.base_url)
        http = httpx.Client()
        request.addfinalizer(http.close)
        http.post(f"{emu.base_url}/v4/spreadsheets/{sid}:batchUpdate", json={"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": backend._id(), "title": "Заказы ноябрь"}, "fields": "title"}}]})
        assert [r.get("posting_number") for r in other.read(ALL).rows] == ["1-1-1"]
        moved = GoogleBackend(sid, SHEET, COLUMNS, credentials="anonymous", api_endpoint=emu.base_url)
        for act in (lambda: moved.read(ALL), lambda: moved.ensure_layout(LAYOUT)):
            with pytest.raises(SheetLayoutError, match="«Заказы ноябрь» has its header row: it was renamed"):
                act()
        titles = [s["properties"]["title"] for s in http.get(f"{emu.base_url}/v4/spreadsheets/{sid}").json()["sheets"]]
        assert SHEET not in titles
