"""`ozon-sync status` and `status --json` through the real command line, over a real state file filled by
real cycles against the Ozon emulator (HTTP) and an Excel workbook."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from sync.app import Edges
from sync.cli import main
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.emulators.server import Faults
from sync.mapping import PRIVATE_FIELDS, load_columns
from tests.conftest import write_config
from tests.fake_time import Clock

COLUMNS = load_columns().without(PRIVATE_FIELDS)


def run(cfg: Path, clock: Clock, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--config", str(cfg), *argv], edges=Edges(clock=clock, sleep=lambda s: None))
    return code, capsys.readouterr().out


def test_status_json_says_ok_until_a_push_is_stuck_and_matches_the_text(
        tmp_path: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    cfg = write_config(tmp_path, emulator.base_url)
    number = emulator.add_posting()
    assert run(cfg, clock, capsys, "sync")[0] == 0
    code, out = run(cfg, clock, capsys, "status", "--json")
    facts = json.loads(out)
    assert code == 0 and facts["ok"] is True and facts["pending_pushes"] == []
    last = facts["cycles"][0]
    assert facts["last_success"] == last["finished"] and "pulled 1 postings" in last["summary"]

    edit_workbook(tmp_path / "orders.xlsx", "Заказы", COLUMNS, {number: {"status": "Ожидает отгрузки"}})
    emulator.faults = Faults()
    emulator.faults.queue("/v4/posting/fbs/ship", *["503"] * 20)  # Ozon takes the ship but never answers
    run(cfg, clock, capsys, "sync")
    clock.tick(timedelta(minutes=31).total_seconds())
    code, out = run(cfg, clock, capsys, "status", "--json")
    facts = json.loads(out)
    assert code == 0 and facts["ok"] is False  # a push open for more than 30 minutes
    pending, = facts["pending_pushes"]
    assert pending["posting"] == number and pending["action"] == "ship" and pending["typed"] == "Ожидает отгрузки"

    code, text = run(cfg, clock, capsys, "status")
    assert code == 0 and "Pending pushes: 1" in text and f"{number}: ship «Ожидает отгрузки»" in text
