"""A real in-memory sheet: a header and a grid of text, used by engine tests and benchmarks.

It behaves like a shared spreadsheet — people (tests) may sort, insert, delete, copy rows and
type into any cell between cycles — so the engine's guarantees can be checked without files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sync.backends.base import Layout, RowReader, SheetBackend, Snapshot, header_index
from sync.errors import SheetBusy, SheetLayoutError
from sync.mapping import ColumnMap
from sync.model import CellWrite, Owner


class MemoryBackend(SheetBackend):
    name = "memory"

    def __init__(self, columns: ColumnMap, header: list[str] | None = None):
        self.columns = columns
        self.header: list[str] = list(header) if header is not None else []
        self.grid: list[list[str]] = []  # data rows; grid[0] is sheet row 2
        # Equal texts kept once, as a real sheet stores them (the pool only grows until the next load:
        # fine for tests and benchmarks, which is what this backend is for).
        self._texts: dict[str, str] = {}
        self.archive: dict[str, list[list[str]]] = {}
        self.layout: Layout | None = None
        self.busy = False  # a test sets it to make writes fail like a locked workbook
        self.writes = 0  # batches written, for request-count assertions
        self.tabs: dict[str, list[list[str]]] = {}  # read-only tabs: title -> header and rows

    def load(self, grid: Iterable[Sequence[str]]) -> None:
        """Replace the data rows (a saved sheet read back), keeping equal texts once."""
        self._texts = {}
        self.grid = [[self._text(v) for v in r] for r in grid]

    def _text(self, value: str) -> str:
        return self._texts.setdefault(value, value)

    # --- SheetBackend ---------------------------------------------------------------------------

    def ensure_layout(self, layout: Layout) -> None:
        for col in self.columns.columns:
            if col.header not in self.header:
                self.header.append(col.header)
                for r in self.grid:
                    r.append("")
        self.layout = layout

    def _index(self) -> dict[str, int]:
        return header_index(self.header, self.columns)

    def read(self, fields: Sequence[str]) -> Snapshot:
        idx = self._index()
        if not self.header:
            raise SheetLayoutError("The sheet has no header row; run `ozon-sync init` to lay it out")
        if self.columns.key.field not in idx:
            raise SheetLayoutError(
                f"The key column «{self.columns.key.header}» is missing from the header; "
                f"restore it (or run `ozon-sync init`) before syncing"
            )
        rows = []
        wanted = [(f, col, idx[f]) for f in fields if f in idx and (col := self.columns.get(f)) is not None]
        reader = RowReader([f for f, _c, _i in wanted])
        for n, r in enumerate(self.grid, start=2):
            row = reader.row(n, reader.values(col.canonical(r[i] if i < len(r) else "") for _f, col, i in wanted))
            if row is not None:
                rows.append(row)
        return Snapshot(rows, frozenset(f for f in fields if f not in idx))

    def write(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        if self.busy:
            raise SheetBusy("The sheet is busy (test switch); writes wait for the next cycle")
        tabs = self._tab_queue()
        if not writes and not appends and not tabs:
            return
        for tab in tabs.values():
            self.tabs[tab.title] = tab.grid()
        tabs.clear()
        idx = self._index()
        for staff in self.columns.fields(Owner.STAFF):  # never written, whatever the caller asks
            idx.pop(staff, None)
        for w in writes:
            if w.field in idx and 2 <= w.row < len(self.grid) + 2:
                self._row(w.row)[idx[w.field]] = self._text(w.value)
        for values in appends:
            row = [""] * len(self.header)
            for f, v in values.items():
                if f in idx:
                    row[idx[f]] = self._text(v)
            self.grid.append(row)
        self.writes += 1

    def archive_rows(self, rows: Sequence[int], period: str) -> None:
        if self.busy:
            raise SheetBusy("The sheet is busy (test switch); archiving waits for the next cycle")
        moved = [self.grid[r - 2] for r in sorted(rows)]
        self.archive.setdefault(period, []).extend(moved)
        for r in sorted(rows, reverse=True):
            del self.grid[r - 2]

    # --- what people do (tests) -----------------------------------------------------------------

    def _row(self, row: int) -> list[str]:
        r = self.grid[row - 2]
        if len(r) < len(self.header):
            r.extend([""] * (len(self.header) - len(r)))
        return r

    def cell(self, row: int, field: str) -> str:
        return self._row(row)[self._index()[field]]

    def set_cell(self, row: int, field: str, value: str) -> None:
        self._row(row)[self._index()[field]] = value

    def find(self, key: str) -> list[int]:
        i = self._index()[self.columns.key.field]
        return [n for n, r in enumerate(self.grid, start=2) if i < len(r) and r[i] == key]

    def row_dict(self, row: int) -> dict[str, str]:
        r = self._row(row)
        return {f: r[i] for f, i in self._index().items()}

    def sort_by(self, field: str, reverse: bool = False) -> None:
        i = self._index()[field]
        self.grid.sort(key=lambda r: r[i] if i < len(r) else "", reverse=reverse)

    def delete_row(self, row: int) -> None:
        del self.grid[row - 2]

    def insert_blank(self, row: int) -> None:
        self.grid.insert(row - 2, [""] * len(self.header))

    def duplicate_row(self, row: int) -> None:
        self.grid.append(list(self._row(row)))
