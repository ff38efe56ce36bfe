"""``SheetsEmulator``: one request answered (who calls, quota, which endpoint), and the in-process
control API tests and the demo use to act as a person in the browser and to look at the state."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sync.emulators.server import Faults, Json, LoopbackServer
from sync.emulators.sheets import auth, drive, spreadsheet, values
from sync.emulators.sheets.batch_update import batch_update
from sync.emulators.sheets.dimensions import delete_dimension, sort_rows
from sync.emulators.sheets.drive_files import FOLDER_MIME, DriveFiles
from sync.emulators.sheets.errors import NO_PERMISSION, NOT_FOUND, ApiError, bad
from sync.emulators.sheets.handler import SheetsHandler
from sync.emulators.sheets.model import DEFAULT_COLS, DEFAULT_ROWS, Workbooks
from sync.emulators.sheets.quota import Quota
from sync.emulators.sheets.ranges import col_index, parse_range
from sync.emulators.sheets.routing import Call, Endpoint, route

ENDPOINTS: dict[str, Endpoint] = {
    "spreadsheets.get": spreadsheet.get,
    "spreadsheets.batchUpdate": batch_update,
    **values.ENDPOINTS,
    **drive.ENDPOINTS,
}


class SheetsEmulator(Workbooks, LoopbackServer):
    """The emulator: ``with SheetsEmulator() as emu: sid = emu.create_spreadsheet("Orders", ["Заказы"])``.

    ``clock`` gives the current time (UTC) for ``modifiedTime`` and the quota window; tests may pass
    their own. One lock guards everything, so tests may call the in-process helpers while the server
    thread answers requests.
    """

    handler_class = SheetsHandler
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
        LoopbackServer.__init__(self, host, port)
        Workbooks.__init__(self, random.Random(seed), clock)
        self.record_exchanges = record_exchanges
        self.exchanges: list[tuple[str, Any, int, Any]] = []  # (method kind, request body, status, answer)
        self.allow_anonymous = allow_anonymous
        self.reads_per_minute, self.writes_per_minute = reads_per_minute, writes_per_minute
        self.faults = faults or Faults()
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []  # method, path, query, body
        self.tokens: dict[str, str] = {}  # issued access token -> e-mail
        self._quota = Quota()
        self._fault_rng = random.Random(seed + 1)
        self.drive_files = DriveFiles(random.Random(seed + 2), clock)  # folders and uploaded files
        self._lock = threading.RLock()

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- answering requests ---------------------------------------------------------------------------

    def note_request(self, method: str, path: str, query: dict[str, list[str]], logged: Any, kind: str) -> str | None:
        """Log a request as it arrives; returns the fault it meets, if any."""
        with self._lock:
            self.requests.append((method, path, query, logged))
            return self.faults.pick(kind, self._fault_rng)

    def record(self, kind: str, request: Any, status: int, answer: Any) -> None:
        """Keep the exchange, when ``record_exchanges``."""
        if self.record_exchanges:
            with self._lock:
                self.exchanges.append((kind, request, status, answer))

    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str],
               raw: bytes, *, kind: str | None = None) -> tuple[int, Any]:
        """Answer one request: (HTTP status, JSON body)."""
        with self._lock:
            if kind is None:
                kind, _ = route(method, raw_path)
            _, args = route(method, raw_path)
            try:
                if kind == "token":
                    return auth.token(raw, self.issue_token)
                user = auth.caller(headers, self.tokens, self.allow_anonymous)
                if kind == "unknown":
                    raise ApiError(404, NOT_FOUND)
                if kind == "drive.files.upload":  # raw bytes: multipart/related, not JSON
                    return drive.files_upload(self.drive_files, query, headers.get("content-type", ""), raw, user)
                body: Any = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise bad("Invalid JSON payload received. Unexpected token.") from None
                self._quota.check(kind, user, self.clock, reads_per_minute=self.reads_per_minute,
                                  writes_per_minute=self.writes_per_minute)
                if kind == "spreadsheets.create":
                    return spreadsheet.create(self, body or {}, user)
                if kind == "drive.files.list":
                    return drive.files_list(self, query, user)
                if kind == "drive.files.create":
                    return drive.files_create(self, self.drive_files, body or {}, query, user)
                if kind in ("drive.files.get", "drive.files.delete") and args["id"] in self.drive_files.files:
                    return drive.stored_file(self.drive_files, kind, args["id"], query, user)
                book = self.book(args["id"])
                if user is not None and book.shared_with is not None and user not in book.shared_with:
                    raise ApiError(403, NO_PERMISSION)
                endpoint = ENDPOINTS.get(kind)
                if endpoint is None:
                    raise ApiError(404, NOT_FOUND)
                return endpoint(self, Call(book, args, query, body if isinstance(body, dict) else {}))
            except ApiError as err:
                if kind.startswith("drive."):
                    return err.http, drive.drive_error(err)
                return err.http, err.body()

    # --- in-process helpers (tests, the demo) ----------------------------------------------------------

    def create_spreadsheet(self, title: str, sheets: list[str] | None = None, *, shared_with: set[str] | None = None,
                           rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLS) -> str:
        """Create a spreadsheet with these tabs (``Sheet1`` when none); returns its id.
        ``shared_with``: e-mails that may open it (None: anyone)."""
        with self._lock:
            body = {"properties": {"title": title},
                    "sheets": [{"properties": {"title": t, "gridProperties": {"rowCount": rows, "columnCount": cols}}}
                               for t in (sheets or [])]}
            return self.new_book(body, shared_with).spreadsheet_id

    def share(self, spreadsheet_id: str, *emails: str) -> None:
        with self._lock:
            book = self.book(spreadsheet_id)
            book.shared_with = (book.shared_with or set()) | set(emails)

    def issue_token(self, email: str) -> str:
        """An access token for ``email``, as if it came from ``/token``."""
        with self._lock:
            token = f"ya29.emu-{len(self.tokens) + 1}-{self._rng.getrandbits(48):012x}"
            self.tokens[token] = email
            return token

    def spreadsheet_ids(self) -> list[str]:
        with self._lock:
            return list(self.books)

    def revision(self, spreadsheet_id: str) -> int:
        with self._lock:
            return self.book(spreadsheet_id).version

    def grid(self, spreadsheet_id: str, sheet_title: str) -> list[list[Any]]:
        """The user-entered values (formulas as text), trailing empties trimmed."""
        with self._lock:
            return values.user_values(self.sheet(spreadsheet_id, sheet_title))

    def set_values(self, spreadsheet_id: str, a1_range: str, rows: list[list[Any]]) -> None:
        """A person typing ``rows`` from the top-left of ``a1_range`` (USER_ENTERED rules)."""
        with self._lock:
            book = self.book(spreadsheet_id)
            values.write(parse_range(book, a1_range), rows, "USER_ENTERED")
            self.touch(book)

    def delete_rows(self, spreadsheet_id: str, sheet_title: str, start_row: int, end_row: int | None = None) -> None:
        """A person deleting rows ``start_row``..``end_row`` (1-based, inclusive)."""
        with self._lock:
            book = self.book(spreadsheet_id)
            delete_dimension(self.sheet(spreadsheet_id, sheet_title), "ROWS", start_row - 1, end_row or start_row)
            self.touch(book)

    def sort_rows(self, spreadsheet_id: str, sheet_title: str, key_col: int | str, start_row: int = 2,
                  reverse: bool = False) -> None:
        """A person sorting the rows from ``start_row`` (1-based) down by one column (1-based number or
        letter); whole rows move, formats and validation with them; empty keys go last."""
        with self._lock:
            book = self.book(spreadsheet_id)
            sheet = self.sheet(spreadsheet_id, sheet_title)
            col = col_index(key_col) if isinstance(key_col, str) else key_col - 1
            if sort_rows(sheet, col, start_row - 1, reverse):
                self.touch(book)

    def sheet_meta(self, spreadsheet_id: str, sheet_title: str) -> Json:
        """What a person sees besides values: properties, frozen rows, filter, conditional formats,
        protected ranges, and validations / formats grouped into column runs (``{"range", "rule"}``)."""
        with self._lock:
            sheet = self.sheet(spreadsheet_id, sheet_title)
            return spreadsheet.sheet_meta(self.book(spreadsheet_id), sheet)

    def create_folder(self, name: str, shared_with: set[str] | None = None, *, readers: set[str] | None = None,
                      shared_drive: bool = True) -> str:
        """A Drive folder a person made and shared; returns its id. ``shared_with``: e-mails that may add
        files to it (None: anyone); ``readers``: e-mails that may only see it. ``shared_drive``: the folder
        is on a shared drive (a service account can upload only there; callers must send
        ``supportsAllDrives=true``), else in a person's My Drive."""
        with self._lock:
            folder = self.drive_files.add(name, FOLDER_MIME, ["root"], owner=None,
                                          editors=set(shared_with) if shared_with is not None else None,
                                          readers=readers, shared_drive=shared_drive)
            return folder.file_id

    def share_folder(self, folder_id: str, *emails: str) -> None:
        """Add editors to a folder made with ``create_folder``."""
        with self._lock:
            folder = self.drive_files.files[folder_id]
            folder.editors = (folder.editors or set()) | set(emails)

    def folder_files(self, folder_id: str) -> dict[str, bytes]:
        """The uploaded files in a folder: name -> bytes (the last upload of a name wins)."""
        with self._lock:
            return {f.name: f.data for f in self.drive_files.files.values()
                    if folder_id in f.parents and f.data is not None}

    def drive_file(self, spreadsheet_id: str) -> Json:
        with self._lock:
            return drive.file_json(self.book(spreadsheet_id))
