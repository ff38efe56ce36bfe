"""Postings, FBO postings and returns as Ozon's answers show them: a list item and the single-posting
``get`` differ in price format, buyer data and a few fields."""

from __future__ import annotations

from datetime import timedelta

from sync.emulators.ozon.day import requirements
from sync.emulators.ozon.model import FboPosting, Posting, Return, iso
from sync.emulators.server import Json


def _without_nulls(data: Json) -> Json:
    """Leave out blocks that do not apply (buyer data of an FBS posting, an unset date). Ozon sends
    null there, which its own description does not allow; the client copes with both."""
    return {k: v for k, v in data.items() if v is not None}


def _with_nulls(data: Json, null_keys: frozenset[str]) -> Json:
    """These top-level keys set to null, as Ozon sometimes answers (``OzonState.answer_nulls``)."""
    return {**data, **dict.fromkeys(null_keys)} if null_keys else data


def _common(p: Posting) -> Json:
    return {
        "posting_number": p.number,
        "order_id": p.order_id,
        "order_number": p.number.rsplit("-", 1)[0],
        "parent_posting_number": "",
        "status": p.status,
        "substatus": p.substatus,
        "delivery_method": {"id": p.method[0], "name": p.method[1], "warehouse_id": p.warehouse[0],
                            "warehouse": p.warehouse[1], "tpl_provider_id": 24 if p.integration == "ozon" else 0,
                            "tpl_provider": "Ozon Логистика" if p.integration == "ozon" else ""},
        "tpl_integration_type": p.integration,
        "tracking_number": p.tracking_number,
        "in_process_at": iso(p.in_process_at),
        "shipment_date": iso(p.shipment_date),
        "delivering_date": iso(p.delivering_date),
        "cancellation": dict(p.cancellation),
        "available_actions": sorted(p.actions()),
        "is_express": False,
        "is_multibox": False,
        "multi_box_qty": p.multi_box_qty,
        "requirements": requirements(p),
    }


def list_item(p: Posting, null_keys: frozenset[str]) -> Json:
    """A posting in ``/v4/posting/fbs/list`` and ``unfulfilled/list``."""
    data = _common(p)
    data["delivery_schema"] = "fbs"
    data["products"] = [{"sku": i["sku"], "offer_id": i["offer_id"], "name": i["name"], "quantity": i["quantity"],
                         "price": {"amount": i["price"], "currency": "RUB"}, "imei": [],
                         "is_blr_traceable": False, "is_marketplace_buyout": False} for i in p.products]
    shown = p.buyer_shown()
    # Lists leave the buyer's phone empty (Ozon documents it so): /v3/posting/fbs/get has it.
    data["customer"] = {**p.customer, "phone": ""} if shown and p.customer else None
    data["addressee"] = {"name": p.customer["name"]} if shown and p.customer else None
    return _with_nulls(_without_nulls(data), null_keys)


def detail(p: Posting, null_keys: frozenset[str]) -> Json:
    """A posting as ``/v3/posting/fbs/get`` shows it (no ``result`` wrapper)."""
    data = _common(p)
    data["previous_substatus"] = p.previous_substatus
    data["products"] = [{"sku": i["sku"], "offer_id": i["offer_id"], "name": i["name"], "quantity": i["quantity"],
                         "price": i["price"] + "00", "currency_code": "RUB", "is_blr_traceable": False,
                         "is_marketplace_buyout": False} for i in p.products]
    shown = p.buyer_shown()
    data["customer"] = dict(p.customer) if shown and p.customer else None
    data["addressee"] = ({"name": p.customer["name"], "phone": p.customer["phone"]}
                         if shown and p.customer else None)
    data["additional_data"] = []
    return _with_nulls(_without_nulls(data), null_keys)


def fbo_item(p: FboPosting, analytics: bool, *, detail: bool = False) -> Json:
    """An FBO posting in ``/v3/posting/fbo/list``, or (``detail``) as ``/v2/posting/fbo/get`` shows it."""
    if detail:  # /v2/posting/fbo/get: price as text beside currency_code
        products = [{"sku": i["sku"], "offer_id": i["offer_id"], "name": i["name"], "quantity": i["quantity"],
                     "price": i["price"], "currency_code": "RUB", "digital_codes": [],
                     "is_marketplace_buyout": False} for i in p.products]
    else:
        products = [{"sku": i["sku"], "offer_id": i["offer_id"], "name": i["name"], "quantity": i["quantity"],
                     "price": {"amount": i["price"], "currency": "RUB"}, "digital_codes": [],
                     "is_marketplace_buyout": False} for i in p.products]
    data: Json = {
        "posting_number": p.number, "order_id": p.order_id, "order_number": p.number.rsplit("-", 1)[0],
        "status": p.status, "substatus": p.substatus, "created_at": iso(p.created_at),
        "in_process_at": iso(p.created_at + timedelta(minutes=5)),
        "cancel_reason_id": 501 if p.status == "cancelled" else 0,
        "products": products, "additional_data": [],
    }
    if not detail:
        data["cancellation"] = {"cancel_reason": p.cancel_reason,
                                "cancellation_type": "client" if p.cancel_reason else "",
                                "cancellation_initiator": "Покупатель" if p.cancel_reason else ""}
    if analytics:
        data["analytics_data"] = {"city": p.city, "delivery_type": "PVZ", "is_premium": False, "is_legal": False,
                                  "payment_type_group_name": "Карты оплаты", "warehouse_id": p.warehouse[0],
                                  "warehouse_name": p.warehouse[1]}
    return data


def return_item(r: Return) -> Json:
    """A return in ``/v1/returns/list``."""
    price = float(r.product["price"])
    # Ozon's own example sends int64 ids as strings; the emulator sends numbers, as the schema says.
    return {
        "id": r.id, "company_id": 3058, "source_id": r.id - 900000000, "posting_number": r.posting_number,
        "order_id": r.order_id, "order_number": r.posting_number.rsplit("-", 1)[0], "type": r.type,
        "schema": r.schema, "return_reason_name": r.reason,
        "product": {"sku": r.product["sku"], "offer_id": r.product["offer_id"], "name": r.product["name"],
                    "quantity": 1, "price": {"currency_code": "RUB", "price": price},
                    "price_without_commission": {"currency_code": "RUB", "price": round(price * 0.9, 2)},
                    "commission_percent": 10.0, "commission": {"currency_code": "RUB",
                                                               "price": round(price * 0.1, 2)}},
        "visual": {"status": {"id": r.status[0], "sys_name": r.status[1], "display_name": r.status[2]},
                   "change_moment": iso(r.changed_at)},
        "logistic": {"return_date": iso(r.return_date), "barcode": r.barcode},
        "place": {"id": 23869688194000, "name": "Склад возвратов Софьино", "address": "Московская обл."},
        "additional_info": {"is_opened": False, "is_super_econom": False},
    }
