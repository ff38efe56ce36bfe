"""``ozon-sync sheets-emulator``: the Sheets emulator alone on 127.0.0.1 with one spreadsheet."""

from __future__ import annotations

import argparse
import threading

from sync.emulators.server import Faults
from sync.emulators.sheets.emulator import SheetsEmulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8766, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--title", default="Заказы Ozon", help="title of the spreadsheet to create")
    parser.add_argument("--sheet", action="append", default=None, help="a tab to create (repeatable; default Заказы)")
    parser.add_argument("--share", action="append", default=None,
                        help="e-mail allowed to open it (repeatable; default: anyone)")
    parser.add_argument("--no-anonymous", action="store_true", help="refuse requests without an Authorization header")
    parser.add_argument("--reads-per-minute", type=int, default=60, help="per-user read quota (429 above it)")
    parser.add_argument("--writes-per-minute", type=int, default=60, help="per-user write quota (429 above it)")
    parser.add_argument("--fault-500", type=float, default=0.0, help="share of requests answered with 500")
    parser.add_argument("--fault-429", type=float, default=0.0, help="share of requests answered with 429")


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    faults = Faults(rate_429=args.fault_429, rate_500=args.fault_500)
    emu = SheetsEmulator(port=args.port, allow_anonymous=not args.no_anonymous, faults=faults,
                         reads_per_minute=args.reads_per_minute, writes_per_minute=args.writes_per_minute)
    with emu:
        sid = emu.create_spreadsheet(args.title, args.sheet or ["Заказы"],
                                     shared_with=set(args.share) if args.share else None)
        print(f"Google Sheets API emulator on {emu.base_url}; spreadsheet {args.title!r} has id {sid}.")
        print(f"Point the Google backend's base URL at it; a service-account key's token_uri may be {emu.token_uri}.")
        print(f"  curl {emu.base_url}/v4/spreadsheets/{sid}")
        print("Ctrl-C stops it.")
        emu.wait(stop)
    return 0
