"""Google Sheets API cost of one sync cycle over 10,000 rows: requests and payload bytes.

Runs the Ozon emulator and the Sheets emulator (gspread over real HTTP), fills the sheet with the
first cycle, then measures a cycle with 0, 10 and 1,000 staff status edits (each pushed to Ozon and
verified). Prints, per cycle: Sheets requests, bytes sent and received, wall time, CPU time of the
syncing thread (the emulators run in other threads), and the Ozon requests the edits cost.

    python bench/bench_google.py [--rows 10000] [--edits 0 10 1000]

Target: at most 3 Sheets requests a cycle, whatever the number of edits (a per-row writer would
need one request per edited row and run into Google's 60 writes per minute per user).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sync.a1 import col_letters
from sync.app import open_app
from sync.backends.google import GoogleBackend, quote
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator

CONFIG = """\
ozon: {{client_id: "1", api_key: "bench", base_url: "{ozon}", rps: 50, lookback_days: 30}}
spreadsheet: {{backend: google, spreadsheet: {key}, credentials: anonymous, api_endpoint: "{sheets}",
              worksheet: Заказы}}
state: state.sqlite
sync: {{verify_wait: 0s, settle_seconds: 0s}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--edits", type=int, nargs="+", default=[0, 10, 1000])
    args = parser.parse_args()
    quota = 10**6  # the emulator's per-minute quota is not what is measured here
    with tempfile.TemporaryDirectory() as tmp, \
            OzonEmulator(seed=11, postings=args.rows, client_id="1", api_key="bench", ship_delay=0.0,
                         rate_limit_rps=1000) as ozon, \
            SheetsEmulator(reads_per_minute=quota, writes_per_minute=quota) as sheets:
        key = sheets.create_spreadsheet("bench", ["Лист1"])
        cfg_path = Path(tmp) / "ozon-sync.yaml"
        cfg_path.write_text(CONFIG.format(ozon=ozon.base_url, key=key, sheets=sheets.base_url), encoding="utf-8")
        app = open_app(load_config(cfg_path))
        backend = app.backend
        assert isinstance(backend, GoogleBackend)
        try:
            app.ensure_sheet()
            print(f"{args.rows} postings, Google Sheets backend (emulator):")
            measure("first cycle (backfill)", app, backend)
            measure("incremental, no edits", app, backend)
            measure("incremental, no edits", app, backend)
            status_col = col_letters([c.field for c in app.columns.columns].index("status"))
            for edits in args.edits:
                if not edits:
                    continue
                packable = ozon.numbers(status="awaiting_packaging")[:edits]
                rows = {str(r.get("posting_number")): r.row for r in backend.read([app.columns.key.field]).rows}
                for number in packable:
                    sheets.set_values(key, f"{quote('Заказы')}!{status_col}{rows[number]}", [["Ожидает отгрузки"]])
                measure(f"{len(packable)} staff edits", app, backend)
        finally:
            app.close()


def measure(label: str, app: object, backend: GoogleBackend) -> None:
    http = backend.http
    req, sent, got = http.requests, http.bytes_sent, http.bytes_received
    ozon_before = app.ozon.requests  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter(), time.thread_time()
    rep = app.engine.run_cycle()  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    print(f"  {label:<24} sheets requests {http.requests - req:2d}  sent {(http.bytes_sent - sent) / 1024:8.1f} KB  "
          f"received {(http.bytes_received - got) / 1024:8.1f} KB  wall {wall:6.2f}s  cpu {cpu:5.2f}s  "
          f"ozon requests {app.ozon.requests - ozon_before:5d}  [{rep.summary()}]", flush=True)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
