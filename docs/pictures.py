"""Render the pictures in the docs: the demo's sheet and each report, as LibreOffice prints them.

    python docs/pictures.py [--out docs/pictures]

Runs ``ozon-sync demo`` in a temporary folder (the bundled Ozon emulator, real sync cycles, a real workbook),
exports the three reports from its state store, prints every workbook to PDF with LibreOffice headless and
cuts each picture out of a page with poppler's ``pdftoppm``: the page's printed area only, so the PNGs stay
small. Needs ``soffice`` and poppler-utils (``pdftotext``, ``pdftoppm``); uses no network.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository's sync, when run from a checkout

from sync.cli import main as ozon_sync  # noqa: E402


@dataclass(frozen=True)
class Picture:
    name: str  # docs/pictures/<name>.png
    book: str  # the workbook's stem
    page: int  # 1-based page of its PDF
    dpi: int  # enough to read the text at the page's print scale


PICTURES = [
    Picture("sheet", "orders", 1, 90),
    Picture("report-orders", "report-orders", 1, 100),
    Picture("report-daily", "report-daily", 1, 90),
    Picture("report-daily-charts", "report-daily", 2, 70),
    Picture("report-picklist", "report-picklist", 1, 90),
    Picture("report-picklist-postings", "report-picklist", 3, 90),
]


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        sys.exit(f"{tool} is not installed (LibreOffice: soffice; poppler-utils: pdftotext, pdftoppm)")
    return found


def make_workbooks(folder: Path) -> list[Path]:
    """The demo's sheet and the three reports from its state store."""
    if ozon_sync(["demo", "--dir", str(folder)]) != 0:
        sys.exit("ozon-sync demo failed")
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()  # the demo's time zone
    runs = {
        "orders": ["--from", (today - timedelta(days=30)).isoformat(), "--to", today.isoformat()],
        "daily": ["--from", (today - timedelta(days=13)).isoformat(), "--to", today.isoformat()],
        "picklist": ["--cutoff", (today + timedelta(days=7)).isoformat()],
    }
    books = [folder / "orders.xlsx"]
    for report, extra in runs.items():
        book = folder / f"report-{report}.xlsx"
        argv = ["--config", str(folder / "ozon-sync.yaml"), "export", "--report", report, *extra, "-o", str(book)]
        if ozon_sync(argv) != 0:
            sys.exit(f"export --report {report} failed")
        books.append(book)
    return books


def printed_area(pdf: Path, page: int) -> tuple[float, float, float, float]:
    """The box (points) of ``page`` that holds every word printed on it, with a margin, and at least the page's
    width inside its margins (a chart's frame reaches beyond its words); the footer's page number left out."""
    out = subprocess.run([need("pdftotext"), "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    words = [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]
    page_box = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', out)
    assert page_box is not None
    width, height = float(page_box.group(1)), float(page_box.group(2))
    words = [w for w in words if not (w[1] > height - 60 and re.fullmatch(r"\d+|/", w[4]))]  # «1 / 3»
    return (min(min(w[0] for w in words) - 12, 36.0), min(w[1] for w in words) - 12,
            max(max(w[2] for w in words) + 12, width - 36.0), max(w[3] for w in words) + 12)


def render(pdf: Path, pic: Picture, out: Path) -> Path:
    x0, y0, x1, y1 = printed_area(pdf, pic.page)
    scale = pic.dpi / 72
    target = out / pic.name
    subprocess.run([need("pdftoppm"), "-png", "-r", str(pic.dpi), "-f", str(pic.page), "-l", str(pic.page),
                    "-x", str(int(x0 * scale)), "-y", str(int(y0 * scale)), "-W", str(int((x1 - x0) * scale)),
                    "-H", str(int((y1 - y0) * scale)), "-singlefile", str(pdf), str(target)], check=True)
    return target.with_suffix(".png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "pictures")
    args = ap.parse_args()
    soffice = need("soffice")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo"
        books = make_workbooks(folder)
        pdfs = Path(tmp) / "pdf"
        subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/lo-profile", "--headless", "--convert-to",
                        "pdf", "--outdir", str(pdfs), *map(str, books)], check=True, capture_output=True)
        for pic in PICTURES:
            png = render(pdfs / f"{pic.book}.pdf", pic, args.out)
            print(f"{png} ({png.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
