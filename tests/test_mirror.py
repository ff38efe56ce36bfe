"""The read-only FBO and returns tabs end to end, on both spreadsheets: the Ozon emulator over real
HTTP, a real .xlsx or the Google Sheets emulator driven by gspread, and a real SQLite state file.

What is checked: the tabs appear with Ozon's rows; they are refreshed every ``ozon.mirror_every``
when Ozon changed something and not written otherwise; their writes ride in the cycle's own write
(Google: the one batchUpdate, so a cycle stays within 3 requests; Excel: the one save); a person's
edit there is overwritten by the next refresh that writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from sync.app import App, Edges, open_app
from sync.backends.excel import ExcelBackend
from sync.backends.google import GoogleBackend
from sync.backends.memory import MemoryBackend
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.engine.mirror import Mirror, MirrorOptions, MirrorTab
from sync.engine.state import StateStore
from sync.errors import ConfigError
from sync.mapping import load_mirror_columns, load_statuses
from sync.model import FboPosting, Product, ReturnItem
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.fake_time import Clock
from tests.people import SHEET, ExcelPerson, GooglePerson, row_of
from tests.schemas import check_exchanges

MIRRORS = "ozon:\n  schemes: [fbs, rfbs, fbo]\n  returns: true\n  mirror_every: 10m\n"
FBO_HEADERS = [c.header for c in load_mirror_columns("fbo").columns]
RETURN_HEADERS = [c.header for c in load_mirror_columns("returns").columns]


def with_mirrors(path: Path, block: str = MIRRORS) -> Path:
    """Merge ``block`` (an ``ozon:`` section) into the config file written by write_config."""
    text = path.read_text(encoding="utf-8")
    extra = block.split("\n", 1)[1]
    path.write_text(text.replace("ozon:\n", "ozon:\n" + extra, 1), encoding="utf-8")
    return path


@dataclass
class Shop:
    app: App
    ozon: OzonEmulator
    clock: Clock
    kind: str
    people: dict[str, Any]  # tab title -> a person looking at it

    def cycle(self, minutes: float = 0) -> int:
        """Run one cycle ``minutes`` after the last; returns what it cost: Google requests or Excel saves."""
        self.clock.now += timedelta(minutes=minutes)
        backend = self.app.backend
        before = backend.requests if isinstance(backend, GoogleBackend) else getattr(backend, "saves", 0)
        rep = self.app.engine.run_cycle()
        assert not rep.problems, rep.problems
        after = backend.requests if isinstance(backend, GoogleBackend) else getattr(backend, "saves", 0)
        return int(after - before)

    def rows(self, title: str) -> list[dict[str, str]]:
        person = self.people[title]
        header = person.header()
        return [dict(zip(header, r, strict=True)) for r in person.rows()]

    def keys(self, title: str) -> list[str]:
        return [r[FBO_HEADERS[0] if title == "FBO" else RETURN_HEADERS[0]] for r in self.rows(title)]


@pytest.fixture(params=["excel", "google"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    clock = Clock()
    with OzonEmulator(seed=4, postings=3, fbo=6, returns=3, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0,
                      clock=clock) as emu:
        if request.param == "excel":
            app = open_app(load_config(with_mirrors(write_config(tmp_path, emu.base_url))),
                           edges=Edges(clock=clock))
            app.ensure_sheet()
            assert app.config.spreadsheet.path is not None
            path = app.config.spreadsheet.path
            people: dict[str, Any] = {t: ExcelPerson(path, t) for t in (SHEET, "FBO", "Возвраты")}
            yield Shop(app, emu, clock, "excel", people)
            app.close()
            return
        with SheetsEmulator(record_exchanges=True) as sheets:
            sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1"])
            spreadsheet = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                           f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
            cfg = load_config(with_mirrors(write_config(tmp_path, emu.base_url, backend=spreadsheet)))
            app = open_app(cfg, edges=Edges(clock=clock))
            app.ensure_sheet()
            people = {t: GooglePerson(sheets, sid, t) for t in (SHEET, "FBO", "Возвраты")}
            people["_emulator"] = sheets
            people["_id"] = sid
            yield Shop(app, emu, clock, "google", people)
            app.close()
            assert check_exchanges(sheets)  # every body we sent is valid for Google's API description


def test_the_tabs_appear_with_ozons_rows_read_only(shop: Shop) -> None:
    shop.cycle()
    assert shop.people["FBO"].header() == FBO_HEADERS
    assert sorted(shop.keys("FBO")) == sorted(shop.ozon.fbo_numbers())
    assert sorted(shop.keys("Возвраты")) == sorted(str(i) for i in shop.ozon.return_ids())
    delivered = shop.ozon.fbo_numbers(status="delivered")[0]
    row = next(r for r in shop.rows("FBO") if r["Отправление"] == delivered)
    products = [(p["name"], p["offer_id"], p["quantity"], p["price"]) for p in shop.ozon.fbo[delivered].products]
    assert row["Статус"] == "Доставлено" and row["Товары"] == "; ".join(f"{q} × {n} ({o})" for n, o, q, _ in products)
    assert float(row["Сумма"]) == sum(q * float(p) for _, _, q, p in products)
    ret = shop.rows("Возвраты")[0]
    assert ret["Статус возврата"] == "Едет к продавцу" and ret["Схема"] in ("FBS", "FBO")
    assert shop.people[SHEET].rows(), "the staff tab is filled as before"
    if shop.kind == "excel":
        assert shop.app.config.spreadsheet.path is not None
        ws = openpyxl.load_workbook(shop.app.config.spreadsheet.path)["FBO"]
        assert ws.freeze_panes == "A2" and ws.protection.sheet and ws["A1"].comment is not None
        assert "Только для чтения" in ws["A1"].comment.text and ws["A1"].font.bold
    else:
        meta = shop.people["_emulator"].sheet_meta(shop.people["_id"], "FBO")
        assert meta["frozen_rows"] == 1
        [protected] = meta["protected_ranges"]
        assert protected["warningOnly"] is True and "Только для чтения" in protected["description"]


def test_nothing_is_written_while_ozon_has_nothing_new(shop: Shop) -> None:
    shop.cycle()
    # Not due: Drive's version and the sheet read alone (the last cycle wrote), then Drive's version alone.
    assert shop.cycle(minutes=1) == (2 if shop.kind == "google" else 0)
    assert shop.cycle(minutes=1) == (1 if shop.kind == "google" else 0)
    assert shop.cycle(minutes=11) == (1 if shop.kind == "google" else 0)  # due, unchanged: nothing written


def test_a_change_at_ozon_is_mirrored_at_the_next_refresh_over_a_persons_edit(shop: Shop) -> None:
    shop.cycle()
    number = shop.ozon.fbo_numbers(status="delivering")[0]
    fbo = shop.people["FBO"]
    fbo.set(row_of(fbo, number), "Город", "Мой город")  # a person types into the read-only tab
    shop.ozon.set_fbo_state(number, "delivered")
    new_return = shop.ozon.add_return(number, status="ArrivedAtReturnPlace")
    assert shop.cycle(minutes=2) == (2 if shop.kind == "google" else 0)  # not due yet: the staff tab read alone
    assert fbo.get(row_of(fbo, number), "Город") == "Мой город"
    cost = shop.cycle(minutes=9)
    assert cost == (2 if shop.kind == "google" else 1)  # read + one batchUpdate; one save
    row = next(r for r in shop.rows("FBO") if r["Отправление"] == number)
    assert row["Статус"] == "Доставлено" and row["Город"] != "Мой город"
    assert shop.rows("Возвраты")[0]["Возврат"] == str(new_return)  # newest status change first
    assert shop.rows("Возвраты")[0]["Схема"] == "FBO"


def test_the_tabs_ride_in_the_cycles_own_write(shop: Shop) -> None:
    shop.cycle()
    shop.cycle(minutes=1)  # settle: the first cycles look up tab ids and the header
    fbs = shop.ozon.numbers(status="awaiting_packaging")[0]
    shop.ozon.buyer_cancel(fbs)  # a staff-tab cell changes: read, guard re-read, write
    shop.ozon.add_fbo(status="awaiting_packaging")
    assert shop.cycle(minutes=10) == (3 if shop.kind == "google" else 1)
    assert shop.people[SHEET].get(row_of(shop.people[SHEET], fbs), "Статус") == "Отменено"
    assert len(shop.keys("FBO")) == len(shop.ozon.fbo_numbers())


def test_init_writes_the_tabs_again(shop: Shop) -> None:
    shop.cycle()
    fbo = shop.people["FBO"]
    first = shop.ozon.fbo_numbers()[0]
    fbo.set(row_of(fbo, first), "Город", "Мой город")
    shop.app.ensure_sheet()  # `ozon-sync init`
    assert shop.cycle(minutes=1) == (4 if shop.kind == "google" else 1)  # the header is read again after init
    assert fbo.get(row_of(fbo, first), "Город") != "Мой город"


@pytest.mark.parametrize("kind", ["excel", "google"])
def test_a_tab_of_that_name_made_by_a_person_is_left_alone(tmp_path: Path, kind: str) -> None:
    clock = Clock()
    with OzonEmulator(seed=4, postings=3, fbo=2, client_id=CLIENT_ID, api_key=API_KEY, clock=clock) as emu, \
            SheetsEmulator() as sheets:
        if kind == "excel":
            app = open_app(load_config(with_mirrors(write_config(tmp_path, emu.base_url),
                                                    "ozon:\n  schemes: [fbs, fbo]\n")), edges=Edges(clock=clock))
            app.ensure_sheet()
            assert app.config.spreadsheet.path is not None
            wb = openpyxl.load_workbook(app.config.spreadsheet.path)
            wb.create_sheet("FBO")["A1"] = "мой учёт FBO"
            wb.save(app.config.spreadsheet.path)
            person: Any = ExcelPerson(app.config.spreadsheet.path, "FBO")
            staff: Any = ExcelPerson(app.config.spreadsheet.path)
        else:
            sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1", "FBO"])
            sheets.set_values(sid, "FBO!A1", [["мой учёт FBO"]])
            spreadsheet = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                           f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
            app = open_app(load_config(with_mirrors(write_config(tmp_path, emu.base_url, backend=spreadsheet),
                                                    "ozon:\n  schemes: [fbs, fbo]\n")), edges=Edges(clock=clock))
            app.ensure_sheet()
            person, staff = GooglePerson(sheets, sid, "FBO"), GooglePerson(sheets, sid)
        rep = app.engine.run_cycle()
        assert rep.rows_added == 3 and len(staff.rows()) == 3  # the staff tab is filled all the same
        [problem] = rep.problems
        assert "already has a tab «FBO» that ozon-sync did not make" in problem
        assert "spreadsheet.fbo_worksheet" in problem
        assert person.header() == ["мой учёт FBO"] and person.rows() == []
        app.close()


def test_a_deleted_tab_does_not_hold_up_the_staff_tab(tmp_path: Path) -> None:
    clock = Clock()
    with OzonEmulator(seed=4, postings=3, fbo=4, client_id=CLIENT_ID, api_key=API_KEY, clock=clock) as emu, \
            SheetsEmulator(record_exchanges=True) as sheets:
        sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1"])
        spreadsheet = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                       f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        app = open_app(load_config(with_mirrors(write_config(tmp_path, emu.base_url, backend=spreadsheet),
                                                "ozon:\n  schemes: [fbs, fbo]\n")), edges=Edges(clock=clock))
        app.ensure_sheet()
        app.engine.run_cycle()
        sheet_id = sheets.sheet_meta(sid, "FBO")["properties"]["sheetId"]
        httpx.post(f"{sheets.base_url}/v4/spreadsheets/{sid}:batchUpdate", timeout=5, json={"requests": [
            {"deleteSheet": {"sheetId": sheet_id}}]}).raise_for_status()  # a person deletes the FBO tab
        fbs = emu.numbers(status="awaiting_packaging")[0]
        emu.buyer_cancel(fbs)
        emu.add_fbo()
        clock.now += timedelta(minutes=11)
        rep = app.engine.run_cycle()
        assert rep.cells_written and not rep.problems  # the staff tab was written all the same
        batches = [(status, len(body["requests"])) for kind, body, status, _ in sheets.exchanges
                   if kind == "spreadsheets.batchUpdate"]
        assert batches[-3][0] == 400 and batches[-2][0] == 200  # refused with the tab, then the cells alone
        assert check_exchanges(sheets)
        staff = GooglePerson(sheets, sid)
        assert staff.get(row_of(staff, fbs), "Статус") == "Отменено"
        # The refused batch sent the cells alone; the tab was then looked up afresh and created again.
        assert len(GooglePerson(sheets, sid, "FBO").rows()) == len(emu.fbo_numbers())
        app.close()


def test_off_by_default_and_english_headers_with_the_english_mapping(tmp_path: Path) -> None:
    clock = Clock()
    with OzonEmulator(seed=4, postings=2, fbo=2, returns=1, client_id=CLIENT_ID, api_key=API_KEY,
                      clock=clock) as emu:
        plain = tmp_path / "plain"
        plain.mkdir()
        app = open_app(load_config(write_config(plain, emu.base_url)), edges=Edges(clock=clock))
        app.ensure_sheet()
        app.engine.run_cycle()
        assert app.mirror is None and app.config.spreadsheet.path is not None
        assert openpyxl.load_workbook(app.config.spreadsheet.path).sheetnames == [SHEET, "_lists"]
        app.close()
        en = tmp_path / "en"
        en.mkdir()
        mapping = Path(__file__).resolve().parents[1] / "mappings" / "orders.en.yaml"
        cfg = load_config(with_mirrors(write_config(en, emu.base_url, extra=f"mapping: {mapping}\n")))
        app = open_app(cfg, edges=Edges(clock=clock))
        app.ensure_sheet()
        app.engine.run_cycle()
        assert app.config.spreadsheet.path is not None
        wb = openpyxl.load_workbook(app.config.spreadsheet.path)
        assert {"FBO", "Returns"} <= set(wb.sheetnames)
        assert [c.value for c in wb["Returns"][1]][:3] == ["Return", "Posting", "Order"]
        assert [c.value for c in wb["FBO"][1]][2] == "Status"
        app.close()


def test_a_read_only_tab_may_not_take_the_orders_tab(tmp_path: Path) -> None:
    spreadsheet = "spreadsheet:\n  backend: excel\n  path: orders.xlsx\n  worksheet: FBO\n"
    with pytest.raises(ConfigError, match="spreadsheet.fbo_worksheet: the read-only tab «FBO» would replace"):
        load_config(with_mirrors(write_config(tmp_path, "http://127.0.0.1:9", backend=spreadsheet)))


# --- the mirror alone, on the memory backend ---------------------------------------------------------


class FakeOzon:
    """An in-process Ozon for the mirror: lists what it holds, counts the calls."""

    def __init__(self) -> None:
        self.fbo: list[FboPosting] = []
        self.returns: list[ReturnItem] = []
        self.calls = 0

    def list_fbo(self, since: datetime, to: datetime, *, statuses: Any = ()) -> Iterator[FboPosting]:
        self.calls += 1
        yield from (p for p in self.fbo if p.created_at is None or since <= p.created_at <= to)

    def list_returns(self, since: datetime, to: datetime) -> Iterator[ReturnItem]:
        self.calls += 1
        yield from self.returns


def test_the_mirror_reads_ozon_only_when_due_and_writes_only_changes(tmp_path: Path) -> None:
    from sync.mapping import load_columns

    clock = Clock()
    ozon = FakeOzon()
    ozon.fbo.append(FboPosting("1-1-1", "delivering", created_at=clock.now - timedelta(days=1),
                               products=(Product(1, "A", "Cup", 2, 5),)))
    backend = MemoryBackend(load_columns())
    state = StateStore(tmp_path / "s.sqlite")
    tabs = [MirrorTab("fbo", "FBO", load_mirror_columns("fbo")), MirrorTab("returns", "Возвраты",
                                                                            load_mirror_columns("returns"))]
    mirror = Mirror(ozon, backend, state, load_statuses(), tabs, MirrorOptions(every=600))

    def run(minutes: float) -> list[str]:
        clock.now += timedelta(minutes=minutes)
        assert mirror.stage(clock.now) == []
        assert mirror.finish() == []
        return mirror.written

    assert run(0) == ["FBO", "Возвраты"] and ozon.calls == 2
    assert backend.tabs["FBO"][1][:3] == ["1-1-1", "", "Доставляется"] and backend.tabs["Возвраты"] == [RETURN_HEADERS]
    assert run(5) == [] and ozon.calls == 2  # not due: Ozon is not asked
    assert run(6) == [] and ozon.calls == 4  # due, nothing new: nothing written
    ozon.returns.append(ReturnItem(7, "1-1-1", schema="Fbo", type="ClientReturn", status="Едет к продавцу"))
    assert run(10) == ["Возвраты"] and backend.writes == 2  # one batch for both tabs, then this one
    assert backend.tabs["Возвраты"][1][:5] == ["7", "1-1-1", "", "FBO", "Возврат покупателя"]
    backend.busy = True  # the workbook is locked: nothing lands, nothing is recorded
    ozon.fbo.clear()
    clock.now += timedelta(minutes=10)
    assert mirror.stage(clock.now) == []
    [problem] = mirror.finish()
    assert problem.startswith("Writing the read-only tabs failed: The sheet is busy") and mirror.written == []
    assert backend.pending_tabs() == []
    backend.busy = False
    assert run(1) == ["FBO"] and backend.tabs["FBO"] == [FBO_HEADERS]  # tried again at once, not in 10 minutes
    state.close()


def test_excel_backend_writes_a_tab_without_other_changes_in_one_save(tmp_path: Path) -> None:
    from sync.backends.base import Layout, TabContent
    from sync.mapping import load_columns

    backend = ExcelBackend(tmp_path / "o.xlsx", SHEET, load_columns())
    backend.ensure_layout(Layout())
    backend.read(["posting_number"])
    saves = backend.saves
    backend.flush_tabs()
    assert backend.saves == saves  # nothing staged: nothing saved
    tab = TabContent("FBO", load_mirror_columns("fbo"), ({"posting_number": "0012-1", "quantity": "3"},), "note")
    backend.stage_tab(tab)
    backend.flush_tabs()
    assert backend.saves == saves + 1 and backend.pending_tabs() == []
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx")["FBO"]
    assert ws["A2"].value == "0012-1" and ws["A2"].data_type == "s" and ws["I2"].value == 3
