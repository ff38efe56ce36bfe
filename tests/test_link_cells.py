"""``format: link`` columns: in Excel a real hyperlink (no formula) to the cell's text — a label's path relative
to the workbook's folder, or a URL — written by the lossless patch and by the openpyxl path alike, replaced
without leaving relationships behind, removed with "", moved or dropped with archived rows, and read back as
the text. LibreOffice opens the result and keeps what it saved."""

from __future__ import annotations

import io
import re
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sync.backends.base import TabContent
from sync.backends.excel import ExcelBackend
from sync.backends.memory import MemoryBackend
from sync.backends.xlsx import Link, link_target, patch
from sync.errors import ConfigError
from sync.mapping import Column, ColumnMap, load_columns
from sync.model import CellWrite, Owner
from tests.backend_contract import COLUMNS, LAYOUT, order
from tests.office import convert
from tests.people import SHEET
from tests.test_xlsx_patch import MAIN, REL, SHEET1, minimal

# The bundled mapping with a link column «Этикетка» at the end (whatever the bundled one says about it).
LINKED = ColumnMap((*(c for c in COLUMNS.columns if c.field != "label" and c.header != "Этикетка"),
                    Column("label", "Этикетка", Owner.DAEMON, "link", 30)), COLUMNS.language)
FIELDS = [c.field for c in LINKED.columns]
LIVE = "xl/worksheets/sheet1.xml"
RELS = "xl/worksheets/_rels/sheet1.xml.rels"
LABEL_1 = "labels/2026-12-03/12345678-0001-1.pdf"
LABEL_2 = "labels/2026-12-03/12345678-0002-1.pdf"
HYPERLINK_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def link_rels(path: Path) -> list[str]:
    """The targets of the live tab's hyperlink relationships."""
    rels = members(path).get(RELS, b"").decode()
    return [m[1] for m in re.finditer(r'<Relationship [^>]*?Target="([^"]*)"[^>]*/>', rels) if HYPERLINK_TYPE in m[0]]


def sheet(path: Path) -> Any:
    return openpyxl.load_workbook(path)[SHEET]


def label_cell(ws: Any, row: int) -> Any:
    return ws.cell(row=row, column=[c.value for c in ws[1]].index("Этикетка") + 1)


def labels(backend: ExcelBackend) -> dict[str, str]:
    return {r.get("posting_number"): r.get("label") for r in backend.read(FIELDS).rows}


@pytest.fixture
def book(tmp_path: Path) -> ExcelBackend:
    """Two postings appended, the first with its label."""
    backend = ExcelBackend(tmp_path / "orders.xlsx", SHEET, LINKED)
    backend.ensure_layout(LAYOUT)
    backend.read(FIELDS)
    backend.write([], [order("1-1-1", label=LABEL_1), order("2-2-2")])
    return backend


# --- the mapping -------------------------------------------------------------------------------------------


def test_the_mapping_accepts_format_link_and_names_it_among_the_formats(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("columns:\n  - {field: posting_number, header: Отправление, owner: key}\n"
                    "  - {field: label, header: Этикетка, owner: daemon, format: link, width: 30}\n", encoding="utf-8")
    col = load_columns(good).get("label")
    assert col is not None and col.format == "link"
    assert col.canonical(" labels/a.pdf ") == "labels/a.pdf" and col.typed("labels/a.pdf") == "labels/a.pdf"
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  - {field: posting_number, header: Отправление, owner: key, format: url}\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mapping.columns\[0\].format: 'url' is not one of .*money, link"):
        load_columns(bad)


def test_link_targets_are_relative_paths_or_urls() -> None:
    assert link_target(LABEL_1) == LABEL_1
    assert link_target("https://ozon.ru/label?id=1&a=b") == "https://ozon.ru/label?id=1&a=b"
    assert link_target("labels\\2026-12-03\\1 1.pdf") == "labels/2026-12-03/1%201.pdf"
    assert link_target("Этикетки/1.pdf") == "Этикетки/1.pdf"
    assert link_target("C:\\Shop\\labels\\1.pdf") == "file:///C:/Shop/labels/1.pdf"
    assert link_target("/srv/shop/labels/1.pdf") == "file:///srv/shop/labels/1.pdf"
    assert link_target("") == "" and link_target("https://ozon.ru/" + "x" * 3000) == ""  # too long for Excel


# --- the lossless patch ------------------------------------------------------------------------------------


def test_an_appended_row_gets_a_real_hyperlink_that_reads_back_as_its_text(book: ExcelBackend) -> None:
    ws = sheet(book.path)
    cell = label_cell(ws, 2)
    assert cell.value == LABEL_1 and cell.data_type == "s"  # text, not a formula
    assert cell.hyperlink is not None and cell.hyperlink.target == LABEL_1
    assert label_cell(ws, 3).hyperlink is None and label_cell(ws, 3).value is None
    assert cell.font.u == "single"  # the column's hyperlink look, laid out by init
    assert link_rels(book.path) == [LABEL_1]
    xml = members(book.path)[LIVE]
    assert b"<f>" not in xml and b'TargetMode="External"' in members(book.path)[RELS]
    # ECMA order: <hyperlinks> after the dropdowns and the colours, before the page margins.
    at = {name: xml.find(b"<" + name.encode()) for name in
          ("conditionalFormatting", "dataValidations", "hyperlinks", "pageMargins")}
    assert -1 not in at.values()
    assert at["conditionalFormatting"] < at["dataValidations"] < at["hyperlinks"] < at["pageMargins"]
    assert labels(book) == {"1-1-1": LABEL_1, "2-2-2": ""}
    book.ensure_layout(LAYOUT)  # init again saves through openpyxl: the link stays
    assert label_cell(sheet(book.path), 2).hyperlink.target == LABEL_1 and link_rels(book.path) == [LABEL_1]


def test_a_text_too_long_to_link_is_written_without_a_link(book: ExcelBackend) -> None:
    long = "https://ozon.ru/" + "x" * 3000
    book.read(FIELDS)
    book.write([CellWrite(2, "label", long)], [])
    cell = label_cell(sheet(book.path), 2)
    assert cell.value == long and cell.hyperlink is None and link_rels(book.path) == []


def test_a_new_value_replaces_the_link_and_an_empty_one_removes_it(book: ExcelBackend) -> None:
    book.read(FIELDS)
    book.write([CellWrite(2, "label", LABEL_2), CellWrite(3, "label", "https://ozon.ru/l/2")], [])
    ws = sheet(book.path)
    assert (label_cell(ws, 2).value, label_cell(ws, 2).hyperlink.target) == (LABEL_2, LABEL_2)
    assert label_cell(ws, 3).hyperlink.target == "https://ozon.ru/l/2"
    assert sorted(link_rels(book.path)) == sorted([LABEL_2, "https://ozon.ru/l/2"])  # the old one went
    assert labels(book) == {"1-1-1": LABEL_2, "2-2-2": "https://ozon.ru/l/2"}

    before = members(book.path)
    book.write([CellWrite(2, "label", LABEL_2)], [])  # the same link again: its relationship stays as it was
    assert members(book.path)[RELS] == before[RELS]

    book.read(FIELDS)
    book.write([CellWrite(2, "label", ""), CellWrite(3, "label", "")], [])
    ws = sheet(book.path)
    assert label_cell(ws, 2).hyperlink is None and label_cell(ws, 2).value is None
    assert label_cell(ws, 3).hyperlink is None
    assert link_rels(book.path) == []
    assert b"<hyperlinks" not in members(book.path)[LIVE]  # an empty block is not allowed
    assert labels(book) == {"1-1-1": "", "2-2-2": ""}


def test_a_staff_hyperlink_elsewhere_stays_when_ours_change(book: ExcelBackend) -> None:
    wb = openpyxl.load_workbook(book.path)
    ws = wb[SHEET]
    comment = [c.value for c in ws[1]].index("Комментарий") + 1
    ws.cell(row=3, column=comment, value="договор").hyperlink = "https://example.com/contract"
    wb.save(book.path)
    book.read(FIELDS)
    book.write([CellWrite(2, "label", "")], [order("3-3-3", label=LABEL_2)])
    ws = sheet(book.path)
    assert ws.cell(row=3, column=comment).hyperlink.target == "https://example.com/contract"
    assert label_cell(ws, 4).hyperlink.target == LABEL_2 and label_cell(ws, 2).hyperlink is None
    assert sorted(link_rels(book.path)) == sorted(["https://example.com/contract", LABEL_2])


def test_archived_rows_take_their_links_along_and_the_rows_below_keep_theirs(book: ExcelBackend) -> None:
    book.read(FIELDS)
    book.write([CellWrite(3, "label", LABEL_2)], [order("3-3-3", label="https://ozon.ru/l/3")])
    book.read(FIELDS)
    book.archive_rows([2], "2026-12")
    ws = sheet(book.path)
    assert label_cell(ws, 2).hyperlink.target == LABEL_2 and label_cell(ws, 2).value == LABEL_2
    assert label_cell(ws, 3).hyperlink.target == "https://ozon.ru/l/3"
    assert sorted(link_rels(book.path)) == sorted([LABEL_2, "https://ozon.ru/l/3"])  # the archived one's went
    archived = label_cell(openpyxl.load_workbook(book.archive_path("2026-12"))[SHEET], 2)
    assert (archived.value, archived.hyperlink.target) == (LABEL_1, LABEL_1)  # beside the workbook: still finds it
    assert labels(book) == {"2-2-2": LABEL_2, "3-3-3": "https://ozon.ru/l/3"}


def test_a_workbook_without_relationships_for_its_sheet_gets_them(tmp_path: Path) -> None:
    """A file saved without any link has no rels part for its sheet: the first link creates it."""
    backend = ExcelBackend(tmp_path / "orders.xlsx", SHEET, LINKED)
    backend.ensure_layout(LAYOUT)
    backend.read(FIELDS)
    backend.write([], [order("1-1-1")])
    assert RELS not in members(backend.path)
    backend.read(FIELDS)
    backend.write([CellWrite(2, "label", LABEL_1)], [])
    assert link_rels(backend.path) == [LABEL_1]
    assert label_cell(sheet(backend.path), 2).hyperlink.target == LABEL_1


def test_the_patch_places_links_in_schema_order_in_a_prefixed_sheet() -> None:
    """A hand-written sheet (prefix x:, r: declared on the root): <hyperlinks> goes after the conditional
    formatting, past the extLst nested in its rule, and before the sheet's own extLst."""
    nested = '<x:cfRule type="expression" priority="1"><x:formula>A1&gt;1</x:formula><x:extLst><x:ext uri="{B}"/>' \
             '</x:extLst></x:cfRule>'
    xml = (f'<x:worksheet xmlns:x="{MAIN}" xmlns:r="{REL}"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr">'
           f'<x:is><x:t>Key</x:t></x:is></x:c></x:row><x:row r="2"><x:c r="A2"><x:v>1</x:v></x:c></x:row></x:sheetData>'
           f'<x:conditionalFormatting sqref="A1">{nested}'
           f'</x:conditionalFormatting><x:extLst><x:ext uri="{{A}}"/></x:extLst></x:worksheet>')
    data = patch(minimal(xml), SHEET1, {(2, 2): Link("labels/x.pdf")}, [{1: "k", 2: Link("https://ozon.ru/y")}])
    out = zipfile.ZipFile(io.BytesIO(data))
    part = out.read(SHEET1)
    links = re.findall(rb'<x:hyperlink ref="(\w+)" r:id="(rId\d+)"/>', part)
    assert [ref for ref, _rid in links] == [b"B2", b"B3"]
    assert part.index(b"</x:conditionalFormatting><x:hyperlinks>") < part.index(b"</x:hyperlinks><x:extLst>")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl says it would drop the unknown extensions
        ws = openpyxl.load_workbook(io.BytesIO(data))["S"]
    assert (ws["B2"].value, ws["B2"].hyperlink.target) == ("labels/x.pdf", "labels/x.pdf")
    assert (ws["B3"].value, ws["B3"].hyperlink.target) == ("https://ozon.ru/y", "https://ozon.ru/y")
    assert out.read("[Content_Types].xml") == zipfile.ZipFile(io.BytesIO(minimal(xml))).read("[Content_Types].xml")
    cleared = patch(data, SHEET1, {(2, 2): Link(""), (3, 2): Link("")})
    part = zipfile.ZipFile(io.BytesIO(cleared)).read(SHEET1)
    assert b"hyperlink" not in part and b"</x:conditionalFormatting><x:extLst>" in part
    assert b"Relationship " not in zipfile.ZipFile(io.BytesIO(cleared)).read(RELS)


# --- the openpyxl path (a read-only tab made the first time) -----------------------------------------------


def test_the_openpyxl_path_writes_the_same_links(book: ExcelBackend) -> None:
    book.read(FIELDS)
    tab = TabContent("FBO", ColumnMap((Column("posting_number", "Отправление", Owner.KEY),)),
                     ({"posting_number": "0012-1"},))
    book.stage_tab(tab)  # a tab the workbook lacks: this write goes through openpyxl
    book.write([CellWrite(2, "label", LABEL_2), CellWrite(3, "label", LABEL_1)], [order("3-3-3", label=LABEL_1)])
    assert "FBO" in openpyxl.load_workbook(book.path).sheetnames
    ws = sheet(book.path)
    assert [label_cell(ws, r).hyperlink.target for r in (2, 3, 4)] == [LABEL_2, LABEL_1, LABEL_1]
    assert label_cell(ws, 2).value == LABEL_2 and label_cell(ws, 2).data_type == "s"
    assert sorted(link_rels(book.path)) == sorted([LABEL_2, LABEL_1, LABEL_1])  # one per cell, none stale
    book.read(FIELDS)
    book.stage_tab(TabContent("Returns", tab.columns, ()))
    book.write([CellWrite(3, "label", "")], [])
    assert label_cell(sheet(book.path), 3).hyperlink is None
    assert sorted(link_rels(book.path)) == sorted([LABEL_2, LABEL_1])
    assert labels(book) == {"1-1-1": LABEL_2, "2-2-2": "", "3-3-3": LABEL_1}


def test_the_memory_backend_keeps_the_text_as_it_is() -> None:
    backend = MemoryBackend(LINKED)
    backend.ensure_layout(LAYOUT)
    backend.read(FIELDS)
    backend.write([], [order("1-1-1", label=LABEL_1)])
    assert backend.read(FIELDS).rows[0].get("label") == LABEL_1


# --- LibreOffice ---------------------------------------------------------------------------------------------


@pytest.mark.slow  # LibreOffice runs take several seconds
def test_libreoffice_opens_the_links_and_keeps_them_when_it_saves(book: ExcelBackend, tmp_path: Path) -> None:
    book.read(FIELDS)
    book.write([CellWrite(3, "label", "https://ozon.ru/l/2")], [])
    profile = tmp_path / "lo-profile"
    (pdf,) = convert([book.path], "pdf", tmp_path / "pdf", profile=profile)  # opens without repair
    assert pdf.stat().st_size > 0
    (saved,) = convert([book.path], "xlsx", tmp_path / "lo", profile=profile)
    ws = sheet(saved)
    # LibreOffice took the link as relative to the workbook's folder: saved elsewhere, it still finds the file.
    assert label_cell(ws, 2).value == LABEL_1
    assert opens(saved, label_cell(ws, 2)) == opens(book.path, label_cell(sheet(book.path), 2)) == \
        (tmp_path / LABEL_1).resolve()
    assert label_cell(ws, 3).hyperlink.target == "https://ozon.ru/l/2"

    # A person saved the workbook in LibreOffice; our next writes replace, add and remove links in its XML.
    shutil.copy(saved, book.path)
    book.read(FIELDS)
    book.write([CellWrite(2, "label", LABEL_2)], [order("3-3-3", label=LABEL_1)])
    ws = sheet(book.path)
    assert [label_cell(ws, r).hyperlink.target for r in (2, 3, 4)] == [LABEL_2, "https://ozon.ru/l/2", LABEL_1]
    assert sorted(link_rels(book.path)) == sorted([LABEL_2, "https://ozon.ru/l/2", LABEL_1])
    book.read(FIELDS)
    book.write([CellWrite(3, "label", "")], [])
    assert sorted(link_rels(book.path)) == sorted([LABEL_2, LABEL_1])
    assert labels(book) == {"1-1-1": LABEL_2, "2-2-2": "", "3-3-3": LABEL_1}
    (again,) = convert([book.path], "xlsx", tmp_path / "lo-again", profile=profile)
    ws = sheet(again)
    assert [opens(again, label_cell(ws, r)) for r in (2, 3, 4)] == \
        [(tmp_path / LABEL_2).resolve(), None, (tmp_path / LABEL_1).resolve()]


def opens(workbook: Path, cell: Any) -> Path | None:
    """The file a cell's relative link opens, from the workbook's folder."""
    return (workbook.parent / cell.hyperlink.target).resolve() if cell.hyperlink else None
