"""What the Ozon emulator holds: FBS/rFBS postings with the actions their state allows, FBO postings
and returns; and the time format Ozon writes and reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sync.emulators.ozon.data import FBS, RFBS
from sync.emulators.server import Json


def available_actions(status: str, substatus: str, integration: str, shipping: bool = False) -> frozenset[str]:
    """What Ozon lets the seller do with a posting in this state.

    ``integration`` is ``tpl_integration_type``; ``shipping`` is true while an accepted ship is
    still being processed. The engine's in-process test model uses the same rules.
    """
    rfbs_own = integration == "non_integrated"
    rfbs = integration != "ozon"
    acts: set[str] = set()
    if status == "awaiting_packaging":
        acts |= {"ship_async_in_process", "cancel"} if shipping else {"ship", "ship_async", "cancel", "product_cancel"}
        if substatus == "ship_failed" and not shipping:
            acts.add("ship_async_retry")
    elif status == "awaiting_deliver":
        acts |= {"cancel", "label_download"}
        if rfbs_own:
            acts.add("non_int_delivering")
        if rfbs:
            acts.add("set_track_number")
    elif status in ("arbitration", "client_arbitration") and not rfbs:
        acts |= {"awaiting_delivery", "cancel"}
    elif status == "delivering" and rfbs_own and substatus != "posting_conditionally_delivered":
        acts |= {"non_int_delivered", "cancel", "set_track_number"}
        if substatus != "posting_in_courier_service":
            acts.add("non_int_last_mile")
    return frozenset(acts)


def iso(dt: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds and ``Z``, as Ozon writes it."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "." in text:  # Python wants at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def empty_cancellation() -> Json:
    return {"cancel_reason_id": 0, "cancel_reason": "", "cancellation_type": "", "cancellation_initiator": "",
            "cancelled_after_ship": False, "affect_cancellation_rating": False}


@dataclass
class Posting:
    number: str
    order_id: int
    status: str
    substatus: str
    integration: str
    warehouse: tuple[int, str]
    method: tuple[int, str]
    in_process_at: datetime
    shipment_date: datetime
    products: list[Json]
    changed_at: datetime
    customer: Json | None = None
    tracking_number: str = ""
    previous_substatus: str = ""
    cancellation: Json = field(default_factory=dict)
    shipping_until: datetime | None = None
    ship_fails: bool = False
    delivering_date: datetime | None = None
    multi_box_qty: int = 1

    @property
    def scheme(self) -> str:
        return FBS if self.integration == "ozon" else RFBS

    def actions(self) -> frozenset[str]:
        return available_actions(self.status, self.substatus, self.integration, self.shipping_until is not None)

    def list_order(self) -> tuple[datetime, int]:
        """Ozon's list order: acceptance time, then order id (what the cursor encodes)."""
        return (self.in_process_at, self.order_id)

    def buyer_shown(self) -> bool:
        """Ozon gives the buyer's name, phone and address of an rFBS posting only while it is being delivered."""
        return self.customer is not None and self.status in ("awaiting_packaging", "awaiting_deliver", "delivering")


@dataclass
class FboPosting:
    number: str
    order_id: int
    status: str
    substatus: str
    warehouse: tuple[int, str]
    city: str
    created_at: datetime
    products: list[Json]
    cancel_reason: str = ""


@dataclass
class Return:
    id: int
    posting_number: str
    order_id: int
    schema: str  # "Fbs" | "Fbo", as Ozon's example writes it
    type: str
    reason: str
    product: Json
    status: tuple[int, str, str]
    changed_at: datetime
    return_date: datetime
    barcode: str
