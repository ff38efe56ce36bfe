"""The HTTP side of the Ozon emulator: the control API under ``/_emulator/``, and Seller API calls
with injected faults applied (429, "Circle is open", HTML, 500/503 and dropped connections after
which a write may have been applied anyway, slow answers)."""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from sync.emulators.ozon.routes import WRITE_PATHS
from sync.emulators.server import Faults, Json, QuietHandler


class Answers(Protocol):
    """What the handler asks of the emulator it serves (``OzonEmulator``)."""

    faults: Faults

    def control(self, method: str, path: str, body: Json) -> tuple[int, Any]: ...
    def note_request(self, path: str) -> tuple[str | None, bool]: ...
    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Json | bytes, dict[str, str]]: ...


class OzonHandler(QuietHandler):
    emu: Answers

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "") -> None:
        """JSON, or bytes: a PDF unless ``content_type`` says otherwise."""
        if isinstance(payload, bytes):
            data, content_type = payload, content_type or "application/pdf"
        else:
            data, content_type = json.dumps(payload, ensure_ascii=False).encode(), content_type or "application/json"
        self.send_body(status, data, content_type, headers)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/_emulator/"):
            self._send(*self.emu.control("GET", self.path, {}))
        else:
            self._send(404, {"code": 5, "message": "method is not allowed", "details": []})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.read_body()
        path = self.path.split("?", 1)[0]
        if path.startswith("/_emulator/"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            self._send(*self.emu.control("POST", path, body if isinstance(body, dict) else {}))
            return
        emu = self.emu
        fault, applied_anyway = emu.note_request(path)
        if fault == "429":
            self._send(429, {"code": 8, "message": "You have reached request rate limit per second", "details": []},
                       {"retry-after": "1"})
            return
        if fault == "circle":
            self._send(429, {"code": 8, "message": "Circle is open", "details": []})
            return
        if fault == "html":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if fault in ("500", "503", "drop") and path in WRITE_PATHS and applied_anyway:
            emu.handle(path, headers, raw)  # applied; the answer is lost
        if fault in ("500", "503"):
            self._send(int(fault), {"code": 13 if fault == "500" else 14, "message": "Internal error", "details": []})
            return
        if fault == "drop":
            self.drop()
            return
        if fault == "slow":
            time.sleep(emu.faults.slow_seconds)
        status, answer, extra = emu.handle(path, headers, raw)
        self._send(status, answer, extra)
