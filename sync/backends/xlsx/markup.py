"""The bytes of SpreadsheetML, read without parsing a whole part: cell references and ranges, start-tag
attributes, the root element."""

from __future__ import annotations

import re
from functools import cache

from sync.backends.xlsx.errors import PatchError

MAX_ROW = 1_048_576
MAX_COL = 16_384


@cache
def col_letters(col: int) -> bytes:
    """1 -> b"A", 27 -> b"AA"."""
    out = b""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = bytes((65 + rem,)) + out
    return out


def col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


CELL_REF = re.compile(rb"\$?([A-Za-z]{1,3})\$?(\d+)")
_RANGE = re.compile(rb"\A\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?\Z")


def parse_range(ref: bytes) -> tuple[int, int, int, int] | None:
    """b"B2:D5" -> (2, 2, 5, 4); a single cell is a 1x1 range; anything else (whole columns...) is None."""
    m = _RANGE.match(ref.strip())
    if m is None:
        return None
    r1, c1 = int(m[2]), col_number(m[1])
    r2, c2 = (int(m[4]), col_number(m[3])) if m[3] else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def format_range(r1: int, c1: int, r2: int, c2: int, absolute: bool = False) -> bytes:
    d = b"$" if absolute else b""
    first = d + col_letters(c1) + d + str(r1).encode()
    if (r1, c1) == (r2, c2) and not absolute:
        return first
    return first + b":" + d + col_letters(c2) + d + str(r2).encode()


_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
Attrs = list[tuple[bytes, bytes]]


def parse_attrs(text: bytes) -> Attrs:
    """The attributes of a start tag (values left XML-escaped, ready to be written between double quotes)."""
    out: Attrs = []
    for m in _ATTR.finditer(text):
        value = m[2] if m[2] is not None else m[3].replace(b'"', b"&quot;")
        out.append((m[1], value))
    return out


def attr_value(attrs: Attrs, name: bytes) -> bytes | None:
    for n, v in attrs:
        if n == name:
            return v
    return None


def with_attr(attrs: Attrs, name: bytes, value: bytes | None, *, first: bool = False) -> Attrs:
    """The attributes with ``name`` set (kept in place; new ones at the start or the end), or removed for None."""
    out = [(n, v) for n, v in attrs if n != name or value is not None]
    if value is None:
        return out
    for i, (n, _v) in enumerate(out):
        if n == name:
            out[i] = (n, value)
            return out
    return [(name, value), *out] if first else [*out, (name, value)]


def attrs_bytes(attrs: Attrs) -> bytes:
    return b"".join(b" " + n + b'="' + v + b'"' for n, v in attrs)


def check_cell(row: int, col: int) -> None:
    if not (isinstance(row, int) and isinstance(col, int) and 1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(f"({row!r}, {col!r}) is not a cell of a worksheet (rows 1..{MAX_ROW}, columns 1..{MAX_COL})")


_ROOT = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([^>]*)>",
                   re.S)
_DECL_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["']""")
R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")


def root_element(xml: bytes, part: str) -> tuple[bytes, bytes, Attrs, int]:
    """The root element of a part: (prefix incl. the colon or b"", local name, attributes, end of its start tag)."""
    enc = _DECL_ENCODING.match(xml)
    if enc and enc[1].lower().replace(b"-", b"") != b"utf8":
        raise PatchError(f"The part {part} is encoded as {enc[1].decode(errors='replace')}; only UTF-8 can be patched")
    m = _ROOT.match(xml)
    if m is None:
        raise PatchError(f"The part {part} is not readable XML (no root element found)")
    return m[1] or b"", m[2], parse_attrs(m[3]), m.end()
