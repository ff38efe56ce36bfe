"""The Excel (.xlsx) backend: a workbook on disk that people open in Excel or LibreOffice.

How it stays out of people's way:

* reads take the file's bytes at once and close it (an open handle blocks Excel's save), then
  parse them with python-calamine, which is fast and returns cached formula values;
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
import io
import os
import re
import stat
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import python_calamine
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from sync.backends import xlsx
from sync.backends.base import (
    MIRROR_MARK,
    OZON_SHADE,
    Layout,
    RowReader,
    SheetBackend,
    Snapshot,
    TabContent,
    header_index,
    not_ours,
    renamed_tab,
)
from sync.errors import SheetBusy, SheetLayoutError, WorkbookError
from sync.mapping import Column, ColumnMap
from sync.model import CellWrite, Owner, SheetRow

LISTS_SHEET = "_lists"
LIST_NAME_PREFIX = "ozon_sync_list_"
LAST_LAYOUT_ROW = 100000  # dropdowns and colours cover rows 2..this; also how we recognise our own rules
STALE_LOCK_HOURS = 12
DATETIME_NUMBER_FORMAT = "dd.mm.yyyy hh:mm"
NUMBER_FORMATS = {"integer": "0", "money": "#,##0.00"}
TEXT_FORMAT = "@"


# --- fingerprints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """What a version of the file looks like: mtime alone is not enough (sync tools round or keep it)."""

    size: int
    mtime_ns: int
    sha1: str


def _fingerprint(path: Path, data: bytes) -> Fingerprint:
    st = path.stat()
    return Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha1(data).hexdigest())


def _read_bytes(path: Path) -> bytes:
    """The whole file, with the handle closed at once so Excel can still save over it."""
    with open(path, "rb") as fh:
        return fh.read()


# --- lock files ----------------------------------------------------------------------------------


def _split_lo_fields(text: str) -> list[str]:
    """LibreOffice's lock line: comma-separated fields, ``;`` at the end, backslash escapes."""
    fields, cur, escaped = [], [], False
    for ch in text.strip():
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            fields.append("".join(cur))
            cur = []
        elif ch == ";":
            break
        else:
            cur.append(ch)
    fields.append("".join(cur))
    return [f.strip() for f in fields]


def _libreoffice_holder(data: bytes) -> str:
    fields = _split_lo_fields(data.decode("utf-8", errors="replace")) + ["", "", "", ""]
    full_name, user, host, since = fields[0], fields[1], fields[2], fields[3]
    who = full_name or user or "someone"
    where = f" on {host}" if host and not full_name else ""
    when = f" (since {since})" if since else ""
    return f"The workbook is open in LibreOffice by {who}{where}{when}; writes wait until it is closed"


def _printable(name: str) -> bool:
    return bool(name) and all(ch.isprintable() for ch in name)


def _excel_owner_name(data: bytes) -> str | None:
    """Best effort: Excel's ``~$`` owner file starts with a length byte and the user name in the
    ANSI code page, and holds the name again in UTF-16 a little further on (around byte 54)."""
    for len_at, name_at in ((54, 56), (55, 57), (53, 55)):
        if len(data) >= name_at:
            n = int.from_bytes(data[len_at:len_at + 2], "little")
            if 0 < n <= 54 and name_at + 2 * n <= len(data):
                try:
                    name = data[name_at:name_at + 2 * n].decode("utf-16-le")
                except UnicodeDecodeError:
                    continue
                if _printable(name.strip()):
                    return name.strip()
    if data and 0 < data[0] <= 53 and len(data) > data[0]:
        name = data[1:1 + data[0]].decode("cp1251", errors="replace").strip()
        if _printable(name):
            return name
    return None


def _since(path: Path) -> str:
    try:
        return time.strftime("%d.%m.%Y %H:%M", time.localtime(path.stat().st_mtime))
    except OSError:
        return ""


# --- what openpyxl would lose ---------------------------------------------------------------------

# Zip parts openpyxl drops or rebuilds on save, and how to say it to a person.
SAVE_SETTLE = 0.5  # seconds to wait before deciding an unreadable workbook is damaged, not half-saved
_LOSSY_PARTS: tuple[tuple[str, str], ...] = (
    ("xl/media/", "pictures"),
    ("xl/charts/", "charts"),
    ("xl/slicers/", "slicers"),
    ("xl/slicerCaches/", "slicers"),
    ("xl/timelines/", "timelines"),
    ("xl/activeX/", "ActiveX controls"),
    ("xl/ctrlProps/", "form controls (buttons, check boxes)"),
    ("xl/embeddings/", "embedded objects"),
    ("xl/threadedComments/", "threaded comments (use Notes instead)"),
    ("xl/vbaProject.bin", "macros"),
)
# Excel 2010+ extension blocks inside a sheet's XML that openpyxl removes.
_LOSSY_EXTENSIONS: tuple[tuple[str, str], ...] = (
    ("x14:sparklineGroups", "sparklines"),
    ("x14:conditionalFormattings", "conditional formatting made in newer Excel (data bars, icon sets)"),
    ("x14:slicerList", "slicers"),
    ("x15:timelineRefs", "timelines"),
)
_ANCHOR = re.compile(rb"<(?:\w+:)?(?:twoCellAnchor|oneCellAnchor|absoluteAnchor)\b")
_X14_VALIDATION = re.compile(r"<x14:dataValidation\b.*?</x14:dataValidation>", re.S)


def _lossy_content(data: bytes) -> list[str]:
    """Names of things in the workbook that openpyxl would drop (or rebuild badly) on save."""
    found: list[str] = []

    def add(what: str) -> None:
        if what not in found:
            found.append(what)

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        for name in names:
            for prefix, what in _LOSSY_PARTS:
                if name.startswith(prefix):
                    add(what)
            # xl/drawings/drawingN.xml holds pictures, shapes, text boxes and charts; vmlDrawingN.vml
            # only carries comment boxes, which openpyxl keeps.
            if name.startswith("xl/drawings/drawing") and name.endswith(".xml") and _ANCHOR.search(zf.read(name)):
                add("pictures, shapes or text boxes")  # LibreOffice adds empty ones beside notes: those hold nothing
        for name in names:
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            xml = zf.read(name).decode("utf-8", errors="replace")
            for tag, what in _LOSSY_EXTENSIONS:
                if tag in xml:
                    add(what)
            # A dropdown Excel stored as an extension is lost; ours (from the lists sheet) is re-created.
            if any(LISTS_SHEET not in block for block in _X14_VALIDATION.findall(xml)):
                add("dropdowns (data validation) made in newer Excel")
    return found


# --- cells ---------------------------------------------------------------------------------------


def _clean_text(text: str, limit: int) -> str:
    """Control characters are not allowed in .xlsx cells (openpyxl refuses them); Excel's cell limit."""
    cleaned: str = ILLEGAL_CHARACTERS_RE.sub("", text)
    return cleaned[:limit]


def _set_cell(cell: Any, column: Column, text: str, limit: int) -> None:
    """Store the engine's text: numbers and dates typed, everything else as a string cell (never a
    formula, so "=SUM(1)" stays text), text columns formatted as Text so leading zeros survive."""
    if isinstance(cell, MergedCell):
        return  # covered by a merge: the engine leaves such rows alone (Snapshot.blocked); never crash on one
    value = column.typed(_clean_text(text, limit))
    if value is None:
        cell.value = None
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"
        if column.format == "text" and cell.number_format == "General":
            cell.number_format = TEXT_FORMAT
    else:
        cell.value = value
        fmt = cell.number_format
        if isinstance(value, datetime | date):
            if not is_date_format(fmt):
                cell.number_format = DATETIME_NUMBER_FORMAT
        elif fmt in ("General", TEXT_FORMAT) or is_date_format(fmt):
            cell.number_format = NUMBER_FORMATS.get(column.format, "General")


def _format_column(ws: Any, letter: str, column: Column) -> None:
    """The column's own number format (Text, a date, money): a cell a later patch adds takes its column's
    style, so it shows as the column means. Only for a column with a stored width: openpyxl writes a
    default width for any column it styles."""
    fmt = {"text": TEXT_FORMAT, "datetime": DATETIME_NUMBER_FORMAT, **NUMBER_FORMATS}.get(column.format)
    if fmt is not None and letter in ws.column_dimensions:
        ws.column_dimensions[letter].number_format = fmt


def _last_used_row(ws: Any) -> int:
    """The last row with a value in any column: trailing rows that only carry formatting don't count."""
    # Scan the cells that exist rather than ws[row] for every row: that would create empty cells
    # across thousands of rows a person merely formatted.
    rows = [r for (r, _c), cell in ws._cells.items() if cell.value is not None and cell.value != ""]
    return max(max(rows, default=1), 1)


def _header_values(ws: Any) -> list[Any]:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


@contextmanager
def _quiet() -> Iterator[None]:
    """openpyxl warns about parts it cannot keep; we check for those ourselves and say it in words."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _load(data: bytes, path: Path) -> Any:
    try:
        with _quiet():
            return openpyxl.load_workbook(io.BytesIO(data))
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise WorkbookError(
            f"The workbook {path.name} cannot be opened ({type(exc).__name__}: {exc}); "
            f"restore a backup or move it away and run `ozon-sync init`"
        ) from None


def _same_access(fd: int, original: Path) -> None:
    """Give the file about to replace ``original`` its mode, owner and group, so people who share the
    workbook through a group keep their access; a new workbook gets the usual mode (umask applies)."""
    try:
        st = original.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        return
    if hasattr(os, "fchown"):
        for uid, gid in ((st.st_uid, st.st_gid), (-1, st.st_gid)):  # only root may give the file away
            try:
                os.fchown(fd, uid, gid)
                break
            except PermissionError:
                continue
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


def remove_stale_temporaries(path: Path) -> list[str]:
    """Delete the temporary files a save of this workbook (or of its archives) left when the process was
    killed mid-save. Only ours: ``.<stem>.<random>.tmp`` beside it; called at start, under the state's lock."""
    rx = re.compile(rf"\.{re.escape(path.stem)}(-archive-[\w.-]+)?\.[A-Za-z0-9_]{{8}}\.tmp")
    removed: list[str] = []
    try:
        strays = [p for p in path.parent.iterdir() if rx.fullmatch(p.name) and p.is_file()]
    except OSError:
        return removed
    for stray in strays:
        try:
            stray.unlink()
            removed.append(stray.name)
        except OSError:
            continue
    return removed


def _template_bytes(template: Path | None) -> bytes | None:
    try:
        if template is not None:
            return template.read_bytes()
        return (resources.files("sync.templates") / "orders.xlsx").read_bytes()
    except (OSError, ModuleNotFoundError):
        return None


def _ours(ws: Any) -> bool:
    """Was this sheet made by ozon-sync as a read-only mirror? (the mark in the header cell's note)"""
    cell = ws._cells.get((1, 1))  # not ws.cell(): that would add a cell to a sheet we may leave alone
    comment = cell.comment if cell is not None else None
    return comment is not None and str(comment.text).startswith(MIRROR_MARK)


_Merge = tuple[tuple[int, int], tuple[int, int]]  # ((first row, first col), (last row, last col)), 0-based
_Wanted = list[tuple[str, Column, int]]
_T = TypeVar("_T")  # (field, its column, its 0-based index in a grid row)


# --- the backend ---------------------------------------------------------------------------------


class ExcelBackend(SheetBackend):
    """One worksheet of an .xlsx workbook; see the module docstring for how it shares the file."""

    name = "excel"
    max_cell_chars = 32767

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
        self._grid: tuple[str, list[list[Any]]] | None = None
        self._merged: list[_Merge] = []  # merged ranges of the live tab as last read
        self._converted: dict[tuple[tuple[str, int], ...], dict[tuple[Any, ...], tuple[str, ...]]] = {}
        self.saves = 0  # workbooks saved (patched or, for a new tab, rebuilt by openpyxl), for tests and benchmarks

    # --- reading -------------------------------------------------------------------------------

    def read(self, fields: Sequence[str]) -> Snapshot:
        try:
            data = _read_bytes(self.path)
        except FileNotFoundError:
            raise SheetLayoutError(
                f"The workbook {self.path} does not exist; run `ozon-sync init` to create it"
            ) from None
        except PermissionError:
            raise SheetBusy(f"The workbook {self.path.name} cannot be read right now (in use); retrying next cycle") \
                from None
        fingerprint = _fingerprint(self.path, data)
        try:
            # The same bytes as last read (an idle cycle, the re-read before a write): the same grid.
            if not (self._grid and self._grid[0] == fingerprint.sha1):
                grid, self._merged = self._calamine_grid(data)
            else:
                grid = self._grid[1]
        except WorkbookError:
            # A program that writes the file in place (openpyxl, some sync clients) shows a half-written
            # file for a moment: if the bytes are changing, it is being saved, not damaged.
            self.sleep(SAVE_SETTLE)
            if _read_bytes(self.path) != data:
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
        self._grid = (fingerprint.sha1, grid)
        self._fingerprint = fingerprint
        return Snapshot(rows, frozenset(f for f in fields if f not in idx), self._blocked(grid[0]))

    def _blocked(self, header: list[Any]) -> dict[int, str]:
        """Rows the sync cannot write because a merged range covers one of their written cells (only a
        merge's top-left cell holds a value): row -> what to do, in words."""
        idx = header_index(header, self.columns)
        written = {i: c.header for f, i in idx.items() if (c := self.columns.get(f)) and c.owner is not Owner.STAFF}
        blocked: dict[int, str] = {}
        for (r0, c0), (r1, c1) in self._merged:
            covered = [(r, c) for r in range(max(r0, 1), r1 + 1) for c in range(c0, c1 + 1)
                       if (r, c) != (r0, c0) and c in written]
            if not covered:
                continue
            ref = f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}"
            headers = ", ".join(f"«{written[c]}»" for c in sorted({c for _r, c in covered}))
            why = (f"Cells {ref} of «{self.worksheet}» are merged over {headers}, and the sync cannot write into "
                   f"merged cells: select {ref} and unmerge it (Excel: Home → Merge & Center → Unmerge Cells; "
                   f"LibreOffice: Format → Merge and Unmerge Cells → Unmerge Cells). Until then rows "
                   f"{r0 + 1}–{r1 + 1} are neither pushed nor written; the other rows are")
            for r, _c in covered:
                blocked[r + 1] = why
        return blocked

    def _wanted(self, grid: list[list[Any]], fields: Sequence[str]) -> tuple[dict[str, int], _Wanted]:
        """The header's columns, and (field, column, 0-based index) of the fields the sheet has."""
        if not grid or not any(v not in (None, "") for v in grid[0]):
            raise SheetLayoutError(
                f"The sheet «{self.worksheet}» has no header row; run `ozon-sync init` to lay it out"
            )
        idx = header_index(grid[0], self.columns)
        if self.columns.key.field not in idx:
            raise SheetLayoutError(
                f"The key column «{self.columns.key.header}» is missing from the header of «{self.worksheet}»; "
                f"restore it (or run `ozon-sync init`) before syncing"
            )
        return idx, [(f, c, idx[f]) for f in fields if f in idx and (c := self.columns.get(f)) is not None]

    def read_rows(self, fields: Sequence[str], rows: Collection[int]) -> dict[int, tuple[str, ...]]:
        """The file unchanged since the last read (its bytes' hash): those rows from the grid already parsed;
        else the whole read."""
        try:
            current: str | None = hashlib.sha1(_read_bytes(self.path)).hexdigest()
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

    def _calamine_grid(self, data: bytes) -> tuple[list[list[Any]], list[_Merge]]:
        """The sheet as rows of values from A1 (calamine gives cached values for formulas), and its merged
        ranges."""
        try:
            wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises its own errors and plain ones for a damaged zip
            raise WorkbookError(
                f"The workbook {self.path.name} cannot be read ({exc}); it may be damaged: "
                f"restore a backup or move it away and run `ozon-sync init`"
            ) from None
        try:
            if self.worksheet not in wb.sheet_names:
                tabs = [(name, next(wb.get_sheet_by_name(name).iter_rows(), [])) for name in wb.sheet_names]
                raise SheetLayoutError(
                    renamed_tab(self.worksheet, tabs, self.columns)
                    or f"The workbook {self.path.name} has no sheet «{self.worksheet}»; "
                       f"run `ozon-sync init` to add it (or fix `worksheet:` in the config)"
                )
            try:
                sheet = wb.get_sheet_by_name(self.worksheet)
                return sheet.to_python(skip_empty_area=False), list(sheet.merged_cell_ranges or [])
            except Exception as exc:
                raise WorkbookError(f"The sheet «{self.worksheet}» cannot be read ({exc})") from None
        finally:
            wb.close()

    # --- locks and conflicts -------------------------------------------------------------------

    def _lock_files(self, path: Path | None = None) -> list[tuple[str, Path]]:
        path = path or self.path
        name = path.name
        candidates = [
            ("libreoffice", path.with_name(f".~lock.{name}#")),
            ("excel", path.with_name(f"~${name}")),
        ]
        if len(name) > 2:
            candidates.append(("excel", path.with_name(f"~${name[2:]}")))
        return [(kind, p) for kind, p in candidates if p.exists()]

    def lock_holder(self, path: Path | None = None) -> str | None:
        for kind, lock in self._lock_files(path):
            try:
                data = lock.read_bytes()
            except OSError:
                data = b""
            if kind == "libreoffice":
                text = _libreoffice_holder(data)
            else:
                who = _excel_owner_name(data) or "someone"
                since = _since(lock)
                text = f"The workbook is open in Excel by {who}{f' (since {since})' if since else ''}; " \
                       f"writes wait until it is closed"
            return text + self._stale_hint(lock)
        return None

    def _stale_hint(self, lock: Path) -> str:
        try:
            age_h = (self.clock() - lock.stat().st_mtime) / 3600
        except OSError:
            return ""
        if age_h < STALE_LOCK_HOURS:
            return ""
        return (f" (the lock file {lock.name} is {int(age_h)} hours old: if nobody has the workbook open, "
                f"delete that file)")

    def conflict_copies(self) -> list[str]:
        """Files beside the workbook that sync clients (OneDrive, Dropbox, Syncthing, Nextcloud) made
        when two people saved at once: their edits are not in the live workbook."""
        stem, suffix = re.escape(self.path.stem), re.escape(self.path.suffix)
        patterns = [
            rf"{stem} \(\d+\){suffix}",  # orders (1).xlsx
            rf"{stem} \([^)]*conflict[^)]*\){suffix}",  # Dropbox / Nextcloud "(... conflicted copy ...)"
            rf"{stem}\.sync-conflict-\d{{8}}-\d{{6}}(-[A-Za-z0-9]+)?{suffix}",  # Syncthing
            rf"{stem}-(?!archive-)[A-Za-z0-9][A-Za-z0-9_-]*{suffix}",  # OneDrive: orders-DESKTOP-AB12.xlsx
        ]
        rx = re.compile("|".join(f"(?:{p})" for p in patterns), re.I)
        try:
            names = [p.name for p in self.path.parent.iterdir() if p.is_file()]
        except OSError:
            return []
        return sorted(n for n in names if n != self.path.name and rx.fullmatch(n))

    def clean_up(self) -> list[str]:
        return remove_stale_temporaries(self.path)

    def _check_lock(self, path: Path | None = None) -> None:
        """SheetBusy while the file may not be written: a lock file beside it, or the file marked read-only
        (our save replaces the file, which the folder would allow, but the person asked for it to stay)."""
        path = path or self.path
        holder = self.lock_holder(path)
        if holder:
            raise SheetBusy(holder)
        try:
            read_only = not path.stat().st_mode & 0o222
        except FileNotFoundError:
            return
        if read_only:
            raise SheetBusy(f"The workbook {path.name} is marked read-only; writes wait until it is writable again "
                            f"(clear «Read-only» in its properties, or chmod u+w {path.name}). Edits are still pushed.")

    # --- loading and saving for a change -------------------------------------------------------

    def _open_for_change(self, *, verify_fingerprint: bool = True) -> tuple[Any, bytes]:
        """The live workbook loaded with openpyxl, after every check that must pass before a save."""
        data = self._bytes_for_change(verify_fingerprint=verify_fingerprint)
        self._refuse_lossy(data, self.path)
        return _load(data, self.path), data

    @staticmethod
    def _refuse_lossy(data: bytes, path: Path) -> None:
        try:
            lost = _lossy_content(data)
        except zipfile.BadZipFile:
            raise WorkbookError(
                f"The workbook {path.name} is not a valid .xlsx file; restore a backup or move it away "
                f"and run `ozon-sync init`"
            ) from None
        if lost:
            raise WorkbookError(
                f"The workbook {path.name} holds {', '.join(lost)}, which would be lost when the sync saves it; "
                f"move them to another workbook (keep this one for the orders only), then sync again"
            )

    def _save(self, wb: Any, path: Path, loaded: bytes | None) -> None:
        """Save a workbook openpyxl holds (a new one, the archive, a layout): see _replace."""
        buf = io.BytesIO()
        with _quiet():
            wb.save(buf)
        self._replace(buf.getvalue(), path, loaded)

    def _replace(self, data: bytes, path: Path, loaded: bytes | None) -> None:
        """Save atomically: a temporary file in the same folder, with the original's mode and owner, replaces
        the workbook in one step. ``loaded`` is the bytes we started from: if the file changed meanwhile,
        nothing is replaced."""
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                _same_access(fh.fileno(), path)
                os.fsync(fh.fileno())
            self._check_lock(path)
            current = _read_bytes(path) if path.exists() else None
            if current != loaded:
                raise SheetBusy(f"The workbook {path.name} changed while the sync was saving it; writing next cycle")
            try:
                os.replace(tmp, path)
            except PermissionError:
                raise SheetBusy(
                    f"The workbook {path.name} is open elsewhere and cannot be replaced; writes wait for the next cycle"
                ) from None
        finally:
            if tmp.exists():
                tmp.unlink()
        if path == self.path:
            self._fingerprint = _fingerprint(path, data)
        self.saves += 1

    def _live_sheet(self, wb: Any) -> Any:
        if self.worksheet not in wb.sheetnames:
            raise SheetLayoutError(
                self._renamed(wb)
                or f"The workbook {self.path.name} has no sheet «{self.worksheet}»; run `ozon-sync init` to add it"
            )
        return wb[self.worksheet]

    def _renamed(self, wb: Any) -> str | None:
        """The refusal when the live tab is there under another name (see renamed_tab)."""
        return renamed_tab(self.worksheet, [(ws.title, _header_values(ws)) for ws in wb.worksheets], self.columns)

    def _sheet_index(self, ws: Any) -> dict[str, int]:
        """field -> 1-based column number; the key column must be there."""
        idx = {f: i + 1 for f, i in header_index(_header_values(ws), self.columns).items()}
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
                cells[(w.row, idx[w.field])] = col.typed(_clean_text(w.value, limit))
        rows = [{idx[f]: col.typed(_clean_text(text, limit)) for f, text in values.items()
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
                    [c.typed(_clean_text(r.get(c.field, ""), limit)) for c in tab.columns.columns] for r in tab.rows]
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
            data = _read_bytes(self.path)
        except FileNotFoundError:
            raise SheetLayoutError(f"The workbook {self.path} does not exist; run `ozon-sync init` to create it") \
                from None
        except PermissionError:
            raise SheetBusy(f"The workbook {self.path.name} is in use; writes wait for the next cycle") from None
        if verify_fingerprint and self._fingerprint is not None and _fingerprint(self.path, data) != self._fingerprint:
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

    def _grid_of(self, data: bytes) -> list[list[Any]]:
        """The live tab as values: the grid already parsed when these are the bytes last read."""
        if self._grid is not None and self._grid[0] == hashlib.sha1(data).hexdigest():
            return self._grid[1]
        return self._calamine_grid(data)[0]

    def _write_new_tabs(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        """A read-only tab (FBO, returns) that is not in the workbook yet: the whole write goes through
        openpyxl once, which refuses when saving would lose something it cannot keep. Later writes patch."""
        tabs = self._tab_queue()
        wb, loaded = self._open_for_change()
        foreign = [t for t in tabs if t in wb.sheetnames and not _ours(wb[t])]
        ws = self._live_sheet(wb)
        idx = self._sheet_index(ws)
        last = _last_used_row(ws)
        limit = self.max_cell_chars
        for w in writes:
            col = self.columns.get(w.field)
            if col is None or col.owner is Owner.STAFF or w.field not in idx or w.row < 2:
                continue
            _set_cell(ws.cell(row=w.row, column=idx[w.field]), col, w.value, limit)
        for values in appends:
            last += 1
            for f, text in values.items():
                col = self.columns.get(f)
                if col is None or col.owner is Owner.STAFF or f not in idx:
                    continue
                _set_cell(ws.cell(row=last, column=idx[f]), col, text, limit)
        self._update_filter(ws, last)
        for tab in tabs.values():
            if tab.title not in foreign:
                self._put_tab(wb, tab)
        self._save(wb, self.path, loaded)
        for title in list(tabs):
            if title not in foreign:
                del tabs[title]

    def _put_tab(self, wb: Any, tab: TabContent) -> None:
        """Replace a read-only tab whole (a fresh sheet at the same place): bold frozen header with the
        notice as its note, column widths, a filter, and sheet protection without a password (editing
        warns; filtering still works)."""
        index = None
        if tab.title in wb.sheetnames:
            index = wb.sheetnames.index(tab.title)
            wb.remove(wb[tab.title])
        ws = wb.create_sheet(tab.title, index)
        bold = Font(bold=True)
        for c, col in enumerate(tab.columns.columns, start=1):
            cell = ws.cell(row=1, column=c, value=col.header)
            cell.data_type = "s"
            cell.font = bold
            if col.width:
                ws.column_dimensions[get_column_letter(c)].width = col.width
                _format_column(ws, get_column_letter(c), col)
        for r, values in enumerate(tab.rows, start=2):
            for c, col in enumerate(tab.columns.columns, start=1):
                text = values.get(col.field, "")
                if text:
                    _set_cell(ws.cell(row=r, column=c), col, text, self.max_cell_chars)
        ws.cell(row=1, column=1).comment = Comment(f"{MIRROR_MARK}. {tab.notice}".strip(), "ozon-sync")
        ws.freeze_panes = "A2"
        width = max(len(tab.columns.columns), 1)
        ws.auto_filter.ref = f"A1:{get_column_letter(width)}{len(tab.rows) + 1}"
        ws.protection.sheet = True
        ws.protection.autoFilter = False

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
            wb, loaded = self._new_workbook(), None
        ws = self._sheet_for_layout(wb)
        idx = self._lay_header(ws)
        self._apply_rules(wb, ws, layout, idx)
        self._update_filter(ws)
        if ws.freeze_panes is None:
            ws.freeze_panes = "A2"
        if layout.protect:
            self._protect(ws, idx)
        self._save(wb, self.path, loaded)

    def _new_workbook(self) -> Any:
        """A new workbook from the template when its header is the mapping's, else a blank one."""
        data = _template_bytes(self.template)
        if data is not None:
            wb = _load(data, self.path)
            ws = wb.worksheets[0]
            headers = [str(v).strip() for v in _header_values(ws) if v is not None]
            if len(wb.worksheets) == 1 and headers == [c.header for c in self.columns.columns]:
                ws.title = self.worksheet
                wb.template = False
                return wb
        wb = openpyxl.Workbook()
        wb.active.title = self.worksheet
        return wb

    def _sheet_for_layout(self, wb: Any) -> Any:
        if self.worksheet in wb.sheetnames:
            return wb[self.worksheet]
        renamed = self._renamed(wb)
        if renamed:  # a second, empty live tab would strand what is typed in the renamed one
            raise SheetLayoutError(renamed)
        sheets = [s for s in wb.worksheets if s.title != LISTS_SHEET]
        if len(sheets) == 1 and sheets[0].max_row == 1 and sheets[0].max_column == 1 and sheets[0]["A1"].value is None:
            sheets[0].title = self.worksheet
            return sheets[0]
        return wb.create_sheet(self.worksheet)

    def _lay_header(self, ws: Any) -> dict[str, int]:
        """Add missing header cells at the end of row 1 (never moving, renaming or clearing one) and
        style the mapped ones: bold, Ozon-owned shaded. Widths only for columns created now."""
        header = _header_values(ws)
        found = header_index(header, self.columns)
        next_col = max((i + 1 for i, v in enumerate(header) if v not in (None, "")), default=0) + 1
        idx = {f: i + 1 for f, i in found.items()}
        for col in self.columns.columns:
            if col.field in idx:
                continue
            ws.cell(row=1, column=next_col, value=col.header).data_type = "s"
            if col.width:
                ws.column_dimensions[get_column_letter(next_col)].width = col.width
            idx[col.field] = next_col
            next_col += 1
        shade = PatternFill(start_color=OZON_SHADE, end_color=OZON_SHADE, fill_type="solid")
        for col in self.columns.columns:
            cell = ws.cell(row=1, column=idx[col.field])
            if not cell.font.b:
                font = copy(cell.font)
                font.b = True
                cell.font = font
            if col.owner in (Owner.OZON, Owner.KEY) and cell.fill.fill_type is None:
                cell.fill = shade
            # A column-wide Text format keeps what people type there text; a date column's format makes the
            # rows a later write adds show dates.
            if col.format != "text" or col.owner in (Owner.KEY, Owner.BOTH):
                _format_column(ws, get_column_letter(idx[col.field]), col)
        return idx

    def _apply_rules(self, wb: Any, ws: Any, layout: Layout, idx: dict[str, int]) -> None:
        """Dropdowns from the hidden lists sheet and colours per status label; ours are removed and
        re-added each time so nothing duplicates and a moved column takes its rules along."""
        lists = self._write_lists(wb, layout)
        ws.data_validations.dataValidation = [
            dv for dv in ws.data_validations.dataValidation if not self._ours_validation(dv)
        ]
        for field, name in lists.items():
            if field not in idx:
                continue
            letter = get_column_letter(idx[field])
            dv = DataValidation(type="list", formula1=name, allow_blank=True, showErrorMessage=True,
                                errorStyle="warning", showDropDown=False)
            dv.error = "This value is not in the list; the sync will check it and note the row if it cannot be used."
            dv.errorTitle = "Not in the list"
            dv.add(f"{letter}2:{letter}{LAST_LAYOUT_ROW}")
            ws.add_data_validation(dv)
        self._apply_colours(ws, layout, idx)

    @staticmethod
    def _ours_validation(dv: Any) -> bool:
        formula = str(dv.formula1 or "")
        return formula.startswith(LIST_NAME_PREFIX) or LISTS_SHEET in formula

    @staticmethod
    def _write_lists(wb: Any, layout: Layout) -> dict[str, str]:
        """One column per dropdown on a hidden sheet, each behind a defined name: a standard
        validation that points at a name survives Excel and openpyxl alike."""
        if LISTS_SHEET in wb.sheetnames:
            sheet = wb[LISTS_SHEET]
            sheet.delete_cols(1, sheet.max_column + 1)
        else:
            sheet = wb.create_sheet(LISTS_SHEET)
        sheet.sheet_state = "hidden"
        for name in [n for n in wb.defined_names if n.startswith(LIST_NAME_PREFIX)]:
            del wb.defined_names[name]
        names: dict[str, str] = {}
        column = 0
        for field, values in layout.dropdowns.items():
            if not values:
                continue
            column += 1
            letter = get_column_letter(column)
            for r, value in enumerate(values, start=1):
                sheet.cell(row=r, column=column, value=value).data_type = "s"
            name = f"{LIST_NAME_PREFIX}{field}"
            wb.defined_names[name] = DefinedName(name, attr_text=f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(values)}")
            names[field] = name
        return names

    @staticmethod
    def _apply_colours(ws: Any, layout: Layout, idx: dict[str, int]) -> None:
        ours = re.compile(rf"^[A-Z]+2:[A-Z]+{LAST_LAYOUT_ROW}$")
        kept: list[tuple[str, Any]] = []
        for cf in ws.conditional_formatting:
            ref = str(cf.sqref)
            for rule in cf.rules:
                if not (ours.match(ref) and rule.type == "cellIs"):
                    kept.append((ref, rule))
        ws.conditional_formatting = ConditionalFormattingList()
        for ref, rule in kept:
            ws.conditional_formatting.add(ref, rule)
        if "status" not in idx:
            return
        letter = get_column_letter(idx["status"])
        ref = f"{letter}2:{letter}{LAST_LAYOUT_ROW}"
        for label, colour in layout.status_colours.items():
            fill = PatternFill(start_color=colour, end_color=colour, fill_type="solid")
            quoted = '"' + label.replace('"', '""') + '"'
            ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[quoted], fill=fill))

    @staticmethod
    def _update_filter(ws: Any, last_row: int | None = None) -> None:
        """The filter over the header and every used row (``last_row`` when the caller knows it)."""
        last_col = max((c.column for c in ws[1] if c.value not in (None, "")), default=1)
        ws.auto_filter.ref = f"A1:{get_column_letter(last_col)}{max(last_row or _last_used_row(ws), 1)}"

    def _protect(self, ws: Any, idx: dict[str, int]) -> None:
        """Sheet protection that still lets people sort, filter and edit staff and shared columns."""
        ws.protection.sheet = True
        for attr in ("sort", "autoFilter", "formatColumns", "formatRows", "insertRows", "deleteRows"):
            setattr(ws.protection, attr, False)
        last = _last_used_row(ws)
        for col in self.columns.columns:
            if col.owner in (Owner.STAFF, Owner.BOTH) and col.field in idx:
                c = idx[col.field]
                ws.column_dimensions[get_column_letter(c)].protection = Protection(locked=False)
                for r in range(2, last + 1):
                    ws.cell(row=r, column=c).protection = Protection(locked=False)

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
            archive_loaded: bytes | None = _read_bytes(target)
            assert archive_loaded is not None
            self._refuse_lossy(archive_loaded, target)
            awb = _load(archive_loaded, target)
        else:
            archive_loaded = None
            awb = openpyxl.Workbook()
            awb.active.title = self.worksheet
        aws = awb[self.worksheet] if self.worksheet in awb.sheetnames else awb.create_sheet(self.worksheet)
        self._copy_rows(grid, aws, wanted)
        self._save(awb, target, archive_loaded)
        self._replace(self._patched(xlsx.delete_rows, data, parts[self.worksheet], wanted), self.path, data)

    def _copy_rows(self, grid: list[list[Any]], aws: Any, rows: list[int]) -> None:
        """Append whole rows (values as read) to the archive sheet, matching columns by header text (adding
        any the archive lacks), so staff columns travel too."""
        arch_header = _header_values(aws)
        pos = {str(v).strip().casefold(): i + 1 for i, v in enumerate(arch_header) if v not in (None, "")}
        next_col = max(pos.values(), default=0) + 1
        where: dict[int, int] = {}
        by_header = {c.header.strip().casefold(): c for c in self.columns.columns}
        for i, value in enumerate(grid[0]):
            if value in (None, ""):
                continue
            key = str(value).strip().casefold()
            if key not in pos:
                cell = aws.cell(row=1, column=next_col, value=str(value))
                cell.data_type = "s"
                cell.font = Font(b=True)
                col = by_header.get(key)
                if col is not None and col.width:
                    aws.column_dimensions[get_column_letter(next_col)].width = col.width
                pos[key] = next_col
                next_col += 1
            where[i] = pos[key]
        if aws.freeze_panes is None:
            aws.freeze_panes = "A2"
        out = _last_used_row(aws)
        for r in rows:
            out += 1
            values = grid[r - 1]
            for src, dst in where.items():
                value = values[src] if src < len(values) else None
                if value in (None, ""):
                    continue
                cell = aws.cell(row=out, column=dst, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                elif isinstance(value, datetime | date):
                    cell.number_format = DATETIME_NUMBER_FORMAT

    def close(self) -> None:
        """Nothing is held open between calls."""
