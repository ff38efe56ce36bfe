"""A stateful emulator of the Google Sheets API v4 (and the bits of Drive v3 gspread uses), a real
HTTP server on 127.0.0.1.

What it serves (paths as in Google's discovery documents; see reference/sheets-api.md §1.3, §3):

* ``spreadsheets.create`` / ``spreadsheets.get`` (``fields`` masks, ``ranges``, ``includeGridData``
  with ``userEnteredValue`` / ``effectiveValue`` / ``formattedValue`` / ``userEnteredFormat`` /
  ``dataValidation`` per cell) and ``spreadsheets.batchUpdate`` with the requests a sync backend
  needs (``BATCH_REQUESTS``), applied in order and all-or-nothing;
* ``values.get`` / ``batchGet`` / ``update`` / ``batchUpdate`` / ``append`` / ``clear`` /
  ``batchClear`` with Google's A1 rules (quoted or bare titles, ``''`` escapes, open ranges, the
  first sheet when no title, canonical echoed ranges such as ``'Заказы'!A1:S1000``), trailing
  empty cells and rows trimmed, RAW versus USER_ENTERED input (``"0012"`` stays text with RAW,
  becomes 12 with USER_ENTERED unless the cell's number format is TEXT; ``'`` forces text; ``=``
  is a formula, stored but not evaluated: its value reads as the formula text), and the grid
  limits (a write past ``rowCount``/``columnCount`` is a 400; ``append`` grows the grid);
* Drive v3 ``files.get`` (``version`` and ``modifiedTime`` bumped by every change), ``files.list``
  (the ``q`` gspread's ``open(title)`` sends), ``files.create`` and ``files.delete``;
* ``POST /token``: the OAuth JWT-bearer grant a service account's google-auth sends when its key's
  ``token_uri`` points here. The issued token maps to the JWT's ``iss``. A self-signed JWT sent
  as the bearer token is also accepted (its ``iss`` is the caller).

Google's behaviour around it: error bodies ``{"error": {"code", "message", "status"}}``; 403 when
the spreadsheet is not shared with the caller's e-mail (``shared_with``; requests without an
Authorization header are let through when ``allow_anonymous``); 429 per-user quotas for reads
and writes in a sliding 60 s window (``reads_per_minute`` / ``writes_per_minute``, 60 each as
Google's per-user limits, on an injectable ``clock``); fault injection (``Faults``: random or
scripted 429, 500, 503, dropped connections, slow answers, non-JSON bodies) per method kind such
as ``"values.get"``; a log of every request (``requests``, ``request_count``).

Tests change things as a person in the browser would, in-process: ``set_values`` (typing, with
USER_ENTERED rules), ``delete_rows``, ``sort_rows``; and read state with ``grid`` and ``sheet_meta``.
Not emulated: formula evaluation, dates typed as text becoming serial numbers, developer metadata,
the 10M-cell cap, and enforcement of protected ranges.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import random
import re
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sync.a1 import col_letters
from sync.emulators.server import Faults, LoopbackServer, QuietHandler

Json = dict[str, Any]
Mask = dict[str, Any]  # field-mask tree: name -> True (whole value) or a sub-mask

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
NOT_FOUND = "Requested entity was not found."
NO_PERMISSION = "The caller does not have permission"
UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                   "other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
MISSING_AUTH = ("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
READ_KINDS = frozenset({"spreadsheets.get", "values.get", "values.batchGet"})
VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
DIMENSIONS = ("ROWS", "COLUMNS")
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
_ENDPOINT = re.compile(r"([A-Za-z]*)(\d*)")


class ApiError(Exception):
    """An error answer in Google's shape."""

    def __init__(self, http: int, message: str, status: str | None = None, extra: Json | None = None):
        super().__init__(message)
        self.http, self.message = http, message
        self.status = status or STATUS.get(http, "UNKNOWN")
        self.extra = extra or {}

    def body(self) -> Json:
        error: Json = {"code": self.http, "message": self.message, "status": self.status}
        error.update(self.extra)
        if not self.status:
            error.pop("status")
        return {"error": error}


def bad(message: str) -> ApiError:
    return ApiError(400, message)


# --- helpers: A1, field masks, values ---------------------------------------------------------------


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


def parse_fields(text: str) -> Mask:
    """Parse a field mask (``a.b,c(d,e/f)``) into a tree; ``*`` stands for everything."""
    pos = 0

    def merge(node: Mask, key: str, sub: Any) -> None:
        old = node.get(key)
        if old is True or sub is True:
            node[key] = True
        elif isinstance(old, dict):
            for k, v in sub.items():
                merge(old, k, v)
        else:
            node[key] = sub

    def items() -> Mask:
        nonlocal pos
        out: Mask = {}
        while pos < len(text):
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = [p for p in re.split(r"[./]", text[start:pos].strip()) if p]
            sub: Any = True
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = items()
                pos += 1  # the ")"
            if path:
                for name in reversed(path[1:]):
                    sub = {name: sub}
                merge(out, path[0], sub)
            if pos < len(text) and text[pos] == ")":
                return out
            pos += 1  # the ","
        return out

    return items()


def apply_mask(value: Any, mask: Any) -> Any:
    """Keep only what the mask names (lists are masked element by element)."""
    if mask is True or (isinstance(mask, dict) and "*" in mask):
        return value
    if isinstance(value, list):
        return [apply_mask(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: apply_mask(v, mask[k]) for k, v in value.items() if k in mask}
    return value


def masked_update(target: Json, source: Json, mask: Mask) -> None:
    """Set in ``target`` exactly the fields the mask names, from ``source`` (absent there: cleared)."""
    if "*" in mask:
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for key, sub in mask.items():
        if sub is True:
            if source.get(key) is not None:
                target[key] = copy.deepcopy(source[key])
            else:
                target.pop(key, None)
        else:
            child = target.get(key)
            if not isinstance(child, dict):
                child = {}
            masked_update(child, source.get(key) or {}, sub)
            if child:
                target[key] = child
            else:
                target.pop(key, None)


def _num(x: float | int) -> float | int:
    """Numbers as Google writes them in JSON: integral values without a fraction."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return int(x)
    return x


def format_number(x: float | int, fmt: Json | None) -> str:
    """A number as displayed: General, or a simple ``0.00`` / ``#,##0`` / percent pattern."""
    number_format = (fmt or {}).get("numberFormat") or {}
    pattern = str(number_format.get("pattern") or "")
    kind = number_format.get("type")
    value = float(x)
    if kind == "PERCENT":
        value *= 100
    if pattern and re.search(r"[0#]", pattern):
        section = pattern.split(";")[0]
        decimals = len(re.sub(r"[^0#]", "", section.split(".", 1)[1])) if "." in section else 0
        text = f"{value:,.{decimals}f}" if "," in section else f"{value:.{decimals}f}"
    elif isinstance(_num(value), int):
        text = str(_num(value))
    else:
        text = f"{value:.15g}"
    return text + "%" if kind == "PERCENT" else text


def user_entered(value: Any, fmt: Json | None) -> Json | None:
    """What typing ``value`` into a cell stores (USER_ENTERED); ``None`` for an empty string."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": _num(value)}
    text = str(value)
    if text == "":
        return None
    if ((fmt or {}).get("numberFormat") or {}).get("type") == "TEXT":
        return {"stringValue": text}
    if text.startswith("'"):
        return {"stringValue": text[1:]}
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}
    if text.strip().upper() in ("TRUE", "FALSE"):
        return {"boolValue": text.strip().upper() == "TRUE"}
    stripped = text.strip()
    percent = stripped.endswith("%")
    digits = stripped[:-1] if percent else stripped
    if any(ch.isdigit() for ch in digits) and _NUMBER.fullmatch(digits):
        number = float(digits.replace(",", ""))
        return {"numberValue": _num(number / 100 if percent else number)}
    return {"stringValue": text}


def raw_value(value: Any) -> Json | None:
    """What a RAW write stores: strings stay text, whatever they look like."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": _num(value)}
    text = str(value)
    return {"stringValue": text} if text != "" else None


def effective(uev: Json) -> Json:
    """The computed value: formulas are not evaluated and read as their text."""
    if "formulaValue" in uev:
        return {"stringValue": uev["formulaValue"]}
    return dict(uev)


def render(cell: Json | None, option: str) -> Any:
    uev = (cell or {}).get("userEnteredValue")
    if not uev:
        return ""
    if option == "FORMULA" and "formulaValue" in uev:
        return uev["formulaValue"]
    ev = effective(uev)
    if "numberValue" in ev:
        number = _num(ev["numberValue"])
        return number if option != "FORMATTED_VALUE" else format_number(number, (cell or {}).get("userEnteredFormat"))
    if "boolValue" in ev:
        return bool(ev["boolValue"]) if option != "FORMATTED_VALUE" else ("TRUE" if ev["boolValue"] else "FALSE")
    return str(ev.get("stringValue", ""))


def plain_value(uev: Json | None) -> Any:
    """A stored value as a Python value (formulas as their text); "" when empty."""
    if not uev:
        return ""
    for key in ("formulaValue", "stringValue", "boolValue"):
        if key in uev:
            return uev[key]
    if "numberValue" in uev:
        return _num(uev["numberValue"])
    return ""


def trim(matrix: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing empty cells of each row and trailing empty rows, as Google does."""
    out = []
    for row in matrix:
        end = len(row)
        while end and row[end - 1] == "":
            end -= 1
        out.append(row[:end])
    while out and not out[-1]:
        out.pop()
    return out


def _bool_param(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _jwt_payload(token: str) -> Json | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- state --------------------------------------------------------------------------------------------


@dataclass
class _Sheet:
    props: Json  # SheetProperties without "index" (the position in the book is the index)
    cells: dict[tuple[int, int], Json] = field(default_factory=dict)  # (row, col) -> CellData subset
    conditional: list[Json] = field(default_factory=list)
    protected: list[Json] = field(default_factory=list)
    basic_filter: Json | None = None
    dims: dict[str, dict[int, Json]] = field(default_factory=lambda: {"ROWS": {}, "COLUMNS": {}})

    @property
    def sheet_id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def rows(self) -> int:
        return int(self.props["gridProperties"]["rowCount"])

    @property
    def cols(self) -> int:
        return int(self.props["gridProperties"]["columnCount"])

    def grow(self, rows: int, cols: int) -> None:
        grid = self.props["gridProperties"]
        grid["rowCount"] = max(self.rows, rows)
        grid["columnCount"] = max(self.cols, cols)

    def last_row(self, c0: int = 0, c1: int | None = None) -> int:
        """1 + the last row index holding a value in columns [c0, c1); 0 when none."""
        rows = [r for (r, c), cell in self.cells.items()
                if cell.get("userEnteredValue") and c >= c0 and (c1 is None or c < c1)]
        return max(rows) + 1 if rows else 0

    def set_cell(self, r: int, c: int, key: str, value: Any) -> None:
        """Copy-on-write, so a shallow copy of ``cells`` is a snapshot to roll back to."""
        cell = dict(self.cells.get((r, c), {}))
        if value is None:
            cell.pop(key, None)
        else:
            cell[key] = value
        if cell:
            self.cells[(r, c)] = cell
        else:
            self.cells.pop((r, c), None)


@dataclass
class _Book:
    spreadsheet_id: str
    title: str
    sheets: list[_Sheet]
    shared_with: set[str] | None
    created: datetime
    modified: datetime
    version: int = 1
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"

    def sheet_by_id(self, sheet_id: int) -> _Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise bad(f"No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> _Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        for sheet in self.sheets:
            if sheet.title.lower() == title.lower():
                return sheet
        return None


@dataclass
class _Range:
    """A parsed A1 range: rows [r0, r1) and columns [c0, c1); ``None`` ends are open (grid end)."""

    sheet: _Sheet
    r0: int
    c0: int
    r1: int | None
    c1: int | None

    def bounded(self) -> tuple[int, int, int, int]:
        """Clipped to the grid, as reads see it."""
        r1 = self.sheet.rows if self.r1 is None else min(self.r1, self.sheet.rows)
        c1 = self.sheet.cols if self.c1 is None else min(self.c1, self.sheet.cols)
        return self.r0, self.c0, max(r1, self.r0), max(c1, self.c0)


def a1(sheet: _Sheet, r0: int, c0: int, r1: int, c1: int, *, always_quote: bool = False) -> str:
    """Canonical A1 of rows [r0, r1), columns [c0, c1)."""
    title = "'" + sheet.title.replace("'", "''") + "'" if always_quote else quote_title(sheet.title)
    start = f"{col_letters(c0)}{r0 + 1}"
    if r1 - r0 <= 1 and c1 - c0 <= 1:
        return f"{title}!{start}"
    return f"{title}!{start}:{col_letters(max(c1, c0 + 1) - 1)}{max(r1, r0 + 1)}"


class SheetsEmulator(LoopbackServer):
    """The emulator: ``with SheetsEmulator() as emu: sid = emu.create_spreadsheet("Orders", ["Заказы"])``.

    ``clock`` gives the current time (UTC) for ``modifiedTime`` and the quota window; tests may pass
    their own. One lock guards everything, so tests may call the in-process helpers while the server
    thread answers requests.
    """

    thread_name = "sheets-emulator"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 1,
        allow_anonymous: bool = True,
        reads_per_minute: int = 60,
        writes_per_minute: int = 60,
        faults: Faults | None = None,
        record_exchanges: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(host, port)
        self.record_exchanges = record_exchanges
        self.exchanges: list[tuple[str, Any, int, Any]] = []  # (method kind, request body, status, answer)
        self.allow_anonymous = allow_anonymous
        self.reads_per_minute, self.writes_per_minute = reads_per_minute, writes_per_minute
        self.faults = faults or Faults()
        self.clock = clock
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []  # method, path, query, body
        self.tokens: dict[str, str] = {}  # issued access token -> e-mail
        self._books: dict[str, _Book] = {}
        self._quota: dict[tuple[str, str], deque[float]] = {}
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(seed + 1)
        self._lock = threading.RLock()

    # --- lifecycle ----------------------------------------------------------------------------------


    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- in-process helpers (tests, the demo) ----------------------------------------------------------

    def create_spreadsheet(self, title: str, sheets: list[str] | None = None, *, shared_with: set[str] | None = None,
                           rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLS) -> str:
        """Create a spreadsheet with these tabs (``Sheet1`` when none); returns its id.
        ``shared_with``: e-mails that may open it (None: anyone)."""
        with self._lock:
            body = {"properties": {"title": title},
                    "sheets": [{"properties": {"title": t, "gridProperties": {"rowCount": rows, "columnCount": cols}}}
                               for t in (sheets or [])]}
            book = self._new_book(body, shared_with)
            return book.spreadsheet_id

    def share(self, spreadsheet_id: str, *emails: str) -> None:
        with self._lock:
            book = self._book(spreadsheet_id)
            book.shared_with = (book.shared_with or set()) | set(emails)

    def issue_token(self, email: str) -> str:
        """An access token for ``email``, as if it came from ``/token``."""
        with self._lock:
            token = f"ya29.emu-{len(self.tokens) + 1}-{self._rng.getrandbits(48):012x}"
            self.tokens[token] = email
            return token

    def spreadsheet_ids(self) -> list[str]:
        with self._lock:
            return list(self._books)

    def revision(self, spreadsheet_id: str) -> int:
        with self._lock:
            return self._book(spreadsheet_id).version

    def grid(self, spreadsheet_id: str, sheet_title: str) -> list[list[Any]]:
        """The user-entered values (formulas as text), trailing empties trimmed."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, sheet_title)
            height = max((r for r, _ in sheet.cells), default=-1) + 1
            width = max((c for _, c in sheet.cells), default=-1) + 1
            return trim([[plain_value(sheet.cells.get((r, c), {}).get("userEnteredValue")) for c in range(width)]
                         for r in range(height)])

    def set_values(self, spreadsheet_id: str, a1_range: str, rows: list[list[Any]]) -> None:
        """A person typing ``rows`` from the top-left of ``a1_range`` (USER_ENTERED rules)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            rng = self._parse_range(book, a1_range)
            self._write(rng, rows, "USER_ENTERED")
            self._touch(book)

    def delete_rows(self, spreadsheet_id: str, sheet_title: str, start_row: int, end_row: int | None = None) -> None:
        """A person deleting rows ``start_row``..``end_row`` (1-based, inclusive)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet = self._sheet(spreadsheet_id, sheet_title)
            self._delete_dimension(book, sheet, "ROWS", start_row - 1, end_row or start_row)
            self._touch(book)

    def sort_rows(self, spreadsheet_id: str, sheet_title: str, key_col: int | str, start_row: int = 2,
                  reverse: bool = False) -> None:
        """A person sorting the rows from ``start_row`` (1-based) down by one column (1-based number or
        letter); whole rows move, formats and validation with them; empty keys go last."""
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet = self._sheet(spreadsheet_id, sheet_title)
            col = col_index(key_col) if isinstance(key_col, str) else key_col - 1
            first, end = start_row - 1, sheet.last_row()
            if end <= first:
                return
            rows = {r: {c: cell for (rr, c), cell in sheet.cells.items() if rr == r} for r in range(first, end)}

            def key(r: int) -> tuple[int, int, Any]:
                value = render(rows[r].get(col), "UNFORMATTED_VALUE")
                if value == "":
                    return (2, 0, "")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return (0, 0, value)
                return (1, 0, str(value).lower())

            filled = sorted((r for r in rows if key(r)[0] < 2), key=key, reverse=reverse)
            order = filled + [r for r in rows if key(r)[0] == 2]
            for (r, c) in [k for k in sheet.cells if first <= k[0] < end]:
                del sheet.cells[(r, c)]
            for new_r, old_r in enumerate(order, start=first):
                for c, cell in rows[old_r].items():
                    sheet.cells[(new_r, c)] = cell
            self._touch(book)

    def sheet_meta(self, spreadsheet_id: str, sheet_title: str) -> Json:
        """What a person sees besides values: properties, frozen rows, filter, conditional formats,
        protected ranges, and validations / formats grouped into column runs (``{"range", "rule"}``)."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, sheet_title)
            book = self._book(spreadsheet_id)
            return copy.deepcopy({
                "properties": self._sheet_props(book, sheet),
                "frozen_rows": int(sheet.props["gridProperties"].get("frozenRowCount", 0)),
                "basic_filter": sheet.basic_filter,
                "conditional_formats": sheet.conditional,
                "protected_ranges": sheet.protected,
                "validations": [{"range": r, "rule": v} for r, v in self._runs(sheet, "dataValidation")],
                "formats": [{"range": r, "format": v} for r, v in self._runs(sheet, "userEnteredFormat")],
                "column_widths": {col_letters(c): p.get("pixelSize") for c, p in sorted(sheet.dims["COLUMNS"].items())
                                  if "pixelSize" in p},
            })

    def drive_file(self, spreadsheet_id: str) -> Json:
        with self._lock:
            return self._file(self._book(spreadsheet_id))

    @staticmethod
    def _runs(sheet: _Sheet, key: str) -> Iterator[tuple[str, Json]]:
        by_col: dict[int, list[tuple[int, Json]]] = {}
        for (r, c), cell in sorted(sheet.cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if key in cell:
                by_col.setdefault(c, []).append((r, cell[key]))
        for c, items in by_col.items():
            start, prev, value = items[0][0], items[0][0], items[0][1]
            for r, v in items[1:] + [(-1, None)]:
                if r == prev + 1 and v == value:
                    prev = r
                    continue
                letters = col_letters(c)
                yield (f"{letters}{start + 1}" if start == prev else f"{letters}{start + 1}:{letters}{prev + 1}"), value
                if v is not None:
                    start, prev, value = r, r, v

    # --- internals: books and ranges --------------------------------------------------------------------

    def _new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self._rng.choice(alphabet) for _ in range(43))

    def _new_book(self, body: Json, shared_with: set[str] | None) -> _Book:
        now = self.clock()
        props = body.get("properties") or {}
        book = _Book(self._new_id(), str(props.get("title") or "Untitled spreadsheet"), [],
                     set(shared_with) if shared_with is not None else None, now, now)
        book.locale = str(props.get("locale") or book.locale)
        book.time_zone = str(props.get("timeZone") or book.time_zone)
        for i, spec in enumerate(body.get("sheets") or [{}]):
            sheet_props = dict((spec or {}).get("properties") or {})
            sheet_props.setdefault("sheetId", 0 if i == 0 else None)
            self._add_sheet(book, sheet_props)
        self._books[book.spreadsheet_id] = book
        return book

    def _free_id(self, used: set[int]) -> int:
        """A random positive int32 not in ``used``, as Google picks sheet and range ids."""
        while (new := self._rng.randrange(1, 2**31 - 1)) in used:
            pass
        return new

    def _add_sheet(self, book: _Book, props: Json) -> _Sheet:
        props = copy.deepcopy(props)
        used = {s.sheet_id for s in book.sheets}
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = self._free_id(used)
        elif int(sheet_id) in used:
            raise bad(f"A sheet with the id {sheet_id} already exists.")
        title = props.get("title")
        if not title:
            n = len(book.sheets) + 1
            while book.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        if book.sheet_by_title(str(title)) is not None:
            raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
        grid = dict(props.get("gridProperties") or {})
        grid["rowCount"] = int(grid.get("rowCount") or DEFAULT_ROWS)
        grid["columnCount"] = int(grid.get("columnCount") or DEFAULT_COLS)
        sheet_props: Json = {"sheetId": int(sheet_id), "title": str(title), "sheetType": "GRID", "gridProperties": grid}
        if props.get("hidden"):
            sheet_props["hidden"] = True
        if props.get("tabColor"):
            sheet_props["tabColor"] = props["tabColor"]
        sheet = _Sheet(sheet_props)
        index = props.get("index")
        if index is None or int(index) >= len(book.sheets):
            book.sheets.append(sheet)
        else:
            book.sheets.insert(max(0, int(index)), sheet)
        return sheet

    def _book(self, spreadsheet_id: str) -> _Book:
        book = self._books.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, NOT_FOUND)
        return book

    def _sheet(self, spreadsheet_id: str, title: str) -> _Sheet:
        sheet = self._book(spreadsheet_id).sheet_by_title(title)
        if sheet is None:
            raise KeyError(f"no sheet {title!r}")
        return sheet

    def _touch(self, book: _Book) -> None:
        book.version += 1
        now = self.clock()
        book.modified = now if now > book.modified else book.modified

    def _parse_range(self, book: _Book, text: str) -> _Range:
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
            return _Range(sheet, 0, 0, None, None)
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
        return _Range(sheet, r0, c0, r1, c1)

    def _read(self, rng: _Range, major: str, option: str) -> Json:
        r0, c0, r1, c1 = rng.bounded()
        used = [(r, c) for (r, c), cell in rng.sheet.cells.items()
                if r0 <= r < r1 and c0 <= c < c1 and cell.get("userEnteredValue")]
        last_r = max((r for r, _ in used), default=r0 - 1) + 1  # past these all is empty: trimmed anyway
        last_c = max((c for _, c in used), default=c0 - 1) + 1
        matrix = [[render(rng.sheet.cells.get((r, c)), option) for c in range(c0, last_c)] for r in range(r0, last_r)]
        if major == "COLUMNS":
            matrix = [list(col) for col in zip(*matrix, strict=True)] if matrix else []
        out: Json = {"range": a1(rng.sheet, r0, c0, r1, c1), "majorDimension": major}
        values = trim(matrix)
        if values:
            out["values"] = values
        return out

    def _write(self, rng: _Range, values: list[list[Any]] | None, option: str, major: str = "ROWS") -> Json:
        """Write a values matrix from the range's top-left; returns an UpdateValuesResponse."""
        sheet = rng.sheet
        if option not in ("RAW", "USER_ENTERED"):
            raise bad(f"Invalid valueInputOption: {option or 'INPUT_VALUE_OPTION_UNSPECIFIED'}")
        if values is not None and (not isinstance(values, list) or not all(isinstance(v, list) for v in values)):
            raise bad("Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue)")
        matrix = values or []
        if major == "COLUMNS":
            width = max((len(col) for col in matrix), default=0)
            matrix = [[col[i] if i < len(col) else None for col in matrix] for i in range(width)]
        height = len(matrix)
        width = max((len(row) for row in matrix), default=0)
        r_end, c_end = rng.r0 + max(height, 1), rng.c0 + max(width, 1)
        if rng.r1 == rng.r0 + 1 and rng.c1 == rng.c0 + 1:  # a single cell is only an anchor
            rng = _Range(sheet, rng.r0, rng.c0, None, None)
        if (rng.r1 is not None and height > rng.r1 - rng.r0) or (rng.c1 is not None and width > rng.c1 - rng.c0):
            bounds = rng.bounded()
            over_row = rng.r1 is not None and height > rng.r1 - rng.r0
            raise bad(f"Requested writing within range [{a1(sheet, *bounds)}], but tried writing to "
                      + (f"row [{rng.r1 + 1}]" if over_row and rng.r1 is not None
                         else f"column [{col_letters(rng.c1 or 0)}]"))
        if r_end > sheet.rows or c_end > sheet.cols:
            raise bad(f"Range ({a1(sheet, rng.r0, rng.c0, r_end, c_end, always_quote=True)}) exceeds grid limits. "
                      f"Max rows: {sheet.rows}, max columns: {sheet.cols}")
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if isinstance(value, dict | list):
                    raise bad(f"Invalid values[{i}][{j}]: {json.dumps(value)}")
        cells = rows_touched = 0
        for i, row in enumerate(matrix):
            touched = False
            for j, value in enumerate(row):
                if value is None:
                    continue
                r, c = rng.r0 + i, rng.c0 + j
                fmt = sheet.cells.get((r, c), {}).get("userEnteredFormat")
                uev = raw_value(value) if option == "RAW" else user_entered(value, fmt)
                sheet.set_cell(r, c, "userEnteredValue", uev)
                cells += 1
                touched = True
            rows_touched += touched
        out: Json = {"spreadsheetId": "", "updatedRange": a1(sheet, rng.r0, rng.c0, rng.r0 + max(height, 1),
                                                               rng.c0 + max(width, 1))}
        if cells:
            out.update(updatedRows=rows_touched, updatedColumns=width, updatedCells=cells)
        return out

    def _clear(self, rng: _Range) -> str:
        r0, c0, r1, c1 = rng.bounded()
        for (r, c) in [k for k in rng.sheet.cells if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
            rng.sheet.set_cell(r, c, "userEnteredValue", None)
        return a1(rng.sheet, r0, c0, r1, c1)

    def _sheet_props(self, book: _Book, sheet: _Sheet) -> Json:
        props = copy.deepcopy(sheet.props)
        props["index"] = book.sheets.index(sheet)
        return {k: props[k] for k in ("sheetId", "title", "index", "sheetType", "gridProperties", "hidden", "tabColor")
                if k in props}

    def _spreadsheet_json(self, book: _Book, *, grid_data: bool = False, ranges: list[str] | None = None) -> Json:
        wanted: dict[int, list[_Range]] | None = None
        if ranges:
            wanted = {}
            for text in ranges:
                rng = self._parse_range(book, text)
                wanted.setdefault(rng.sheet.sheet_id, []).append(rng)
        sheets = []
        for sheet in book.sheets:
            if wanted is not None and sheet.sheet_id not in wanted:
                continue
            item: Json = {"properties": self._sheet_props(book, sheet)}
            if grid_data:
                parts = wanted[sheet.sheet_id] if wanted is not None else [_Range(sheet, 0, 0, None, None)]
                item["data"] = [self._grid_data(rng) for rng in parts]
            if sheet.conditional:
                item["conditionalFormats"] = copy.deepcopy(sheet.conditional)
            if sheet.protected:
                item["protectedRanges"] = [dict(copy.deepcopy(p), requestingUserCanEdit=True) for p in sheet.protected]
            if sheet.basic_filter is not None:
                item["basicFilter"] = copy.deepcopy(sheet.basic_filter)
            sheets.append(item)
        return {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {"title": book.title, "locale": book.locale, "autoRecalc": "ON_CHANGE",
                           "timeZone": book.time_zone},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }

    def _grid_data(self, rng: _Range) -> Json:
        r0, c0, r1, c1 = rng.bounded()
        sheet = rng.sheet
        rows: list[Json] = []
        for r in range(r0, r1):
            values: list[Json] = []
            for c in range(c0, c1):
                cell = sheet.cells.get((r, c))
                out: Json = {}
                if cell:
                    uev = cell.get("userEnteredValue")
                    if uev:
                        out["userEnteredValue"] = copy.deepcopy(uev)
                        out["effectiveValue"] = effective(uev)
                        out["formattedValue"] = render(cell, "FORMATTED_VALUE")
                    for key in ("userEnteredFormat", "dataValidation", "note"):
                        if key in cell:
                            out[key] = copy.deepcopy(cell[key])
                values.append(out)
            while values and not values[-1]:
                values.pop()
            rows.append({"values": values} if values else {})
        while rows and not rows[-1]:
            rows.pop()
        data: Json = {"startRow": r0, "startColumn": c0, "rowData": rows,
                      "columnMetadata": [{"pixelSize": int(sheet.dims["COLUMNS"].get(c, {}).get("pixelSize", 100))}
                                         for c in range(c0, c1)]}
        return {k: v for k, v in data.items() if v}

    def _file(self, book: _Book) -> Json:
        def stamp(dt: datetime) -> str:
            return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"

        return {"kind": "drive#file", "id": book.spreadsheet_id, "name": book.title, "mimeType": SPREADSHEET_MIME,
                "createdTime": stamp(book.created), "modifiedTime": stamp(book.modified), "version": str(book.version)}

    # --- dimension shifts ------------------------------------------------------------------------------

    @staticmethod
    def _shift_ranges(sheet: _Sheet, ranges: list[Json], dimension: str, fn: Callable[[int], int]) -> list[Json]:
        """Move GridRanges of this sheet; drop the ones that became empty."""
        start_key, end_key = ("startRowIndex", "endRowIndex") if dimension == "ROWS" else \
            ("startColumnIndex", "endColumnIndex")
        kept = []
        for gr in ranges:
            if int(gr.get("sheetId", 0)) == sheet.sheet_id:
                if start_key in gr:
                    gr[start_key] = fn(int(gr[start_key]))
                if end_key in gr:
                    gr[end_key] = fn(int(gr[end_key]))
                if start_key in gr and end_key in gr and gr[start_key] >= gr[end_key]:
                    continue
                if not gr.get(start_key):
                    gr.pop(start_key, None)
            kept.append(gr)
        return kept

    def _shift(self, sheet: _Sheet, dimension: str, cell_fn: Callable[[int], int | None],
               edge_fn: Callable[[int], int]) -> None:
        axis = 0 if dimension == "ROWS" else 1
        moved: dict[tuple[int, int], Json] = {}
        for key, cell in sheet.cells.items():
            new = cell_fn(key[axis])
            if new is not None:
                moved[(new, key[1]) if axis == 0 else (key[0], new)] = cell
        sheet.cells = moved
        dims: dict[int, Json] = {}
        for i, props in sheet.dims[dimension].items():
            new = cell_fn(i)
            if new is not None:
                dims[new] = props
        sheet.dims[dimension] = dims
        sheet.protected = [p for p in sheet.protected
                           if "range" not in p or self._shift_ranges(sheet, [p["range"]], dimension, edge_fn)]
        rules = []
        for rule in sheet.conditional:
            rule["ranges"] = self._shift_ranges(sheet, rule.get("ranges", []), dimension, edge_fn)
            if rule["ranges"]:
                rules.append(rule)
        sheet.conditional = rules
        if sheet.basic_filter is not None and "range" in sheet.basic_filter:
            if not self._shift_ranges(sheet, [sheet.basic_filter["range"]], dimension, edge_fn):
                sheet.basic_filter = None

    def _insert_dimension(self, sheet: _Sheet, dimension: str, start: int, end: int, inherit_before: bool) -> None:
        count = end - start
        limit = sheet.rows if dimension == "ROWS" else sheet.cols
        if count <= 0 or start < 0 or start > limit:
            raise bad(f"Invalid dimension range: startIndex {start}, endIndex {end} (the grid has {limit}).")
        if inherit_before and start == 0:
            raise bad("Cannot inherit from before when inserting at index 0.")
        axis = 0 if dimension == "ROWS" else 1
        source = start - 1 if inherit_before else start
        template = {k[1 - axis]: {f: copy.deepcopy(v) for f, v in cell.items()
                                  if f in ("userEnteredFormat", "dataValidation")}
                    for k, cell in sheet.cells.items() if k[axis] == source}
        self._shift(sheet, dimension, lambda x: x if x < start else x + count,
                    lambda x: x + count if x > start or (x == start and not inherit_before and x > 0) else x)
        for i in range(start, end):
            for other, cell in template.items():
                if cell:
                    sheet.cells[(i, other) if axis == 0 else (other, i)] = copy.deepcopy(cell)
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        sheet.props["gridProperties"][key] += count

    def _delete_dimension(self, book: _Book, sheet: _Sheet, dimension: str, start: int, end: int) -> None:
        limit = sheet.rows if dimension == "ROWS" else sheet.cols
        end = min(end, limit)
        if start < 0 or end <= start:
            raise bad(f"Invalid dimension range: startIndex {start}, endIndex {end}.")
        if start == 0 and end >= limit:
            what = "rows" if dimension == "ROWS" else "columns"
            raise bad(f"You can't delete all the {what} on the sheet.")
        count = end - start
        self._shift(sheet, dimension, lambda x: x if x < start else None if x < end else x - count,
                    lambda x: x if x <= start else max(start, x - count))
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        sheet.props["gridProperties"][key] -= count
        grid = sheet.props["gridProperties"]
        frozen = "frozenRowCount" if dimension == "ROWS" else "frozenColumnCount"
        if grid.get(frozen, 0) > grid[key]:
            grid[frozen] = grid[key]

    # --- HTTP entry point --------------------------------------------------------------------------------

    def route(self, method: str, raw_path: str) -> tuple[str, dict[str, str]]:
        """Which method kind a request is, and its path arguments."""
        path = raw_path
        if path == "/token":
            return "token", {}
        if path.startswith("/drive/v3/files"):
            rest = path[len("/drive/v3/files"):].strip("/")
            if not rest:
                return ("drive.files.create" if method == "POST" else "drive.files.list"), {}
            kind = {"GET": "drive.files.get", "DELETE": "drive.files.delete"}.get(method, "unknown")
            return kind, {"id": unquote(rest)}
        if path == "/v4/spreadsheets" or path == "/v4/spreadsheets/":
            return ("spreadsheets.create" if method == "POST" else "unknown"), {}
        if not path.startswith("/v4/spreadsheets/"):
            return "unknown", {}
        rest = path[len("/v4/spreadsheets/"):]
        sid, slash, tail = rest.partition("/")
        if not slash:
            if sid.endswith(":batchUpdate"):
                return "spreadsheets.batchUpdate", {"id": unquote(sid[:-len(":batchUpdate")])}
            return ("spreadsheets.get" if method == "GET" else "unknown"), {"id": unquote(sid)}
        args = {"id": unquote(sid)}
        for suffix in ("batchGet", "batchUpdate", "batchClear"):
            if tail == f"values:{suffix}":
                return f"values.{suffix}", args
        if tail.startswith("values/"):
            rng = tail[len("values/"):]
            for suffix in ("append", "clear"):
                if rng.endswith(f":{suffix}"):
                    return f"values.{suffix}", dict(args, range=unquote(rng[:-len(suffix) - 1]))
            kind = {"GET": "values.get", "PUT": "values.update"}.get(method, "unknown")
            return kind, dict(args, range=unquote(rng))
        return "unknown", {}

    def caller(self, headers: dict[str, str]) -> str | None:
        """The e-mail behind the Authorization header (None: anonymous), or 401."""
        auth = headers.get("authorization")
        if not auth:
            if self.allow_anonymous:
                return None
            raise ApiError(401, MISSING_AUTH)
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, UNAUTHENTICATED)
        if token in self.tokens:
            return self.tokens[token]
        payload = _jwt_payload(token)  # a self-signed JWT: the caller is its issuer
        if payload and isinstance(payload.get("iss"), str) and "@" in payload["iss"]:
            return str(payload["iss"])
        raise ApiError(401, UNAUTHENTICATED)

    def _quota_check(self, kind: str, user: str | None) -> None:
        if not (kind.startswith("values.") or kind.startswith("spreadsheets.")):
            return
        read = kind in READ_KINDS
        limit = self.reads_per_minute if read else self.writes_per_minute
        now = self.clock().timestamp()
        window = self._quota.setdefault((user or "anonymous", "read" if read else "write"), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            raise quota_error(read)
        window.append(now)

    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str],
               raw: bytes, *, kind: str | None = None) -> tuple[int, Any]:
        """Answer one request: (HTTP status, JSON body)."""
        with self._lock:
            if kind is None:
                kind, _ = self.route(method, raw_path)
            _, args = self.route(method, raw_path)
            try:
                if kind == "token":
                    return self._token(raw)
                body: Any = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise bad("Invalid JSON payload received. Unexpected token.") from None
                user = self.caller(headers)
                if kind == "unknown":
                    raise ApiError(404, NOT_FOUND)
                self._quota_check(kind, user)
                if kind == "spreadsheets.create":
                    book = self._new_book(body or {}, {user} if user else None)
                    return 200, self._spreadsheet_json(book)
                if kind == "drive.files.list":
                    return 200, self._drive_list(query, user)
                if kind == "drive.files.create":
                    return self._drive_create(body or {}, query, user)
                book = self._book(args["id"])
                if user is not None and book.shared_with is not None and user not in book.shared_with:
                    raise ApiError(403, NO_PERMISSION)
                return self._dispatch(kind, book, args, query, body if isinstance(body, dict) else {})
            except ApiError as err:
                if kind.startswith("drive."):
                    return err.http, drive_error(err)
                return err.http, err.body()

    def _dispatch(self, kind: str, book: _Book, args: dict[str, str], query: dict[str, list[str]],
                  body: Json) -> tuple[int, Any]:
        def q(name: str, default: str | None = None) -> str | None:
            return query.get(name, [default])[-1]

        def option(name: str, allowed: tuple[str, ...], default: str) -> str:
            value = q(name) or default
            if value not in allowed:
                raise bad(f"Invalid value at '{name}', \"{value}\"")
            return value

        sid = book.spreadsheet_id
        if kind == "drive.files.get":
            file = self._file(book)
            fields = q("fields")
            if fields:
                return 200, apply_mask(file, parse_fields(fields))
            return 200, {k: file[k] for k in ("kind", "id", "name", "mimeType")}
        if kind == "drive.files.delete":
            del self._books[sid]
            return 204, b""
        if kind == "spreadsheets.get":
            result = self._spreadsheet_json(book, grid_data=_bool_param(q("includeGridData")),
                                            ranges=query.get("ranges"))
            fields = q("fields")
            return 200, apply_mask(result, parse_fields(fields)) if fields else result
        if kind == "values.get":
            major = option("majorDimension", DIMENSIONS, "ROWS")
            render_option = option("valueRenderOption", VALUE_RENDER, "FORMATTED_VALUE")
            option("dateTimeRenderOption", DATE_RENDER, "SERIAL_NUMBER")
            return 200, self._read(self._parse_range(book, args["range"]), major, render_option)
        if kind == "values.batchGet":
            major = option("majorDimension", DIMENSIONS, "ROWS")
            render_option = option("valueRenderOption", VALUE_RENDER, "FORMATTED_VALUE")
            option("dateTimeRenderOption", DATE_RENDER, "SERIAL_NUMBER")
            ranges = [self._parse_range(book, text) for text in query.get("ranges", [])]
            return 200, {"spreadsheetId": sid, "valueRanges": [self._read(r, major, render_option) for r in ranges]}
        if kind in ("values.update", "values.append"):
            input_option = q("valueInputOption") or ""
            rng = self._parse_range(book, args["range"])
            major = str(body.get("majorDimension") or "ROWS")
            if major not in DIMENSIONS:
                raise bad(f"Invalid value at 'data.major_dimension', \"{major}\"")
            if kind == "values.update":
                if body.get("range") and self._parse_range(book, str(body["range"])) != rng:
                    raise bad(f"Requested writing within range [{args['range']}], but tried writing to "
                              f"[{body['range']}]")
                result = self._write(rng, body.get("values"), input_option, major)
            else:
                work = copy.deepcopy(book)  # append may insert rows before failing: all or nothing
                rng = self._parse_range(work, args["range"])
                result, table = self._append(rng, body.get("values"), input_option, major, q("insertDataOption"))
                self._books[sid] = book = work
            result["spreadsheetId"] = sid
            if _bool_param(q("includeValuesInResponse")):
                result["updatedData"] = self._read(self._parse_range(book, result["updatedRange"]), major,
                                                   q("responseValueRenderOption") or "FORMATTED_VALUE")
            self._touch(book)
            if kind == "values.append":
                answer: Json = {"spreadsheetId": sid, "updates": result}
                if table:
                    answer["tableRange"] = table
                return 200, answer
            return 200, result
        if kind == "values.batchUpdate":
            input_option = str(body.get("valueInputOption") or "")
            data = body.get("data") or []
            plan = []
            for item in data:
                rng = self._parse_range(book, str((item or {}).get("range") or ""))
                plan.append((rng, item))
            snapshot = {s.sheet_id: dict(s.cells) for s in book.sheets}
            responses = []
            try:
                for rng, item in plan:
                    major = str(item.get("majorDimension") or "ROWS")
                    result = self._write(rng, item.get("values"), input_option, major)
                    result["spreadsheetId"] = sid
                    responses.append(result)
            except ApiError:
                for s in book.sheets:
                    s.cells = snapshot[s.sheet_id]
                raise
            self._touch(book)
            answer = {"spreadsheetId": sid,
                      "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
                      "totalUpdatedColumns": max((r.get("updatedColumns", 0) for r in responses), default=0),
                      "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                      "totalUpdatedSheets": len({rng.sheet.sheet_id for rng, _ in plan}),
                      "responses": responses}
            return 200, {k: v for k, v in answer.items() if v or k in ("spreadsheetId", "responses")}
        if kind == "values.clear":
            cleared = self._clear(self._parse_range(book, args["range"]))
            self._touch(book)
            return 200, {"spreadsheetId": sid, "clearedRange": cleared}
        if kind == "values.batchClear":
            ranges = [self._parse_range(book, str(text)) for text in body.get("ranges") or []]
            cleared_ranges = [self._clear(r) for r in ranges]
            self._touch(book)
            return 200, {"spreadsheetId": sid, "clearedRanges": cleared_ranges}
        if kind == "spreadsheets.batchUpdate":
            return 200, self._batch_update(book, body)
        raise ApiError(404, NOT_FOUND)

    def _append(self, rng: _Range, values: list[list[Any]] | None, option: str, major: str,
                insert: str | None) -> tuple[Json, str | None]:
        """values.append: below the block of non-empty rows that starts at the range's first row (in the
        range's columns), from the range's first column; the grid grows as needed. Google's own table
        detection has more quirks (reference/sheets-api.md §3.2); this is its plain case."""
        sheet = rng.sheet
        matrix = values or []
        if major == "COLUMNS":
            width = max((len(col) for col in matrix), default=0)
            matrix = [[col[i] if i < len(col) else None for col in matrix] for i in range(width)]
        height, width = len(matrix), max((len(row) for row in matrix), default=0)
        last = rng.r0  # the "table": the rows with a value from the range's first row down, without a gap
        while last < sheet.rows and any(cell.get("userEnteredValue") for (r, c), cell in sheet.cells.items()
                                        if r == last and c >= rng.c0 and (rng.c1 is None or c < rng.c1)):
            last += 1
        table = None
        if last > rng.r0:
            used = [c for (r, c), cell in sheet.cells.items() if rng.r0 <= r < last and cell.get("userEnteredValue")
                    and c >= rng.c0 and (rng.c1 is None or c < rng.c1)]
            table = a1(sheet, rng.r0, rng.c0, last, max(used, default=rng.c0) + 1)
        if (insert or "OVERWRITE") == "INSERT_ROWS" and last < sheet.rows and height:
            self._insert_dimension(sheet, "ROWS", last, last + height, inherit_before=last > 0)
        sheet.grow(last + height, rng.c0 + width)
        target = _Range(sheet, last, rng.c0, None, None)
        return self._write(target, matrix, option), table

    # --- spreadsheets.batchUpdate ---------------------------------------------------------------------------

    def _batch_update(self, book: _Book, body: Json) -> Json:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise bad("Must specify at least one request.")
        work = copy.deepcopy(book)
        replies = []
        for i, request in enumerate(requests):
            if not isinstance(request, dict) or len([k for k, v in request.items() if v is not None]) != 1:
                raise bad(f"Invalid requests[{i}]: exactly one kind of request must be set.")
            name, params = next((k, v) for k, v in request.items() if v is not None)
            handler = BATCH_REQUESTS.get(name)
            if handler is None:
                raise bad(f'Invalid JSON payload received. Unknown name "{name}" at \'requests[{i}]\': '
                          "Cannot find field.")
            try:
                reply = handler(self, work, params if isinstance(params, dict) else {})
            except ApiError as err:
                raise bad(f"Invalid requests[{i}].{name}: {err.message}") from None
            except (KeyError, TypeError, ValueError) as err:
                raise bad(f"Invalid requests[{i}].{name}: {err}") from None
            replies.append(reply)
        work.version = book.version
        self._books[book.spreadsheet_id] = work
        self._touch(work)
        answer: Json = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            answer["updatedSpreadsheet"] = self._spreadsheet_json(
                work, grid_data=bool(body.get("responseIncludeGridData")), ranges=body.get("responseRanges"))
        return answer

    def _grid_range(self, book: _Book, gr: Json | None, *, clip: bool = True) -> tuple[_Sheet, int, int, int, int]:
        gr = gr or {}
        sheet = book.sheet_by_id(int(gr.get("sheetId", 0)))
        r0, c0 = int(gr.get("startRowIndex", 0)), int(gr.get("startColumnIndex", 0))
        r1 = int(gr["endRowIndex"]) if gr.get("endRowIndex") is not None else sheet.rows
        c1 = int(gr["endColumnIndex"]) if gr.get("endColumnIndex") is not None else sheet.cols
        if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
            raise bad("Invalid range: start indexes must be non-negative and not after the end indexes.")
        if r1 > sheet.rows or c1 > sheet.cols:
            raise bad(f"Range ({a1(sheet, r0, c0, r1, c1, always_quote=True)}) exceeds grid limits. "
                      f"Max rows: {sheet.rows}, max columns: {sheet.cols}")
        return sheet, r0, c0, r1, c1

    @staticmethod
    def _clean_range(gr: Json) -> Json:
        return {k: v for k, v in gr.items() if v}

    def r_add_sheet(self, book: _Book, p: Json) -> Json:
        sheet = self._add_sheet(book, p.get("properties") or {})
        return {"addSheet": {"properties": self._sheet_props(book, sheet)}}

    def r_delete_sheet(self, book: _Book, p: Json) -> Json:
        sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
        if len(book.sheets) == 1:
            raise bad("You can't remove all the sheets in a document.")
        if all(s.props.get("hidden") for s in book.sheets if s is not sheet):
            raise bad("You can't remove all the visible sheets in a document.")
        book.sheets.remove(sheet)
        return {}

    def r_update_sheet_properties(self, book: _Book, p: Json) -> Json:
        props = p.get("properties") or {}
        sheet = book.sheet_by_id(int(props.get("sheetId", 0)))
        fields = str(p.get("fields") or "")
        if not fields:
            raise bad("At least one field must be updated.")
        mask = parse_fields(fields)
        unknown = set(mask) - {"*", "title", "index", "hidden", "gridProperties", "tabColor", "rightToLeft"}
        if unknown:
            raise bad(f"Unsupported field(s) in the mask: {', '.join(sorted(unknown))}")
        current = self._sheet_props(book, sheet)
        new = copy.deepcopy(current)
        masked_update(new, dict(props, sheetId=sheet.sheet_id), {k: v for k, v in mask.items()})
        new["sheetId"], new["sheetType"] = sheet.sheet_id, "GRID"
        grid = new.setdefault("gridProperties", {})
        rows, cols = int(grid.get("rowCount") or 0), int(grid.get("columnCount") or 0)
        if rows < 1 or cols < 1:
            raise bad("The grid must have at least one row and one column.")
        for key, limit in (("frozenRowCount", rows), ("frozenColumnCount", cols)):
            if int(grid.get(key, 0)) > limit:
                raise bad(f"Invalid {key}: it exceeds the grid size ({limit}).")
            if not grid.get(key):
                grid.pop(key, None)
        title = str(new.get("title") or "")
        other = book.sheet_by_title(title)
        if not title or (other is not None and other is not sheet):
            raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
        if new.get("hidden") and all(s.props.get("hidden") for s in book.sheets if s is not sheet):
            raise bad("You can't hide all the sheets in a document.")
        if rows < sheet.rows:
            self._delete_dimension(book, sheet, "ROWS", rows, sheet.rows)
        if cols < sheet.cols:
            self._delete_dimension(book, sheet, "COLUMNS", cols, sheet.cols)
        index = int(new.pop("index", current["index"]))
        if not new.get("hidden"):
            new.pop("hidden", None)
        sheet.props = new
        if index != current["index"]:
            book.sheets.remove(sheet)
            book.sheets.insert(min(max(index, 0), len(book.sheets)), sheet)
        return {}

    def r_update_spreadsheet_properties(self, book: _Book, p: Json) -> Json:
        props = p.get("properties") or {}
        mask = parse_fields(str(p.get("fields") or ""))
        for key, attr in (("title", "title"), ("locale", "locale"), ("timeZone", "time_zone")):
            if key in mask or "*" in mask:
                setattr(book, attr, str(props.get(key) or getattr(book, attr)))
        return {}

    def r_set_data_validation(self, book: _Book, p: Json) -> Json:
        sheet, r0, c0, r1, c1 = self._grid_range(book, p.get("range"))
        rule = p.get("rule")
        if rule is not None:
            condition = rule.get("condition") or {}
            if not condition.get("type"):
                raise bad("The data validation rule needs a condition type.")
            if condition["type"] in ("ONE_OF_LIST", "ONE_OF_RANGE") and not condition.get("values"):
                raise bad(f"{condition['type']} needs at least one value.")
            rule = {k: v for k, v in rule.items() if v is not None}
        for r in range(r0, r1):
            for c in range(c0, c1):
                sheet.set_cell(r, c, "dataValidation", copy.deepcopy(rule) if rule else None)
        return {}

    def r_add_conditional_format_rule(self, book: _Book, p: Json) -> Json:
        rule = copy.deepcopy(p.get("rule") or {})
        ranges = rule.get("ranges") or []
        if not ranges:
            raise bad("A conditional format rule needs at least one range.")
        if not (rule.get("booleanRule") or rule.get("gradientRule")):
            raise bad("A conditional format rule needs a booleanRule or a gradientRule.")
        sheets = {self._grid_range(book, gr)[0].sheet_id for gr in ranges}
        if len(sheets) != 1:
            raise bad("All ranges of a conditional format rule must be on one sheet.")
        sheet = book.sheet_by_id(sheets.pop())
        rule["ranges"] = [self._clean_range(gr) for gr in ranges]
        index = int(p.get("index") or 0)
        if index > len(sheet.conditional):
            raise bad(f"Invalid index {index}: the sheet has {len(sheet.conditional)} conditional format rules.")
        sheet.conditional.insert(index, rule)
        return {}

    def r_delete_conditional_format_rule(self, book: _Book, p: Json) -> Json:
        sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
        index = int(p.get("index") or 0)
        if not 0 <= index < len(sheet.conditional):
            raise bad(f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
        return {"deleteConditionalFormatRule": {"rule": sheet.conditional.pop(index)}}

    def r_add_protected_range(self, book: _Book, p: Json) -> Json:
        pr = {k: copy.deepcopy(v) for k, v in (p.get("protectedRange") or {}).items()
              if v is not None and k != "requestingUserCanEdit"}
        sheet, *_ = self._grid_range(book, pr.get("range"))
        pr["range"] = self._clean_range(pr.get("range") or {})
        if pr.get("warningOnly") and (pr.get("editors") or {}).get("users"):
            raise bad("Editors are not supported with warning-only protection.")
        used = {int(x["protectedRangeId"]) for s in book.sheets for x in s.protected}
        pid = pr.get("protectedRangeId")
        if pid is None:
            pid = self._free_id(used)
        elif int(pid) in used:
            raise bad(f"A protected range with the id {pid} already exists.")
        pr["protectedRangeId"] = int(pid)
        sheet.protected.append(pr)
        return {"addProtectedRange": {"protectedRange": dict(copy.deepcopy(pr), requestingUserCanEdit=True)}}

    def _protected(self, book: _Book, pid: int) -> tuple[_Sheet, Json]:
        for sheet in book.sheets:
            for pr in sheet.protected:
                if int(pr["protectedRangeId"]) == pid:
                    return sheet, pr
        raise bad(f"No protected range with id: {pid}")

    def r_update_protected_range(self, book: _Book, p: Json) -> Json:
        new = p.get("protectedRange") or {}
        _, pr = self._protected(book, int(new.get("protectedRangeId", -1)))
        mask = parse_fields(str(p.get("fields") or ""))
        masked_update(pr, {k: v for k, v in new.items() if k != "protectedRangeId"}, mask)
        return {}

    def r_delete_protected_range(self, book: _Book, p: Json) -> Json:
        sheet, pr = self._protected(book, int(p.get("protectedRangeId", -1)))
        sheet.protected.remove(pr)
        return {}

    def r_repeat_cell(self, book: _Book, p: Json) -> Json:
        sheet, r0, c0, r1, c1 = self._grid_range(book, p.get("range"))
        fields = str(p.get("fields") or "")
        if not fields:
            raise bad("At least one field must be updated.")
        mask, cell = parse_fields(fields), p.get("cell") or {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._update_cell(sheet, r, c, cell, mask)
        return {}

    @staticmethod
    def _update_cell(sheet: _Sheet, r: int, c: int, source: Json, mask: Mask) -> None:
        cell = copy.deepcopy(sheet.cells.get((r, c), {}))
        allowed = {"userEnteredValue", "userEnteredFormat", "dataValidation", "note"}
        masked_update(cell, source, mask if "*" not in mask else {k: True for k in allowed})
        cell = {k: v for k, v in cell.items() if k in allowed and v}
        uev = cell.get("userEnteredValue")
        if uev is not None and len(uev) != 1:
            raise bad("userEnteredValue must hold exactly one of stringValue, numberValue, boolValue, formulaValue.")
        if cell:
            sheet.cells[(r, c)] = cell
        else:
            sheet.cells.pop((r, c), None)

    def r_update_cells(self, book: _Book, p: Json) -> Json:
        rows = p.get("rows") or []
        fields = str(p.get("fields") or "")
        if not fields:
            raise bad("At least one field must be updated.")
        mask = parse_fields(fields)
        if p.get("start") is not None and p.get("range") is not None:
            raise bad("Only one of start or range may be set.")
        height = len(rows)
        width = max((len((row or {}).get("values") or []) for row in rows), default=0)
        if p.get("range") is not None:
            sheet, r0, c0, r1, c1 = self._grid_range(book, p["range"])
            if height > r1 - r0 or width > c1 - c0:
                raise bad("The rows do not fit in the range.")
        else:
            start = p.get("start") or {}
            sheet = book.sheet_by_id(int(start.get("sheetId", 0)))
            r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
            r1, c1 = r0 + height, c0 + width
            if r1 > sheet.rows or c1 > sheet.cols:
                raise bad(f"Range ({a1(sheet, r0, c0, r1, c1, always_quote=True)}) exceeds grid limits. "
                          f"Max rows: {sheet.rows}, max columns: {sheet.cols}")
        for r in range(r0, r1):
            values = ((rows[r - r0] or {}).get("values") or []) if r - r0 < height else []
            for c in range(c0, c1):
                self._update_cell(sheet, r, c, (values[c - c0] or {}) if c - c0 < len(values) else {}, mask)
        return {}

    def r_append_cells(self, book: _Book, p: Json) -> Json:
        sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
        rows = p.get("rows") or []
        fields = str(p.get("fields") or "")
        if not fields:
            raise bad("At least one field must be updated.")
        mask = parse_fields(fields)
        first = sheet.last_row()
        width = max((len((row or {}).get("values") or []) for row in rows), default=0)
        sheet.grow(first + len(rows), width)
        for i, row in enumerate(rows):
            for j, value in enumerate((row or {}).get("values") or []):
                self._update_cell(sheet, first + i, j, value or {}, mask)
        return {}

    def r_append_dimension(self, book: _Book, p: Json) -> Json:
        sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
        dimension, length = str(p.get("dimension") or ""), int(p.get("length") or 0)
        if dimension not in DIMENSIONS or length < 1:
            raise bad("appendDimension needs a dimension (ROWS or COLUMNS) and a positive length.")
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        sheet.props["gridProperties"][key] += length
        return {}

    def _dimension_range(self, book: _Book, dr: Json | None) -> tuple[_Sheet, str, int, int]:
        dr = dr or {}
        sheet = book.sheet_by_id(int(dr.get("sheetId", 0)))
        dimension = str(dr.get("dimension") or "")
        if dimension not in DIMENSIONS:
            raise bad("The dimension must be ROWS or COLUMNS.")
        limit = sheet.rows if dimension == "ROWS" else sheet.cols
        start = int(dr.get("startIndex", 0))
        end = int(dr["endIndex"]) if dr.get("endIndex") is not None else limit
        return sheet, dimension, start, end

    def r_insert_dimension(self, book: _Book, p: Json) -> Json:
        sheet, dimension, start, end = self._dimension_range(book, p.get("range"))
        self._insert_dimension(sheet, dimension, start, end, bool(p.get("inheritFromBefore")))
        return {}

    def r_delete_dimension(self, book: _Book, p: Json) -> Json:
        sheet, dimension, start, end = self._dimension_range(book, p.get("range"))
        limit = sheet.rows if dimension == "ROWS" else sheet.cols
        if end > limit:
            raise bad(f"Invalid dimension range: endIndex {end} is past the grid ({limit}).")
        self._delete_dimension(book, sheet, dimension, start, end)
        return {}

    def r_update_dimension_properties(self, book: _Book, p: Json) -> Json:
        sheet, dimension, start, end = self._dimension_range(book, p.get("range"))
        fields = str(p.get("fields") or "")
        if not fields:
            raise bad("At least one field must be updated.")
        mask = parse_fields(fields)
        for i in range(start, end):
            props = sheet.dims[dimension].setdefault(i, {})
            masked_update(props, p.get("properties") or {}, mask)
            if not props:
                del sheet.dims[dimension][i]
        return {}

    def r_auto_resize_dimensions(self, book: _Book, p: Json) -> Json:
        if p.get("dimensions") is not None:
            self._dimension_range(book, p["dimensions"])
        return {}

    def r_set_basic_filter(self, book: _Book, p: Json) -> Json:
        flt = copy.deepcopy(p.get("filter") or {})
        sheet, *_ = self._grid_range(book, flt.get("range"))
        flt["range"] = self._clean_range(flt.get("range") or {})
        sheet.basic_filter = {k: v for k, v in flt.items() if v is not None}
        return {}

    def r_clear_basic_filter(self, book: _Book, p: Json) -> Json:
        book.sheet_by_id(int(p.get("sheetId", 0))).basic_filter = None
        return {}

    # --- token, drive -----------------------------------------------------------------------------------------

    def _token(self, raw: bytes) -> tuple[int, Any]:
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        payload = _jwt_payload(form.get("assertion", ""))
        email = (payload or {}).get("iss")
        if not isinstance(email, str) or "@" not in email:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        return 200, {"access_token": self.issue_token(email), "expires_in": 3600, "token_type": "Bearer"}

    def _drive_list(self, query: dict[str, list[str]], user: str | None) -> Json:
        q = query.get("q", [""])[-1]
        name = re.search(r"name\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)')", q)
        wanted = None if not name else (name.group(1) if name.group(1) is not None else name.group(2))
        if wanted is not None:
            wanted = re.sub(r"\\(.)", r"\1", wanted)
        files = [self._file(b) for b in self._books.values()
                 if (wanted is None or b.title == wanted)
                 and (user is None or b.shared_with is None or user in b.shared_with)]
        size = max(1, min(int(query.get("pageSize", ["100"])[-1] or 100), 1000))
        offset = int(query.get("pageToken", ["0"])[-1] or 0)
        out: Json = {"kind": "drive#fileList", "incompleteSearch": False, "files": files[offset:offset + size]}
        if offset + size < len(files):
            out["nextPageToken"] = str(offset + size)
        fields = query.get("fields", [""])[-1]
        return apply_mask(out, parse_fields(fields)) if fields else out

    def _drive_create(self, body: Json, query: dict[str, list[str]], user: str | None) -> tuple[int, Any]:
        if body.get("mimeType") != SPREADSHEET_MIME:
            raise bad("Only Google Sheets files can be created here.")
        book = self._new_book({"properties": {"title": body.get("name") or "Untitled spreadsheet"}},
                              {user} if user else None)
        file = self._file(book)
        fields = query.get("fields", [""])[-1]
        return 200, apply_mask(file, parse_fields(fields)) if fields else \
            {k: file[k] for k in ("kind", "id", "name", "mimeType")}


def quota_error(read: bool) -> ApiError:
    what = "Read" if read else "Write"
    return ApiError(429, f"Quota exceeded for quota metric '{what} requests' and limit '{what} requests per minute "
                         "per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.")


def drive_error(err: ApiError) -> Json:
    """Drive v3 writes its errors with an ``errors`` list (gspread's backoff reads ``domain``)."""
    reason = {404: "notFound", 403: "forbidden", 401: "authError", 400: "badRequest", 429: "rateLimitExceeded"}
    return {"error": {"code": err.http, "message": err.message,
                      "errors": [{"message": err.message, "domain": "global",
                                  "reason": reason.get(err.http, "backendError")}]}}


BATCH_REQUESTS: dict[str, Callable[[SheetsEmulator, _Book, Json], Json]] = {
    "addSheet": SheetsEmulator.r_add_sheet,
    "deleteSheet": SheetsEmulator.r_delete_sheet,
    "updateSheetProperties": SheetsEmulator.r_update_sheet_properties,
    "updateSpreadsheetProperties": SheetsEmulator.r_update_spreadsheet_properties,
    "setDataValidation": SheetsEmulator.r_set_data_validation,
    "addConditionalFormatRule": SheetsEmulator.r_add_conditional_format_rule,
    "deleteConditionalFormatRule": SheetsEmulator.r_delete_conditional_format_rule,
    "addProtectedRange": SheetsEmulator.r_add_protected_range,
    "updateProtectedRange": SheetsEmulator.r_update_protected_range,
    "deleteProtectedRange": SheetsEmulator.r_delete_protected_range,
    "repeatCell": SheetsEmulator.r_repeat_cell,
    "updateCells": SheetsEmulator.r_update_cells,
    "appendCells": SheetsEmulator.r_append_cells,
    "appendDimension": SheetsEmulator.r_append_dimension,
    "insertDimension": SheetsEmulator.r_insert_dimension,
    "deleteDimension": SheetsEmulator.r_delete_dimension,
    "updateDimensionProperties": SheetsEmulator.r_update_dimension_properties,
    "autoResizeDimensions": SheetsEmulator.r_auto_resize_dimensions,
    "setBasicFilter": SheetsEmulator.r_set_basic_filter,
    "clearBasicFilter": SheetsEmulator.r_clear_basic_filter,
}


class _Handler(QuietHandler):
    emu: SheetsEmulator

    def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=UTF-8") -> None:
        if isinstance(payload, bytes):
            data = payload
        else:
            data = (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode()
        self.send_body(status, data, content_type)

    def _serve(self) -> None:
        raw = self.read_body()
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        method = self.command.upper()
        emu = self.emu
        kind, _ = emu.route(method, parts.path)
        try:
            logged: Any = json.loads(raw) if raw and kind != "token" else raw.decode("utf-8", "replace") or None
        except ValueError:
            logged = raw.decode("utf-8", "replace")
        with emu._lock:
            emu.requests.append((method, unquote(parts.path), query, logged))
            fault = emu.faults.pick(kind, emu._fault_rng)
        error = {"429": quota_error(kind in READ_KINDS), "500": ApiError(500, "Internal error encountered."),
                 "503": ApiError(503, "The service is currently unavailable.")}.get(fault or "")
        if error is not None:
            self._record(kind, logged, error.http, error.body())
            self._send(error.http, error.body())
            return
        if fault == "html":
            self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html; charset=UTF-8")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if fault in ("drop", "drop_applied"):
            if fault == "drop_applied":
                emu.handle(method, parts.path, query, headers, raw, kind=kind)
            self.drop()
            return
        if fault == "slow":
            time.sleep(emu.faults.slow_seconds)
        status, answer = emu.handle(method, parts.path, query, headers, raw, kind=kind)
        self._record(kind, logged, status, answer)
        self._send(status, answer)

    def _record(self, kind: str, request: Any, status: int, answer: Any) -> None:
        if self.emu.record_exchanges:
            with self.emu._lock:
                self.emu.exchanges.append((kind, request, status, answer))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 - http.server's naming


# --- `ozon-sync sheets-emulator` ---------------------------------------------------------------------------

SheetsEmulator.handler_class = _Handler  # defined after the emulator, which it serves


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8766, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--title", default="Заказы Ozon", help="title of the spreadsheet to create")
    parser.add_argument("--sheet", action="append", default=None, help="a tab to create (repeatable; default Заказы)")
    parser.add_argument("--share", action="append", default=None,
                        help="e-mail allowed to open it (repeatable; default: anyone)")
    parser.add_argument("--no-anonymous", action="store_true", help="refuse requests without an Authorization header")
    parser.add_argument("--reads-per-minute", type=int, default=60, help="per-user read quota (429 above it)")
    parser.add_argument("--writes-per-minute", type=int, default=60, help="per-user write quota (429 above it)")
    parser.add_argument("--fault-500", type=float, default=0.0, help="share of requests answered with 500")
    parser.add_argument("--fault-429", type=float, default=0.0, help="share of requests answered with 429")


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    faults = Faults(rate_429=args.fault_429, rate_500=args.fault_500)
    emu = SheetsEmulator(port=args.port, allow_anonymous=not args.no_anonymous, faults=faults,
                         reads_per_minute=args.reads_per_minute, writes_per_minute=args.writes_per_minute)
    with emu:
        sid = emu.create_spreadsheet(args.title, args.sheet or ["Заказы"],
                                     shared_with=set(args.share) if args.share else None)
        print(f"Google Sheets API emulator on {emu.base_url}; spreadsheet {args.title!r} has id {sid}.")
        print(f"Point the Google backend's base URL at it; a service-account key's token_uri may be {emu.token_uri}.")
        print(f"  curl {emu.base_url}/v4/spreadsheets/{sid}")
        print("Ctrl-C stops it.")
        emu.wait(stop)
    return 0
