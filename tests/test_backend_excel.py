"""The Excel backend: the shared contract on real .xlsx files, plus what only a file on disk has —
lock files, people saving under us, content openpyxl would lose, atomic saves, archives, conflict copies.

People edit with openpyxl load/save, the way Excel rewrites the whole file.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import time
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from sync.backends.base import SheetBackend
from sync.backends.excel import ExcelBackend
from sync.errors import SheetBusy, SheetLayoutError, WorkbookError
from sync.mapping import default_mapping_path, load_columns
from sync.model import CellWrite
from tests.backend_contract import ALL, COLUMNS, HEADERS, LAYOUT, BackendContract, H, Person, order
from tests.people import SHEET, ExcelPerson, text_of


class TestExcelContract(BackendContract):
    def make_backend(self, tmp_path: Path) -> SheetBackend:
        return ExcelBackend(tmp_path / "orders.xlsx", SHEET, COLUMNS)

    def person(self, backend: SheetBackend) -> Person:
        assert isinstance(backend, ExcelBackend)
        return ExcelPerson(backend.path, backend.worksheet)


# --- Excel only ---------------------------------------------------------------------------------------


@pytest.fixture
def book(tmp_path: Path) -> tuple[ExcelBackend, ExcelPerson]:
    backend = ExcelBackend(tmp_path / "orders.xlsx", SHEET, COLUMNS)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    backend.write([], [order("1-1-1"), order("2-2-2")])
    return backend, ExcelPerson(backend.path)


def col_letter(header: str, person: ExcelPerson) -> str:
    letter: str = get_column_letter(person.header().index(header) + 1)
    return letter


LO_LOCK = "Ivan Petrov,ivan,shop-pc,23.11.2026 12:03,file:///home/ivan/.config/libreoffice/4;"


def excel_owner_file(name: str) -> bytes:
    """What Excel writes into ``~$<workbook>``: a length byte + ANSI name, then the name in UTF-16."""
    data = bytearray(165)
    ansi = name.encode("cp1251")
    data[0] = len(ansi)
    data[1:1 + len(ansi)] = ansi
    data[54:56] = len(name).to_bytes(2, "little")
    utf16 = name.encode("utf-16-le")
    data[56:56 + len(utf16)] = utf16
    return bytes(data)


@pytest.mark.parametrize(
    ("lock_name", "content", "who"),
    [
        (".~lock.orders.xlsx#", LO_LOCK.encode(), "Ivan Petrov"),
        ("~$orders.xlsx", excel_owner_file("Мария Иванова"), "Мария Иванова"),
        ("~$ders.xlsx", excel_owner_file("Olga"), "Olga"),
    ],
    ids=["libreoffice", "excel", "excel-short-name"],
)
def test_a_lock_file_defers_every_change_and_names_who_holds_it(
    book: tuple[ExcelBackend, ExcelPerson], lock_name: str, content: bytes, who: str
) -> None:
    backend, _ = book
    backend.read(ALL)
    (backend.path.parent / lock_name).write_bytes(content)
    before = backend.path.read_bytes()
    holder = backend.lock_holder()
    assert holder is not None and who in holder
    with pytest.raises(SheetBusy, match=who):
        backend.write([CellWrite(2, "status", "Отменено")], [])
    with pytest.raises(SheetBusy):
        backend.ensure_layout(LAYOUT)
    with pytest.raises(SheetBusy):
        backend.archive_rows([2], "2026-10")
    assert backend.path.read_bytes() == before
    assert backend.read(ALL).rows[0].get("status") == "Новый"  # reading is fine while it is open
    (backend.path.parent / lock_name).unlink()
    assert backend.lock_holder() is None
    backend.write([CellWrite(2, "status", "Отменено")], [])
    assert backend.read(["status"]).rows[0].get("status") == "Отменено"


def test_libreoffice_lock_message_reads_like_a_sentence(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    (backend.path.parent / ".~lock.orders.xlsx#").write_text(LO_LOCK)
    assert backend.lock_holder() == (
        "The workbook is open in LibreOffice by Ivan Petrov (since 23.11.2026 12:03); writes wait until it is closed"
    )


def test_an_old_lock_file_says_it_may_be_stale(tmp_path: Path) -> None:
    backend = ExcelBackend(tmp_path / "orders.xlsx", SHEET, COLUMNS, clock=lambda: time.time() + 13 * 3600)
    backend.ensure_layout(LAYOUT)
    (tmp_path / "~$orders.xlsx").write_bytes(excel_owner_file("Olga"))
    holder = backend.lock_holder()
    assert holder is not None and "hours old" in holder and "~$orders.xlsx" in holder


def test_a_file_saved_since_the_read_is_not_overwritten(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    backend.read(ALL)
    person.set(2, H["status"], "Отменено")
    after_person = backend.path.read_bytes()
    with pytest.raises(SheetBusy, match="changed since it was read"):
        backend.write([CellWrite(3, "sync_note", "ok")], [order("3-3-3")])
    with pytest.raises(SheetBusy):
        backend.archive_rows([3], "2026-10")
    assert backend.path.read_bytes() == after_person
    backend.read(ALL)
    backend.write([CellWrite(3, "sync_note", "ok")], [])
    assert person.get(2, H["status"]) == "Отменено" and person.get(3, H["sync_note"]) == "ok"


def test_the_workbook_loaded_in_the_background_is_used_only_for_the_bytes_it_came_from(
        book: tuple[ExcelBackend, ExcelPerson]) -> None:
    """A read of a file someone saved starts loading it for the write; a change the person saves after
    that read is not lost by a save from the stale copy (ensure_layout saves without the read check)."""
    backend, person = book
    person.set(2, H["comment"], "first")
    backend.read(ALL)  # the person's save: the background load starts
    person.set(3, H["comment"], "second")  # saved again after our read
    backend.ensure_layout(LAYOUT)
    assert person.get(2, H["comment"]) == "first" and person.get(3, H["comment"]) == "second"
    person.set(2, H["status"], "Отменено")
    backend.read(ALL)
    backend.write([CellWrite(3, "sync_note", "ok")], [order("3-3-3")])  # from the workbook loaded meanwhile
    assert person.get(2, H["status"]) == "Отменено" and person.get(3, H["sync_note"]) == "ok"
    assert person.get(4, H["posting_number"]) == "3-3-3" and person.get(3, H["comment"]) == "second"


def test_an_empty_write_does_not_touch_the_file(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    backend.read(ALL)
    st, data = backend.path.stat(), backend.path.read_bytes()
    backend.write([], [])
    assert backend.path.read_bytes() == data and backend.path.stat().st_mtime_ns == st.st_mtime_ns


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + \
        chunk(b"IEND", b"")


def workbook_with(path: Path, extra: str) -> None:
    """A workbook a person made in Excel: our header, one order, and a picture or a chart."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    for i, header in enumerate(HEADERS):
        ws.write_string(0, i, header)
    ws.write_string(1, 0, "1-1-1")
    ws.write_number(1, HEADERS.index(H["quantity"]), 2)
    if extra == "picture":
        import io

        ws.insert_image("U2", "logo.png", {"image_data": io.BytesIO(tiny_png())})
    else:
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": f"='{SHEET}'!$I$2:$I$2"})
        ws.insert_chart("U2", chart)
    wb.close()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.parametrize("extra", ["picture", "chart"])
def test_a_workbook_with_a_picture_or_a_chart_is_written_and_keeps_it(tmp_path: Path, extra: str) -> None:
    """Writes patch the live tab's XML: every other part of the workbook stays byte for byte."""
    path = tmp_path / "orders.xlsx"
    workbook_with(path, extra)
    before = members(path.read_bytes())
    backend = ExcelBackend(path, SHEET, COLUMNS)
    assert [r.get("posting_number") for r in backend.read(ALL).rows] == ["1-1-1"]
    backend.write([CellWrite(2, "status", "Отменено")], [order("2-2-2")])
    backend.read(ALL)
    backend.archive_rows([2], "2026-10")
    after = members(path.read_bytes())
    live = "xl/worksheets/sheet1.xml"
    assert after.keys() == before.keys() and any(n.startswith(("xl/media/", "xl/charts/")) for n in after)
    assert {n: d for n, d in after.items() if n != live} == {n: d for n, d in before.items() if n != live}
    assert [r.get("posting_number") for r in backend.read(ALL).rows] == ["2-2-2"]
    assert openpyxl.load_workbook(path)[SHEET]["A2"].value == "2-2-2"


def test_staff_widths_formats_and_fonts_survive_saves(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    comment = col_letter(H["comment"], person)
    with person.edit() as ws:
        ws.column_dimensions[comment].width = 55
        cell = ws[f"{comment}2"]
        cell.value = 0.25
        cell.number_format = "0.00%"
        cell.font = Font(i=True, color="FF0000")
        ws[f"{col_letter(H['sync_note'], person)}3"].fill = PatternFill("solid", start_color="FFFF00")
    for _ in range(2):
        backend.read(ALL)
        backend.write([CellWrite(2, "status", "Доставляется")], [order(f"n-{time.monotonic_ns()}")])
    backend.ensure_layout(LAYOUT)
    ws = person.ws()
    assert ws.column_dimensions[comment].width == 55
    assert ws.column_dimensions["A"].width == 20  # from the mapping, when the column was created
    assert ws[f"{comment}2"].number_format == "0.00%" and ws[f"{comment}2"].value == 0.25
    assert ws[f"{comment}2"].font.i and ws[f"{comment}2"].font.color.rgb.endswith("FF0000")
    assert ws[f"{col_letter(H['sync_note'], person)}3"].fill.start_color.rgb.endswith("FFFF00")


def rules(person: ExcelPerson) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    ws = person.ws()
    validations = sorted((str(dv.sqref), str(dv.formula1)) for dv in ws.data_validations.dataValidation)
    colours = sorted((str(cf.sqref), str(rule.formula)) for cf in ws.conditional_formatting for rule in cf.rules)
    return validations, colours


def test_dropdowns_and_colours_are_kept_after_saves_and_never_duplicated(
    book: tuple[ExcelBackend, ExcelPerson],
) -> None:
    backend, person = book
    status = col_letter(H["status"], person)
    validations, colours = rules(person)
    assert [v[0] for v in validations] == sorted([f"{status}2:{status}100000",
                                                 f"{col_letter(H['cancel_reason'], person)}2:"
                                                 f"{col_letter(H['cancel_reason'], person)}100000"])
    assert len(colours) == len(LAYOUT.status_colours)
    for _ in range(3):
        backend.ensure_layout(LAYOUT)
        backend.read(ALL)
        backend.write([CellWrite(2, "sync_note", "x")], [])
    assert rules(person) == (validations, colours)
    wb = openpyxl.load_workbook(backend.path)
    lists = wb["_lists"]
    assert lists.sheet_state in ("hidden", "veryHidden")
    assert [c.value for c in lists["A"]] == LAYOUT.dropdowns["status"]
    assert len([n for n in wb.defined_names if n.startswith("ozon_sync_list_")]) == 2


def test_a_moved_status_column_takes_its_dropdown_and_colours_along(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    """Excel and LibreOffice move a column's rules with it; a move they did not carry (a script, as here)
    is mended by `ozon-sync init`, which lays our rules out again. Writes leave rules as they are."""
    backend, person = book
    person.move_column(H["status"], 0)
    backend.read(ALL)
    backend.write([CellWrite(2, "sync_note", "x")], [])
    backend.ensure_layout(LAYOUT)
    validations, colours = rules(person)
    assert ("A2:A100000", "ozon_sync_list_status") in validations
    assert {ref for ref, _ in colours} == {"A2:A100000"}


def test_text_cells_stay_text_in_the_file(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    backend.read(ALL)
    backend.write([CellWrite(2, "tracking_number", "0012345678"), CellWrite(2, "products", "=SUM(1)")], [])
    ws = person.ws()
    track = ws[f"{col_letter(H['tracking_number'], person)}2"]
    assert track.value == "0012345678" and track.data_type == "s" and track.number_format == "@"
    assert ws[f"{col_letter(H['products'], person)}2"].data_type == "s"
    assert isinstance(ws[f"{col_letter(H['total_price'], person)}2"].value, type(None))


def test_numbers_and_dates_are_stored_typed(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    backend.read(ALL)
    backend.write([], [order("3-3-3", quantity="4", total_price="99.90", in_process_at="2026-11-23 10:05")])
    ws = person.ws()
    assert ws[f"{col_letter(H['quantity'], person)}4"].value == 4
    assert ws[f"{col_letter(H['total_price'], person)}4"].value == pytest.approx(99.9)
    assert ws[f"{col_letter(H['in_process_at'], person)}4"].value == datetime(2026, 11, 23, 10, 5)


def test_control_characters_are_cleaned(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    backend.read(ALL)
    backend.write([CellWrite(2, "products", "a\x00b\x07c\x1fd\te")], [])
    assert backend.read(["products"]).rows[0].get("products") == "abcd\te"


def test_the_longest_cell_excel_allows_is_written(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    backend.read(ALL)
    backend.write([CellWrite(2, "products", "я" * 32767), CellWrite(3, "products", "x" * 40000)], [])
    got = {r.get("posting_number"): r.get("products") for r in backend.read(ALL).rows}
    assert got["1-1-1"] == "я" * 32767
    assert len(got["2-2-2"]) == 32767


def test_archive_workbook_has_the_header_and_the_moved_rows(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    person.set(3, H["comment"], "клиент вернёт")
    backend.read(ALL)
    backend.archive_rows([3], "2026-10")
    archive = backend.path.with_name("orders-archive-2026-10.xlsx")
    ws = openpyxl.load_workbook(archive)[SHEET]
    assert [c.value for c in ws[1]] == HEADERS
    assert text_of(ws.cell(row=2, column=1).value) == "2-2-2"
    assert ws.cell(row=2, column=HEADERS.index(H["comment"]) + 1).value == "клиент вернёт"
    assert [r[0] for r in person.rows()] == ["1-1-1"]
    backend.read(ALL)
    backend.write([CellWrite(2, "sync_note", "still writable")], [])  # the fingerprint followed the archive save


def test_conflict_copies_are_found_but_archives_are_not(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    folder = backend.path.parent
    copies = [
        "orders (1).xlsx",
        "orders-DESKTOP-AB12.xlsx",
        "orders (conflicted copy 2026-11-23).xlsx",
        "orders (Ivan's conflicted copy 2026-11-23).xlsx",
        "orders.sync-conflict-20261123-120300-ABCDEF.xlsx",
    ]
    others = ["orders-archive-2026-10.xlsx", "other.xlsx", "~$orders.xlsx", "orders.csv", "orders (1).csv"]
    for name in copies + others:
        (folder / name).write_bytes(b"x")
    assert backend.conflict_copies() == sorted(copies)


def test_saves_are_atomic_and_leave_no_temporary_files(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    for n in range(3):
        backend.read(ALL)
        backend.write([CellWrite(2, "sync_note", str(n))], [order(f"{n}-0-0")])
    backend.read(ALL)
    backend.archive_rows([2], "2026-10")
    names = sorted(p.name for p in backend.path.parent.iterdir())
    assert names == ["orders-archive-2026-10.xlsx", "orders.xlsx"]


def test_formulas_typed_by_a_person_read_without_crashing(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    with person.edit() as ws:
        ws[f"{col_letter(H['sync_note'], person)}2"] = "=1+1"  # openpyxl stores no cached value
    rows = backend.read(ALL).rows
    assert rows[0].get("sync_note") in ("", "2", "=1+1")


def test_cached_formula_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    for i, header in enumerate(HEADERS):
        ws.write_string(0, i, header)
    ws.write_string(1, 0, "1-1-1")
    ws.write_formula(1, HEADERS.index(H["quantity"]), "=2*3", None, 6)
    wb.close()
    rows = ExcelBackend(path, SHEET, COLUMNS).read(ALL).rows
    assert rows[0].get("quantity") == "6"


def test_appends_go_after_the_last_value_not_after_formatted_blank_rows(
    book: tuple[ExcelBackend, ExcelPerson],
) -> None:
    backend, person = book
    with person.edit() as ws:
        for r in range(4, 40):
            ws.cell(row=r, column=1).fill = PatternFill("solid", start_color="EEEEEE")
    backend.read(ALL)
    backend.write([], [order("3-3-3")])
    assert [r.row for r in backend.read(ALL).rows] == [2, 3, 4]


def test_missing_file_sheet_or_a_damaged_file_say_what_to_do(tmp_path: Path) -> None:
    backend = ExcelBackend(tmp_path / "orders.xlsx", SHEET, COLUMNS)
    with pytest.raises(SheetLayoutError, match="ozon-sync init"):
        backend.read(ALL)
    backend.ensure_layout(LAYOUT)
    with pytest.raises(SheetLayoutError, match="Orders"):
        ExcelBackend(backend.path, "Orders", COLUMNS).read(ALL)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(WorkbookError):
        ExcelBackend(broken, SHEET, COLUMNS).read(ALL)
    with pytest.raises(WorkbookError):
        ExcelBackend(broken, SHEET, COLUMNS).ensure_layout(LAYOUT)


def test_a_new_workbook_comes_from_the_template(tmp_path: Path) -> None:
    backend = ExcelBackend(tmp_path / "new" / "orders.xlsx", "Orders", COLUMNS)
    backend.ensure_layout(LAYOUT)
    wb = openpyxl.load_workbook(backend.path)
    assert wb.sheetnames == ["Orders", "_lists"]
    ws = wb["Orders"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b and ws["A1"].fill.start_color.rgb.endswith("F2F2F2")
    assert not ws[f"{get_column_letter(HEADERS.index(H['comment']) + 1)}1"].fill.fill_type
    assert ws.column_dimensions["A"].width == 20


def test_another_mapping_gets_its_own_header(tmp_path: Path) -> None:
    english = load_columns(default_mapping_path("en"))
    backend = ExcelBackend(tmp_path / "orders.xlsx", "Orders", english)
    backend.ensure_layout(LAYOUT)
    ws = openpyxl.load_workbook(backend.path)["Orders"]
    assert [c.value for c in ws[1]] == [c.header for c in english.columns]


def test_layout_adds_the_sheet_to_an_existing_workbook_and_leaves_other_sheets(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb["Notes"]["A1"] = "keep me"
    wb.save(path)
    backend = ExcelBackend(path, SHEET, COLUMNS)
    backend.ensure_layout(LAYOUT)
    wb = openpyxl.load_workbook(path)
    assert wb["Notes"]["A1"].value == "keep me"
    assert [c.value for c in wb[SHEET][1]] == HEADERS


def test_layout_rebolds_a_header_and_keeps_the_person_s_colour(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, person = book
    with person.edit() as ws:
        ws["B1"].font = Font(b=False, color="0000FF")
    backend.ensure_layout(LAYOUT)
    cell = person.ws()["B1"]
    assert cell.font.b and cell.font.color.rgb.endswith("0000FF")


def test_protection_when_asked_still_lets_people_sort_and_edit_their_columns(tmp_path: Path) -> None:
    from dataclasses import replace

    backend = ExcelBackend(tmp_path / "orders.xlsx", SHEET, COLUMNS)
    backend.ensure_layout(LAYOUT)
    backend.read(ALL)
    backend.write([], [order("1-1-1")])
    backend.ensure_layout(replace(LAYOUT, protect=True))
    person = ExcelPerson(backend.path)
    ws = person.ws()
    assert ws.protection.sheet and not ws.protection.sort and not ws.protection.autoFilter
    assert not ws[f"{col_letter(H['status'], person)}2"].protection.locked
    assert not ws[f"{col_letter(H['comment'], person)}2"].protection.locked
    assert ws["A2"].protection.locked


def test_notes_on_cells_do_not_block_saves(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    from openpyxl.comments import Comment

    backend, person = book
    with person.edit() as ws:
        ws["A2"].comment = Comment("звонил клиент", "Мария")
    backend.read(ALL)
    backend.write([CellWrite(2, "sync_note", "ok")], [])
    assert person.ws()["A2"].comment.text == "звонил клиент"


def test_a_workbook_caught_half_saved_is_busy_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    good = ExcelBackend(path, SHEET, COLUMNS)
    good.ensure_layout(LAYOUT)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 3])  # someone's save is half-way through

    def the_save_finishes(_: float) -> None:
        path.write_bytes(whole)

    backend = ExcelBackend(path, SHEET, COLUMNS, sleep=the_save_finishes)
    with pytest.raises(SheetBusy, match="being saved"):
        backend.read(ALL)
    assert backend.read(ALL).rows == []  # next cycle: read as usual
    path.write_bytes(b"PK\x03\x04 nothing more")  # really damaged: it does not change
    with pytest.raises(WorkbookError, match="damaged"):
        ExcelBackend(path, SHEET, COLUMNS, sleep=lambda s: None).read(ALL)


def test_saves_keep_the_workbook_s_mode_owner_and_group(book: tuple[ExcelBackend, ExcelPerson]) -> None:
    backend, _ = book
    backend.path.chmod(0o664)  # shared with the shop's group
    if os.geteuid() == 0:
        os.chown(backend.path, 4321, 4322)
    before = backend.path.stat()
    backend.read(ALL)
    backend.write([CellWrite(2, "sync_note", "saved")], [order("3-3-3")])
    backend.read(ALL)
    backend.archive_rows([2], "2026-10")
    after = backend.path.stat()
    assert after.st_ino != before.st_ino  # really replaced
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == \
        (0o664, before.st_uid, before.st_gid)


def test_temporary_files_of_a_killed_save_are_removed_at_start_and_nothing_else(tmp_path: Path) -> None:
    book = tmp_path / "orders.xlsx"
    strays = [".orders.a1B2c3_d.tmp", ".orders-archive-2026-10.zz99yy88.tmp"]
    kept = ["orders.xlsx", ".orders.xlsx.tmp", ".other.a1B2c3_d.tmp", "orders.a1B2c3_d.tmp", ".~lock.orders.xlsx#"]
    for name in strays + kept:
        (tmp_path / name).write_bytes(b"x")
    backend = ExcelBackend(book, SHEET, COLUMNS)
    assert sorted(backend.clean_up()) == sorted(strays)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
