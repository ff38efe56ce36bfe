"""One contract every SheetBackend passes, whatever stores the sheet (memory, .xlsx, Google).

A test module subclasses ``BackendContract`` and implements two hooks:

* ``make_backend(tmp_path)`` — a fresh backend for the default mapping (no sheet laid out yet);
* ``person(backend)`` — a ``Person``: what a shop worker does to the sheet between cycles, through the
  spreadsheet itself (Excel, the browser), never through the backend.

Tests follow the engine's rhythm: read, then write the rows that read returned; a person's edits
happen between cycles, so every write here comes after a fresh read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from sync.backends.base import Layout, SheetBackend
from sync.errors import SheetLayoutError
from sync.mapping import ColumnMap, load_columns
from sync.model import CellWrite

COLUMNS: ColumnMap = load_columns()
HEADERS = [c.header for c in COLUMNS.columns]
H = {c.field: c.header for c in COLUMNS.columns}  # field -> header text
LABELS = ["Новый", "Ожидает сборки", "Ожидает отгрузки", "Доставляется", "Отменено"]
LAYOUT = Layout(
    dropdowns={"status": LABELS, "cancel_reason": ["352 — Нет в наличии", "401 — Другое"]},
    status_colours={"Новый": "FFF2CC", "Ожидает отгрузки": "DDEBF7", "Отменено": "D9D9D9"},
)
ALL = [c.field for c in COLUMNS.columns]


class Person(Protocol):
    """Edits the sheet the way a person does. Rows are 1-based sheet rows (header = 1); cells are
    addressed by header text; values read back are the cell's text ("" when empty)."""

    def header(self) -> list[str]: ...

    def rows(self) -> list[list[str]]:
        """Every data row (row 2 down to the last non-empty row), as text, in header order."""
        ...

    def get(self, row: int, header: str) -> str: ...

    def set(self, row: int, header: str, value: str) -> None: ...

    def delete_row(self, row: int) -> None: ...

    def sort_by(self, header: str) -> None:
        """Sort the data rows by one column's text, ascending (header stays on top)."""
        ...

    def move_column(self, header: str, index: int) -> None:
        """Drag a whole column (header and cells) to 0-based position ``index``."""
        ...

    def delete_column(self, header: str) -> None: ...

    def archived(self, period: str) -> list[dict[str, str]]:
        """Rows in the archive for ``period``, as header text -> cell text."""
        ...


def order(key: str, **cells: str) -> dict[str, str]:
    """An appended row as the engine sends it."""
    row = {"posting_number": key, "order_number": key.rsplit("-", 1)[0], "scheme": "FBS", "status": "Новый"}
    row.update(cells)
    return row


class BackendContract:
    """Mix into a test class and implement the hooks."""

    def make_backend(self, tmp_path: Path) -> SheetBackend:
        raise NotImplementedError

    def person(self, backend: SheetBackend) -> Person:
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------------

    def laid_out(self, tmp_path: Path) -> tuple[SheetBackend, Person]:
        backend = self.make_backend(tmp_path)
        backend.ensure_layout(LAYOUT)
        return backend, self.person(backend)

    @staticmethod
    def append(backend: SheetBackend, *rows: dict[str, str]) -> None:
        backend.read(ALL)
        backend.write([], list(rows))

    @staticmethod
    def by_key(backend: SheetBackend, fields: list[str] | None = None) -> dict[str, dict[str, str]]:
        snap = backend.read(fields or ALL)
        return {r.get("posting_number"): {"row": str(r.row), **r.cells} for r in snap.rows}

    # --- layout -------------------------------------------------------------------------------

    def test_layout_creates_the_header_in_mapping_order(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        assert person.header() == HEADERS
        assert person.rows() == []
        snap = backend.read(ALL)
        assert snap.rows == [] and snap.missing == frozenset()

    def test_second_layout_changes_no_content(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"), order("2-2-2"))
        person.set(3, H["comment"], "позвонить")
        before = (person.header(), person.rows())
        backend.ensure_layout(LAYOUT)
        assert (person.header(), person.rows()) == before

    def test_layout_adds_a_missing_header_at_the_end_and_keeps_the_rest(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1", warehouse="Склад 1"))
        person.move_column(H["comment"], 0)
        person.delete_column(H["warehouse"])
        backend.ensure_layout(LAYOUT)
        header = person.header()
        assert header[0] == H["comment"]
        assert header[-1] == H["warehouse"]
        assert sorted(header) == sorted(HEADERS)
        assert person.get(2, H["posting_number"]) == "1-1-1"
        assert person.get(2, H["warehouse"]) == ""

    # --- read ---------------------------------------------------------------------------------

    def test_read_returns_rows_by_key_with_canonical_text(self, tmp_path: Path) -> None:
        backend, _ = self.laid_out(tmp_path)
        self.append(
            backend,
            order("1-1-1", total_price="1500.5", quantity="3", in_process_at="2026-11-23 10:05"),
            order("2-2-2", status="Отменено"),
        )
        got = self.by_key(backend)
        assert set(got) == {"1-1-1", "2-2-2"}
        one = got["1-1-1"]
        assert one["row"] == "2" and got["2-2-2"]["row"] == "3"
        assert one["total_price"] == "1500.50"
        assert one["quantity"] == "3"
        assert one["in_process_at"] == "2026-11-23 10:05"
        assert one["scheme"] == "FBS" and one["warehouse"] == ""
        assert got["2-2-2"]["status"] == "Отменено"

    def test_read_names_missing_headers_and_skips_empty_rows(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"), order("2-2-2"))
        person.delete_column(H["warehouse"])
        person.set(2, H["posting_number"], "")
        person.set(2, H["order_number"], "")
        person.set(2, H["scheme"], "")
        person.set(2, H["status"], "")
        snap = backend.read(["posting_number", "warehouse", "status"])
        assert snap.missing == frozenset({"warehouse"})
        assert [(r.row, r.get("posting_number")) for r in snap.rows] == [(3, "2-2-2")]
        assert "warehouse" not in snap.rows[0].cells

    def test_reordered_columns_are_still_found(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1", tracking_number="RA1"), order("2-2-2", status="Отменено"))
        before = self.by_key(backend)
        person.move_column(H["status"], 0)
        person.move_column(H["posting_number"], 5)
        assert self.by_key(backend) == before
        backend.write([CellWrite(3, "status", "Доставляется")], [])
        assert person.get(3, H["status"]) == "Доставляется"
        assert person.header()[0] == H["status"]

    def test_rows_sorted_by_a_person_are_read_at_their_new_rows(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("b-2-2", comment="x"), order("c-3-3"), order("a-1-1", tracking_number="T-A"))
        person.set(4, H["comment"], "для a")
        person.sort_by(H["posting_number"])
        got = self.by_key(backend)
        assert {k: v["row"] for k, v in got.items()} == {"a-1-1": "2", "b-2-2": "3", "c-3-3": "4"}
        assert got["a-1-1"]["tracking_number"] == "T-A"
        backend.write([CellWrite(2, "status", "Отменено")], [])
        assert person.get(2, H["posting_number"]) == "a-1-1"
        assert person.get(2, H["status"]) == "Отменено"
        assert person.get(2, H["comment"]) == "для a"

    def test_the_re_read_of_a_few_rows_sees_what_a_person_did_after_the_read(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1", tracking_number="RA1"), order("2-2-2"), order("3-3-3"))
        fields = ["posting_number", "status", "tracking_number", "warehouse"]
        snap = backend.read(fields)
        as_read = {r.row: tuple(r.get(f) for f in fields) for r in snap.rows}
        assert backend.read_rows(fields, [2, 4, 9]) == {2: as_read[2], 4: as_read[4]}  # row 9 is blank
        person.set(3, H["status"], "Отменено")
        person.move_column(H["status"], 0)
        assert backend.read_rows(fields, [3]) == {3: ("2-2-2", "Отменено", "", "")}
        person.delete_column(H["warehouse"])  # a field the sheet lacks reads as ""
        assert backend.read_rows(fields, [2]) == {2: ("1-1-1", "Новый", "RA1", "")}

    def test_missing_key_column_is_a_layout_error(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"))
        person.delete_column(H["posting_number"])
        with pytest.raises(SheetLayoutError):
            backend.read(ALL)

    # --- write --------------------------------------------------------------------------------

    def test_write_changes_only_the_named_cells(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"), order("2-2-2"), order("3-3-3"))
        person.set(3, H["comment"], "не трогать")
        before = person.rows()
        backend.read(ALL)
        backend.write([CellWrite(3, "status", "Ожидает отгрузки"), CellWrite(4, "sync_note", "ok")], [])
        after = person.rows()
        changed = {(r, c) for r in range(3) for c in range(len(HEADERS)) if before[r][c] != after[r][c]}
        assert changed == {(1, HEADERS.index(H["status"])), (2, HEADERS.index(H["sync_note"]))}
        assert person.get(3, H["status"]) == "Ожидает отгрузки"
        assert person.get(4, H["sync_note"]) == "ok"

    def test_appends_go_to_the_bottom_with_staff_columns_empty(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"))
        person.set(2, H["comment"], "первый")
        self.append(backend, order("2-2-2", comment="from the engine?"), order("3-3-3"))
        keys = [r[HEADERS.index(H["posting_number"])] for r in person.rows()]
        assert keys == ["1-1-1", "2-2-2", "3-3-3"]
        assert person.get(2, H["comment"]) == "первый"
        assert person.get(3, H["comment"]) == ""
        assert person.get(4, H["comment"]) == ""

    def test_a_staff_column_is_never_written(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"))
        person.set(2, H["comment"], "мой")
        backend.read(ALL)
        backend.write([CellWrite(2, "comment", "overwritten")], [])
        assert person.get(2, H["comment"]) == "мой"

    def test_formula_text_and_leading_zeros_round_trip_as_text(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("0012345678", tracking_number="0098765", products="=SUM(1)", warehouse="+7 (999)"))
        got = self.by_key(backend)["0012345678"]
        assert got["tracking_number"] == "0098765"
        assert got["products"] == "=SUM(1)"
        assert got["warehouse"] == "+7 (999)"
        assert person.get(2, H["products"]) == "=SUM(1)"
        assert person.get(2, H["posting_number"]) == "0012345678"
        backend.write([CellWrite(2, "sync_note", "=HYPERLINK(\"x\")")], [])
        assert self.by_key(backend)["0012345678"]["sync_note"] == "=HYPERLINK(\"x\")"

    def test_typed_values_round_trip_including_midnight(self, tmp_path: Path) -> None:
        backend, _person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1", in_process_at="2026-11-24 00:00", shipment_date="2026-11-24 17:45",
                                   quantity="3", total_price="1530.50"))
        got = self.by_key(backend)["1-1-1"]
        assert (got["in_process_at"], got["shipment_date"]) == ("2026-11-24 00:00", "2026-11-24 17:45")
        assert (got["quantity"], got["total_price"]) == ("3", "1530.50")

    def test_unicode_round_trips(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        text = "Ёлка «Зимняя» — 2 × 🎄, 中文, Ελληνικά"
        self.append(backend, order("1-1-1", products=text))
        assert self.by_key(backend)["1-1-1"]["products"] == text
        assert person.get(2, H["products"]) == text

    def test_empty_write_changes_nothing(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"))
        before = (person.header(), person.rows())
        backend.read(ALL)
        backend.write([], [])
        assert (person.header(), person.rows()) == before

    # --- archive ------------------------------------------------------------------------------

    def test_archive_moves_whole_rows_and_removes_them(self, tmp_path: Path) -> None:
        backend, person = self.laid_out(tmp_path)
        self.append(backend, order("1-1-1"), order("2-2-2", status="Отменено"), order("3-3-3"), order("4-4-4"))
        person.set(3, H["comment"], "вернуть деньги")
        backend.read(ALL)
        backend.archive_rows([5, 3], "2026-10")
        assert [r[0] for r in person.rows()] == ["1-1-1", "3-3-3"]
        archived = person.archived("2026-10")
        assert [a[H["posting_number"]] for a in archived] == ["2-2-2", "4-4-4"]
        assert archived[0][H["comment"]] == "вернуть деньги"
        assert archived[0][H["status"]] == "Отменено"
        assert set(self.by_key(backend)) == {"1-1-1", "3-3-3"}
        backend.archive_rows([2], "2026-10")
        assert [a[H["posting_number"]] for a in person.archived("2026-10")] == ["2-2-2", "4-4-4", "1-1-1"]
