"""Ozon → sheet by push: from Ozon's push notification to the posting's row in the workbook.

The daemon (the real `Daemon` loop at `schedule.every`, 30 s) syncs an Excel workbook with the Ozon emulator,
`ozon.push` listening on 127.0.0.1. New postings arrive at random moments; Ozon (the emulator) pushes
TYPE_NEW_POSTING for each. Latency is from the push being sent to the row being in the saved workbook
(a person's look: the file read with openpyxl every 0.1 s). Also printed: how long the receiver took to
answer Ozon (Ozon waits 5 s), and the same arrivals without push (polling alone) for comparison.

    python bench/bench_push.py [--postings 12] [--every 30] [--no-push]

Targets: a new posting in the sheet ≤ 5 s after the push; every answer to Ozon well within 5 s.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import openpyxl

from sync.app import open_app
from sync.config import load_config
from sync.daemon import Daemon
from sync.emulators.ozon import OzonEmulator

CONFIG = """\
ozon:
  client_id: "1"
  api_key: bench
  base_url: "{url}"
{push}spreadsheet: {{backend: excel, path: orders.xlsx, worksheet: Заказы}}
state: state.sqlite
schedule: {{every: {every}s}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def in_workbook(path: Path) -> set[str]:
    try:
        ws = openpyxl.load_workbook(path, read_only=True)["Заказы"]
        return {str(r[0]) for r in ws.iter_rows(min_row=2, max_col=1, values_only=True) if r[0]}
    except Exception:  # being saved this moment
        return set()


def pct(values: list[float], q: float) -> float:
    return sorted(values)[max(0, round(q * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postings", type=int, default=12)
    parser.add_argument("--every", type=int, default=30)
    parser.add_argument("--no-push", action="store_true", help="polling alone, for comparison")
    args = parser.parse_args()
    rng = random.Random(2)
    listen = f"127.0.0.1:{free_port()}"
    push = "" if args.no_push else f"  push: {{listen: \"{listen}\", path: /ozon}}\n"
    with tempfile.TemporaryDirectory() as tmp, OzonEmulator(seed=3, postings=200, client_id="1",
                                                            api_key="bench") as emu:
        folder = Path(tmp)
        (folder / "ozon-sync.yaml").write_text(CONFIG.format(url=emu.base_url, push=push, every=args.every),
                                               encoding="utf-8")
        cfg = load_config(folder / "ozon-sync.yaml")
        app = open_app(cfg)
        app.ensure_sheet()
        app.run_cycle()
        app.listen_for_pushes()
        if not args.no_push:
            emu.set_push_url(f"http://{listen}/ozon")
        daemon = Daemon(app.run_cycle, every=args.every, lock_path=folder / "state.lock", install_signals=False,
                        wakers=app.wakers, on_wake=app.wake)
        assert cfg.spreadsheet.path is not None
        book = cfg.spreadsheet.path
        took: list[float] = []

        def ozon_side() -> None:
            try:
                for _ in range(args.postings):
                    time.sleep(rng.uniform(0, args.every))
                    number = emu.add_posting()
                    sent = time.monotonic()
                    while number not in in_workbook(book) and time.monotonic() - sent < 2 * args.every + 10:
                        time.sleep(0.1)
                    took.append(time.monotonic() - sent)
            finally:
                daemon.stop()

        threading.Thread(target=ozon_side, daemon=True).start()
        try:
            daemon.run()
        finally:
            app.close()
        answers = [s["seconds"] for s in emu.pusher.sent]
        how = "polling alone" if args.no_push else "push"
        print(f"{how}, interval {args.every}s, {len(took)} new postings: "
              f"in the sheet p50 {statistics.median(took):.1f}s, p95 {pct(took, 0.95):.1f}s, max {max(took):.1f}s "
              f"(target p95 <= 5s with push)")
        if answers:
            bad = sum(1 for s in emu.pusher.sent if s.get("status") != 200)
            print(f"answers to Ozon: {len(answers)}, p95 {pct(answers, 0.95) * 1000:.0f} ms, "
                  f"max {max(answers) * 1000:.0f} ms, {bad} not 200 (Ozon waits 5 s)")


if __name__ == "__main__":
    main()
