"""The read endpoints: FBS/rFBS posting lists with their cursor pages, one posting, cancel reasons,
FBO postings (cursor pages) and returns (``last_id`` pages and date filters)."""

from __future__ import annotations

import base64
import bisect
import json

from sync.emulators.ozon.data import CANCEL_REASONS, MAX_PERIOD, OPEN_STATUSES
from sync.emulators.ozon.errors import ApiError, refused
from sync.emulators.ozon.model import Posting, parse_time
from sync.emulators.ozon.shapes import detail, fbo_item, list_item, return_item
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json


def _page(state: OzonState, flt: Json, body: Json, *, open_only: bool) -> Json:
    """One cursor page. The first page filters and sorts; later pages of the same filter reuse that
    listing (a posting keeps its place; its status is rendered as it is now), so paging through
    100k postings is linear, not quadratic."""
    limit = body.get("limit", 100)
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ApiError(400, 3, "INVALID_ARGUMENT: limit must be between 1 and 100")
    cursor = body.get("cursor") or ""
    listing = (json.dumps(flt, sort_keys=True, default=str), open_only)
    items = state.listings.get(listing) if cursor else None
    if items is None:
        items = sorted(_filtered(state, flt, open_only=open_only), key=Posting.list_order)
        state.listings = {listing: items, **dict(list(state.listings.items())[:7])}
    start = 0
    if cursor:
        try:
            after = json.loads(base64.b64decode(cursor))
            mark = (parse_time(after["at"]), int(after["id"]))
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, 3, "INVALID_ARGUMENT: bad cursor") from None
        start = bisect.bisect_right(items, mark, key=Posting.list_order)
    page = items[start:start + limit]
    rest = len(items) - start - len(page)
    out: Json = {"postings": [list_item(p, state.null_keys) for p in page], "has_next": rest > 0, "cursor": ""}
    if rest:
        last = page[-1]
        out["cursor"] = base64.b64encode(json.dumps({"at": last.in_process_at.isoformat(), "id": last.order_id})
                                         .encode()).decode()
    if open_only:  # the unfulfilled list says how many there are
        out["count"] = len(page) + rest
    return out


def _filtered(state: OzonState, flt: Json, *, open_only: bool) -> list[Posting]:
    statuses = flt.get("statuses") or []
    changed = flt.get("last_changed_status_date") or {}
    c_from, c_to = parse_time(changed.get("from")), parse_time(changed.get("to"))
    since, to = parse_time(flt.get("since")), parse_time(flt.get("to"))
    out = []
    for number in state.postings:
        p = state.settle(number)
        if open_only and p.status not in OPEN_STATUSES:
            continue
        if statuses and p.status not in statuses:
            continue
        if since and p.in_process_at < since or to and p.in_process_at > to:
            continue
        if c_from and p.changed_at < c_from or c_to and p.changed_at > c_to:
            continue
        out.append(p)
    return out


def fbs_list(state: OzonState, body: Json) -> Json:
    """``/v4/posting/fbs/list``: postings accepted in ``filter.since``..``filter.to`` (at most 366 days)."""
    flt = body.get("filter")
    if not isinstance(flt, dict) or not flt.get("since") or not flt.get("to"):
        raise ApiError(400, 3, "filter.since and filter.to are required")
    since, to = parse_time(flt["since"]), parse_time(flt["to"])
    if since is None or to is None:
        raise ApiError(400, 3, "INVALID_ARGUMENT: filter.since and filter.to must be RFC 3339 times")
    if to - since > MAX_PERIOD:
        raise ApiError(400, 3, "PERIOD_IS_TOO_LONG")
    return _page(state, flt, body, open_only=False)


def unfulfilled(state: OzonState, body: Json) -> Json:
    """``/v4/posting/fbs/unfulfilled/list``: the postings not yet done, with their ``count``."""
    return _page(state, body.get("filter") or {}, body, open_only=True)


def fbs_get(state: OzonState, body: Json) -> Json:
    return {"result": detail(state.find(body.get("posting_number")), state.null_keys)}


def cancel_reasons(state: OzonState, body: Json) -> Json:
    return {"result": [{"id": i, "title": t, "type_id": k, "is_available_for_cancellation": a}
                       for i, t, k, a in CANCEL_REASONS]}


def fbo_list(state: OzonState, body: Json) -> Json:
    """``/v3/posting/fbo/list``: FBO postings by creation time, in cursor pages."""
    limit = body.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise ApiError(400, 3, "INVALID_ARGUMENT: limit must be between 1 and 100")
    flt = body.get("filter") or {}
    if not isinstance(flt, dict):
        raise ApiError(400, 3, "INVALID_ARGUMENT: filter must be an object")
    since, to = parse_time(flt.get("since")), parse_time(flt.get("to"))
    if since and to and to - since > MAX_PERIOD:
        raise ApiError(400, 3, "PERIOD_IS_TOO_LONG")
    statuses = flt.get("statuses") or []
    numbers = flt.get("posting_numbers") or []
    items = [p for p in state.fbo.values()
             if not (since and p.created_at < since or to and p.created_at > to)
             and (not statuses or p.status in statuses) and (not numbers or p.number in numbers)]
    items.sort(key=lambda p: (p.created_at, p.order_id), reverse=body.get("sort_dir") == "DESC")
    cursor = body.get("cursor") or ""
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("fbo:"))
        except ValueError:
            raise ApiError(400, 3, "INVALID_ARGUMENT: bad cursor") from None
    else:
        start = 0
    page, more = items[start:start + limit], len(items) > start + limit
    analytics = bool((body.get("with") or {}).get("analytics_data"))
    return {"postings": [fbo_item(p, analytics) for p in page], "has_next": more,
            "cursor": base64.b64encode(f"fbo:{start + limit}".encode()).decode() if more else ""}


def fbo_get(state: OzonState, body: Json) -> Json:
    number = str(body.get("posting_number") or "")
    if number not in state.fbo:
        raise refused("POSTING_NOT_FOUND")
    analytics = bool((body.get("with") or {}).get("analytics_data"))
    return {"result": fbo_item(state.fbo[number], analytics, detail=True)}


def returns(state: OzonState, body: Json) -> Json:
    """``/v1/returns/list``: returns after ``last_id``, by one date filter at most."""
    limit = body.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
        raise ApiError(400, 3, "INVALID_ARGUMENT: limit is required, 1 to 500")
    flt = body.get("filter") or {}
    dates = [k for k in ("logistic_return_date", "storage_tariffication_start_date",
                         "visual_status_change_moment") if flt.get(k)]
    if len(dates) > 1:
        raise ApiError(400, 3, "INVALID_ARGUMENT: use only one of the date filters")
    last_id = int(body.get("last_id") or 0)
    window = (flt.get(dates[0]) if dates else None) or {}
    t_from, t_to = parse_time(window.get("time_from")), parse_time(window.get("time_to"))
    schema = str(flt.get("return_schema") or "").lower()
    numbers = flt.get("posting_numbers") or []
    items = []
    for r in sorted(state.returns.values(), key=lambda x: x.id):
        moment = r.return_date if dates and dates[0] == "logistic_return_date" else r.changed_at
        if r.id <= last_id or (t_from and moment < t_from) or (t_to and moment > t_to):
            continue
        if schema and r.schema.lower() != schema or numbers and r.posting_number not in numbers:
            continue
        items.append(r)
    page = items[:limit]
    return {"returns": [return_item(r) for r in page], "has_next": len(items) > limit}
