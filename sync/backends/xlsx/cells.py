"""Cell XML: values written as inline strings, numbers, booleans and date serials; a cell set in a row,
keeping its style; shared formulas given to each of their cells when their first cell goes."""

from __future__ import annotations

import datetime
import html
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.formula.translate import Translator

from sync.backends.xlsx.errors import PatchError
from sync.backends.xlsx.markup import Attrs, attr_value, attrs_bytes, col_letters, parse_attrs, parse_range
from sync.backends.xlsx.sheet import Grammar, Row, Sheet, find_formula

Value = str | int | float | bool | datetime.datetime | datetime.date | None
"""A cell value; ``None`` (or an empty string) clears the value and keeps the cell's style."""

MAX_CELL_CHARS = 32_767  # Excel's limit, counted in UTF-16 units


def _xml_unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _xml_escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;").encode()


_XML_INVALID = re.compile("[\ud800-\udfff\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile("_x[0-9A-Fa-f]{4}_")


def clean_text(text: str) -> str:
    """Characters XML cannot hold removed, cut to Excel's cell limit (counting UTF-16 units)."""
    text = _XML_INVALID.sub("", str(ILLEGAL_CHARACTERS_RE.sub("", text)))
    text = text[:MAX_CELL_CHARS]
    if len(text) > MAX_CELL_CHARS // 2:
        units = len(text.encode("utf-16-le")) // 2
        while units > MAX_CELL_CHARS:
            units -= 2 if ord(text[-1]) > 0xFFFF else 1
            text = text[:-1]
    return text


_EPOCH_1900 = datetime.datetime(1899, 12, 30)
_EPOCH_1904 = datetime.datetime(1904, 1, 1)


def _serial(value: datetime.date, date1904: bool) -> bytes:
    """A date or naive datetime as Excel's serial day number (1900 or 1904 date system)."""
    if isinstance(value, datetime.datetime):
        if value.utcoffset() is not None:
            raise ValueError(f"{value!r} has a time zone; an Excel cell has none: convert it to local time first")
        moment = value.replace(tzinfo=None)
    else:
        moment = datetime.datetime(value.year, value.month, value.day)
    delta = moment - (_EPOCH_1904 if date1904 else _EPOCH_1900)
    days = delta.days
    if not date1904 and 0 < days <= 60:
        days -= 1  # Excel counts 29 February 1900, which never was
    if days < (0 if date1904 else 1):
        raise ValueError(f"{value!r} is before the first date Excel can store")
    seconds = delta.seconds + delta.microseconds / 1e6
    return str(days).encode() if not seconds else repr(days + seconds / 86400).encode()


def _number(value: int | float) -> bytes:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be stored in a cell")
        return repr(value).encode()
    return str(value).encode()


@dataclass
class Edits:
    """What changing cells did beyond the cells themselves."""

    formulas_removed: set[tuple[int, int]]
    shared: list[tuple[bytes, tuple[int, int, int, int], int, int, bytes]]  # si, ref, master row, col, text


def cell_bytes(g: Grammar, ref: bytes, keep: Attrs, ext: bytes, value: Value, date1904: bool) -> bytes | None:
    """A ``<c>`` element holding ``value``; None when nothing (no value, no style) is left of it."""
    head = g.open(b"c") + b' r="' + ref + b'"' + attrs_bytes(keep)
    if isinstance(value, str):
        text = clean_text(value)
        value = text if text else None
    if value is None:
        if not keep and not ext:
            return None
        return head + (b">" + ext + g.close(b"c") if ext else b"/>")
    if isinstance(value, str):
        text = _EXCEL_ESCAPE.sub(lambda m: "_x005F" + m[0], value)
        return (head + b' t="inlineStr">' + g.open(b"is") + b">" + g.open(b"t") + b' xml:space="preserve">'
                + _xml_escape(text) + g.close(b"t") + g.close(b"is") + ext + g.close(b"c"))
    if isinstance(value, bool):
        head += b' t="b"'
        v = b"1" if value else b"0"
    elif isinstance(value, int | float):
        v = _number(value)
    elif isinstance(value, datetime.date):
        v = _serial(value, date1904)
    else:
        raise TypeError(f"A cell cannot hold {type(value).__name__} ({value!r})")
    return head + b">" + g.open(b"v") + b">" + v + g.close(b"v") + ext + g.close(b"c")


def set_cell(sheet: Sheet, row: Row, col: int, value: Value, date1904: bool, edits: Edits) -> None:
    g = sheet.g
    raw = row.cells.get(col)
    ext = b""
    if raw is None:
        s = sheet.new_cell_style(row, col)
        keep: Attrs = [(b"s", s)] if s else []
    else:
        start = g.cell.match(raw)
        assert start is not None
        keep = [(n, v) for n, v in parse_attrs(start[1]) if n in (b"s", b"ph")]
        inner = b"" if start[2] else raw[start.end():-len(g.close(b"c"))]
        em = g.ext.search(inner)
        ext = em[0] if em else b""
        f = find_formula(g, inner)
        if f is not None:
            edits.formulas_removed.add((row.num, col))
            ref = attr_value(f.attrs, b"ref")
            box = parse_range(ref) if ref else None
            si = attr_value(f.attrs, b"si")
            if attr_value(f.attrs, b"t") == b"shared" and box is not None and si is not None:
                edits.shared.append((si, box, row.num, col, f.text))
    new = cell_bytes(g, col_letters(col) + str(row.num).encode(), keep, ext, value, date1904)
    if new is None:
        row.cells.pop(col, None)
    else:
        row.cells[col] = new


def unshare(sheet: Sheet, groups: Sequence[tuple[bytes, tuple[int, int, int, int], int, int, bytes]],
             skip_rows: Collection[int] = ()) -> None:
    """Give every cell of these shared formulas (whose first cell is going) its own formula, as it reads now."""
    g = sheet.g
    for si, (r1, c1, r2, c2), mrow, mcol, text in groups:
        origin = (col_letters(mcol) + str(mrow).encode()).decode()
        formula = "=" + _xml_unescape(text)
        for num in sheet.rows_between(r1, r2):
            if num in skip_rows:
                continue
            row = sheet.row(num)
            assert row is not None
            for col, raw in list(row.cells.items()):
                if not c1 <= col <= c2 or (num, col) == (mrow, mcol):
                    continue
                f = find_formula(g, raw)
                if f is None or attr_value(f.attrs, b"t") != b"shared" or attr_value(f.attrs, b"si") != si:
                    continue
                here = (col_letters(col) + str(num).encode()).decode()
                try:
                    moved = str(Translator(formula, origin=origin).translate_formula(here))
                except Exception as exc:  # the tokenizer raises plain errors for formulas it cannot read
                    raise PatchError(f"The shared formula of {origin} in {sheet.part} cannot be copied to {here} "
                                     f"({exc})") from None
                attrs = [(n, v) for n, v in f.attrs if n not in (b"t", b"si", b"ref")]
                new_f = g.open(b"f") + attrs_bytes(attrs) + b">" + _xml_escape(moved[1:]) + g.close(b"f")
                row.cells[col] = raw[:f.span[0]] + new_f + raw[f.span[1]:]
                sheet.edit(num)
