"""Several Ozon accounts in one sheet, end to end: two Ozon emulators (two Client-Ids with their own
keys), one workbook (or Google spreadsheet), one engine and one SQLite state.

The two emulators are seeded alike, so their postings carry the same numbers: the key is account +
posting, and a number known to both accounts is two rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sync.app import App, open_app
from sync.cli import main
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.errors import ConfigError
from tests.fake_time import FakeTime
from tests.people import SHEET, ExcelPerson, GooglePerson, append_row

KEYS = {"shop1": ("111111", "key-shop-1"), "shop2": ("222222", "key-shop-2")}
EXCEL = "spreadsheet:\n  backend: excel\n  path: orders.xlsx\n  worksheet: Заказы\n"


def accounts_config(folder: Path, emus: dict[str, OzonEmulator], spreadsheet: str = EXCEL, extra: str = "") -> Path:
    lines = ["accounts:"]
    for acc, emu in emus.items():
        cid, key = KEYS[acc]
        lines += [f"  - id: {acc}", f'    client_id: "{cid}"', f'    api_key: "{key}"',
                  f'    base_url: "{emu.base_url}"']
    text = ("\n".join(lines) + "\n" + spreadsheet + "state: state.sqlite\n"
            "sync:\n  verify_wait: 0s\n  settle_seconds: 0s\n")
    path = folder / "ozon-sync.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


class Shops:
    """Two Ozon accounts, their emulators, one sheet with a person at it, and the app."""

    def __init__(self, app: App, emus: dict[str, OzonEmulator], person: Any):
        self.app, self.emus, self.person = app, emus, person

    def row_no(self, acc: str, number: str) -> int:
        header = self.person.header()
        ki, ai = header.index("Отправление"), header.index("Аккаунт")
        rows = [n for n, r in enumerate(self.person.rows(), start=2) if r[ki] == number and r[ai] == acc]
        assert len(rows) == 1, f"{acc} {number} is in rows {rows}"
        return rows[0]

    def row(self, acc: str, number: str) -> dict[str, str]:
        rows = [r.cells for r in self.app.backend.read(self.app.columns.read_fields).rows
                if r.get("posting_number") == number and r.get("account") == acc]
        assert len(rows) == 1, f"{acc} {number} is in {len(rows)} rows"
        return rows[0]

    def edit(self, acc: str, number: str, header: str, value: str) -> None:
        self.person.set(self.row_no(acc, number), header, value)

    def accepted(self, acc: str, number: str) -> list[str]:
        return [e["path"] for e in self.emus[acc].write_log if e["posting_number"] == number and e["accepted"]]

    def sync(self, times: int = 1) -> None:
        for _ in range(times):
            self.app.engine.run_cycle()


def _emulators() -> dict[str, OzonEmulator]:
    return {acc: OzonEmulator(seed=3, postings=0, client_id=cid, api_key=key, ship_delay=0.0).start()
            for acc, (cid, key) in KEYS.items()}


@pytest.fixture
def emus() -> Iterator[dict[str, OzonEmulator]]:
    started = _emulators()
    yield started
    for emu in started.values():
        emu.stop()


@pytest.fixture(params=["excel", "google"])
def shops(request: pytest.FixtureRequest, tmp_path: Path, emus: dict[str, OzonEmulator]) -> Iterator[Shops]:
    if request.param == "excel":
        app = open_app(load_config(accounts_config(tmp_path, emus)))
        app.ensure_sheet()
        assert app.config.spreadsheet.path is not None
        s = Shops(app, emus, ExcelPerson(app.config.spreadsheet.path, SHEET))
        yield s
        s.app.close()
        return
    with SheetsEmulator() as sheets:
        sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1"])
        spreadsheet = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                       f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        app = open_app(load_config(accounts_config(tmp_path, emus, spreadsheet)))
        app.ensure_sheet()
        s = Shops(app, emus, GooglePerson(sheets, sid))
        yield s
        s.app.close()


def test_both_accounts_share_one_sheet_and_each_edit_reaches_its_own_account(shops: Shops) -> None:
    one = shops.emus["shop1"].add_posting()
    two = shops.emus["shop2"].add_posting()
    assert one == two  # seeded alike: one number, two accounts
    only2 = shops.emus["shop2"].add_posting()
    shops.sync()
    assert "Аккаунт" in shops.person.header()
    assert shops.row("shop1", one)["status"] == shops.row("shop2", one)["status"] == "Ожидает сборки"
    assert shops.row("shop2", only2)["account"] == "shop2"
    shops.edit("shop1", one, "Статус", "Ожидает отгрузки")
    shops.edit("shop2", one, "Статус", "Отменено")
    shops.edit("shop2", one, "Причина отмены", "352")
    shops.sync(2)
    assert shops.accepted("shop1", one) == ["/v4/posting/fbs/ship"]
    assert shops.accepted("shop2", one) == ["/v2/posting/fbs/cancel"]
    assert shops.emus["shop1"].posting(one)["status"] == "awaiting_deliver"
    assert shops.emus["shop2"].posting(one)["status"] == "cancelled"
    assert shops.row("shop1", one)["status"] == "Ожидает отгрузки"
    assert shops.row("shop2", one)["status"] == "Отменено"
    assert "Готово" in shops.row("shop1", one)["sync_note"] and "Готово" in shops.row("shop2", one)["sync_note"]
    assert len(shops.person.rows()) == 3
    assert {(a, n) for a, n, *_ in shops.app.state.posting_rows()} == {("shop1", one), ("shop2", one),
                                                                       ("shop2", only2)}


@pytest.mark.parametrize("failure", ["down", "wrong-key"])
def test_one_account_failing_does_not_stop_the_other_and_its_edit_lands_later(
        tmp_path: Path, emus: dict[str, OzonEmulator], failure: str) -> None:
    app = open_app(load_config(accounts_config(tmp_path, emus)), edges=FakeTime().edges())  # back-off, not slept
    try:
        app.ensure_sheet()
        s = Shops(app, emus, ExcelPerson(tmp_path / "orders.xlsx", SHEET))
        a = emus["shop1"].add_posting()
        b = emus["shop2"].add_posting(scheme="rFBS")
        s.sync()
        s.edit("shop2", b, "Статус", "Отменено")
        s.edit("shop2", b, "Причина отмены", "352")
        if failure == "down":
            emus["shop2"].faults.rate_500 = 1.0
        else:
            emus["shop2"].api_key = "rotated-key"
        new = emus["shop1"].add_posting()
        s.edit("shop1", a, "Статус", "Ожидает отгрузки")
        rep = app.engine.run_cycle()
        assert list(rep.failed_accounts) == ["shop2"]
        assert rep.problems and all(p.startswith("Account «shop2»:") for p in rep.problems)
        assert s.accepted("shop1", a) == ["/v4/posting/fbs/ship"]  # the other account went on
        assert s.row("shop1", new)["status"] == "Ожидает сборки"  # and was pulled
        assert not s.accepted("shop2", b)
        row = s.row("shop2", b)
        assert row["status"] == "Отменено" and row["cancel_reason"] == "352"  # the edit waits, as typed
        words = "не ответил по аккаунту «shop2»" if failure == "down" else "не принял ключ аккаунта «shop2»"
        assert words in row["sync_note"]
        assert [e.account for e in app.state.open_entries()] == ["shop2"]  # kept in the outbox
        assert "accounts not reached: shop2" in rep.summary()
        # Recovery: the edit lands once, and the account's changes meanwhile are pulled.
        if failure == "down":
            emus["shop2"].faults.rate_500 = 0.0
        else:
            emus["shop2"].api_key = KEYS["shop2"][1]
        later = emus["shop2"].add_posting()
        s.sync(2)
        assert s.accepted("shop2", b) == ["/v2/posting/fbs/cancel"]
        assert emus["shop2"].posting(b)["status"] == "cancelled"
        assert "Готово" in s.row("shop2", b)["sync_note"]
        assert s.row("shop2", later)["account"] == "shop2"
        assert not app.state.open_entries()
    finally:
        app.close()


def test_an_unknown_account_gets_a_note_and_an_empty_account_cell_means_the_first(
        tmp_path: Path, emus: dict[str, OzonEmulator]) -> None:
    app = open_app(load_config(accounts_config(tmp_path, emus)))
    try:
        app.ensure_sheet()
        s = Shops(app, emus, ExcelPerson(tmp_path / "orders.xlsx", SHEET))
        a = emus["shop1"].add_posting()
        s.sync()
        append_row(s.person, {"Аккаунт": "shop9", "Отправление": a, "Статус": "Ожидает отгрузки"})
        s.edit("shop1", a, "Аккаунт", "")
        s.sync()
        rows = {r[s.person.header().index("Аккаунт")]: r for r in s.person.rows()}
        assert set(rows) == {"shop1", "shop9"}  # the empty cell was the first account, filled in again
        note = s.row("shop9", a)["sync_note"]
        assert "Аккаунт «shop9» не указан в настройках" in note and "shop1, shop2" in note
        assert s.row("shop1", a)["sync_note"] == ""  # no "restored" note for a blank account cell
        assert not s.accepted("shop1", a) and not app.state.open_entries()  # nothing pushed for shop9
        assert len(s.person.rows()) == 2  # the person's row is never deleted
    finally:
        app.close()


def test_one_account_has_no_account_column(tmp_path: Path, emus: dict[str, OzonEmulator]) -> None:
    one = {"shop1": emus["shop1"]}
    app = open_app(load_config(accounts_config(tmp_path, one)))
    try:
        assert app.columns.get("account") is None and list(app.ozons) == ["shop1"]
    finally:
        app.close()


def test_several_accounts_need_an_account_column_in_the_mapping(tmp_path: Path,
                                                                emus: dict[str, OzonEmulator]) -> None:
    from sync.mapping import default_mapping_path

    text = default_mapping_path().read_text(encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text("\n".join(line for line in text.splitlines() if "field: account," not in line), encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping: with several accounts the sheet needs an account column"):
        load_config(accounts_config(tmp_path, emus, extra="mapping: mine.yaml\n"))


def test_check_tries_every_account_key(tmp_path: Path, emus: dict[str, OzonEmulator],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from sync.cli import main

    emus["shop2"].api_key = "rotated"
    code = main(["--config", str(accounts_config(tmp_path, emus)), "check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Ozon (account «shop1»): the Api-Key works" in out
    assert "Ozon (account «shop2»): Ozon rejected the Api-Key: check accounts[1].api_key" in out


def test_a_view_per_account(tmp_path: Path, emus: dict[str, OzonEmulator]) -> None:
    view = ("views:\n  - name: Магазин 2\n    filter: {accounts: [shop2]}\n"
            "    spreadsheet: {backend: excel, path: shop2.xlsx, worksheet: Заказы}\n")
    app = open_app(load_config(accounts_config(tmp_path, emus, extra=view)))
    try:
        app.ensure_sheet()
        number = emus["shop1"].add_posting()
        assert emus["shop2"].add_posting() == number  # the same number in both accounts
        app.run_cycle()
        main, shop2 = ExcelPerson(tmp_path / "orders.xlsx", SHEET), ExcelPerson(tmp_path / "shop2.xlsx", SHEET)
        account = main.header().index("Аккаунт")
        assert [r[account] for r in main.rows()] == ["shop1"] and [r[account] for r in shop2.rows()] == ["shop2"]
        shop2.set(2, "Статус", "Ожидает отгрузки")
        app.run_cycle()
        assert [e["path"] for e in emus["shop2"].write_log if e["accepted"]] == ["/v4/posting/fbs/ship"]
        assert not emus["shop1"].write_log
    finally:
        app.close()


def test_live_reports_cover_every_account(tmp_path: Path, emus: dict[str, OzonEmulator],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`export --live` asks each account's Ozon, and the picklist counts both accounts' postings."""
    mine = {acc: [emu.add_posting(scheme="FBS", products=[("Чайник", "KET-1", 2, "990.00")]) for _ in range(2)]
            for acc, emu in emus.items()}
    cfg = accounts_config(tmp_path, emus)
    out = tmp_path / "pick.xlsx"
    assert main(["--config", str(cfg), "export", "--report", "picklist", "--live", "--cutoff", "2099-01-01",
                 "-o", str(out)]) == 0
    assert "4 postings to pack" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out, read_only=True)
    try:
        cells = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
    finally:
        wb.close()
    assert {n for numbers in mine.values() for n in numbers} <= cells
