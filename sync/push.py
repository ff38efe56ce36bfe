"""``ozon.push``: a small HTTP receiver of Ozon's push notifications, so a new or changed posting is in
the sheet seconds after Ozon says so, not at the next poll.

Ozon POSTs a JSON notification to the URL the seller gave it (behind their HTTPS reverse proxy, which
forwards to ``listen`` + ``path``) and wants an answer within 5 s: ``TYPE_PING`` is answered with our name,
version and time; a posting notification (``POSTING_TYPES``) with ``{"result": true}``, after the posting
number is queued; a malformed one with Ozon's error object (4xx). Ozon suspends a subscription that keeps
failing, so unknown types are answered as received and ignored, with a log line.

Nothing in a notification is trusted but the posting number, and that only as a name to ask Ozon about:
the daemon (``poll`` → ``take``) fetches each queued posting from Ozon itself, and what Ozon answers is
what the sheet shows. Ozon signs nothing; keep the receiver on 127.0.0.1 and let the proxy admit Ozon's
networks only (docs/push.md). The body is bounded (``MAX_BODY``), must be one strict JSON object (no
NaN, no repeated keys), and the queue is bounded too (polling is the safety net for what does not fit).

One receiver serves every account whose ``ozon.push.listen`` is its address, each on its own path: the
path says which account a notification is for (never the ``seller_id`` in the body).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sync.local_http import serve, shut

log = logging.getLogger("sync.push")

POSTING_TYPES = frozenset({"TYPE_NEW_POSTING", "TYPE_POSTING_CANCELLED", "TYPE_STATE_CHANGED",
                           "TYPE_CUTOFF_DATE_CHANGED", "TYPE_DELIVERY_DATE_CHANGED"})
MAX_BODY = 64 * 1024  # a posting notification with a hundred products is a few KB
MAX_QUEUED = 10_000  # postings waiting to be fetched; beyond that the next poll brings them
READ_TIMEOUT = 4.0  # seconds a client may take to send its request (Ozon waits 5 s for the answer)
POSTING_NUMBER = re.compile(r"[0-9]{1,20}(-[0-9]{1,10}){1,2}")


@dataclass(frozen=True)
class Notification:
    """What we keep of one: its type, and the posting it names ("" for a ping or an ignored type)."""

    kind: str
    posting_number: str = ""


class Refused(ValueError):
    """A notification we cannot take: ``status`` and Ozon's error ``code`` for the answer."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Refused(400, "ERROR_PARAMETER_VALUE_MISSED", f"the key {k!r} is given twice")
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise Refused(400, "ERROR_PARAMETER_VALUE_MISSED", f"{name} is not JSON")


def read_notification(body: bytes) -> Notification:
    """The notification in ``body`` (raises Refused, saying why, for anything else)."""
    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=_no_repeats, parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(400, "ERROR_PARAMETER_VALUE_MISSED", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Refused(400, "ERROR_PARAMETER_VALUE_MISSED", "the body is not a JSON object")
    kind = data.get("message_type")
    if not isinstance(kind, str) or not kind:
        raise Refused(400, "ERROR_PARAMETER_VALUE_MISSED", "message_type is missing")
    if kind not in POSTING_TYPES:
        return Notification(kind)
    number = data.get("posting_number")
    if not isinstance(number, str) or not POSTING_NUMBER.fullmatch(number):
        raise Refused(400, "ERROR_PARAMETER_VALUE_MISSED", f"{kind} without a posting number such as 12345678-0001-1")
    return Notification(kind, number)


class PushReceiver:
    """The HTTP server, in threads of its own; the daemon's loop asks ``poll`` (a Waker) and ``take``s
    what came. ``routes``: path -> account id."""

    def __init__(self, listen: str, routes: Mapping[str, str], *, version: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), max_body: int = MAX_BODY,
                 max_queued: int = MAX_QUEUED):
        self.listen, self.routes, self.version, self.clock = listen, dict(routes), version, clock
        self.max_body, self.max_queued = max_body, max_queued
        self._lock = threading.Lock()
        self._queued: dict[tuple[str, str], float] = {}  # (account, posting) -> when it first came (monotonic)
        self._kinds: dict[str, int] = {}  # notification type -> how many, since the last poll
        self.received = 0
        self._server: ThreadingHTTPServer | None = None

    # --- the daemon's side --------------------------------------------------------------------------

    def poll(self) -> str:
        with self._lock:
            if not self._queued:
                return ""
            kinds, self._kinds = self._kinds, {}
            n = len(self._queued)
        said = ", ".join(f"{k} ×{c}" if c > 1 else k for k, c in sorted(kinds.items()))
        return f"Ozon pushed {n} posting{'s' if n != 1 else ''} ({said})"

    def take(self) -> dict[str, list[str]]:
        """The postings to fetch, by account, oldest first; the queue is emptied."""
        with self._lock:
            queued, self._queued = self._queued, {}
        out: dict[str, list[str]] = {}
        for (account, number), _at in sorted(queued.items(), key=lambda kv: kv[1]):
            out.setdefault(account, []).append(number)
        return out

    def _queue(self, account: str, note: Notification) -> None:
        with self._lock:
            self.received += 1
            self._kinds[note.kind] = self._kinds.get(note.kind, 0) + 1
            key = (account, note.posting_number)
            if key in self._queued:
                return
            if len(self._queued) >= self.max_queued:
                log.warning("Ozon pushed more postings than the receiver keeps (%d); %s waits for the next poll",
                            self.max_queued, note.posting_number)
                return
            self._queued[key] = time.monotonic()

    # --- the HTTP side --------------------------------------------------------------------------------

    def answer(self, path: str, length: str | None, read: Callable[[int], bytes]) -> tuple[int, dict[str, Any]]:
        """One request to ``path``: the HTTP status and the JSON answer."""
        account = self.routes.get(path.split("?", 1)[0])
        if account is None:
            return 404, _error("ERROR_UNKNOWN", "no such path")
        if length is None or not length.isdigit():
            return 411, _error("ERROR_PARAMETER_VALUE_MISSED", "Content-Length is required")
        if int(length) > self.max_body:
            return 413, _error("ERROR_UNKNOWN", f"the body is larger than {self.max_body} bytes")
        try:
            note = read_notification(read(int(length)))
        except Refused as exc:
            log.info("Refused an Ozon notification: %s", exc)
            return exc.status, _error(exc.code, str(exc))
        now = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        if note.kind == "TYPE_PING":
            log.debug("Ozon pinged the push receiver")
            return 200, {"version": self.version, "name": "ozon-sync", "time": now}
        if not note.posting_number:
            log.info("Ignored an Ozon notification of type %s (not about postings)", note.kind)
            return 200, {"result": True}
        log.info("Ozon pushed %s for %s", note.kind, note.posting_number)
        self._queue(account, note)
        return 200, {"result": True}

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> PushReceiver:
        """Bind and serve (a port in use is a ConfigError naming the key)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = READ_TIMEOUT  # a client that stalls mid-request does not hold a thread
            server_version = "ozon-sync"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    status, body = receiver.answer(self.path, self.headers.get("Content-Length"), self.rfile.read)
                except OSError as exc:  # the client stalled past READ_TIMEOUT, or went away: nothing to answer
                    log.info("An Ozon notification did not arrive whole (%s); dropped", type(exc).__name__)
                    self.close_connection = True
                    return
                self._send(status, body)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?", 1)[0] in receiver.routes:
                    self._send(405, _error("ERROR_UNKNOWN", "Ozon's notifications come by POST"))
                else:
                    self._send(404, _error("ERROR_UNKNOWN", "no such path"))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if status >= 400:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                log.debug("push: " + format, *args)

        self._server = serve(self.listen, Handler, key="ozon.push.listen", name="push")
        log.info("Receiving Ozon's push notifications on http://%s%s", self.listen,
                 ", ".join(sorted(self.routes)) if len(self.routes) > 1 else next(iter(self.routes)))
        return self

    def stop(self) -> None:
        shut(self._server)
        self._server = None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}}
