"""Cost of the read-only FBO and returns tabs: one refresh on Excel and on Google.

Runs the Ozon emulator with many FBO postings and returns beside a small staff tab, and measures
three cycles on each backend: the first (the tabs are created), one where the refresh is due but
Ozon has nothing new (Ozon is read, nothing is written), and one where a single FBO posting moved
(the whole tab is rewritten inside the cycle's one write). Prints wall time, Ozon requests, and the
Sheets requests (Google) or workbook saves (Excel) of each cycle.

    python bench/bench_mirror.py [--fbo 3000] [--returns 500] [--postings 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync.app import App, Edges, open_app
from sync.backends.google import GoogleBackend
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator

OZON = ('ozon: {{client_id: "1", api_key: "bench", base_url: "{ozon}", rps: 50, lookback_days: 30,\n'
        "       schemes: [fbs, rfbs, fbo], returns: true, mirror_every: 10m}}\n")
EXCEL = "spreadsheet: {backend: excel, path: orders.xlsx, worksheet: Заказы}\n"
GOOGLE = ('spreadsheet: {{backend: google, spreadsheet: {key}, credentials: anonymous, api_endpoint: "{sheets}",\n'
          "              worksheet: Заказы}}\n")
REST = "state: state.sqlite\nsync: {verify_wait: 0s, settle_seconds: 0s}\n"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def measure(label: str, app: App, clock: Clock, minutes: float) -> None:
    clock.now += timedelta(minutes=minutes)
    backend = app.backend
    sheet_before = backend.requests if isinstance(backend, GoogleBackend) else getattr(backend, "saves", 0)
    ozon_before = app.ozon.requests
    started = time.perf_counter()
    rep = app.engine.run_cycle()
    wall = time.perf_counter() - started
    sheet = (backend.requests if isinstance(backend, GoogleBackend) else getattr(backend, "saves", 0)) - sheet_before
    unit = "Sheets requests" if isinstance(backend, GoogleBackend) else "saves"
    written = ", ".join(app.mirror.written) if app.mirror and app.mirror.written else "nothing"
    print(f"  {label:<34} {wall:6.2f} s  Ozon requests {app.ozon.requests - ozon_before:4d}  "
          f"{unit} {sheet}  tabs written: {written}" + (f"  problems: {rep.problems}" if rep.problems else ""))


def run(app: App, clock: Clock, ozon: OzonEmulator) -> None:
    app.ensure_sheet()
    measure("first cycle (tabs created)", app, clock, 0)
    measure("refresh due, nothing new", app, clock, 11)
    ozon.set_fbo_state(ozon.fbo_numbers(status="delivering")[0], "delivered")
    measure("refresh due, one FBO posting moved", app, clock, 11)
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fbo", type=int, default=3000)
    parser.add_argument("--returns", type=int, default=500)
    parser.add_argument("--postings", type=int, default=200)
    args = parser.parse_args()
    quota = 10**6
    for backend in ("excel", "google"):
        clock = Clock()
        with tempfile.TemporaryDirectory() as tmp, \
                OzonEmulator(seed=11, postings=args.postings, fbo=args.fbo, returns=args.returns, client_id="1",
                             api_key="bench", ship_delay=0.0, rate_limit_rps=1000, clock=clock) as ozon, \
                SheetsEmulator(reads_per_minute=quota, writes_per_minute=quota) as sheets:
            sheet = EXCEL if backend == "excel" else GOOGLE.format(
                key=sheets.create_spreadsheet("bench", ["Лист1"]), sheets=sheets.base_url)
            path = Path(tmp) / "ozon-sync.yaml"
            path.write_text(OZON.format(ozon=ozon.base_url) + sheet + REST, encoding="utf-8")
            print(f"{backend}: {args.postings} FBS/rFBS postings, {args.fbo} FBO postings, {args.returns} returns")
            run(open_app(load_config(path), edges=Edges(clock=clock)), clock, ozon)


if __name__ == "__main__":
    main()
