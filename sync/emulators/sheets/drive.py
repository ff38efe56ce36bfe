"""The Drive v3 endpoints: those gspread uses on spreadsheets (``files.get``, where ``version`` and
``modifiedTime`` move with every change; ``files.list`` with the ``name = '...'`` query of ``open(title)``;
``files.create`` and ``files.delete``), folders (``files.create`` of a folder), the media upload
(``POST /upload/drive/v3/files?uploadType=multipart``), ``files.get`` of an uploaded file (``alt=media``
for its bytes); and Drive's error shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sync.emulators.server import Json
from sync.emulators.sheets import multipart
from sync.emulators.sheets.drive_files import FOLDER_MIME, NO_QUOTA, DriveFiles, Media, is_service_account, refusal
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


def _q(query: dict[str, list[str]], name: str) -> str:
    return query.get(name, [""])[-1]


def _all_drives(query: dict[str, list[str]]) -> bool:
    return any(_q(query, name).strip().lower() == "true" for name in ("supportsAllDrives", "supportsTeamDrives"))


def _parents(body: Json) -> list[str]:
    parents = body.get("parents") or []
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise bad("Invalid value at 'parents': a list of folder ids.")
    if len(parents) > 1:
        raise refusal(403, "Increasing the number of parents is not allowed", "cannotAddParent")
    return parents


def files_create(store: Workbooks, files: DriveFiles, body: Json, query: dict[str, list[str]],
                 user: str | None) -> tuple[int, Any]:
    """``files.create`` without media: a spreadsheet (shared with its creator) or a folder."""
    if body.get("mimeType") == FOLDER_MIME:
        parents = _parents(body)
        parent = files.parent_for_new(parents[0], user, _all_drives(query), owns_bytes=False) if parents else None
        folder = files.add(str(body.get("name") or "Untitled folder"), FOLDER_MIME, parents or ["root"], owner=user,
                           editors={user} if user else None, shared_drive=bool(parent and parent.shared_drive))
        return 200, _answer(folder.json(), _q(query, "fields"))
    if body.get("mimeType") != SPREADSHEET_MIME:
        raise bad("Only Google Sheets files and folders can be created here; upload other files with "
                  "/upload/drive/v3/files.")
    book = store.new_book({"properties": {"title": body.get("name") or "Untitled spreadsheet"}},
                          {user} if user else None)
    return 200, _answer(file_json(book), query.get("fields", [""])[-1])


def files_upload(files: DriveFiles, query: dict[str, list[str]], content_type: str, raw: bytes,
                 user: str | None) -> tuple[int, Any]:
    """``files.create`` with media (``uploadType=multipart``): the bytes kept in the parent folder."""
    upload_type = _q(query, "uploadType")
    if upload_type != "multipart":
        raise bad(f"Invalid value for uploadType: \"{upload_type}\"; the emulator takes uploadType=multipart.")
    upload = multipart.parse(content_type, raw)
    meta = upload.metadata
    parents = _parents(meta)
    mime = str(meta.get("mimeType") or upload.media_type or "application/octet-stream")
    if mime == FOLDER_MIME:
        raise bad("A folder has no content: create it with files.create, without media.")
    if parents:
        parent = files.parent_for_new(parents[0], user, _all_drives(query), owns_bytes=True)
        shared = parent.shared_drive
    else:  # the caller's own My Drive
        if is_service_account(user):
            raise refusal(403, NO_QUOTA, "storageQuotaExceeded", "usageLimits")
        parents, shared = ["root"], False
    file = files.add(str(meta.get("name") or "Untitled"), mime, parents, owner=user, data=upload.media,
                     shared_drive=shared)
    return 200, _answer(file.json(), _q(query, "fields"))


def stored_file(files: DriveFiles, kind: str, file_id: str, query: dict[str, list[str]],
                user: str | None) -> tuple[int, Any]:
    """``files.get`` (``alt=media``: the bytes) and ``files.delete`` of a folder or an uploaded file."""
    file = files.find(file_id, user, _all_drives(query))
    if kind == "drive.files.delete":
        del files.files[file_id]
        return 204, b""
    if _q(query, "alt") == "media":
        if file.data is None:
            raise refusal(403, "Only files with binary content can be downloaded. Use Export with Docs Editors "
                               "files.", "fileNotDownloadable")
        return 200, Media(file.data, file.mime)
    return 200, _answer(file.json(), _q(query, "fields"))


def _files_get(store: Workbooks, call: Call) -> tuple[int, Any]:
    return 200, _answer(file_json(call.book), call.q("fields"))


def _files_delete(store: Workbooks, call: Call) -> tuple[int, Any]:
    del store.books[call.book.spreadsheet_id]
    return 204, b""


ENDPOINTS: dict[str, Endpoint] = {"drive.files.get": _files_get, "drive.files.delete": _files_delete}


def drive_error(err: ApiError) -> Json:
    """Drive v3 writes its errors with an ``errors`` list (gspread's backoff reads ``domain``); a
    ``refusal`` names its own reason and domain."""
    reasons = {404: "notFound", 403: "forbidden", 401: "authError", 400: "badRequest", 429: "rateLimitExceeded"}
    reason = str(err.extra.get("reason") or reasons.get(err.http, "backendError"))
    domain = str(err.extra.get("domain") or ("usageLimits" if err.http == 429 else "global"))
    return {"error": {"code": err.http, "message": err.message,
                      "errors": [{"message": err.message, "domain": domain, "reason": reason}]}}
