"""`ozon-sync demo` — the README's first command — on both spreadsheets: exit 0, every scripted row
answered in words, nothing pushed twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.cli import main


@pytest.mark.parametrize("backend", ["excel", "google"])
def test_demo_runs_the_whole_loop(tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path), "--backend", backend]) == 0
    out = capsys.readouterr().out
    assert out.count("Готово") == 7  # the seven moves of DESIGN §3
    assert "Ozon отказал" in out and "Не понял статус «Упаковано»" in out and "Ozon отменил отправление" in out
    assert "8 accepted, 1 refused, 0 duplicates" in out
    log = [json.loads(line) for line in (tmp_path / "ozon-writes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(log) == 9 and not any(e["duplicate"] for e in log)
    assert (tmp_path / "orders.xlsx").exists() == (backend == "excel")
