"""A worksheet part taken apart as bytes: ``<sheetData>`` split at its rows, a row into its cells, and what
lies around the rows (dimension, column styles, the filter)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from sync.backends.xlsx.errors import PatchError
from sync.backends.xlsx.markup import (
    CELL_REF,
    MAX_ROW,
    R_ATTR,
    Attrs,
    attr_value,
    attrs_bytes,
    col_letters,
    col_number,
    format_range,
    parse_attrs,
    parse_range,
    root_element,
    with_attr,
)
from sync.backends.xlsx.package import Package

STYLE_LOOKBACK = 5  # rows above a new cell searched for a cell to borrow the style from

_MAIN_NS = (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main")


@dataclass(frozen=True)
class Grammar:
    """Tag names and patterns for one namespace prefix (b"" for the default namespace, or b"x:")."""

    p: bytes
    row: re.Pattern[bytes]
    cell: re.Pattern[bytes]
    formula: re.Pattern[bytes]
    has_value: re.Pattern[bytes]
    ext: re.Pattern[bytes]
    shift: re.Pattern[bytes]
    fref: re.Pattern[bytes]

    def open(self, name: bytes) -> bytes:
        return b"<" + self.p + name

    def close(self, name: bytes) -> bytes:
        return b"</" + self.p + name + b">"


@lru_cache(maxsize=8)
def _grammar(p: bytes) -> Grammar:
    q = re.escape(p)
    return Grammar(
        p=p,
        row=re.compile(rb"<" + q + rb"row(?=[\s/>])([^>]*?)(/?)>"),
        cell=re.compile(rb"<" + q + rb"c(?=[\s/>])([^>]*?)(/?)>"),
        formula=re.compile(rb"<" + q + rb"f(?=[\s/>])([^>]*?)(?:/>|>(.*?)</" + q + rb"f>)", re.S),
        has_value=re.compile(rb"<" + q + rb"v>[^<]|<" + q + rb"f[\s/>]|<" + q + rb"t(?:\s[^>]*)?>[^<]"),
        ext=re.compile(rb"<" + q + rb"extLst[\s>].*</" + q + rb"extLst>", re.S),
        shift=re.compile(rb"(<" + q + rb"c(?=[\s/>])[^>]*?\sr\s*=\s*[\"'][A-Za-z]{1,3})\d+"),
        fref=re.compile(rb"(<" + q + rb"f(?=[\s/>])[^>]*?\sref\s*=\s*[\"'])([^\"']*)"),
    )


@dataclass
class Formula:
    attrs: Attrs
    text: bytes
    span: tuple[int, int]  # where the <f> element sits in the cell's bytes


def find_formula(g: Grammar, cell: bytes) -> Formula | None:
    m = g.formula.search(cell)
    if m is None:
        return None
    return Formula(parse_attrs(m[1]), m[2] or b"", m.span())


class Row:
    """One ``<row>`` taken apart: its start-tag attributes and its cells as bytes, by column."""

    __slots__ = ("g", "num", "attrs", "cells", "tail", "trailing")

    def __init__(self, g: Grammar, num: int, attrs: Attrs, cells: dict[int, bytes], tail: bytes = b"",
                 trailing: bytes = b"") -> None:
        self.g, self.num, self.attrs, self.cells, self.tail, self.trailing = g, num, attrs, cells, tail, trailing

    @classmethod
    def parse(cls, g: Grammar, chunk: bytes, num: int, part: str) -> Row:
        m = g.row.match(chunk)
        if m is None:
            raise PatchError(f"Row {num} of {part} is not readable XML")
        attrs = parse_attrs(m[1])
        if m[2]:
            return cls(g, num, attrs, {}, b"", chunk[m.end():])
        end = chunk.find(g.close(b"row"), m.end())
        if end < 0:
            raise PatchError(f"Row {num} of {part} has no end tag")
        body = chunk[m.end():end]
        cells: dict[int, bytes] = {}
        pos, col = 0, 0
        while True:
            start = pos
            while start < len(body) and body[start] in b" \t\r\n":
                start += 1
            cm = g.cell.match(body, start)
            if cm is None:
                break
            if cm[2]:
                stop = cm.end()
            else:
                stop = body.find(g.close(b"c"), cm.end())
                if stop < 0:
                    raise PatchError(f"A cell in row {num} of {part} has no end tag")
                stop += len(g.close(b"c"))
            raw = body[start:stop]
            ref = R_ATTR.search(cm[1])
            if ref is not None:
                rm = CELL_REF.fullmatch(ref[1])
                if rm is None:
                    raise PatchError(f"The cell reference {ref[1].decode(errors='replace')!r} in {part} is not valid")
                col = col_number(rm[1])
            else:
                col += 1
                prefix = len(g.open(b"c"))
                raw = raw[:prefix] + b' r="' + col_letters(col) + str(num).encode() + b'"' + raw[prefix:]
            if col in cells:
                raise PatchError(f"Row {num} of {part} holds the cell {col_letters(col).decode()}{num} twice")
            cells[col] = raw
            pos = stop
        return cls(g, num, attrs, cells, body[pos:], chunk[end + len(g.close(b"row")):])

    def start_tag(self, raw: bytes) -> Attrs:
        m = self.g.cell.match(raw)
        return parse_attrs(m[1]) if m else []

    def style(self, col: int) -> bytes | None:
        raw = self.cells.get(col)
        if raw is None:
            return None
        s = attr_value(self.start_tag(raw), b"s")
        return s if s not in (None, b"0") else None

    def row_style(self) -> bytes | None:
        if attr_value(self.attrs, b"customFormat") in (b"1", b"true"):
            s = attr_value(self.attrs, b"s")
            return s if s not in (None, b"0") else None
        return None

    def has_value(self) -> bool:
        return any(self.g.has_value.search(raw) for raw in self.cells.values())

    def serialize(self) -> bytes:
        attrs = with_attr(self.attrs, b"r", str(self.num).encode(), first=True)
        if attr_value(attrs, b"spans") is not None:
            attrs = with_attr(attrs, b"spans", f"{min(self.cells)}:{max(self.cells)}".encode() if self.cells else None)
        head = self.g.open(b"row") + attrs_bytes(attrs)
        if not self.cells and not self.tail.strip():
            return head + b"/>" + self.trailing
        body = b"".join(self.cells[c] for c in sorted(self.cells))
        return head + b">" + body + self.tail + self.g.close(b"row") + self.trailing


class Sheet:
    """A worksheet part split into the bytes before ``<sheetData>``, its rows, and the bytes after it."""

    def __init__(self, part: str, xml: bytes) -> None:
        self.part = part
        p, name, attrs, root_end = root_element(xml, part)
        if name != b"worksheet":
            raise PatchError(f"The part {part} is not a worksheet (its root element is <{name.decode()}>)")
        if attr_value(attrs, b"xmlns" + (b":" + p[:-1] if p else b"")) not in _MAIN_NS:
            raise PatchError(f"The part {part} is not a SpreadsheetML worksheet (unknown namespace)")
        self.g = g = _grammar(p)
        q = re.escape(p)
        sd = re.compile(rb"<" + q + rb"sheetData(?=[\s/>])[^>]*?(/?)>").search(xml, root_end)
        if sd is None:
            raise PatchError(f"The part {part} has no <sheetData>")
        self.head = xml[:sd.start()]
        self._empty_tag = sd[0] if sd[1] else None
        if sd[1]:
            self.content, self.foot = b"", xml[sd.end():]
        else:
            close = xml.find(g.close(b"sheetData"), sd.end())
            if close < 0:
                raise PatchError(f"The part {part} is not readable XML (<sheetData> is never closed)")
            self.content, self.foot = xml[sd.end():close], xml[close + len(g.close(b"sheetData")):]
        self.nums: list[int] = []
        self.starts: list[int] = []
        prev = 0
        content, tag = self.content, g.open(b"row")
        fast = tag + b' r="'
        at = content.find(tag)
        while at >= 0:
            m = g.row.match(content, at)
            if m is not None:
                if content.startswith(fast, at):  # the usual form: r first, no need for the regex
                    close = content.find(b'"', at + len(fast))
                    digits: bytes | None = content[at + len(fast):close]
                else:
                    r = R_ATTR.search(m[1])
                    digits = r[1] if r else None
                if digits is None:
                    n = prev + 1
                elif digits.isdigit():
                    n = int(digits)
                else:
                    raise PatchError(f"A row in {part} has the row number {digits.decode(errors='replace')!r}")
                if n <= prev or n > MAX_ROW:
                    raise PatchError(f"The rows of {part} are out of order (row {n} after row {prev})")
                self.nums.append(n)
                self.starts.append(at)
                prev = n
            at = content.find(tag, at + len(tag))
        self._rows: dict[int, Row] = {}
        self.changed: set[int] = set()
        self._col_styles: list[tuple[int, int, bytes]] | None = None

    # rows

    def index(self, num: int) -> int | None:
        i = bisect.bisect_left(self.nums, num)
        return i if i < len(self.nums) and self.nums[i] == num else None

    def end(self, i: int) -> int:
        return self.starts[i + 1] if i + 1 < len(self.starts) else len(self.content)

    def chunk(self, i: int) -> bytes:
        return self.content[self.starts[i]:self.end(i)]

    def row(self, num: int) -> Row | None:
        """The row taken apart (cached, so edits accumulate), or None when the sheet has no such row."""
        row = self._rows.get(num)
        if row is None:
            i = self.index(num)
            if i is None:
                return None
            row = self._rows[num] = Row.parse(self.g, self.chunk(i), num, self.part)
        return row

    def edit(self, num: int) -> Row:
        """The row to change (created when missing); it is written back by :meth:`render`."""
        row = self.row(num)
        if row is None:
            row = self._rows[num] = Row(self.g, num, [], {})
        self.changed.add(num)
        return row

    def rows_between(self, first: int, last: int) -> list[int]:
        """Numbers of the existing rows in first..last."""
        return self.nums[bisect.bisect_left(self.nums, first):bisect.bisect_right(self.nums, last)]

    def row_has_value(self, i: int) -> bool:
        num = self.nums[i]
        if num in self._rows:
            return self._rows[num].has_value()
        return self.g.has_value.search(self.content, self.starts[i], self.end(i)) is not None

    def last_used(self, skip: Collection[int] = ()) -> int:
        """The last row with a value, counting the rows changed so far (rows in ``skip`` count as empty)."""
        best = 0
        for num in self.changed:
            if num not in skip and self.index(num) is None and self._rows[num].has_value():
                best = max(best, num)
        for i in range(len(self.nums) - 1, -1, -1):
            if self.nums[i] <= best:
                break
            if self.nums[i] not in skip and self.row_has_value(i):
                best = self.nums[i]
                break
        return max(best, 1)

    # styles

    def col_style(self, col: int) -> bytes | None:
        if self._col_styles is None:
            self._col_styles = []
            for m in re.finditer(rb"<" + re.escape(self.g.p) + rb"col(?=[\s/>])([^>]*?)/?>", self.head):
                a = parse_attrs(m[1])
                lo, hi, s = attr_value(a, b"min"), attr_value(a, b"max"), attr_value(a, b"style")
                if lo and hi and s and lo.isdigit() and hi.isdigit() and s != b"0":
                    self._col_styles.append((int(lo), int(hi), s))
        for first, last, style in self._col_styles:
            if first <= col <= last:
                return style
        return None

    def new_cell_style(self, row: Row, col: int) -> bytes | None:
        """The style of a new cell: its column's, its formatted row's, or the nearest cell's above
        (row 1 is taken as a header and lends no style)."""
        s = self.col_style(col) or row.row_style()
        if s is not None:
            return s
        for num in range(row.num - 1, max(row.num - STYLE_LOOKBACK, 2) - 1, -1):
            above = self.row(num)
            if above is not None and col in above.cells:
                return above.style(col)
        return None

    # output

    def render(self, content: bytes | None = None) -> bytes:
        """The part with the changed rows (or ``content`` for the whole ``<sheetData>``) spliced in."""
        pieces = self._splice() if content is None else [content]
        if not any(pieces) and self._empty_tag is not None:
            return self.head + self._empty_tag + self.foot
        g = self.g
        return b"".join([self.head, g.open(b"sheetData"), b">", *pieces, g.close(b"sheetData"), self.foot])

    def _splice(self) -> list[bytes | memoryview]:
        """The rows' bytes: the unchanged runs as views of the original, the changed rows rebuilt."""
        view = memoryview(self.content)
        out: list[bytes | memoryview] = []
        pos = 0
        for num in sorted(self.changed):
            row = self._rows[num]
            i = self.index(num)
            if i is not None:
                out += [view[pos:self.starts[i]], row.serialize()]
                pos = self.end(i)
            elif row.cells:
                j = bisect.bisect_right(self.nums, num)
                at = self.starts[j] if j < len(self.nums) else len(self.content)
                out += [view[pos:at], row.serialize()]
                pos = at
        out.append(view[pos:])
        return out

    # what lies around the rows

    def dimension(self) -> tuple[int, int, int, int] | None:
        m = self._dimension_match()
        return parse_range(m[2]) if m else None

    def set_dimension(self, box: tuple[int, int, int, int] | None) -> None:
        m = self._dimension_match()
        if m is not None:
            ref = format_range(*box) if box else b"A1"
            self.head = self.head[:m.start(2)] + ref + self.head[m.end(2):]

    def _dimension_match(self) -> re.Match[bytes] | None:
        return re.search(rb"(<" + re.escape(self.g.p) + rb"dimension(?=[\s/>])[^>]*?\sref\s*=\s*[\"'])([^\"']*)",
                         self.head)

    def autofilter(self) -> re.Match[bytes] | None:
        """The sheet's own ``<autoFilter>`` (not one inside a custom view), group 2 being its ref."""
        q = re.escape(self.g.p)
        views = re.search(rb"<" + q + rb"customSheetViews[\s>]", self.foot)
        return re.compile(rb"(<" + q + rb"autoFilter(?=[\s/>])[^>]*?\sref\s*=\s*[\"'])([^\"']*)").search(
            self.foot, 0, views.start() if views else len(self.foot))

    def update_filter(self, last_row: int, last_col: int | None) -> tuple[int, int, int, int] | None:
        """Stretch a filter that starts on row 1 down to ``last_row`` (and to ``last_col``); the new range
        when it changed."""
        m = self.autofilter()
        box = parse_range(m[2]) if m else None
        if m is None or box is None or box[0] != 1:
            return None
        new = (1, box[1], max(last_row, 1), max(last_col, box[1]) if last_col else box[3])
        if new == box:
            return None
        self.foot = self.foot[:m.start(2)] + format_range(*new) + self.foot[m.end(2):]
        return new


def open_sheet(pkg: Package, part: str) -> Sheet:
    return Sheet(part, pkg.read(part))


def norm_part(part: str) -> str:
    return part.lstrip("/")
