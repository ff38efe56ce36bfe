"""Label files into a Google Drive folder: ``DriveFolder.upload`` sends one file (a Drive v3 multipart
media upload) and answers the link a sheet cell can show.

It goes through the Google backend's own HTTP client (``GoogleBackend.drive_folder``): the same
service-account credentials, timeout, endpoint override (the emulator) and request counter. An upload
is a write, so it is retried only on 429 and on a failed connect (sync.backends.google_http); after a
5xx or a timeout its outcome is unknown and the caller may upload again later (a second copy of a
label in the folder is harmless).

A service account owns what it uploads and has no Drive storage of its own: the folder must be on a
shared drive (Google Workspace), with the service account added as a content manager. Every request
says ``supportsAllDrives=true``, without which Drive does not find shared-drive folders.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import requests
from gspread.exceptions import APIError

from sync.backends.google_http import RetryingHTTPClient
from sync.errors import ItemError, SheetAccessError, SheetUnavailable, SyncError

UPLOAD_URL = "https://www.googleapis.com/upload/drive/v3/files"
RATE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "sharingRateLimitExceeded"})


class GoogleConnection(Protocol):
    """What a DriveFolder borrows from the Google backend (``GoogleBackend`` is one)."""

    @property
    def http(self) -> RetryingHTTPClient: ...

    @property
    def service_account_email(self) -> str | None: ...


def folder_id(folder: str) -> str:
    """The id in a folder's URL (``.../drive/folders/<id>?usp=sharing``), or the text as it is."""
    m = re.search(r"/folders/([A-Za-z0-9_-]+)", folder)
    return m.group(1) if m else folder.strip()


def multipart_body(metadata: Mapping[str, Any], data: bytes, mime: str) -> tuple[bytes, str]:
    """A ``multipart/related`` body (metadata as JSON, then the media) and its Content-Type."""
    meta = json.dumps(metadata, ensure_ascii=False).encode()
    boundary = f"=={uuid.uuid4().hex}=="
    while boundary.encode() in data or boundary.encode() in meta:
        boundary = f"=={uuid.uuid4().hex}=="
    b = boundary.encode()
    body = (b"--" + b + b"\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" + meta + b"\r\n--" + b
            + f"\r\nContent-Type: {mime}\r\n\r\n".encode() + data + b"\r\n--" + b + b"--\r\n")
    return body, f'multipart/related; boundary="{boundary}"'


class DriveFolder:
    """One Drive folder we upload labels into: ``DriveFolder(backend, cfg.labels.drive_folder)``, or
    ``backend.drive_folder(folder)`` on a ``GoogleBackend``. ``folder``: the folder's id or its URL."""

    def __init__(self, google: GoogleConnection, folder: str) -> None:
        self.google = google
        self.folder_id = folder_id(folder)

    def upload(self, name: str, data: bytes, mime: str = "application/pdf") -> str:
        """Store ``data`` as a new file ``name`` in the folder; returns its link (webViewLink).

        Raises SheetAccessError (the folder is missing or not shared with us, or is in a My Drive),
        SheetUnavailable (quota, outage, no answer: try again later), ItemError (Drive refused this file)."""
        body, content_type = multipart_body({"name": name, "mimeType": mime, "parents": [self.folder_id]}, data, mime)
        try:
            http = self.google.http
            response = http.request("post", UPLOAD_URL, params={
                "uploadType": "multipart", "supportsAllDrives": "true", "fields": "id,webViewLink"},
                data=body, headers={"Content-Type": content_type})
        except APIError as exc:
            raise self._explain(exc, name) from None
        except requests.RequestException as exc:
            raise SheetUnavailable(f"Google Drive could not be reached while uploading {name} "
                                   f"({type(exc).__name__}); try again later") from None
        try:
            answer = response.json()
            file_id = str(answer["id"])
        except (ValueError, KeyError, TypeError):
            raise SheetUnavailable(f"Google Drive answered the upload of {name} with something that is not a "
                                   f"file (HTTP {response.status_code}); try again later") from None
        return str(answer.get("webViewLink") or f"https://drive.google.com/file/d/{file_id}/view")

    def _explain(self, exc: APIError, name: str) -> SyncError:
        status = exc.response.status_code
        error = exc.error if isinstance(exc.error, Mapping) else {}
        message = str(error.get("message", "")) or str(exc)
        errors = error.get("errors")
        reason = str(errors[0].get("reason", "")) if isinstance(errors, list) and errors and isinstance(
            errors[0], Mapping) else ""
        who = self.google.service_account_email
        account = who or "the service account"
        folder = self.folder_id
        if status == 404:
            return SheetAccessError(
                f"Google Drive has no folder {folder} that {account} can see: check labels.drive_folder (the id is "
                f"the part of the folder's URL after /folders/) and share the folder with {account}")
        if reason == "storageQuotaExceeded":
            return SheetAccessError(
                f"Google Drive would not store {name} in folder {folder}: a service account has no storage of its "
                f"own, so the folder must be on a shared drive (Google Workspace) with {account} added to it as a "
                f"content manager (Google said: {message})")
        if status == 429 or reason in RATE_REASONS:
            return SheetUnavailable(f"Google Drive's quota is used up for now ({message}); "
                                    f"the upload of {name} waits for a later try")
        if status == 403:
            return SheetAccessError(f"Google Drive refuses to add files to folder {folder}: share the folder with "
                                    f"{account} as an editor (Google said: {message})")
        if status == 401:
            return SheetAccessError(f"Google rejected the credentials ({message}): check spreadsheet.credentials")
        if status >= 500:
            return SheetUnavailable(f"Google Drive failed while uploading {name} (HTTP {status}: {message}); it may "
                                    f"or may not have landed; try again later")
        return ItemError(f"Google Drive refused the file {name} (HTTP {status}: {message})")
