"""The `ozon-sync` command line. Each subcommand's parser names its handler (``set_defaults(handler=...)``);
:func:`main` runs it and maps our exceptions to messages and exit codes: 0 ok (refused rows are not a
failure: they are in the notes), 1 failure, 2 bad config or usage."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sync import __version__, commands
from sync.app import REAL, Edges
from sync.config import Config, load_config
from sync.emulators import ozon as ozon_emulator
from sync.emulators import sheets as sheets_emulator
from sync.errors import ConfigError, FatalError, RetryLater, SyncError

log = logging.getLogger("sync")

DEFAULT_CONFIG = "ozon-sync.yaml"

Handler = Callable[[argparse.Namespace, Edges], int]


def _configured(command: Callable[[Config, argparse.Namespace, Edges], int]) -> Handler:
    """The handler of a command that works on a config: load ``--config``, set up logging, run ``command``."""

    def handler(args: argparse.Namespace, edges: Edges) -> int:
        cfg = load_config(args.config)
        commands.configure_logging(cfg, verbose=args.verbose)
        return int(command(cfg, args, edges))

    return handler


def _alone(command: Callable[[argparse.Namespace], int]) -> Handler:
    """The handler of a command that runs on its own (the demo, the emulators): the real edges."""
    return lambda args, _edges: int(command(args))


def _demo(args: argparse.Namespace) -> int:
    from sync.demo import run_demo  # the demo's emulators and backends load only when it runs

    return run_demo(args.dir, serve=args.serve, postings=args.postings, seed=args.seed, every=args.every,
                    verbose=args.verbose, backend=args.backend)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ozon-sync",
        description="Mirror Ozon postings into a spreadsheet and push staff status edits back to Ozon.",
    )
    p.add_argument("--config", "-c", type=Path,
                   default=Path(os.environ.get("OZON_SYNC_CONFIG", DEFAULT_CONFIG)),
                   help=f"config file (default: $OZON_SYNC_CONFIG or ./{DEFAULT_CONFIG})")
    p.add_argument("--verbose", "-v", action="store_true", help="log details (DEBUG)")
    p.add_argument("--version", action="version", version=f"ozon-sync {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    check = sub.add_parser("check", help="validate the config, reach Ozon (key expiry) and the spreadsheet")
    check.set_defaults(handler=_configured(commands.cmd_check))
    init = sub.add_parser("init", help="create or fix the sheet layout (header, dropdowns, colours)")
    init.add_argument("--rebuild", action="store_true",
                      help="forget which rows were on the sheet, so the next pull lays every open posting out again")
    init.set_defaults(handler=_configured(commands.cmd_init))
    pull = sub.add_parser("pull", help="one pass: bring Ozon's postings into the sheet (edits are kept, not pushed)")
    pull.set_defaults(handler=_configured(commands.cmd_pull))
    for name, text, command in (("push", "one pass: push staff edits to Ozon and write the notes", commands.cmd_push),
                                ("sync", "one pass: push, then pull", commands.cmd_sync)):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--dry-run", action="store_true", help="show what would be pushed; push and write nothing")
        sp.set_defaults(handler=_configured(command))
    run = sub.add_parser("run", help="the daemon: sync every schedule.every until stopped (SIGTERM/Ctrl-C)")
    run.add_argument("--cycles", type=int, default=None, help=argparse.SUPPRESS)
    run.set_defaults(handler=_configured(commands.cmd_run))
    status = sub.add_parser("status", help="last cycles, pending pushes, recent events")
    status.add_argument("--json", action="store_true", help="the same as JSON, for scripts and monitors "
                                                             "(`ok`: false when the last cycle failed, a push is "
                                                             "stuck or an alert was not delivered)")
    status.set_defaults(handler=_configured(commands.cmd_status))
    export = sub.add_parser("export", help="an Excel report: orders, daily or picklist (from the state store, "
                                           "or from Ozon with --live)")
    export.add_argument("--report", "-r", required=True, choices=["orders", "daily", "picklist"],
                        help="orders: order history; daily: per-day shipments, statuses, charts and late postings; "
                             "picklist: what to pick for postings awaiting packaging before --cutoff")
    export.add_argument("--from", dest="start", metavar="YYYY-MM-DD",
                        help="first local day of the period (default: 6 days before --to)")
    export.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last local day, included (default: today)")
    export.add_argument("--cutoff", metavar="WHEN",
                        help="picklist: postings due (Собрать до) no later than this local date/time "
                             "(default: the end of today)")
    export.add_argument("--warehouse", metavar="NAME",
                        help="picklist: only this warehouse's postings (default: every warehouse, a sheet each)")
    export.add_argument("--output", "-o", required=True, type=Path, metavar="FILE.xlsx", help="the .xlsx file to write")
    export.add_argument("--live", action="store_true",
                        help="fetch from Ozon now instead of the state store (slower; late is measured less)")
    export.set_defaults(handler=_configured(commands.cmd_export))
    labels = sub.add_parser("labels", help="a PDF of labels to print by hand: --postings A,B, or --status "
                                           "awaiting_deliver [--warehouse W]")
    which = labels.add_mutually_exclusive_group(required=True)
    which.add_argument("--postings", metavar="A,B", help="posting numbers, separated by commas")
    which.add_argument("--status", metavar="STATUS",
                       help="every posting Ozon last showed in this status (from the state store)")
    labels.add_argument("--warehouse", metavar="W", help="with --status: only this warehouse's")
    labels.add_argument("--account", metavar="ID", help="the account the postings are in (default: the first)")
    labels.add_argument("--output", "-o", required=True, type=Path, metavar="FILE.pdf", help="the PDF to write")
    labels.set_defaults(handler=_configured(commands.cmd_labels))
    handover = sub.add_parser("handover", help="hand packed postings over: a carriage per delivery method, approved, "
                                               "its act and waybill saved beside the labels")
    handover.add_argument("--delivery-method", metavar="M", help="only this delivery method (its name or id)")
    handover.add_argument("--date", metavar="YYYY-MM-DD", help="the departure day (default: Ozon's, today)")
    handover.add_argument("--account", metavar="ID", help="the account (default: the first)")
    handover.set_defaults(handler=_configured(commands.cmd_handover))
    demo = sub.add_parser("demo", help="the whole loop offline: the bundled Ozon emulator and a spreadsheet")
    demo.add_argument("--dir", type=Path, default=Path("ozon-sync-demo"), help="folder for the demo files")
    demo.add_argument("--serve", action="store_true",
                      help="keep running so you can edit the workbook and watch edits land (Ctrl-C to stop)")
    demo.add_argument("--postings", type=int, default=24, help="how many postings the emulator seeds")
    demo.add_argument("--seed", type=int, default=7, help="emulator seed")
    demo.add_argument("--every", type=float, default=5.0, help="--serve: seconds between cycles")
    demo.add_argument("--backend", choices=["excel", "google"], default="excel",
                      help="the spreadsheet: an Excel workbook, or a Google sheet on the bundled Sheets emulator")
    demo.set_defaults(handler=_alone(_demo))
    emu = sub.add_parser("emulator", help="run the Ozon Seller API emulator alone on 127.0.0.1")
    ozon_emulator.add_arguments(emu)
    emu.set_defaults(handler=_alone(ozon_emulator.run))
    sheets = sub.add_parser("sheets-emulator",
                            help="run the Google Sheets API emulator alone on 127.0.0.1 (spreadsheet.api_endpoint)")
    sheets_emulator.add_arguments(sheets)
    sheets.set_defaults(handler=_alone(sheets_emulator.run))
    return p


def main(argv: Sequence[str] | None = None, *, edges: Edges = REAL) -> int:
    """Run one ``ozon-sync`` command line; ``edges`` are what the app reaches the world through (tests pass a
    clock and a sleep of their own)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    handler: Handler = args.handler
    try:
        return int(handler(args, edges))
    except ConfigError as exc:
        print("The configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except (FatalError, RetryLater) as exc:
        print(f"ozon-sync: {exc}", file=sys.stderr)
        return 1
    except SyncError as exc:
        print(f"ozon-sync: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
