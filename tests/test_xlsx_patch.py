"""sync.backends.xlsx on real workbooks: made by openpyxl, xlsxwriter, by hand, and saved by LibreOffice."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from sync.backends.xlsx import (
    PatchError,
    SheetPart,
    delete_rows,
    last_used_row,
    merged_ranges,
    patch,
    replace_sheet_rows,
    sheets,
)

SHEET1 = "xl/worksheets/sheet1.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SOFFICE = shutil.which("soffice")


# --- helpers ------------------------------------------------------------------------------------------


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def infos(data: bytes) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.infolist()


def assert_only_changed(before: bytes, after: bytes, allowed: set[str]) -> None:
    """Same members in the same order; every member outside ``allowed`` has the same content, compression
    and stored bytes (CRC and compressed size)."""
    old, new = infos(before), infos(after)
    assert [i.filename for i in new] == [i.filename for i in old]
    a, b = members(before), members(after)
    for o, n in zip(old, new, strict=True):
        if o.filename in allowed:
            if o.filename.endswith((".xml", ".rels", ".vml")):
                ElementTree.fromstring(b[n.filename])  # still well-formed XML
            continue
        assert b[n.filename] == a[o.filename], f"{o.filename} changed"
        assert (n.compress_type, n.CRC, n.compress_size) == (o.compress_type, o.CRC, o.compress_size), o.filename


def grid(data: bytes, title: str) -> list[list[Any]]:
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return list(wb.get_sheet_by_name(title).to_python())
    finally:
        wb.close()


def load(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def rows_xml(data: bytes, part: str = SHEET1) -> dict[int, bytes]:
    xml = members(data)[part]
    return {int(m[1]): m[0] for m in re.finditer(rb'<row r="(\d+)"[^>]*?(?:/>|>.*?</row>)', xml, re.S)}


def rezip(data: bytes, change: dict[str, bytes | None], *, first: str | None = None) -> bytes:
    """The workbook with some members replaced, added (``change``) or removed (None); ``first`` goes first."""
    old = members(data)
    names = [n for n in old if change.get(n, b"") is not None] + [n for n in change if n not in old]
    if first is not None:
        names = [first] + [n for n in names if n != first]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            body = change.get(name)
            zf.writestr(name, body if body is not None else old[name])
    return buf.getvalue()


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))  # 4x4 red, no filter
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def minimal(sheet_xml: str, *, workbook_pr: str = "", tabs: str = '<sheet name="S" sheetId="1" r:id="rId1"/>') -> bytes:
    """A hand-written workbook with one worksheet part (and no styles part)."""
    files = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
                       f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">{workbook_pr}<sheets>{tabs}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
                                      f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        SHEET1: sheet_xml,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text.encode())
    return buf.getvalue()


def orders_workbook(rows: int = 2000, *, with_filter: bool = True) -> bytes:
    """A typical orders tab: text keys formatted as Text, amounts, a date column styled through its <col>,
    a date-time column styled cell by cell, a filter over it all, and formatted empty rows below."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Заказы"
    ws.append(["Номер", "Сумма", "Дата", "Когда", "Статус"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    start = datetime(2024, 1, 1, 9, 0)
    for r in range(2, rows + 1):
        ws.append([f"{r:06d}", r * 1.5, (start + timedelta(days=r % 300)).date(), start + timedelta(hours=r), "new"])
        ws.cell(r, 1).number_format = "@"
        ws.cell(r, 4).number_format = "dd.mm.yyyy hh:mm"
    ws.column_dimensions["C"].number_format = "dd.mm.yyyy"
    if with_filter:
        ws.auto_filter.ref = f"A1:E{rows}"
    for r in range(rows + 1, rows + 4):
        ws.cell(r, 5).fill = PatternFill(start_color="FFFF00", end_color="FFFF00", fill_type="solid")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def commented_workbook() -> bytes:
    """20 rows, a note on A1 and on B12 and C4, merged ranges, a hyperlink and a filter."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    for r in range(1, 21):
        ws.append([f"k{r}", r, f"t{r}"])
    ws["A1"].comment = Comment("header note", "sync")
    ws["B12"].comment = Comment("note on B12", "sync")
    ws["C4"].comment = Comment("note in a deleted row", "sync")
    ws.merge_cells("A15:B16")
    ws.merge_cells("A4:B4")
    ws.merge_cells("A5:B7")
    ws["C14"].hyperlink = "https://example.com/14"
    ws.auto_filter.ref = "A1:C20"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def comments_of(ws: Any) -> dict[str, str]:
    return {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment is not None}


def part_of(data: bytes, title: str) -> str:
    return next(s.part for s in sheets(data) if s.title == title)


# --- LibreOffice (a few soffice runs for the whole module) ---------------------------------------------


def soffice(tmp: Path, fmt: str, files: list[Path]) -> Path:
    """Convert ``files`` in one LibreOffice run; ``fmt`` is "xlsx" or "csv" (UTF-8, comma-separated)."""
    assert SOFFICE is not None
    out = tmp / f"out-{fmt}"
    target = 'csv:Text - txt - csv (StarCalc):44,34,76,1' if fmt == "csv" else fmt
    out.mkdir(exist_ok=True)
    profile = (tmp / "profile").as_uri()
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", target,
                    "--outdir", str(out), *map(str, files)], check=True, capture_output=True, timeout=240)
    return out


@pytest.fixture(scope="module")
def libre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Workbooks saved by LibreOffice, then our patches of them (and of openpyxl files) opened by it again."""
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is needed for these tests in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    tmp = tmp_path_factory.mktemp("libre")
    (tmp / "lo_source.xlsx").write_bytes(commented_workbook())
    saved = (soffice(tmp, "xlsx", [tmp / "lo_source.xlsx"]) / "lo_source.xlsx").read_bytes()
    part = part_of(saved, "Orders")
    results: dict[str, Any] = {"saved": saved, "part": part}
    results["patched"] = patch(saved, part, {(2, 2): 222, (3, 1): "изменено", (4, 3): None},
                               [{1: "appended", 2: 3.5, 3: "=SUM(1)"}])
    results["deleted"] = delete_rows(saved, part, [3, 4, 5])
    orders = orders_workbook(50)
    results["orders"] = patch(orders, SHEET1, {(2, 1): "0012", (3, 2): 99}, [{1: "000051", 2: 76.5, 5: "shipped"}])
    results["replaced"] = replace_sheet_rows(saved, part, [["Key", "N"], ["a", 1], ["b", 2]])
    files = {name: tmp / f"ours_{name}.xlsx" for name in ("patched", "deleted", "orders", "replaced")}
    for name, path in files.items():
        path.write_bytes(results[name])
    csv_dir = soffice(tmp, "csv", list(files.values()))
    results["csv"] = {name: list(csv.reader(io.StringIO((csv_dir / f"ours_{name}.csv").read_text("utf-8"))))
                      for name in files}
    xlsx_dir = soffice(tmp, "xlsx", [files["orders"], files["deleted"]])
    results["resaved"] = {name: (xlsx_dir / f"ours_{name}.xlsx").read_bytes() for name in ("orders", "deleted")}
    yield results


# --- patch ----------------------------------------------------------------------------------------------


def test_patch_edits_and_appends_read_back_with_the_right_types() -> None:
    data = orders_workbook(2000)
    assert last_used_row(data, SHEET1) == 2000  # the three formatted rows below do not count
    when = datetime(2025, 3, 4, 15, 45)
    out = patch(data, SHEET1,
                {(5, 2): 42, (6, 1): "0012", (7, 1): "=SUM(1)", (8, 2): None, (9, 4): when, (10, 5): True},
                [{1: "0099", 2: 7.25, 3: date(2025, 3, 4), 4: when, 5: "shipped"}, {1: "0100", 5: "x"}],
                filter_last_col=6)

    ws = load(out)["Заказы"]
    assert ws["B5"].value == 42 and ws["B5"].data_type == "n"
    assert ws["A6"].value == "0012" and ws["A6"].data_type == "s"
    assert ws["A7"].value == "=SUM(1)" and ws["A7"].data_type == "s"
    assert ws["B8"].value is None and ws["A8"].value == "000008"
    assert ws["D9"].value == when
    assert ws["E10"].value is True
    assert [c.value for c in ws[2001]] == ["0099", 7.25, datetime(2025, 3, 4), when, "shipped"]
    assert ws["C2001"].number_format == "dd.mm.yyyy"  # the column's style
    assert ws["D2001"].number_format == "dd.mm.yyyy hh:mm"  # the style of the cell above
    assert ws["A2001"].number_format == "@"
    assert ws["A1"].font.b and not ws["A2002"].font.b
    assert ws["E2002"].value == "x" and ws["B2002"].value is None
    assert ws["A1999"].value == "001999" and ws["B1500"].value == 2250.0
    assert ws.auto_filter.ref == "A1:F2002"
    assert last_used_row(out, SHEET1) == 2002

    rows = grid(out, "Заказы")
    assert rows[4][1] == 42 and isinstance(rows[4][1], float)
    assert rows[5][0] == "0012" and rows[6][0] == "=SUM(1)"
    assert rows[2000][:5] == ["0099", 7.25, date(2025, 3, 4), when, "shipped"]
    assert rows[8][3] == when and rows[9][4] is True

    # Only the sheet and the workbook's filter name changed; untouched rows kept their bytes.
    assert_only_changed(data, out, {SHEET1, "xl/workbook.xml"})
    assert b"$A$1:$F$2002</definedName>" in members(out)["xl/workbook.xml"]
    before, after = rows_xml(data), rows_xml(out)
    assert {r for r in after if after[r] != before.get(r)} == {5, 6, 7, 8, 9, 10, 2001, 2002}
    assert b'<dimension ref="A1:E2003"' in members(out)[SHEET1]


def test_text_is_stored_literally_and_cleaned() -> None:
    data = orders_workbook(5)
    texts = {(2, 1): "a\x00b\x1fc", (3, 1): "x" * 40000, (4, 1): "_x0041_ stays", (5, 1): "line1\r\nline2",
             (2, 5): "  padded  ", (3, 5): "<&> \"q\" 'a'", (4, 5): "😀" * 20000, (5, 5): "\x01"}
    rows = grid(patch(data, SHEET1, texts), "Заказы")
    assert rows[1][0] == "abc"
    assert rows[2][0] == "x" * 32767
    assert rows[3][0] == "_x0041_ stays"
    assert rows[4][0] == "line1\r\nline2"
    assert rows[1][4] == "  padded  " and rows[2][4] == "<&> \"q\" 'a'"
    assert rows[3][4] == "😀" * 16383  # 32,767 UTF-16 units at most
    assert rows[4][4] == ""  # nothing left of it: the value is cleared


def test_bad_values_are_refused() -> None:
    data = orders_workbook(3)
    with pytest.raises(ValueError):
        patch(data, SHEET1, {(2, 2): float("nan")})
    with pytest.raises(ValueError):
        patch(data, SHEET1, {(0, 1): "x"})
    with pytest.raises(ValueError):
        patch(data, SHEET1, {(2, 4): datetime(2024, 1, 1, tzinfo=__import__("datetime").timezone.utc)})
    with pytest.raises(TypeError):
        patch(data, SHEET1, {(2, 2): object()})  # type: ignore[dict-item]


def xlsxwriter_workbook() -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("Orders")
    ws.write_row(0, 0, ["key", "n"])
    for r in range(1, 50):
        ws.write_row(r, 0, [f"k{r}", r])
    ws.insert_image("D2", "dot.png", {"image_data": io.BytesIO(tiny_png())})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Orders!$B$2:$B$50"})
    ws.insert_chart("D10", chart)
    sums = wb.add_worksheet("Sums")
    sums.write_formula("A1", "=SUM(Orders!B2:B50)", None, 1225)
    sums.write_formula("A2", "=A1*2", None, 2450)
    wb.close()
    return buf.getvalue()


def xlsm_workbook() -> bytes:
    """An openpyxl workbook made macro-enabled by hand, with [Content_Types].xml first."""
    data = orders_workbook(10, with_filter=False)
    old = members(data)
    types = old["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
        b"<Default ", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1)
    rels = old["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
                             b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    vba = bytes(range(256)) * 40
    return rezip(data, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels, "xl/vbaProject.bin": vba},
                 first="[Content_Types].xml")


def pivot_workbook() -> bytes:
    """A workbook holding a pivot table's parts (cache definition, records, table), written by hand."""
    data = orders_workbook(10, with_filter=False)
    old = members(data)
    cache = (b'<pivotCacheDefinition xmlns="' + MAIN.encode() + b'" recordCount="9"><cacheSource type="worksheet">'
             b'<worksheetSource ref="A1:B10" sheet="Orders"/></cacheSource></pivotCacheDefinition>')
    table = (b'<pivotTableDefinition xmlns="' + MAIN.encode() + b'" name="P1" cacheId="1">'
             b'<location ref="A3:B7" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/></pivotTableDefinition>')
    types = old["[Content_Types].xml"].replace(b"</Types>", (
        b'<Override PartName="/xl/pivotCache/pivotCacheDefinition1.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.pivotCacheDefinition+xml"/>'
        b'<Override PartName="/xl/pivotTables/pivotTable1.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.pivotTable+xml"/></Types>'))
    return rezip(data, {"[Content_Types].xml": types, "xl/pivotCache/pivotCacheDefinition1.xml": cache,
                        "xl/pivotCache/pivotCacheRecords1.xml": b"<pivotCacheRecords/>",
                        "xl/pivotTables/pivotTable1.xml": table}, first="[Content_Types].xml")


@pytest.mark.parametrize("make", [xlsxwriter_workbook, xlsm_workbook, pivot_workbook],
                         ids=["image-chart-formulas", "xlsm", "pivot-table"])
def test_patch_leaves_every_other_member_as_it_was(make: Any) -> None:
    data = make()
    tab = sheets(data)[0]
    out = patch(data, tab.part, {(2, 1): "changed", (3, 2): 1000}, [{1: "new", 2: 5}])
    assert_only_changed(data, out, {tab.part})
    assert infos(out)[0].filename == infos(data)[0].filename
    rows = grid(out, tab.title)
    assert rows[1][0] == "changed" and rows[2][1] == 1000
    assert rows[last_used_row(out, tab.part) - 1][:2] == ["new", 5]
    names = set(members(out))
    if make is xlsxwriter_workbook:
        assert {"xl/media/image1.png", "xl/charts/chart1.xml", "xl/drawings/drawing1.xml"} <= names
        assert load(out)["Sums"]["A1"].value == "=SUM(Orders!B2:B50)"
    elif make is xlsm_workbook:
        assert members(out)["xl/vbaProject.bin"] == bytes(range(256)) * 40
    else:
        assert {"xl/pivotTables/pivotTable1.xml", "xl/pivotCache/pivotCacheDefinition1.xml"} <= names


def test_patch_on_a_libreoffice_saved_workbook_keeps_its_other_parts(libre: dict[str, Any]) -> None:
    saved, part, out = libre["saved"], libre["part"], libre["patched"]
    assert {"xl/comments1.xml", "xl/drawings/vmlDrawing1.vml"} <= set(members(saved))
    allowed = {part, "xl/workbook.xml"} if b"_xlnm._FilterDatabase" in members(saved)["xl/workbook.xml"] else {part}
    assert_only_changed(saved, out, allowed)
    ws = load(out)["Orders"]
    assert ws["B2"].value == 222 and ws["A3"].value == "изменено" and ws["C4"].value is None
    assert comments_of(ws)["A1"].startswith("header note")


def test_libreoffice_opens_the_patched_files(libre: dict[str, Any]) -> None:
    table = libre["csv"]
    patched = table["patched"]
    assert patched[1][:2] == ["k2", "222"] and patched[2][0] == "изменено" and patched[3][2] == ""
    assert patched[20][:3] == ["appended", "3.5", "=SUM(1)"]
    assert table["orders"][1][0] == "0012" and table["orders"][2][1] == "99"
    assert table["orders"][50][0] == "000051" and table["orders"][50][4] == "shipped"
    assert [row[0] for row in table["deleted"][:6]] == ["k1", "k2", "", "", "k8", "k9"]
    assert len(table["deleted"]) == 17
    # The tab's merged ranges stay, so LibreOffice exports a few empty rows and columns as well.
    replaced = [row for row in ([v for v in r if v] for r in table["replaced"]) if row]
    assert replaced == [["Key", "N"], ["a", "1"], ["b", "2"]]


def test_libreoffice_takes_the_stretched_filter_and_the_moved_notes(libre: dict[str, Any]) -> None:
    ws = load(libre["resaved"]["orders"])["Заказы"]
    assert ws.auto_filter.ref == "A1:E51"
    assert ws["A51"].value == "000051"
    notes = comments_of(load(libre["resaved"]["deleted"])["Orders"])
    assert notes["A1"].startswith("header note") and notes["B9"].startswith("note on B12")


def test_formula_cells_overwritten_leave_the_calculation_chain_consistent() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(1, 5):
        ws.append([r, f"=A{r}*2"])
    buf = io.BytesIO()
    wb.save(buf)
    old = members(buf.getvalue())
    chain = f'<calcChain xmlns="{MAIN}"><c r="B1" i="1"/><c r="B2"/><c r="B3"/><c r="B4"/></calcChain>'.encode()
    types = old["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" '
                     b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
    rels = old["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", f'<Relationship Id="rIdChain" Type="{REL}/calcChain" '
                             f'Target="calcChain.xml"/></Relationships>'.encode())
    data = rezip(buf.getvalue(), {"xl/calcChain.xml": chain, "[Content_Types].xml": types,
                                  "xl/_rels/workbook.xml.rels": rels})

    one = patch(data, SHEET1, {(1, 2): 7})
    assert_only_changed(data, one, {SHEET1, "xl/calcChain.xml"})
    assert re.findall(rb'<c r="(B\d)"', members(one)["xl/calcChain.xml"]) == [b"B2", b"B3", b"B4"]
    assert b'<c r="B2" i="1"/>' in members(one)["xl/calcChain.xml"]  # the sheet id moved to the new first entry
    assert load(one).active["B2"].value == "=A2*2" and load(one).active["B1"].value == 7

    assert patch(data, SHEET1, {(1, 1): 5}) != data  # a value cell: the chain is left alone
    assert_only_changed(data, patch(data, SHEET1, {(1, 1): 5}), {SHEET1})

    none_left = patch(data, SHEET1, {(r, 2): r for r in range(1, 5)})
    parts = members(none_left)
    assert "xl/calcChain.xml" not in parts
    assert b"calcChain" not in parts["[Content_Types].xml"] and b"calcChain" not in parts["xl/_rels/workbook.xml.rels"]
    assert [c.value for c in load(none_left).active["B"]] == [1, 2, 3, 4]


def test_a_shared_formula_keeps_working_when_its_first_cell_is_overwritten() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}">'
                   + ('<f t="shared" ref="B2:B5" si="0">A2*2</f>' if r == 2 else '<f t="shared" si="0"/>')
                   + f"<v>{2 * r}</v></c></row>" for r in range(2, 6))
    data = minimal(f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>n</t></is>'
                   f"</c></row>{rows}</sheetData></worksheet>")
    ws = load(patch(data, SHEET1, {(2, 2): "typed"})).active
    assert [c.value for c in ws["B"]] == [None, "typed", "=A3*2", "=A4*2", "=A5*2"]

    ws = load(delete_rows(data, SHEET1, [2])).active  # its row deleted: the others keep their formulas
    assert [c.value for c in ws["B"]] == [None, "=A3*2", "=A4*2", "=A5*2"]
    shrunk = members(delete_rows(data, SHEET1, [4]))[SHEET1]
    assert b'<f t="shared" ref="B2:B4" si="0">A2*2</f>' in shrunk


def test_prefixed_namespace_implicit_rows_and_cells() -> None:
    root = (f'<x:worksheet xmlns:x="{MAIN}" xmlns:r="{REL}" '
            'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
            'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" mc:Ignorable="x14ac">')
    xml = (root + '<x:dimension ref="A1:B5"/><x:sheetData>'
           '<x:row r="1" spans="1:2" x14ac:dyDescent="0.25"><x:c r="A1" t="inlineStr"><x:is><x:t>h1</x:t></x:is></x:c>'
           '<x:c r="B1" t="inlineStr"><x:is><x:t>h2</x:t></x:is></x:c></x:row>'
           '<x:row spans="1:2" x14ac:dyDescent="0.25"><x:c><x:v>1</x:v></x:c><x:c><x:v>2</x:v></x:c></x:row>'
           '<x:row r="4" ht="20" customHeight="1"/>'
           '<x:row><x:c r="A5"><x:v>5</x:v></x:c></x:row>'
           "</x:sheetData></x:worksheet>")
    data = minimal(xml)
    assert last_used_row(data, SHEET1) == 5
    out = patch(data, SHEET1, {(2, 3): "new", (4, 1): 4, (5, 2): "z"}, [{1: "tail"}])
    sheet = members(out)[SHEET1]
    assert sheet.startswith(root.encode())
    assert b'<x:row r="2" spans="1:3" x14ac:dyDescent="0.25"><x:c r="A2"><x:v>1</x:v></x:c>' in sheet
    assert b'<x:row r="4" ht="20" customHeight="1"><x:c r="A4"><x:v>4</x:v></x:c></x:row>' in sheet
    assert b'<x:dimension ref="A1:C6"/>' in sheet
    assert grid(out, "S") == [["h1", "h2", ""], [1.0, 2.0, "new"], ["", "", ""], [4.0, "", ""], [5.0, "z", ""],
                              ["tail", "", ""]]
    ws = load(out).active
    assert ws["C2"].value == "new" and ws["A6"].value == "tail"

    moved = delete_rows(data, SHEET1, [1])
    assert grid(moved, "S")[:2] == [[1.0, 2.0], ["", ""]]
    assert last_used_row(moved, SHEET1) == 4


# --- reading the structure -------------------------------------------------------------------------------


def test_sheets_merged_ranges_and_last_used_row() -> None:
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "Orders"
    first.append(["a", "b"])
    first.append(["c", None])
    first.merge_cells("A5:C6")
    first.merge_cells("E1:E3")
    for r in range(7, 30):
        first.cell(r, 1).fill = PatternFill(start_color="FF0000", end_color="FF0000", fill_type="solid")
    hidden = wb.create_sheet("_lists")
    hidden.sheet_state = "hidden"
    secret = wb.create_sheet("Secret")
    secret.sheet_state = "veryHidden"
    secret["A1"] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()

    tabs = sheets(data)
    assert [(t.title, t.state) for t in tabs] == [("Orders", "visible"), ("_lists", "hidden"), ("Secret", "veryHidden")]
    assert all(isinstance(t, SheetPart) and t.part in members(data) for t in tabs)
    assert [t.sheet_id for t in tabs] == ["1", "2", "3"]
    assert sorted(merged_ranges(data, tabs[0].part)) == [(1, 5, 3, 5), (5, 1, 6, 3)]
    assert merged_ranges(data, tabs[1].part) == []
    assert last_used_row(data, tabs[0].part) == 2  # merged and formatted rows below hold no value
    assert last_used_row(data, tabs[1].part) == 1  # an empty sheet
    out = patch(data, tabs[0].part, {}, [{1: "next"}])
    assert grid(out, "Orders")[2][0] == "next"


def test_dates_follow_the_1904_date_system() -> None:
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.active["A1"] = "when"
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    assert b"date1904" in members(data)["xl/workbook.xml"]
    out = patch(data, SHEET1, {(2, 1): date(2024, 1, 1), (3, 1): datetime(2024, 1, 1, 12, 0)})
    assert b"<v>43830</v>" in members(out)[SHEET1] and b"<v>43830.5</v>" in members(out)[SHEET1]
    plain = minimal(f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>', workbook_pr='<workbookPr date1904="true"/>')
    assert b"<v>43830</v>" in members(patch(plain, SHEET1, {(1, 1): date(2024, 1, 1)}))[SHEET1]
    usual = minimal(f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>')
    assert b"<v>45292</v>" in members(patch(usual, SHEET1, {(1, 1): date(2024, 1, 1)}))[SHEET1]
    assert b"<v>59</v>" in members(patch(usual, SHEET1, {(1, 1): date(1900, 2, 28)}))[SHEET1]


# --- deleting rows and replacing a tab --------------------------------------------------------------------


def test_delete_rows_moves_cells_merges_links_notes_and_filter() -> None:
    data = commented_workbook()
    out = delete_rows(data, SHEET1, [3, 4, 5])
    parts = members(out)
    comments = next(n for n in parts if n.startswith("xl/comments"))
    vml = next(n for n in parts if n.endswith(".vml"))
    assert_only_changed(data, out, {SHEET1, comments, vml, "xl/workbook.xml"})

    ws = load(out)["Orders"]
    # A6:A7 lay under the merge A5:B7 (openpyxl leaves such cells empty); that merge is now A3:B4.
    assert [ws.cell(r, 1).value for r in range(1, 6)] == ["k1", "k2", None, None, "k8"]
    assert ws.max_row == 17 and ws["B17"].value == 20
    assert comments_of(ws) == {"A1": "header note", "B9": "note on B12"}
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A12:B13", "A3:B4"]
    assert sorted(merged_ranges(out, SHEET1)) == [(3, 1, 4, 2), (12, 1, 13, 2)]
    assert ws["C11"].hyperlink is not None and ws["C11"].hyperlink.target == "https://example.com/14"
    assert ws.auto_filter.ref == "A1:C17"
    assert b"$A$1:$C$17</definedName>" in parts["xl/workbook.xml"]
    assert re.findall(rb"<\w+:Row>(\d+)</\w+:Row>", parts[vml]) == [b"0", b"8"]
    assert b'<dimension ref="A1:C17"' in parts[SHEET1]
    assert last_used_row(out, SHEET1) == 17
    assert delete_rows(data, SHEET1, []) == data


def test_replace_sheet_rows_keeps_the_note_on_a1_and_the_header_style() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    for r in range(1, 31):
        ws.append([f"old{r}", r, r * 2])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws["A1"].comment = Comment("ozon-sync mirror: read only", "ozon-sync")
    ws.auto_filter.ref = "A1:C30"
    ws.column_dimensions["B"].number_format = "0.00"
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()

    out = replace_sheet_rows(data, SHEET1, [["Номер", "Сумма"], ["a", 1.5], ["b", None], [None, None], ["c", 3]])
    parts = members(out)
    assert_only_changed(data, out, {SHEET1, "xl/workbook.xml"})
    ws = load(out)["Report"]
    assert comments_of(ws) == {"A1": "ozon-sync mirror: read only"}
    assert ws["A1"].font.b and ws["B1"].font.b and not ws["A2"].font.b
    assert ws["B2"].number_format == "0.00"
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Номер", "Сумма"], ["a", 1.5], ["b", None], [None, None], ["c", 3]]
    assert ws.auto_filter.ref == "A1:B5"
    assert b'<dimension ref="A1:B5"' in parts[SHEET1] and b"<legacyDrawing" in parts[SHEET1]
    assert last_used_row(out, SHEET1) == 5
    emptied = replace_sheet_rows(data, SHEET1, [])
    assert grid(emptied, "Report") in ([], [[]]) and comments_of(load(emptied)["Report"])


# --- damaged input ------------------------------------------------------------------------------------------


def test_damaged_workbooks_and_missing_parts_raise_patch_error() -> None:
    data = orders_workbook(20)
    with pytest.raises(PatchError, match="not a readable"):
        patch(b"this is not a zip", SHEET1, {(1, 1): "x"})
    with pytest.raises(PatchError):
        sheets(data[: len(data) // 2])
    with pytest.raises(PatchError, match="xl/worksheets/sheet9.xml"):
        patch(data, "xl/worksheets/sheet9.xml", {(1, 1): "x"})
    with pytest.raises(PatchError, match="xl/worksheets/sheet1.xml"):
        last_used_row(rezip(data, {SHEET1: b"<worksheet"}), SHEET1)
    broken = rezip(data, {SHEET1: f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'.encode()})
    with pytest.raises(PatchError, match="sheet1.xml"):
        patch(broken, SHEET1, {(1, 1): "x"})
    disorder = minimal(f'<worksheet xmlns="{MAIN}"><sheetData><row r="3"/><row r="2"/></sheetData></worksheet>')
    with pytest.raises(PatchError, match="out of order"):
        patch(disorder, SHEET1, {(1, 1): "x"})
    with pytest.raises(PatchError, match="xl/styles.xml"):
        patch(data, "xl/styles.xml", {(1, 1): "x"})

    # A member whose stored bytes are damaged (its CRC no longer matches).
    info = next(i for i in infos(data) if i.filename == SHEET1)
    at = info.header_offset + 30 + len(info.filename) + 40
    corrupt = data[:at] + bytes(b ^ 0xFF for b in data[at:at + 16]) + data[at + 16:]
    with pytest.raises(PatchError, match="sheet1.xml"):
        patch(corrupt, SHEET1, {(1, 1): "x"})
    with pytest.raises(PatchError, match="workbook.xml"):
        sheets(rezip(data, {"xl/workbook.xml": b"<workbook"}))
