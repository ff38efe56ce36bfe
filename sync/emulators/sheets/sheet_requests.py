"""``spreadsheets.batchUpdate`` requests on the book's shape: tabs (add, delete, properties), the
spreadsheet's properties, and rows and columns (append, insert, delete, properties, auto-resize)."""

from __future__ import annotations

import copy

from sync.emulators.server import Json
from sync.emulators.sheets.dimensions import DIMENSIONS, delete_dimension, insert_dimension
from sync.emulators.sheets.errors import bad
from sync.emulators.sheets.fields import masked_update, parse_fields, required_mask
from sync.emulators.sheets.model import Book, Sheet, Workbooks
from sync.emulators.sheets.routing import Request
from sync.emulators.sheets.spreadsheet import sheet_props

SHEET_FIELDS = frozenset({"*", "title", "index", "hidden", "gridProperties", "tabColor", "rightToLeft"})


def _add_sheet(store: Workbooks, book: Book, p: Json) -> Json:
    sheet = store.add_sheet(book, p.get("properties") or {})
    return {"addSheet": {"properties": sheet_props(book, sheet)}}


def _delete_sheet(store: Workbooks, book: Book, p: Json) -> Json:
    sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
    if len(book.sheets) == 1:
        raise bad("You can't remove all the sheets in a document.")
    if all(s.props.get("hidden") for s in book.sheets if s is not sheet):
        raise bad("You can't remove all the visible sheets in a document.")
    book.sheets.remove(sheet)
    return {}


def _update_sheet_properties(store: Workbooks, book: Book, p: Json) -> Json:
    props = p.get("properties") or {}
    sheet = book.sheet_by_id(int(props.get("sheetId", 0)))
    mask = required_mask(p)
    unknown = set(mask) - SHEET_FIELDS
    if unknown:
        raise bad(f"Unsupported field(s) in the mask: {', '.join(sorted(unknown))}")
    current = sheet_props(book, sheet)
    new = copy.deepcopy(current)
    masked_update(new, dict(props, sheetId=sheet.sheet_id), {k: v for k, v in mask.items()})
    new["sheetId"], new["sheetType"] = sheet.sheet_id, "GRID"
    grid = new.setdefault("gridProperties", {})
    rows, cols = int(grid.get("rowCount") or 0), int(grid.get("columnCount") or 0)
    if rows < 1 or cols < 1:
        raise bad("The grid must have at least one row and one column.")
    for key, limit in (("frozenRowCount", rows), ("frozenColumnCount", cols)):
        if int(grid.get(key, 0)) > limit:
            raise bad(f"Invalid {key}: it exceeds the grid size ({limit}).")
        if not grid.get(key):
            grid.pop(key, None)
    title = str(new.get("title") or "")
    other = book.sheet_by_title(title)
    if not title or (other is not None and other is not sheet):
        raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
    if new.get("hidden") and all(s.props.get("hidden") for s in book.sheets if s is not sheet):
        raise bad("You can't hide all the sheets in a document.")
    if rows < sheet.rows:
        delete_dimension(sheet, "ROWS", rows, sheet.rows)
    if cols < sheet.cols:
        delete_dimension(sheet, "COLUMNS", cols, sheet.cols)
    index = int(new.pop("index", current["index"]))
    if not new.get("hidden"):
        new.pop("hidden", None)
    sheet.props = new
    if index != current["index"]:
        book.sheets.remove(sheet)
        book.sheets.insert(min(max(index, 0), len(book.sheets)), sheet)
    return {}


def _update_spreadsheet_properties(store: Workbooks, book: Book, p: Json) -> Json:
    props = p.get("properties") or {}
    mask = parse_fields(str(p.get("fields") or ""))
    for key, attr in (("title", "title"), ("locale", "locale"), ("timeZone", "time_zone")):
        if key in mask or "*" in mask:
            setattr(book, attr, str(props.get(key) or getattr(book, attr)))
    return {}


def _append_dimension(store: Workbooks, book: Book, p: Json) -> Json:
    sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
    dimension, length = str(p.get("dimension") or ""), int(p.get("length") or 0)
    if dimension not in DIMENSIONS or length < 1:
        raise bad("appendDimension needs a dimension (ROWS or COLUMNS) and a positive length.")
    key = "rowCount" if dimension == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] += length
    return {}


def _dimension_range(book: Book, dr: Json | None) -> tuple[Sheet, str, int, int]:
    """A DimensionRange as (sheet, dimension, start, end), an open end at the grid's."""
    dr = dr or {}
    sheet = book.sheet_by_id(int(dr.get("sheetId", 0)))
    dimension = str(dr.get("dimension") or "")
    if dimension not in DIMENSIONS:
        raise bad("The dimension must be ROWS or COLUMNS.")
    limit = sheet.rows if dimension == "ROWS" else sheet.cols
    start = int(dr.get("startIndex", 0))
    end = int(dr["endIndex"]) if dr.get("endIndex") is not None else limit
    return sheet, dimension, start, end


def _insert_dimension(store: Workbooks, book: Book, p: Json) -> Json:
    sheet, dimension, start, end = _dimension_range(book, p.get("range"))
    insert_dimension(sheet, dimension, start, end, bool(p.get("inheritFromBefore")))
    return {}


def _delete_dimension(store: Workbooks, book: Book, p: Json) -> Json:
    sheet, dimension, start, end = _dimension_range(book, p.get("range"))
    limit = sheet.rows if dimension == "ROWS" else sheet.cols
    if end > limit:
        raise bad(f"Invalid dimension range: endIndex {end} is past the grid ({limit}).")
    delete_dimension(sheet, dimension, start, end)
    return {}


def _update_dimension_properties(store: Workbooks, book: Book, p: Json) -> Json:
    sheet, dimension, start, end = _dimension_range(book, p.get("range"))
    mask = required_mask(p)
    for i in range(start, end):
        props = sheet.dims[dimension].setdefault(i, {})
        masked_update(props, p.get("properties") or {}, mask)
        if not props:
            del sheet.dims[dimension][i]
    return {}


def _auto_resize_dimensions(store: Workbooks, book: Book, p: Json) -> Json:
    if p.get("dimensions") is not None:
        _dimension_range(book, p["dimensions"])
    return {}


REQUESTS: dict[str, Request] = {
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "appendDimension": _append_dimension,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "updateDimensionProperties": _update_dimension_properties,
    "autoResizeDimensions": _auto_resize_dimensions,
}
