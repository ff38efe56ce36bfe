"""The cost of operator views: the same postings in one workbook, or split over the main workbook and two
views (FBS postings to «Склад Софьино», the seller's couriers to another), on Excel.

    python bench/bench_views.py [--postings 2000]

Prints the first cycle (backfill, three workbooks created) and the median of three idle cycles, with and
without views. The Ozon emulator runs in this process (in a thread), without its rate limit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sync.app import open_app
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator

VIEWS = ("views:\n"
         "  - name: Софьино\n    filter: {warehouses: [Склад Софьино]}\n"
         "    spreadsheet: {backend: excel, path: sofyino.xlsx, worksheet: Заказы}\n"
         "  - name: Курьеры\n    filter: {delivery_methods: [Курьер продавца]}\n"
         "    spreadsheet: {backend: excel, path: courier.xlsx, worksheet: Заказы}\n")


def run(postings: int, views: bool) -> None:
    with OzonEmulator(seed=5, postings=postings, client_id="123456", api_key="bench-key", ship_delay=0.0,
                      rate_limit_rps=0) as emu, tempfile.TemporaryDirectory() as folder:
        cfg = Path(folder) / "ozon-sync.yaml"
        cfg.write_text(f'ozon:\n  client_id: "123456"\n  api_key: "bench-key"\n  base_url: "{emu.base_url}"\n'
                       "  rps: 50\nspreadsheet: {backend: excel, path: orders.xlsx, worksheet: Заказы}\n"
                       "state: state.sqlite\n" + (VIEWS if views else ""), encoding="utf-8")
        app = open_app(load_config(cfg))
        try:
            app.ensure_sheet()
            started = time.perf_counter()
            rep = app.run_cycle()
            first = time.perf_counter() - started
            idle = []
            for _ in range(3):
                started = time.perf_counter()
                app.run_cycle()
                idle.append(time.perf_counter() - started)
        finally:
            app.close()
        where = "main + 2 views" if views else "one workbook"
        print(f"{postings} postings, {where}: first cycle {first:.2f} s ({rep.rows_added} rows), "
              f"idle cycle {statistics.median(idle):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=2000)
    args = parser.parse_args()
    run(args.postings, views=False)
    run(args.postings, views=True)


if __name__ == "__main__":
    main()
