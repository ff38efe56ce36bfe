"""The Drive v3 endpoints gspread uses on spreadsheets: ``files.get`` (``version`` and ``modifiedTime``
move with every change), ``files.list`` (the ``name = '...'`` query of ``open(title)``), ``files.create``
and ``files.delete``; and Drive's error shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sync.emulators.server import Json
from sync.emulators.sheets.errors import ApiError, bad
from sync.emulators.sheets.fields import masked
from sync.emulators.sheets.model import Book, Workbooks
from sync.emulators.sheets.routing import Call, Endpoint

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"


def file_json(book: Book) -> Json:
    """The spreadsheet as a Drive File with every field the emulator knows."""
    def stamp(dt: datetime) -> str:
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"

    return {"kind": "drive#file", "id": book.spreadsheet_id, "name": book.title, "mimeType": SPREADSHEET_MIME,
            "createdTime": stamp(book.created), "modifiedTime": stamp(book.modified), "version": str(book.version)}


def _answer(file: Json, fields: str | None) -> Json:
    """A File cut to ``fields``; without them the few fields Drive answers by default."""
    return masked(file, fields) if fields else {k: file[k] for k in ("kind", "id", "name", "mimeType")}


def files_list(store: Workbooks, query: dict[str, list[str]], user: str | None) -> tuple[int, Any]:
    """``files.list``: the spreadsheets the caller may open, by ``name`` when the ``q`` names one."""
    q = query.get("q", [""])[-1]
    name = re.search(r"name\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)')", q)
    wanted = None if not name else (name.group(1) if name.group(1) is not None else name.group(2))
    if wanted is not None:
        wanted = re.sub(r"\\(.)", r"\1", wanted)
    files = [file_json(b) for b in store.books.values()
             if (wanted is None or b.title == wanted)
             and (user is None or b.shared_with is None or user in b.shared_with)]
    size = max(1, min(int(query.get("pageSize", ["100"])[-1] or 100), 1000))
    offset = int(query.get("pageToken", ["0"])[-1] or 0)
    out: Json = {"kind": "drive#fileList", "incompleteSearch": False, "files": files[offset:offset + size]}
    if offset + size < len(files):
        out["nextPageToken"] = str(offset + size)
    return 200, masked(out, query.get("fields", [""])[-1])


def files_create(store: Workbooks, body: Json, query: dict[str, list[str]], user: str | None) -> tuple[int, Any]:
    """``files.create`` of a spreadsheet, shared with its creator."""
    if body.get("mimeType") != SPREADSHEET_MIME:
        raise bad("Only Google Sheets files can be created here.")
    book = store.new_book({"properties": {"title": body.get("name") or "Untitled spreadsheet"}},
                          {user} if user else None)
    return 200, _answer(file_json(book), query.get("fields", [""])[-1])


def _files_get(store: Workbooks, call: Call) -> tuple[int, Any]:
    return 200, _answer(file_json(call.book), call.q("fields"))


def _files_delete(store: Workbooks, call: Call) -> tuple[int, Any]:
    del store.books[call.book.spreadsheet_id]
    return 204, b""


ENDPOINTS: dict[str, Endpoint] = {"drive.files.get": _files_get, "drive.files.delete": _files_delete}


def drive_error(err: ApiError) -> Json:
    """Drive v3 writes its errors with an ``errors`` list (gspread's backoff reads ``domain``)."""
    reason = {404: "notFound", 403: "forbidden", 401: "authError", 400: "badRequest", 429: "rateLimitExceeded"}
    return {"error": {"code": err.http, "message": err.message,
                      "errors": [{"message": err.message, "domain": "global",
                                  "reason": reason.get(err.http, "backendError")}]}}
