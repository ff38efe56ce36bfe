"""Ranges: A1 text parsed with Google's rules and written back in its canonical form, and the
GridRanges of ``spreadsheets.batchUpdate`` checked against the grid."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sync.a1 import col_letters
from sync.emulators.server import Json
from sync.emulators.sheets.errors import ApiError, bad
from sync.emulators.sheets.model import Book, Sheet

_ENDPOINT = re.compile(r"([A-Za-z]*)(\d*)")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def quote_title(title: str) -> str:
    """A sheet title as Google writes it in a range: bare when plain, else quoted with ``''``."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) is not None
    looks_like_ref = re.fullmatch(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*", title) is not None
    if plain and not looks_like_ref and title.lower() not in ("true", "false"):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass
class Range:
    """A parsed A1 range: rows [r0, r1) and columns [c0, c1); ``None`` ends are open (grid end)."""

    sheet: Sheet
    r0: int
    c0: int
    r1: int | None
    c1: int | None

    def bounded(self) -> tuple[int, int, int, int]:
        """Clipped to the grid, as reads see it."""
        r1 = self.sheet.rows if self.r1 is None else min(self.r1, self.sheet.rows)
        c1 = self.sheet.cols if self.c1 is None else min(self.c1, self.sheet.cols)
        return self.r0, self.c0, max(r1, self.r0), max(c1, self.c0)


def a1(sheet: Sheet, r0: int, c0: int, r1: int, c1: int, *, always_quote: bool = False) -> str:
    """Canonical A1 of rows [r0, r1), columns [c0, c1)."""
    title = "'" + sheet.title.replace("'", "''") + "'" if always_quote else quote_title(sheet.title)
    start = f"{col_letters(c0)}{r0 + 1}"
    if r1 - r0 <= 1 and c1 - c0 <= 1:
        return f"{title}!{start}"
    return f"{title}!{start}:{col_letters(max(c1, c0 + 1) - 1)}{max(r1, r0 + 1)}"


def beyond_grid(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> ApiError:
    """The 400 for a range past ``rowCount`` / ``columnCount``."""
    return bad(f"Range ({a1(sheet, r0, c0, r1, c1, always_quote=True)}) exceeds grid limits. "
               f"Max rows: {sheet.rows}, max columns: {sheet.cols}")


def parse_range(book: Book, text: str) -> Range:
    """Parse an A1 range the way Google does, or 400 "Unable to parse range"."""
    fail = bad(f"Unable to parse range: {text}")
    text = text.strip()
    title: str | None
    cells: str | None
    if text.startswith("'"):
        i, buf = 1, []
        while True:
            if i >= len(text):
                raise fail
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    buf.append("'")
                    i += 2
                    continue
                break
            buf.append(text[i])
            i += 1
        title, rest = "".join(buf), text[i + 1:]
        if rest and not rest.startswith("!"):
            raise fail
        cells = rest[1:] if rest else None
    elif "!" in text:
        title, _, cells = text.rpartition("!")
    else:
        if book.sheet_by_title(text) is not None:
            title, cells = text, None
        else:
            title, cells = None, text
    if title is not None:
        found = book.sheet_by_title(title)
        if found is None:
            raise fail
        sheet = found
    else:
        sheet = book.sheets[0]
    if cells is None or cells == "":
        if cells == "":
            raise fail
        return Range(sheet, 0, 0, None, None)
    first, colon, second = cells.partition(":")
    m1 = _ENDPOINT.fullmatch(first.strip())
    m2 = _ENDPOINT.fullmatch(second.strip()) if colon else m1
    if not m1 or not m2 or not (m1.group(1) or m1.group(2)) or not (m2.group(1) or m2.group(2)):
        raise fail
    if not colon and not (m1.group(1) and m1.group(2)):
        raise fail
    if "0" in (m1.group(2)[:1], m2.group(2)[:1]):
        raise fail
    c0 = col_index(m1.group(1)) if m1.group(1) else 0
    r0 = int(m1.group(2)) - 1 if m1.group(2) else 0
    c1 = col_index(m2.group(1)) + 1 if m2.group(1) else None
    r1 = int(m2.group(2)) if m2.group(2) else None
    if not m1.group(1) and c1 is not None:  # "2:B5" is not A1
        raise fail
    if r1 is not None and r1 <= r0:
        r0, r1 = r1 - 1, r0 + 1
    if c1 is not None and c1 <= c0:
        c0, c1 = c1 - 1, c0 + 1
    return Range(sheet, r0, c0, r1, c1)


def grid_range(book: Book, gr: Json | None) -> tuple[Sheet, int, int, int, int]:
    """A GridRange as (sheet, r0, c0, r1, c1), open ends at the grid's; 400 when outside the grid."""
    gr = gr or {}
    sheet = book.sheet_by_id(int(gr.get("sheetId", 0)))
    r0, c0 = int(gr.get("startRowIndex", 0)), int(gr.get("startColumnIndex", 0))
    r1 = int(gr["endRowIndex"]) if gr.get("endRowIndex") is not None else sheet.rows
    c1 = int(gr["endColumnIndex"]) if gr.get("endColumnIndex") is not None else sheet.cols
    if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
        raise bad("Invalid range: start indexes must be non-negative and not after the end indexes.")
    if r1 > sheet.rows or c1 > sheet.cols:
        raise beyond_grid(sheet, r0, c0, r1, c1)
    return sheet, r0, c0, r1, c1
