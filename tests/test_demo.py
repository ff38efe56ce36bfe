"""`ozon-sync demo` — the README's first command — on both spreadsheets: exit 0, every scripted row
answered in words, nothing pushed twice."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from sync.cli import main


@pytest.mark.parametrize("backend", ["excel", "google"])
def test_demo_runs_the_whole_loop(tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path), "--backend", backend]) == 0
    out = capsys.readouterr().out
    assert out.count("Готово") == 8  # the seven status moves the sheet offers, and marked shoes packed
    assert "Ozon отказал" in out and "Не понял статус «Упаковано»" in out and "Ozon отменил отправление" in out
    assert "10 accepted, 1 refused, 0 duplicates" in out  # the shoes: their codes set, then the ship
    log = [json.loads(line) for line in (tmp_path / "ozon-writes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(log) == 11 and not any(e["duplicate"] for e in log)
    shoes = next(line.split()[0] for line in out.splitlines() if "marked shoes" in line)
    label = tmp_path / "labels" / next(p.name for p in (tmp_path / "labels").iterdir()) / f"{shoes}.pdf"
    # Excel: the path relative to the workbook; Google without a Drive folder: the file's path.
    linked = f"labels/{label.parent.name}/{shoes}.pdf" if backend == "excel" else str(label)
    assert f"linked from «Этикетка» as {linked};" in out
    assert label.read_bytes().startswith(b"%PDF-") and shoes.encode() in label.read_bytes()
    assert (tmp_path / "orders.xlsx").exists() == (backend == "excel")


def test_demo_workbook_has_the_read_only_tabs_and_the_state_makes_reports(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    wb = openpyxl.load_workbook(tmp_path / "orders.xlsx", read_only=True)
    try:
        assert {"Заказы", "FBO", "Возвраты"} <= set(wb.sheetnames)
        assert wb["FBO"].max_row == 7 and wb["Возвраты"].max_row == 5  # a header and the seeded rows
    finally:
        wb.close()
    capsys.readouterr()
    out = tmp_path / "daily.xlsx"
    assert main(["--config", str(tmp_path / "ozon-sync.yaml"), "export", "--report", "daily", "-o", str(out)]) == 0
    assert "Wrote the daily report" in capsys.readouterr().out and out.stat().st_size > 0
