"""The command line as a person runs it: real config files, the Ozon emulator, a real workbook.

Commands run in-process through ``sync.cli.main`` (exit codes and printed words are the contract);
one test starts ``python -m sync`` as a separate process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from sync.cli import build_parser, main
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.mapping import PRIVATE_FIELDS, load_columns
from tests.conftest import write_config

COLUMNS = load_columns().without(PRIVATE_FIELDS)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def cfg(tmp_path: Path, emulator: OzonEmulator) -> Path:
    return write_config(tmp_path, emulator.base_url)


@pytest.mark.parametrize("argv", [["check"], ["init"], ["pull"], ["push"], ["sync"], ["run"], ["status"],
                                  ["export", "-r", "orders", "-o", "r.xlsx"], ["demo"], ["emulator"],
                                  ["sheets-emulator"]])
def test_every_command_names_its_handler(argv: list[str]) -> None:
    assert callable(build_parser().parse_args(argv).handler)


def test_check_reports_the_key_expiry_and_a_missing_workbook(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--config", str(cfg), "check")
    assert code == 0
    assert "Config: OK" in out and "the Api-Key works; it expires" in out and "not created yet" in out


def test_check_with_a_wrong_key_says_so_in_words(tmp_path: Path, emulator: OzonEmulator,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, emulator.base_url)
    path.write_text(path.read_text(encoding="utf-8").replace("test-key-0000", "wrong-key"), encoding="utf-8")
    code, out = run(capsys, "--config", str(path), "check")
    assert code == 1 and "Ozon rejected the Api-Key: check ozon.api_key" in out
    assert "wrong-key" not in out  # the key itself is never printed


def test_a_wrong_config_key_is_named_and_exits_2(tmp_path: Path, emulator: OzonEmulator,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, emulator.base_url, extra="shedule:\n  every: 30s\n")
    code, out = run(capsys, "--config", str(path), "pull")
    assert code == 2 and "shedule" in out and "schedule" in out


def test_pull_creates_the_workbook_and_sync_pushes_edits(cfg: Path, emulator: OzonEmulator,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    packable = emulator.add_posting()
    refused = emulator.add_posting()
    code, out = run(capsys, "--config", str(cfg), "pull")
    book = cfg.parent / "orders.xlsx"
    assert code == 0 and book.exists() and "pulled 2 postings" in out
    edit_workbook(book, "Заказы", COLUMNS, {packable: {"status": "Ожидает отгрузки"},
                                           refused: {"status": "Доставлено"}})
    code, out = run(capsys, "--config", str(cfg), "push", "--dry-run")
    assert code == 0 and f"ship {packable}" in out and not emulator.write_log
    code, out = run(capsys, "--config", str(cfg), "sync")
    assert code == 0  # a refused row is not a failure: its note says why
    assert [e["posting_number"] for e in emulator.write_log if e["accepted"]] == [packable]
    code, out = run(capsys, "--config", str(cfg), "status")
    assert code == 0 and "Last cycles:" in out and "Pending pushes: 0" in out and "ship:verified" in out


def test_one_shot_commands_wait_for_a_lock_then_exit_0_naming_who_holds_it(
        tmp_path: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, emulator.base_url)
    path.write_text(path.read_text(encoding="utf-8").replace("  worksheet: Заказы\n",
                                                             "  worksheet: Заказы\n  lock_wait: 1s\n"),
                    encoding="utf-8")
    number = emulator.add_posting()
    assert run(capsys, "--config", str(path), "pull")[0] == 0
    book = tmp_path / "orders.xlsx"
    edit_workbook(book, "Заказы", COLUMNS, {number: {"status": "Ожидает отгрузки"}})
    (tmp_path / ".~lock.orders.xlsx#").write_text("Мария Иванова,maria,PC-7,29.11.2026 10:15,file:///;\n",
                                                  encoding="utf-8")
    before = book.read_bytes()
    code, out = run(capsys, "--config", str(path), "sync")
    assert code == 0 and "Мария Иванова" in out and "not written" in out
    assert book.read_bytes() == before
    assert [e["accepted"] for e in emulator.write_log] == [True]  # the saved edit was still pushed


def test_init_lays_out_the_sheet(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--config", str(cfg), "init")
    assert code == 0 and "laid out" in out
    ws = openpyxl.load_workbook(cfg.parent / "orders.xlsx")["Заказы"]
    assert [c.value for c in ws[1]][:3] == ["Отправление", "Заказ", "Схема"] and ws.freeze_panes == "A2"


def test_run_does_cycles_and_stops(cfg: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.add_posting()
    code, _out = run(capsys, "--config", str(cfg), "run", "--cycles", "1")
    assert code == 0 and (cfg.parent / "orders.xlsx").exists()


def test_python_dash_m_sync_works_as_a_separate_process(cfg: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sync", "--config", str(cfg), "check"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "the Api-Key works" in done.stdout


@pytest.mark.parametrize(("command", "probe"), [
    (["emulator", "--postings", "3"], "/_emulator/postings"),
    (["sheets-emulator", "--title", "Заказы"], "/v4/spreadsheets/{id}"),
])
def test_the_emulator_commands_serve_until_interrupted(command: list[str], probe: str) -> None:
    import re
    import signal

    import httpx

    proc = subprocess.Popen([sys.executable, "-u", "-m", "sync", *command, "--port", "0"], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        key = re.search(r"has id (\S+)\.", first)
        assert url, first
        answer = httpx.get(url.group(0) + probe.format(id=key.group(1) if key else ""), timeout=5)
        assert answer.status_code == 200 and answer.json()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Stopped." in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_deferred_write_is_said_once_and_in_the_sheet_s_own_words() -> None:
    from sync.commands import deferred_message

    holder = "The workbook is open in LibreOffice by Ivan (since 12:03); writes wait until it is closed"
    excel = deferred_message(holder, holder)
    assert excel.count("Ivan") == 1 and excel.endswith("catches up on the next run after the workbook is closed.")
    google = deferred_message("Google Sheets is over its write quota; writing next cycle.", None)
    assert google == ("The sheet was not written: Google Sheets is over its write quota; writing next cycle. "
                      "Edits were pushed; the sheet catches up on the next run.")
    other = deferred_message("The workbook orders.xlsx changed since it was read", holder)
    assert "changed since it was read (The workbook is open in LibreOffice by Ivan" in other
