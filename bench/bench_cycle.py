"""One sync cycle over 1,000 and 10,000 postings: the Ozon emulator over real HTTP, a real .xlsx.

Prints, per size: the first cycles (backfill), incremental cycles with no edits, and cycles with 10
staff edits — wall time, CPU time of the syncing thread, peak RSS of the process during that cycle
(its high-water mark is reset before each), Ozon requests, and the workbook save time. On a workbook
the edit cycle runs three times, each against openpyxl's own load + save of the same file, and the
median ratio is printed; on the memory sheet a daemon restarted on the state follows, in a process
of its own.

    python bench/bench_cycle.py [--sizes 1000 10000] [--rps 50] [--backend excel|memory]

Each size runs in a fresh process, so its peak RSS is its own; the emulator runs in another process
(`ozon-sync emulator`), so the figures are the sync's alone. CPU time is time.thread_time of the syncing
thread. "+ 5-minute full scan" is the incremental cycle that also re-reads every open posting, as the
daemon does every ``ozon.full_every``. (tracemalloc is not used: it slows openpyxl down about
fourfold and would distort the times.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import openpyxl

from sync.app import App, give_back_memory, open_app
from sync.backends.excel import ExcelBackend
from sync.backends.memory import MemoryBackend
from sync.config import load_config
from sync.engine.cycle import CycleReport
from sync.model import CellWrite

CONFIG = """\
ozon: {{client_id: "1", api_key: "bench", base_url: "{url}", rps: {rps}, lookback_days: 30}}
spreadsheet: {{backend: excel, path: orders.xlsx, worksheet: Заказы}}
state: state.sqlite
sync: {{verify_wait: 0s, settle_seconds: 0s}}
"""


class TimedExcel(ExcelBackend):
    """The real backend, timing each save."""

    save_times: list[float] = []

    def write(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        t = time.perf_counter()
        super().write(writes, appends)
        self.save_times.append(time.perf_counter() - t)


def openpyxl_round_trip(path: Path) -> float:
    """What any openpyxl-based tool pays to change a workbook: load it and save it (wall seconds)."""
    t = time.perf_counter()
    wb = openpyxl.load_workbook(path)
    wb.save(path.with_name("round-trip.xlsx"))
    return time.perf_counter() - t


def reset_peak() -> None:
    """Start a new peak RSS measurement (Linux: writing 5 to clear_refs resets the high-water mark)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss() -> float:
    """The process's peak resident size since reset_peak(), in MB."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024


def measure(label: str, run: object, app: object) -> float:
    ozon = app.ozon  # type: ignore[attr-defined]
    TimedExcel.save_times = []
    before = ozon.requests
    reset_peak()
    wall, cpu = time.perf_counter(), time.thread_time()
    rep = run()  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    rss = peak_rss()
    save = f"{sum(TimedExcel.save_times):.2f}s" if TimedExcel.save_times else "none"
    print(f"  {label:<24} wall {wall:6.2f}s  cpu {cpu:6.2f}s  peak rss {rss:5.0f} MB  "
          f"ozon requests {ozon.requests - before:4d}  save {save:>6}  [{rep.summary()}]", flush=True)
    return wall


@contextmanager
def spawn(cmd: Sequence[str]) -> Iterator[str]:
    """``python -m sync CMD...`` in a process of its own; yields the first line it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "sync", *cmd], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@contextmanager
def emulator_process(size: int) -> Iterator[str]:
    """The Ozon emulator in a process of its own, so the figures (peak RSS above all) are the sync's alone."""
    cmd = ["emulator", "--port", "0", "--seed", "11", "--postings", str(size), "--client-id", "1",
           "--api-key", "bench", "--ship-delay", "0", "--rps", "1000"]
    with spawn(cmd) as first:  # "Ozon Seller API emulator on http://127.0.0.1:PORT with ..."
        yield first.split(" on ", 1)[1].split()[0]


class Backfill:
    def __init__(self, reports: list[CycleReport]):
        self.reports = reports

    def summary(self) -> str:
        return (f"{len(self.reports)} cycles of at most {self.reports[0].rows_added} rows; "
                f"{sum(r.rows_added for r in self.reports)} rows added")


def backfill(app: App) -> Backfill:
    """The first cycle, and the next ones while rows wait to be added (append_batch a cycle)."""
    reports = [app.run_cycle()]
    while reports[-1].rows_waiting:
        reports.append(app.run_cycle())
    return Backfill(reports)


def bench(size: int, rps: float, backend: str) -> None:
    print(f"{size} postings, {backend} sheet:")
    with tempfile.TemporaryDirectory() as tmp, emulator_process(size) as url:
        folder = Path(tmp)
        (folder / "ozon-sync.yaml").write_text(CONFIG.format(url=url, rps=rps), encoding="utf-8")
        cfg = load_config(folder / "ozon-sync.yaml")
        app = open_app(cfg)
        if backend == "memory":  # the engine alone: a sheet in memory, no file to read or save
            app.backend = MemoryBackend(app.columns)
        else:
            app.backend = TimedExcel(cfg.spreadsheet.path, cfg.spreadsheet.worksheet, app.columns)  # type: ignore[arg-type]
        app.engine.backend = app.backend
        app.ensure_sheet()
        try:
            measure("first cycles (backfill)", lambda: backfill(app), app)
            measure("incremental, no edits", app.run_cycle, app)
            measure("incremental, no edits", app.run_cycle, app)
            app.state.set_meta(f"last_full:{cfg.ozon.account}", "2000-01-01T00:00:00+00:00")
            measure("+ 5-minute full scan", app.run_cycle, app)
            if not isinstance(app.backend, MemoryBackend):  # a few seconds vary by some percent: three rounds
                ratios = []
                for _ in range(3):
                    edited = edit_cycle(app)
                    baseline = openpyxl_round_trip(cfg.spreadsheet.path)  # type: ignore[arg-type]
                    ratios.append(edited / baseline)
                    print(f"  openpyxl's own load + save of the same workbook: {baseline:.2f}s; "
                          f"the cycle with edits took {ratios[-1]:.2f}x that", flush=True)
                print(f"  cycle with edits / openpyxl load + save: median {statistics.median(ratios):.2f}x "
                      f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)", flush=True)
            else:  # then a daemon restarted on this state and sheet, in a fresh process: its own peak RSS
                edit_cycle(app)
                with (folder / "sheet.jsonl").open("w", encoding="utf-8") as f:  # a row a line
                    sheet = [app.backend.header, *app.backend.grid]
                    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in sheet)
                app.close()
                subprocess.run([sys.executable, __file__, "--restarted", str(folder)], check=True)
        finally:
            app.close()


def edit_cycle(app: App) -> float:
    """A person sets 10 rows waiting for packaging to «packed»; the cycle that pushes it (wall seconds)."""
    cfg = app.config
    rows = app.backend.read(["posting_number", "status"]).rows
    packable = [r.get("posting_number") for r in rows if r.get("status") == "Ожидает сборки"][:10]
    del rows
    give_back_memory()  # that read stands for the person editing, not the daemon: not counted
    if isinstance(app.backend, MemoryBackend):
        for n in packable:
            app.backend.set_cell(app.backend.find(n)[0], "status", "Ожидает отгрузки")
    else:
        # Imported here: the demo brings both emulators and the Google stack, which a daemon on a workbook
        # does not load, and the restarted daemon's memory is measured in a process importing this module.
        from sync.demo import edit_workbook

        edits = {n: {"status": "Ожидает отгрузки"} for n in packable}
        edit_workbook(cfg.spreadsheet.path, cfg.spreadsheet.worksheet, app.columns, edits)  # type: ignore[arg-type]
    return measure(f"incremental, {len(packable)} edits", app.run_cycle, app)


def restarted(folder: Path) -> None:
    """`ozon-sync run` started again on a filled state: its first cycle loads the state, then it idles."""
    cfg = load_config(folder / "ozon-sync.yaml")
    app = open_app(cfg)
    without = rss_now()
    with (folder / "sheet.jsonl").open(encoding="utf-8") as f:
        sheet = MemoryBackend(app.columns, json.loads(next(f)))
        sheet.load(json.loads(line) for line in f)
    app.backend = app.engine.backend = sheet
    try:
        print(f"  the daemon restarted on that state, in a fresh process (RSS {without:.0f} MB before the "
              f"sheet is loaded, {rss_now():.0f} MB with it; the sheet in memory stands for one that lives "
              f"elsewhere):")
        measure("first cycle (cold)", app.run_cycle, app)
        measure("incremental, no edits", app.run_cycle, app)
        measure("incremental, no edits", app.run_cycle, app)
    finally:
        app.close()


def rss_now() -> float:
    """The process's resident size now, in MB."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rps", type=float, default=50.0, help="our Ozon request budget (Ozon allows 50)")
    parser.add_argument("--backend", choices=["excel", "memory"], default="excel",
                        help="excel: a real .xlsx; memory: the engine alone, with a sheet in memory")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size in this process
    parser.add_argument("--restarted", type=Path, help=argparse.SUPPRESS)  # internal: the restarted daemon
    args = parser.parse_args()
    if args.restarted:
        restarted(args.restarted)
        return
    if args.one:
        bench(args.one, args.rps, args.backend)
        return
    for size in args.sizes:
        one = [sys.executable, __file__, "--one", str(size), "--rps", str(args.rps), "--backend", args.backend]
        subprocess.run(one, check=True)


if __name__ == "__main__":
    main()
