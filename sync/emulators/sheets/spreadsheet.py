"""The Spreadsheet resource: ``spreadsheets.create`` and ``spreadsheets.get`` (``ranges``,
``includeGridData``, ``fields``), and what a person sees of a tab besides its values (``sheet_meta``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from sync.a1 import col_letters
from sync.emulators.server import Json
from sync.emulators.sheets.cells import effective, render
from sync.emulators.sheets.fields import masked
from sync.emulators.sheets.model import Book, Sheet, Workbooks
from sync.emulators.sheets.ranges import Range, parse_range
from sync.emulators.sheets.routing import Call


def sheet_props(book: Book, sheet: Sheet) -> Json:
    """SheetProperties as answers show them (with ``index``)."""
    props = copy.deepcopy(sheet.props)
    props["index"] = book.sheets.index(sheet)
    return {k: props[k] for k in ("sheetId", "title", "index", "sheetType", "gridProperties", "hidden", "tabColor")
            if k in props}


def spreadsheet_json(book: Book, *, grid_data: bool = False, ranges: list[str] | None = None) -> Json:
    wanted: dict[int, list[Range]] | None = None
    if ranges:
        wanted = {}
        for text in ranges:
            rng = parse_range(book, text)
            wanted.setdefault(rng.sheet.sheet_id, []).append(rng)
    sheets = []
    for sheet in book.sheets:
        if wanted is not None and sheet.sheet_id not in wanted:
            continue
        item: Json = {"properties": sheet_props(book, sheet)}
        if grid_data:
            parts = wanted[sheet.sheet_id] if wanted is not None else [Range(sheet, 0, 0, None, None)]
            item["data"] = [_grid_data(rng) for rng in parts]
        if sheet.conditional:
            item["conditionalFormats"] = copy.deepcopy(sheet.conditional)
        if sheet.protected:
            item["protectedRanges"] = [dict(copy.deepcopy(p), requestingUserCanEdit=True) for p in sheet.protected]
        if sheet.basic_filter is not None:
            item["basicFilter"] = copy.deepcopy(sheet.basic_filter)
        sheets.append(item)
    return {
        "spreadsheetId": book.spreadsheet_id,
        "properties": {"title": book.title, "locale": book.locale, "autoRecalc": "ON_CHANGE",
                       "timeZone": book.time_zone},
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
    }


def _grid_data(rng: Range) -> Json:
    r0, c0, r1, c1 = rng.bounded()
    sheet = rng.sheet
    rows: list[Json] = []
    for r in range(r0, r1):
        values: list[Json] = []
        for c in range(c0, c1):
            cell = sheet.cells.get((r, c))
            out: Json = {}
            if cell:
                uev = cell.get("userEnteredValue")
                if uev:
                    out["userEnteredValue"] = copy.deepcopy(uev)
                    out["effectiveValue"] = effective(uev)
                    out["formattedValue"] = render(cell, "FORMATTED_VALUE")
                for key in ("userEnteredFormat", "dataValidation", "note"):
                    if key in cell:
                        out[key] = copy.deepcopy(cell[key])
            values.append(out)
        while values and not values[-1]:
            values.pop()
        rows.append({"values": values} if values else {})
    while rows and not rows[-1]:
        rows.pop()
    data: Json = {"startRow": r0, "startColumn": c0, "rowData": rows,
                  "columnMetadata": [{"pixelSize": int(sheet.dims["COLUMNS"].get(c, {}).get("pixelSize", 100))}
                                     for c in range(c0, c1)]}
    return {k: v for k, v in data.items() if v}


def create(store: Workbooks, body: Json, user: str | None) -> tuple[int, Any]:
    """``spreadsheets.create``: the new spreadsheet is shared with its creator."""
    book = store.new_book(body, {user} if user else None)
    return 200, spreadsheet_json(book)


def get(store: Workbooks, call: Call) -> tuple[int, Any]:
    """``spreadsheets.get``."""
    result = spreadsheet_json(call.book, grid_data=call.flag("includeGridData"), ranges=call.query.get("ranges"))
    return 200, masked(result, call.q("fields"))


def sheet_meta(book: Book, sheet: Sheet) -> Json:
    """Properties, frozen rows, filter, conditional formats, protected ranges, and validations / formats
    grouped into column runs (``{"range", "rule"}``)."""
    return copy.deepcopy({
        "properties": sheet_props(book, sheet),
        "frozen_rows": int(sheet.props["gridProperties"].get("frozenRowCount", 0)),
        "basic_filter": sheet.basic_filter,
        "conditional_formats": sheet.conditional,
        "protected_ranges": sheet.protected,
        "validations": [{"range": r, "rule": v} for r, v in _runs(sheet, "dataValidation")],
        "formats": [{"range": r, "format": v} for r, v in _runs(sheet, "userEnteredFormat")],
        "column_widths": {col_letters(c): p.get("pixelSize") for c, p in sorted(sheet.dims["COLUMNS"].items())
                          if "pixelSize" in p},
    })


def _runs(sheet: Sheet, key: str) -> Iterator[tuple[str, Json]]:
    """Runs of equal ``key`` values down each column, as A1 (``B2:B40``) and the value."""
    by_col: dict[int, list[tuple[int, Json]]] = {}
    for (r, c), cell in sorted(sheet.cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if key in cell:
            by_col.setdefault(c, []).append((r, cell[key]))
    for c, items in by_col.items():
        start, prev, value = items[0][0], items[0][0], items[0][1]
        for r, v in items[1:] + [(-1, None)]:
            if r == prev + 1 and v == value:
                prev = r
                continue
            letters = col_letters(c)
            yield (f"{letters}{start + 1}" if start == prev else f"{letters}{start + 1}:{letters}{prev + 1}"), value
            if v is not None:
                start, prev, value = r, r, v
