"""``metrics.listen``: the daemon's health and Prometheus metrics over HTTP, on the local machine.

``GET /healthz`` answers 200 ``ok`` while the last cycle succeeded and came within three intervals, else
503 with the reason in words (for a load balancer, a watchdog, Docker's HEALTHCHECK). ``GET /metrics``
answers Prometheus' text format: cycles by result, pushes by result, labels saved, the outbox's size, the
time of the last good cycle, Ozon and sheet errors. Nothing else is served; nothing is read from the body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sync.engine.types import CycleReport
from sync.errors import (
    OzonAuthError,
    OzonRefused,
    OzonUnavailable,
    SheetAccessError,
    SheetBusy,
    SheetLayoutError,
    SheetUnavailable,
)
from sync.local_http import serve, shut

log = logging.getLogger("sync.metrics")

OZON_ERRORS = (OzonUnavailable, OzonAuthError, OzonRefused)
SHEET_ERRORS = (SheetUnavailable, SheetBusy, SheetAccessError, SheetLayoutError)


class Metrics:
    """What the daemon counts, in a registry of its own; ``observe`` / ``failed`` after each cycle."""

    def __init__(self, every: float, wall: Callable[[], float] = time.time):
        self.every, self.wall = every, wall
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter("ozon_sync_cycles", "Sync cycles run, by result", ["result"], registry=r)
        self.pushes = Counter("ozon_sync_pushes", "Staff edits answered by Ozon, by result", ["result"], registry=r)
        self.labels = Counter("ozon_sync_labels_saved", "Labels saved after a verified ship", registry=r)
        self.errors = Counter("ozon_sync_errors", "Problems met, by side (ozon, sheet, other)", ["side"], registry=r)
        self.last_success = Gauge("ozon_sync_last_success_timestamp_seconds", "When the last good cycle ended",
                                  registry=r)
        self.outbox = Gauge("ozon_sync_outbox_open", "Pushes queued, sending or waiting for Ozon's answer",
                            registry=r)
        for result in ("ok", "failed"):
            self.cycles.labels(result)
        for result in ("verified", "refused"):
            self.pushes.labels(result)
        for side in ("ozon", "sheet", "other"):
            self.errors.labels(side)
        self._ok_at: float | None = None
        self._problem = "no cycle has run yet"

    def observe(self, rep: CycleReport, outbox_open: int) -> None:
        """After a good cycle (``outbox_open``: its entries still open, read by the caller's thread)."""
        self.cycles.labels("ok").inc()
        self.outbox.set(outbox_open)
        self.pushes.labels("verified").inc(rep.verified)
        self.pushes.labels("refused").inc(rep.refused)
        self.labels.inc(rep.labels)
        if rep.failed_accounts:
            self.errors.labels("ozon").inc(len(rep.failed_accounts))
        if rep.deferred:
            self.errors.labels("sheet").inc()
        self._ok_at = self.wall()
        self.last_success.set(self._ok_at)
        self._problem = ""

    def failed(self, exc: BaseException) -> None:
        self.cycles.labels("failed").inc()
        side = "ozon" if isinstance(exc, OZON_ERRORS) else "sheet" if isinstance(exc, SHEET_ERRORS) else "other"
        self.errors.labels(side).inc()
        self._problem = f"the last cycle failed: {exc}"

    def health(self) -> tuple[bool, str]:
        """(healthy, in words): the last cycle succeeded, within three intervals."""
        if self._problem:
            return False, self._problem
        assert self._ok_at is not None
        late = self.wall() - self._ok_at
        if late > 3 * self.every:
            return False, f"no good cycle for {late:.0f} s (schedule.every is {self.every:g} s)"
        return True, "ok"


class MetricsServer:
    """The HTTP side, in a thread of its own: ``start()`` binds (a port in use is a ConfigError naming the key)."""

    def __init__(self, metrics: Metrics, listen: str):
        self.metrics, self.listen = metrics, listen
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        metrics = self.metrics

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] == "/metrics":
                    self._answer(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
                elif self.path.split("?", 1)[0] == "/healthz":
                    ok, words = metrics.health()
                    self._answer(200 if ok else 503, (words + "\n").encode(), "text/plain; charset=utf-8")
                else:
                    self._answer(404, b"not found: /metrics and /healthz are served\n", "text/plain")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                log.debug("metrics: " + format, *args)

        self._server = serve(self.listen, Handler, key="metrics.listen", name="metrics")
        log.info("Metrics on http://%s/metrics, health on /healthz", self.listen)
        return self

    def stop(self) -> None:
        shut(self._server)
        self._server = None
