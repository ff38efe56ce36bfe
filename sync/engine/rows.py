"""Pure functions: an Ozon posting -> the text of its row; a typed cell -> what the person asked for."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from sync.mapping import DATETIME_FORMAT, ColumnMap, StatusMap
from sync.model import Owner, Posting

OPEN_FOR_CUSTOMER_DATA = frozenset({"awaiting_packaging", "awaiting_deliver", "delivering"})


def buyer_shown(p: Posting, customer_data: bool) -> bool:
    """Whether the sheet shows this posting's buyer: with customer_data on, an rFBS posting while it is
    still to be delivered."""
    return customer_data and p.scheme.value == "rFBS" and p.status in OPEN_FOR_CUSTOMER_DATA


def local(t: datetime | None, tz: ZoneInfo) -> str:
    return t.astimezone(tz).strftime(DATETIME_FORMAT) if t else ""


def products_text(p: Posting) -> str:
    return "; ".join(f"{x.quantity} × {x.name} ({x.offer_id})" for x in p.products)


def reason_text(p: Posting) -> str:
    if p.cancel_reason_id:
        return f"{p.cancel_reason_id} — {p.cancel_reason}" if p.cancel_reason else str(p.cancel_reason_id)
    return p.cancel_reason


def ozon_values(p: Posting, statuses: StatusMap, tz: ZoneInfo, status_since: datetime | None,
                customer_data: bool) -> dict[str, str]:
    """Every field the daemon derives from Ozon for this posting (both-owned ones included)."""
    show_customer = buyer_shown(p, customer_data)
    return {
        "posting_number": p.posting_number,
        "order_number": p.order_number,
        "scheme": p.scheme.value,
        "warehouse": p.warehouse,
        "delivery_method": p.delivery_method,
        "in_process_at": local(p.in_process_at, tz),
        "shipment_date": local(p.shipment_date, tz),
        "products": products_text(p),
        "quantity": str(p.total_quantity),
        "total_price": f"{p.total_price:.2f}",
        "status": statuses.label_for(p),
        "tracking_number": p.tracking_number,
        "cancel_reason": reason_text(p),
        "customer_name": p.customer_name if show_customer else "",
        "customer_phone": p.customer_phone if show_customer else "",
        "customer_address": p.customer_address if show_customer else "",
        "status_since": local(status_since, tz),
        "account": p.account,
    }


def ozon_hash(values: dict[str, str], columns: ColumnMap) -> str:
    """A fingerprint of the Ozon-owned values of a row, to tell a person's edit from Ozon's change."""
    h = hashlib.sha1()
    for f in columns.fields(Owner.OZON):
        h.update(values.get(f, "").encode())
        h.update(b"\x1f")
    return h.hexdigest()


def same_value(field: str, sheet: str, ozon: str, posting: Posting, statuses: StatusMap) -> bool:
    """Does what the sheet says already mean what Ozon says? (labels in any case, raw codes, reason ids)."""
    if sheet == ozon:
        return True
    if field == "status":
        lab = statuses.parse(sheet)
        cur = statuses.label_of(posting.status, posting.substatus)
        return lab is not None and cur is not None and lab.id == cur.id
    if field == "cancel_reason":
        parsed = statuses.parse_reason(sheet)
        return parsed is not None and parsed.id == posting.cancel_reason_id and posting.cancel_reason_id != 0
    return sheet.strip() == ozon.strip()


def edit_id(field: str, base: str, typed: str, version: int) -> str:
    """Identifies one edit: the same text typed over the same written value is the same edit."""
    return hashlib.sha1(f"{field}\x1f{base}\x1f{typed}\x1f{version}".encode()).hexdigest()[:16]
