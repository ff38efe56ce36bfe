"""Two ozon-sync processes started at once on the same state: the daemon and a `sync`, or two `sync`s.

Each is a real process against the Ozon emulator (in this process, logging every write call) and a real
workbook. Every command that pushes takes the state's lock, so each edit is sent once, whoever runs it;
the one that waits for the lock longer than `lock_wait` says who holds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sync.app import open_app
from sync.config import load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from tests.conftest import API_KEY, CLIENT_ID, write_config

TRACKS = 6


def _setup(tmp_path: Path, emu: OzonEmulator, lock_wait: str) -> tuple[Path, list[str]]:
    numbers = [str(emu.add_posting(scheme="rFBS", integration="non_integrated", status="awaiting_deliver"))
               for _ in range(TRACKS)]
    cfg_path = write_config(tmp_path, emu.base_url, extra="schedule:\n  every: 5s\n")
    text = cfg_path.read_text(encoding="utf-8").replace("  worksheet: Заказы\n",
                                                          f"  worksheet: Заказы\n  lock_wait: {lock_wait}\n")
    cfg_path.write_text(text, encoding="utf-8")
    cfg = load_config(cfg_path)
    app = open_app(cfg)
    try:
        app.ensure_sheet()
        app.engine.run_cycle()
        columns = app.columns
    finally:
        app.close()
    assert cfg.spreadsheet.path is not None
    edit_workbook(cfg.spreadsheet.path, cfg.spreadsheet.worksheet, columns,
                  {n: {"tracking_number": f"TRK{i:04d}"} for i, n in enumerate(numbers)})
    return cfg_path, numbers


def _start(cfg_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sync", "--config", str(cfg_path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def _calls(emu: OzonEmulator, numbers: list[str]) -> dict[str, int]:
    accepted = [e for e in emu.write_log if e["accepted"]]
    return {n: sum(1 for e in accepted if str(e["posting_number"]) == n) for n in numbers}


@pytest.mark.parametrize("first", [("run", "--cycles", "2"), ("sync",)], ids=["run+sync", "sync+sync"])
def test_two_runs_at_once_push_each_edit_once(tmp_path: Path, first: tuple[str, ...]) -> None:
    with OzonEmulator(seed=7, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu:
        cfg_path, numbers = _setup(tmp_path, emu, lock_wait="60s")
        a, b = _start(cfg_path, *first), _start(cfg_path, "sync")
        (rc_a, out_a), (rc_b, out_b) = _finish(a), _finish(b)
        assert (rc_a, rc_b) == (0, 0), out_a + out_b
        assert _calls(emu, numbers) == dict.fromkeys(numbers, 1), out_a + out_b
        assert not [e for e in emu.write_log if e["duplicate"]]
        assert all(emu.posting(n)["tracking_number"] == f"TRK{i:04d}" for i, n in enumerate(numbers))


def test_a_sync_behind_the_daemon_waits_lock_wait_then_names_it(tmp_path: Path) -> None:
    with OzonEmulator(seed=7, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu:
        cfg_path, numbers = _setup(tmp_path, emu, lock_wait="1s")
        daemon = _start(cfg_path, "run")
        try:
            assert daemon.stdout is not None
            for line in daemon.stdout:  # the daemon holds the lock from its start
                if "daemon started" in line:
                    break
            rc, out = _finish(_start(cfg_path, "sync"))
        finally:
            daemon.terminate()
            _finish(daemon)
        assert rc == 1
        assert f"is in use by `ozon-sync run` (pid {daemon.pid}, since " in out
        assert "after waiting 1 s: the daemon pushes and writes every edit itself" in out
        assert _calls(emu, numbers) == dict.fromkeys(numbers, 1)
