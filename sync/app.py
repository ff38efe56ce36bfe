"""Wiring: a Config becomes an Ozon client, a sheet backend, a state store and an engine."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sync.alerts import Alerter
from sync.backends.base import STATUS_COLOURS, Layout, SheetBackend
from sync.config import Config
from sync.engine.cycle import Engine, EngineOptions
from sync.engine.mirror import Mirror, MirrorOptions, MirrorTab
from sync.engine.state import StateStore
from sync.errors import ConfigError
from sync.mapping import PRIVATE_FIELDS, ColumnMap, StatusMap, load_columns, load_mirror_columns, load_statuses
from sync.model import Scheme
from sync.ozon import OzonClient

log = logging.getLogger("sync")


def load_maps(cfg: Config) -> tuple[ColumnMap, StatusMap]:
    columns = load_columns(cfg.mapping)
    if not cfg.privacy.customer_data:
        columns = columns.without(PRIVATE_FIELDS)
    language = cfg.language or columns.language
    return columns, load_statuses(cfg.statuses, language)


def layout_for(columns: ColumnMap, statuses: StatusMap, cfg: Config) -> Layout:
    colours = {lab.label: STATUS_COLOURS.get(lab.id, "FFFFFF") for lab in statuses.labels}
    return Layout(
        dropdowns={"status": statuses.choices(), "cancel_reason": statuses.reason_choices()},
        status_colours=colours,
        protect=cfg.spreadsheet.protect,
        editors=tuple(cfg.spreadsheet.editors),
    )


def make_backend(cfg: Config, columns: ColumnMap, layout: Layout | None = None) -> SheetBackend:
    sp = cfg.spreadsheet
    if sp.backend == "google":
        from sync.backends.google import GoogleBackend

        assert sp.spreadsheet is not None
        backend: SheetBackend = GoogleBackend(sp.spreadsheet, sp.worksheet, columns, credentials=sp.credentials,
                                              api_endpoint=sp.api_endpoint, timeout=sp.timeout)
        return backend
    from sync.backends.excel import ExcelBackend

    assert sp.path is not None
    excel: SheetBackend = ExcelBackend(sp.path, sp.worksheet, columns, layout=layout)
    return excel


def make_ozon(cfg: Config) -> OzonClient:
    oz = cfg.ozon
    return OzonClient(oz.client_id, oz.api_key, oz.base_url, account=oz.account, rps=oz.rps, timeout=oz.timeout)


def engine_options(cfg: Config) -> EngineOptions:
    schemes = frozenset(Scheme.FBS if s.lower() == "fbs" else Scheme.RFBS for s in cfg.ozon.schemes
                        if s.lower() != "fbo")
    return EngineOptions(
        account=cfg.ozon.account, schemes=schemes, tz=cfg.tz(), lookback_days=cfg.ozon.lookback_days,
        full_every=cfg.ozon.full_every, hold_minutes=cfg.sync.hold_minutes, ship_retries=cfg.sync.ship_retries,
        settle_seconds=cfg.sync.settle_seconds, verify_wait=cfg.sync.verify_wait,
        archive_after_days=cfg.spreadsheet.archive_after_days, customer_data=cfg.privacy.customer_data,
        purge_after_days=cfg.privacy.purge_after_days,
    )


def mirror_tabs(cfg: Config, language: str) -> list[MirrorTab]:
    """The read-only tabs the config asks for (``ozon.schemes: [.., fbo]``, ``ozon.returns: true``)."""
    sp = cfg.spreadsheet
    wanted = []
    if "fbo" in cfg.ozon.schemes:
        wanted.append(("fbo", "spreadsheet.fbo_worksheet", sp.fbo_worksheet or "FBO"))
    if cfg.ozon.returns:
        wanted.append(("returns", "spreadsheet.returns_worksheet",
                       sp.returns_worksheet or ("Returns" if language == "en" else "Возвраты")))
    for _kind, key, title in wanted:
        if title.casefold() == sp.worksheet.casefold():
            raise ConfigError(f"{key}: the read-only tab «{title}» would replace the orders tab "
                              f"(spreadsheet.worksheet); give it another name")
    return [MirrorTab(kind, title, load_mirror_columns(kind, language)) for kind, _key, title in wanted]


def make_mirror(cfg: Config, ozon: OzonClient, backend: SheetBackend, state: StateStore,
                statuses: StatusMap, language: str) -> Mirror | None:
    tabs = mirror_tabs(cfg, language)
    if not tabs:
        return None
    return Mirror(ozon, backend, state, statuses, tabs, MirrorOptions(
        account=cfg.ozon.account, tz=cfg.tz(), lookback_days=cfg.ozon.lookback_days, every=cfg.ozon.mirror_every))


@dataclass
class App:
    config: Config
    columns: ColumnMap
    statuses: StatusMap
    backend: SheetBackend
    state: StateStore
    ozon: OzonClient
    engine: Engine
    layout: Layout
    alerter: Alerter | None = None
    mirror: Mirror | None = None
    _closed: bool = field(default=False, repr=False)

    def backend_exists(self) -> bool:
        """False when the Excel workbook is not there yet (the first pull creates it)."""
        path = getattr(self.backend, "path", None)
        return path is None or Path(path).exists()

    def ensure_sheet(self) -> None:
        """Lay the sheet out (creates the workbook when missing); the read-only tabs are written again
        at the next cycle (a person may have deleted one)."""
        self.backend.ensure_layout(self.layout)
        if self.mirror is not None:
            self.mirror.forget()

    def wait_for_lock(self, wait: float, sleep: Callable[[float], None] = time.sleep) -> str | None:
        """Wait up to ``wait`` seconds for a lock on the workbook to go; return who still holds it, or None."""
        deadline = time.monotonic() + wait
        holder = self.backend.lock_holder()
        while holder and time.monotonic() < deadline:
            sleep(0.5)
            holder = self.backend.lock_holder()
        return holder

    def check_alerts(self) -> None:
        """After a cycle: raise and send alerts (sync.alerts); never raises."""
        if self.alerter is not None:
            self.alerter.run()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.alerter is not None:
                self.alerter.close()
            self.ozon.close()
            self.backend.close()
            self.state.close()


def open_app(cfg: Config, *, progress: Callable[[int], None] | None = None,
             clock: Callable[[], datetime] = lambda: datetime.now(UTC),
             sleep: Callable[[float], None] = time.sleep) -> App:
    columns, statuses = load_maps(cfg)
    state = StateStore(cfg.state)
    layout = layout_for(columns, statuses, cfg)
    backend = make_backend(cfg, columns, layout)
    ozon = make_ozon(cfg)
    try:
        mirror = make_mirror(cfg, ozon, backend, state, statuses, cfg.language or columns.language)
    except ConfigError:
        ozon.close()
        backend.close()
        state.close()
        raise
    engine = Engine(ozon, backend, state, columns, statuses, engine_options(cfg), clock=clock, sleep=sleep,
                    progress=progress, mirror=mirror)
    alerter = Alerter(cfg.alerts, state, account=cfg.ozon.account, key_expires_at=ozon.key_expires_at,
                      language=cfg.language or columns.language, tz=cfg.tz(), clock=clock,
                      scrub=Redactor([cfg.ozon.api_key, *cfg.alerts.secrets()]).clean, sleep=sleep)
    return App(cfg, columns, statuses, backend, state, ozon, engine, layout, alerter=alerter, mirror=mirror)


class Redactor(logging.Filter):
    """Keeps secrets and phone numbers out of every log line, whoever wrote it."""

    PHONE = re.compile(r"(?<![\w-])\+?[78][\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?![\w-])")

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def clean(self, text: str) -> str:
        clean = self.PHONE.sub("[phone]", text)
        for s in self.secrets:
            clean = clean.replace(s, "***")
        return clean

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = self.clean(msg)
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


def setup_logging(level: str = "INFO", file: Path | None = None, secrets: list[str] | None = None) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    redactor = Redactor(secrets or [])
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(redactor)
        root.addHandler(h)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3", "google", "gspread"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
