"""Writing cells: ``patch`` sets cells and appends rows to a tab, ``replace_sheet_rows`` replaces the rows of
a tab of ours; the filter, the filter name and the calculation chain follow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sync.backends.xlsx.cells import Edits, Value, cell_bytes, clean_text, set_cell, unshare
from sync.backends.xlsx.dependents import calc_chain, filter_name
from sync.backends.xlsx.links import Link, set_links
from sync.backends.xlsx.markup import MAX_COL, MAX_ROW, check_cell, col_letters
from sync.backends.xlsx.package import Package, open_workbook
from sync.backends.xlsx.sheet import Row, norm_part, open_sheet


def patch(data: bytes, part: str, cells: Mapping[tuple[int, int], Value | Link],
          appends: Sequence[Mapping[int, Value | Link]] = (), *, filter_last_col: int | None = None) -> bytes:
    """The workbook with ``cells`` ({(row, col): value}) set and ``appends`` ({col: value} each) added as new
    rows after the last used row; the sheet's filter then covers every used row (and ``filter_last_col``).
    A :class:`Link` value writes its text and makes the cell a hyperlink to it (its old link replaced; none
    for "")."""
    part = norm_part(part)
    for row_num, col in cells:
        check_cell(row_num, col)
    pkg = Package(data)
    wb = open_workbook(pkg)
    sheet = open_sheet(pkg, part)
    last = sheet.last_used()
    wanted: dict[int, dict[int, Value]] = {}
    links: dict[tuple[int, int], str] = {}

    def want(row_num: int, col: int, value: Value | Link) -> None:
        if isinstance(value, Link):
            value = links[(row_num, col)] = clean_text(value.text)
        wanted.setdefault(row_num, {})[col] = value

    for (row_num, col), value in cells.items():
        want(row_num, col, value)
    for n, values in enumerate(appends, start=last + 1):
        for col, value in values.items():
            check_cell(n, col)
            want(n, col, value)
    edits = Edits(set(), [])
    box = sheet.dimension()
    for row_num in sorted(wanted):
        row = sheet.edit(row_num)
        for col in sorted(wanted[row_num]):
            set_cell(sheet, row, col, wanted[row_num][col], wb.date1904, edits)
        if row.cells:
            lo, hi = min(row.cells), max(row.cells)
            box = (min(box[0], row_num), min(box[1], lo), max(box[2], row_num), max(box[3], hi)) if box else \
                (row_num, lo, row_num, hi)
    if edits.shared:
        unshare(sheet, edits.shared)
    if not sheet.changed:
        return pkg.data
    sheet.set_dimension(box)
    changed: dict[str, bytes] = set_links(pkg, sheet, links)
    removed: list[str] = []
    new_filter = sheet.update_filter(sheet.last_used(), filter_last_col)
    if new_filter is not None:
        changed.update(filter_name(pkg, wb, part, new_filter))
    if edits.formulas_removed:
        gone = edits.formulas_removed
        more, removed = calc_chain(pkg, wb, part, lambda r, c: None if (r, c) in gone else (r, c))
        changed.update(more)
    changed[part] = sheet.render()
    return pkg.build(changed, removed)


def replace_sheet_rows(data: bytes, part: str, rows: Sequence[Sequence[Value]]) -> bytes:
    """The workbook with the whole ``<sheetData>`` of this (our own) tab replaced by ``rows`` (row 1 first).
    Cells take their column's style; row 1 keeps the styles its cells had. Everything else in the part
    (notes, column widths, protection...) stays."""
    part = norm_part(part)
    if len(rows) > MAX_ROW:
        raise ValueError(f"{len(rows)} rows do not fit in a worksheet")
    pkg = Package(data)
    wb = open_workbook(pkg)
    sheet = open_sheet(pkg, part)
    g = sheet.g
    header = sheet.row(1)
    out: list[bytes] = []
    box: tuple[int, int, int, int] | None = None
    last = 1
    for num, values in enumerate(rows, start=1):
        if len(values) > MAX_COL:
            raise ValueError(f"Row {num} has {len(values)} values; a worksheet has {MAX_COL} columns")
        row = Row(g, num, [(n, v) for n, v in header.attrs if n != b"spans"] if header and num == 1 else [], {})
        for col, value in enumerate(values, start=1):
            s = sheet.col_style(col)
            if num == 1 and header is not None:
                s = header.style(col) or s
            cell = cell_bytes(g, col_letters(col) + str(num).encode(), [(b"s", s)] if s else [], b"", value,
                               wb.date1904)
            if cell is not None:
                row.cells[col] = cell
        if row.cells:
            lo, hi = min(row.cells), max(row.cells)
            box = (min(box[0], num), min(box[1], lo), max(box[2], num), max(box[3], hi)) if box else (num, lo, num, hi)
            if row.has_value():
                last = num
            out.append(row.serialize())
    sheet.set_dimension(box)
    width = max((i + 1 for i, v in enumerate(rows[0]) if v not in (None, "")), default=0) if rows else 0
    changed: dict[str, bytes] = {}
    new_filter = sheet.update_filter(last, width or None)
    if new_filter is not None:
        changed.update(filter_name(pkg, wb, part, new_filter))
    more, removed = calc_chain(pkg, wb, part, lambda r, c: None)
    changed.update(more)
    changed[part] = sheet.render(b"".join(out))
    return pkg.build(changed, removed)
