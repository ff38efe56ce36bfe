"""``spreadsheets.batchUpdate``: its requests applied in order to a copy of the book, which replaces it
only when every one went through (all or nothing)."""

from __future__ import annotations

import copy
from typing import Any

from sync.emulators.server import Json
from sync.emulators.sheets import cell_requests, sheet_requests
from sync.emulators.sheets.errors import ApiError, bad
from sync.emulators.sheets.model import Workbooks
from sync.emulators.sheets.routing import Call, Request
from sync.emulators.sheets.spreadsheet import spreadsheet_json

BATCH_REQUESTS: dict[str, Request] = {**sheet_requests.REQUESTS, **cell_requests.REQUESTS}


def batch_update(store: Workbooks, call: Call) -> tuple[int, Any]:
    book, body = call.book, call.body
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad("Must specify at least one request.")
    work = copy.deepcopy(book)
    replies = []
    for i, request in enumerate(requests):
        if not isinstance(request, dict) or len([k for k, v in request.items() if v is not None]) != 1:
            raise bad(f"Invalid requests[{i}]: exactly one kind of request must be set.")
        name, params = next((k, v) for k, v in request.items() if v is not None)
        handler = BATCH_REQUESTS.get(name)
        if handler is None:
            raise bad(f'Invalid JSON payload received. Unknown name "{name}" at \'requests[{i}]\': '
                      "Cannot find field.")
        try:
            reply = handler(store, work, params if isinstance(params, dict) else {})
        except ApiError as err:
            raise bad(f"Invalid requests[{i}].{name}: {err.message}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise bad(f"Invalid requests[{i}].{name}: {err}") from None
        replies.append(reply)
    work.version = book.version
    store.books[book.spreadsheet_id] = work
    store.touch(work)
    answer: Json = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        answer["updatedSpreadsheet"] = spreadsheet_json(
            work, grid_data=bool(body.get("responseIncludeGridData")), ranges=body.get("responseRanges"))
    return 200, answer
