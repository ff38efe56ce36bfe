"""What each `ozon-sync` subcommand does, given a loaded Config. Each returns an exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from datetime import datetime

from sync.app import REAL, App, Edges, open_app
from sync.config import Config, OzonConfig
from sync.engine.cycle import CycleReport
from sync.engine.state import StateStore
from sync.engine.views import SheetsReport
from sync.errors import ConfigError, FatalError, SheetLayoutError, WorkbookError
from sync.lock import StateLock, lock_path_for
from sync.logs import setup_logging

log = logging.getLogger("sync")


def configure_logging(cfg: Config, verbose: bool = False) -> None:
    setup_logging("DEBUG" if verbose else cfg.logging.level, cfg.logging.file,
                  secrets=cfg.secrets())


class _Progress:
    """A one-line counter on a terminal during the first backfill; silent when not a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, count: int) -> None:
        if self.tty:
            sys.stderr.write(f"\rFetching postings from Ozon: {count}")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False


def state_lock(cfg: Config, command: str) -> StateLock:
    """The state's lock for a one-shot command: it waits ``lock_wait`` for a holder (a daemon, another
    sync) to finish, then gives up with a message naming it. Two runs never push the same edit twice."""
    return StateLock(lock_path_for(cfg.state), cfg.state, command=command, wait=cfg.spreadsheet.lock_wait)


def _one_pass(cfg: Config, command: str, edges: Edges, *, push: bool, pull: bool, dry_run: bool = False) -> int:
    if dry_run:  # reads both sides, calls and writes nothing: no lock needed
        return _pass_locked(cfg, edges, push=push, pull=pull, dry_run=True)
    with state_lock(cfg, command):
        return _pass_locked(cfg, edges, push=push, pull=pull)


def _pass_locked(cfg: Config, edges: Edges, *, push: bool, pull: bool, dry_run: bool = False) -> int:
    progress = _Progress()
    app = open_app(cfg, progress=progress, edges=edges)
    try:
        if not dry_run:
            app.clean_up()
        if pull:
            for made in app.ensure_missing():
                log.info("Created %s", made)
        holder = app.wait_for_lock(cfg.spreadsheet.lock_wait)
        rep = app.run_cycle(push=push, pull=pull, dry_run=dry_run)
        progress.done()
        _print_report(rep, dry_run, holder)
        failed_sheet = isinstance(rep, SheetsReport) and bool(rep.failed_sheets)  # a view's sheet is broken
        return 1 if failed_sheet or (rep.problems and not (rep.calls or rep.pulled)) else 0
    finally:
        try:
            if not dry_run:
                app.check_alerts()  # also after a failed cycle: a rejected Api-Key is worth an alert
        finally:
            app.close()


def _print_report(rep: CycleReport, dry_run: bool, holder: str | None) -> None:
    if dry_run:
        if rep.planned:
            print("Would push:")
            for line in rep.planned:
                print(f"  {line}")
        else:
            print("Nothing to push.")
        return
    print(rep.summary())
    for problem in rep.problems:
        print(f"Problem: {problem}")
    if rep.deferred:
        print(deferred_message(rep.deferred, holder))


def deferred_message(deferred: str, holder: str | None) -> str:
    """Why the sheet was not written, said once; "after it is closed" only when a person has it open."""
    why = deferred.rstrip(". ")
    if holder and holder.rstrip(". ") not in why:
        why += f" ({holder.rstrip('. ')})"
    when = "on the next run after the workbook is closed" if holder else "on the next run"
    return f"The sheet was not written: {why}. Edits were pushed; the sheet catches up {when}."


# Every command takes the Edges the app reaches the world through: the real ones unless a test passes its own.


def cmd_pull(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    return _one_pass(cfg, "pull", edges, push=False, pull=True)


def cmd_push(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    return _one_pass(cfg, "push", edges, push=True, pull=False, dry_run=args.dry_run)


def cmd_sync(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    return _one_pass(cfg, "sync", edges, push=True, pull=True, dry_run=args.dry_run)


def cmd_init(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    with state_lock(cfg, "init"):
        return _init_locked(cfg, args, edges)


def _init_locked(cfg: Config, args: argparse.Namespace, edges: Edges) -> int:
    app = open_app(cfg, edges=edges)
    try:
        app.clean_up()
        app.ensure_sheet()
        if args.rebuild:
            app.state.forget_sheet()
            print("The next pull lays every open posting out again.")
        print(f"The sheet «{cfg.spreadsheet.worksheet}» is laid out.")
        for v in app.views:
            where = v.sheet.path or v.sheet.spreadsheet
            print(f"The view «{v.name}» ({where}, tab «{v.sheet.worksheet}») is laid out.")
        return 0
    finally:
        app.close()


def cmd_check(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    print("Config: OK")
    app = open_app(cfg, edges=edges)
    failed = False
    try:
        for acc, client in app.ozons.items():
            who = f"Ozon (account «{acc}»)" if len(app.ozons) > 1 else "Ozon"
            try:
                expires = client.key_expires_at()
                if expires is None:
                    print(f"{who}: the Api-Key works")
                else:
                    days = (expires - edges.clock()).days
                    warn = "  — renew it soon (Ozon → Settings → Seller API)" if days < 14 else ""
                    print(f"{who}: the Api-Key works; it expires {expires:%Y-%m-%d} (in {days} days){warn}")
            except Exception as exc:  # reported in words; the exit code says it failed
                print(f"{who}: {exc}")
                failed = True
        sheets = [("Spreadsheet", cfg.spreadsheet.worksheet, app.backend, app.columns, app.backend_exists)]
        sheets += [(f"View «{v.name}»", v.sheet.worksheet, v.backend, v.columns, v.exists) for v in app.views]
        for who, tab, backend, columns, exists in sheets:
            try:
                if exists():
                    backend.read([columns.key.field])
                    print(f"{who}: «{tab}» is readable")
                else:
                    print(f"{who}: not created yet; `ozon-sync init` or the first pull creates it")
                holder = backend.lock_holder()
                if holder:
                    print(f"{who}: open elsewhere — {holder}; writes wait until it is closed")
            except (SheetLayoutError, WorkbookError) as exc:
                print(f"{who}: {exc}")
                failed = True
            except Exception as exc:
                print(f"{who}: {exc}")
                failed = True
    finally:
        app.close()
    return 1 if failed else 0


def cmd_run(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    from sync.daemon import Daemon

    progress = _Progress()
    app = open_app(cfg, progress=progress, edges=edges)
    try:

        def cycle() -> CycleReport:
            if daemon.cycles == 1:  # the first: the daemon holds the state's lock from here on
                app.clean_up()
            app.ensure_missing()
            rep = app.run_cycle()
            progress.done()
            holder = app.wait_for_lock(0)
            if rep.deferred and holder:
                log.warning("The workbook is open (%s); edits are pushed, writes wait until it is closed", holder)
            return rep

        def cycle_and_alerts() -> CycleReport:
            try:
                rep = cycle()
            except Exception as exc:
                if metrics is not None:
                    metrics.failed(exc)
                raise
            else:
                if metrics is not None:
                    metrics.observe(rep, len(app.state.open_entries()))
                return rep
            finally:
                try:
                    daily_handover(app)  # also after a failed cycle: the hand-over is Ozon's side alone
                finally:
                    app.check_alerts()

        metrics = server = None
        if cfg.metrics.listen:
            from sync.metrics import Metrics, MetricsServer

            metrics = Metrics(cfg.schedule.every)
            server = MetricsServer(metrics, cfg.metrics.listen).start()
        app.listen_for_pushes()  # ozon.push: notifications wake the daemon too
        # The daemon holds a lock beside the state file: two daemons never share one state.
        daemon = Daemon(cycle_and_alerts, every=cfg.schedule.every, lock_path=lock_path_for(cfg.state),
                        clock=edges.monotonic, sleep=edges.sleep, lock_wait=cfg.spreadsheet.lock_wait,
                        wakers=app.wakers, on_wake=app.wake)
        log.info("ozon-sync daemon started: every %ss, sheet «%s»", int(cfg.schedule.every), cfg.spreadsheet.worksheet)
        try:
            return daemon.run(max_cycles=args.cycles)
        finally:
            if server is not None:
                server.stop()
    finally:
        app.close()


def daily_handover(app: App) -> None:
    """``handover.at``: each account's hand-over of the day, when it is due (logged; it never raises)."""
    from sync.handover_daily import run_daily
    from sync.labels import LabelFolder
    from sync.ozon.fbs_day import FbsDay

    cfg = app.config
    if cfg.handover.at is None:
        return
    folder = LabelFolder(cfg.labels_folder())
    for account, client in app.ozons.items():
        run_daily(app.state, account, FbsDay(client), folder, cfg.handover, cfg.tz(), app.edges.clock())


def cmd_status(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    """What the daemon did and what waits; ``--json``: the same for scripts (exit 0 either way; ``ok`` says)."""
    from sync import status

    app = open_app(cfg, edges=edges)
    try:
        facts = status.gather(app)
        if getattr(args, "json", False):
            print(json.dumps(facts, ensure_ascii=False, indent=2))
        else:
            for line in status.text(facts, cfg.tz()):
                print(line)
        return 0
    finally:
        app.close()


def cmd_export(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    from sync import reports
    from sync.app import load_maps, make_ozon

    tz, now = cfg.tz(), edges.clock()
    start = end = None
    cutoff = None
    if args.report == "picklist":
        if args.start or args.end:
            raise ConfigError("--from/--to do not apply to the picklist: it takes --cutoff (default: end of today)")
        cutoff = reports.parse_cutoff(args.cutoff, tz) if args.cutoff else reports.end_of_day(now, tz)
        if args.warehouse is not None and not args.warehouse.strip():
            raise ConfigError("--warehouse is empty: name a warehouse as the «Склад» column shows it, or drop it")
    else:
        if args.cutoff:
            raise ConfigError(f"--cutoff applies to the picklist only; the {args.report} report takes --from/--to")
        if args.warehouse is not None:
            raise ConfigError(f"--warehouse applies to the picklist only; the {args.report} report lists every "
                              f"warehouse (filter its «Склад» column)")
        default_start, default_end = reports.default_period(now, tz)
        end = reports.parse_day(args.end, "--to") if args.end else default_end
        start = reports.parse_day(args.start, "--from") if args.start else end - (default_end - default_start)
        if start > end:
            raise ConfigError(f"--from {start} is after --to {end}: swap them")
    reports.check_output(args.output)
    _columns, statuses = load_maps(cfg)
    if args.live:
        source = f"Источник: Ozon (--live), {now.astimezone(tz):%d.%m.%Y %H:%M}; время отгрузки Ozon не сообщает."
        req = reports.Request(args.report, tz, now, statuses, start, end, cutoff, source, args.warehouse)
        with contextlib.ExitStack() as open_clients:
            clients = [open_clients.enter_context(make_ozon(cfg, oz, edges)) for oz in cfg.accounts]
            result = reports.write_report(req, reports.live_entries(clients, req), args.output)
    else:
        state = _existing_state(cfg, "export with --live")
        try:
            cycles = state.recent_cycles(1)
            if not cycles:
                raise FatalError(f"The state store {cfg.state} holds no sync yet: run `ozon-sync pull` first, "
                                 f"or export with --live")
            source = f"Источник: хранилище состояния, синхронизация {cycles[0][0].astimezone(tz):%d.%m.%Y %H:%M}."
            req = reports.Request(args.report, tz, now, statuses, start, end, cutoff, source, args.warehouse)
            result = reports.write_report(req, reports.state_entries(state, req), args.output)
        finally:
            state.close()
    for line in result.lines:
        print(line)
    print(f"Wrote the {args.report} report to {result.path}")
    return 0


def cmd_labels(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    from sync import labels_by_hand as lbh
    from sync.app import load_maps, make_ozon
    from sync.ozon.fbs_day import FbsDay

    lbh.check_output(args.output)
    oz = _account(cfg, args.account)
    account = oz.account
    if args.postings:
        numbers = lbh.parse_numbers(args.postings)
    else:
        state = _existing_state(cfg, "name the postings with --postings")
        try:
            numbers = lbh.from_state(state, args.status, args.warehouse, account)
        finally:
            state.close()
        if not numbers:
            where = f" at «{args.warehouse}»" if args.warehouse else ""
            print(f"No postings of account «{account}» are in status {args.status}{where} as of the last pull.")
            return 1
    _columns, statuses = load_maps(cfg)
    with make_ozon(cfg, oz, edges) as client:
        done = lbh.make_labels(client, FbsDay(client), numbers, statuses, args.output, wait=lbh.WAIT,
                               sleep=edges.sleep)
    if done.written is None:
        print(f"No labels written: {len(done.problems)} problem(s):", file=sys.stderr)
        for line in done.problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"Labels of {len(numbers)} posting(s) written to {done.written}")
    return 0


def _existing_state(cfg: Config, instead: str) -> StateStore:
    """The state store a command reads (a report, labels by status), which a pull or the daemon makes."""
    if not cfg.state.exists():
        raise FatalError(f"There is no state store at {cfg.state} yet: run `ozon-sync pull` (or the daemon) "
                         f"first, or {instead}")
    return StateStore(cfg.state)


def cmd_handover(cfg: Config, args: argparse.Namespace, edges: Edges = REAL) -> int:
    from sync import handover
    from sync.app import make_ozon
    from sync.labels import LabelFolder
    from sync.ozon.fbs_day import FbsDay
    from sync.reports import parse_day

    tz, now = cfg.tz(), edges.clock()
    departure = None
    if args.date:
        day = parse_day(args.date, "--date")
        departure = datetime(day.year, day.month, day.day, tzinfo=tz)
    folder = LabelFolder(cfg.labels_folder())
    folder.check()
    oz = _account(cfg, args.account)
    methods = [args.delivery_method] if args.delivery_method else list(cfg.handover.delivery_methods)

    def show(done: handover.Handed) -> None:
        print(done.line, file=sys.stderr if done.failed else sys.stdout)

    with make_ozon(cfg, oz, edges) as client:
        result = handover.hand_over_all(FbsDay(client), methods, departure, folder, now.astimezone(tz), each=show)
    if not result.handed:
        print(result.nothing)
        return 1 if args.delivery_method else 0
    return 1 if result.failed else 0


def _account(cfg: Config, account: str | None) -> OzonConfig:
    """The account a command names with ``--account`` (default: the first)."""
    wanted = account or cfg.ozon.account
    found = next((o for o in cfg.accounts if o.account == wanted), None)
    if found is None:
        raise ConfigError(f"--account {wanted}: the config has no such account "
                          f"({', '.join(o.account for o in cfg.accounts)})")
    return found

