"""Rows and columns that move: inserting, deleting and sorting shift the cells and everything anchored
to them (row and column properties, protected ranges, conditional formats, the basic filter)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sync.emulators.server import Json
from sync.emulators.sheets.cells import render
from sync.emulators.sheets.errors import bad
from sync.emulators.sheets.model import Sheet

DIMENSIONS = ("ROWS", "COLUMNS")


def _shift_ranges(sheet: Sheet, ranges: list[Json], dimension: str, fn: Callable[[int], int]) -> list[Json]:
    """Move GridRanges of this sheet; drop the ones that became empty."""
    start_key, end_key = ("startRowIndex", "endRowIndex") if dimension == "ROWS" else \
        ("startColumnIndex", "endColumnIndex")
    kept = []
    for gr in ranges:
        if int(gr.get("sheetId", 0)) == sheet.sheet_id:
            if start_key in gr:
                gr[start_key] = fn(int(gr[start_key]))
            if end_key in gr:
                gr[end_key] = fn(int(gr[end_key]))
            if start_key in gr and end_key in gr and gr[start_key] >= gr[end_key]:
                continue
            if not gr.get(start_key):
                gr.pop(start_key, None)
        kept.append(gr)
    return kept


def _shift(sheet: Sheet, dimension: str, cell_fn: Callable[[int], int | None], edge_fn: Callable[[int], int]) -> None:
    """Move cells and properties by ``cell_fn`` (None: gone), range edges by ``edge_fn``."""
    axis = 0 if dimension == "ROWS" else 1
    moved: dict[tuple[int, int], Json] = {}
    for key, cell in sheet.cells.items():
        new = cell_fn(key[axis])
        if new is not None:
            moved[(new, key[1]) if axis == 0 else (key[0], new)] = cell
    sheet.cells = moved
    dims: dict[int, Json] = {}
    for i, props in sheet.dims[dimension].items():
        new = cell_fn(i)
        if new is not None:
            dims[new] = props
    sheet.dims[dimension] = dims
    sheet.protected = [p for p in sheet.protected
                       if "range" not in p or _shift_ranges(sheet, [p["range"]], dimension, edge_fn)]
    rules = []
    for rule in sheet.conditional:
        rule["ranges"] = _shift_ranges(sheet, rule.get("ranges", []), dimension, edge_fn)
        if rule["ranges"]:
            rules.append(rule)
    sheet.conditional = rules
    if sheet.basic_filter is not None and "range" in sheet.basic_filter:
        if not _shift_ranges(sheet, [sheet.basic_filter["range"]], dimension, edge_fn):
            sheet.basic_filter = None


def insert_dimension(sheet: Sheet, dimension: str, start: int, end: int, inherit_before: bool) -> None:
    """New empty rows (columns) [start, end) taking the formats and validation of their neighbour."""
    count = end - start
    limit = sheet.rows if dimension == "ROWS" else sheet.cols
    if count <= 0 or start < 0 or start > limit:
        raise bad(f"Invalid dimension range: startIndex {start}, endIndex {end} (the grid has {limit}).")
    if inherit_before and start == 0:
        raise bad("Cannot inherit from before when inserting at index 0.")
    axis = 0 if dimension == "ROWS" else 1
    source = start - 1 if inherit_before else start
    template = {k[1 - axis]: {f: copy.deepcopy(v) for f, v in cell.items()
                              if f in ("userEnteredFormat", "dataValidation")}
                for k, cell in sheet.cells.items() if k[axis] == source}
    _shift(sheet, dimension, lambda x: x if x < start else x + count,
           lambda x: x + count if x > start or (x == start and not inherit_before and x > 0) else x)
    for i in range(start, end):
        for other, cell in template.items():
            if cell:
                sheet.cells[(i, other) if axis == 0 else (other, i)] = copy.deepcopy(cell)
    key = "rowCount" if dimension == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] += count


def delete_dimension(sheet: Sheet, dimension: str, start: int, end: int) -> None:
    """Rows (columns) [start, end) gone, the rest moving up (left); never all of them."""
    limit = sheet.rows if dimension == "ROWS" else sheet.cols
    end = min(end, limit)
    if start < 0 or end <= start:
        raise bad(f"Invalid dimension range: startIndex {start}, endIndex {end}.")
    if start == 0 and end >= limit:
        what = "rows" if dimension == "ROWS" else "columns"
        raise bad(f"You can't delete all the {what} on the sheet.")
    count = end - start
    _shift(sheet, dimension, lambda x: x if x < start else None if x < end else x - count,
           lambda x: x if x <= start else max(start, x - count))
    key = "rowCount" if dimension == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] -= count
    grid = sheet.props["gridProperties"]
    frozen = "frozenRowCount" if dimension == "ROWS" else "frozenColumnCount"
    if grid.get(frozen, 0) > grid[key]:
        grid[frozen] = grid[key]


def sort_rows(sheet: Sheet, col: int, first: int, reverse: bool) -> bool:
    """Rows from ``first`` (0-based) to the last filled one sorted by column ``col``, as a person sorts a
    range in the browser: whole rows move, formats and validation with them; empty keys go last.
    False when there was nothing to sort."""
    end = sheet.last_row()
    if end <= first:
        return False
    rows = {r: {c: cell for (rr, c), cell in sheet.cells.items() if rr == r} for r in range(first, end)}

    def key(r: int) -> tuple[int, int, Any]:
        value = render(rows[r].get(col), "UNFORMATTED_VALUE")
        if value == "":
            return (2, 0, "")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, 0, value)
        return (1, 0, str(value).lower())

    filled = sorted((r for r in rows if key(r)[0] < 2), key=key, reverse=reverse)
    order = filled + [r for r in rows if key(r)[0] == 2]
    for (r, c) in [k for k in sheet.cells if first <= k[0] < end]:
        del sheet.cells[(r, c)]
    for new_r, old_r in enumerate(order, start=first):
        for c, cell in rows[old_r].items():
            sheet.cells[(new_r, c)] = cell
    return True
