"""A burst of edits: one save marks N postings «Ожидает отгрузки» against an Ozon whose ship is asynchronous
(~1.5 s until a ship is done, as Ozon's), and the daemon's cycles push them.

Prints, from the save: when the last ship call was accepted (all sent), when the last edit was verified and
answered in its row (all verified), each cycle's length, and how many requests Ozon answered 429.

    python bench/bench_burst.py [--edits 100] [--rps 20] [--every 30]
    python bench/bench_burst.py --edits 1000 --rps 50

Targets: 100 edits — all sent ≤ 15 s, all verified ≤ 30 s; 1,000 edits at the 50-per-second budget — no
429 storm (the client's rate limiter keeps under Ozon's limit); no cycle longer than the interval.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sync.app import open_app
from sync.config import load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator

CONFIG = """\
ozon: {{client_id: "1", api_key: "bench", base_url: "{url}", rps: {rps}}}
spreadsheet: {{backend: excel, path: orders.xlsx, worksheet: Заказы}}
state: state.sqlite
schedule: {{every: {every}s}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--rps", type=float, default=20.0, help="ozon.rps: our request budget (default 20)")
    parser.add_argument("--every", type=int, default=30, help="schedule.every in seconds (default 30)")
    parser.add_argument("--ship-delay", type=float, default=1.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, OzonEmulator(seed=3, postings=0, client_id="1", api_key="bench",
                                                            ship_delay=args.ship_delay) as emu:
        folder = Path(tmp)
        for _ in range(args.edits):
            emu.add_posting()
        (folder / "ozon-sync.yaml").write_text(CONFIG.format(url=emu.base_url, rps=args.rps, every=args.every),
                                               encoding="utf-8")
        cfg = load_config(folder / "ozon-sync.yaml")
        app = open_app(cfg)
        try:
            app.ensure_sheet()
            app.run_cycle()
            assert cfg.spreadsheet.path is not None
            numbers = emu.numbers(status="awaiting_packaging")
            assert len(numbers) == args.edits
            edit_workbook(cfg.spreadsheet.path, cfg.spreadsheet.worksheet, app.columns,
                          {n: {"status": "Ожидает отгрузки"} for n in numbers})
            saved = datetime.now(UTC)
            emu.rate_limited = 0
            cycles: list[float] = []
            while True:  # the daemon's cycles; the answers are in the rows when the cycle that verified them ends
                started = time.monotonic()
                app.run_cycle()
                cycles.append(time.monotonic() - started)
                if not app.state.open_entries():
                    answered = datetime.now(UTC)
                    break
                time.sleep(max(0.0, args.every - cycles[-1]))
            ships = [datetime.fromisoformat(e["time"]) for e in emu.write_log
                     if e["path"] == "/v4/posting/fbs/ship" and e["accepted"]]
            verified = [e.updated_at for e in app.state.entries(limit=args.edits * 2) if e.state == "verified"]
            late = max(verified)
            dups = sum(1 for e in emu.write_log if e.get("duplicate"))
            print(f"{args.edits} ship edits in one save, ozon.rps {args.rps:g}, ship {args.ship_delay:g} s, "
                  f"every {args.every} s")
            print(f"  all sent:     {(max(ships) - saved).total_seconds():6.1f} s after the save ({len(ships)} ships, "
                  f"{dups} duplicates)")
            print(f"  all verified: {(late - saved).total_seconds():6.1f} s after the save ({len(verified)} verified)")
            print(f"  all answered: {(answered - saved).total_seconds():6.1f} s after the save (the notes in the rows)")
            print(f"  cycles:       {len(cycles)}, longest {max(cycles):.1f} s (interval {args.every} s)")
            print(f"  429 answers:  {emu.rate_limited}")
        finally:
            app.close()


if __name__ == "__main__":
    main()
