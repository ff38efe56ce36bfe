"""People editing the spreadsheet between cycles, the way they really do it: in Excel (openpyxl
loads and saves the whole file) or in the browser (the Sheets emulator's in-process helpers).
Both implement tests.backend_contract.Person; rows are 1-based sheet rows, cells addressed by header."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl

from sync.a1 import col_letters
from sync.backends.google import quote
from sync.emulators.sheets import SheetsEmulator

SHEET = "Заказы"


def text_of(value: Any) -> str:
    """A cell value as a person reads it (dates in the engine's format, 3.0 as 3)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ExcelPerson:
    """Someone with the workbook open in Excel: every edit is a full load and save of the file."""

    def __init__(self, path: Path, sheet: str = SHEET):
        self.path = path
        self.sheet = sheet

    @contextmanager
    def edit(self) -> Iterator[Any]:
        wb = openpyxl.load_workbook(self.path)
        yield wb[self.sheet]
        wb.save(self.path)

    def ws(self) -> Any:
        return openpyxl.load_workbook(self.path)[self.sheet]

    @staticmethod
    def _header(ws: Any) -> list[str]:
        values = [text_of(c.value) for c in ws[1]]
        while values and not values[-1]:
            values.pop()
        return values

    @staticmethod
    def _last(ws: Any) -> int:
        for r in range(ws.max_row, 1, -1):
            if any(c.value not in (None, "") for c in ws[r]):
                return r
        return 1

    def _col(self, ws: Any, header: str) -> int:
        return self._header(ws).index(header) + 1

    def header(self) -> list[str]:
        return self._header(self.ws())

    def rows(self) -> list[list[str]]:
        ws = self.ws()
        width = len(self._header(ws))
        return [[text_of(ws.cell(row=r, column=c).value) for c in range(1, width + 1)]
                for r in range(2, self._last(ws) + 1)]

    def get(self, row: int, header: str) -> str:
        ws = self.ws()
        return text_of(ws.cell(row=row, column=self._col(ws, header)).value)

    def set(self, row: int, header: str, value: str) -> None:
        with self.edit() as ws:
            cell = ws.cell(row=row, column=self._col(ws, header))
            cell.value = value or None
            if value:
                cell.data_type = "s"

    def delete_row(self, row: int) -> None:
        with self.edit() as ws:
            ws.delete_rows(row)

    @staticmethod
    def _grab(ws: Any, rows: range, width: int) -> list[list[tuple[Any, str, str]]]:
        return [[(c.value, c.data_type, c.number_format) for c in
                 (ws.cell(row=r, column=k) for k in range(1, width + 1))] for r in rows]

    @staticmethod
    def _put(ws: Any, first: int, grid: list[list[tuple[Any, str, str]]]) -> None:
        for r, row in enumerate(grid, start=first):
            for k, (value, dtype, fmt) in enumerate(row, start=1):
                cell = ws.cell(row=r, column=k)
                cell.value = value
                cell.data_type = dtype
                cell.number_format = fmt

    def sort_by(self, header: str) -> None:
        with self.edit() as ws:
            i = self._col(ws, header) - 1
            width = ws.max_column
            grid = self._grab(ws, range(2, self._last(ws) + 1), width)
            grid.sort(key=lambda row: text_of(row[i][0]))
            self._put(ws, 2, grid)

    def move_column(self, header: str, index: int) -> None:
        with self.edit() as ws:
            i = self._col(ws, header) - 1
            width = ws.max_column
            grid = self._grab(ws, range(1, self._last(ws) + 1), width)
            for row in grid:
                row.insert(index, row.pop(i))
            self._put(ws, 1, grid)

    def delete_column(self, header: str) -> None:
        with self.edit() as ws:
            ws.delete_cols(self._col(ws, header))

    def archived(self, period: str) -> list[dict[str, str]]:
        path = self.path.with_name(f"{self.path.stem}-archive-{period}{self.path.suffix}")
        if not path.exists():
            return []
        ws = openpyxl.load_workbook(path)[self.sheet]
        header = self._header(ws)
        return [{h: text_of(ws.cell(row=r, column=k).value) for k, h in enumerate(header, start=1)}
                for r in range(2, self._last(ws) + 1)]


class GooglePerson:
    """Someone editing the spreadsheet in the browser (the emulator's in-process helpers)."""

    def __init__(self, emu: SheetsEmulator, spreadsheet: str, sheet: str = SHEET):
        self.emu, self.id, self.sheet = emu, spreadsheet, sheet

    def _grid(self, title: str | None = None) -> list[list[str]]:
        return [[text_of(v) for v in row] for row in self.emu.grid(self.id, title or self.sheet)]

    def header(self) -> list[str]:
        grid = self._grid()
        return grid[0] if grid else []

    def rows(self) -> list[list[str]]:
        width = len(self.header())
        return [(row + [""] * width)[:width] for row in self._grid()[1:]]

    def _col(self, header: str) -> int:
        return self.header().index(header)

    def get(self, row: int, header: str) -> str:
        grid = self._grid()
        c = self._col(header)
        return grid[row - 1][c] if row - 1 < len(grid) and c < len(grid[row - 1]) else ""

    def set(self, row: int, header: str, value: str) -> None:
        self.emu.set_values(self.id, f"{quote(self.sheet)}!{col_letters(self._col(header))}{row}", [[value]])

    def delete_row(self, row: int) -> None:
        self.emu.delete_rows(self.id, self.sheet, row)

    def sort_by(self, header: str) -> None:
        self.emu.sort_rows(self.id, self.sheet, self._col(header) + 1)

    def _rewrite(self, grid: list[list[str]]) -> None:
        width = max((len(r) for r in grid), default=0) + 1
        self.emu.set_values(self.id, f"{quote(self.sheet)}!A1", [(r + [""] * width)[:width] for r in grid])

    def move_column(self, header: str, index: int) -> None:
        i = self._col(header)
        grid = self._grid()
        width = max(len(r) for r in grid)
        grid = [(r + [""] * width)[:width] for r in grid]
        for r in grid:
            r.insert(index, r.pop(i))
        self._rewrite([["'" + v if v.isdigit() else v for v in r] for r in grid])

    def delete_column(self, header: str) -> None:
        sheet_id = self.emu.sheet_meta(self.id, self.sheet)["properties"]["sheetId"]
        i = self._col(header)
        httpx.post(f"{self.emu.base_url}/v4/spreadsheets/{self.id}:batchUpdate", timeout=5, json={"requests": [
            {"deleteDimension": {"range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i,
                                           "endIndex": i + 1}}}]}).raise_for_status()

    def archived(self, period: str) -> list[dict[str, str]]:
        title = f"Архив {period}"
        if title not in [s for s in self._titles()]:
            return []
        grid = self._grid(title)
        return [dict(zip(grid[0], (r + [""] * len(grid[0]))[:len(grid[0])], strict=True)) for r in grid[1:]]

    def _titles(self) -> list[str]:
        got = httpx.get(f"{self.emu.base_url}/v4/spreadsheets/{self.id}", timeout=5).json()
        return [s["properties"]["title"] for s in got["sheets"]]


# --- what every test does with a person --------------------------------------------------------------


def row_of(person: Any, key: str) -> int:
    """The sheet row holding posting ``key`` (the first column is the key in the default layout)."""
    header = person.header()
    ki = header.index("Отправление")
    rows = [n for n, r in enumerate(person.rows(), start=2) if r[ki] == key]
    assert len(rows) == 1, f"{key} is in rows {rows}"
    return rows[0]


def append_row(person: Any, values: dict[str, str]) -> None:
    """Type a new row below the last one: header text -> value."""
    n = len(person.rows()) + 2
    for header, value in values.items():
        person.set(n, header, value)
