"""Write cells into one worksheet of an .xlsx/.xlsm workbook by patching that worksheet's XML.

Loading a workbook with openpyxl and saving it again is slow and drops whatever openpyxl does not model
(pictures, charts, pivot tables, macros, extension blocks, LibreOffice's empty drawing parts...). This
module leaves the workbook what it is, a zip of XML parts, and changes only the part it must:

* the zip is read with :mod:`zipfile`, but the new zip is written here: every member that does not change
  is copied as its original compressed bytes (same name, order, compression and CRC); only changed parts
  are deflated again;
* the worksheet XML is never parsed as a whole. ``<sheetData>`` is located in the bytes and split at its
  ``<row`` start tags; only the rows that change are taken apart into their cells (plain bytes as well),
  rebuilt and spliced back, so every other row keeps its bytes. A sync of a few cells on a sheet of ten
  thousand rows costs little more than inflating and deflating that one part;
* strings are written as inline strings, so ``xl/sharedStrings.xml`` is never touched, and
  ``xl/styles.xml`` is never changed: a cell keeps its style index, and a new cell borrows the one of its
  column (``<col style>``), of its row when that row is formatted, or of the cell above it;
* around the rows, ``<dimension>`` and the sheet's ``<autoFilter>`` follow the data, and deleting rows also
  moves merged ranges, hyperlinks and the notes on the sheet.

A few other parts change, only when they would otherwise contradict the worksheet:

* ``xl/workbook.xml`` when the filter range changes: its hidden ``_xlnm._FilterDatabase`` name repeats
  the range, and LibreOffice takes the filter range from that name rather than from the sheet;
* ``xl/calcChain.xml`` when a formula cell is overwritten or rows holding formulas are deleted or moved:
  Excel reports a damaged workbook when that chain names a cell without a formula. When no entry is left,
  the part goes, with its line in ``[Content_Types].xml`` and its relationship in the workbook's rels;
* for row deletion, the sheet's comments part, its VML drawing (the note boxes) and threaded comments.

Formulas elsewhere that refer to deleted or moved rows are not rewritten (openpyxl does not either).
"""

from __future__ import annotations

import bisect
import datetime
import html
import io
import math
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import unquote
from xml.etree import ElementTree

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.formula.translate import Translator

Value = str | int | float | bool | datetime.datetime | datetime.date | None
"""A cell value; ``None`` (or an empty string) clears the value and keeps the cell's style."""

MAX_ROW = 1_048_576
MAX_COL = 16_384
MAX_CELL_CHARS = 32_767  # Excel's limit, counted in UTF-16 units
DEFLATE_LEVEL = 3  # the patched part only: about twice as fast as zlib's default, a sixth larger
STYLE_LOOKBACK = 5  # rows above a new cell searched for a cell to borrow the style from

_MAIN_NS = (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main")
_FILTER_NAME = b"_xlnm._FilterDatabase"


class PatchError(Exception):
    """The workbook cannot be patched: a damaged zip, a missing sheet or part, XML we cannot read."""


@dataclass(frozen=True)
class SheetPart:
    """One tab of the workbook and the zip part that holds it."""

    title: str
    part: str
    sheet_id: str
    state: str


# --- small helpers ------------------------------------------------------------------------------------


@cache
def _letters(col: int) -> bytes:
    """1 -> b"A", 27 -> b"AA"."""
    out = b""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = bytes((65 + rem,)) + out
    return out


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


_REF = re.compile(rb"\$?([A-Za-z]{1,3})\$?(\d+)")
_RANGE = re.compile(rb"\A\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?\Z")


def _parse_range(ref: bytes) -> tuple[int, int, int, int] | None:
    """b"B2:D5" -> (2, 2, 5, 4); a single cell is a 1x1 range; anything else (whole columns...) is None."""
    m = _RANGE.match(ref.strip())
    if m is None:
        return None
    r1, c1 = int(m[2]), _col_number(m[1])
    r2, c2 = (int(m[4]), _col_number(m[3])) if m[3] else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _format_range(r1: int, c1: int, r2: int, c2: int, absolute: bool = False) -> bytes:
    d = b"$" if absolute else b""
    first = d + _letters(c1) + d + str(r1).encode()
    if (r1, c1) == (r2, c2) and not absolute:
        return first
    return first + b":" + d + _letters(c2) + d + str(r2).encode()


_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_Attrs = list[tuple[bytes, bytes]]


def _attrs(text: bytes) -> _Attrs:
    """The attributes of a start tag (values left XML-escaped, ready to be written between double quotes)."""
    out: _Attrs = []
    for m in _ATTR.finditer(text):
        value = m[2] if m[2] is not None else m[3].replace(b'"', b"&quot;")
        out.append((m[1], value))
    return out


def _get(attrs: _Attrs, name: bytes) -> bytes | None:
    for n, v in attrs:
        if n == name:
            return v
    return None


def _put(attrs: _Attrs, name: bytes, value: bytes | None, *, first: bool = False) -> _Attrs:
    """The attributes with ``name`` set (kept in place; new ones at the start or the end), or removed for None."""
    out = [(n, v) for n, v in attrs if n != name or value is not None]
    if value is None:
        return out
    for i, (n, _v) in enumerate(out):
        if n == name:
            out[i] = (n, value)
            return out
    return [(name, value), *out] if first else [*out, (name, value)]


def _attr_bytes(attrs: _Attrs) -> bytes:
    return b"".join(b" " + n + b'="' + v + b'"' for n, v in attrs)


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;").encode()


_XML_INVALID = re.compile("[\ud800-\udfff\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile("_x[0-9A-Fa-f]{4}_")


def _clean_text(text: str) -> str:
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


def _check_cell(row: int, col: int) -> None:
    if not (isinstance(row, int) and isinstance(col, int) and 1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(f"({row!r}, {col!r}) is not a cell of a worksheet (rows 1..{MAX_ROW}, columns 1..{MAX_COL})")


# --- the zip -------------------------------------------------------------------------------------------

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_U32 = 0xFFFFFFFF


def _strip_zip64(extra: bytes) -> bytes:
    """The extra field without its ZIP64 block (sizes are written in the headers themselves)."""
    out, i = b"", 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        if tag != 0x0001:
            out += extra[i:i + 4 + size]
        i += 4 + size
    return out


class _Package:
    """The workbook's zip: parts read on demand, and a new zip with some parts replaced or removed."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(self.data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
            raise PatchError(f"The workbook is not a readable .xlsx/.xlsm file (its zip structure is damaged: {exc})") \
                from None
        self.infos = self._zip.infolist()
        self._by_name = {info.filename: info for info in self.infos}
        self._read: dict[str, bytes] = {}

    def has(self, name: str) -> bool:
        return name in self._by_name

    def read(self, name: str) -> bytes:
        if name in self._read:
            return self._read[name]
        info = self._by_name.get(name)
        if info is None:
            raise PatchError(f"The workbook has no part {name}")
        try:
            data = self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError,
                struct.error) as exc:
            raise PatchError(f"The part {name} of the workbook is damaged and cannot be read ({exc})") from None
        self._read[name] = data
        return data

    def build(self, changed: Mapping[str, bytes], removed: Collection[str] = ()) -> bytes:
        """A new zip: members in the same order, ``changed`` ones deflated anew, the others copied raw."""
        changed = {name: body for name, body in changed.items() if self.read(name) != body}
        removed = [name for name in removed if self.has(name)]
        if not changed and not removed:
            return self.data
        pieces: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        for info in self.infos:
            if info.filename in removed:
                continue
            if info.flag_bits & 0x1:
                raise PatchError(f"The part {info.filename} of the workbook is encrypted; it cannot be rewritten")
            if info.filename in changed:
                body = changed[info.filename]
                packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
                raw = packer.compress(body) + packer.flush()
                crc, size, method = zlib.crc32(body), len(body), zipfile.ZIP_DEFLATED
                flags = info.flag_bits & 0x800
                version = max(info.extract_version, 20)
            else:
                raw = self._raw(info)
                crc, size, method = info.CRC, info.file_size, info.compress_type
                flags = info.flag_bits & ~0x8  # the sizes are in the local header: no data descriptor
                version = info.extract_version
            name = self._name_bytes(info)
            extra = _strip_zip64(info.extra)
            if len(raw) >= _U32 or size >= _U32 or offset >= _U32:
                raise PatchError("The workbook is too large to be rewritten (over 4 GB)")
            y, mo, d, h, mi, s = info.date_time
            dosdate = max(y - 1980, 0) << 9 | mo << 5 | d
            dostime = h << 11 | mi << 5 | s // 2
            pieces.append(_LOCAL.pack(b"PK\x03\x04", version, info.reserved, flags, method, dostime, dosdate,
                                      crc, len(raw), size, len(name), len(extra)))
            pieces += [name, extra, raw]
            central.append(_CENTRAL.pack(b"PK\x01\x02", info.create_version, info.create_system, version,
                                         info.reserved, flags, method, dostime, dosdate, crc, len(raw), size,
                                         len(name), len(extra), len(info.comment), 0, info.internal_attr,
                                         info.external_attr, offset))
            central += [name, extra, info.comment]
            offset += _LOCAL.size + len(name) + len(extra) + len(raw)
        directory = b"".join(central)
        count = sum(1 for info in self.infos if info.filename not in removed)
        if count > 0xFFFF or offset + len(directory) >= _U32:
            raise PatchError("The workbook has too many parts or is too large to be rewritten")
        comment = self._zip.comment
        end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), offset, len(comment))
        return b"".join([*pieces, directory, end, comment])

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        """The member's compressed bytes as stored."""
        at = info.header_offset
        head = self.data[at:at + _LOCAL.size]
        if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise PatchError(f"The part {info.filename} of the workbook is damaged (no local header)")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        start = at + _LOCAL.size + name_len + extra_len
        raw = self.data[start:start + info.compress_size]
        if len(raw) != info.compress_size:
            raise PatchError(f"The part {info.filename} of the workbook is damaged (truncated)")
        return raw

    @staticmethod
    def _name_bytes(info: zipfile.ZipInfo) -> bytes:
        if info.flag_bits & 0x800:
            return info.orig_filename.encode("utf-8")
        try:
            return info.orig_filename.encode("cp437")
        except UnicodeEncodeError:
            return info.orig_filename.encode("utf-8")


# --- the workbook part --------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(pkg: _Package, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(pkg.read(name))
    except ElementTree.ParseError as exc:
        raise PatchError(f"The part {name} of the workbook is not readable XML ({exc})") from None


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str  # a part name, resolved against the source part


def _rels(pkg: _Package, part: str) -> list[_Rel]:
    """The relationships of a part (an empty list when it has no rels part)."""
    name = _rels_name(part)
    if not pkg.has(name):
        return []
    out = []
    for el in _xml(pkg, name):
        if _local(el.tag) != "Relationship" or el.get("TargetMode") == "External":
            continue
        target = unquote(el.get("Target", ""))
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
        out.append(_Rel(el.get("Id", ""), el.get("Type", ""), resolved))
    return out


@dataclass(frozen=True)
class _Workbook:
    part: str
    sheets: list[SheetPart]
    date1904: bool
    rels: list[_Rel]

    def sheet(self, part: str) -> tuple[int, SheetPart] | None:
        for i, s in enumerate(self.sheets):
            if s.part == part:
                return i, s
        return None


def _workbook(pkg: _Package) -> _Workbook:
    part = "xl/workbook.xml"
    for rel in _rels(pkg, ""):
        if rel.type.endswith("/officeDocument"):
            part = rel.target
            break
    root = _xml(pkg, part)
    rels = _rels(pkg, part)
    by_id = {r.id: r.target for r in rels}
    date1904 = False
    sheets: list[SheetPart] = []
    for el in root:
        name = _local(el.tag)
        if name == "workbookPr":
            date1904 = el.get("date1904", "").strip().lower() in ("1", "true")
        elif name == "sheets":
            for tab in el:
                if _local(tab.tag) != "sheet":
                    continue
                rid = next((v for k, v in tab.attrib.items() if k.startswith("{") and _local(k) == "id"), None)
                target = by_id.get(rid or "")
                if target is None:
                    raise PatchError(f"The tab «{tab.get('name', '')}» in {part} points at no part of the workbook")
                sheets.append(SheetPart(tab.get("name", ""), target, tab.get("sheetId", ""),
                                        tab.get("state", "visible")))
    return _Workbook(part, sheets, date1904, rels)


# --- worksheet XML ------------------------------------------------------------------------------------

_ROOT = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([^>]*)>",
                   re.S)
_DECL_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["']""")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")


def _root(xml: bytes, part: str) -> tuple[bytes, bytes, _Attrs, int]:
    """The root element of a part: (prefix incl. the colon or b"", local name, attributes, end of its start tag)."""
    enc = _DECL_ENCODING.match(xml)
    if enc and enc[1].lower().replace(b"-", b"") != b"utf8":
        raise PatchError(f"The part {part} is encoded as {enc[1].decode(errors='replace')}; only UTF-8 can be patched")
    m = _ROOT.match(xml)
    if m is None:
        raise PatchError(f"The part {part} is not readable XML (no root element found)")
    return m[1] or b"", m[2], _attrs(m[3]), m.end()


@dataclass(frozen=True)
class _Grammar:
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
def _grammar(p: bytes) -> _Grammar:
    q = re.escape(p)
    return _Grammar(
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
class _Formula:
    attrs: _Attrs
    text: bytes
    span: tuple[int, int]  # where the <f> element sits in the cell's bytes


def _formula(g: _Grammar, cell: bytes) -> _Formula | None:
    m = g.formula.search(cell)
    if m is None:
        return None
    return _Formula(_attrs(m[1]), m[2] or b"", m.span())


class _Row:
    """One ``<row>`` taken apart: its start-tag attributes and its cells as bytes, by column."""

    __slots__ = ("g", "num", "attrs", "cells", "tail", "trailing")

    def __init__(self, g: _Grammar, num: int, attrs: _Attrs, cells: dict[int, bytes], tail: bytes = b"",
                 trailing: bytes = b"") -> None:
        self.g, self.num, self.attrs, self.cells, self.tail, self.trailing = g, num, attrs, cells, tail, trailing

    @classmethod
    def parse(cls, g: _Grammar, chunk: bytes, num: int, part: str) -> _Row:
        m = g.row.match(chunk)
        if m is None:
            raise PatchError(f"Row {num} of {part} is not readable XML")
        attrs = _attrs(m[1])
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
            ref = _R_ATTR.search(cm[1])
            if ref is not None:
                rm = _REF.fullmatch(ref[1])
                if rm is None:
                    raise PatchError(f"The cell reference {ref[1].decode(errors='replace')!r} in {part} is not valid")
                col = _col_number(rm[1])
            else:
                col += 1
                prefix = len(g.open(b"c"))
                raw = raw[:prefix] + b' r="' + _letters(col) + str(num).encode() + b'"' + raw[prefix:]
            if col in cells:
                raise PatchError(f"Row {num} of {part} holds the cell {_letters(col).decode()}{num} twice")
            cells[col] = raw
            pos = stop
        return cls(g, num, attrs, cells, body[pos:], chunk[end + len(g.close(b"row")):])

    def start_tag(self, raw: bytes) -> _Attrs:
        m = self.g.cell.match(raw)
        return _attrs(m[1]) if m else []

    def style(self, col: int) -> bytes | None:
        raw = self.cells.get(col)
        if raw is None:
            return None
        s = _get(self.start_tag(raw), b"s")
        return s if s not in (None, b"0") else None

    def row_style(self) -> bytes | None:
        if _get(self.attrs, b"customFormat") in (b"1", b"true"):
            s = _get(self.attrs, b"s")
            return s if s not in (None, b"0") else None
        return None

    def has_value(self) -> bool:
        return any(self.g.has_value.search(raw) for raw in self.cells.values())

    def serialize(self) -> bytes:
        attrs = _put(self.attrs, b"r", str(self.num).encode(), first=True)
        if _get(attrs, b"spans") is not None:
            attrs = _put(attrs, b"spans", f"{min(self.cells)}:{max(self.cells)}".encode() if self.cells else None)
        head = self.g.open(b"row") + _attr_bytes(attrs)
        if not self.cells and not self.tail.strip():
            return head + b"/>" + self.trailing
        body = b"".join(self.cells[c] for c in sorted(self.cells))
        return head + b">" + body + self.tail + self.g.close(b"row") + self.trailing


class _Sheet:
    """A worksheet part split into the bytes before ``<sheetData>``, its rows, and the bytes after it."""

    def __init__(self, part: str, xml: bytes) -> None:
        self.part = part
        p, name, attrs, root_end = _root(xml, part)
        if name != b"worksheet":
            raise PatchError(f"The part {part} is not a worksheet (its root element is <{name.decode()}>)")
        if _get(attrs, b"xmlns" + (b":" + p[:-1] if p else b"")) not in _MAIN_NS:
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
                    r = _R_ATTR.search(m[1])
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
        self._rows: dict[int, _Row] = {}
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

    def row(self, num: int) -> _Row | None:
        """The row taken apart (cached, so edits accumulate), or None when the sheet has no such row."""
        row = self._rows.get(num)
        if row is None:
            i = self.index(num)
            if i is None:
                return None
            row = self._rows[num] = _Row.parse(self.g, self.chunk(i), num, self.part)
        return row

    def edit(self, num: int) -> _Row:
        """The row to change (created when missing); it is written back by :meth:`render`."""
        row = self.row(num)
        if row is None:
            row = self._rows[num] = _Row(self.g, num, [], {})
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
                a = _attrs(m[1])
                lo, hi, s = _get(a, b"min"), _get(a, b"max"), _get(a, b"style")
                if lo and hi and s and lo.isdigit() and hi.isdigit() and s != b"0":
                    self._col_styles.append((int(lo), int(hi), s))
        for first, last, style in self._col_styles:
            if first <= col <= last:
                return style
        return None

    def new_cell_style(self, row: _Row, col: int) -> bytes | None:
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
        return _parse_range(m[2]) if m else None

    def set_dimension(self, box: tuple[int, int, int, int] | None) -> None:
        m = self._dimension_match()
        if m is not None:
            ref = _format_range(*box) if box else b"A1"
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
        box = _parse_range(m[2]) if m else None
        if m is None or box is None or box[0] != 1:
            return None
        new = (1, box[1], max(last_row, 1), max(last_col, box[1]) if last_col else box[3])
        if new == box:
            return None
        self.foot = self.foot[:m.start(2)] + _format_range(*new) + self.foot[m.end(2):]
        return new


def _open_sheet(pkg: _Package, part: str) -> _Sheet:
    return _Sheet(part, pkg.read(part))


def _norm_part(part: str) -> str:
    return part.lstrip("/")


# --- cells ---------------------------------------------------------------------------------------------


@dataclass
class _Edits:
    """What changing cells did beyond the cells themselves."""

    formulas_removed: set[tuple[int, int]]
    shared: list[tuple[bytes, tuple[int, int, int, int], int, int, bytes]]  # si, ref, master row, col, text


def _cell_bytes(g: _Grammar, ref: bytes, keep: _Attrs, ext: bytes, value: Value, date1904: bool) -> bytes | None:
    """A ``<c>`` element holding ``value``; None when nothing (no value, no style) is left of it."""
    head = g.open(b"c") + b' r="' + ref + b'"' + _attr_bytes(keep)
    if isinstance(value, str):
        text = _clean_text(value)
        value = text if text else None
    if value is None:
        if not keep and not ext:
            return None
        return head + (b">" + ext + g.close(b"c") if ext else b"/>")
    if isinstance(value, str):
        text = _EXCEL_ESCAPE.sub(lambda m: "_x005F" + m[0], value)
        return (head + b' t="inlineStr">' + g.open(b"is") + b">" + g.open(b"t") + b' xml:space="preserve">'
                + _escape(text) + g.close(b"t") + g.close(b"is") + ext + g.close(b"c"))
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


def _set_cell(sheet: _Sheet, row: _Row, col: int, value: Value, date1904: bool, edits: _Edits) -> None:
    g = sheet.g
    raw = row.cells.get(col)
    ext = b""
    if raw is None:
        s = sheet.new_cell_style(row, col)
        keep: _Attrs = [(b"s", s)] if s else []
    else:
        start = g.cell.match(raw)
        assert start is not None
        keep = [(n, v) for n, v in _attrs(start[1]) if n in (b"s", b"ph")]
        inner = b"" if start[2] else raw[start.end():-len(g.close(b"c"))]
        em = g.ext.search(inner)
        ext = em[0] if em else b""
        f = _formula(g, inner)
        if f is not None:
            edits.formulas_removed.add((row.num, col))
            ref = _get(f.attrs, b"ref")
            box = _parse_range(ref) if ref else None
            si = _get(f.attrs, b"si")
            if _get(f.attrs, b"t") == b"shared" and box is not None and si is not None:
                edits.shared.append((si, box, row.num, col, f.text))
    new = _cell_bytes(g, _letters(col) + str(row.num).encode(), keep, ext, value, date1904)
    if new is None:
        row.cells.pop(col, None)
    else:
        row.cells[col] = new


def _unshare(sheet: _Sheet, groups: Sequence[tuple[bytes, tuple[int, int, int, int], int, int, bytes]],
             skip_rows: Collection[int] = ()) -> None:
    """Give every cell of these shared formulas (whose first cell is going) its own formula, as it reads now."""
    g = sheet.g
    for si, (r1, c1, r2, c2), mrow, mcol, text in groups:
        origin = (_letters(mcol) + str(mrow).encode()).decode()
        formula = "=" + _unescape(text)
        for num in sheet.rows_between(r1, r2):
            if num in skip_rows:
                continue
            row = sheet.row(num)
            assert row is not None
            for col, raw in list(row.cells.items()):
                if not c1 <= col <= c2 or (num, col) == (mrow, mcol):
                    continue
                f = _formula(g, raw)
                if f is None or _get(f.attrs, b"t") != b"shared" or _get(f.attrs, b"si") != si:
                    continue
                here = (_letters(col) + str(num).encode()).decode()
                try:
                    moved = str(Translator(formula, origin=origin).translate_formula(here))
                except Exception as exc:  # the tokenizer raises plain errors for formulas it cannot read
                    raise PatchError(f"The shared formula of {origin} in {sheet.part} cannot be copied to {here} "
                                     f"({exc})") from None
                attrs = [(n, v) for n, v in f.attrs if n not in (b"t", b"si", b"ref")]
                new_f = g.open(b"f") + _attr_bytes(attrs) + b">" + _escape(moved[1:]) + g.close(b"f")
                row.cells[col] = raw[:f.span[0]] + new_f + raw[f.span[1]:]
                sheet.edit(num)


# --- parts that follow the worksheet -------------------------------------------------------------------


def _filter_name(pkg: _Package, wb: _Workbook, part: str, box: tuple[int, int, int, int]) -> dict[str, bytes]:
    """The workbook part with the sheet's hidden filter name set to ``box`` (nothing when it has none)."""
    found = wb.sheet(part)
    if found is None:
        return {}
    index = str(found[0]).encode()
    xml = pkg.read(wb.part)
    p, _name, _attrs_, _end = _root(xml, wb.part)
    q = re.escape(p)
    rx = re.compile(rb"(<" + q + rb"definedName(?=[\s>])([^>]*)>)(.*?)(</" + q + rb"definedName>)", re.S)
    for m in rx.finditer(xml):
        a = _attrs(m[2])
        if _get(a, b"name") != _FILTER_NAME or _get(a, b"localSheetId") != index:
            continue
        text = m[3]
        bang = text.rfind(b"!")
        if bang < 0 or _parse_range(text[bang + 1:]) is None:
            return {}
        new = text[:bang + 1] + _format_range(*box, absolute=True)
        return {wb.part: xml[:m.start(3)] + new + xml[m.end(3):]}
    return {}


def _calc_chain(pkg: _Package, wb: _Workbook, part: str,
                move: Callable[[int, int], tuple[int, int] | None]) -> tuple[dict[str, bytes], list[str]]:
    """``xl/calcChain.xml`` with this sheet's entries moved (or dropped where ``move`` gives None):
    (changed parts, removed parts)."""
    found = wb.sheet(part)
    chain = next((r.target for r in wb.rels if r.type.endswith("/calcChain")), None)
    if found is None or chain is None or not pkg.has(chain):
        return {}, []
    sheet_id = found[1].sheet_id.encode()
    xml = pkg.read(chain)
    p, _n, _a, root_end = _root(xml, chain)
    q = re.escape(p)
    entry = re.compile(rb"<" + q + rb"c(?=[\s/>])([^>]*?)(?:/>|>\s*</" + q + rb"c>)")
    matches = list(entry.finditer(xml, root_end))
    if not matches:
        return {}, []
    out: list[bytes] = []
    current: bytes | None = None
    written: bytes | None = None
    changed = False
    for m in matches:
        attrs = _attrs(m[1])
        current = _get(attrs, b"i") or current
        ref = _get(attrs, b"r")
        rm = _REF.fullmatch(ref) if ref else None
        if current == sheet_id and rm is not None:
            to = move(int(rm[2]), _col_number(rm[1]))
            if to is None:
                changed = True
                continue
            if to != (int(rm[2]), _col_number(rm[1])):
                changed = True
                attrs = _put(attrs, b"r", _letters(to[1]) + str(to[0]).encode())
        attrs = _put(attrs, b"i", current if current != written else None)
        written = current
        out.append(b"<" + p + b"c" + _attr_bytes([(b"r", _get(attrs, b"r") or b""), *[
            (n, v) for n, v in attrs if n != b"r"]]) + b"/>")
    if not changed:
        return {}, []
    if out:
        return {chain: xml[:matches[0].start()] + b"".join(out) + xml[matches[-1].end():]}, []
    return _drop_part(pkg, wb, chain), [chain]


def _drop_part(pkg: _Package, wb: _Workbook, name: str) -> dict[str, bytes]:
    """The content types and the workbook's relationships without the part ``name``."""
    changed: dict[str, bytes] = {}
    types = "[Content_Types].xml"
    if pkg.has(types):
        xml = pkg.read(types)
        rx = re.compile(rb"<(?:\w+:)?Override\b[^>]*?PartName\s*=\s*[\"']/?" + re.escape(name.encode()) +
                        rb"[\"'][^>]*?(?:/>|>\s*</(?:\w+:)?Override>)", re.I)
        changed[types] = rx.sub(b"", xml)
    rels_name = _rels_name(wb.part)
    if pkg.has(rels_name):
        xml = pkg.read(rels_name)
        rel_ids = [r.id.encode() for r in wb.rels if r.target == name]
        for rid in rel_ids:
            rx = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*?\sId\s*=\s*[\"']" + re.escape(rid) +
                            rb"[\"'][^>]*?(?:/>|>\s*</(?:\w+:)?Relationship>)")
            xml = rx.sub(b"", xml)
        changed[rels_name] = xml
    return changed


# --- the public functions -------------------------------------------------------------------------------


def sheets(data: bytes) -> list[SheetPart]:
    """The workbook's tabs in tab order (worksheets and chart sheets), with the parts that hold them."""
    return _workbook(_Package(data)).sheets


def merged_ranges(data: bytes, part: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a worksheet as (min_row, min_col, max_row, max_col), 1-based."""
    sheet = _open_sheet(_Package(data), _norm_part(part))
    return [box for _m, box in _merge_cells(sheet)]


def _merge_cells(sheet: _Sheet) -> Iterator[tuple[re.Match[bytes], tuple[int, int, int, int]]]:
    q = re.escape(sheet.g.p)
    for m in re.finditer(rb"<" + q + rb"mergeCell(?=[\s/>])([^>]*?)(?:/>|>\s*</" + q + rb"mergeCell>)", sheet.foot):
        ref = _get(_attrs(m[1]), b"ref")
        box = _parse_range(ref) if ref else None
        if box is not None:
            yield m, box


def last_used_row(data: bytes, part: str) -> int:
    """The last row holding a non-empty value (at least 1); rows that only carry formatting don't count."""
    return _open_sheet(_Package(data), _norm_part(part)).last_used()


def patch(data: bytes, part: str, cells: Mapping[tuple[int, int], Value], appends: Sequence[Mapping[int, Value]] = (),
          *, filter_last_col: int | None = None) -> bytes:
    """The workbook with ``cells`` ({(row, col): value}) set and ``appends`` ({col: value} each) added as new
    rows after the last used row; the sheet's filter then covers every used row (and ``filter_last_col``)."""
    part = _norm_part(part)
    for row_num, col in cells:
        _check_cell(row_num, col)
    pkg = _Package(data)
    wb = _workbook(pkg)
    sheet = _open_sheet(pkg, part)
    last = sheet.last_used()
    wanted: dict[int, dict[int, Value]] = {}
    for (row_num, col), value in cells.items():
        wanted.setdefault(row_num, {})[col] = value
    for n, values in enumerate(appends, start=last + 1):
        for col, value in values.items():
            _check_cell(n, col)
            wanted.setdefault(n, {})[col] = value
    edits = _Edits(set(), [])
    box = sheet.dimension()
    for row_num in sorted(wanted):
        row = sheet.edit(row_num)
        for col in sorted(wanted[row_num]):
            _set_cell(sheet, row, col, wanted[row_num][col], wb.date1904, edits)
        if row.cells:
            lo, hi = min(row.cells), max(row.cells)
            box = (min(box[0], row_num), min(box[1], lo), max(box[2], row_num), max(box[3], hi)) if box else \
                (row_num, lo, row_num, hi)
    if edits.shared:
        _unshare(sheet, edits.shared)
    if not sheet.changed:
        return pkg.data
    sheet.set_dimension(box)
    changed: dict[str, bytes] = {}
    removed: list[str] = []
    new_filter = sheet.update_filter(sheet.last_used(), filter_last_col)
    if new_filter is not None:
        changed.update(_filter_name(pkg, wb, part, new_filter))
    if edits.formulas_removed:
        gone = edits.formulas_removed
        more, removed = _calc_chain(pkg, wb, part, lambda r, c: None if (r, c) in gone else (r, c))
        changed.update(more)
    changed[part] = sheet.render()
    return pkg.build(changed, removed)


class _RowMap:
    """Where rows go when some are deleted."""

    def __init__(self, gone: Sequence[int]) -> None:
        self.gone = sorted(set(gone))
        self._set = set(self.gone)

    def row(self, num: int) -> int | None:
        return None if num in self._set else num - bisect.bisect_left(self.gone, num)

    def span(self, first: int, last: int) -> tuple[int, int] | None:
        a = first - bisect.bisect_left(self.gone, first)
        b = last - bisect.bisect_right(self.gone, last)
        return (a, b) if b >= a else None

    def box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        span = self.span(box[0], box[2])
        return (span[0], box[1], span[1], box[3]) if span else None

    def ref(self, ref: bytes) -> bytes | None:
        box = _parse_range(ref)
        if box is None:
            return ref
        moved = self.box(box)
        if moved is None:
            return None
        single = b":" not in ref
        return _format_range(*moved) if not (single and moved[0] != moved[2]) else ref


def _shift_refs(g: _Grammar, text: bytes, moves: _RowMap) -> bytes:
    """Formula ranges (``<f ref=...>``) in ``text`` moved for the deleted rows."""
    def repl(m: re.Match[bytes]) -> bytes:
        return m[1] + (moves.ref(m[2]) or m[2])
    return g.fref.sub(repl, text)


def _shift_row(g: _Grammar, chunk: bytes, new_num: int, moves: _RowMap) -> bytes:
    """A row's bytes renumbered to ``new_num`` (the row, its cells, its formulas' ranges)."""
    m = g.row.match(chunk)
    assert m is not None
    num = str(new_num).encode()
    r = _R_ATTR.search(m[1])
    attrs = m[1][:r.start(1)] + num + m[1][r.end(1):] if r else b' r="' + num + b'"' + m[1]
    head = g.open(b"row") + attrs + m[2] + b">"
    body = chunk[m.end():]
    cell = g.open(b"c")
    fast = cell + b' r="'
    pieces = body.split(fast)
    odd = any(cell + ch in body for ch in (b">", b"/", b"\t", b"\n", b"\r"))
    if not odd and len(pieces) - 1 == body.count(cell + b" "):
        # Every cell starts <c r="..": renumber by plain splitting, much faster than a regex callback.
        for k in range(1, len(pieces)):
            piece = pieces[k]
            quote = piece.find(b'"')
            pieces[k] = piece[:quote].rstrip(b"0123456789") + num + piece[quote:]
        body = fast.join(pieces)
    else:
        body = g.shift.sub(lambda c: c[1] + num, body)
    if g.open(b"f") in body:
        body = _shift_refs(g, body, moves)
    return head + body


def delete_rows(data: bytes, part: str, rows: Collection[int]) -> bytes:
    """The workbook with these rows removed and the rows below moved up, with merged ranges, hyperlinks,
    the filter, formula ranges and the sheet's notes following them."""
    part = _norm_part(part)
    for r in rows:
        _check_cell(r, 1)
    pkg = _Package(data)
    wb = _workbook(pkg)
    sheet = _open_sheet(pkg, part)
    moves = _RowMap(list(rows))
    if not moves.gone:
        return pkg.data
    g = sheet.g
    last_before = sheet.last_used(skip=moves.gone)
    # A shared formula whose first cell goes: every other cell of it gets its own formula first.
    groups = []
    for num in moves.gone:
        row = sheet.row(num)
        for col, raw in (row.cells.items() if row else ()):
            f = _formula(g, raw)
            ref = _get(f.attrs, b"ref") if f else None
            box = _parse_range(ref) if ref else None
            si = _get(f.attrs, b"si") if f else None
            if f is not None and _get(f.attrs, b"t") == b"shared" and box is not None and si is not None:
                groups.append((si, box, num, col, f.text))
    if groups:
        _unshare(sheet, groups, skip_rows=moves.gone)
    first = bisect.bisect_left(sheet.nums, moves.gone[0])
    pieces = [_shift_refs(g, sheet.content[:sheet.starts[first]] if first < len(sheet.nums) else sheet.content,
                          moves)]
    for i in range(first, len(sheet.nums)):
        num = sheet.nums[i]
        new_num = moves.row(num)
        if new_num is None:
            continue
        row = sheet.row(num) if num in sheet.changed else None
        chunk = row.serialize() if row is not None else sheet.chunk(i)
        pieces.append(_shift_row(g, chunk, new_num, moves))
    content = b"".join(pieces)
    box = sheet.dimension()
    sheet.set_dimension(moves.box(box) if box else None)
    _shift_merges_and_links(sheet, moves)
    changed: dict[str, bytes] = {}
    new_filter = sheet.update_filter(moves.row(last_before) or 1, None)
    if new_filter is not None:
        changed.update(_filter_name(pkg, wb, part, new_filter))
    changed.update(_shift_notes(pkg, part, moves))

    def move(r: int, c: int) -> tuple[int, int] | None:
        to = moves.row(r)
        return None if to is None else (to, c)

    more, removed = _calc_chain(pkg, wb, part, move)
    changed.update(more)
    changed[part] = sheet.render(content)
    return pkg.build(changed, removed)


def _shift_merges_and_links(sheet: _Sheet, moves: _RowMap) -> None:
    """Merged ranges and hyperlinks moved up, shrunk, or dropped with the deleted rows."""
    q = re.escape(sheet.g.p)
    for name, single_ok in ((b"mergeCell", False), (b"hyperlink", True)):
        block = re.search(rb"(<" + q + name + rb"s(?=[\s>])[^>]*>)(.*?)(</" + q + name + rb"s>)", sheet.foot, re.S)
        if block is None:
            continue
        element = re.compile(rb"<" + q + name + rb"(?=[\s/>])([^>]*?)(?:/>|>.*?</" + q + name + rb">)", re.S)
        kept = 0

        def repl(m: re.Match[bytes], single_ok: bool = single_ok) -> bytes:
            nonlocal kept
            a = _attrs(m[1])
            ref = _get(a, b"ref")
            box = _parse_range(ref) if ref else None
            if box is None:
                kept += 1
                return m[0]
            moved = moves.box(box)
            if moved is None or (not single_ok and moved[0] == moved[2] and moved[1] == moved[3]):
                return b""
            kept += 1
            new_ref = _format_range(*moved)
            return m[0][:m.start(1) - m.start()] + _attr_bytes(_put(a, b"ref", new_ref)) + m[0][m.end(1) - m.start():]

        body = element.sub(repl, block[2])
        if kept:
            start_tag = block[1]
            count = re.search(rb"\scount\s*=\s*[\"'](\d+)[\"']", start_tag)
            if count is not None:
                start_tag = start_tag[:count.start(1)] + str(kept).encode() + start_tag[count.end(1):]
            new_block = start_tag + body + block[3]
        else:
            new_block = b""  # an empty <mergeCells> or <hyperlinks> is not allowed
        sheet.foot = sheet.foot[:block.start()] + new_block + sheet.foot[block.end():]


_VML_SHAPE = re.compile(rb"<(\w+:|)shape(?=[\s>])[^>]*>.*?</\1shape>", re.S)
_VML_NOTE = re.compile(rb"<(\w+:|)ClientData\b[^>]*ObjectType\s*=\s*[\"']Note[\"']")
_VML_ROW = re.compile(rb"(<(\w+:|)Row>\s*)(\d+)(\s*</\2Row>)")
_VML_ANCHOR = re.compile(rb"(<(\w+:|)Anchor>)([^<]*)(</\2Anchor>)")


def note_text(data: bytes, part: str, ref: str) -> str:
    """The text of the note (comment) on one cell of the tab, or "" (how a tab of ours is recognised)."""
    pkg = _Package(data)
    for rel in _rels(pkg, _norm_part(part)):
        if rel.type.rsplit("/", 1)[-1] != "comments" or not pkg.has(rel.target):
            continue
        for c in _xml(pkg, rel.target).iter():
            if _local(c.tag) == "comment" and c.get("ref") == ref:
                return "".join(t.text or "" for t in c.iter() if _local(t.tag) == "t")
    return ""


def _shift_notes(pkg: _Package, part: str, moves: _RowMap) -> dict[str, bytes]:
    """The sheet's comments, their VML boxes and threaded comments, moved for the deleted rows."""
    changed: dict[str, bytes] = {}
    for rel in _rels(pkg, part):
        if not pkg.has(rel.target):
            continue
        kind = rel.type.rsplit("/", 1)[-1]
        if kind in ("comments", "threadedComment"):
            xml = pkg.read(rel.target)
            tag = b"comment" if kind == "comments" else b"threadedComment"
            rx = re.compile(rb"<(\w+:|)" + tag + rb"(?=[\s>/])([^>]*?)(?:/>|>.*?</\1" + tag + rb">)", re.S)

            def repl(m: re.Match[bytes], tag: bytes = tag) -> bytes:
                a = _attrs(m[2])
                ref = _get(a, b"ref")
                rm = _REF.fullmatch(ref) if ref else None
                if rm is None:
                    return m[0]
                to = moves.row(int(rm[2]))
                if to is None:
                    return b""
                inner = m[0][m.end(2) - m.start():]
                return b"<" + m[1] + tag + _attr_bytes(_put(a, b"ref", rm[1] + str(to).encode())) + inner
            changed[rel.target] = rx.sub(repl, xml)
        elif kind == "vmlDrawing":
            changed[rel.target] = _VML_SHAPE.sub(lambda m: _shift_vml_shape(m[0], moves), pkg.read(rel.target))
    return changed


def _shift_vml_shape(shape: bytes, moves: _RowMap) -> bytes:
    if _VML_NOTE.search(shape) is None:
        return shape
    row = _VML_ROW.search(shape)
    if row is None:
        return shape
    old = int(row[3])
    new = moves.row(old + 1)
    if new is None:
        return b""
    delta = (new - 1) - old
    shape = shape[:row.start(3)] + str(new - 1).encode() + shape[row.end(3):]
    anchor = _VML_ANCHOR.search(shape)
    if anchor is not None and delta:
        parts = [p.strip() for p in anchor[3].split(b",")]
        if len(parts) == 8 and all(p.lstrip(b"-").isdigit() for p in parts):
            for i in (2, 6):
                parts[i] = str(max(int(parts[i]) + delta, 0)).encode()
            shape = shape[:anchor.start(3)] + b", ".join(parts) + shape[anchor.end(3):]
    return shape


def replace_sheet_rows(data: bytes, part: str, rows: Sequence[Sequence[Value]]) -> bytes:
    """The workbook with the whole ``<sheetData>`` of this (our own) tab replaced by ``rows`` (row 1 first).
    Cells take their column's style; row 1 keeps the styles its cells had. Everything else in the part
    (notes, column widths, protection...) stays."""
    part = _norm_part(part)
    if len(rows) > MAX_ROW:
        raise ValueError(f"{len(rows)} rows do not fit in a worksheet")
    pkg = _Package(data)
    wb = _workbook(pkg)
    sheet = _open_sheet(pkg, part)
    g = sheet.g
    header = sheet.row(1)
    out: list[bytes] = []
    box: tuple[int, int, int, int] | None = None
    last = 1
    for num, values in enumerate(rows, start=1):
        if len(values) > MAX_COL:
            raise ValueError(f"Row {num} has {len(values)} values; a worksheet has {MAX_COL} columns")
        row = _Row(g, num, [(n, v) for n, v in header.attrs if n != b"spans"] if header and num == 1 else [], {})
        for col, value in enumerate(values, start=1):
            s = sheet.col_style(col)
            if num == 1 and header is not None:
                s = header.style(col) or s
            cell = _cell_bytes(g, _letters(col) + str(num).encode(), [(b"s", s)] if s else [], b"", value,
                               wb.date1904)
            if cell is not None:
                row.cells[col] = cell
        if row.cells:
            lo, hi = min(row.cells), max(row.cells)
            box = (min(box[0], num), min(box[1], lo), max(box[2], num), max(box[3], hi)) if box else (num, lo, num, hi)
            if row.has_value():
                last = num
            out.append(row.serialize())
    sheet.set_dimension(box)
    width = max((i + 1 for i, v in enumerate(rows[0]) if v not in (None, "")), default=0) if rows else 0
    changed: dict[str, bytes] = {}
    new_filter = sheet.update_filter(last, width or None)
    if new_filter is not None:
        changed.update(_filter_name(pkg, wb, part, new_filter))
    more, removed = _calc_chain(pkg, wb, part, lambda r, c: None)
    changed.update(more)
    changed[part] = sheet.render(b"".join(out))
    return pkg.build(changed, removed)
