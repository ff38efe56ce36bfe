"""Workbooks as people really have them: saved by LibreOffice, holding a pivot table, a picture, a chart,
macros, a staff tab with formulas. A sync writes into the live tab only; every other part of the file
stays byte for byte, and the result opens in openpyxl, calamine and LibreOffice with the right values."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import python_calamine
from openpyxl.comments import Comment

from sync.app import open_app
from sync.config import load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from tests.conftest import write_config
from tests.office import convert

LIVE = "xl/worksheets/sheet1.xml"


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_a_libreoffice_saved_workbook_with_notes_and_a_staff_tab_keeps_working(
        tmp_path: Path, emulator: OzonEmulator) -> None:
    first = emulator.add_posting()
    app = open_app(load_config(write_config(tmp_path, emulator.base_url)))
    try:
        app.ensure_sheet()
        app.run_cycle()
        book = app.config.spreadsheet.path
        assert book is not None
        # A person, in LibreOffice: a note on a comment cell, a tab of their own with formulas, an edit; saved.
        edit_workbook(book, "Заказы", app.columns, {first: {"status": "Ожидает отгрузки"}})
        wb = openpyxl.load_workbook(book)
        ws = wb["Заказы"]
        comment_col = [c.value for c in ws[1]].index("Комментарий") + 1
        ws.cell(row=2, column=comment_col, value="позвонить").comment = Comment("Клиент просил утром", "Анна")
        mine = wb.create_sheet("Итоги")
        mine["A1"], mine["B1"] = "Заказов", "=COUNTA(Заказы!A:A)-1"
        wb.save(book)
        saved = convert([book], "xlsx", tmp_path / "lo", profile=tmp_path / "lo-profile")[0]
        shutil.copy(saved, book)
        before = members(book)
        assert any(n.startswith("xl/drawings/") for n in before)  # what LibreOffice adds beside notes

        second = emulator.add_posting()
        app.run_cycle()
        app.run_cycle()
        after = members(book)
        assert after.keys() == before.keys()
        changed = {n for n in after if after[n] != before[n]}
        assert changed <= {LIVE, "xl/workbook.xml"}, changed  # the filter's name in workbook.xml may follow it
        assert [e["accepted"] for e in emulator.write_log] == [True]

        rows = {r.get("posting_number"): r for r in app.backend.read(app.columns.read_fields).rows}
        assert "Готово" in rows[first].get("sync_note") and second in rows
        wb = openpyxl.load_workbook(book)
        assert wb["Заказы"].cell(row=2, column=comment_col).comment.text.strip() == "Клиент просил утром"
        assert wb["Итоги"]["B1"].value == "=COUNTA(Заказы!A:A)-1"
        grid = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(book.read_bytes())) \
            .get_sheet_by_name("Заказы").to_python()
        assert [r[0] for r in grid[1:3]] == [first, second]
        shown = convert([book], "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        tmp_path / "csv", profile=tmp_path / "lo-profile")
        (live,) = [p for p in shown if p.name == "orders-Заказы.csv"]
        table = list(csv.reader(live.read_text(encoding="utf-8").splitlines()))
        assert [r[0] for r in table[1:3]] == [first, second]
        assert any("Готово" in cell for cell in table[1])
    finally:
        app.close()
