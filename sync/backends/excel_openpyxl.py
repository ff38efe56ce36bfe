"""What openpyxl does for the Excel backend: it loads and saves the workbooks it holds (refusing a save that
would lose what it cannot keep), stores the engine's text in typed cells, makes a read-only tab whole, and
appends archived rows to an archive workbook. The live tab's own writes patch its XML instead."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import get_column_letter

from sync.backends.base import MIRROR_MARK, NUMBER_FORMATS, TabContent
from sync.backends.xlsx import link_target
from sync.errors import WorkbookError
from sync.mapping import Column, ColumnMap

LISTS_SHEET = "_lists"  # the hidden sheet that holds the dropdowns' values
DATETIME_NUMBER_FORMAT = "dd.mm.yyyy hh:mm"
TEXT_FORMAT = "@"
LINK_COLOUR = "FF0563C1"  # Excel's Hyperlink style


# --- what openpyxl would lose ---------------------------------------------------------------------

# Zip parts openpyxl drops or rebuilds on save, and how to say it to a person.
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


def refuse_lossy(data: bytes, path: Path) -> None:
    """WorkbookError when an openpyxl save of this workbook would lose something (named), or it is no .xlsx."""
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


# --- workbooks ---------------------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    """openpyxl warns about parts it cannot keep; we check for those ourselves and say it in words."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def load(data: bytes, path: Path) -> Any:
    try:
        with _quiet():
            return openpyxl.load_workbook(io.BytesIO(data))
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise WorkbookError(
            f"The workbook {path.name} cannot be opened ({type(exc).__name__}: {exc}); "
            f"restore a backup or move it away and run `ozon-sync init`"
        ) from None


def workbook_bytes(wb: Any) -> bytes:
    """The workbook openpyxl holds, saved."""
    buf = io.BytesIO()
    with _quiet():
        wb.save(buf)
    return buf.getvalue()


def template_bytes(template: Path | None) -> bytes | None:
    try:
        if template is not None:
            return template.read_bytes()
        return (resources.files("sync.templates") / "orders.xlsx").read_bytes()
    except (OSError, ModuleNotFoundError):
        return None


def is_mirror(ws: Any) -> bool:
    """Was this sheet made by ozon-sync as a read-only mirror? (the mark in the header cell's note)"""
    cell = ws._cells.get((1, 1))  # not ws.cell(): that would add a cell to a sheet we may leave alone
    comment = cell.comment if cell is not None else None
    return comment is not None and str(comment.text).startswith(MIRROR_MARK)


# --- cells ---------------------------------------------------------------------------------------


def clean_text(text: str, limit: int) -> str:
    """Control characters are not allowed in .xlsx cells (openpyxl refuses them); Excel's cell limit."""
    cleaned: str = ILLEGAL_CHARACTERS_RE.sub("", text)
    return cleaned[:limit]


def set_cell(cell: Any, column: Column, text: str, limit: int) -> None:
    """Store the engine's text: numbers and dates typed, everything else as a string cell (never a
    formula, so "=SUM(1)" stays text), text columns formatted as Text so leading zeros survive."""
    if isinstance(cell, MergedCell):
        return  # covered by a merge: the engine leaves such rows alone (Snapshot.blocked); never crash on one
    if column.format == "link":
        set_link(cell, clean_text(text, limit))
        return
    value = column.typed(clean_text(text, limit))
    if value is None:
        cell.value = None
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"
        if column.format == "text" and cell.number_format == "General":
            cell.number_format = TEXT_FORMAT
    else:
        fmt = cell.number_format  # before the value: openpyxl gives a datetime its own ISO-like format
        cell.value = value
        if isinstance(value, datetime | date):
            if not is_date_format(fmt):  # a person's own date format stays; else the sheet's
                cell.number_format = DATETIME_NUMBER_FORMAT
        elif fmt in ("General", TEXT_FORMAT) or is_date_format(fmt):
            cell.number_format = NUMBER_FORMATS.get(column.format, "General")


def set_link(cell: Any, text: str) -> None:
    """A hyperlink cell: the text shown and, as the link, that text (a path relative to the workbook's folder,
    or a URL: see xlsx.link_target); "" empties the cell and removes the link. A cell without a style of its
    own gets the hyperlink look."""
    if not text:
        cell.hyperlink = None
        cell.value = None
        return
    cell.value = text
    cell.data_type = "s"
    cell.hyperlink = link_target(text) or None
    if not cell.has_style:
        cell.font = link_font(cell.font)


def link_font(font: Any) -> Any:
    """The font with the hyperlink look: Excel's hyperlink blue, underlined."""
    out = copy(font)
    out.color = LINK_COLOUR
    out.u = "single"
    return out


def format_column(ws: Any, letter: str, column: Column) -> None:
    """The column's own number format (Text, a date, money): a cell a later patch adds takes its column's
    style, so it shows as the column means (a link column: blue, underlined). Only for a column with a stored
    width: openpyxl writes a default width for any column it styles."""
    fmt = {"text": TEXT_FORMAT, "datetime": DATETIME_NUMBER_FORMAT, **NUMBER_FORMATS}.get(column.format)
    if fmt is not None and letter in ws.column_dimensions:
        ws.column_dimensions[letter].number_format = fmt
    if column.format == "link" and letter in ws.column_dimensions:
        dim = ws.column_dimensions[letter]
        if dim.font.u is None:  # not underlined yet: blue and underlined (an underlined column keeps its colour)
            dim.font = link_font(dim.font)


def last_used_row(ws: Any) -> int:
    """The last row with a value in any column: trailing rows that only carry formatting don't count."""
    # Scan the cells that exist rather than ws[row] for every row: that would create empty cells
    # across thousands of rows a person merely formatted.
    rows = [r for (r, _c), cell in ws._cells.items() if cell.value is not None and cell.value != ""]
    return max(max(rows, default=1), 1)


def header_values(ws: Any) -> list[Any]:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def update_filter(ws: Any, last_row: int | None = None) -> None:
    """The filter over the header and every used row (``last_row`` when the caller knows it)."""
    last_col = max((c.column for c in ws[1] if c.value not in (None, "")), default=1)
    ws.auto_filter.ref = f"A1:{get_column_letter(last_col)}{max(last_row or last_used_row(ws), 1)}"


# --- sheets only openpyxl writes ---------------------------------------------------------------


def put_tab(wb: Any, tab: TabContent, limit: int) -> None:
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
            format_column(ws, get_column_letter(c), col)
    for r, values in enumerate(tab.rows, start=2):
        for c, col in enumerate(tab.columns.columns, start=1):
            text = values.get(col.field, "")
            if text:
                set_cell(ws.cell(row=r, column=c), col, text, limit)
    ws.cell(row=1, column=1).comment = Comment(f"{MIRROR_MARK}. {tab.notice}".strip(), "ozon-sync")
    ws.freeze_panes = "A2"
    width = max(len(tab.columns.columns), 1)
    ws.auto_filter.ref = f"A1:{get_column_letter(width)}{len(tab.rows) + 1}"
    ws.protection.sheet = True
    ws.protection.autoFilter = False


def copy_rows(grid: list[list[Any]], aws: Any, rows: list[int], columns: ColumnMap) -> None:
    """Append whole rows (values as read) to the archive sheet, matching columns by header text (adding
    any the archive lacks), so staff columns travel too; a link column's cells link there as well (the archive
    lies beside the workbook, so a relative link still finds its file)."""
    arch_header = header_values(aws)
    pos = {str(v).strip().casefold(): i + 1 for i, v in enumerate(arch_header) if v not in (None, "")}
    next_col = max(pos.values(), default=0) + 1
    where: dict[int, int] = {}
    by_header = {c.header.strip().casefold(): c for c in columns.columns}
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
    links = {i for i, value in enumerate(grid[0]) if value not in (None, "")
             and (c := by_header.get(str(value).strip().casefold())) is not None and c.format == "link"}
    if aws.freeze_panes is None:
        aws.freeze_panes = "A2"
    out = last_used_row(aws)
    for r in rows:
        out += 1
        values = grid[r - 1]
        for src, dst in where.items():
            value = values[src] if src < len(values) else None
            if value in (None, ""):
                continue
            cell = aws.cell(row=out, column=dst, value=value)
            if src in links:
                set_link(cell, str(value))
            elif isinstance(value, str):
                cell.data_type = "s"
            elif isinstance(value, datetime | date):
                cell.number_format = DATETIME_NUMBER_FORMAT
