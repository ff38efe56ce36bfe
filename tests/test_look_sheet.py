"""What staff see of the live sheet in real spreadsheet software: the demo's workbook (real cycles against
the Ozon emulator) opened by LibreOffice headless and printed to PDF, read back with pdftotext — dates
whole (no `###`), in DD.MM.YYYY HH:MM, landscape with the header and posting number on every page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from sync.cli import main
from tests.office import convert


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--dir", str(folder)]) == 0
    return folder / "orders.xlsx"


def test_dates_are_written_as_the_sheet_means_them_and_it_prints_landscape(demo: Path) -> None:
    ws = openpyxl.load_workbook(demo)["Заказы"]
    header = [c.value for c in ws[1]]
    col = header.index("Принят") + 1
    formats = {ws.cell(row=r, column=col).number_format for r in range(2, ws.max_row + 1)}
    assert formats == {"dd.mm.yyyy hh:mm"}  # not openpyxl's own yyyy-mm-dd h:mm:ss
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$A:$A"


def test_libreoffice_shows_every_date_whole(demo: Path, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf, = [p for p in convert([demo], "pdf", tmp_path / "out", profile=tmp_path / "profile") if p.suffix == ".pdf"]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    assert "###" not in text
    dates = re.findall(r"\b\d\d\.\d\d\.\d{4} \d\d:\d\d\b", text)
    assert len(dates) >= 2 * 25  # Принят and Собрать до of each of the demo's postings
    first_page = text.split("\f")[0]
    assert "Отправление" in first_page and "Статус" in first_page  # the header, and a wide part of the row
