"""``spreadsheets.batchUpdate`` requests on cells and what covers them: values, formats and notes
(repeatCell, updateCells, appendCells), data validation, conditional formats, protected ranges and the
basic filter. Protection is stored and answered, not enforced."""

from __future__ import annotations

import copy

from sync.emulators.server import Json
from sync.emulators.sheets.errors import bad
from sync.emulators.sheets.fields import Mask, masked_update, parse_fields, required_mask
from sync.emulators.sheets.model import Book, Sheet, Workbooks
from sync.emulators.sheets.ranges import beyond_grid, grid_range
from sync.emulators.sheets.routing import Request

CELL_FIELDS = frozenset({"userEnteredValue", "userEnteredFormat", "dataValidation", "note"})


def _clean_range(gr: Json) -> Json:
    return {k: v for k, v in gr.items() if v}


def _update_cell(sheet: Sheet, r: int, c: int, source: Json, mask: Mask) -> None:
    cell = copy.deepcopy(sheet.cells.get((r, c), {}))
    masked_update(cell, source, mask if "*" not in mask else {k: True for k in CELL_FIELDS})
    cell = {k: v for k, v in cell.items() if k in CELL_FIELDS and v}
    uev = cell.get("userEnteredValue")
    if uev is not None and len(uev) != 1:
        raise bad("userEnteredValue must hold exactly one of stringValue, numberValue, boolValue, formulaValue.")
    if cell:
        sheet.cells[(r, c)] = cell
    else:
        sheet.cells.pop((r, c), None)


def _repeat_cell(store: Workbooks, book: Book, p: Json) -> Json:
    sheet, r0, c0, r1, c1 = grid_range(book, p.get("range"))
    mask, cell = required_mask(p), p.get("cell") or {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            _update_cell(sheet, r, c, cell, mask)
    return {}


def _update_cells(store: Workbooks, book: Book, p: Json) -> Json:
    rows = p.get("rows") or []
    mask = required_mask(p)
    if p.get("start") is not None and p.get("range") is not None:
        raise bad("Only one of start or range may be set.")
    height = len(rows)
    width = max((len((row or {}).get("values") or []) for row in rows), default=0)
    if p.get("range") is not None:
        sheet, r0, c0, r1, c1 = grid_range(book, p["range"])
        if height > r1 - r0 or width > c1 - c0:
            raise bad("The rows do not fit in the range.")
    else:
        start = p.get("start") or {}
        sheet = book.sheet_by_id(int(start.get("sheetId", 0)))
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        r1, c1 = r0 + height, c0 + width
        if r1 > sheet.rows or c1 > sheet.cols:
            raise beyond_grid(sheet, r0, c0, r1, c1)
    for r in range(r0, r1):
        values = ((rows[r - r0] or {}).get("values") or []) if r - r0 < height else []
        for c in range(c0, c1):
            _update_cell(sheet, r, c, (values[c - c0] or {}) if c - c0 < len(values) else {}, mask)
    return {}


def _append_cells(store: Workbooks, book: Book, p: Json) -> Json:
    sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
    rows = p.get("rows") or []
    mask = required_mask(p)
    first = sheet.last_row()
    width = max((len((row or {}).get("values") or []) for row in rows), default=0)
    sheet.grow(first + len(rows), width)
    for i, row in enumerate(rows):
        for j, value in enumerate((row or {}).get("values") or []):
            _update_cell(sheet, first + i, j, value or {}, mask)
    return {}


def _set_data_validation(store: Workbooks, book: Book, p: Json) -> Json:
    sheet, r0, c0, r1, c1 = grid_range(book, p.get("range"))
    rule = p.get("rule")
    if rule is not None:
        condition = rule.get("condition") or {}
        if not condition.get("type"):
            raise bad("The data validation rule needs a condition type.")
        if condition["type"] in ("ONE_OF_LIST", "ONE_OF_RANGE") and not condition.get("values"):
            raise bad(f"{condition['type']} needs at least one value.")
        rule = {k: v for k, v in rule.items() if v is not None}
    for r in range(r0, r1):
        for c in range(c0, c1):
            sheet.set_cell(r, c, "dataValidation", copy.deepcopy(rule) if rule else None)
    return {}


def _add_conditional_format_rule(store: Workbooks, book: Book, p: Json) -> Json:
    rule = copy.deepcopy(p.get("rule") or {})
    ranges = rule.get("ranges") or []
    if not ranges:
        raise bad("A conditional format rule needs at least one range.")
    if not (rule.get("booleanRule") or rule.get("gradientRule")):
        raise bad("A conditional format rule needs a booleanRule or a gradientRule.")
    sheets = {grid_range(book, gr)[0].sheet_id for gr in ranges}
    if len(sheets) != 1:
        raise bad("All ranges of a conditional format rule must be on one sheet.")
    sheet = book.sheet_by_id(sheets.pop())
    rule["ranges"] = [_clean_range(gr) for gr in ranges]
    index = int(p.get("index") or 0)
    if index > len(sheet.conditional):
        raise bad(f"Invalid index {index}: the sheet has {len(sheet.conditional)} conditional format rules.")
    sheet.conditional.insert(index, rule)
    return {}


def _delete_conditional_format_rule(store: Workbooks, book: Book, p: Json) -> Json:
    sheet = book.sheet_by_id(int(p.get("sheetId", 0)))
    index = int(p.get("index") or 0)
    if not 0 <= index < len(sheet.conditional):
        raise bad(f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
    return {"deleteConditionalFormatRule": {"rule": sheet.conditional.pop(index)}}


def _add_protected_range(store: Workbooks, book: Book, p: Json) -> Json:
    pr = {k: copy.deepcopy(v) for k, v in (p.get("protectedRange") or {}).items()
          if v is not None and k != "requestingUserCanEdit"}
    sheet, *_ = grid_range(book, pr.get("range"))
    pr["range"] = _clean_range(pr.get("range") or {})
    if pr.get("warningOnly") and (pr.get("editors") or {}).get("users"):
        raise bad("Editors are not supported with warning-only protection.")
    used = {int(x["protectedRangeId"]) for s in book.sheets for x in s.protected}
    pid = pr.get("protectedRangeId")
    if pid is None:
        pid = store.free_id(used)
    elif int(pid) in used:
        raise bad(f"A protected range with the id {pid} already exists.")
    pr["protectedRangeId"] = int(pid)
    sheet.protected.append(pr)
    return {"addProtectedRange": {"protectedRange": dict(copy.deepcopy(pr), requestingUserCanEdit=True)}}


def _protected(book: Book, pid: int) -> tuple[Sheet, Json]:
    for sheet in book.sheets:
        for pr in sheet.protected:
            if int(pr["protectedRangeId"]) == pid:
                return sheet, pr
    raise bad(f"No protected range with id: {pid}")


def _update_protected_range(store: Workbooks, book: Book, p: Json) -> Json:
    new = p.get("protectedRange") or {}
    _, pr = _protected(book, int(new.get("protectedRangeId", -1)))
    mask = parse_fields(str(p.get("fields") or ""))
    masked_update(pr, {k: v for k, v in new.items() if k != "protectedRangeId"}, mask)
    return {}


def _delete_protected_range(store: Workbooks, book: Book, p: Json) -> Json:
    sheet, pr = _protected(book, int(p.get("protectedRangeId", -1)))
    sheet.protected.remove(pr)
    return {}


def _set_basic_filter(store: Workbooks, book: Book, p: Json) -> Json:
    flt = copy.deepcopy(p.get("filter") or {})
    sheet, *_ = grid_range(book, flt.get("range"))
    flt["range"] = _clean_range(flt.get("range") or {})
    sheet.basic_filter = {k: v for k, v in flt.items() if v is not None}
    return {}


def _clear_basic_filter(store: Workbooks, book: Book, p: Json) -> Json:
    book.sheet_by_id(int(p.get("sheetId", 0))).basic_filter = None
    return {}


REQUESTS: dict[str, Request] = {
    "repeatCell": _repeat_cell,
    "updateCells": _update_cells,
    "appendCells": _append_cells,
    "setDataValidation": _set_data_validation,
    "addConditionalFormatRule": _add_conditional_format_rule,
    "deleteConditionalFormatRule": _delete_conditional_format_rule,
    "addProtectedRange": _add_protected_range,
    "updateProtectedRange": _update_protected_range,
    "deleteProtectedRange": _delete_protected_range,
    "setBasicFilter": _set_basic_filter,
    "clearBasicFilter": _clear_basic_filter,
}
