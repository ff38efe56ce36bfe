"""The xlsx writing every report shares: the :class:`Book` (an xlsxwriter workbook in ``constant_memory`` mode,
so each row goes to disk as the next begins and memory stays flat in the number of postings), the styled
:class:`Sheet`, the column widths, the texts each report prints, and the atomic save.

One named font everywhere, Arial 10: Excel has it on every machine, and LibreOffice shows it as Liberation
Sans, which has the same metrics; so a width measured in :mod:`sync.reports.widths` fits in both. (A font with
no name falls back to a serif in LibreOffice, and Calibri falls back to the much wider DejaVu Sans.)
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from sync.errors import FatalError
from sync.model import Posting
from sync.reports.request import Request
from sync.reports.widths import PADDING, WIDEST, header_width, lines_needed

RUB = '#,##0.00 "₽"'
UNITS = "#,##0"
HOURS = "0.0"
DATE = "DD.MM.YYYY"
DATETIME = "DD.MM.YYYY HH:MM"
FONT = {"font_name": "Arial", "font_size": 10}
_FORMATS = {"int": UNITS, "rub": RUB, "date": DATE, "datetime": DATETIME, "hours": HOURS}
_HEADER = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#305496", "text_wrap": True, "valign": "top",
           "border": 1, "border_color": "#A6A6A6"}
_LATE = {"font_color": "#C00000"}
_BORDER = {"border": 1, "border_color": "#A6A6A6"}
_TOTAL = {"bold": True, "top": 2}
_NOTE = {"italic": True, "font_color": "#595959"}
_LINES_CACHE = 20_000  # texts whose line count is remembered, per sheet
LINE_HEIGHT = 12.75  # points: one line of Arial 10, as Excel lays it out (LibreOffice's line is a little lower)
PRINTABLE_WIDTH = 150  # units of a digit's width across A4 landscape at 100 % (wider sheets are scaled down)

T = TypeVar("T")

class Book:
    """An xlsxwriter workbook with the report styles: every format gets the named font, and each distinct
    format is made once (xlsxwriter writes one style record per Format object)."""

    def __init__(self, path: Path):
        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_format_properties": FONT,
                                                  "default_row_height": 17})
        self._formats: dict[tuple[tuple[str, Any], ...], Format] = {}

    def format(self, *parts: dict[str, Any]) -> Format:
        props: dict[str, Any] = {}
        for part in parts:
            props.update(part)
        key = tuple(sorted(props.items()))
        fmt = self._formats.get(key)
        if fmt is None:
            fmt = self._formats[key] = self.wb.add_format(props)
        return fmt

    def tab(self, name: str) -> Worksheet:
        """A sheet in the tab order now, to be filled later (see :meth:`sheet`)."""
        return self.wb.add_worksheet(name)

    def sheet(self, tab: str | Worksheet, cols: list[Col], *, print_title: str, tz: ZoneInfo,
              grid: bool = True, repeat_header: bool = True) -> Sheet:
        ws = self.tab(tab) if isinstance(tab, str) else tab
        return Sheet(self, ws, cols, print_title=print_title, tz=tz, grid=grid, repeat_header=repeat_header)

    def close(self) -> None:
        self.wb.close()

    def discard(self) -> None:
        """Drop a half-built workbook: close and remove each sheet's temporary row file; write nothing."""
        for ws in self.wb.worksheets():
            fh = getattr(ws, "row_data_fh", None)
            if fh is not None:
                fh.close()
            name = getattr(ws, "row_data_filename", None)
            if name:
                Path(name).unlink(missing_ok=True)
        self.wb.fileclosed = True


def write(path: Path, fill: Callable[[Book], T]) -> T:
    """A workbook filled by ``fill`` and saved to ``path`` (written to a temporary file, then renamed, so a
    failed export never leaves half a workbook behind nor replaces an older one); returns what ``fill`` did."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    book = Book(tmp)
    try:
        result = fill(book)
    except BaseException:
        book.discard()
        raise
    try:
        book.close()
        os.replace(tmp, path)
    except (OSError, FileCreateError) as exc:
        cause = exc.args[0] if isinstance(exc, FileCreateError) and exc.args else exc
        reason = getattr(cause, "strerror", None) or cause
        raise FatalError(f"Cannot write {path}: {reason}; choose another -o path") from None
    finally:
        tmp.unlink(missing_ok=True)
    return result


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
    width: float  # at least this wide (in digit widths) for the data; never narrower than the header's words
    kind: str = "text"  # text | code | int | rub | date | datetime | hours (code: a number as text, never wrapped)


_TEXT, _NUMBER, _MOMENT, _CODE = 0, 1, 2, 3
_KIND = {"text": _TEXT, "code": _CODE, "int": _NUMBER, "rub": _NUMBER, "hours": _NUMBER, "date": _MOMENT,
         "datetime": _MOMENT}


class Sheet:
    """A report sheet: bold header on a blue fill, widths that fit the header's words, frozen header, filter over
    the table, printed landscape on A4, fit to the page width, with the header row and a title on every page.

    Text cells wrap (a long delivery method or a multi-item order grows its row rather than being cut off);
    late rows are red. Printed grid lines suit long tables; a sheet with charts gets cell borders instead (the
    grid would be printed across the charts).
    """

    def __init__(self, book: Book, ws: Worksheet, cols: list[Col], *, print_title: str, tz: ZoneInfo,
                 grid: bool = True, repeat_header: bool = True):
        """``repeat_header``: print the header row atop every page (off for a table that fits one page and has
        a page of charts after it, which would get an empty header band)."""
        self.book, self.ws, self.cols, self.tz, self.rows = book, ws, cols, tz, 0
        self.widths = [max(c.width, header_width(c.header)) for c in cols]
        for i, width in enumerate(self.widths):
            ws.set_column(i, i, width)
        ws.freeze_panes(1, 0)
        if repeat_header:
            ws.repeat_rows(0)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # one page wide, as many long as it takes
        ws.hide_gridlines(0 if grid else 1)  # 0: shown and printed; 1: shown on screen only
        ws.set_header("&C" + print_title.replace("&", "&&"))
        ws.set_footer("&R&P / &N")
        self.border = not grid
        edge = _BORDER if self.border else {}
        self._kinds = [_KIND[c.kind] for c in cols]
        self._plain = [self._cell_format(c, edge) for c in cols]
        self._late = [self._cell_format(c, edge, _LATE) for c in cols]
        self._total = [self._cell_format(c, _TOTAL, wrap=False) for c in cols]  # «Итого: …» runs on, not down
        # Rows get their heights here, not from the spreadsheet: LibreOffice keeps a workbook's stored heights
        # (it does not grow a row for its wrapped text), so a wrapped cell would spill over the next row.
        self._one_line = [(w - PADDING) / WIDEST for w in self.widths]  # this many characters always fit
        self._lines: dict[tuple[int, str], int] = {}  # (column, text) -> lines: the same texts come again and again
        self._tall: int | None = None  # the last row given a height of its own
        header_lines = max(lines_needed(c.header, w, bold=True) for c, w in zip(cols, self.widths, strict=True))
        ws.set_row(0, header_lines * LINE_HEIGHT)
        header = book.format(_HEADER)
        for i, c in enumerate(cols):
            ws.write_string(0, i, c.header, header)
        self.rows = 1

    def _cell_format(self, col: Col, *parts: dict[str, Any], wrap: bool = True) -> Format:
        kind: dict[str, Any] = {"valign": "top"}
        if col.kind == "text":
            kind["text_wrap"] = wrap
        elif col.kind != "code":
            kind["num_format"] = _FORMATS[col.kind]
        return self.book.format(kind, *parts)

    def row(self, values: Iterable[Any], *, late: bool = False) -> None:
        """Append one table row; ``late`` rows are set in red. No value, or an empty one, leaves the cell empty."""
        ws, r, kinds, one_line = self.ws, self.rows, self._kinds, self._one_line
        formats = self._late if late else self._plain
        lines = 1
        for i, value in enumerate(values):
            if value is None or value == "":
                if self.border:
                    ws.write_blank(r, i, None, formats[i])
                continue
            kind = kinds[i]
            if kind == _TEXT:
                text = value if type(value) is str else str(value)
                if len(text) > one_line[i]:
                    known = self._lines.get((i, text))
                    if known is None:
                        if len(self._lines) > _LINES_CACHE:
                            self._lines.clear()
                        known = self._lines[(i, text)] = lines_needed(text, self.widths[i])
                    lines = max(lines, known)
                ws.write_string(r, i, text, formats[i])
            elif kind == _CODE:  # posting and order numbers: one word, sized to fit, never measured
                ws.write_string(r, i, value if type(value) is str else str(value), formats[i])
            elif kind == _NUMBER:
                ws.write_number(r, i, float(value), formats[i])
            else:
                ws.write_datetime(r, i, self._local(value), formats[i])
        if self._tall is not None:
            self._forget(self._tall)
            self._tall = None
        if lines > 1:
            ws.set_row(r, lines * LINE_HEIGHT)  # still this row: constant_memory writes it when the next begins
            self._tall = r
        self.rows = r + 1

    def _forget(self, row: int) -> None:
        """Drop a written row's height from xlsxwriter's tables (it keeps every row's, and constant_memory has
        already written this one), so memory stays flat however many rows wrap. Not on a sheet with charts:
        they are placed by the rows' heights."""
        if not self.border:
            for table in (getattr(self.ws, "row_info", None), getattr(self.ws, "row_sizes", None)):
                if isinstance(table, dict):
                    table.pop(row, None)

    def _local(self, value: date) -> date:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(self.tz).replace(tzinfo=None)  # Excel has no time zones: local time
        return value

    def total(self, values: Iterable[Any]) -> None:
        """The totals row: bold, under a rule (written whole, so an empty cell still carries the rule)."""
        ws, r = self.ws, self.rows
        for i, value in enumerate(values):
            fmt = self._total[i]
            if value is None or value == "":
                ws.write_blank(r, i, None, fmt)
            elif isinstance(value, str):
                ws.write_string(r, i, value, fmt)
            elif isinstance(value, date):
                ws.write_datetime(r, i, self._local(value), fmt)
            else:
                ws.write_number(r, i, float(value), fmt)
        self.rows = r + 1

    def filter_table(self) -> None:
        """Auto filter over the header and the rows written so far (call before totals and notes)."""
        self.ws.autofilter(0, 0, max(self.rows - 1, 1), len(self.cols) - 1)

    def blank(self) -> None:
        self.rows += 1

    def note(self, text: str) -> None:
        """A grey italic line under the table, wrapped onto as many rows as it takes to stay within the table's
        width (the printed page is only as wide as the table)."""
        room = max(40, int(min(sum(self.widths), PRINTABLE_WIDTH * 1.5) / 1.1))
        fmt = self.book.format(_NOTE)
        for line in textwrap.wrap(text, room):
            self.ws.write_string(self.rows, 0, line, fmt)
            self.rows += 1
