"""Wiring: a Config becomes an Ozon client, a sheet backend, a state store and an engine."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sync.alerts import Alerter
from sync.backends.base import STATUS_COLOURS, Layout, SheetBackend
from sync.config import Config, OzonConfig, SpreadsheetConfig, fold_name
from sync.engine.cycle import AccountOptions, CycleReport, Engine, EngineOptions, SharedKnown
from sync.engine.mirror import Mirror, MirrorOptions, MirrorTab
from sync.engine.state import StateStore
from sync.errors import ConfigError, SyncError
from sync.mapping import (
    ACCOUNT_FIELD,
    PRIVATE_FIELDS,
    ColumnMap,
    StatusMap,
    load_columns,
    load_mirror_columns,
    load_statuses,
)
from sync.model import Posting, Scheme
from sync.ozon import OzonClient

log = logging.getLogger("sync")


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def give_back_memory() -> None:
    """Hand the memory a cycle freed back to the system. glibc keeps freed heap pages for reuse, and
    over months of cycles that read a large sheet a daemon's resident size would creep up; a no-op
    where there is no glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def load_maps(cfg: Config) -> tuple[ColumnMap, StatusMap]:
    columns = _fit_columns(load_columns(cfg.mapping), cfg, cfg.mapping)
    language = cfg.language or columns.language
    return columns, load_statuses(cfg.statuses, language)


def _fit_columns(columns: ColumnMap, cfg: Config, mapping: Path | None) -> ColumnMap:
    """Drop the buyer columns (privacy off) and the account column (one account)."""
    if not cfg.privacy.customer_data:
        columns = columns.without(PRIVATE_FIELDS)
    if len(cfg.accounts) == 1:
        columns = columns.without(frozenset({ACCOUNT_FIELD}))  # one account: the column would only say «main»
    return columns


def view_columns(cfg: Config, index: int, main: ColumnMap) -> ColumnMap:
    """A view's column set: its own mapping file, the listed fields of the main mapping, or the main one.
    The posting number, the account (several accounts) and the sync note are always there."""
    view = cfg.views[index]
    if view.mapping is not None:
        return _fit_columns(load_columns(view.mapping), cfg, view.mapping)
    if not view.columns:
        return main
    must = [main.key.field] + ([ACCOUNT_FIELD] if main.get(ACCOUNT_FIELD) else [])
    fields = [f for f in must if f not in view.columns] + list(view.columns)
    if main.get("sync_note") and "sync_note" not in fields:
        fields.append("sync_note")
    by_field = {c.field: c for c in main.columns}
    return ColumnMap(tuple(by_field[f] for f in fields), main.language)


def owner_of(cfg: Config) -> Callable[[Posting], str] | None:
    """Which sheet a posting belongs on: the first view whose filter matches it, else the main one ("")."""
    if not cfg.views:
        return None
    fold = fold_name
    rules = [(v.name, {fold(w) for w in v.warehouses}, {fold(d) for d in v.delivery_methods}, set(v.accounts))
             for v in cfg.views]

    def owner(p: Posting) -> str:
        wh, dm = fold(p.warehouse), fold(p.delivery_method)
        return next((name for name, whs, dms, accs in rules
                     if (not whs or wh in whs) and (not dms or dm in dms) and (not accs or p.account in accs)), "")

    return owner


def layout_for(columns: ColumnMap, statuses: StatusMap, cfg: Config, sheet: SpreadsheetConfig | None = None,
               editors: tuple[str, ...] = ()) -> Layout:
    colours = {lab.label: STATUS_COLOURS.get(lab.id, "FFFFFF") for lab in statuses.labels}
    sp = sheet or cfg.spreadsheet
    return Layout(
        dropdowns={"status": statuses.choices(), "cancel_reason": statuses.reason_choices()},
        status_colours=colours,
        protect=sp.protect,
        editors=tuple(dict.fromkeys((*sp.editors, *editors))),
    )


def make_backend(cfg: Config, columns: ColumnMap, layout: Layout | None = None,
                 sheet: SpreadsheetConfig | None = None) -> SheetBackend:
    sp = sheet or cfg.spreadsheet
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


def make_ozon(cfg: Config, account: OzonConfig | None = None) -> OzonClient:
    oz = account or cfg.ozon
    key = f"accounts[{cfg.accounts.index(oz)}]" if len(cfg.accounts) > 1 else "ozon"
    return OzonClient(oz.client_id, oz.api_key, oz.base_url, account=oz.account, config_key=key, rps=oz.rps,
                      timeout=oz.timeout)


def _schemes(oz: OzonConfig) -> frozenset[Scheme]:
    """The schemes the engine syncs (FBO postings go to their read-only tab, not through the engine)."""
    return frozenset(Scheme.FBS if s.lower() == "fbs" else Scheme.RFBS for s in oz.schemes if s.lower() != "fbo")


def engine_options(cfg: Config, sheet: SpreadsheetConfig | None = None) -> EngineOptions:
    schemes = _schemes(cfg.ozon)
    accounts = {oz.account: AccountOptions(_schemes(oz), oz.lookback_days, oz.full_every) for oz in cfg.accounts}
    return EngineOptions(
        account=cfg.ozon.account, accounts=accounts, schemes=schemes, tz=cfg.tz(), lookback_days=cfg.ozon.lookback_days,
        full_every=cfg.ozon.full_every, hold_minutes=cfg.sync.hold_minutes, ship_retries=cfg.sync.ship_retries,
        settle_seconds=cfg.sync.settle_seconds, verify_wait=cfg.sync.verify_wait,
        archive_after_days=(sheet or cfg.spreadsheet).archive_after_days, customer_data=cfg.privacy.customer_data,
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
    return [MirrorTab(kind, title, load_mirror_columns(kind, language)) for kind, _key, title in wanted]


def make_mirror(cfg: Config, ozon: OzonClient, backend: SheetBackend, state: StateStore,
                statuses: StatusMap, language: str) -> Mirror | None:
    tabs = mirror_tabs(cfg, language)
    if not tabs:
        return None
    return Mirror(ozon, backend, state, statuses, tabs, MirrorOptions(
        account=cfg.ozon.account, tz=cfg.tz(), lookback_days=cfg.ozon.lookback_days, every=cfg.ozon.mirror_every))


@dataclass
class View:
    """An operator's own spreadsheet: its backend and the engine that keeps it."""

    name: str
    sheet: SpreadsheetConfig
    columns: ColumnMap
    layout: Layout
    backend: SheetBackend
    engine: Engine

    def exists(self) -> bool:
        path = getattr(self.backend, "path", None)
        return path is None or Path(path).exists()


@dataclass
class SheetsReport(CycleReport):
    """One cycle over the main sheet and every view: the sums, and each sheet's own summary."""

    parts: list[CycleReport] = field(default_factory=list)
    failed_sheets: list[str] = field(default_factory=list)  # sheets whose cycle raised ("" = the main one)

    def summary(self) -> str:
        return " | ".join(p.summary() for p in self.parts)


def combine(parts: list[CycleReport]) -> SheetsReport:
    out = SheetsReport(parts=parts)
    for p in parts:
        for name in ("pulled", "calls", "verified", "waiting", "refused", "held", "cells_written", "rows_added",
                     "rows_archived", "rows_skipped"):
            setattr(out, name, getattr(out, name) + getattr(p, name))
        out.planned += [f"{line} (view «{p.view}»)" if p.view else line for line in p.planned]
        out.problems += [f"View «{p.view}»: {x}" if p.view else x for x in p.problems]
        out.failed_accounts.update(p.failed_accounts)
        if p.deferred:
            out.deferred = "; ".join(filter(None, [out.deferred, f"view «{p.view}»: {p.deferred}" if p.view
                                                   else p.deferred]))
    return out


@dataclass
class App:
    config: Config
    columns: ColumnMap
    statuses: StatusMap
    backend: SheetBackend
    state: StateStore
    ozon: OzonClient  # the first (default) account's
    engine: Engine
    layout: Layout
    ozons: dict[str, OzonClient] = field(default_factory=dict)  # every account's, by id
    views: list[View] = field(default_factory=list)  # operators' spreadsheets, in config order
    alerter: Alerter | None = None
    mirror: Mirror | None = None
    _closed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.ozons = self.ozons or {self.ozon.account: self.ozon}

    def backend_exists(self) -> bool:
        """False when the Excel workbook is not there yet (the first pull creates it)."""
        path = getattr(self.backend, "path", None)
        return path is None or Path(path).exists()

    def ensure_sheet(self) -> None:
        """Lay the sheet out (creates the workbook when missing), and every view's; the read-only tabs are
        written again at the next cycle (a person may have deleted one)."""
        self.backend.ensure_layout(self.layout)
        if self.mirror is not None:
            self.mirror.forget()
        for v in self.views:
            v.backend.ensure_layout(v.layout)

    def ensure_missing(self) -> list[str]:
        """Create the workbooks not there yet (the main one, views); returns what was created, in words."""
        made = []
        if not self.backend_exists():
            self.backend.ensure_layout(self.layout)
            made.append(f"the sheet «{self.config.spreadsheet.worksheet}»")
        for v in self.views:
            if not v.exists():
                v.backend.ensure_layout(v.layout)
                made.append(f"the sheet of view «{v.name}»")
        return made

    def clean_up(self) -> None:
        """At start, under the state's lock: remove what a killed save left beside each workbook."""
        for _name, backend in self.backends():
            for stray in backend.clean_up():
                log.info("Removed %s, left by a save that was interrupted", stray)

    def backends(self) -> list[tuple[str, SheetBackend]]:
        """("", the main sheet's backend), then (name, backend) of each view."""
        return [("", self.backend)] + [(v.name, v.backend) for v in self.views]

    def run_cycle(self, *, push: bool = True, pull: bool = True, dry_run: bool = False) -> CycleReport:
        """One cycle of the main sheet, then of each view, over one state. Ozon is pulled once, by the first
        engine that gets that far; a sheet that fails (its layout broken ...) is reported and the others go
        on. Raises only when every sheet failed."""
        try:
            return self._run_cycle(push=push, pull=pull, dry_run=dry_run)
        finally:
            give_back_memory()

    def _run_cycle(self, *, push: bool, pull: bool, dry_run: bool) -> CycleReport:
        if not self.views:
            return self.engine.run_cycle(push=push, pull=pull, dry_run=dry_run)
        parts: list[CycleReport] = []
        failures: list[tuple[str, Exception]] = []
        pulled = False
        for name, engine in [("", self.engine)] + [(v.name, v.engine) for v in self.views]:
            try:
                parts.append(engine.run_cycle(push=push, pull=pull and not pulled, dry_run=dry_run))
                pulled = True
            except SyncError as exc:
                log.error("%s: %s", f"View «{name}»" if name else "The main sheet", exc)
                failures.append((name, exc))
        if not parts:
            raise failures[0][1]
        rep = combine(parts)
        rep.problems += [f"View «{n}»: {e}" if n else f"The main sheet: {e}" for n, e in failures]
        rep.failed_sheets = [n for n, _e in failures]
        return rep

    def wait_for_lock(self, wait: float, sleep: Callable[[float], None] = time.sleep) -> str | None:
        """Wait up to ``wait`` seconds for a lock on the workbook to go; return who still holds it, or None."""
        deadline = time.monotonic() + wait
        holder = self._lock_holder()
        while holder and time.monotonic() < deadline:
            sleep(0.5)
            holder = self._lock_holder()
        return holder

    def _lock_holder(self) -> str | None:
        for name, backend in self.backends():
            holder = backend.lock_holder()
            if holder:
                return f"view «{name}»: {holder}" if name else holder
        return None

    def check_alerts(self) -> None:
        """After a cycle: raise and send alerts (sync.alerts); never raises."""
        if self.alerter is not None:
            self.alerter.run()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.alerter is not None:
                self.alerter.close()
            for client in self.ozons.values():
                client.close()
            for _name, backend in self.backends():
                backend.close()
            self.state.close()


def open_app(cfg: Config, *, progress: Callable[[int], None] | None = None,
             clock: Callable[[], datetime] = lambda: datetime.now(UTC),
             sleep: Callable[[float], None] = time.sleep) -> App:
    columns, statuses = load_maps(cfg)
    state = StateStore(cfg.state)
    layout = layout_for(columns, statuses, cfg)
    backend = make_backend(cfg, columns, layout)
    ozons = {oz.account: make_ozon(cfg, oz) for oz in cfg.accounts}
    ozon = ozons[cfg.ozon.account]
    try:
        mirror = make_mirror(cfg, ozon, backend, state, statuses, cfg.language or columns.language)
    except ConfigError:
        for client in ozons.values():
            client.close()
        backend.close()
        state.close()
        raise
    owner, shared = owner_of(cfg), SharedKnown()
    engine = Engine(ozons, backend, state, columns, statuses, engine_options(cfg), clock=clock, sleep=sleep,
                    progress=progress, mirror=mirror, owner_of=owner, known=shared)
    views = []
    for i, vc in enumerate(cfg.views):
        v_columns = view_columns(cfg, i, columns)
        v_layout = layout_for(v_columns, statuses, cfg, vc.spreadsheet, vc.editors)
        v_backend = make_backend(cfg, v_columns, v_layout, vc.spreadsheet)
        v_engine = Engine(ozons, v_backend, state, v_columns, statuses, engine_options(cfg, vc.spreadsheet),
                          clock=clock, sleep=sleep, progress=progress, view=vc.name, owner_of=owner, known=shared)
        views.append(View(vc.name, vc.spreadsheet, v_columns, v_layout, v_backend, v_engine))
    alerter = Alerter(cfg.alerts, state, keys={acc: client.key_expires_at for acc, client in ozons.items()},
                      language=cfg.language or columns.language, tz=cfg.tz(), clock=clock,
                      scrub=Redactor(cfg.secrets()).clean,
                      sleep=sleep)
    return App(cfg, columns, statuses, backend, state, ozon, engine, layout, ozons=ozons, views=views,
               alerter=alerter, mirror=mirror)


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
