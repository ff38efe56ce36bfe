"""What both emulators share: a threaded HTTP server on loopback, and fault injection."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

Json = dict[str, Any]  # a JSON object, as the emulators read requests and write answers


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (clients reuse connections, as with the real services), no access log."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers go out at once, not after the client's delayed ACK

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass  # quiet: tests and the demo print what matters

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting (a timeout, a fault test): nothing to answer

    def read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def send_body(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if data or status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def drop(self) -> None:
        """Close the connection without an answer (a network fault)."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.close()


class LoopbackServer:
    """Serves ``handler_class`` (bound to this emulator as its ``emu`` attribute) on host:port in a
    daemon thread. Port 0 picks a free port; ``base_url`` tells which."""

    handler_class: type[BaseHTTPRequestHandler]
    thread_name = "emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        handler: Any = type(self.handler_class.__name__, (self.handler_class,), {"emu": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def wait(self, stop: threading.Event | None = None) -> None:
        """Block until ``stop`` is set or Ctrl-C (the ``ozon-sync emulator`` commands)."""
        waiter = stop or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("\nStopped.")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class Faults:
    """What goes wrong, and how often (each rate a share of requests, 0..1).

    ``script`` queues faults for the next requests of one kind (the Ozon emulator keys by path, the
    Sheets emulator by method, e.g. ``"values.get"``; ``"*"`` matches any), taken in order before the
    rates are tried. Kinds both understand: ``"429"``, ``"500"``, ``"503"``, ``"html"`` (an answer that
    is not JSON), ``"drop"`` (the connection closes without an answer), ``"slow"`` (the answer comes
    after ``slow_seconds``); each emulator's docstring names its own extras.
    ``applied_share``: for a write met by a 500/503 or a drop, the chance it was applied anyway.
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    applied_share: float = 0.5
    script: dict[str, deque[str]] = field(default_factory=dict)

    def queue(self, key: str, *kinds: str) -> None:
        self.script.setdefault(key, deque()).extend(kinds)

    def pick(self, key: str, rng: random.Random) -> str | None:
        for k in (key, "*"):
            queued = self.script.get(k)
            if queued:
                return queued.popleft()
        for kind, rate in (("429", self.rate_429), ("500", self.rate_500), ("503", self.rate_503),
                           ("drop", self.rate_drop), ("slow", self.rate_slow)):
            if rate and rng.random() < rate:
                return kind
        return None
