"""The real daemon, killed with SIGKILL at random moments, over and over, while a person keeps editing.

`ozon-sync run` runs as a separate process against the Ozon emulator (in this process, logging every
write call) and a real workbook. Between kills a person types valid status changes with openpyxl.
At the end a few clean passes settle what was in flight; then every edit must have reached Ozon
(none lost) and the write log must hold no duplicate (no edit pushed twice).

    python -m pytest -m slow tests/test_crash_daemon.py -s      # ~5 minutes; prints the counts

CRASH_RUNS (default 200) sets how many times the daemon is started and killed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.app import open_app
from sync.config import Config, load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import Json, OzonEmulator
from sync.mapping import ColumnMap
from tests.conftest import API_KEY, CLIENT_ID, write_config

RUNS = int(os.environ.get("CRASH_RUNS", "200"))
TARGETS = {"awaiting_packaging": ("Ожидает отгрузки", "awaiting_deliver"),
           "awaiting_deliver": ("Доставляется", "delivering")}


def run_and_kill(cfg_path: Path, after: float) -> None:
    """Start the real daemon and SIGKILL it ``after`` seconds later, wherever it is."""
    daemon = subprocess.Popen([sys.executable, "-m", "sync", "--config", str(cfg_path), "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(10)


def first_sync(cfg: Config) -> tuple[Path, ColumnMap]:
    """Lay the workbook out and fill it once; its path and columns."""
    app = open_app(cfg)
    try:
        app.ensure_sheet()
        app.engine.run_cycle()
    finally:
        app.close()
    assert cfg.spreadsheet.path is not None
    return cfg.spreadsheet.path, app.columns


def settle(cfg: Config, emu: OzonEmulator, intents: dict[str, str]) -> tuple[list[str], list[Json], list[Json]]:
    """A clean run settles what the kills left in flight; then (lost edits, accepted calls, duplicates)."""
    app = open_app(cfg)
    try:
        for _ in range(10):
            app.engine.run_cycle()
            if not app.state.open_entries():
                break
            time.sleep(1.2)
        assert not app.state.open_entries()
    finally:
        app.close()
    lost = [n for n, target in intents.items() if emu.posting(n)["status"] != target]
    return lost, [e for e in emu.write_log if e["accepted"]], [e for e in emu.write_log if e["duplicate"]]


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_edit_and_pushes_none_twice(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    with OzonEmulator(seed=5, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.3,
                      write_log_path=tmp_path / "writes.jsonl") as emu:
        numbers = [emu.add_posting() for _ in range(40)]
        numbers += [emu.add_posting(scheme="rFBS", status="awaiting_deliver") for _ in range(40)]
        cfg_path = write_config(tmp_path, emu.base_url, extra="schedule:\n  every: 5s\n")
        cfg_path.write_text(cfg_path.read_text(encoding="utf-8").replace(
            "settle_seconds: 0s", "settle_seconds: 1s"), encoding="utf-8")
        cfg = load_config(cfg_path)
        book, columns = first_sync(cfg)

        intents: dict[str, str] = {}  # posting -> the Ozon status the person asked for
        todo = list(numbers)
        rng.shuffle(todo)
        kills = 0
        for _ in range(RUNS):
            if todo and rng.random() < 0.5:
                number = todo.pop()
                label, target = TARGETS[emu.posting(number)["status"]]
                edit_workbook(book, cfg.spreadsheet.worksheet, columns, {number: {"status": label}})
                intents[number] = target
            run_and_kill(cfg_path, rng.uniform(0.2, 1.6))
            kills += 1

        by_daemon = sum(1 for e in emu.write_log if e["accepted"])  # pushes the killed daemons made
        lost, accepted, duplicates = settle(cfg, emu, intents)
        pushed_twice = {e["posting_number"] for e in accepted
                        if sum(1 for x in accepted if x["posting_number"] == e["posting_number"]) > 1}
        print(f"\n{kills} kills, {len(intents)} edits, {len(accepted)} accepted calls ({by_daemon} by killed daemons), "
              f"{len(lost)} lost, {len(duplicates)} duplicates, {len(pushed_twice)} postings pushed twice")
        assert kills == RUNS and by_daemon > len(intents) // 2  # the daemons did the work, between kills
        assert lost == [] and duplicates == [] and not pushed_twice


LOCK = ".~lock.orders.xlsx#"


@pytest.mark.slow
def test_sigkill_while_the_workbook_is_held_open_and_rows_are_edited_twice(tmp_path: Path) -> None:
    """The same, with the workbook held open in LibreOffice for stretches (writes deferred, edits still
    read and pushed) and each row edited twice in a row: packed, then cancelled once Ozon shows it packed.
    The second edit's base is our own verified push, so it must be sent, once."""
    rng = random.Random(20261202)
    runs = max(RUNS // 3, 20)
    with OzonEmulator(seed=6, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.3,
                      write_log_path=tmp_path / "writes.jsonl") as emu:
        numbers = [emu.add_posting() for _ in range(24)]
        cfg_path = write_config(tmp_path, emu.base_url, extra="schedule:\n  every: 5s\n")
        cfg_path.write_text(cfg_path.read_text(encoding="utf-8").replace("settle_seconds: 0s", "settle_seconds: 1s")
                            .replace("  worksheet: Заказы\n", "  worksheet: Заказы\n  lock_wait: 0s\n"),
                            encoding="utf-8")
        cfg = load_config(cfg_path)
        (book, columns), lock = first_sync(cfg), tmp_path / LOCK

        intents: dict[str, str] = {}
        kills = held = 0
        for _ in range(runs):
            if rng.random() < 0.5:
                lock.write_text("Анна,anna,PC,02.12.2026 09:00,file:///;\n", encoding="utf-8")
                held += 1
            elif lock.exists():
                lock.unlink()
            ready = [n for n in numbers if n not in intents
                     or (intents[n] == "awaiting_deliver" and emu.posting(n)["status"] == "awaiting_deliver")]
            if ready and rng.random() < 0.6:
                number = rng.choice(ready)
                if number not in intents:
                    edit_workbook(book, cfg.spreadsheet.worksheet, columns, {number: {"status": "Ожидает отгрузки"}})
                    intents[number] = "awaiting_deliver"
                else:
                    edit_workbook(book, cfg.spreadsheet.worksheet, columns,
                                  {number: {"status": "Отменено", "cancel_reason": "352"}})
                    intents[number] = "cancelled"
            run_and_kill(cfg_path, rng.uniform(0.3, 1.8))
            kills += 1
        if lock.exists():
            lock.unlink()
        lost, accepted, duplicates = settle(cfg, emu, intents)
        calls = [(e["posting_number"], e["path"]) for e in accepted]
        twice = {c for c in calls if calls.count(c) > 1}
        cancels = sum(1 for t in intents.values() if t == "cancelled")
        print(f"\n{kills} kills ({held} with the workbook open), {len(intents)} rows edited, {cancels} of them twice, "
              f"{len(accepted)} accepted calls, {len(lost)} lost, {len(duplicates)} duplicates, "
              f"{len(twice)} calls made twice")
        assert kills == runs and cancels > 0
        assert lost == [] and duplicates == [] and not twice
