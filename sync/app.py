"""Wiring: a Config becomes Ozon clients, sheet backends, a state store, engines and alerts, all
reaching the world through one set of ``Edges``."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from sync.alerts import Alerter
from sync.backends.base import STATUS_COLOURS, Layout, SheetBackend
from sync.config import Config, OzonConfig, SpreadsheetConfig, fold_name
from sync.engine.cycle import AccountOptions, CycleReport, Engine, EngineOptions, SharedKnown
from sync.engine.mirror import Mirror, MirrorOptions, MirrorTab
from sync.engine.state import StateStore
from sync.engine.views import SheetsReport, View, run_sheets
from sync.errors import ConfigError
from sync.labels import LabelFolder, LabelShelf
from sync.logs import Redactor, setup_logging
from sync.mapping import (
    ACCOUNT_FIELD,
    PRIVATE_FIELDS,
    ColumnMap,
    StatusMap,
    load_columns,
    load_mirror_columns,
    load_statuses,
)
from sync.memory import give_back_memory
from sync.model import Posting, Scheme
from sync.ozon import OzonClient
from sync.ozon.fbs_day import FbsDay
from sync.retry import utc_now

if TYPE_CHECKING:
    import requests

    from sync.daemon import Waker
    from sync.push import PushReceiver

# SheetsReport, View, setup_logging and give_back_memory live in their own modules; importers of sync.app keep them.
__all__ = ["REAL", "App", "Edges", "SheetsReport", "View", "give_back_memory", "open_app", "setup_logging"]

log = logging.getLogger("sync")


@dataclass(frozen=True)
class Edges:
    """What the app reaches the world through, besides its files: the clocks, pauses, chance (back-off
    jitter) and the network. The defaults are the real ones; tests pass a clock that moves when slept,
    a sleep that records, or a transport that answers in-process."""

    clock: Callable[[], datetime] = utc_now  # the wall clock, timezone-aware
    monotonic: Callable[[], float] = time.monotonic  # durations and deadlines (the Ozon rate limiter's too)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None  # None: each edge draws its jitter from its own unseeded generator
    ozon_transport: httpx.BaseTransport | None = None  # None: the network
    webhook_transport: httpx.BaseTransport | None = None
    sheets_session: requests.Session | None = None  # the Google backend's HTTP session


REAL = Edges()  # the real clocks, sleep and network


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
                 sheet: SpreadsheetConfig | None = None, edges: Edges = REAL) -> SheetBackend:
    sp = sheet or cfg.spreadsheet
    if sp.backend == "google":
        from sync.backends.google import GoogleBackend

        assert sp.spreadsheet is not None
        backend: SheetBackend = GoogleBackend(sp.spreadsheet, sp.worksheet, columns, credentials=sp.credentials,
                                              api_endpoint=sp.api_endpoint, timeout=sp.timeout, sleep=edges.sleep,
                                              rng=edges.rng, now=edges.clock, session=edges.sheets_session)
        return backend
    from sync.backends.excel import ExcelBackend

    assert sp.path is not None
    excel: SheetBackend = ExcelBackend(sp.path, sp.worksheet, columns, layout=layout)
    return excel


def make_shelf(cfg: Config, backend: SheetBackend) -> LabelShelf:
    """Where the daemon's labels go: the labels folder, linked from the workbook (Excel) or uploaded to the
    Drive folder (Google, with labels.drive_folder), printed by the command."""
    upload = None
    drive_folder = getattr(backend, "drive_folder", None)  # the Google backend's (imported only when used)
    if cfg.labels.drive_folder and drive_folder is not None:
        upload = drive_folder(cfg.labels.drive_folder).upload
    return LabelShelf(LabelFolder(cfg.labels_folder()), workbook=cfg.spreadsheet.path, upload=upload,
                      print_command=cfg.labels.print_command)


def make_ozon(cfg: Config, account: OzonConfig | None = None, edges: Edges = REAL) -> OzonClient:
    oz = account or cfg.ozon
    key = f"accounts[{cfg.accounts.index(oz)}]" if len(cfg.accounts) > 1 else "ozon"
    return OzonClient(oz.client_id, oz.api_key, oz.base_url, account=oz.account, config_key=key, rps=oz.rps,
                      timeout=oz.timeout, transport=edges.ozon_transport, clock=edges.monotonic, sleep=edges.sleep,
                      rng=edges.rng, now=edges.clock)


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
        purge_after_days=cfg.privacy.purge_after_days, items=dict(cfg.items),
        label_wait=cfg.labels.first_try,
        # A burst of edits is sent in rounds that fit the account's request budget within one cycle.
        round_size=max(10, int(cfg.ozon.rps * cfg.schedule.every / 4)), outbox_budget=0.8 * cfg.schedule.every,
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
    edges: Edges = REAL
    wakers: list[Waker] = field(default_factory=list)  # what wakes the daemon between cycles (sync.daemon)
    receivers: list[PushReceiver] = field(default_factory=list)  # ozon.push, once listen_for_pushes() ran
    _closed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.ozons = self.ozons or {self.ozon.account: self.ozon}

    def backend_exists(self) -> bool:
        """False when the Excel workbook is not there yet (the first pull creates it)."""
        return self.backend.exists()

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

    def run_cycle(self, *, push: bool = True, pull: bool = True, dry_run: bool = False,
                  fetch: dict[str, list[str]] | None = None) -> CycleReport:
        """One cycle of the main sheet, then of each view, over one state (sync.engine.views); the memory
        it freed goes back to the system. Raises only when every sheet failed. ``fetch``: postings to
        fetch from Ozon by account (pushed notifications)."""
        try:
            return run_sheets(self.engine, self.views, push=push, pull=pull, dry_run=dry_run, fetch=fetch)
        finally:
            give_back_memory()

    def wake(self, reasons: list[str]) -> CycleReport:
        """Between cycles, when a waker said something happened (``reasons``): push the sheet's edits, fetch
        the postings Ozon pushed notifications about, and write now; Ozon is pulled on the schedule."""
        log.debug("Woken: %s", "; ".join(reasons))
        fetch: dict[str, list[str]] = {}
        for receiver in self.receivers:
            for account, numbers in receiver.take().items():
                fetch.setdefault(account, []).extend(numbers)
        return self.run_cycle(pull=False, fetch=fetch)

    def listen_for_pushes(self) -> list[PushReceiver]:
        """Start a receiver for each ``ozon.push.listen`` address (the accounts on it each on its path: the
        config allows no two on one), as wakers of the daemon; they stop with ``close``. Raises ConfigError
        when an address is taken."""
        from sync import __version__
        from sync.push import PushReceiver

        routes: dict[str, dict[str, str]] = {}
        for oz in self.config.accounts:
            if oz.push.listen:
                routes.setdefault(oz.push.listen, {})[oz.push.path] = oz.account
        for listen, paths in routes.items():
            receiver = PushReceiver(listen, paths, version=__version__, clock=self.edges.clock)
            self.receivers.append(receiver.start())
            self.wakers.append(receiver)
        return self.receivers

    def wait_for_lock(self, wait: float) -> str | None:
        """Wait up to ``wait`` seconds for a lock on the workbook to go; return who still holds it, or None."""
        deadline = self.edges.monotonic() + wait
        holder = self._lock_holder()
        while holder and self.edges.monotonic() < deadline:
            self.edges.sleep(0.5)
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
            for receiver in self.receivers:
                receiver.stop()
            if self.alerter is not None:
                self.alerter.close()
            for client in self.ozons.values():
                client.close()
            for _name, backend in self.backends():
                backend.close()
            self.state.close()


def open_app(cfg: Config, *, progress: Callable[[int], None] | None = None, edges: Edges = REAL) -> App:
    """The App for ``cfg``, reaching the world through ``edges``."""
    columns, statuses = load_maps(cfg)
    state = StateStore(cfg.state)
    layout = layout_for(columns, statuses, cfg)
    backend = make_backend(cfg, columns, layout, edges=edges)
    ozons = {oz.account: make_ozon(cfg, oz, edges) for oz in cfg.accounts}
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
    days = {acc: FbsDay(client) for acc, client in ozons.items()}
    engine = Engine(ozons, backend, state, columns, statuses, engine_options(cfg), clock=edges.clock,
                    sleep=edges.sleep, progress=progress, mirror=mirror, owner_of=owner, known=shared, days=days,
                    labels=make_shelf(cfg, backend))
    views = []
    for i, vc in enumerate(cfg.views):
        v_columns = view_columns(cfg, i, columns)
        v_layout = layout_for(v_columns, statuses, cfg, vc.spreadsheet, vc.editors)
        v_backend = make_backend(cfg, v_columns, v_layout, vc.spreadsheet, edges)
        v_engine = Engine(ozons, v_backend, state, v_columns, statuses, engine_options(cfg, vc.spreadsheet),
                          clock=edges.clock, sleep=edges.sleep, progress=progress, view=vc.name, owner_of=owner,
                          known=shared, days=days)
        views.append(View(vc.name, vc.spreadsheet, v_columns, v_layout, v_backend, v_engine))
    alerter = Alerter(cfg.alerts, state, keys={acc: client.key_expires_at for acc, client in ozons.items()},
                      language=cfg.language or columns.language, tz=cfg.tz(), clock=edges.clock,
                      scrub=Redactor(cfg.secrets()).clean, sleep=edges.sleep, rng=edges.rng,
                      transport=edges.webhook_transport)
    return App(cfg, columns, statuses, backend, state, ozon, engine, layout, ozons=ozons, views=views,
               alerter=alerter, mirror=mirror, edges=edges,
               wakers=sheet_watchers(backend, views, edges, cfg.schedule.sheet_poll))


def sheet_watchers(backend: SheetBackend, views: list[View], edges: Edges, sheet_poll: float) -> list[Waker]:
    """A watcher for each sheet (the main one, each view's): a person's save of an Excel workbook, or a
    new version of a Google spreadsheet (asked every ``sheet_poll`` seconds), wakes the daemon."""
    from sync.backends.excel import ExcelBackend
    from sync.watch import SheetVersionWatcher, WorkbookWatcher

    out: list[Waker] = []
    for name, b in [("", backend), *((v.name, v.backend) for v in views)]:
        if isinstance(b, ExcelBackend):
            out.append(WorkbookWatcher(b.path, b.known_version, monotonic=edges.monotonic))
        elif b.name == "google":  # not imported for an Excel sheet: gspread alone takes 0.3 s to load
            from sync.backends.google import GoogleBackend

            assert isinstance(b, GoogleBackend)
            out.append(SheetVersionWatcher(b.version, b.known_version, every=sheet_poll, monotonic=edges.monotonic,
                                           name=f"The Google sheet of view «{name}»" if name else "The Google sheet"))
    return out
