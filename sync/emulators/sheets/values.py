"""The ``spreadsheets.values`` endpoints: get, batchGet, update, append, batchUpdate, clear, batchClear.

Ranges follow Google's A1 rules (see ``ranges``); reads trim trailing empty cells and rows; writes past
``rowCount`` / ``columnCount`` are a 400, while ``append`` grows the grid."""

from __future__ import annotations

import copy
import json
from typing import Any

from sync.a1 import col_letters
from sync.emulators.server import Json
from sync.emulators.sheets.cells import plain_value, raw_value, render, trim, user_entered
from sync.emulators.sheets.dimensions import DIMENSIONS, insert_dimension
from sync.emulators.sheets.errors import ApiError, bad
from sync.emulators.sheets.model import Book, Sheet, Workbooks
from sync.emulators.sheets.ranges import Range, a1, beyond_grid, parse_range
from sync.emulators.sheets.routing import Call, Endpoint

VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")


def user_values(sheet: Sheet) -> list[list[Any]]:
    """The user-entered values (formulas as text), trailing empties trimmed."""
    height = max((r for r, _ in sheet.cells), default=-1) + 1
    width = max((c for _, c in sheet.cells), default=-1) + 1
    return trim([[plain_value(sheet.cells.get((r, c), {}).get("userEnteredValue")) for c in range(width)]
                 for r in range(height)])


def read(rng: Range, major: str, option: str) -> Json:
    """A ValueRange of what ``rng`` holds."""
    r0, c0, r1, c1 = rng.bounded()
    used = [(r, c) for (r, c), cell in rng.sheet.cells.items()
            if r0 <= r < r1 and c0 <= c < c1 and cell.get("userEnteredValue")]
    last_r = max((r for r, _ in used), default=r0 - 1) + 1  # past these all is empty: trimmed anyway
    last_c = max((c for _, c in used), default=c0 - 1) + 1
    matrix = [[render(rng.sheet.cells.get((r, c)), option) for c in range(c0, last_c)] for r in range(r0, last_r)]
    if major == "COLUMNS":
        matrix = [list(col) for col in zip(*matrix, strict=True)] if matrix else []
    out: Json = {"range": a1(rng.sheet, r0, c0, r1, c1), "majorDimension": major}
    values = trim(matrix)
    if values:
        out["values"] = values
    return out


def _as_rows(values: list[list[Any]] | None, major: str) -> list[list[Any]]:
    matrix = values or []
    if major == "COLUMNS":
        width = max((len(col) for col in matrix), default=0)
        matrix = [[col[i] if i < len(col) else None for col in matrix] for i in range(width)]
    return matrix


def write(rng: Range, values: list[list[Any]] | None, option: str, major: str = "ROWS") -> Json:
    """Write a values matrix from the range's top-left; returns an UpdateValuesResponse."""
    sheet = rng.sheet
    if option not in ("RAW", "USER_ENTERED"):
        raise bad(f"Invalid valueInputOption: {option or 'INPUT_VALUE_OPTION_UNSPECIFIED'}")
    if values is not None and (not isinstance(values, list) or not all(isinstance(v, list) for v in values)):
        raise bad("Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue)")
    matrix = _as_rows(values, major)
    height = len(matrix)
    width = max((len(row) for row in matrix), default=0)
    r_end, c_end = rng.r0 + max(height, 1), rng.c0 + max(width, 1)
    if rng.r1 == rng.r0 + 1 and rng.c1 == rng.c0 + 1:  # a single cell is only an anchor
        rng = Range(sheet, rng.r0, rng.c0, None, None)
    if (rng.r1 is not None and height > rng.r1 - rng.r0) or (rng.c1 is not None and width > rng.c1 - rng.c0):
        bounds = rng.bounded()
        over_row = rng.r1 is not None and height > rng.r1 - rng.r0
        raise bad(f"Requested writing within range [{a1(sheet, *bounds)}], but tried writing to "
                  + (f"row [{rng.r1 + 1}]" if over_row and rng.r1 is not None
                     else f"column [{col_letters(rng.c1 or 0)}]"))
    if r_end > sheet.rows or c_end > sheet.cols:
        raise beyond_grid(sheet, rng.r0, rng.c0, r_end, c_end)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if isinstance(value, dict | list):
                raise bad(f"Invalid values[{i}][{j}]: {json.dumps(value)}")
    cells = rows_touched = 0
    for i, row in enumerate(matrix):
        touched = False
        for j, value in enumerate(row):
            if value is None:
                continue
            r, c = rng.r0 + i, rng.c0 + j
            fmt = sheet.cells.get((r, c), {}).get("userEnteredFormat")
            uev = raw_value(value) if option == "RAW" else user_entered(value, fmt)
            sheet.set_cell(r, c, "userEnteredValue", uev)
            cells += 1
            touched = True
        rows_touched += touched
    out: Json = {"spreadsheetId": "", "updatedRange": a1(sheet, rng.r0, rng.c0, rng.r0 + max(height, 1),
                                                           rng.c0 + max(width, 1))}
    if cells:
        out.update(updatedRows=rows_touched, updatedColumns=width, updatedCells=cells)
    return out


def _clear(rng: Range) -> str:
    r0, c0, r1, c1 = rng.bounded()
    for (r, c) in [k for k in rng.sheet.cells if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
        rng.sheet.set_cell(r, c, "userEnteredValue", None)
    return a1(rng.sheet, r0, c0, r1, c1)


def _append(rng: Range, values: list[list[Any]] | None, option: str, major: str,
            insert: str | None) -> tuple[Json, str | None]:
    """values.append: below the block of non-empty rows that starts at the range's first row (in the
    range's columns), from the range's first column; the grid grows as needed. Google's own table
    detection has more quirks; this is its plain case."""
    sheet = rng.sheet
    matrix = _as_rows(values, major)
    height, width = len(matrix), max((len(row) for row in matrix), default=0)
    last = rng.r0  # the "table": the rows with a value from the range's first row down, without a gap
    while last < sheet.rows and any(cell.get("userEnteredValue") for (r, c), cell in sheet.cells.items()
                                    if r == last and c >= rng.c0 and (rng.c1 is None or c < rng.c1)):
        last += 1
    table = None
    if last > rng.r0:
        used = [c for (r, c), cell in sheet.cells.items() if rng.r0 <= r < last and cell.get("userEnteredValue")
                and c >= rng.c0 and (rng.c1 is None or c < rng.c1)]
        table = a1(sheet, rng.r0, rng.c0, last, max(used, default=rng.c0) + 1)
    if (insert or "OVERWRITE") == "INSERT_ROWS" and last < sheet.rows and height:
        insert_dimension(sheet, "ROWS", last, last + height, inherit_before=last > 0)
    sheet.grow(last + height, rng.c0 + width)
    target = Range(sheet, last, rng.c0, None, None)
    return write(target, matrix, option), table


# --- endpoints ------------------------------------------------------------------------------------------


def _read_options(call: Call) -> tuple[str, str]:
    major = call.option("majorDimension", DIMENSIONS, "ROWS")
    render_option = call.option("valueRenderOption", VALUE_RENDER, "FORMATTED_VALUE")
    call.option("dateTimeRenderOption", DATE_RENDER, "SERIAL_NUMBER")
    return major, render_option


def _get(store: Workbooks, call: Call) -> tuple[int, Any]:
    major, render_option = _read_options(call)
    return 200, read(parse_range(call.book, call.args["range"]), major, render_option)


def _batch_get(store: Workbooks, call: Call) -> tuple[int, Any]:
    major, render_option = _read_options(call)
    ranges = [parse_range(call.book, text) for text in call.query.get("ranges", [])]
    return 200, {"spreadsheetId": call.book.spreadsheet_id,
                 "valueRanges": [read(r, major, render_option) for r in ranges]}


def _body_major(body: Json) -> str:
    major = str(body.get("majorDimension") or "ROWS")
    if major not in DIMENSIONS:
        raise bad(f"Invalid value at 'data.major_dimension', \"{major}\"")
    return major


def _written(store: Workbooks, call: Call, book: Book, result: Json, major: str) -> Json:
    """An UpdateValuesResponse completed (with ``updatedData`` when asked); the book is changed."""
    result["spreadsheetId"] = book.spreadsheet_id
    if call.flag("includeValuesInResponse"):
        result["updatedData"] = read(parse_range(book, result["updatedRange"]), major,
                                     call.q("responseValueRenderOption") or "FORMATTED_VALUE")
    store.touch(book)
    return result


def _update(store: Workbooks, call: Call) -> tuple[int, Any]:
    book, body = call.book, call.body
    rng = parse_range(book, call.args["range"])
    major = _body_major(body)
    if body.get("range") and parse_range(book, str(body["range"])) != rng:
        raise bad(f"Requested writing within range [{call.args['range']}], but tried writing to [{body['range']}]")
    result = write(rng, body.get("values"), call.q("valueInputOption") or "", major)
    return 200, _written(store, call, book, result, major)


def _append_endpoint(store: Workbooks, call: Call) -> tuple[int, Any]:
    parse_range(call.book, call.args["range"])
    major = _body_major(call.body)
    work = copy.deepcopy(call.book)  # append may insert rows before failing: all or nothing
    rng = parse_range(work, call.args["range"])
    result, table = _append(rng, call.body.get("values"), call.q("valueInputOption") or "", major,
                            call.q("insertDataOption"))
    store.books[work.spreadsheet_id] = work
    answer: Json = {"spreadsheetId": work.spreadsheet_id, "updates": _written(store, call, work, result, major)}
    if table:
        answer["tableRange"] = table
    return 200, answer


def _batch_update(store: Workbooks, call: Call) -> tuple[int, Any]:
    book, sid = call.book, call.book.spreadsheet_id
    input_option = str(call.body.get("valueInputOption") or "")
    plan = []
    for item in call.body.get("data") or []:
        rng = parse_range(book, str((item or {}).get("range") or ""))
        plan.append((rng, item))
    snapshot = {s.sheet_id: dict(s.cells) for s in book.sheets}
    responses = []
    try:
        for rng, item in plan:
            major = str(item.get("majorDimension") or "ROWS")
            result = write(rng, item.get("values"), input_option, major)
            result["spreadsheetId"] = sid
            responses.append(result)
    except ApiError:
        for s in book.sheets:
            s.cells = snapshot[s.sheet_id]
        raise
    store.touch(book)
    answer = {"spreadsheetId": sid,
              "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
              "totalUpdatedColumns": max((r.get("updatedColumns", 0) for r in responses), default=0),
              "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
              "totalUpdatedSheets": len({rng.sheet.sheet_id for rng, _ in plan}),
              "responses": responses}
    return 200, {k: v for k, v in answer.items() if v or k in ("spreadsheetId", "responses")}


def _clear_endpoint(store: Workbooks, call: Call) -> tuple[int, Any]:
    cleared = _clear(parse_range(call.book, call.args["range"]))
    store.touch(call.book)
    return 200, {"spreadsheetId": call.book.spreadsheet_id, "clearedRange": cleared}


def _batch_clear(store: Workbooks, call: Call) -> tuple[int, Any]:
    ranges = [parse_range(call.book, str(text)) for text in call.body.get("ranges") or []]
    cleared_ranges = [_clear(r) for r in ranges]
    store.touch(call.book)
    return 200, {"spreadsheetId": call.book.spreadsheet_id, "clearedRanges": cleared_ranges}


ENDPOINTS: dict[str, Endpoint] = {
    "values.get": _get,
    "values.batchGet": _batch_get,
    "values.update": _update,
    "values.append": _append_endpoint,
    "values.batchUpdate": _batch_update,
    "values.clear": _clear_endpoint,
    "values.batchClear": _batch_clear,
}
