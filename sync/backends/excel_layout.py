"""Laying out the live tab with openpyxl (``init``, and the first save of a new workbook): the header row, bold
and the Ozon-owned columns shaded, column formats, dropdowns from a hidden lists sheet, status colours, the
filter, the frozen header and, when asked, sheet protection. Only the header and our own rules are touched."""

from __future__ import annotations

import re
from copy import copy
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties

from sync.backends.base import OZON_SHADE, Layout, header_index, renamed_tab
from sync.backends.excel_openpyxl import (
    LISTS_SHEET,
    format_column,
    header_values,
    last_used_row,
    load,
    template_bytes,
    update_filter,
)
from sync.errors import SheetLayoutError
from sync.mapping import ColumnMap
from sync.model import Owner

LIST_NAME_PREFIX = "ozon_sync_list_"
LAST_LAYOUT_ROW = 100000  # dropdowns and colours cover rows 2..this; also how we recognise our own rules


def lay_out(wb: Any, ws: Any, layout: Layout, columns: ColumnMap) -> None:
    """The header, our rules, the filter, the frozen header and (``layout.protect``) protection on ``ws``."""
    idx = _lay_header(ws, columns)
    _apply_rules(wb, ws, layout, idx)
    update_filter(ws)
    if ws.freeze_panes is None:
        ws.freeze_panes = "A2"
    _print_setup(ws)
    if layout.protect:
        _protect(ws, idx, columns)


def new_workbook(template: Path | None, worksheet: str, columns: ColumnMap, path: Path) -> Any:
    """A new workbook from the template when its header is the mapping's, else a blank one."""
    data = template_bytes(template)
    if data is not None:
        wb = load(data, path)
        ws = wb.worksheets[0]
        headers = [str(v).strip() for v in header_values(ws) if v is not None]
        if len(wb.worksheets) == 1 and headers == [c.header for c in columns.columns]:
            ws.title = worksheet
            wb.template = False
            return wb
    wb = openpyxl.Workbook()
    wb.active.title = worksheet
    return wb


def renamed_refusal(wb: Any, worksheet: str, columns: ColumnMap) -> str | None:
    """The refusal when the live tab is there under another name (see renamed_tab)."""
    return renamed_tab(worksheet, [(ws.title, header_values(ws)) for ws in wb.worksheets], columns)


def sheet_for_layout(wb: Any, worksheet: str, columns: ColumnMap) -> Any:
    """The live tab, made when missing (the one empty sheet of a new workbook is renamed to it)."""
    if worksheet in wb.sheetnames:
        return wb[worksheet]
    renamed = renamed_refusal(wb, worksheet, columns)
    if renamed:  # a second, empty live tab would strand what is typed in the renamed one
        raise SheetLayoutError(renamed)
    sheets = [s for s in wb.worksheets if s.title != LISTS_SHEET]
    if len(sheets) == 1 and sheets[0].max_row == 1 and sheets[0].max_column == 1 and sheets[0]["A1"].value is None:
        sheets[0].title = worksheet
        return sheets[0]
    return wb.create_sheet(worksheet)


def _print_setup(ws: Any) -> None:
    """Printed as staff read it: landscape, every column on two pages' width (on one, twenty columns print
    too small to read), the header row and the posting number on each page. A person's own settings stay."""
    setup = ws.page_setup
    if setup.orientation is None:
        setup.orientation = "landscape"
    if not ws.sheet_properties.pageSetUpPr or ws.sheet_properties.pageSetUpPr.fitToPage is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        setup.fitToWidth, setup.fitToHeight = 2, 0
    if not ws.print_title_rows:
        ws.print_title_rows = "1:1"
    if not ws.print_title_cols:
        ws.print_title_cols = "A:A"


def _lay_header(ws: Any, columns: ColumnMap) -> dict[str, int]:
    """Add missing header cells at the end of row 1 (never moving, renaming or clearing one) and
    style the mapped ones: bold, Ozon-owned shaded. Widths only for columns created now."""
    header = header_values(ws)
    found = header_index(header, columns)
    next_col = max((i + 1 for i, v in enumerate(header) if v not in (None, "")), default=0) + 1
    idx = {f: i + 1 for f, i in found.items()}
    for col in columns.columns:
        if col.field in idx:
            continue
        ws.cell(row=1, column=next_col, value=col.header).data_type = "s"
        if col.width:
            ws.column_dimensions[get_column_letter(next_col)].width = col.width
        idx[col.field] = next_col
        next_col += 1
    shade = PatternFill(start_color=OZON_SHADE, end_color=OZON_SHADE, fill_type="solid")
    for col in columns.columns:
        cell = ws.cell(row=1, column=idx[col.field])
        if not cell.font.b:
            font = copy(cell.font)
            font.b = True
            cell.font = font
        if col.owner in (Owner.OZON, Owner.KEY) and cell.fill.fill_type is None:
            cell.fill = shade
        # A column-wide Text format keeps what people type there text; a date column's format makes the
        # rows a later write adds show dates.
        if col.format != "text" or col.owner in (Owner.KEY, Owner.BOTH):
            format_column(ws, get_column_letter(idx[col.field]), col)
    return idx


def _apply_rules(wb: Any, ws: Any, layout: Layout, idx: dict[str, int]) -> None:
    """Dropdowns from the hidden lists sheet and colours per status label; ours are removed and
    re-added each time so nothing duplicates and a moved column takes its rules along."""
    lists = _write_lists(wb, layout)
    ws.data_validations.dataValidation = [
        dv for dv in ws.data_validations.dataValidation if not _ours_validation(dv)
    ]
    for field, name in lists.items():
        if field not in idx:
            continue
        letter = get_column_letter(idx[field])
        dv = DataValidation(type="list", formula1=name, allow_blank=True, showErrorMessage=True,
                            errorStyle="warning", showDropDown=False)
        dv.error = "This value is not in the list; the sync will check it and note the row if it cannot be used."
        dv.errorTitle = "Not in the list"
        dv.add(f"{letter}2:{letter}{LAST_LAYOUT_ROW}")
        ws.add_data_validation(dv)
    _apply_colours(ws, layout, idx)


def _ours_validation(dv: Any) -> bool:
    formula = str(dv.formula1 or "")
    return formula.startswith(LIST_NAME_PREFIX) or LISTS_SHEET in formula


def _write_lists(wb: Any, layout: Layout) -> dict[str, str]:
    """One column per dropdown on a hidden sheet, each behind a defined name: a standard
    validation that points at a name survives Excel and openpyxl alike."""
    if LISTS_SHEET in wb.sheetnames:
        sheet = wb[LISTS_SHEET]
        sheet.delete_cols(1, sheet.max_column + 1)
    else:
        sheet = wb.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    for name in [n for n in wb.defined_names if n.startswith(LIST_NAME_PREFIX)]:
        del wb.defined_names[name]
    names: dict[str, str] = {}
    column = 0
    for field, values in layout.dropdowns.items():
        if not values:
            continue
        column += 1
        letter = get_column_letter(column)
        for r, value in enumerate(values, start=1):
            sheet.cell(row=r, column=column, value=value).data_type = "s"
        name = f"{LIST_NAME_PREFIX}{field}"
        wb.defined_names[name] = DefinedName(name, attr_text=f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(values)}")
        names[field] = name
    return names


def _apply_colours(ws: Any, layout: Layout, idx: dict[str, int]) -> None:
    ours = re.compile(rf"^[A-Z]+2:[A-Z]+{LAST_LAYOUT_ROW}$")
    kept: list[tuple[str, Any]] = []
    for cf in ws.conditional_formatting:
        ref = str(cf.sqref)
        for rule in cf.rules:
            if not (ours.match(ref) and rule.type == "cellIs"):
                kept.append((ref, rule))
    ws.conditional_formatting = ConditionalFormattingList()
    for ref, rule in kept:
        ws.conditional_formatting.add(ref, rule)
    if "status" not in idx:
        return
    letter = get_column_letter(idx["status"])
    ref = f"{letter}2:{letter}{LAST_LAYOUT_ROW}"
    for label, colour in layout.status_colours.items():
        fill = PatternFill(start_color=colour, end_color=colour, fill_type="solid")
        quoted = '"' + label.replace('"', '""') + '"'
        ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[quoted], fill=fill))


def _protect(ws: Any, idx: dict[str, int], columns: ColumnMap) -> None:
    """Sheet protection that still lets people sort, filter and edit staff and shared columns."""
    ws.protection.sheet = True
    for attr in ("sort", "autoFilter", "formatColumns", "formatRows", "insertRows", "deleteRows"):
        setattr(ws.protection, attr, False)
    last = last_used_row(ws)
    for col in columns.columns:
        if col.owner in (Owner.STAFF, Owner.BOTH) and col.field in idx:
            c = idx[col.field]
            ws.column_dimensions[get_column_letter(c)].protection = Protection(locked=False)
            for r in range(2, last + 1):
                ws.cell(row=r, column=c).protection = Protection(locked=False)
