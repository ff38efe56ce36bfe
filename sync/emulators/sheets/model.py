"""The emulator's state: spreadsheets (``Book``) of tabs (``Sheet``) of sparse cells, and ``Workbooks``,
which holds them, makes up their ids and stamps their changes."""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.emulators.server import Json
from sync.emulators.sheets.errors import NOT_FOUND, ApiError, bad

DEFAULT_ROWS, DEFAULT_COLS = 1000, 26


@dataclass
class Sheet:
    props: Json  # SheetProperties without "index" (the position in the book is the index)
    cells: dict[tuple[int, int], Json] = field(default_factory=dict)  # (row, col) -> CellData subset
    conditional: list[Json] = field(default_factory=list)
    protected: list[Json] = field(default_factory=list)
    basic_filter: Json | None = None
    dims: dict[str, dict[int, Json]] = field(default_factory=lambda: {"ROWS": {}, "COLUMNS": {}})

    @property
    def sheet_id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def rows(self) -> int:
        return int(self.props["gridProperties"]["rowCount"])

    @property
    def cols(self) -> int:
        return int(self.props["gridProperties"]["columnCount"])

    def grow(self, rows: int, cols: int) -> None:
        grid = self.props["gridProperties"]
        grid["rowCount"] = max(self.rows, rows)
        grid["columnCount"] = max(self.cols, cols)

    def last_row(self, c0: int = 0, c1: int | None = None) -> int:
        """1 + the last row index holding a value in columns [c0, c1); 0 when none."""
        rows = [r for (r, c), cell in self.cells.items()
                if cell.get("userEnteredValue") and c >= c0 and (c1 is None or c < c1)]
        return max(rows) + 1 if rows else 0

    def set_cell(self, r: int, c: int, key: str, value: Any) -> None:
        """Copy-on-write, so a shallow copy of ``cells`` is a snapshot to roll back to."""
        cell = dict(self.cells.get((r, c), {}))
        if value is None:
            cell.pop(key, None)
        else:
            cell[key] = value
        if cell:
            self.cells[(r, c)] = cell
        else:
            self.cells.pop((r, c), None)


@dataclass
class Book:
    spreadsheet_id: str
    title: str
    sheets: list[Sheet]
    shared_with: set[str] | None
    created: datetime
    modified: datetime
    version: int = 1
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"

    def sheet_by_id(self, sheet_id: int) -> Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise bad(f"No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        for sheet in self.sheets:
            if sheet.title.lower() == title.lower():
                return sheet
        return None


class Workbooks:
    """Every spreadsheet by id. ``rng`` makes up ids (as random as Google's, but repeatable);
    ``clock`` gives the current time (UTC) for ``createdTime`` and ``modifiedTime``."""

    def __init__(self, rng: random.Random, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.books: dict[str, Book] = {}
        self._rng = rng

    def book(self, spreadsheet_id: str) -> Book:
        book = self.books.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, NOT_FOUND)
        return book

    def sheet(self, spreadsheet_id: str, title: str) -> Sheet:
        sheet = self.book(spreadsheet_id).sheet_by_title(title)
        if sheet is None:
            raise KeyError(f"no sheet {title!r}")
        return sheet

    def touch(self, book: Book) -> None:
        book.version += 1
        now = self.clock()
        book.modified = now if now > book.modified else book.modified

    def new_book(self, body: Json, shared_with: set[str] | None) -> Book:
        """A spreadsheet from a ``spreadsheets.create`` body (a ``Sheet1`` tab when it names none)."""
        now = self.clock()
        props = body.get("properties") or {}
        book = Book(self._new_id(), str(props.get("title") or "Untitled spreadsheet"), [],
                    set(shared_with) if shared_with is not None else None, now, now)
        book.locale = str(props.get("locale") or book.locale)
        book.time_zone = str(props.get("timeZone") or book.time_zone)
        for i, spec in enumerate(body.get("sheets") or [{}]):
            sheet_props = dict((spec or {}).get("properties") or {})
            sheet_props.setdefault("sheetId", 0 if i == 0 else None)
            self.add_sheet(book, sheet_props)
        self.books[book.spreadsheet_id] = book
        return book

    def add_sheet(self, book: Book, props: Json) -> Sheet:
        """A tab from SheetProperties: a free id and a ``SheetN`` title unless given, at ``index``."""
        props = copy.deepcopy(props)
        used = {s.sheet_id for s in book.sheets}
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = self.free_id(used)
        elif int(sheet_id) in used:
            raise bad(f"A sheet with the id {sheet_id} already exists.")
        title = props.get("title")
        if not title:
            n = len(book.sheets) + 1
            while book.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        if book.sheet_by_title(str(title)) is not None:
            raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
        grid = dict(props.get("gridProperties") or {})
        grid["rowCount"] = int(grid.get("rowCount") or DEFAULT_ROWS)
        grid["columnCount"] = int(grid.get("columnCount") or DEFAULT_COLS)
        sheet_props: Json = {"sheetId": int(sheet_id), "title": str(title), "sheetType": "GRID", "gridProperties": grid}
        if props.get("hidden"):
            sheet_props["hidden"] = True
        if props.get("tabColor"):
            sheet_props["tabColor"] = props["tabColor"]
        sheet = Sheet(sheet_props)
        index = props.get("index")
        if index is None or int(index) >= len(book.sheets):
            book.sheets.append(sheet)
        else:
            book.sheets.insert(max(0, int(index)), sheet)
        return sheet

    def free_id(self, used: set[int]) -> int:
        """A random positive int32 not in ``used``, as Google picks sheet and range ids."""
        while (new := self._rng.randrange(1, 2**31 - 1)) in used:
            pass
        return new

    def _new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self._rng.choice(alphabet) for _ in range(43))
