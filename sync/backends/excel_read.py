"""Reading the live tab with python-calamine: the grid of values (cached values for formulas) and its merged
ranges, the columns found by header text, and the rows a merged range keeps the sync from writing."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import python_calamine
from openpyxl.utils import get_column_letter

from sync.backends.base import header_index, renamed_tab
from sync.errors import SheetLayoutError, WorkbookError
from sync.mapping import Column, ColumnMap
from sync.model import Owner

SAVE_SETTLE = 0.5  # seconds to wait before deciding an unreadable workbook is damaged, not half-saved

Grid = list[list[Any]]  # the tab's values by row from A1, as calamine gives them
Merge = tuple[tuple[int, int], tuple[int, int]]  # ((first row, first col), (last row, last col)), 0-based
Wanted = list[tuple[str, Column, int]]  # (field, its column, its 0-based index in a grid row)


def calamine_grid(data: bytes, file_name: str, worksheet: str, columns: ColumnMap) -> tuple[Grid, list[Merge]]:
    """The sheet as rows of values from A1 (calamine gives cached values for formulas), and its merged
    ranges. ``file_name``: the workbook's, for messages."""
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own errors and plain ones for a damaged zip
        raise WorkbookError(
            f"The workbook {file_name} cannot be read ({exc}); it may be damaged: "
            f"restore a backup or move it away and run `ozon-sync init`"
        ) from None
    try:
        if worksheet not in wb.sheet_names:
            tabs = [(name, next(wb.get_sheet_by_name(name).iter_rows(), [])) for name in wb.sheet_names]
            raise SheetLayoutError(
                renamed_tab(worksheet, tabs, columns)
                or f"The workbook {file_name} has no sheet «{worksheet}»; "
                   f"run `ozon-sync init` to add it (or fix `worksheet:` in the config)"
            )
        try:
            sheet = wb.get_sheet_by_name(worksheet)
            return sheet.to_python(skip_empty_area=False), list(sheet.merged_cell_ranges or [])
        except Exception as exc:
            raise WorkbookError(f"The sheet «{worksheet}» cannot be read ({exc})") from None
    finally:
        wb.close()


def wanted_fields(grid: Grid, fields: Sequence[str], columns: ColumnMap,
                  worksheet: str) -> tuple[dict[str, int], Wanted]:
    """The header's columns, and (field, column, 0-based index) of the fields the sheet has."""
    if not grid or not any(v not in (None, "") for v in grid[0]):
        raise SheetLayoutError(
            f"The sheet «{worksheet}» has no header row; run `ozon-sync init` to lay it out"
        )
    idx = header_index(grid[0], columns)
    if columns.key.field not in idx:
        raise SheetLayoutError(
            f"The key column «{columns.key.header}» is missing from the header of «{worksheet}»; "
            f"restore it (or run `ozon-sync init`) before syncing"
        )
    return idx, [(f, c, idx[f]) for f in fields if f in idx and (c := columns.get(f)) is not None]


def blocked_rows(header: list[Any], merged: list[Merge], columns: ColumnMap, worksheet: str) -> dict[int, str]:
    """Rows the sync cannot write because a merged range covers one of their written cells (only a
    merge's top-left cell holds a value): row -> what to do, in words."""
    idx = header_index(header, columns)
    written = {i: c.header for f, i in idx.items() if (c := columns.get(f)) and c.owner is not Owner.STAFF}
    out: dict[int, str] = {}
    for (r0, c0), (r1, c1) in merged:
        covered = [(r, c) for r in range(max(r0, 1), r1 + 1) for c in range(c0, c1 + 1)
                   if (r, c) != (r0, c0) and c in written]
        if not covered:
            continue
        ref = f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}"
        headers = ", ".join(f"«{written[c]}»" for c in sorted({c for _r, c in covered}))
        why = (f"Cells {ref} of «{worksheet}» are merged over {headers}, and the sync cannot write into "
               f"merged cells: select {ref} and unmerge it (Excel: Home → Merge & Center → Unmerge Cells; "
               f"LibreOffice: Format → Merge and Unmerge Cells → Unmerge Cells). Until then rows "
               f"{r0 + 1}–{r1 + 1} are neither pushed nor written; the other rows are")
        for r, _c in covered:
            out[r + 1] = why
    return out
