"""The control API under ``/_emulator/``: Ozon-side changes over HTTP, for a person trying the demo
or a test in another process (see ``ozon-sync emulator``); ``GET /_emulator/files/<name>`` serves the
files Ozon links to (label PDFs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sync.emulators.ozon.data import FBS
from sync.emulators.ozon.model import iso, parse_time
from sync.emulators.ozon.shapes import detail
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json


def control(state: OzonState, method: str, path: str, body: Json) -> tuple[int, Any]:
    """Answer one control request: (HTTP status, JSON body). Call it holding the state's lock."""
    try:
        if method == "GET" and path == "/_emulator/log":
            return 200, state.write_log
        if method == "GET" and path.startswith("/_emulator/files/"):
            data = state.day.files.get(path.rsplit("/", 1)[1])
            return (200, data) if data is not None else (404, {"error": "no such file"})
        if method == "POST" and path == "/_emulator/reject-mark":
            state.reject_mark(str(body["mark"]), *([str(body["reason"])] if body.get("reason") else []))
            return 200, {"mark": str(body["mark"])}
        if method == "POST" and path == "/_emulator/label-delay":
            state.set_label_delay(float(body["seconds"]))
            return 200, {"seconds": float(body["seconds"])}
        if method == "POST" and path == "/_emulator/exemplar-delay":
            state.set_exemplar_delay(float(body["seconds"]))
            return 200, {"seconds": float(body["seconds"])}
        if method == "GET" and path == "/_emulator/postings":
            return 200, [detail(state.settle(n), state.null_keys) for n in state.numbers()]
        if method == "POST" and path == "/_emulator/postings":
            number = state.add_posting(scheme=str(body.get("scheme", FBS)), integration=body.get("integration"),
                                       status=str(body.get("status", "awaiting_packaging")))
            return 200, {"posting_number": number}
        if method == "POST" and path == "/_emulator/key":
            # {"expires_at": "2026-12-01T09:00:00Z"} or {"expires_in_days": 3}: what /v1/roles answers
            if "expires_in_days" in body:
                state.key_expires_at = state.clock() + timedelta(days=float(body["expires_in_days"]))
            else:
                when = parse_time(body.get("expires_at"))
                if when is None:
                    return 400, {"error": "give expires_at (RFC 3339) or expires_in_days"}
                state.key_expires_at = when
            return 200, {"expires_at": iso(state.key_expires_at)}
        if method == "POST" and path == "/_emulator/fbo":
            return 200, {"posting_number": state.add_fbo(status=str(body.get("status", "awaiting_packaging")))}
        if method == "POST" and path == "/_emulator/fbo-state":
            state.set_fbo_state(str(body["posting_number"]), str(body["status"]))
            return 200, {"posting_number": str(body["posting_number"]), "status": str(body["status"])}
        if method == "POST" and path == "/_emulator/returns":
            returned = body.get("posting_number")
            return 200, {"id": state.add_return(str(returned) if returned else None,
                                                status=str(body.get("status", "MovingToSeller")))}
        number = str(body.get("posting_number", ""))
        if number not in state.postings:
            return 404, {"error": f"no posting {number!r}"}
        if method == "POST" and path == "/_emulator/buyer-cancel":
            state.buyer_cancel(number)
        elif method == "POST" and path == "/_emulator/deliver":
            state.ozon_deliver(number)
        elif method == "POST" and path == "/_emulator/state":
            state.set_state(number, str(body["status"]), str(body.get("substatus", "")))
        elif method == "POST" and path == "/_emulator/unlabelable":
            state.make_unlabelable(number, *([str(body["reason"])] if body.get("reason") else []))
        else:
            return 404, {"error": f"unknown control path {method} {path}"}
        return 200, detail(state.postings[number], state.null_keys)
    except (KeyError, ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}
