"""What the owner and the pickers see of the three reports in real spreadsheet software: each exported from the
demo's state store (real cycles against the Ozon emulator: two warehouses, long delivery methods, multi-item
orders), opened by LibreOffice headless and printed to PDF, and read back with pdftotext —

- no `###` (a number or date too wide for its column);
- every header word whole on one line (no «Отправлени|й», «Доставляетс|я», «Просрочен|о», «Кол-|во»);
- every cell's full text on the page: each word of each cell is printed at least as often as the cells hold it
  (a clipped cell prints only part of its text), and no two printed words overlap (a wrapped cell taller than
  its row spills over the next one);
- each chart on one page: its title, and under it its axis with every day, on the same page.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from sync.cli import main
from tests.office import convert

MSK_TODAY = datetime.now(ZoneInfo("Europe/Moscow")).date()  # the demo's time zone


def need_poppler() -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
        pytest.skip("pdftotext (poppler-utils) is not installed")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each report from the demo's state store: (its workbook, LibreOffice's PDF of it)."""
    need_poppler()
    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--dir", str(folder)]) == 0
    config = folder / "ozon-sync.yaml"
    month = ["--from", (MSK_TODAY - timedelta(days=30)).isoformat(), "--to", MSK_TODAY.isoformat()]
    fortnight = ["--from", (MSK_TODAY - timedelta(days=13)).isoformat(), "--to", MSK_TODAY.isoformat()]
    later = ["--cutoff", (MSK_TODAY + timedelta(days=7)).isoformat()]
    books = {}
    for report, extra in (("orders", month), ("daily", fortnight), ("picklist", later)):
        book = folder / f"{report}.xlsx"
        assert main(["--config", str(config), "export", "--report", report, *extra, "-o", str(book)]) == 0
        books[report] = book
    outdir = folder / "pdf"
    convert(list(books.values()), "pdf", outdir, profile=folder / "lo-profile")
    return {report: (book, outdir / f"{book.stem}.pdf") for report, book in books.items()}


def layout_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    return text.split("\f")


def word_boxes(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return [[(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)]
        for page in out.split("<page")[1:]]


def whole(word: str) -> re.Pattern[str]:
    """``word`` standing alone: not inside a longer word (a digit may touch a letter: «2Не собрано»)."""
    before = r"(?<![^\W\d_])" if word[0].isalpha() else r"(?<!\w)"
    after = r"(?![^\W\d_])" if word[-1].isalpha() else r"(?!\w)"
    return re.compile(before + re.escape(word) + after)


def cell_texts(book: Path) -> tuple[list[str], list[str]]:
    """The header cells and every other text cell of every sheet."""
    headers, cells = [], []
    for ws in openpyxl.load_workbook(book).worksheets:
        for n, row in enumerate(ws.iter_rows(values_only=True)):
            texts = [str(v) for v in row if isinstance(v, str) and v.strip()]
            (headers if n == 0 else cells).extend(texts)
    return headers, cells


@pytest.mark.parametrize("report", ["orders", "daily", "picklist"])
def test_every_header_word_is_whole_and_nothing_shows_hashes(printed: dict[str, tuple[Path, Path]],
                                                             report: str) -> None:
    book, pdf = printed[report]
    text = "\n".join(layout_pages(pdf))
    assert "###" not in text
    headers, _ = cell_texts(book)
    words = {w for h in headers for w in h.split()}
    assert words >= {"orders": {"Отправление", "Кол-во", "Способ", "доставки"},
                     "daily": {"Отправлений", "Доставляется", "Просрочено"},
                     "picklist": {"Отправлений", "Количество", "Кол-во"}}[report]
    for word in sorted(words):
        assert whole(word).search(text), f"{report}: the header word {word!r} is not printed whole"
        for k in range(1, len(word)):
            head, tail = word[:k], word[k:]
            broken = whole(head).search(text) and whole(tail).search(text) and head not in words
            assert not (broken and re.search(re.escape(head) + r"\s*\n", text)), \
                f"{report}: the header word {word!r} is broken as {head!r} | {tail!r}"


@pytest.mark.parametrize("report", ["orders", "daily", "picklist"])
def test_every_cell_is_printed_whole_and_no_text_runs_over_another(printed: dict[str, tuple[Path, Path]],
                                                                   report: str) -> None:
    book, pdf = printed[report]
    text = "\n".join(layout_pages(pdf))
    headers, cells = cell_texts(book)
    wanted = Counter(w for t in [*headers, *cells] for w in t.split())
    if report == "orders":  # the data is what makes the check worth running
        assert any("; " in c and " × " in c for c in cells), "no multi-item order in the demo"
        assert any(c.count(", ") >= 1 and "-" in c for c in cells), "no multi-item «Артикулы» in the demo"
        assert "СДЭК, интегрированная доставка" in cells
    short = {w: n - len(whole(w).findall(text)) for w, n in wanted.items()}
    assert not {w: n for w, n in short.items() if n > 0}, f"{report}: words printed fewer times than in the cells"
    for n, boxes in enumerate(word_boxes(pdf), 1):
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                across = min(a[2], b[2]) - max(a[0], b[0])
                down = min(a[3], b[3]) - max(a[1], b[1])
                assert not (across > 0.5 and down > 0.4 * min(a[3] - a[1], b[3] - b[1])), \
                    f"{report}, page {n}: {a[4]!r} and {b[4]!r} are printed over each other"


def inked(pdf: Path, page: int, box: tuple[float, float, float, float, str]) -> bool:
    """Whether the word in ``box`` is drawn on ``page`` (1-based): LibreOffice puts a chart's texts on every
    page it overlaps, clipped away where it does not show, so pdftotext alone cannot tell where a chart is."""
    x0, y0, x1, y1 = (int(v) for v in box[:4])
    ppm = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "72", "-gray", "-x", str(x0),
                          "-y", str(y0), "-W", str(max(x1 - x0, 1) + 1), "-H", str(max(y1 - y0, 1) + 1), str(pdf)],
                         capture_output=True, check=True, timeout=60).stdout
    pixels = ppm.split(b"\n", 3)[3]  # P5, width height, maxval, then the pixels
    return min(pixels) < 128


def test_each_chart_of_the_daily_report_is_on_one_page(printed: dict[str, tuple[Path, Path]]) -> None:
    book, pdf = printed["daily"]
    days = [r[0] for r in openpyxl.load_workbook(book)["По дням"].iter_rows(min_row=2, values_only=True)
            if isinstance(r[0], datetime)]
    assert len(days) == 14
    labels = {f"{d:%d.%m}" for d in days}
    titles = ["Отправления по дням и статусам", "В срок и с опозданием"]
    seen: dict[str, list[int]] = {t: [] for t in titles}
    for n, boxes in enumerate(word_boxes(pdf), 1):
        words = [b[4] for b in boxes]
        heads = []  # (top, title) of each title drawn on this page, found by its last word
        for title in titles:
            phrase = title.split()
            for i in range(len(phrase) - 1, len(boxes)):
                if words[i - len(phrase) + 1:i + 1] == phrase and inked(pdf, n, boxes[i]):
                    heads.append((boxes[i][1], title))
        drawn = [b for b in boxes if b[4] in labels and inked(pdf, n, b)]
        for i, (top, title) in enumerate(sorted(heads)):
            seen[title].append(n)
            bottom = sorted(heads)[i + 1][0] if i + 1 < len(heads) else float("inf")
            under = {b[4] for b in drawn if top < b[1] < bottom}
            assert under == labels, f"chart {title!r}, page {n}: days {sorted(labels - under)} are not under it"
    assert seen == {t: [seen[t][0]] for t in titles} if all(seen.values()) else False, \
        f"each chart's title should be drawn on one page: {seen}"
