"""``OzonEmulator``: Ozon's state behind a loopback HTTP server — one request answered after the
checks Ozon makes first (the key, the JSON body, the rate limit per Client-Id)."""

from __future__ import annotations

import json
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.emulators.ozon.control import control
from sync.emulators.ozon.errors import ApiError
from sync.emulators.ozon.handler import OzonHandler
from sync.emulators.ozon.routes import ROUTES
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Faults, Json, LoopbackServer


class OzonEmulator(OzonState, LoopbackServer):
    """The emulator: ``with OzonEmulator(seed=1, postings=50) as emu: ... emu.base_url``.

    ``clock`` gives the current time (UTC); tests may pass their own. Everything is guarded by one
    lock, so tests may call the in-process methods while the server thread answers requests.
    """

    handler_class = OzonHandler
    thread_name = "ozon-emulator"

    def __init__(
        self,
        *,
        seed: int = 1,
        postings: int = 20,
        fbo: int = 0,
        returns: int = 0,
        client_id: str = "123456",
        api_key: str = "emulator-key",
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_rps: float = 50.0,
        ship_delay: float = 1.5,
        ship_fail_rate: float = 0.0,
        marked: int = 0,
        label_delay: float = 45.0,
        exemplar_check_delay: float = 2.0,
        faults: Faults | None = None,
        key_expires_at: datetime | None = None,
        key_deactivated: bool = False,
        write_log_path: Path | None = None,
        record_exchanges: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client_id, self.api_key = client_id, api_key
        LoopbackServer.__init__(self, host, port)
        self.rate_limit_rps = rate_limit_rps
        self.rate_limited = 0  # requests answered 429 for going over rate_limit_rps
        self.faults = faults or Faults()
        self.key_deactivated = key_deactivated
        self.request_counts: dict[str, int] = {}
        self.exchanges: list[tuple[str, Json, int, Json | bytes]] = []  # (path, request, http status, response)
        self.record_exchanges = record_exchanges
        self._fault_rng = random.Random(seed + 1)
        self._recent: deque[float] = deque()
        OzonState.__init__(self, seed=seed, postings=postings, fbo=fbo, returns=returns, ship_delay=ship_delay,
                           ship_fail_rate=ship_fail_rate, key_expires_at=key_expires_at,
                           write_log_path=write_log_path, clock=clock, marked=marked, label_delay=label_delay,
                           check_delay=exemplar_check_delay)

    def note_request(self, path: str) -> tuple[str | None, bool]:
        """Count a Seller API request; returns the fault it meets (if any) and whether a write it
        breaks is applied anyway."""
        with self._lock:
            self.request_counts[path] = self.request_counts.get(path, 0) + 1
            fault = self.faults.pick(path, self._fault_rng)
            return fault, self._fault_rng.random() < self.faults.applied_share

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Json | bytes, dict[str, str]]:
        """Answer one POST: (HTTP status, JSON body, extra headers). Faults are applied by the handler."""
        with self._lock:
            body: Any = {}
            out: Json | bytes
            try:
                self._check_auth(headers)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    raise ApiError(400, 3, "proto: syntax error (line 1:1): invalid JSON") from None
                if not isinstance(body, dict):
                    raise ApiError(400, 3, "proto: syntax error: expected an object")
                self._check_rate()
                route = ROUTES.get(path)
                if route is None:
                    raise ApiError(404, 5, "method is not allowed")
                answer = route(self, body)
                status, out, extra = 200, answer, {}
            except ApiError as err:
                status, out, extra = err.http, err.body(), err.headers
            if self.record_exchanges and isinstance(body, dict):
                self.exchanges.append((path, body, status, out))
            return status, out, extra

    def file_url(self, name: str) -> str:
        return self.base_url + super().file_url(name)

    def stop(self) -> None:
        self.pusher.stop()
        super().stop()

    def control(self, method: str, path: str, body: Json) -> tuple[int, Any]:
        """Ozon-side changes over HTTP (``/_emulator/...``), for a person trying the demo or a test in
        another process."""
        with self._lock:
            return control(self, method, path, body)

    def _check_auth(self, headers: dict[str, str]) -> None:
        cid = headers.get("client-id", "")
        key = headers.get("api-key", "")
        if not cid.strip().isdigit():
            raise ApiError(400, 3, "Client-Id header value is not a number")
        if cid.strip() != self.client_id or key != self.api_key:
            raise ApiError(404, 5, "Invalid Api-Key, please check the key and try again")
        if self.key_deactivated:
            raise ApiError(403, 7, "Api-key is deactivated, use another one or generate a new one")

    def _check_rate(self) -> None:
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if self.rate_limit_rps and len(self._recent) >= self.rate_limit_rps:
            self.rate_limited += 1
            raise ApiError(429, 8, "You have reached request rate limit per second", {"retry-after": "1"})
        self._recent.append(now)
