"""The whole FBS day from the sheet, through the real command line (`ozon-sync run`, `status`): a new order
of marked shoes, its codes scanned into «Маркировка», packed, its label saved, linked and printed, and the
day's hand-over approved with its act — without Ozon's seller account. The Ozon emulator over HTTP, a real
.xlsx, a real state file, a real print command, a wall clock the daemon's own pauses move."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.mapping import PRIVATE_FIELDS, load_columns
from tests import test_handover_daily as day
from tests.test_bad_inputs import excel_mark
from tests.test_handover_daily import Time, acts, carriage_calls, config, daemon, run

COLUMNS = load_columns().without(PRIVATE_FIELDS)


t, emu = day.t, day.emu  # the hand-over tests' clock and emulator (fixtures)


def test_from_a_new_marked_order_to_a_printed_label_and_an_approved_hand_over(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    printed = tmp_path / "printed.txt"
    printer = tmp_path / "lp"
    printer.write_text(f"#!{sys.executable}\nimport sys\nopen({str(printed)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    printer.chmod(0o755)
    cfg = config(tmp_path, emu, f'handover:\n  at: "16:00"\nlabels:\n  print_command: "{printer} {{file}}"\n')
    shoes = emu.add_posting(products=[("Кроссовки беговые 42", "SHO-42", 2, "4990.00")])  # type: ignore[arg-type]
    t.local(23, "11:00:00")
    daemon(t, capsys, cfg, 1)  # the order reaches the sheet

    book = tmp_path / "orders.xlsx"
    edit_workbook(book, "Заказы", COLUMNS, {shoes: {"status": "Ожидает отгрузки", "marks": excel_mark("PAIR001")}})
    daemon(t, capsys, cfg, 1)  # one pair scanned: held, saying what is missing
    assert emu.posting(shoes)["status"] == "awaiting_packaging"
    edit_workbook(book, "Заказы", COLUMNS,
                  {shoes: {"marks": f"{excel_mark('PAIR001')}\n{excel_mark('PAIR002')}"}})
    daemon(t, capsys, cfg, 4)  # codes set and checked, shipped; 45 s later the label, printed
    assert emu.posting(shoes)["status"] == "awaiting_deliver"
    label = tmp_path / "labels" / "2026-11-23" / f"{shoes}.pdf"
    assert shoes.encode() in label.read_bytes()
    batch, = printed.read_text().splitlines()
    assert shoes.encode() in Path(batch).read_bytes()

    t.local(23, "16:00:05")
    daemon(t, capsys, cfg, 1)  # the day's hand-over
    assert carriage_calls(emu) == ["carriage_create", "carriage_approve"]
    carriage, = emu.day.carriages.values()
    assert carriage.status == "formed" and carriage.postings == [shoes]
    act, = acts(tmp_path)
    assert shoes.encode() in act.read_bytes()

    code, status = run(t, capsys, cfg, "status")
    assert code == 0 and "Labels: 1 saved" in status and "— printed" in status
    assert "Hand-over today: done at 16:00:05" in status
    assert len(printed.read_text().splitlines()) == 1  # printed once
    ship_calls = [w for w in emu.write_log if w["path"] == "/v4/posting/fbs/ship"]
    assert len(ship_calls) == 1 and not any(w.get("duplicate") for w in emu.write_log)
