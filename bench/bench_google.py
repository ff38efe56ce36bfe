"""Google Sheets API cost and memory of sync cycles: requests, payload bytes, CPU and peak RSS.

Runs the Ozon emulator and the Sheets emulator each in a process of its own (gspread over real
HTTP), so the peak RSS printed is the sync's alone. The first process fills the sheet (the backfill:
``append_batch`` rows a cycle); a second, fresh process is the daemon restarted on that state and
sheet: its first cycle (cold), two idle cycles, then cycles with 10 and 1,000 staff status edits
(each pushed to Ozon and verified). Prints, per cycle: Sheets requests, bytes sent and received,
wall time, CPU time of the syncing thread, Ozon requests and the process's peak RSS during that cycle.

    python bench/bench_google.py [--rows 10000] [--edits 10 1000]

Targets: at most 3 Sheets requests a cycle at 10,000 rows, whatever the number of edits (a per-row
writer would need one request per edited row and run into Google's 60 writes per minute per user);
an incremental cycle within 250 MB at 100,000 rows; an idle cycle, and the daemon's look between cycles
(every ``schedule.sheet_poll``), one Drive request and no Sheets request at any size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from bench_cycle import emulator_process, peak_rss, reset_peak, spawn  # a sibling script

from sync.a1 import col_letters
from sync.app import App, give_back_memory, open_app
from sync.backends.google import GoogleBackend, quote
from sync.config import load_config
from sync.watch import SheetVersionWatcher

CONFIG = """\
ozon: {{client_id: "1", api_key: "bench", base_url: "{ozon}", rps: 50, lookback_days: 30}}
spreadsheet: {{backend: google, spreadsheet: {key}, credentials: anonymous, api_endpoint: "{sheets}",
              worksheet: Заказы}}
state: state.sqlite
sync: {{verify_wait: 0s, settle_seconds: 0s}}
"""
QUOTA = str(10**6)  # the emulator's per-minute quota is not what is measured here


def measure(label: str, app: App, run: object = None) -> object:
    backend = app.backend
    assert isinstance(backend, GoogleBackend)
    http = backend.http
    req, drive, sent, got = http.requests, http.drive_requests, http.bytes_sent, http.bytes_received
    ozon_before = app.ozon.requests  # type: ignore[attr-defined]
    reset_peak()
    wall, cpu = time.perf_counter(), time.thread_time()
    rep = (run or app.run_cycle)()  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    rss = peak_rss()
    drive = http.drive_requests - drive
    print(f"  {label:<24} sheets requests {http.requests - req - drive:3d}  drive {drive:d}  "
          f"sent {(http.bytes_sent - sent) / 1024:8.1f} KB  "
          f"received {(http.bytes_received - got) / 1024:8.1f} KB  wall {wall:6.2f}s  cpu {cpu:5.2f}s  "
          f"ozon requests {app.ozon.requests - ozon_before:5d}  peak rss {rss:4.0f} MB  "  # type: ignore[attr-defined]
          f"[{rep.summary()}]", flush=True)  # type: ignore[attr-defined]
    return rep


class Told(str):
    def summary(self) -> str:
        return self or "nothing changed"


def fill(folder: Path) -> None:
    """The first process: the backfill, cycle after cycle until every posting has its row."""
    app = open_app(load_config(folder / "ozon-sync.yaml"))
    try:
        app.ensure_sheet()
        cycles = 0

        def backfill() -> object:
            nonlocal cycles
            rep = app.run_cycle()
            cycles, added = 1, rep.rows_added
            while rep.rows_waiting:
                rep = app.run_cycle()
                cycles, added = cycles + 1, added + rep.rows_added
            rep.rows_added = added
            return rep

        measure("first cycles (backfill)", app, backfill)
        print(f"    ({cycles} cycles of at most {app.engine.opt.append_batch} rows)")
    finally:
        app.close()


def restarted(folder: Path, edits: Sequence[int]) -> None:
    """The second process: the daemon restarted on the filled state and sheet."""
    cfg = load_config(folder / "ozon-sync.yaml")
    app = open_app(cfg)
    backend = app.backend
    assert isinstance(backend, GoogleBackend)
    try:
        measure("restarted: first cycle", app)
        measure("incremental, no edits", app)
        measure("incremental, no edits", app)
        look = SheetVersionWatcher(backend.version, backend.known_version, every=0.0)  # as `run` looks between cycles
        measure("idle look (sheet_poll)", app, lambda: Told(look.poll()))
        status_col = col_letters([c.field for c in app.columns.columns].index("status"))
        for n in edits:
            rows = backend.read(["posting_number", "status"]).rows
            packable = [r.row for r in rows if r.get("status") == "Ожидает сборки"][:n]
            del rows
            give_back_memory()  # that read stands for a person's browser, not the daemon: not counted
            data = [{"range": f"{quote('Заказы')}!{status_col}{row}", "values": [["Ожидает отгрузки"]]}
                    for row in packable]
            url = f"{cfg.spreadsheet.api_endpoint}/v4/spreadsheets/{backend.key}/values:batchUpdate"
            httpx.post(url, json={"valueInputOption": "RAW", "data": data}, timeout=600).raise_for_status()
            measure(f"{len(packable)} staff edits", app)
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--edits", type=int, nargs="*", default=[10, 1000])
    parser.add_argument("--fill", type=Path, help=argparse.SUPPRESS)  # internal: the backfill process
    parser.add_argument("--restarted", type=Path, help=argparse.SUPPRESS)  # internal: the restarted daemon
    args = parser.parse_args()
    if args.fill:
        fill(args.fill)
        return
    if args.restarted:
        restarted(args.restarted, args.edits)
        return
    with tempfile.TemporaryDirectory() as tmp, emulator_process(args.rows) as ozon_url, \
            spawn(["sheets-emulator", "--port", "0", "--sheet", "Лист1", "--reads-per-minute", QUOTA,
                   "--writes-per-minute", QUOTA]) as sheets:
        # "... on http://127.0.0.1:PORT; spreadsheet 'Заказы Ozon' has id ID."
        sheets_url, key = sheets.split(" on ", 1)[1].split(";")[0], sheets.rsplit(" ", 1)[1].rstrip(".\n")
        folder = Path(tmp)
        (folder / "ozon-sync.yaml").write_text(
            CONFIG.format(ozon=ozon_url, key=key, sheets=sheets_url), encoding="utf-8")
        print(f"{args.rows} postings, Google Sheets backend (emulator in its own process):", flush=True)
        subprocess.run([sys.executable, __file__, "--fill", str(folder)], check=True)
        subprocess.run([sys.executable, __file__, "--restarted", str(folder), "--edits", *map(str, args.edits)],
                       check=True)


if __name__ == "__main__":
    main()
