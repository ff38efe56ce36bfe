"""Operator views end to end: the Ozon emulator, a main workbook and a workbook (or Google spreadsheet)
per view, one state file. A posting lives in exactly one of them and is edited there only.

The emulator puts FBS postings in «Склад Софьино» (delivery «Ozon Логистика, самовывоз»); rFBS
non-integrated ones in «Свой склад, Москва» with «Курьер продавца»; 3pl_tracking ones with «СДЭК».
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.app import App, open_app
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from tests.conftest import API_KEY, CLIENT_ID
from tests.people import SHEET, ExcelPerson, GooglePerson

SOFYINO = ("  - name: Софьино\n    filter: {warehouses: [склад софьино]}\n"
           "    spreadsheet: {backend: excel, path: sofyino.xlsx, worksheet: Заказы}\n"
           "    columns: [posting_number, products, status, cancel_reason]\n")
COURIER = ("  - name: Курьеры\n    filter: {delivery_methods: [Курьер продавца]}\n"
           "    spreadsheet: {backend: excel, path: courier.xlsx, worksheet: Заказы}\n")
MAIN = "spreadsheet:\n  backend: excel\n  path: orders.xlsx\n  worksheet: Заказы\n"
THREE_PL = {"scheme": "rFBS", "integration": "3pl_tracking"}
COURIER_KIND = {"scheme": "rFBS", "integration": "non_integrated"}


def views_config(folder: Path, emu: OzonEmulator, views: str, main: str = MAIN) -> Path:
    text = (f'ozon:\n  client_id: "{CLIENT_ID}"\n  api_key: "{API_KEY}"\n  base_url: "{emu.base_url}"\n'
            "  full_every: 0s\n"  # every cycle scans the unfulfilled list: a warehouse change is seen at once
            f"{main}state: state.sqlite\nsync:\n  verify_wait: 0s\n  settle_seconds: 0s\nviews:\n{views}")
    path = folder / "ozon-sync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def numbers(person: ExcelPerson | GooglePerson) -> list[str]:
    ki = person.header().index("Отправление")
    return [r[ki] for r in person.rows() if r[ki]]


def row(person: ExcelPerson | GooglePerson, number: str) -> dict[str, str]:
    header = person.header()
    ki = header.index("Отправление")
    found = [dict(zip(header, r, strict=True)) for r in person.rows() if r[ki] == number]
    assert len(found) == 1, f"{number} is in {len(found)} rows"
    return found[0]


def edit(person: ExcelPerson | GooglePerson, number: str, header: str, value: str) -> None:
    ki = person.header().index("Отправление")
    n = next(i for i, r in enumerate(person.rows(), start=2) if r[ki] == number)
    person.set(n, header, value)


def accepted(emu: OzonEmulator, number: str) -> list[str]:
    return [e["path"] for e in emu.write_log if e["posting_number"] == number and e["accepted"]]


@pytest.fixture
def excel_app(tmp_path: Path, emulator: OzonEmulator) -> Iterator[App]:
    app = open_app(load_config(views_config(tmp_path, emulator, SOFYINO + COURIER)))
    app.ensure_sheet()
    yield app
    app.close()


def test_each_view_shows_only_its_postings_and_edits_there_are_pushed(
        tmp_path: Path, excel_app: App, emulator: OzonEmulator) -> None:
    fbs = emulator.add_posting()
    courier = emulator.add_posting(status="awaiting_deliver", **COURIER_KIND)
    other = emulator.add_posting(**THREE_PL)
    excel_app.run_cycle()
    main, sofyino, couriers = (ExcelPerson(tmp_path / name, SHEET)
                               for name in ("orders.xlsx", "sofyino.xlsx", "courier.xlsx"))
    assert (numbers(main), numbers(sofyino), numbers(couriers)) == ([other], [fbs], [courier])
    # The view's own columns (the sync note is always there); the others have the main mapping's.
    assert sofyino.header() == ["Отправление", "Товары", "Статус", "Причина отмены", "Синхронизация"]
    assert couriers.header() == main.header()
    edit(sofyino, fbs, "Статус", "Ожидает отгрузки")
    edit(couriers, courier, "Статус", "Доставляется")
    rep = excel_app.run_cycle()
    excel_app.run_cycle()
    assert accepted(emulator, fbs) == ["/v4/posting/fbs/ship"]
    assert accepted(emulator, courier) == ["/v2/fbs/posting/delivering"]
    assert row(sofyino, fbs)["Статус"] == "Ожидает отгрузки" and "Готово" in row(sofyino, fbs)["Синхронизация"]
    assert row(couriers, courier)["Статус"] == "Доставляется"
    assert numbers(main) == [other]  # the main workbook never shows a view's posting
    assert "view «Софьино»" in rep.summary() and "view «Курьеры»" in rep.summary()
    assert rep.calls == 2


def test_a_posting_typed_into_the_wrong_sheet_is_not_pushed_from_there(
        tmp_path: Path, excel_app: App, emulator: OzonEmulator) -> None:
    fbs = emulator.add_posting()
    excel_app.run_cycle()
    main = ExcelPerson(tmp_path / "orders.xlsx", SHEET)
    main.set(2, "Отправление", fbs)
    main.set(2, "Статус", "Ожидает отгрузки")
    excel_app.run_cycle()
    assert not accepted(emulator, fbs)  # editable in exactly one place
    assert "теперь в таблице «Софьино» — меняйте его там" in row(main, fbs)["Синхронизация"]


def test_a_posting_that_changes_warehouse_moves_to_its_new_sheet(
        tmp_path: Path, excel_app: App, emulator: OzonEmulator) -> None:
    fbs = emulator.add_posting()
    other = emulator.add_posting(**THREE_PL)
    excel_app.run_cycle()
    main, sofyino = ExcelPerson(tmp_path / "orders.xlsx", SHEET), ExcelPerson(tmp_path / "sofyino.xlsx", SHEET)
    emulator.set_warehouse(fbs, "Склад Химки")  # out of the view: to the main sheet
    emulator.set_warehouse(other, "Склад Софьино")  # into the view
    excel_app.run_cycle()
    assert sorted(numbers(main)) == sorted([other, fbs]) and sorted(numbers(sofyino)) == sorted([fbs, other])
    assert row(main, fbs)["Склад"] == "Склад Химки"
    assert "перешло сюда из таблицы «Софьино»" in row(main, fbs)["Синхронизация"]
    assert "перешло сюда из основной таблицы" in row(sofyino, other)["Синхронизация"]
    assert "теперь в основной таблице" in row(sofyino, fbs)["Синхронизация"]  # the old row says where it went
    assert "теперь в таблице «Софьино»" in row(main, other)["Синхронизация"]
    # Only the new place pushes: an edit in the old row is ignored, one in the new row is sent.
    edit(sofyino, fbs, "Статус", "Отменено")
    edit(sofyino, fbs, "Причина отмены", "352")
    edit(main, other, "Статус", "Отменено")
    excel_app.run_cycle()
    assert not accepted(emulator, fbs) and not accepted(emulator, other)
    edit(main, fbs, "Статус", "Ожидает отгрузки")
    excel_app.run_cycle()
    assert accepted(emulator, fbs) == ["/v4/posting/fbs/ship"]
    assert "Готово" in row(main, fbs)["Синхронизация"]
    note = row(sofyino, fbs)["Синхронизация"]
    excel_app.run_cycle()
    assert row(sofyino, fbs)["Синхронизация"] == note  # said once, not rewritten every cycle


def test_an_empty_view_is_fine_and_the_empty_sheet_guard_counts_each_sheet_alone(
        tmp_path: Path, excel_app: App, emulator: OzonEmulator) -> None:
    for _ in range(4):
        emulator.add_posting(**THREE_PL)
    excel_app.run_cycle()
    rep = excel_app.run_cycle()  # the views are empty while four postings are on the main sheet
    assert not rep.problems
    assert len(numbers(ExcelPerson(tmp_path / "orders.xlsx", SHEET))) == 4


def test_google_view_gets_enforced_protected_ranges_for_its_editors_and_few_requests_a_cycle(
        tmp_path: Path, emulator: OzonEmulator) -> None:
    with SheetsEmulator() as sheets:
        main_id = sheets.create_spreadsheet("Заказы", ["Лист1"])
        view_id = sheets.create_spreadsheet("Софьино", ["Лист1"])
        google = "{backend: google, credentials: anonymous, api_endpoint: %s, worksheet: %s, spreadsheet: %s}"
        main = (f"spreadsheet:\n  backend: google\n  spreadsheet: {main_id}\n  credentials: anonymous\n"
                f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        view = (f"  - name: Софьино\n    filter: {{warehouses: [Склад Софьино]}}\n"
                f"    spreadsheet: {google % (sheets.base_url, SHEET, view_id)}\n"
                f"    editors: [olga@shop.ru]\n")
        app = open_app(load_config(views_config(tmp_path, emulator, view, main)))
        try:
            app.ensure_sheet()
            ranges = sheets.sheet_meta(view_id, SHEET)["protected_ranges"]
            assert ranges and all(not p["warningOnly"] and p["editors"]["users"] == ["olga@shop.ru"] for p in ranges)
            assert all(p["warningOnly"] for p in sheets.sheet_meta(main_id, SHEET)["protected_ranges"])
            fbs, other = emulator.add_posting(), emulator.add_posting(**THREE_PL)
            app.run_cycle()
            assert numbers(GooglePerson(sheets, view_id)) == [fbs]
            assert numbers(GooglePerson(sheets, main_id)) == [other]
            edit(GooglePerson(sheets, view_id), fbs, "Статус", "Ожидает отгрузки")
            sheets.reset_log()
            app.run_cycle()
            assert accepted(emulator, fbs) == ["/v4/posting/fbs/ship"]
            paths = [path for _m, path, _q, _b in sheets.requests]
            per_sheet = {sid: sum(1 for p in paths if p.startswith(f"/v4/spreadsheets/{sid}"))
                         for sid in (main_id, view_id)}
            assert all(0 <= n <= 3 for n in per_sheet.values()), per_sheet
            versions = [p for p in paths if p.startswith("/drive/v3/files/")]
            assert sorted(versions) == sorted(f"/drive/v3/files/{sid}" for sid in (main_id, view_id))
        finally:
            app.close()


def test_the_commands_cover_every_view(tmp_path: Path, emulator: OzonEmulator,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from sync.cli import main

    cfg = str(views_config(tmp_path, emulator, SOFYINO + COURIER))
    fbs = emulator.add_posting()
    assert main(["--config", cfg, "check"]) == 0
    out = capsys.readouterr().out
    assert "View «Софьино»: not created yet" in out and "View «Курьеры»: not created yet" in out
    assert main(["--config", cfg, "pull"]) == 0  # creates every workbook
    out = capsys.readouterr().out
    assert "view «Софьино»: pulled 0 postings" in out and "pulled 1 postings" in out
    assert numbers(ExcelPerson(tmp_path / "sofyino.xlsx", SHEET)) == [fbs]
    edit(ExcelPerson(tmp_path / "sofyino.xlsx", SHEET), fbs, "Статус", "Ожидает отгрузки")
    assert main(["--config", cfg, "push", "--dry-run"]) == 0
    assert "(view «Софьино»)" in capsys.readouterr().out
    assert main(["--config", cfg, "sync"]) == 0
    capsys.readouterr()
    assert accepted(emulator, fbs) == ["/v4/posting/fbs/ship"]
    assert main(["--config", cfg, "status"]) == 0
    assert "view «Софьино»" in capsys.readouterr().out
    (tmp_path / "courier.xlsx").unlink()
    assert main(["--config", cfg, "init"]) == 0
    assert "The view «Курьеры»" in capsys.readouterr().out and (tmp_path / "courier.xlsx").exists()
    (tmp_path / "courier.xlsx").unlink()
    courier = emulator.add_posting(**COURIER_KIND)
    assert main(["--config", cfg, "run", "--cycles", "1"]) == 0  # the daemon: every view, a lost one made again
    assert numbers(ExcelPerson(tmp_path / "courier.xlsx", SHEET)) == [courier]


def test_a_broken_view_is_reported_and_the_other_sheets_go_on(tmp_path: Path, emulator: OzonEmulator,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from sync.cli import main

    cfg = str(views_config(tmp_path, emulator, SOFYINO + COURIER))
    emulator.add_posting()
    assert main(["--config", cfg, "pull"]) == 0
    sofyino = ExcelPerson(tmp_path / "sofyino.xlsx", SHEET)
    sofyino.set(1, "Отправление", "Номер")  # the key column's header is gone
    courier = emulator.add_posting(**COURIER_KIND)
    other = emulator.add_posting(**THREE_PL)
    capsys.readouterr()
    assert main(["--config", cfg, "sync"]) == 1
    out = capsys.readouterr().out
    assert "Problem: View «Софьино»:" in out and "Отправление" in out
    assert numbers(ExcelPerson(tmp_path / "courier.xlsx", SHEET)) == [courier]
    assert numbers(ExcelPerson(tmp_path / "orders.xlsx", SHEET)) == [other]
