"""The write endpoints, each gated on the posting's ``available_actions`` as Ozon gates them: ship
(asynchronous; refused while item data it needs is missing or not passed), awaiting-delivery, the
rFBS status setters (200 with an error per posting), tracking numbers and cancel. Every call lands
in the write log, duplicates marked."""

from __future__ import annotations

from sync.emulators.ozon.data import CANCEL_REASONS, DELIVERY_ONLY_REASONS
from sync.emulators.ozon.errors import ApiError, refused
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json


def ship(state: OzonState, body: Json) -> Json:
    """``/v4/posting/fbs/ship``: the packages must hold exactly the posting's products."""
    path = "/v4/posting/fbs/ship"
    number = str(body.get("posting_number") or "")
    packages = body.get("packages")
    if not number or not isinstance(packages, list) or not packages:
        raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number and packages are required")
    try:
        p = state.find(number)
        acts = p.actions()
        if "ship" not in acts:
            if p.status == "cancelled":
                raise refused("POSTING_ALREADY_CANCELLED")
            raise refused("SHIP_NOT_AVAILABLE" if p.status == "awaiting_packaging" else "POSTING_ALREADY_SHIPPED")
        want: dict[int, int] = {}
        for i in p.products:
            want[i["sku"]] = want.get(i["sku"], 0) + i["quantity"]
        got: dict[int, int] = {}
        for pkg in packages:
            for item in (pkg or {}).get("products") or []:
                sku = int(item.get("product_id", 0))
                if sku not in want:
                    raise refused("UNKNOWN_PRODUCT_DEFINED")
                got[sku] = got.get(sku, 0) + int(item.get("quantity", 0))
        if got != want:
            raise refused("HAS_INCORRECT_PRODUCT_QUANTITY")
        if state.day.missing(p, state.clock()):  # marking codes etc. not all given and passed
            raise refused("EXEMPLAR_INFO_NOT_FILLED_COMPLETELY")
    except ApiError as err:
        state.log_write(path, number, "ship", False, error=err.message)
        raise
    state.start_ship(p)
    state.log_write(path, number, "ship", True)
    state.settle(number)
    return {"result": [number], "additional_data": []}


def _gated(state: OzonState, path: str, action: str, number: str, gate: str, target: tuple[str, str]) -> str:
    """Apply a move if the gate is open; returns the error code ("" when applied)."""
    try:
        p = state.find(number)
    except ApiError as err:
        state.log_write(path, number, action, False, error=err.message)
        return err.message
    if gate not in p.actions():
        code = "TRANSITION_IS_NOT_POSSIBLE"
        if gate.startswith("non_int_") and p.integration != "non_integrated" and p.status in (
                "awaiting_deliver", "delivering"):
            code = "HAS_INCORRECT_TPL_INTEGRATION_TYPE"
        state.log_write(path, number, action, False, error=code)
        return code
    duplicate = (p.status, p.substatus) == target
    state.move(p, *target)
    state.log_write(path, number, action, True, duplicate=duplicate)
    return ""


def _numbers(body: Json) -> list[str]:
    numbers = body.get("posting_number")
    if not isinstance(numbers, list) or not numbers:
        raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number must be a non-empty list")
    return [str(n) for n in numbers]


def awaiting_delivery(state: OzonState, body: Json) -> Json:
    """``/v2/posting/fbs/awaiting-delivery``: the first refusal refuses the call."""
    path = "/v2/posting/fbs/awaiting-delivery"
    errors = [_gated(state, path, "awaiting_delivery", n, "awaiting_delivery",
                     ("awaiting_deliver", "posting_transferring_to_delivery")) for n in _numbers(body)]
    bad = [e for e in errors if e]
    if bad:
        raise refused(bad[0])
    return {"result": True}


def _setter(state: OzonState, path: str, action: str, gate: str, target: tuple[str, str], body: Json) -> Json:
    """rFBS setters answer 200 with a result per posting; ``error`` is "" when it went through.
    (Ozon's own examples also show [] and null there; the client's tests cover those.)"""
    results = []
    for n in _numbers(body):
        code = _gated(state, path, action, n, gate, target)
        results.append({"posting_number": n, "result": not code, "error": code})
    return {"result": results}


def delivering(state: OzonState, body: Json) -> Json:
    return _setter(state, "/v2/fbs/posting/delivering", "delivering", "non_int_delivering",
                   ("delivering", "posting_on_way_to_city"), body)


def last_mile(state: OzonState, body: Json) -> Json:
    return _setter(state, "/v2/fbs/posting/last-mile", "last_mile", "non_int_last_mile",
                   ("delivering", "posting_in_courier_service"), body)


def delivered(state: OzonState, body: Json) -> Json:
    return _setter(state, "/v2/fbs/posting/delivered", "delivered", "non_int_delivered",
                   ("delivered", "posting_delivered"), body)


def tracking(state: OzonState, body: Json) -> Json:
    """``/v2/fbs/posting/tracking-number/set``: 1 to 20 pairs, a result for each."""
    path = "/v2/fbs/posting/tracking-number/set"
    pairs = body.get("tracking_numbers")
    if not isinstance(pairs, list) or not pairs or len(pairs) > 20:
        raise ApiError(400, 3, "INVALID_ARGUMENT: tracking_numbers must hold 1 to 20 pairs")
    results = []
    for pair in pairs:
        number = str((pair or {}).get("posting_number") or "")
        tracking_number = str((pair or {}).get("tracking_number") or "")
        code = ""
        try:
            p = state.find(number)
        except ApiError as err:
            code = err.message
        else:
            if "set_track_number" not in p.actions():
                code = "HAS_INCORRECT_TPL_INTEGRATION_TYPE" if p.integration == "ozon" else \
                    "TRANSITION_IS_NOT_POSSIBLE"
            elif not tracking_number:
                code = "INVALID_ARGUMENT"
        if code:
            state.log_write(path, number, "tracking_number", False, error=code)
        else:
            duplicate = p.tracking_number == tracking_number
            p.tracking_number = tracking_number
            state.log_write(path, number, "tracking_number", True, duplicate=duplicate)
        results.append({"posting_number": number, "result": not code, "error": code})
    return {"result": results}


def cancel(state: OzonState, body: Json) -> Json:
    """``/v2/posting/fbs/cancel`` with a reason the seller may give in this state."""
    path = "/v2/posting/fbs/cancel"
    number = str(body.get("posting_number") or "")
    reason = body.get("cancel_reason_id")
    message = str(body.get("cancel_reason_message") or "")
    try:
        if not number or reason in (None, "", 0):
            raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number and cancel_reason_id are required")
        p = state.find(number)
        reason_id = int(reason)
        if p.status == "cancelled":
            raise refused("POSTING_ALREADY_CANCELLED")
        if "cancel" not in p.actions():
            raise refused("TRANSITION_IS_NOT_POSSIBLE")
        known = {r[0]: r for r in CANCEL_REASONS if r[3]}
        if reason_id not in known or (reason_id in DELIVERY_ONLY_REASONS and p.status != "delivering"):
            raise refused("HAS_INCORRECT_CANCEL_REASON")
        if reason_id == 402 and not message.strip():
            raise ApiError(400, 3, "INVALID_ARGUMENT: cancel_reason_message is required for reason 402")
    except ApiError as err:
        state.log_write(path, number, "cancel", False, error=err.message)
        raise
    after_ship = p.status not in ("awaiting_packaging", "awaiting_approve", "awaiting_verification")
    state.move(p, "cancelled", "posting_canceled")
    p.shipping_until = None
    p.cancellation.update(cancel_reason_id=reason_id, cancel_reason=known[reason_id][1],
                          cancellation_type="seller", cancellation_initiator="Продавец",
                          cancelled_after_ship=after_ship)
    state.log_write(path, number, "cancel", True)
    return {"result": True}
