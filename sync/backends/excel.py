"""The Excel (.xlsx) backend: a workbook on disk that people open in Excel or LibreOffice.

How it stays out of people's way:

* reads take the file's bytes at once and close it (an open handle blocks Excel's save), then
  parse them with python-calamine, which is fast and returns cached formula values;
* a ``format: link`` column's cells are real hyperlinks to their text (a label's path relative to the
  workbook's folder, or a URL), not formulas; they read back as that text;
* writes never happen while Excel (``~$orders.xlsx``) or LibreOffice (``.~lock.orders.xlsx#``)
  has the file open, nor when the file changed since our last read: the engine re-reads next cycle;
* a write patches the live tab's XML and copies every other part of the workbook unchanged
  (sync.backends.xlsx): pictures, charts, pivot tables, macros, the staff's own tabs and whatever
  LibreOffice adds stay, and a write costs a fraction of an openpyxl load and save; our read-only tabs
  get their rows replaced the same way;
* the new file goes to a temporary file in the same folder, with the original's mode and owner, that
  replaces the workbook in one step, so a crash never leaves half a workbook;
* openpyxl only lays the workbook out (``init``: header, dropdowns, status colours, column formats),
  adds a read-only tab the first time, and writes the archive workbooks, which are ours alone; those
  openpyxl saves refuse when they would lose something openpyxl cannot keep.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import openpyxl

from sync.backends import xlsx
from sync.backends.base import MIRROR_MARK, Layout, RowReader, SheetBackend, Snapshot, header_index, not_ours
from sync.backends.excel_layout import lay_out, new_workbook, renamed_refusal, sheet_for_layout
from sync.backends.excel_openpyxl import (
    clean_text,
    copy_rows,
    header_values,
    is_mirror,
    last_used_row,
    load,
    put_tab,
    refuse_lossy,
    set_cell,
    update_filter,
    workbook_bytes,
)
from sync.backends.excel_read import SAVE_SETTLE, Grid, Merge, Wanted, blocked_rows, calamine_grid, wanted_fields
from sync.backends.workbook_files import (
    Fingerprint,
    check_writable,
    conflict_copies,
    fingerprint,
    lock_holder,
    read_bytes,
    remove_stale_temporaries,
    replace_file,
)
from sync.errors import SheetBusy, SheetLayoutError, WorkbookError
from sync.mapping import Column, ColumnMap
from sync.model import CellWrite, Owner, SheetRow

_T = TypeVar("_T")


def _cell_value(column: Column, text: str, limit: int) -> Any:
    """What the patch stores for the engine's text: typed, or a hyperlink for a ``format: link`` column."""
    text = clean_text(text, limit)
    return xlsx.Link(text) if column.format == "link" else column.typed(text)


class ExcelBackend(SheetBackend):
    """One worksheet of an .xlsx workbook; see the module docstring for how it shares the file."""

    name = "excel"
    max_cell_chars = 32767
    path: Path  # the workbook

    def __init__(
        self,
        path: Path | str,
        worksheet: str,
        columns: ColumnMap,
        *,
        template: Path | None = None,
        layout: Layout | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``layout``: re-applied on every save (openpyxl may drop rules), also before ``ensure_layout`` ran."""
        self.path = Path(path)
        self.worksheet = worksheet
        self.columns = columns
        self.template = template
        self.clock = clock
        self.sleep = sleep
        self._fingerprint: Fingerprint | None = None
        self._layout: Layout | None = layout
        self._grid: tuple[str, Grid] | None = None
        self._merged: list[Merge] = []  # merged ranges of the live tab as last read
        self._converted: dict[tuple[tuple[str, int], ...], dict[tuple[Any, ...], tuple[str, ...]]] = {}
        self.saves = 0  # workbooks saved (patched or, for a new tab, rebuilt by openpyxl), for tests and benchmarks

    # --- reading -------------------------------------------------------------------------------


    # --- reading -------------------------------------------------------------------------------

    def read(self, fields: Sequence[str]) -> Snapshot:
        try:
            data = read_bytes(self.path)
        except FileNotFoundError:
            raise SheetLayoutError(
                f"The workbook {self.path} does not exist; run `ozon-sync init` to create it"
            ) from None
        except PermissionError:
            raise SheetBusy(f"The workbook {self.path.name} cannot be read right now (in use); retrying next cycle") \
                from None
        version = fingerprint(self.path, data)
        try:
            # The same bytes as last read (an idle cycle, the re-read before a write): the same grid.
            if not (self._grid and self._grid[0] == version.sha1):
                grid, self._merged = self._calamine_grid(data)
            else:
                grid = self._grid[1]
        except WorkbookError:
            # A program that writes the file in place (openpyxl, some sync clients) shows a half-written
            # file for a moment: if the bytes are changing, it is being saved, not damaged.
            self.sleep(SAVE_SETTLE)
            if read_bytes(self.path) != data:
                raise SheetBusy(f"The workbook {self.path.name} was being saved while we read it; "
                                f"reading it again next cycle") from None
            raise
        idx, wanted = self._wanted(grid, fields)
        # A row read before exactly as it is now has the same cells: only new or changed rows are converted.
        spec = tuple((f, i) for f, _c, i in wanted)
        before, seen = self._converted.get(spec, {}), {}
        rows: list[SheetRow] = []
        reader = RowReader([f for f, _c, _i in wanted])
        for n, values in enumerate(grid[1:], start=2):
            raw = tuple(values)
            texts = before.get(raw)
            if texts is None:
                texts = reader.values(col.canonical(values[i] if i < len(values) else None) for _f, col, i in wanted)
            seen[raw] = texts
            row = reader.row(n, texts)
            if row is not None:
                rows.append(row)
        self._converted[spec] = seen
        self._grid = (version.sha1, grid)
        self._fingerprint = version
        return Snapshot(rows, frozenset(f for f in fields if f not in idx),
                        blocked_rows(grid[0], self._merged, self.columns, self.worksheet))

    def _wanted(self, grid: Grid, fields: Sequence[str]) -> tuple[dict[str, int], Wanted]:
        return wanted_fields(grid, fields, self.columns, self.worksheet)

    def _calamine_grid(self, data: bytes) -> tuple[Grid, list[Merge]]:
        return calamine_grid(data, self.path.name, self.worksheet, self.columns)

    def read_rows(self, fields: Sequence[str], rows: Collection[int]) -> dict[int, tuple[str, ...]]:
        """The file unchanged since the last read (its bytes' hash): those rows from the grid already parsed;
        else the whole read."""
        try:
            current: str | None = hashlib.sha1(read_bytes(self.path)).hexdigest()
        except OSError:
            current = None  # the whole read says what is wrong with the file
        if self._grid is None or self._grid[0] != current:
            return super().read_rows(fields, rows)
        grid = self._grid[1]
        _idx, wanted = self._wanted(grid, fields)
        cols = {f: (c, i) for f, c, i in wanted}

        def text(values: list[Any], field: str) -> str:
            if field not in cols:
                return ""
            col, i = cols[field]
            return col.canonical(values[i] if i < len(values) else None)

        got = {r: tuple(text(grid[r - 1], f) for f in fields) for r in rows if 2 <= r <= len(grid)}
        return {r: texts for r, texts in got.items() if any(texts)}

    # --- the file among others: locks, conflict copies, temporaries ----------------------------

    def lock_holder(self, path: Path | None = None) -> str | None:
        return lock_holder(path or self.path, self.clock)

    def conflict_copies(self) -> list[str]:
        return conflict_copies(self.path)

    def clean_up(self) -> list[str]:
        return remove_stale_temporaries(self.path)

    def _check_lock(self, path: Path | None = None) -> None:
        check_writable(path or self.path, self.clock)

    # --- loading and saving for a change -------------------------------------------------------

    def known_version(self) -> tuple[int, int] | None:
        """(size, mtime_ns) of the workbook as this backend last read or saved it (None: not yet)."""
        fp = self._fingerprint
        return None if fp is None else (fp.size, fp.mtime_ns)

    def _open_for_change(self, *, verify_fingerprint: bool = True) -> tuple[Any, bytes]:
        """The live workbook loaded with openpyxl, after every check that must pass before a save."""
        data = self._bytes_for_change(verify_fingerprint=verify_fingerprint)
        refuse_lossy(data, self.path)
        return load(data, self.path), data

    def _save(self, wb: Any, path: Path, loaded: bytes | None) -> None:
        """Save a workbook openpyxl holds (a new one, the archive, a layout): see _replace."""
        self._replace(workbook_bytes(wb), path, loaded)

    def _replace(self, data: bytes, path: Path, loaded: bytes | None) -> None:
        """Replace the file atomically unless it changed since ``loaded`` was read (see replace_file)."""
        replace_file(data, path, loaded, self._check_lock)
        if path == self.path:
            self._fingerprint = fingerprint(path, data)
        self.saves += 1

    def _live_sheet(self, wb: Any) -> Any:
        if self.worksheet not in wb.sheetnames:
            raise SheetLayoutError(
                renamed_refusal(wb, self.worksheet, self.columns)
                or f"The workbook {self.path.name} has no sheet «{self.worksheet}»; run `ozon-sync init` to add it"
            )
        return wb[self.worksheet]

    def _sheet_index(self, ws: Any) -> dict[str, int]:
        """field -> 1-based column number; the key column must be there."""
        idx = {f: i + 1 for f, i in header_index(header_values(ws), self.columns).items()}
        if self.columns.key.field not in idx:
            raise SheetLayoutError(
                f"The key column «{self.columns.key.header}» is missing from the header of «{self.worksheet}»; "
                f"restore it (or run `ozon-sync init`) before syncing"
            )
        return idx

    # --- writing -------------------------------------------------------------------------------

    def write(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        """Patch the live tab's XML (and replace our read-only tabs' rows); every other part of the workbook
        is copied as it is, so pictures, charts, pivot tables, macros and the staff's own tabs stay. Only a
        read-only tab that does not exist yet is made through openpyxl (see _write_new_tabs)."""
        tabs = self._tab_queue()
        if not writes and not appends and not tabs:
            return
        data = self._bytes_for_change()
        parts = {sp.title: sp.part for sp in self._patched(xlsx.sheets, data)}
        if any(title not in parts for title in tabs):
            self._write_new_tabs(writes, appends)
            return
        if self.worksheet not in parts:
            self._calamine_grid(data)  # says the tab is missing, or which tab it was renamed to
        idx = {f: i + 1 for f, i in self._wanted(self._grid_of(data), ())[0].items()}
        limit = self.max_cell_chars
        cells: dict[tuple[int, int], Any] = {}
        for w in writes:
            col = self.columns.get(w.field)
            if col is not None and col.owner is not Owner.STAFF and w.field in idx and w.row >= 2:
                cells[(w.row, idx[w.field])] = _cell_value(col, w.value, limit)
        rows = [{idx[f]: _cell_value(col, text, limit) for f, text in values.items()
                 if (col := self.columns.get(f)) is not None and col.owner is not Owner.STAFF and f in idx}
                for values in appends]
        new = self._patched(xlsx.patch, data, parts[self.worksheet], cells, rows,
                            filter_last_col=max(idx.values()))
        foreign = [t for t in tabs
                   if not self._patched(xlsx.note_text, new, parts[t], "A1").startswith(MIRROR_MARK)]
        if foreign and not writes and not appends and len(foreign) == len(tabs):
            raise SheetLayoutError(not_ours(foreign[0]))
        for tab in tabs.values():
            if tab.title not in foreign:
                typed = [[c.header for c in tab.columns.columns]] + [
                    [c.typed(clean_text(r.get(c.field, ""), limit)) for c in tab.columns.columns] for r in tab.rows]
                new = self._patched(xlsx.replace_sheet_rows, new, parts[tab.title], typed)
        self._replace(new, self.path, data)
        for title in list(tabs):
            if title not in foreign:
                del tabs[title]

    def _bytes_for_change(self, *, verify_fingerprint: bool = True) -> bytes:
        """The workbook's bytes, after every check that must pass before it is replaced (``verify_fingerprint``:
        it is still what the last read saw)."""
        self._check_lock()
        try:
            data = read_bytes(self.path)
        except FileNotFoundError:
            raise SheetLayoutError(f"The workbook {self.path} does not exist; run `ozon-sync init` to create it") \
                from None
        except PermissionError:
            raise SheetBusy(f"The workbook {self.path.name} is in use; writes wait for the next cycle") from None
        if verify_fingerprint and self._fingerprint is not None and fingerprint(self.path, data) != self._fingerprint:
            raise SheetBusy(
                f"The workbook {self.path.name} changed since it was read (someone saved it); writing next cycle"
            )
        return data

    def _patched(self, how: Callable[..., _T], data: bytes, *args: Any, **kwargs: Any) -> _T:
        """``how(data, ...)`` from sync.backends.xlsx, its PatchError said as what to do."""
        try:
            return how(data, *args, **kwargs)
        except xlsx.PatchError as exc:
            raise WorkbookError(f"The workbook {self.path.name} cannot be written ({exc}); restore a backup or "
                                f"move it away and run `ozon-sync init`") from None

    def _grid_of(self, data: bytes) -> Grid:
        """The live tab as values: the grid already parsed when these are the bytes last read."""
        if self._grid is not None and self._grid[0] == hashlib.sha1(data).hexdigest():
            return self._grid[1]
        return self._calamine_grid(data)[0]

    def _write_new_tabs(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        """A read-only tab (FBO, returns) that is not in the workbook yet: the whole write goes through
        openpyxl once, which refuses when saving would lose something it cannot keep. Later writes patch."""
        tabs = self._tab_queue()
        wb, loaded = self._open_for_change()
        foreign = [t for t in tabs if t in wb.sheetnames and not is_mirror(wb[t])]
        ws = self._live_sheet(wb)
        idx = self._sheet_index(ws)
        last = last_used_row(ws)
        limit = self.max_cell_chars
        for w in writes:
            col = self.columns.get(w.field)
            if col is None or col.owner is Owner.STAFF or w.field not in idx or w.row < 2:
                continue
            set_cell(ws.cell(row=w.row, column=idx[w.field]), col, w.value, limit)
        for values in appends:
            last += 1
            for f, text in values.items():
                col = self.columns.get(f)
                if col is None or col.owner is Owner.STAFF or f not in idx:
                    continue
                set_cell(ws.cell(row=last, column=idx[f]), col, text, limit)
        update_filter(ws, last)
        for tab in tabs.values():
            if tab.title not in foreign:
                put_tab(wb, tab, limit)
        self._save(wb, self.path, loaded)
        for title in list(tabs):
            if title not in foreign:
                del tabs[title]

    # --- layout --------------------------------------------------------------------------------

    def ensure_layout(self, layout: Layout) -> None:
        """Lay out the current file. Unlike ``write`` it needs no earlier read: it only touches the
        header and our rules, never data cells by row, so a person's save since our last read is no
        conflict; a save *while* we work still is (the file is compared before it is replaced)."""
        self._layout = layout
        if self.path.exists():
            wb, loaded = self._open_for_change(verify_fingerprint=False)
        else:
            self._check_lock()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wb, loaded = new_workbook(self.template, self.worksheet, self.columns, self.path), None
        lay_out(wb, sheet_for_layout(wb, self.worksheet, self.columns), layout, self.columns)
        self._save(wb, self.path, loaded)

    # --- archive -------------------------------------------------------------------------------

    def archive_path(self, period: str) -> Path:
        safe = re.sub(r"[^\w.-]", "_", period)  # a period is YYYY-MM; never let it name another folder
        return self.path.with_name(f"{self.path.stem}-archive-{safe}{self.path.suffix}")

    def archive_rows(self, rows: Sequence[int], period: str) -> None:
        """Append the rows to the period's archive workbook (ours alone, written by openpyxl), then delete them
        from the live tab by patching its XML: the rows below move up with their notes and merged cells."""
        if not rows:
            return
        data = self._bytes_for_change()
        parts = {sp.title: sp.part for sp in self._patched(xlsx.sheets, data)}
        if self.worksheet not in parts:
            self._calamine_grid(data)  # says the tab is missing, or which tab it was renamed to
        grid = self._grid_of(data)
        self._wanted(grid, ())
        wanted = sorted({r for r in rows if 2 <= r <= len(grid)})
        if not wanted:
            return
        target = self.archive_path(period)
        self._check_lock(target)
        if target.exists():
            archive_loaded: bytes | None = read_bytes(target)
            assert archive_loaded is not None
            refuse_lossy(archive_loaded, target)
            awb = load(archive_loaded, target)
        else:
            archive_loaded = None
            awb = openpyxl.Workbook()
            awb.active.title = self.worksheet
        aws = awb[self.worksheet] if self.worksheet in awb.sheetnames else awb.create_sheet(self.worksheet)
        copy_rows(grid, aws, wanted, self.columns)
        self._save(awb, target, archive_loaded)
        self._replace(self._patched(xlsx.delete_rows, data, parts[self.worksheet], wanted), self.path, data)

    def close(self) -> None:
        """Nothing is held open between calls."""
