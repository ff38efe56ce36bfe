"""Ozon JSON -> our model, tolerant of the ways Ozon's answers differ from its own spec.

Ozon's responses are inconsistent: int64 ids come as numbers
or as numeric strings, money as ``"1530.0000"``, as a number or as ``{amount, currency}``,
timestamps with or without fractions (up to nanoseconds), blocks that were not asked for come
back as ``null``. Every helper here takes whatever arrived and returns a usable value or a
neutral default; none of them raises on odd input. A posting also says which of its fields the
answer left out (``Posting.unknown``): "not said" is not "empty", and the engine keeps what it knew.
A posting without a ``posting_number`` is the only thing we cannot use: ``parse_posting`` returns
None for it and the caller skips it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.model import DEFAULT_ACCOUNT, CancelReason, FboPosting, Posting, Product, ReturnItem

_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_DATETIME_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|z|[+-]\d{2}:?\d{2})?\s*$"
)
_DATE_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def to_int(value: object, default: int = 0) -> int:
    """An int64 sent as a number or as a numeric string; anything else gives ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else default
    if isinstance(value, str) and _INT_RE.match(value):
        return int(value)
    if isinstance(value, str):
        # "12.0" happens where Ozon serialises an int64 through a double.
        number = to_decimal(value)
        if number is not None and number == number.to_integral_value():
            return int(number)
    return default


def to_decimal(value: object) -> Decimal | None:
    """A finite decimal from a number or a numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ".").replace(" ", "").replace("\u00a0", ""))
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def to_money(value: object) -> Decimal:
    """Money as ``"1530.0000"``, a number, ``{"amount": ..., "currency": ...}`` or ``{"price": ...}``.

    Missing or unreadable amounts give ``Decimal(0)``; the currency is not kept (postings of
    one seller are in one currency).
    """
    if isinstance(value, Mapping):
        for key in ("amount", "price", "value"):
            if key in value:
                return to_money(value[key])
        return Decimal(0)
    number = to_decimal(value)
    return number if number is not None else Decimal(0)


def to_datetime(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; ``null``, ``""`` or garbage give None.

    Accepts ``Z`` or a numeric offset (none means UTC, as Ozon works in UTC), and any number of
    fraction digits: nanoseconds are truncated to microseconds. The protobuf zero time
    (year 1) means "not set" and gives None.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    m = _DATETIME_RE.match(value) or _DATE_RE.match(value)
    if m is None:
        return None
    groups = m.groups()
    year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
    hour, minute, second, fraction, offset = 0, 0, 0, "", None
    if len(groups) > 3:
        hour, minute, second = int(groups[3]), int(groups[4]), int(groups[5])
        fraction, offset = groups[6] or "", groups[7]
    if year <= 1:
        return None
    tz = UTC if offset is None or offset in ("Z", "z") else _offset(offset)
    if tz is None:
        return None
    try:
        # A leap second (":60") is read as second 59.
        dt = datetime(year, month, day, hour, minute, min(second, 59), int(fraction[:6].ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return None
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        return dt


def _offset(text: str) -> timezone | None:
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def to_text(value: object) -> str:
    """A string field; ``null`` gives ``""`` and numbers are written out."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _block(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _address(value: object) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        return ""
    tail = to_text(value.get("address_tail")).strip()
    if tail:
        return tail
    parts: list[str] = []
    for key in ("zip_code", "country", "region", "district", "city"):
        part = to_text(value.get(key)).strip()
        if part and part not in parts:
            parts.append(part)
    return ", ".join(parts)


def parse_product(data: object) -> Product | None:
    """One entry of ``products[]``; None when it is not an object."""
    if not isinstance(data, Mapping):
        return None
    sku = data.get("sku") if data.get("sku") is not None else data.get("product_id")
    return Product(
        sku=to_int(sku),
        offer_id=to_text(data.get("offer_id")),
        name=to_text(data.get("name")),
        quantity=to_int(data.get("quantity")),
        price=to_money(data.get("price")),
    )


def _products(data: Mapping[str, Any]) -> tuple[Product, ...]:
    return tuple(p for p in (parse_product(x) for x in _list(data.get("products"))) if p is not None)


def parse_posting(data: object, account: str = DEFAULT_ACCOUNT) -> Posting | None:
    """A posting object of the v4 lists or of ``/v3/posting/fbs/get``; None without a posting number."""
    if not isinstance(data, Mapping):
        return None
    number = to_text(data.get("posting_number")).strip()
    if not number:
        return None
    method = _block(data, "delivery_method")
    analytics = _block(data, "analytics_data")
    cancellation = _block(data, "cancellation")
    customer = _block(data, "customer")
    addressee = _block(data, "addressee")
    products = _products(data)
    actions = frozenset(to_text(a) for a in _list(data.get("available_actions")) if to_text(a))
    return Posting(
        unknown=_unknown_fields(data, method, analytics),
        posting_number=number,
        status=to_text(data.get("status")),
        account=account,
        substatus=to_text(data.get("substatus")),
        order_number=to_text(data.get("order_number")),
        tpl_integration_type=to_text(data.get("tpl_integration_type")) or "ozon",
        delivery_method=to_text(method.get("name")),
        delivery_method_id=to_int(method.get("id")),
        warehouse=to_text(method.get("warehouse")) or to_text(analytics.get("warehouse")),
        warehouse_id=to_int(method.get("warehouse_id")) or to_int(analytics.get("warehouse_id")),
        in_process_at=to_datetime(data.get("in_process_at")),
        shipment_date=to_datetime(data.get("shipment_date")),
        tracking_number=to_text(data.get("tracking_number")),
        cancel_reason_id=to_int(cancellation.get("cancel_reason_id")) or to_int(data.get("cancel_reason_id")),
        cancel_reason=to_text(cancellation.get("cancel_reason")),
        cancellation_initiator=to_text(cancellation.get("cancellation_initiator")),
        products=products,
        available_actions=actions,
        customer_name=to_text(customer.get("name")) or to_text(addressee.get("name")),
        customer_phone=to_text(customer.get("phone")) or to_text(addressee.get("phone")),
        customer_address=_address(customer.get("address")),
        needs=_needs(_block(data, "requirements")),
    )


def _needs(requirements: Mapping[str, Any]) -> frozenset[tuple[str, int]]:
    """``requirements``' ``products_requiring_<kind>`` lists of SKUs as (kind, SKU) pairs."""
    if not requirements:
        return frozenset()
    prefix = "products_requiring_"
    return frozenset((key[len(prefix):], sku) for key, skus in requirements.items() if key.startswith(prefix)
                     for sku in (to_int(x) for x in _list(skus)) if sku)


# Posting fields, by the answer's keys that carry them: a key Ozon left out or sent as null leaves them unknown.
_CARRIED_BY = {
    "status": ("status", "substatus"),
    "order_number": ("order_number",),
    "tpl_integration_type": ("tpl_integration_type",),
    "in_process_at": ("in_process_at",),
    "shipment_date": ("shipment_date",),
    "tracking_number": ("tracking_number",),
    "cancellation": ("cancel_reason_id", "cancel_reason", "cancellation_initiator"),
}


def _unknown_fields(data: Mapping[str, Any], method: Mapping[str, Any], analytics: Mapping[str, Any]) -> frozenset[str]:
    """The posting's fields this answer says nothing about (missing, null, or a time that cannot be read).
    The engine keeps their last known values instead of blanking the row."""
    unknown = {f for key, fields in _CARRIED_BY.items() if data.get(key) is None for f in fields}
    for key in ("in_process_at", "shipment_date"):
        if key not in unknown and to_datetime(data.get(key)) is None:
            unknown.add(key)
    if not method:
        unknown |= {"delivery_method", "delivery_method_id"}
        if not analytics.get("warehouse"):
            unknown |= {"warehouse", "warehouse_id"}
    if not isinstance(data.get("products"), list):
        unknown.add("products")
    if not isinstance(data.get("available_actions"), list):
        unknown.add("available_actions")
    return frozenset(unknown)


def parse_fbo_posting(data: object, account: str = DEFAULT_ACCOUNT) -> FboPosting | None:
    """A posting of ``/v3/posting/fbo/list`` or ``/v2/posting/fbo/get``; None without a posting number.

    Product prices come as ``{amount, currency}`` (v3 list) or as ``"137.00"`` beside
    ``currency_code`` (v2 get, and the v3 list's own example); both are read."""
    if not isinstance(data, Mapping):
        return None
    number = to_text(data.get("posting_number")).strip()
    if not number:
        return None
    analytics = _block(data, "analytics_data")
    cancellation = _block(data, "cancellation")
    products = _products(data)
    return FboPosting(
        posting_number=number,
        status=to_text(data.get("status")),
        account=account,
        substatus=to_text(data.get("substatus")),
        order_number=to_text(data.get("order_number")),
        warehouse=to_text(analytics.get("warehouse_name")) or to_text(analytics.get("warehouse")),
        city=to_text(analytics.get("city")),
        delivery_type=to_text(analytics.get("delivery_type")),
        created_at=to_datetime(data.get("created_at")),
        in_process_at=to_datetime(data.get("in_process_at")),
        cancel_reason=to_text(cancellation.get("cancel_reason")),
        products=products,
    )


def parse_return(data: object, account: str = DEFAULT_ACCOUNT) -> ReturnItem | None:
    """One entry of ``/v1/returns/list``; None without an id. Ids may be numbers or numeric strings,
    money ``{"currency_code", "price"}`` with the price as a number or a string."""
    if not isinstance(data, Mapping):
        return None
    return_id = to_int(data.get("id"))
    if not return_id:
        return None
    product = parse_product(data.get("product"))
    visual = _block(data, "visual")
    status = _block(visual, "status")
    logistic = _block(data, "logistic")
    return ReturnItem(
        id=return_id,
        posting_number=to_text(data.get("posting_number")),
        account=account,
        order_number=to_text(data.get("order_number")),
        schema=to_text(data.get("schema")),
        type=to_text(data.get("type")),
        reason=to_text(data.get("return_reason_name")),
        product=product,
        status=to_text(status.get("display_name")) or to_text(status.get("sys_name")),
        status_code=to_text(status.get("sys_name")),
        status_changed_at=to_datetime(visual.get("change_moment")),
        return_date=to_datetime(logistic.get("return_date")),
        place=to_text(_block(data, "place").get("name")),
        barcode=to_text(logistic.get("barcode")),
    )


def parse_cancel_reasons(items: Iterable[object]) -> list[CancelReason]:
    """``/v2/posting/fbs/cancel-reason/list`` items; reasons Ozon marks unavailable are left out."""
    reasons: list[CancelReason] = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("is_available_for_cancellation") is False:
            continue
        reason_id = to_int(item.get("id"))
        if reason_id:
            type_id = to_text(item.get("type_id")) or "seller"
            reasons.append(CancelReason(reason_id, to_text(item.get("title")), type_id))
    return reasons


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
