"""The HTTP side of the Sheets emulator: every request logged (an upload as its metadata part), injected
faults applied (an error answer, in Drive's shape for Drive methods; a non-JSON 502, a dropped
connection, a slow answer), then answered as JSON, or as a file's bytes (``alt=media``)."""

from __future__ import annotations

import json
import time
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sync.emulators.server import Faults, QuietHandler
from sync.emulators.sheets import multipart
from sync.emulators.sheets.drive import drive_error
from sync.emulators.sheets.drive_files import Media
from sync.emulators.sheets.quota import fault_error
from sync.emulators.sheets.routing import route


class Answers(Protocol):
    """What the handler asks of the emulator it serves (``SheetsEmulator``)."""

    faults: Faults

    def note_request(self, method: str, path: str, query: dict[str, list[str]], logged: Any,
                     kind: str) -> str | None: ...
    def record(self, kind: str, request: Any, status: int, answer: Any) -> None: ...
    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str],
               raw: bytes, *, kind: str | None = None) -> tuple[int, Any]: ...


class SheetsHandler(QuietHandler):
    emu: Answers

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
        kind, _ = route(method, parts.path)
        logged: Any
        if kind == "drive.files.upload":
            logged = multipart.metadata_or_text(self.headers.get("content-type", ""), raw)
        else:
            try:
                logged = json.loads(raw) if raw and kind != "token" else raw.decode("utf-8", "replace") or None
            except ValueError:
                logged = raw.decode("utf-8", "replace")
        fault = emu.note_request(method, unquote(parts.path), query, logged, kind)
        error = fault_error(fault, kind)
        if error is not None:
            body = drive_error(error) if kind.startswith("drive.") else error.body()
            emu.record(kind, logged, error.http, body)
            self._send(error.http, body)
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
        emu.record(kind, logged, status, answer)
        if isinstance(answer, Media):
            self._send(status, answer.data, answer.mime)
        else:
            self._send(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 - http.server's naming
