"""Google Sheets backend: gspread's HTTP client, with our own retries and timeouts, at most three
requests per sync cycle.

A cycle costs:

1. ``values:batchGet`` of every column the engine reads, one range per column (``C1:C``), so the
   header cell comes back with its column and proves the column is still where we think it is;
2. the same for the key and both-owned columns just before writing (the engine's guard re-read);
3. one ``spreadsheets:batchUpdate``: ``updateCells`` for each changed cell and one ``appendCells``
   for new rows — values as values (a text starting with "=" stays text).

Once per process it also reads the header row and the sheet's id. When a person moves or renames
columns, the header no longer matches and is read again (one more request, that cycle only).

Before step 1, one Drive ``files.get(fields=version)``: Drive moves a file's version with every change to
it. When the version is the one of the last read and we wrote nothing since, nothing changed, and the last
read's rows are answered again without a Sheets request — an idle cycle, at any sheet size, costs one Drive
request (``version`` is also what ``sync.watch.SheetVersionWatcher`` polls between cycles). When Drive does
not answer the version (its API not enabled for the project: 403), the sheet is read every time.

Retries (sync.backends.google_http): reads on 429, 5xx and network errors; writes only on 429 and a
failed connect. After a 5xx or a timeout a write's outcome is unknown, and the next cycle reads the
sheet and sees what landed (appends are found by key, never doubled).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import gspread
import requests
from google.auth.credentials import Credentials
from gspread.exceptions import APIError

from sync.a1 import col_letters
from sync.backends.base import (
    MIRROR_MARK,
    NUMBER_FORMATS,
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
from sync.backends.google_drive import DriveFolder
from sync.backends.google_http import RetryingHTTPClient, load_credentials
from sync.errors import SheetAccessError, SheetLayoutError, SheetUnavailable, SyncError
from sync.mapping import ColumnMap
from sync.model import CellWrite, Owner, SheetRow
from sync.retry import utc_now

log = logging.getLogger("sync.google")

PROTECTION_NOTE = "ozon-sync: filled from Ozon"
FEW_ROWS = 200  # the re-read before a write asks for at most this many rows by their own ranges
PIXELS_PER_CHAR = 7
DRIVE_FILE_URL = "https://www.googleapis.com/drive/v3/files/{}"


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"




def rgb(hex_colour: str) -> dict[str, float]:
    h = hex_colour.lstrip("#")
    return {"red": int(h[0:2], 16) / 255, "green": int(h[2:4], 16) / 255, "blue": int(h[4:6], 16) / 255}


class GoogleBackend(SheetBackend):
    """One worksheet (tab) of a Google spreadsheet."""

    name = "google"
    max_cell_chars = 50000
    rows_per_read = 10_000  # data rows per read request: a bigger sheet takes several (Google allows 60 reads a minute)

    def __init__(self, spreadsheet: str, worksheet: str, columns: ColumnMap, *, credentials: str | None = None,
                 api_endpoint: str | None = None, timeout: float = 30.0, retries: int = 4,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 now: Callable[[], datetime] = utc_now, session: requests.Session | None = None):
        m = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", spreadsheet)
        self.key = m.group(1) if m else spreadsheet.strip()
        self.worksheet = worksheet
        self.columns = columns
        self._credentials_setting = credentials
        self._http_class = RetryingHTTPClient.configured(endpoint=api_endpoint, timeout=timeout, retries=retries,
                                                         sleep=sleep, rng=rng, now=now)
        self._session = session
        self._http: RetryingHTTPClient | None = None
        self._creds: Credentials | None = None
        self._sheet_id: int | None = None
        self._cols: dict[str, int] | None = None  # field -> 0-based column, from the last header read
        self._header: list[str] = []
        self._last_keys: list[str | None] = []  # [row] -> key, from the last read that had the key column
        self._tab_ids: dict[str, int] | None = None  # tab title -> sheetId, for the read-only tabs
        self._foreign_tabs: set[str] = set()  # titles of tabs without our read-only mark: never overwritten
        self._last_read: tuple[int, tuple[str, ...], Snapshot] | None = None  # (Drive version, fields, rows)
        self._versionless = False  # Drive refused to say the version: read every time

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def http(self) -> RetryingHTTPClient:
        if self._http is None:
            self._creds = load_credentials(self._credentials_setting)
            client = gspread.Client(self._creds, session=self._session, http_client=self._http_class)
            http = client.http_client
            assert isinstance(http, RetryingHTTPClient)
            self._http = http
        return self._http

    @property
    def service_account_email(self) -> str | None:
        """Whom a person shares the spreadsheet and the labels folder with (None: no service account)."""
        _ = self.http  # the credentials are loaded with the client
        email = getattr(self._creds, "service_account_email", None)
        return str(email) if email else None

    def drive_folder(self, folder: str) -> DriveFolder:
        """The Drive folder (id or URL) labels are uploaded to, over this backend's HTTP client."""
        return DriveFolder(self, folder)

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (tries included), for benchmarks and tests."""
        return self._http.requests if self._http else 0

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call, with Google's refusals turned into our errors."""
        try:
            return fn(*args, **kwargs)
        except APIError as exc:
            raise self._explain(exc) from None
        except requests.RequestException as exc:
            raise SheetUnavailable(f"Google Sheets could not be reached ({type(exc).__name__}); "
                                   f"the next cycle tries again") from None

    def _explain(self, exc: APIError) -> Exception:
        status = exc.response.status_code
        message = str(exc.error.get("message", "")) if isinstance(exc.error, Mapping) else str(exc)
        if status == 403:
            who = getattr(self._creds, "service_account_email", None)
            share = f"share it with {who} as an editor" if who else "share it with the service account as an editor"
            return SheetAccessError(f"Google refuses access to spreadsheet {self.key}: {share} "
                                    f"(Google said: {message})")
        if status == 404:
            return SheetAccessError(f"There is no spreadsheet with key {self.key}: check spreadsheet.spreadsheet "
                                    f"(the key is the part of its URL after /d/)")
        if status == 401:
            return SheetAccessError(f"Google rejected the credentials ({message}): check spreadsheet.credentials")
        if status == 429:
            return SheetUnavailable(f"Google's Sheets quota is used up for now ({message}); the next cycle tries again")
        if status >= 500:
            return SheetUnavailable(f"Google Sheets failed (HTTP {status}: {message}); the next cycle tries again")
        if "Unable to parse range" in message or "No grid with id" in message:
            self._sheet_id, self._cols = None, None
            try:
                self._refuse_renamed(self._sheets())
            except SheetLayoutError as renamed:
                return renamed
            return SheetLayoutError(f"The spreadsheet has no tab «{self.worksheet}»; run `ozon-sync init` to add it "
                                    f"(or fix spreadsheet.worksheet)")
        return SheetLayoutError(f"Google Sheets refused a request (HTTP {status}: {message})")

    def _sheets(self) -> list[dict[str, Any]]:
        meta = self._call(self.http.fetch_sheet_metadata, self.key,
                          params={"fields": "sheets(properties(sheetId,title,gridProperties),conditionalFormats,"
                                            "protectedRanges,basicFilter)"})
        sheets: list[dict[str, Any]] = meta.get("sheets", [])
        return sheets

    def _refuse_renamed(self, sheets: list[dict[str, Any]]) -> None:
        """The live tab is missing: if a person renamed it, say so rather than create an empty one."""
        titles = [str(s["properties"]["title"]) for s in sheets]
        if not titles:
            return
        got = self._call(self.http.values_batch_get, self.key, [f"{quote(t)}!1:1" for t in titles])
        headers = [(vr.get("values") or [[]])[0] for vr in got.get("valueRanges", [])]
        archive = self.archive_title("")
        renamed = renamed_tab(self.worksheet, zip(titles, headers, strict=False), self.columns,
                              skip=lambda title: title.startswith(archive))
        if renamed:
            raise SheetLayoutError(renamed)

    def _find(self, sheets: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
        return next((s for s in sheets if s["properties"]["title"] == title), None)

    def _id(self, sheets: list[dict[str, Any]] | None = None) -> int:
        """The live tab's sheetId (fetched once; ``sheets`` when the caller already has them)."""
        if self._sheet_id is None:
            sheet = self._find(sheets if sheets is not None else self._sheets(), self.worksheet)
            if sheet is None:
                self._refuse_renamed(sheets if sheets is not None else self._sheets())
                raise SheetLayoutError(f"The spreadsheet has no tab «{self.worksheet}»; run `ozon-sync init` to add it")
            self._sheet_id = int(sheet["properties"]["sheetId"])
        return self._sheet_id

    def _read_header(self) -> None:
        got = self._call(self.http.values_get, self.key, f"{quote(self.worksheet)}!1:1",
                         params={"valueRenderOption": "UNFORMATTED_VALUE"})
        values = got.get("values") or [[]]
        self._header = [str(v).strip() for v in values[0]]
        self._cols = header_index(self._header, self.columns)

    # --- reading -----------------------------------------------------------------------------

    def version(self) -> int | None:
        """Drive's version of the spreadsheet: every change to it, ours included, moves it. None when Drive
        does not say — refused for good (logged once; then every read reads the sheet) or failing just now
        (one try, no retries: the daemon's loop is not held up, and the next look asks again)."""
        if self._versionless:
            return None
        try:
            answer = self.http.request_once("get", DRIVE_FILE_URL.format(self.key),
                                            params={"fields": "version", "supportsAllDrives": "true"}).json()
            return int(answer["version"])
        except SyncError:  # an outage, a timeout: this look says nothing, the next one asks again
            return None
        except APIError as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                self._versionless = True
                log.warning("Google Drive does not tell the version of the spreadsheet (HTTP %d: %s), so the "
                            "sheet is read whole every cycle and edits wait for the next cycle; enable the Google "
                            "Drive API for the service account's project to have them pushed within seconds",
                            status, exc)
            return None
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return None

    def known_version(self) -> int | None:
        """The Drive version the last read saw, when nothing was written since (None: read the sheet)."""
        return self._last_read[0] if self._last_read else None

    def read(self, fields: Sequence[str]) -> Snapshot:
        version = self.version()
        last = self._last_read
        if version is not None and last is not None and last[:2] == (version, tuple(fields)):
            return last[2]
        self._last_read = None
        snap = self._read(fields)
        if version is not None:
            self._last_read = (version, tuple(fields), snap)
        return snap

    def _change(self, body: dict[str, Any]) -> None:
        """One ``spreadsheets:batchUpdate``: after it (or its failure) the last read is out of date."""
        self._last_read = None
        self._call(self.http.batch_update, self.key, body)

    def _read(self, fields: Sequence[str]) -> Snapshot:
        if self._cols is None:
            self._read_header()
        rows = self._read_all(fields)
        if rows is None or any(f not in (self._cols or {}) for f in fields):
            self._read_header()  # a person moved, renamed or added columns
            rows = self._read_all(fields)
        assert self._cols is not None
        if not any(self._header):
            raise SheetLayoutError(f"The sheet «{self.worksheet}» has no header row; "
                                   f"run `ozon-sync init` to lay it out")
        key = self.columns.key
        if key.field not in self._cols:
            raise SheetLayoutError(f"The key column «{key.header}» is missing from the header of «{self.worksheet}»; "
                                   f"restore it (or run `ozon-sync init`) before syncing")
        rows = rows or []
        if key.field in fields:
            self._last_keys = [None] * (rows[-1].row + 1 if rows else 0)
            for r in rows:
                self._last_keys[r.row] = r.get(key.field)
        return Snapshot(rows, frozenset(f for f in fields if f not in self._cols))

    def _read_all(self, fields: Sequence[str]) -> list[SheetRow] | None:
        """The rows, ``rows_per_read`` at a time (a request each, so the JSON of a 100,000-row sheet is never
        in memory at once); None when a header cell is not where it was.

        The first request also reads the whole key column, whose length says how far the rows go (a row
        below the last posting number has no posting: the engine would not use it)."""
        assert self._cols is not None
        wanted = [(f, col) for f in fields if f in self._cols and (col := self.columns.get(f)) is not None]
        if not wanted:
            return []
        title = quote(self.worksheet)
        letters = [col_letters(self._cols[f]) for f, _c in wanted]
        key = self._cols.get(self.columns.key.field)
        reader = RowReader([f for f, _c in wanted])
        rows: list[SheetRow] = []
        first, height = 1, 0
        while first == 1 or first <= height:
            last = first + self.rows_per_read - (first > 1)  # the first request has the header row too
            ranges = [f"{title}!{c}{first}:{c}{last}" for c in letters]
            if first == 1 and key is not None:
                ranges.append(f"{title}!{col_letters(key)}1:{col_letters(key)}")
            got = self._call(self.http.values_batch_get, self.key, ranges,
                             params={"majorDimension": "COLUMNS", "valueRenderOption": "UNFORMATTED_VALUE"})
            columns = [(vr.get("values") or [[]])[0] for vr in got.get("valueRanges", [])]
            if len(columns) != len(ranges):
                return None
            if first == 1:
                if any(not v or str(v[0]).strip().casefold() != col.header.casefold()
                       for (_f, col), v in zip(wanted, columns, strict=False)):
                    return None
                height = max(len(v) for v in columns)
            for n in range(max(first, 2), min(last, height) + 1):
                i = n - first
                row = reader.row(n, reader.values(col.canonical(v[i] if i < len(v) else None)
                                                  for (_f, col), v in zip(wanted, columns, strict=False)))
                if row is not None:
                    rows.append(row)
            first = last + 1
        return rows

    def read_rows(self, fields: Sequence[str], rows: Collection[int]) -> dict[int, tuple[str, ...]]:
        """A few rows: one request with a range per row and the header row (a moved column sends it to
        the whole read, which maps the columns again before the write)."""
        cols = self._cols
        if cols is None or not 0 < len(rows) <= FEW_ROWS or any(f not in cols for f in fields):
            return super().read_rows(fields, rows)
        title = quote(self.worksheet)
        first, last = min(cols[f] for f in fields), max(cols[f] for f in fields)
        order = sorted(rows)
        ranges = [f"{title}!1:1"] + [f"{title}!{col_letters(first)}{r}:{col_letters(last)}{r}" for r in order]
        got = self._call(self.http.values_batch_get, self.key, ranges,
                         params={"valueRenderOption": "UNFORMATTED_VALUE"})
        found = [(vr.get("values") or [[]])[0] for vr in got.get("valueRanges", [])]
        if len(found) != len(ranges) or [str(v).strip() for v in found[0]] != self._header:
            return super().read_rows(fields, rows)
        wanted = [(cols[f] - first, self.columns.get(f)) for f in fields]
        got = {r: tuple(col.canonical(values[i] if i < len(values) else None) if col else "" for i, col in wanted)
               for r, values in zip(order, found[1:], strict=True)}
        return {r: texts for r, texts in got.items() if any(texts)}

    # --- writing -----------------------------------------------------------------------------

    def _cell(self, field: str, text: str) -> dict[str, Any]:
        """Numbers as numbers; everything else — dates included, in the engine's format — as the text."""
        col = self.columns.get(field)
        value = col.typed(text) if col is not None else text
        return _raw_cell(value if isinstance(value, int | float) else text)

    def _writable(self, field: str) -> int | None:
        col = self.columns.get(field)
        if col is None or col.owner is Owner.STAFF or self._cols is None:
            return None
        return self._cols.get(field)

    def write(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        tabs = self._tab_queue()
        if not writes and not appends and not tabs:
            return
        cells = self._cell_requests(writes, appends) if writes or appends else []
        if not tabs:
            if cells:
                self._change({"requests": cells})
            return
        try:
            tab_reqs = self._tab_requests(list(tabs.values()))
        except SheetLayoutError:  # a tab of that name that is not ours: the cells go alone, the tab waits
            if not cells:
                raise
            self._change({"requests": cells})
            return
        try:
            self._change({"requests": cells + tab_reqs})
        except SheetLayoutError:
            # Google refused the batch; most likely a person deleted or renamed a read-only tab since we
            # looked. The staff tab's cells must not wait for that: write them alone, keep the tabs staged
            # (the caller sees them pending and tries again with fresh tab ids).
            self._tab_ids = None
            if not cells:
                raise
            self._change({"requests": cells})
            return
        except Exception:
            self._tab_ids = None
            raise
        tabs.clear()

    def _cell_requests(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
        if self._cols is None:
            self._read_header()
        sheet_id = self._id()
        reqs: list[dict[str, Any]] = []
        for w in writes:
            ci = self._writable(w.field)
            if ci is None or w.row < 2:
                continue
            reqs.append({"updateCells": {"rows": [{"values": [self._cell(w.field, w.value)]}],
                                         "fields": "userEnteredValue",
                                         "start": {"sheetId": sheet_id, "rowIndex": w.row - 1, "columnIndex": ci}}})
        if appends:
            targets = {c.field: ci for c in self.columns.columns if (ci := self._writable(c.field)) is not None}
            width = max(targets.values(), default=-1) + 1
            rows = []
            for values in appends:
                cells: list[dict[str, Any]] = [{} for _ in range(width)]
                for f, text in values.items():
                    if f in targets:
                        cells[targets[f]] = self._cell(f, text)
                rows.append({"values": cells})
            reqs.append({"appendCells": {"sheetId": sheet_id, "rows": rows, "fields": "userEnteredValue"}})
        return reqs

    def _tab_requests(self, tabs: Sequence[TabContent]) -> list[dict[str, Any]]:
        """Replace read-only tabs whole: size the grid to the content, write every cell (the rest is
        cleared), and on a new tab a frozen bold header, widths, a filter and a warning-only protected
        range. Tab ids come from one metadata read per process (or after a failed write)."""
        if self._tab_ids is None:
            sheets = self._sheets()
            self._tab_ids = {str(sh["properties"]["title"]): int(sh["properties"]["sheetId"]) for sh in sheets}
            self._foreign_tabs = {str(sh["properties"]["title"]) for sh in sheets if not any(
                str(p.get("description", "")).startswith(MIRROR_MARK) for p in sh.get("protectedRanges", []))}
        for tab in tabs:
            if tab.title in self._tab_ids and tab.title in self._foreign_tabs:
                raise SheetLayoutError(not_ours(tab.title))
        reqs: list[dict[str, Any]] = []
        for tab in tabs:
            width = max(len(tab.columns.columns), 1)
            height = max(len(tab.rows) + 1, 2)  # Google keeps at least one row below a frozen header
            grid = {"rowCount": height, "columnCount": width, "frozenRowCount": 1}
            sid = self._tab_ids.get(tab.title)
            if sid is None:
                sid = max([*self._tab_ids.values(), self._sheet_id or 0]) + 1
                self._tab_ids[tab.title] = sid
                reqs.append({"addSheet": {"properties": {"sheetId": sid, "title": tab.title, "gridProperties": grid}}})
                reqs.append({"repeatCell": {"range": {"sheetId": sid, "startRowIndex": 0, "endRowIndex": 1},
                                            "cell": {"userEnteredFormat": {"textFormat": {"bold": True},
                                                                           "backgroundColor": rgb(OZON_SHADE)}},
                                            "fields": "userEnteredFormat(textFormat.bold,backgroundColor)"}})
                reqs += [{"updateDimensionProperties": {
                    "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                    "properties": {"pixelSize": int(c.width * PIXELS_PER_CHAR)}, "fields": "pixelSize"}}
                    for i, c in enumerate(tab.columns.columns) if c.width]
                reqs.append({"setBasicFilter": {"filter": {"range": {"sheetId": sid}}}})
                reqs.append({"addProtectedRange": {"protectedRange": {
                    "range": {"sheetId": sid}, "description": f"{MIRROR_MARK}. {tab.notice}".strip(),
                    "warningOnly": True}}})
            else:
                reqs.append({"updateSheetProperties": {
                    "properties": {"sheetId": sid, "gridProperties": grid},
                    "fields": "gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount"}})
            rows: list[dict[str, Any]] = [{"values": [
                {"userEnteredValue": {"stringValue": c.header}, **({"note": tab.notice} if i == 0 and tab.notice
                                                                    else {})}
                for i, c in enumerate(tab.columns.columns)]}]
            for values in tab.rows:
                cells = []
                for c in tab.columns.columns:
                    typed = c.typed(values.get(c.field, ""))
                    cells.append(_raw_cell(typed if isinstance(typed, int | float) else values.get(c.field, "")))
                rows.append({"values": cells})
            reqs.append({"updateCells": {"rows": rows, "fields": "userEnteredValue,note", "range": {
                "sheetId": sid, "startRowIndex": 0, "endRowIndex": height, "startColumnIndex": 0,
                "endColumnIndex": width}}})
        return reqs

    # --- layout ------------------------------------------------------------------------------

    def ensure_layout(self, layout: Layout) -> None:
        """Create the tab if missing, add missing header cells at the end, and (re)apply in one
        batchUpdate: frozen header, bold header with Ozon columns shaded, text format on text
        columns, dropdowns (advisory), status colours, protected Ozon columns (warning-only unless
        ``layout.protect`` or editors are given) and a filter. Our earlier rules are replaced."""
        sheets = self._sheets()
        sheet = self._find(sheets, self.worksheet)
        reqs: list[dict[str, Any]] = []
        if sheet is None:
            self._refuse_renamed(sheets)
            new_id = max((int(s["properties"]["sheetId"]) for s in sheets), default=0) + 1
            sheet = {"properties": {"sheetId": new_id, "title": self.worksheet,
                                    "gridProperties": {"rowCount": 1000, "columnCount": 26}}}
            reqs.append({"addSheet": {"properties": sheet["properties"]}})
            header: list[str] = []
        else:
            self._sheet_id = int(sheet["properties"]["sheetId"])
            self._read_header()
            header = list(self._header)
        sid = int(sheet["properties"]["sheetId"])
        while header and not header[-1]:
            header.pop()
        known = {h.casefold() for h in header}
        new = [c for c in self.columns.columns if c.header.casefold() not in known]
        start = len(header)
        header += [c.header for c in new]
        width = len(header)
        grid_cols = int(sheet["properties"].get("gridProperties", {}).get("columnCount", 26))
        if width > grid_cols:
            reqs.append({"appendDimension": {"sheetId": sid, "dimension": "COLUMNS", "length": width - grid_cols}})
        if new:
            reqs.append({"updateCells": {"rows": [{"values": [{"userEnteredValue": {"stringValue": c.header}}
                                                              for c in new]}],
                                         "fields": "userEnteredValue",
                                         "start": {"sheetId": sid, "rowIndex": 0, "columnIndex": start}}})
            for i, c in enumerate(new, start=start):
                if c.width:
                    reqs.append({"updateDimensionProperties": {
                        "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                        "properties": {"pixelSize": int(c.width * PIXELS_PER_CHAR)}, "fields": "pixelSize"}})
        cols = header_index(header, self.columns)
        reqs += self._rules(sheet, sid, cols, width, layout)
        self._change({"requests": reqs})
        self._sheet_id, self._cols = sid, None

    def _rules(self, sheet: dict[str, Any], sid: int, cols: dict[str, int], width: int,
               layout: Layout) -> list[dict[str, Any]]:
        def column(ci: int, first_row: int = 1) -> dict[str, int]:
            return {"sheetId": sid, "startRowIndex": first_row, "startColumnIndex": ci, "endColumnIndex": ci + 1}

        reqs: list[dict[str, Any]] = [
            {"updateSheetProperties": {"properties": {"sheetId": sid, "gridProperties": {"frozenRowCount": 1}},
                                       "fields": "gridProperties.frozenRowCount"}},
            {"repeatCell": {"range": {"sheetId": sid, "startRowIndex": 0, "endRowIndex": 1,
                                      "startColumnIndex": 0, "endColumnIndex": width},
                            "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                            "fields": "userEnteredFormat.textFormat.bold"}},
        ]
        for c in self.columns.columns:
            ci = cols.get(c.field)
            if ci is None:
                continue
            if c.owner in (Owner.OZON, Owner.KEY):
                reqs.append({"repeatCell": {"range": {**column(ci, 0), "endRowIndex": 1},
                                            "cell": {"userEnteredFormat": {"backgroundColor": rgb(OZON_SHADE)}},
                                            "fields": "userEnteredFormat.backgroundColor"}})
            if c.format in NUMBER_FORMATS:  # 1 234,50 in the sheet's locale, not 1234.5
                number = {"numberFormat": {"type": "NUMBER", "pattern": NUMBER_FORMATS[c.format]}}
                reqs.append({"repeatCell": {"range": column(ci), "cell": {"userEnteredFormat": number},
                                            "fields": "userEnteredFormat.numberFormat"}})
            if c.format == "text" and c.owner in (Owner.KEY, Owner.BOTH):
                reqs.append({"repeatCell": {"range": column(ci),
                                            "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
                                            "fields": "userEnteredFormat.numberFormat"}})
        for f, choices in layout.dropdowns.items():
            if f in cols and choices:
                reqs.append({"setDataValidation": {"range": column(cols[f]), "rule": {
                    "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in choices]},
                    "strict": False, "showCustomUi": True}}})
        status = cols.get("status")
        if status is not None:
            ours = [i for i, rule in enumerate(sheet.get("conditionalFormats", []))
                    if all(r.get("startColumnIndex") == status and r.get("endColumnIndex") == status + 1
                           for r in rule.get("ranges", []))]
            reqs += [{"deleteConditionalFormatRule": {"sheetId": sid, "index": i}} for i in reversed(ours)]
            reqs += [{"addConditionalFormatRule": {"index": n, "rule": {
                "ranges": [column(status)],
                "booleanRule": {"condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": label}]},
                                "format": {"backgroundColor": rgb(colour)}}}}}
                for n, (label, colour) in enumerate(layout.status_colours.items())]
        reqs += [{"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
                 for p in sheet.get("protectedRanges", []) if p.get("description") == PROTECTION_NOTE]
        enforced = layout.protect or bool(layout.editors)
        me = getattr(self._creds, "service_account_email", None)  # never lock ourselves out
        editors = sorted({*layout.editors, *([me] if me else [])})
        for c in self.columns.columns:
            ci = cols.get(c.field)
            if ci is None or c.owner is not Owner.OZON:
                continue
            protected: dict[str, Any] = {"range": column(ci), "description": PROTECTION_NOTE,
                                         "warningOnly": not enforced}
            if enforced:
                protected["editors"] = {"users": editors}
            reqs.append({"addProtectedRange": {"protectedRange": protected}})
        if not sheet.get("basicFilter"):
            reqs.append({"setBasicFilter": {"filter": {"range": {"sheetId": sid, "startRowIndex": 0,
                                                                 "startColumnIndex": 0, "endColumnIndex": width}}}})
        return reqs

    # --- archive -----------------------------------------------------------------------------

    def archive_title(self, period: str) -> str:
        return f"{'Архив' if self.columns.language == 'ru' else 'Archive'} {period}"

    def archive_rows(self, rows: Sequence[int], period: str) -> None:
        """Copy whole rows (every column; a formula as its value) to the archive tab for ``period`` and
        delete them, in one batchUpdate. Rows whose key is no longer where the last read saw it (a
        person inserted or deleted rows since) are left for the next cycle."""
        if not rows:
            return
        title = quote(self.worksheet)
        wanted = sorted(set(rows))
        got = self._call(self.http.values_batch_get, self.key, [f"{title}!{r}:{r}" for r in wanted],
                         params={"valueRenderOption": "UNFORMATTED_VALUE"})
        if self._cols is None:
            self._read_header()
        key_col = (self._cols or {}).get(self.columns.key.field)
        moved: list[tuple[int, list[Any]]] = []
        for r, vr in zip(wanted, got.get("valueRanges", []), strict=False):
            values = (vr.get("values") or [[]])[0]
            key = values[key_col] if key_col is not None and key_col < len(values) else None
            if key is not None and r < len(self._last_keys) and str(key) == self._last_keys[r]:
                moved.append((r, values))
        if not moved:
            return
        sheets = self._sheets()
        sid = self._id(sheets)
        archive = self._find(sheets, self.archive_title(period))
        reqs: list[dict[str, Any]] = []
        if archive is None:
            aid = max(int(s["properties"]["sheetId"]) for s in sheets) + 1
            reqs.append({"addSheet": {"properties": {"sheetId": aid, "title": self.archive_title(period),
                                                     "gridProperties": {"frozenRowCount": 1}}}})
            reqs.append({"appendCells": {"sheetId": aid, "fields": "userEnteredValue", "rows": [
                {"values": [{"userEnteredValue": {"stringValue": h}} for h in self._header]}]}})
        else:
            aid = int(archive["properties"]["sheetId"])
        reqs.append({"appendCells": {"sheetId": aid, "fields": "userEnteredValue",
                                     "rows": [{"values": [_raw_cell(v) for v in values]} for _, values in moved]}})
        reqs += [{"deleteDimension": {"range": {"sheetId": sid, "dimension": "ROWS", "startIndex": r - 1,
                                                "endIndex": r}}} for r, _ in sorted(moved, reverse=True)]
        self._change({"requests": reqs})
        self._last_keys = []

    def close(self) -> None:
        if self._http is not None:
            self._http.session.close()
            self._http = None


def _raw_cell(value: Any) -> dict[str, Any]:
    """A value read with valueRenderOption UNFORMATTED_VALUE, written back as that value (never as a formula)."""
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}
