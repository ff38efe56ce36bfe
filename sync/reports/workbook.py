"""The xlsx writing every report shares: number formats, the styled write-only :class:`Sheet`, the texts
each report prints (products, period, when and from what it was made), and the atomic save.

Large exports stream: openpyxl write-only worksheets (styles set per cell in code, since write-only cannot
open a template), so memory stays flat in the number of postings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from sync.errors import FatalError
from sync.model import Posting
from sync.reports.request import Request

RUB = '#,##0.00 "₽"'
UNITS = "#,##0"
HOURS = "0.0"
DATE = "DD.MM.YYYY"
DATETIME = "DD.MM.YYYY HH:MM"

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_TOTAL_FONT = Font(bold=True)
_TOTAL_BORDER = Border(top=Side(style="medium"))
_THIN = Border(*(Side(style="thin", color="A6A6A6"),) * 4)
_NOTE_FONT = Font(italic=True, color="595959")
_LATE_FONT = Font(color="C00000")
_WRAP = Alignment(wrap_text=True, vertical="top")
_FORMATS = {"int": UNITS, "rub": RUB, "date": DATE, "datetime": DATETIME, "hours": HOURS}

T = TypeVar("T")


def write(path: Path, fill: Callable[[Workbook], T]) -> T:
    """A write-only workbook filled by ``fill`` and saved to ``path`` (written to a temporary file, then
    renamed, so a failed export never leaves half a workbook behind); returns what ``fill`` returned."""
    wb = Workbook(write_only=True)
    try:
        result = fill(wb)
    except BaseException:
        _discard(wb)
        raise
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise FatalError(f"Cannot write {path}: {exc.strerror or exc}; choose another -o path") from None
    finally:
        tmp.unlink(missing_ok=True)
    return result


def _discard(wb: Workbook) -> None:
    """Close a half-built write-only workbook's sheets and remove their temporary files."""
    for ws in wb.worksheets:
        try:
            ws.close()
        except Exception:  # noqa: S110 - best effort: the original error is the one to report
            pass
        writer = getattr(ws, "_writer", None)
        if writer is not None:
            writer.cleanup()


def products_text(p: Posting) -> str:
    return "; ".join(f"{x.name} × {x.quantity}" for x in p.products)


def period_text(req: Request) -> str:
    assert req.start is not None and req.end is not None
    return f"{req.start:%d.%m.%Y}–{req.end:%d.%m.%Y}"


def made_text(req: Request) -> str:
    """The last line of every sheet: when the report was made and where its data came from."""
    return f"Сформирован {req.now.astimezone(req.tz):%d.%m.%Y %H:%M} ({req.tz.key}). {req.source}"


@dataclass(frozen=True)
class Col:
    header: str
    width: float
    kind: str = "text"  # text | int | rub | date | datetime | hours


class Sheet:
    """A write-only sheet: styled header row, widths, frozen header, filter over the table, print set-up.

    Column widths, the frozen pane and the fit-to-page flag are written before the first row (openpyxl
    write-only puts them ahead of the cells), so they are all set in the constructor.
    """

    def __init__(self, ws: Any, cols: list[Col], *, print_title: str, tz: ZoneInfo, grid: bool = True):
        assert isinstance(ws, WriteOnlyWorksheet)
        self.ws, self.cols, self.tz, self.rows = ws, cols, tz, 0
        # Printed grid lines suit long tables; a sheet with charts gets cell borders instead (the grid
        # would be printed across the charts too).
        self.border = None if grid else _THIN
        ws.row_dimensions[1].height = 30  # the header wraps onto two lines
        for i, c in enumerate(cols, 1):
            ws.column_dimensions[get_column_letter(i)].width = c.width
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = grid
        ws.oddHeader.center.text = print_title
        ws.oddFooter.right.text = "&P / &N"
        self._cells = [self._styled(c) for c in cols]
        self._reuse: dict[tuple[int, bool], Any] = {}
        header = []
        for c in cols:
            cell = WriteOnlyCell(ws, c.header)
            cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP
            header.append(cell)
        self._append(header)

    def _styled(self, col: Col) -> Callable[[Any], Any]:
        fmt = _FORMATS.get(col.kind)
        if fmt is None:
            return self._text
        ws, tz = self.ws, self.tz

        def cell(value: Any) -> Any:
            if value is None or value == "":
                return None
            if isinstance(value, datetime):
                value = value.astimezone(tz).replace(tzinfo=None)  # Excel has no time zones: local time
            elif isinstance(value, Decimal):
                value = float(value)
            c = WriteOnlyCell(ws, value)
            c.number_format = fmt
            return c

        return cell

    def _text(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        text = str(value)
        if text[0] in "=+-@":
            # openpyxl would store "=..." as a formula; Ozon's product names are data, never formulas
            c = WriteOnlyCell(self.ws, text)
            c.data_type = "s"
            return c
        return text

    def _append(self, row: list[Any]) -> None:
        self.ws.append(row)
        self.rows += 1

    def row(self, values: Iterable[Any], *, late: bool = False) -> None:
        """Append one table row; ``late`` rows are set in red.

        Styling a fresh cell costs more than writing it, so each styled column has one cell per variant
        that every row reuses: the write-only writer serialises a row before ``append`` returns.
        """
        out: list[Any] = []
        styled = late or self.border is not None
        for i, (col, value) in enumerate(zip(self.cols, values, strict=True)):
            if value is None or value == "":
                out.append(self._blank(i) if self.border is not None else None)
                continue
            if col.kind == "text":
                text = str(value)
                formula_like = text[0] in "=+-@"
                if not styled and not formula_like:
                    out.append(text)
                    continue
                cell = self._reused(i, late)
                cell.value = text
                if formula_like:
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula; Ozon's names are data
                out.append(cell)
                continue
            if isinstance(value, datetime):
                value = value.astimezone(self.tz).replace(tzinfo=None)  # Excel has no time zones: local time
            elif isinstance(value, Decimal):
                value = float(value)
            cell = self._reused(i, late)
            cell.value = value
            out.append(cell)
        self._append(out)

    def _reused(self, index: int, late: bool) -> Any:
        key = (index, late)
        cell = self._reuse.get(key)
        if cell is None:
            cell = self._reuse[key] = WriteOnlyCell(self.ws)
            fmt = _FORMATS.get(self.cols[index].kind)
            if fmt is not None:
                cell.number_format = fmt
            if late:
                cell.font = _LATE_FONT
            if self.border is not None:
                cell.border = self.border
        return cell

    def _blank(self, index: int) -> Any:
        cell = self._reused(index, False)
        cell.value = None
        return cell

    def total(self, values: Iterable[Any]) -> None:
        cells = [conv(v) for conv, v in zip(self._cells, values, strict=True)]
        out = []
        for c in cells:
            if not isinstance(c, Cell):
                c = WriteOnlyCell(self.ws, c)
            c.font, c.border = _TOTAL_FONT, _TOTAL_BORDER
            out.append(c)
        self._append(out)

    def filter_table(self) -> None:
        """Auto filter over the header and the rows written so far (call before totals and notes)."""
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.cols))}{max(self.rows, 2)}"

    def blank(self) -> None:
        self._append([])

    def note(self, text: str, font: Font = _NOTE_FONT) -> None:
        cell = WriteOnlyCell(self.ws, text)
        cell.font = font
        self._append([cell])
