"""The domain: postings as the engine sees them, independent of Ozon's JSON and of any sheet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Scheme(StrEnum):
    """How a posting is delivered. FBS: Ozon delivers; rFBS: the seller (or a 3PL) delivers."""

    FBS = "FBS"
    RFBS = "rFBS"
    FBO = "FBO"


class Owner(StrEnum):
    """Who may write a mapped column."""

    KEY = "key"  # the posting number; written once by the daemon, identifies the row
    OZON = "ozon"  # rewritten from Ozon; a staff edit is restored with a note
    BOTH = "both"  # three-way merged: a staff edit is a request to Ozon
    STAFF = "staff"  # never written by the daemon
    DAEMON = "daemon"  # written only by the daemon (the sync note)


class Action(StrEnum):
    """Ozon write calls, named after the ``available_actions`` entry that gates them."""

    SHIP = "ship"
    AWAITING_DELIVERY = "awaiting_delivery"
    DELIVERING = "non_int_delivering"
    LAST_MILE = "non_int_last_mile"
    DELIVERED = "non_int_delivered"
    CANCEL = "cancel"
    SET_TRACK = "set_track_number"


FINISHED_STATUSES = frozenset({"delivered", "cancelled", "cancelled_from_split_pending"})

DEFAULT_ACCOUNT = "main"


@dataclass(frozen=True, slots=True)
class Product:
    sku: int
    offer_id: str
    name: str
    quantity: int
    price: Decimal = Decimal(0)


@dataclass(frozen=True)
class CancelReason:
    id: int
    title: str
    type_id: str = "seller"


class _Totals:
    """Units and sum over a posting's products."""

    __slots__ = ()
    products: tuple[Product, ...]

    @property
    def total_quantity(self) -> int:
        return sum(p.quantity for p in self.products)

    @property
    def total_price(self) -> Decimal:
        return sum((p.price * p.quantity for p in self.products), Decimal(0))


@dataclass(frozen=True, slots=True)
class Posting(_Totals):
    """One Ozon posting, as much of it as the sheet, the engine and the reports use.

    ``status``/``substatus`` are Ozon's raw strings (an unknown value is kept, not rejected).
    Times are timezone-aware UTC or None.
    """

    posting_number: str
    status: str
    account: str = DEFAULT_ACCOUNT
    substatus: str = ""
    order_number: str = ""
    tpl_integration_type: str = "ozon"
    delivery_method: str = ""
    delivery_method_id: int = 0
    warehouse: str = ""
    warehouse_id: int = 0
    in_process_at: datetime | None = None
    shipment_date: datetime | None = None
    tracking_number: str = ""
    cancel_reason_id: int = 0
    cancel_reason: str = ""
    cancellation_initiator: str = ""
    products: tuple[Product, ...] = ()
    available_actions: frozenset[str] = frozenset()
    customer_name: str = ""
    customer_phone: str = ""
    customer_address: str = ""
    scheme_override: Scheme | None = None
    unknown: frozenset[str] = frozenset()  # fields Ozon left out or sent as null: not known, not empty
    # item data Ozon needs before packing, as (kind, SKU): kind is a sync.fbs.Need value ("mandatory_mark"...)
    needs: frozenset[tuple[str, int]] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.posting_number)

    def allows(self, action: str) -> bool:
        """May this move be tried? When Ozon did not say which actions it allows, it decides on the call."""
        return action in self.available_actions or "available_actions" in self.unknown

    def known_from(self, old: Posting | None) -> Posting:
        """This answer with each field Ozon left out taken from ``old`` (the last known posting). The
        actions are never taken from an old answer: they stay unknown, so no move is refused on them."""
        fill = {f for f in self.unknown if f != "available_actions"}
        if old is None or not fill:
            return self
        return replace(self, **{f: getattr(old, f) for f in fill},
                       unknown=self.unknown - fill)

    @property
    def scheme(self) -> Scheme:
        if self.scheme_override is not None:
            return self.scheme_override
        return Scheme.FBS if self.tpl_integration_type == "ozon" else Scheme.RFBS

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True, slots=True)
class FboPosting(_Totals):
    """An FBO posting (Ozon ships it from its own warehouse): mirrored read-only, never edited."""

    posting_number: str
    status: str
    account: str = DEFAULT_ACCOUNT
    substatus: str = ""
    order_number: str = ""
    warehouse: str = ""
    city: str = ""
    delivery_type: str = ""
    created_at: datetime | None = None
    in_process_at: datetime | None = None
    cancel_reason: str = ""
    products: tuple[Product, ...] = ()


@dataclass(frozen=True)
class ReturnItem:
    """One return (``/v1/returns/list``): one product of a posting on its way back, FBS or FBO."""

    id: int
    posting_number: str
    account: str = DEFAULT_ACCOUNT
    order_number: str = ""
    schema: str = ""  # FBS | FBO as Ozon writes it ("Fbs" in its examples)
    type: str = ""  # Cancellation | FullReturn | PartialReturn | ClientReturn | Unknown
    reason: str = ""
    product: Product | None = None
    status: str = ""  # visual.status.display_name
    status_code: str = ""  # visual.status.sys_name
    status_changed_at: datetime | None = None
    return_date: datetime | None = None
    place: str = ""
    barcode: str = ""


class SheetRow:
    """One row as read from a sheet: ``row`` is a 1-based locator valid for this read only.

    ``get(field)`` is the cell's text ("" for empty). The rows of one read share one field index and
    hold their values as a tuple (``values``), so a 100,000-row read costs a tuple per row, not a dict.
    """

    __slots__ = ("row", "values", "_index")

    def __init__(self, row: int, cells: Mapping[str, str] | None = None, *,
                 index: Mapping[str, int] | None = None, values: tuple[str, ...] = ()):
        self.row = row
        if cells is not None:
            self._index: Mapping[str, int] = {f: i for i, f in enumerate(cells)}
            self.values: tuple[str, ...] = tuple(cells.values())
        else:
            self._index, self.values = index or {}, values

    @property
    def cells(self) -> dict[str, str]:
        """field -> text, for every field read."""
        return dict(zip(self._index, self.values, strict=True))

    def get(self, name: str) -> str:
        i = self._index.get(name)
        return "" if i is None else self.values[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SheetRow) and (self.row, self.cells) == (other.row, other.cells)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SheetRow({self.row}, {self.cells!r})"


@dataclass(frozen=True, slots=True)
class CellWrite:
    """Set one cell, located by row number (from the same cycle's read) and field name."""

    row: int
    field: str
    value: str


def posting_to_dict(p: Posting) -> dict[str, object]:
    """A JSON-ready dict of a posting (the state store keeps it; reports read it back)."""
    return {
        "posting_number": p.posting_number, "status": p.status, "account": p.account, "substatus": p.substatus,
        "order_number": p.order_number, "tpl_integration_type": p.tpl_integration_type,
        "delivery_method": p.delivery_method, "delivery_method_id": p.delivery_method_id,
        "warehouse": p.warehouse, "warehouse_id": p.warehouse_id,
        "in_process_at": p.in_process_at.isoformat() if p.in_process_at else None,
        "shipment_date": p.shipment_date.isoformat() if p.shipment_date else None,
        "tracking_number": p.tracking_number, "cancel_reason_id": p.cancel_reason_id,
        "cancel_reason": p.cancel_reason, "cancellation_initiator": p.cancellation_initiator,
        "products": [[x.sku, x.offer_id, x.name, x.quantity, str(x.price)] for x in p.products],
        "available_actions": sorted(p.available_actions),
        "customer_name": p.customer_name, "customer_phone": p.customer_phone,
        "customer_address": p.customer_address,
        "scheme_override": p.scheme_override.value if p.scheme_override else None,
        "unknown": sorted(p.unknown),
        **({"needs": sorted([kind, sku] for kind, sku in p.needs)} if p.needs else {}),
    }


def posting_from_dict(d: dict[str, Any]) -> Posting:
    def when(v: object) -> datetime | None:
        return datetime.fromisoformat(str(v)) if v else None

    products = tuple(
        Product(int(s), str(o), str(n), int(q), Decimal(str(pr)))
        for s, o, n, q, pr in d.get("products", []) or []
    )
    override = d.get("scheme_override")
    return Posting(
        posting_number=str(d["posting_number"]), status=str(d["status"]),
        account=str(d.get("account", DEFAULT_ACCOUNT)), substatus=str(d.get("substatus", "")),
        order_number=str(d.get("order_number", "")), tpl_integration_type=str(d.get("tpl_integration_type", "")),
        delivery_method=str(d.get("delivery_method", "")), delivery_method_id=int(d.get("delivery_method_id") or 0),
        warehouse=str(d.get("warehouse", "")), warehouse_id=int(d.get("warehouse_id") or 0),
        in_process_at=when(d.get("in_process_at")), shipment_date=when(d.get("shipment_date")),
        tracking_number=str(d.get("tracking_number", "")), cancel_reason_id=int(d.get("cancel_reason_id") or 0),
        cancel_reason=str(d.get("cancel_reason", "")), cancellation_initiator=str(d.get("cancellation_initiator", "")),
        products=products, available_actions=frozenset(d.get("available_actions", []) or []),
        customer_name=str(d.get("customer_name", "")), customer_phone=str(d.get("customer_phone", "")),
        customer_address=str(d.get("customer_address", "")),
        scheme_override=Scheme(str(override)) if override else None,
        unknown=frozenset(d.get("unknown", []) or []),
        needs=frozenset((str(kind), int(sku)) for kind, sku in d.get("needs", []) or []),
    )
