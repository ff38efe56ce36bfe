"""The item-data endpoints: exemplars of a posting (create-or-get), checking codes without saving
(validate), saving them as an asynchronous check task (set) and its outcome (status), the country
of origin, and the box count of a multi-box posting. Saving is allowed only before packing."""

from __future__ import annotations

from typing import Any

from sync.emulators.ozon.data import COUNTRIES
from sync.emulators.ozon.day import Exemplar, needs_of
from sync.emulators.ozon.errors import ApiError, refused
from sync.emulators.ozon.marks import DUPLICATED, mark_errors
from sync.emulators.ozon.model import Posting
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json


def _products(body: Json) -> list[Json]:
    products = body.get("products")
    if not isinstance(products, list) or not products:
        raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number and products are required")
    return [p for p in products if isinstance(p, dict)]


def _marks(exemplar: Any) -> list[tuple[str, str]]:
    marks = (exemplar or {}).get("marks") or []
    return [(str(m.get("mark") or ""), str(m.get("mark_type") or "mandatory_mark")) for m in marks
            if isinstance(m, dict)]


def _packing(state: OzonState, body: Json) -> Posting:
    """The posting of the call, which must still be waiting to be packed."""
    p = state.find(body.get("posting_number"))
    if p.status != "awaiting_packaging" or p.shipping_until is not None:
        raise refused("HAS_INCORRECT_STATUS")
    return p


def _exemplar_json(ex: Exemplar, marks: list[Json]) -> Json:
    return {"exemplar_id": ex.id, "gtd": ex.gtd, "is_gtd_absent": ex.is_gtd_absent, "rnpt": ex.rnpt,
            "is_rnpt_absent": ex.is_rnpt_absent, "weight": ex.weight, "marks": marks}


def create_or_get(state: OzonState, body: Json) -> Json:
    """``/v6/fbs/posting/product/exemplar/create-or-get``: per product what is needed, the exemplars
    (one per unit) and what was set for them."""
    p = state.find(body.get("posting_number"))
    data = state.day.items_of(p)
    needs = needs_of(p)
    products = []
    for item in p.products:
        kinds = needs.get(item["sku"], ())
        exemplars = [_exemplar_json(ex, [{"mark": m, "mark_type": t} for m, t in ex.marks])
                     for ex in data.exemplars.values() if ex.sku == item["sku"]]
        products.append({
            "product_id": item["sku"], "quantity": item["quantity"], "exemplars": exemplars,
            "is_mandatory_mark_needed": "mandatory_mark" in kinds,
            "is_mandatory_mark_possible": "mandatory_mark" in kinds,
            "is_gtd_needed": "gtd" in kinds, "is_rnpt_needed": "rnpt" in kinds, "has_imei": "imei" in kinds,
            "is_jw_uin_needed": "jw_uin" in kinds, "is_weight_needed": "weight" in kinds,
            "weight_min": 0.1 if "weight" in kinds else 0.0, "weight_max": 5.0 if "weight" in kinds else 0.0,
        })
    return {"posting_number": p.number, "multi_box_qty": p.multi_box_qty, "products": products}


def validate(state: OzonState, body: Json) -> Json:
    """``/v5/fbs/posting/product/exemplar/validate``: each code checked, nothing saved."""
    p = state.find(body.get("posting_number"))
    skus = {i["sku"] for i in p.products}
    seen: set[str] = set()
    out = []
    for product in _products(body):
        sku = int(product.get("product_id") or 0)
        exemplars = []
        for exemplar in product.get("exemplars") or []:
            marks = []
            for mark, mark_type in _marks(exemplar):
                errors = mark_errors(mark, mark_type)
                taken = state.day.used_marks.get(mark, p.number) != p.number
                if mark in seen or taken:
                    errors.append(DUPLICATED)
                if mark in state.day.rejected:
                    errors.append(state.day.rejected[mark])
                seen.add(mark)
                marks.append({"mark": mark, "mark_type": mark_type, "valid": not errors, "errors": errors})
            exemplars.append({"marks": marks, "valid": all(m["valid"] for m in marks), "errors": [],
                              "gtd": str(exemplar.get("gtd") or ""), "rnpt": str(exemplar.get("rnpt") or ""),
                              "weight": float(exemplar.get("weight") or 0)})
        error = "" if sku in skus else "PRODUCT_NOT_FOUND"
        out.append({"product_id": sku, "error": error, "exemplars": exemplars,
                    "valid": not error and all(e["valid"] for e in exemplars)})
    return {"products": out}


def set_exemplars(state: OzonState, body: Json) -> Json:
    """``/v6/fbs/posting/product/exemplar/set``: the full set of item data replaces what was given; a
    check task starts (200 says only that), ending after the check delay."""
    p = _packing(state, body)
    data = state.day.items_of(p)
    given: dict[int, Json] = {}
    for product in _products(body):
        for exemplar in product.get("exemplars") or []:
            ex = data.exemplars.get(int((exemplar or {}).get("exemplar_id") or 0))
            if ex is None or ex.sku != int(product.get("product_id") or 0):
                raise ApiError(400, 3, "INVALID_ARGUMENT: unknown exemplar_id for this posting and product")
            given[ex.id] = exemplar
    seen: set[str] = set()
    for ex_id, exemplar in given.items():
        ex = data.exemplars[ex_id]
        ex.marks = _marks(exemplar)
        ex.gtd, ex.is_gtd_absent = str(exemplar.get("gtd") or ""), bool(exemplar.get("is_gtd_absent"))
        ex.rnpt, ex.is_rnpt_absent = str(exemplar.get("rnpt") or ""), bool(exemplar.get("is_rnpt_absent"))
        ex.weight = float(exemplar.get("weight") or 0)
        taken = {m for m, _ in ex.marks if m in seen or state.day.used_marks.get(m, p.number) != p.number}
        ex.duplicates = frozenset(taken)
        seen |= {m for m, _ in ex.marks}
    for mark in [m for m, owner in state.day.used_marks.items() if owner == p.number]:
        del state.day.used_marks[mark]
    for ex in data.exemplars.values():
        for mark, _ in ex.marks:
            if mark not in ex.duplicates:
                state.day.used_marks[mark] = p.number
    if body.get("multi_box_qty"):
        p.multi_box_qty = int(body["multi_box_qty"])
    data.checked_at = state.clock() + state.day.check_delay
    state.log_write("/v6/fbs/posting/product/exemplar/set", p.number, "exemplar_set", True)
    return {}


def _check(status_of: bool, errors: list[str]) -> str:
    return "processing" if status_of else "failed" if errors else "passed"


def exemplar_status(state: OzonState, body: Json) -> Json:
    """``/v5/fbs/posting/product/exemplar/status``: the check of the last set, per exemplar and mark."""
    p = state.find(body.get("posting_number"))
    data = state.day.items_of(p)
    now = state.clock()
    busy = state.day.checking(p, now)
    products: dict[int, list[Json]] = {}
    for ex in data.exemplars.values():
        marks = []
        for mark, mark_type in ex.marks:
            errors = [] if busy else state.day.mark_problems(ex, mark, mark_type)
            marks.append({"mark": mark, "mark_type": mark_type, "check_status": _check(busy, errors),
                          "error_codes": errors})
        entry = _exemplar_json(ex, marks)
        for kind, ok in (("gtd", bool(ex.gtd or ex.is_gtd_absent)), ("rnpt", bool(ex.rnpt or ex.is_rnpt_absent)),
                         ("weight", ex.weight > 0)):
            wanted = kind in needs_of(p).get(ex.sku, ())
            errors = [] if busy or ok or not wanted else [f"{kind.upper()}_REQUIRED"]
            entry[f"{kind}_check_status"] = _check(busy, errors) if wanted and data.checked_at else ""
            entry[f"{kind}_error_codes"] = errors
        products.setdefault(ex.sku, []).append(entry)
    if busy:
        status = "validation_in_process"
    else:
        status = "ship_not_available" if state.day.missing(p, now) else "ship_available"
    return {"posting_number": p.number, "status": status,
            "products": [{"product_id": sku, "exemplars": exs} for sku, exs in products.items()]}


def country_list(state: OzonState, body: Json) -> Json:
    """``/v2/posting/fbs/product/country/list``: countries whose name holds ``name_search``."""
    search = str(body.get("name_search") or "").casefold()
    return {"result": [{"name": name, "country_iso_code": iso} for name, iso in COUNTRIES
                       if search in name.casefold()]}


def country_set(state: OzonState, body: Json) -> Json:
    """``/v2/posting/fbs/product/country/set``: the country of origin of one product of a posting."""
    p = _packing(state, body)
    sku = int(body.get("product_id") or 0)
    iso = str(body.get("country_iso_code") or "").upper()
    if sku not in {i["sku"] for i in p.products}:
        raise ApiError(400, 3, "INVALID_ARGUMENT: the posting has no such product_id")
    if iso not in {code for _, code in COUNTRIES}:
        raise ApiError(400, 3, "INVALID_ARGUMENT: unknown country_iso_code")
    state.day.items_of(p).countries[sku] = iso
    state.log_write("/v2/posting/fbs/product/country/set", p.number, "country_set", True)
    return {"product_id": sku, "is_gtd_needed": "gtd" in needs_of(p).get(sku, ())}


def multibox_set(state: OzonState, body: Json) -> Json:
    """``/v3/posting/multiboxqty/set``: how many boxes a multi-box posting goes in."""
    p = _packing(state, body)
    qty = int(body.get("multi_box_qty") or 0)
    if qty < 1:
        raise ApiError(400, 3, "INVALID_ARGUMENT: multi_box_qty must be at least 1")
    p.multi_box_qty = qty
    state.log_write("/v3/posting/multiboxqty/set", p.number, "multibox_set", True)
    return {"result": {"result": True}}

