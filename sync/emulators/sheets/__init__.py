"""A stateful emulator of the Google Sheets API v4 (and the bits of Drive v3 gspread uses), a real
HTTP server on 127.0.0.1.

What it serves (paths as in Google's discovery documents):

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
* Drive folders (``create_folder`` in-process, or ``files.create`` of a folder) and the media upload
  ``POST /upload/drive/v3/files?uploadType=multipart`` (metadata part, then the bytes, kept in memory),
  read back with ``files.get`` (``alt=media``: the bytes), with Drive's rules: a folder the caller
  cannot see is "File not found" (404), a read-only one refuses new files (403), a service account
  uploads only into a shared drive's folder (403 ``storageQuotaExceeded``), and shared-drive files
  need ``supportsAllDrives=true``;
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

Modules: ``emulator`` (the class and its in-process API), ``handler`` (HTTP and faults), ``routing``,
``auth``, ``quota``, ``model`` (books, sheets, cells), ``ranges`` (A1 and GridRanges), ``cells`` (value
rules), ``fields`` (field masks), ``values``, ``spreadsheet``, ``batch_update`` with ``sheet_requests``
and ``cell_requests``, ``dimensions`` (rows and columns moving), ``drive`` with ``drive_files`` (folders, uploads) and
``multipart`` (the upload body), ``command`` (the CLI).
"""

from sync.emulators.server import Faults
from sync.emulators.sheets.batch_update import BATCH_REQUESTS
from sync.emulators.sheets.command import add_arguments, run
from sync.emulators.sheets.emulator import SheetsEmulator
from sync.emulators.sheets.errors import ApiError
from sync.emulators.sheets.fields import parse_fields
from sync.emulators.sheets.ranges import quote_title

__all__ = ["BATCH_REQUESTS", "ApiError", "Faults", "SheetsEmulator", "add_arguments", "parse_fields", "quote_title",
           "run"]
