"""Hand-over: carriages (create with every posting ready for a delivery method, set their postings,
approve), what each delivery method has ready, and the act and waybill PDF of an approved carriage."""

from __future__ import annotations

from sync.emulators.ozon.day import Carriage
from sync.emulators.ozon.errors import ApiError, refused
from sync.emulators.ozon.model import Posting, iso
from sync.emulators.ozon.pdf import pdf
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json

APPROVED_ACTIONS = ["get_shipping_list", "get_waybill"]


def _ready(state: OzonState, method_id: int) -> list[Posting]:
    """Postings of the delivery method that are packed and in no carriage yet."""
    taken = {n for c in state.day.carriages.values() if c.status != "cancelled" for n in c.postings}
    return [p for p in (state.settle(n) for n in state.numbers())
            if p.method[0] == method_id and p.status == "awaiting_deliver" and p.number not in taken]


def _carriage(state: OzonState, body: Json, key: str = "carriage_id") -> Carriage:
    carriage = state.day.carriages.get(int(body.get(key) or 0))
    if carriage is None:
        raise ApiError(404, 5, "CARRIAGE_NOT_FOUND")
    return carriage


def create(state: OzonState, body: Json) -> Json:
    """``/v1/carriage/create``: a ``new`` carriage holding every posting ready for the method."""
    method_id = int(body.get("delivery_method_id") or 0)
    postings = _ready(state, method_id)
    if not postings:
        raise ApiError(400, 3, "NO_POSTINGS_FOR_CARRIAGE")
    carriage = Carriage(state.day.next_carriage_id(), method_id, postings[0].warehouse[0],
                        str(body.get("departure_date") or iso(state.clock())), state.clock(),
                        [p.number for p in postings])
    state.day.carriages[carriage.id] = carriage
    state.log_write("/v1/carriage/create", "", "carriage_create", True)
    return {"carriage_id": carriage.id}


def set_postings(state: OzonState, body: Json) -> Json:
    """``/v1/carriage/set-postings``: the carriage's postings replaced; a result per posting."""
    carriage = _carriage(state, body)
    if carriage.status != "new":
        raise refused("HAS_INCORRECT_STATUS")
    numbers = body.get("posting_numbers")
    if not isinstance(numbers, list) or not numbers:
        raise ApiError(400, 3, "INVALID_ARGUMENT: posting_numbers must be a non-empty list")
    ready = {p.number for p in _ready(state, carriage.delivery_method_id)} | set(carriage.postings)
    results, kept = [], []
    for number in map(str, numbers):
        p = state.postings.get(number)
        if p is not None:
            state.settle(number)
        ok = p is not None and number in ready and p.status == "awaiting_deliver"
        error = "" if ok else "POSTING_NOT_FOUND" if p is None else "POSTING_CANNOT_BE_ADDED_TO_CARRIAGE"
        results.append({"posting_number": number, "result": ok, "error": error})
        if ok:
            kept.append(number)
    carriage.postings, carriage.updated_at = kept, state.clock()
    state.log_write("/v1/carriage/set-postings", "", "carriage_set_postings", True)
    return {"result": results}


def approve(state: OzonState, body: Json) -> Json:
    """``/v1/carriage/approve``: the carriage is formed; its documents can be printed."""
    carriage = _carriage(state, body)
    if carriage.status != "new":
        raise refused("HAS_INCORRECT_STATUS")
    if not carriage.postings:
        raise ApiError(400, 3, "CARRIAGE_HAS_NO_POSTINGS")
    carriage.status, carriage.updated_at = "formed", state.clock()
    carriage.containers_count = int(body.get("containers_count") or 0)
    state.log_write("/v1/carriage/approve", "", "carriage_approve", True)
    return {}


def get(state: OzonState, body: Json) -> Json:
    """``/v1/carriage/get``."""
    c = _carriage(state, body)
    return {
        "carriage_id": c.id, "company_id": 3058, "delivery_method_id": c.delivery_method_id,
        "warehouse_id": c.warehouse_id, "departure_date": c.departure_date, "status": c.status,
        "created_at": iso(c.created_at), "updated_at": iso(c.updated_at or c.created_at),
        "containers_count": c.containers_count, "act_type": "", "all_blr_traceable": False,
        "is_waybill_enabled": True, "is_econom": False, "arrival_pass_ids": [],
        "available_actions": APPROVED_ACTIONS if c.status == "formed" else [],
        "cancel_availability": {"is_cancel_available": c.status == "new", "reason": ""},
        "first_mile_type": "pickup", "has_postings_for_next_carriage": False, "integration_type": "ozon",
        "is_container_label_printed": False, "is_partial": False, "partial_num": 0, "retry_count": 0,
        "tpl_provider_id": 24,
    }


def act_pdf(state: OzonState, body: Json) -> bytes:
    """``/v2/posting/fbs/act/get-pdf``: the shipping list and the waybill of a formed carriage."""
    c = _carriage(state, body, "id")
    if c.status != "formed":
        raise refused("HAS_INCORRECT_STATUS")
    head = [f"carriage {c.id}", f"delivery method {c.delivery_method_id}", f"departure {c.departure_date}"]
    return pdf([["SHIPPING LIST", *head, *c.postings], ["WAYBILL", *head, f"{len(c.postings)} postings"]])


def delivery_list(state: OzonState, body: Json) -> Json:
    """``/v2/carriage/delivery/list``: per delivery method with packed postings, their counts and
    carriages (id 0: the one that can be created)."""
    limit = int(body.get("limit") or 0)
    if not 1 <= limit <= 1000:
        raise ApiError(400, 3, "INVALID_ARGUMENT: limit must be 1 to 1000")
    wanted = int((body.get("filter") or {}).get("delivery_method_id") or 0)
    methods: dict[int, list[Posting]] = {}
    for p in (state.settle(n) for n in state.numbers()):
        if p.status in ("awaiting_packaging", "awaiting_deliver") and wanted in (0, p.method[0]):
            methods.setdefault(p.method[0], []).append(p)
    out = []
    for method_id, postings in sorted(methods.items())[:limit]:
        ready = _ready(state, method_id)
        packed = [p for p in postings if p.status == "awaiting_deliver"]
        if not packed:
            continue
        carriages = [{"id": c.id, "status": c.status, "postings_count": len(c.postings),
                      "available_actions": APPROVED_ACTIONS if c.status == "formed" else []}
                     for c in state.day.carriages.values() if c.delivery_method_id == method_id]
        if ready:
            carriages.append({"id": 0, "status": "", "postings_count": len(ready), "available_actions": []})
        first = postings[0]
        out.append({
            "delivery_method_id": method_id, "delivery_method_name": first.method[1],
            "warehouse_id": first.warehouse[0], "warehouse_name": first.warehouse[1],
            "mandatory_postings_count": len(postings), "mandatory_packaged_count": len(packed),
            "carriage_postings_count": len(ready), "carriages": carriages, "errors": [],
            "departure_date": iso(state.clock()), "is_rfbs": first.integration != "ozon",
        })
    return {"methods": out, "has_next": False, "cursor": ""}
