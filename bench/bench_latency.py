"""Staff-edit-to-Ozon latency with the daemon running at its interval.

The daemon (the real `Daemon` loop at its real interval, `schedule.every`) syncs an Excel workbook, or a
Google sheet (the Sheets emulator over HTTP), with the Ozon emulator (a ship takes 1 s to be done). A person
saves a status change at random moments; latency is the time from the save to Ozon accepting the call (the
emulator's write log). Prints p50, p95 and the maximum.

    python bench/bench_latency.py [--backend excel|google] [--every 30] [--sheet-poll 5] [--edits 20]

The sheet is watched as `ozon-sync run` watches it: a workbook's save wakes the daemon at once; a Google
sheet's Drive version is asked every `schedule.sheet_poll` seconds.

Targets: p95 ≤ 5 s on Excel, ≤ 10 s on Google (before the watching: p95 29.6 s, set by the 30 s interval).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from sync.a1 import col_letters
from sync.app import App, open_app
from sync.config import load_config
from sync.daemon import Daemon
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator

CONFIG = """\
ozon: {{client_id: "1", api_key: "bench", base_url: "{url}"}}
spreadsheet: {spreadsheet}
state: state.sqlite
schedule: {{every: {every}s, sheet_poll: {poll}s}}
"""
EXCEL = "{backend: excel, path: orders.xlsx, worksheet: Заказы}"
GOOGLE = "{{backend: google, spreadsheet: {key}, credentials: anonymous, api_endpoint: \"{url}\", worksheet: Заказы}}"
TARGET = {"excel": 5.0, "google": 10.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["excel", "google"], default="excel")
    parser.add_argument("--every", type=int, default=30, help="the daemon's interval in seconds (default 30)")
    parser.add_argument("--sheet-poll", type=float, default=5.0, help="schedule.sheet_poll (Google; default 5)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--postings", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp, OzonEmulator(seed=3, postings=args.postings, client_id="1",
                                                            api_key="bench", ship_delay=1.0) as emu, \
            SheetsEmulator(reads_per_minute=10**6, writes_per_minute=10**6) as sheets:
        folder = Path(tmp)
        key = sheets.create_spreadsheet("Заказы Ozon", ["Заказы"])
        spreadsheet = EXCEL if args.backend == "excel" else GOOGLE.format(key=key, url=sheets.base_url)
        text = CONFIG.format(url=emu.base_url, spreadsheet=spreadsheet, every=args.every, poll=args.sheet_poll)
        (folder / "ozon-sync.yaml").write_text(text, encoding="utf-8")
        cfg = load_config(folder / "ozon-sync.yaml")
        app = open_app(cfg)
        app.ensure_sheet()
        app.run_cycle()
        # As `ozon-sync run` does: the workbook watched, a save pushed at once (app.wakers, app.wake).
        daemon = Daemon(app.run_cycle, every=args.every, lock_path=folder / "state.lock", install_signals=False,
                        wakers=app.wakers, on_wake=app.wake)
        saved: dict[str, float] = {}
        todo = emu.numbers(status="awaiting_packaging")
        rng.shuffle(todo)

        def person() -> None:
            """Saves an edit at a random moment of each interval, then stops the daemon once all landed."""
            try:
                for number in todo[: args.edits]:
                    time.sleep(rng.uniform(0, args.every))
                    if args.backend == "excel":
                        save_workbook(app, number)
                    else:
                        type_in_browser(sheets, key, app, number)
                    saved[number] = time.time()
                deadline = time.time() + 2 * args.every + 10
                while time.time() < deadline and len(accepted(emu, saved)) < len(saved):
                    time.sleep(0.5)
            finally:
                daemon.stop()

        threading.Thread(target=person, daemon=True).start()
        try:
            daemon.run()  # the daemon owns this thread, as `ozon-sync run` does
        finally:
            app.close()
        got = accepted(emu, saved)
        latencies = sorted(got[n] - saved[n] for n in got)
        missing = len(saved) - len(got)
        p50 = statistics.median(latencies)
        p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
        print(f"interval {args.every}s, {len(saved)} edits: latency p50 {p50:.1f}s, p95 {p95:.1f}s, "
              f"max {latencies[-1]:.1f}s; {missing} not pushed (target p95 <= {TARGET[args.backend]:g}s)")


def save_workbook(app: App, number: str) -> None:
    """A person's save of the status; the daemon may be saving the workbook this very moment: save again."""
    cfg = app.config.spreadsheet
    assert cfg.path is not None
    while True:
        try:
            edit_workbook(cfg.path, cfg.worksheet, app.columns, {number: {"status": "Ожидает отгрузки"}})
            return
        except Exception:
            time.sleep(0.2)


def type_in_browser(sheets: SheetsEmulator, key: str, app: App, number: str) -> None:
    """A person types the status into the Google sheet (the emulator's own edit, as a browser's)."""
    grid = sheets.grid(key, "Заказы")
    header = [str(v) for v in grid[0]]
    status = app.columns.get("status")
    assert status is not None
    row = next(i for i, r in enumerate(grid, start=1) if r and str(r[0]) == number)
    sheets.set_values(key, f"'Заказы'!{col_letters(header.index(status.header))}{row}", [["Ожидает отгрузки"]])


def accepted(emu: OzonEmulator, saved: dict[str, float]) -> dict[str, float]:
    """posting -> when Ozon accepted its call (epoch seconds)."""
    out: dict[str, float] = {}
    for e in emu.write_log:
        if e["accepted"] and e["posting_number"] in saved and e["posting_number"] not in out:
            out[e["posting_number"]] = datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
    return out


if __name__ == "__main__":
    main()
