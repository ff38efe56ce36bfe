"""A stateful emulator of the Ozon Seller API, a real HTTP server on 127.0.0.1.

It serves the FBS/rFBS methods ozon-sheet-sync calls (reference/ozon-api.md, DESIGN §9) with
Ozon's rules as we know them:

* postings of FBS (``tpl_integration_type`` ``ozon``: Ozon delivers) and rFBS (``non_integrated``:
  the seller delivers and sets statuses; ``3pl_tracking``: an integrated carrier), seeded from a
  number so runs repeat;
* ``available_actions`` computed from status, substatus and scheme (``available_actions`` below),
  and every write gated on it, as Ozon does;
* ship is asynchronous: the posting reads as still packing (``ship_async_in_process``) for
  ``ship_delay`` seconds and then becomes ``awaiting_deliver`` — or, for a ``ship_fail_rate``
  share, falls back to ``awaiting_packaging`` with substatus ``ship_failed``;
* the rFBS setters answer 200 with per-posting errors inside the body; other refusals are
  ``rpcStatus`` bodies (``{"code", "message", "details"}``) with 400/404/409;
* auth as Ozon does it: a wrong Api-Key is HTTP 404 code 5, a non-numeric Client-Id 400 code 3;
* a rate limit per Client-Id answering 429 code 8 with ``retry-after``;
* fault injection (``Faults``): random or scripted 429, 500, dropped connections, slow answers,
  "Circle is open", and HTML instead of JSON. A write that meets a 500 or a dropped connection may
  already have been applied — as with the real service, only re-reading tells;
* FBO postings (``/v3/posting/fbo/list`` with cursor pages, ``/v2/posting/fbo/get``) and returns
  (``/v1/returns/list`` with ``last_id`` pages and its date filters), seeded from their own
  generator (``fbo=``, ``returns=``) so the FBS/rFBS seed stays the same; Ozon moves them
  (``set_fbo_state``, ``add_return``, ``set_return_status``), the seller cannot;
* a log of every write call (``write_log``; JSON lines in ``write_log_path``) that marks duplicates:
  an accepted call whose effect Ozon had already applied. ozon-sheet-sync must never cause one.

Tests and the demo change things on Ozon's side in-process (``add_posting``, ``buyer_cancel``,
``ozon_deliver``, ``set_state``, ``key_expires_at``) or over HTTP under ``/_emulator/`` (see
``ozon-sync emulator``).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sync.emulators.server import Faults, LoopbackServer, QuietHandler

Json = dict[str, Any]

FBS, RFBS = "FBS", "rFBS"
OPEN_STATUSES = (
    "awaiting_registration", "acceptance_in_progress", "awaiting_approve", "awaiting_packaging",
    "awaiting_deliver", "arbitration", "client_arbitration", "delivering", "driver_pickup", "not_accepted",
)
MAX_PERIOD = timedelta(days=366)
CANCEL_REASONS: tuple[tuple[int, str, str, bool], ...] = (
    # id, title, type_id, available for seller cancellation
    (352, "Товар закончился", "seller", True),
    (400, "Остался только бракованный товар", "seller", True),
    (401, "Отмена из арбитража", "seller", True),
    (402, "Другое (вина продавца)", "seller", True),
    (665, "Покупатель не забрал заказ", "seller", True),
    (666, "Возврат из службы доставки: нет доставки в указанный регион", "seller", True),
    (667, "Заказ утерян службой доставки", "seller", True),
    (501, "Покупатель отменил заказ", "buyer", False),
)
DELIVERY_ONLY_REASONS = frozenset({665, 666, 667})
DEFAULT_SUBSTATUS = {
    "awaiting_packaging": "posting_created",
    "awaiting_deliver": "posting_transferring_to_delivery",
    "arbitration": "posting_in_arbitration",
    "client_arbitration": "posting_in_client_arbitration",
    "delivering": "posting_on_way_to_city",
    "delivered": "posting_delivered",
    "cancelled": "posting_canceled",
    "not_accepted": "posting_not_in_sort_center",
    "awaiting_registration": "posting_awaiting_registration",
    "driver_pickup": "posting_driver_pick_up",
}

# Seeded catalogue: names a Russian shop would sell; one starts with "=" on purpose (it must stay text).
CATALOGUE = (
    ("Чайник электрический 1,7 л", "KET-17"), ("Кружка керамическая 350 мл", "MUG-350"),
    ("Набор отвёрток 12 шт.", "SCR-12"), ("Термос 0,5 л", "THR-05"), ("Фонарик налобный", "LMP-HD"),
    ("Полотенце махровое 70×140", "TWL-70"), ("Рюкзак городской", "BAG-CT"), ("Зарядка USB-C 30 Вт", "CHG-30"),
    ("Коврик для йоги", "YOG-01"), ("Сковорода 28 см", "PAN-28"), ("=) Смайл-магнит", "MAG-SM"),
    ("Лампа настольная", "LMP-DS"), ("Перчатки рабочие", "GLV-01"), ("Кабель HDMI 2 м", "HDM-2"),
)
NAMES = ("Иван П.", "Мария С.", "Алексей К.", "Ольга Н.", "Дмитрий В.", "Анна Л.")
CITIES = ("Москва", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Тверь")


def available_actions(status: str, substatus: str, integration: str, shipping: bool = False) -> frozenset[str]:
    """What Ozon lets the seller do with a posting in this state (reference/ozon-api.md §4.3–4.4).

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


def _order(p: _Posting) -> tuple[datetime, int]:
    """Ozon's list order: acceptance time, then order id (what the cursor encodes)."""
    return (p.in_process_at, p.order_id)


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


class ApiError(Exception):
    """An error answer: HTTP status and an ``rpcStatus`` body."""

    def __init__(self, http: int, code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.http, self.code, self.message = http, code, message
        self.headers = headers or {}

    def body(self) -> Json:
        return {"code": self.code, "message": self.message, "details": []}


def refused(message: str) -> ApiError:
    """A business refusal: 404 for a missing posting, 409 for a state conflict, 400 otherwise."""
    if message == "POSTING_NOT_FOUND":
        return ApiError(404, 5, message)
    if message in ("TRANSITION_IS_NOT_POSSIBLE", "POSTING_ALREADY_SHIPPED", "POSTING_ALREADY_CANCELLED",
                   "SHIP_NOT_AVAILABLE", "HAS_INCORRECT_STATUS"):
        return ApiError(409, 9, message)
    return ApiError(400, 3, message)


@dataclass
class _Posting:
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

    @property
    def scheme(self) -> str:
        return FBS if self.integration == "ozon" else RFBS

    def actions(self) -> frozenset[str]:
        return available_actions(self.status, self.substatus, self.integration, self.shipping_until is not None)


FBO_STATUSES = ("awaiting_packaging", "awaiting_deliver", "delivering", "delivered", "cancelled")
FBO_SUBSTATUS = {"awaiting_packaging": "posting_created", "awaiting_deliver": "posting_transferring_to_delivery",
                 "delivering": "posting_on_way_to_city", "delivered": "posting_delivered",
                 "cancelled": "posting_canceled"}
FBO_WAREHOUSES = ((15431806189000, "Хоругвино"), (1020000000010, "Казань"), (1020000000011, "Екатеринбург"))
# visual.status of a return: (id, sys_name, display_name). Ids are the emulator's own; Ozon's are not published.
RETURN_STATUSES = (
    (1, "DisputeOpened", "Открыт спор с покупателем"), (2, "OnSellerApproval", "На согласовании у продавца"),
    (3, "ArrivedAtReturnPlace", "В пункте выдачи"), (4, "MovingToSeller", "Едет к продавцу"),
    (5, "WaitingShipment", "Ожидает отправки"), (6, "ReceivedBySeller", "Получен продавцом"),
    (7, "Utilizing", "На утилизации"),
)
RETURN_REASONS = ("Не подошёл размер", "Товар с браком", "Не соответствует описанию", "Покупатель отказался")


@dataclass
class _FboPosting:
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
class _Return:
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


def _buyer_shown(p: _Posting) -> bool:
    """Ozon gives the buyer's name, phone and address of an rFBS posting only while it is being delivered."""
    return p.customer is not None and p.status in ("awaiting_packaging", "awaiting_deliver", "delivering")


def _without_nulls(data: Json) -> Json:
    """Leave out blocks that do not apply (buyer data of an FBS posting, an unset date). Ozon sends
    null there, which its own description does not allow; the client copes with both."""
    return {k: v for k, v in data.items() if v is not None}


def _empty_cancellation() -> Json:
    return {"cancel_reason_id": 0, "cancel_reason": "", "cancellation_type": "", "cancellation_initiator": "",
            "cancelled_after_ship": False, "affect_cancellation_rating": False}


class OzonEmulator(LoopbackServer):
    """The emulator: ``with OzonEmulator(seed=1, postings=50) as emu: ... emu.base_url``.

    ``clock`` gives the current time (UTC); tests may pass their own. Everything is guarded by one
    lock, so tests may call the in-process methods while the server thread answers requests.
    """

    thread_name = "ozon-emulator"

    def __init__(
        self,
        *,
        seed: int = 1,
        postings: int = 20,
        fbo: int = 0,
        returns: int = 0,
        client_id: str = "123456",
        api_key: str = "emulator-key",
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_rps: float = 50.0,
        ship_delay: float = 1.0,
        ship_fail_rate: float = 0.0,
        faults: Faults | None = None,
        key_expires_at: datetime | None = None,
        key_deactivated: bool = False,
        write_log_path: Path | None = None,
        record_exchanges: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client_id, self.api_key = client_id, api_key
        super().__init__(host, port)
        self.rate_limit_rps = rate_limit_rps
        self.ship_delay = timedelta(seconds=ship_delay)
        self.ship_fail_rate = ship_fail_rate
        self.faults = faults or Faults()
        self.key_deactivated = key_deactivated
        self.clock = clock
        self.key_expires_at = key_expires_at or clock() + timedelta(days=120)
        self.write_log: list[Json] = []
        self.null_keys: frozenset[str] = frozenset()  # see answer_nulls
        self.write_log_path = write_log_path
        self.request_counts: dict[str, int] = {}
        self.exchanges: list[tuple[str, Json, int, Json]] = []  # (path, request, http status, response)
        self.record_exchanges = record_exchanges
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(seed + 1)
        self._lock = threading.RLock()
        self._listings: dict[tuple[str, bool], list[_Posting]] = {}  # a listing's sorted postings, while paged
        self._postings: dict[str, _Posting] = {}
        self._order_seq = 30000000 + seed * 100000
        self._recent: deque[float] = deque()
        for _ in range(postings):
            self._seed_one()
        # FBO postings and returns draw from their own generator, so the FBS/rFBS seed stays the same.
        self._mirror_rng = random.Random(seed + 7)
        self._fbo: dict[str, _FboPosting] = {}
        self._returns: dict[int, _Return] = {}
        self._return_seq = 1000000000 + seed * 100000
        for _ in range(fbo):
            self._seed_fbo()
        for _ in range(returns):
            self.add_return()

    # --- lifecycle ----------------------------------------------------------------------------


    # --- Ozon-side changes (tests, the demo, /_emulator/) --------------------------------------

    def _seed_one(self) -> str:
        r = self._rng.random()
        integration = "ozon" if r < 0.55 else "non_integrated" if r < 0.85 else "3pl_tracking"
        status = self._rng.choices(
            ["awaiting_packaging", "awaiting_deliver", "delivering", "delivered", "cancelled", "arbitration"],
            weights=[35, 20, 15, 18, 9, 3],
        )[0]
        if status == "arbitration" and integration != "ozon":
            status = "awaiting_deliver"
        age = timedelta(hours=self._rng.uniform(1, 24 * 20))
        number = self.add_posting(scheme=FBS if integration == "ozon" else RFBS,
                                  integration=None if integration == "ozon" else integration,
                                  status=status, age=age)
        p = self._postings[number]
        p.changed_at = p.in_process_at + age * self._rng.uniform(0, 0.9)  # its status changed some time ago
        return number

    def add_posting(self, *, scheme: str = FBS, integration: str | None = None, status: str = "awaiting_packaging",
                    substatus: str = "", products: list[tuple[str, str, int, str]] | None = None,
                    age: timedelta = timedelta(0)) -> str:
        """Add a posting as a buyer's order would; returns its number.

        ``scheme`` FBS or rFBS; ``integration`` for rFBS: ``non_integrated`` (default) or ``3pl_tracking``.
        ``products``: (name, offer_id, quantity, price) tuples; seeded ones when None.
        ``age``: how long ago the buyer ordered (its status changed now, as for a new order).
        """
        with self._lock:
            if scheme.upper() == "FBS":
                tpl = "ozon"
            else:
                tpl = integration or "non_integrated"
            self._order_seq += 1
            order = f"{self._order_seq:010d}-{self._rng.randint(1, 9999):04d}"
            number = f"{order}-1"
            now = self.clock()
            accepted = now - age
            if products is None:
                picks = self._rng.sample(range(len(CATALOGUE)), self._rng.choice([1, 1, 1, 2, 3]))
                products = [(CATALOGUE[i][0], CATALOGUE[i][1], self._rng.choice([1, 1, 2, 3]),
                             f"{self._rng.randint(3, 500) * 10}.00") for i in picks]
            items = []
            for name, offer, qty, price in products:
                sku = 1_000_000_000 + sum(ord(ch) for ch in offer) * 7919 + len(offer)
                items.append({"sku": sku, "offer_id": offer, "name": name, "quantity": qty, "price": price})
            wh = (1020000000001, "Склад Софьино") if tpl == "ozon" else (1020000000002, "Свой склад, Москва")
            method = (wh[0] * 10 + 1, "Ozon Логистика, самовывоз") if tpl == "ozon" else \
                (wh[0] * 10 + 2, "Курьер продавца" if tpl == "non_integrated" else "СДЭК, интегрированная доставка")
            customer = None
            if tpl != "ozon":
                city = self._rng.choice(CITIES)
                customer = {
                    "customer_id": self._rng.randint(10**6, 10**8),
                    "name": self._rng.choice(NAMES),
                    "phone": f"+7999{self._rng.randint(0, 9999999):07d}",
                    "address": {"address_tail": f"г. {city}, ул. Ленина, д. {self._rng.randint(1, 99)}",
                                "city": city, "comment": "", "country": "Россия", "district": "", "region": city,
                                "zip_code": f"{self._rng.randint(100000, 699999)}", "latitude": 55.75,
                                "longitude": 37.61, "pvz_code": 0, "provider_pvz_code": ""},
                }
            p = _Posting(number, self._order_seq * 10, status, substatus or DEFAULT_SUBSTATUS.get(status, ""), tpl,
                         wh, method, accepted, accepted + timedelta(days=1), items, now, customer,
                         cancellation=_empty_cancellation())
            if status == "cancelled":
                p.cancellation.update(cancel_reason_id=501, cancel_reason="Покупатель отменил заказ",
                                      cancellation_type="client", cancellation_initiator="Покупатель")
            self._postings[number] = p
            return number

    def set_state(self, number: str, status: str, substatus: str = "") -> None:
        """Move a posting to any state, as Ozon's own processes do."""
        with self._lock:
            p = self._postings[number]
            self._move(p, status, substatus or DEFAULT_SUBSTATUS.get(status, ""))
            p.shipping_until = None

    def buyer_cancel(self, number: str) -> None:
        """The buyer cancels the order at Ozon."""
        with self._lock:
            p = self._postings[number]
            self.set_state(number, "cancelled", "posting_canceled")
            p.cancellation.update(cancel_reason_id=501, cancel_reason="Покупатель отменил заказ",
                                  cancellation_type="client", cancellation_initiator="Покупатель")

    def answer_nulls(self, *keys: str) -> None:
        """From now on every posting answer (lists and get) carries these top-level keys as null, as Ozon
        sometimes does; no keys: answers are whole again."""
        with self._lock:
            self.null_keys = frozenset(keys)

    def set_warehouse(self, number: str, warehouse: str, method: str | None = None) -> None:
        """The seller moves the posting to another of their warehouses (and delivery method) in the cabinet.
        Its status does not change, so only a full scan of the unfulfilled list sees it."""
        with self._lock:
            p = self._postings[number]
            wid = 1020000000000 + 1 + sum(map(ord, warehouse)) % 1000
            p.warehouse = (wid, warehouse)
            if method is not None:
                p.method = (wid * 10 + 3, method)

    def ozon_deliver(self, number: str) -> None:
        """Ozon (or the carrier) moves an FBS posting one step along: packed → delivering → delivered."""
        with self._lock:
            p = self._settle(number)
            nxt = {"awaiting_deliver": "delivering", "delivering": "delivered"}.get(p.status)
            if nxt:
                self.set_state(number, nxt)

    def posting(self, number: str) -> Json:
        """The posting as ``/v3/posting/fbs/get`` shows it (no ``result`` wrapper)."""
        with self._lock:
            return self._detail(self._settle(number))

    def numbers(self, *, scheme: str | None = None, status: str | None = None,
                integration: str | None = None) -> list[str]:
        """Posting numbers, oldest first, filtered by scheme (FBS/rFBS), status and rFBS integration type."""
        with self._lock:
            out = []
            for p in sorted(self._postings.values(), key=lambda x: (x.in_process_at, x.order_id)):
                p = self._settle(p.number)
                if scheme and p.scheme.lower() != scheme.lower():
                    continue
                if status and p.status != status:
                    continue
                if integration and p.integration != integration:
                    continue
                out.append(p.number)
            return out

    # --- FBO postings and returns (read-only for the seller) -------------------------------------

    def _seed_fbo(self) -> str:
        status = self._mirror_rng.choices(FBO_STATUSES, weights=[15, 15, 30, 30, 10])[0]
        return self.add_fbo(status=status, age=timedelta(hours=self._mirror_rng.uniform(1, 24 * 20)))

    def add_fbo(self, *, status: str = "awaiting_packaging", products: list[tuple[str, str, int, str]] | None = None,
                age: timedelta = timedelta(0)) -> str:
        """Add an FBO posting (a buyer's order Ozon ships from its warehouse); returns its number."""
        with self._lock:
            rng = self._mirror_rng
            self._order_seq += 1
            order = f"{self._order_seq:010d}-{rng.randint(1, 9999):04d}"
            if products is None:
                picks = rng.sample(range(len(CATALOGUE)), rng.choice([1, 1, 2]))
                products = [(CATALOGUE[i][0], CATALOGUE[i][1], rng.choice([1, 1, 2]),
                             f"{rng.randint(3, 500) * 10}.00") for i in picks]
            items = [{"sku": 1_000_000_000 + sum(ord(ch) for ch in offer) * 7919 + len(offer), "offer_id": offer,
                      "name": name, "quantity": qty, "price": price} for name, offer, qty, price in products]
            p = _FboPosting(f"{order}-1", self._order_seq * 10, status, FBO_SUBSTATUS.get(status, ""),
                            rng.choice(FBO_WAREHOUSES), rng.choice(CITIES), self.clock() - age, items)
            if status == "cancelled":
                p.cancel_reason = "Покупатель отменил заказ"
            self._fbo[p.number] = p
            return p.number

    def set_fbo_state(self, number: str, status: str, substatus: str = "") -> None:
        """Ozon moves an FBO posting along (the seller cannot)."""
        with self._lock:
            p = self._fbo[number]
            p.status, p.substatus = status, substatus or FBO_SUBSTATUS.get(status, "")
            p.cancel_reason = "Покупатель отменил заказ" if status == "cancelled" else ""

    def fbo_numbers(self, *, status: str | None = None) -> list[str]:
        """FBO posting numbers, oldest first."""
        with self._lock:
            return [p.number for p in sorted(self._fbo.values(), key=lambda x: (x.created_at, x.order_id))
                    if status is None or p.status == status]

    def add_return(self, posting_number: str | None = None, *, status: str = "MovingToSeller",
                   reason: str | None = None) -> int:
        """A buyer returns one product of a posting (FBS/rFBS or FBO; a seeded one when None); returns its id."""
        with self._lock:
            rng = self._mirror_rng
            if posting_number is None:
                pool = list(self._fbo) + list(self._postings)
                posting_number = rng.choice(pool) if pool else None
            if posting_number in self._fbo:
                fbo = self._fbo[posting_number]
                schema, order_id, items = "Fbo", fbo.order_id, fbo.products
            elif posting_number in self._postings:
                fbs = self._postings[posting_number]
                schema, order_id, items = "Fbs", fbs.order_id, fbs.products
            else:
                posting_number, schema, order_id = f"{self._order_seq + 1:010d}-0001-1", "Fbs", 0
                items = [{"sku": 1_000_000_001, "offer_id": "KET-17", "name": CATALOGUE[0][0], "quantity": 1,
                          "price": "1990.00"}]
            item = items[0]
            self._return_seq += 1
            now = self.clock()
            r = _Return(self._return_seq, posting_number, order_id, schema,
                        rng.choice(["ClientReturn", "FullReturn", "Cancellation"]),
                        reason or rng.choice(RETURN_REASONS), dict(item, quantity=1), self._return_status(status),
                        now, now - timedelta(days=rng.randint(0, 3)), f"ii{rng.randint(10**9, 10**10 - 1)}")
            self._returns[r.id] = r
            return r.id

    def set_return_status(self, return_id: int, status: str) -> None:
        """The return moves on (``status`` is a visual status sys_name, e.g. ReceivedBySeller)."""
        with self._lock:
            r = self._returns[return_id]
            r.status, r.changed_at = self._return_status(status), self.clock()

    def return_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._returns)

    @staticmethod
    def _return_status(sys_name: str) -> tuple[int, str, str]:
        for entry in RETURN_STATUSES:
            if entry[1] == sys_name:
                return entry
        raise ValueError(f"unknown return status {sys_name!r}; one of {', '.join(e[1] for e in RETURN_STATUSES)}")

    # --- state rules ----------------------------------------------------------------------------

    def _move(self, p: _Posting, status: str, substatus: str) -> None:
        if (p.status, p.substatus) != (status, substatus):
            p.previous_substatus = p.substatus
            if status != p.status:
                p.changed_at = self.clock()
            p.status, p.substatus = status, substatus
            if status == "delivering" and p.delivering_date is None:
                p.delivering_date = self.clock()

    def _settle(self, number: str) -> _Posting:
        """Finish an accepted ship whose processing time is over."""
        p = self._postings[number]
        if p.shipping_until is not None and self.clock() >= p.shipping_until:
            p.shipping_until = None
            if p.ship_fails:
                p.ship_fails = False
                self._move(p, "awaiting_packaging", "ship_failed")
                p.changed_at = self.clock()
            else:
                self._move(p, "awaiting_deliver", "posting_transferring_to_delivery")
        return p

    def _find(self, number: object) -> _Posting:
        key = str(number or "")
        if key not in self._postings:
            raise refused("POSTING_NOT_FOUND")
        return self._settle(key)

    # --- JSON shapes ---------------------------------------------------------------------------

    def _common(self, p: _Posting) -> Json:
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
            "multi_box_qty": 1,
            "requirements": {k: [] for k in (
                "products_requiring_gtd", "products_requiring_country", "products_requiring_change_country",
                "products_requiring_mandatory_mark", "products_requiring_rnpt", "products_requiring_jw_uin",
                "products_requiring_imei", "products_requiring_weight")},
        }

    def _list_item(self, p: _Posting) -> Json:
        data = self._common(p)
        data["delivery_schema"] = "fbs"
        data["products"] = [{"sku": i["sku"], "offer_id": i["offer_id"], "name": i["name"], "quantity": i["quantity"],
                             "price": {"amount": i["price"], "currency": "RUB"}, "imei": [],
                             "is_blr_traceable": False, "is_marketplace_buyout": False} for i in p.products]
        shown = _buyer_shown(p)
        # Lists leave the buyer's phone empty (Ozon documents it so): /v3/posting/fbs/get has it.
        data["customer"] = {**p.customer, "phone": ""} if shown and p.customer else None
        data["addressee"] = {"name": p.customer["name"]} if shown and p.customer else None
        return self._with_asked_nulls(_without_nulls(data))

    def _detail(self, p: _Posting) -> Json:
        data = self._common(p)
        data["previous_substatus"] = p.previous_substatus
        data["products"] = [{"sku": i["sku"], "offer_id": i["offer_id"], "name": i["name"], "quantity": i["quantity"],
                             "price": i["price"] + "00", "currency_code": "RUB", "is_blr_traceable": False,
                             "is_marketplace_buyout": False} for i in p.products]
        shown = _buyer_shown(p)
        data["customer"] = dict(p.customer) if shown and p.customer else None
        data["addressee"] = ({"name": p.customer["name"], "phone": p.customer["phone"]}
                             if shown and p.customer else None)
        data["additional_data"] = []
        return self._with_asked_nulls(_without_nulls(data))

    def _with_asked_nulls(self, data: Json) -> Json:
        return {**data, **dict.fromkeys(self.null_keys)} if self.null_keys else data

    # --- request handling ----------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Json, dict[str, str]]:
        """Answer one POST: (HTTP status, JSON body, extra headers). Faults are applied by the handler."""
        with self._lock:
            body: Any = {}
            try:
                self._check_auth(headers)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    raise ApiError(400, 3, "proto: syntax error (line 1:1): invalid JSON") from None
                if not isinstance(body, dict):
                    raise ApiError(400, 3, "proto: syntax error: expected an object")
                self._check_rate()
                route = ROUTES.get(path)
                if route is None:
                    raise ApiError(404, 5, "method is not allowed")
                answer = route(self, body)
                status, out, extra = 200, answer, {}
            except ApiError as err:
                status, out, extra = err.http, err.body(), err.headers
            if self.record_exchanges and isinstance(body, dict):
                self.exchanges.append((path, body, status, out))
            return status, out, extra

    def _check_auth(self, headers: dict[str, str]) -> None:
        cid = headers.get("client-id", "")
        key = headers.get("api-key", "")
        if not cid.strip().isdigit():
            raise ApiError(400, 3, "Client-Id header value is not a number")
        if cid.strip() != self.client_id or key != self.api_key:
            raise ApiError(404, 5, "Invalid Api-Key, please check the key and try again")
        if self.key_deactivated:
            raise ApiError(403, 7, "Api-key is deactivated, use another one or generate a new one")

    def _check_rate(self) -> None:
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if self.rate_limit_rps and len(self._recent) >= self.rate_limit_rps:
            raise ApiError(429, 8, "You have reached request rate limit per second", {"retry-after": "1"})
        self._recent.append(now)

    def _log_write(self, path: str, number: str, action: str, accepted: bool, *, duplicate: bool = False,
                   error: str = "") -> None:
        entry = {"time": iso(self.clock()), "path": path, "posting_number": number, "action": action,
                 "accepted": accepted, "applied": accepted, "duplicate": duplicate, "error": error}
        self.write_log.append(entry)
        if self.write_log_path is not None:
            with open(self.write_log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    # --- reads ----------------------------------------------------------------------------------

    def _page(self, flt: Json, body: Json, *, open_only: bool) -> Json:
        """One cursor page. The first page filters and sorts; later pages of the same filter reuse that
        listing (a posting keeps its place; its status is rendered as it is now), so paging through
        100k postings is linear, not quadratic."""
        limit = body.get("limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ApiError(400, 3, "INVALID_ARGUMENT: limit must be between 1 and 100")
        cursor = body.get("cursor") or ""
        listing = (json.dumps(flt, sort_keys=True, default=str), open_only)
        items = self._listings.get(listing) if cursor else None
        if items is None:
            items = sorted(self._filtered(flt, open_only=open_only), key=_order)
            self._listings = {listing: items, **dict(list(self._listings.items())[:7])}
        start = 0
        if cursor:
            try:
                after = json.loads(base64.b64decode(cursor))
                mark = (parse_time(after["at"]), int(after["id"]))
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, 3, "INVALID_ARGUMENT: bad cursor") from None
            start = bisect.bisect_right(items, mark, key=_order)
        page = items[start:start + limit]
        rest = len(items) - start - len(page)
        out: Json = {"postings": [self._list_item(p) for p in page], "has_next": rest > 0, "cursor": ""}
        if rest:
            last = page[-1]
            out["cursor"] = base64.b64encode(json.dumps({"at": last.in_process_at.isoformat(), "id": last.order_id})
                                             .encode()).decode()
        if open_only:  # the unfulfilled list says how many there are
            out["count"] = len(page) + rest
        return out

    def _filtered(self, flt: Json, *, open_only: bool) -> list[_Posting]:
        statuses = flt.get("statuses") or []
        changed = flt.get("last_changed_status_date") or {}
        c_from, c_to = parse_time(changed.get("from")), parse_time(changed.get("to"))
        since, to = parse_time(flt.get("since")), parse_time(flt.get("to"))
        out = []
        for number in self._postings:
            p = self._settle(number)
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

    def r_list(self, body: Json) -> Json:
        flt = body.get("filter")
        if not isinstance(flt, dict) or not flt.get("since") or not flt.get("to"):
            raise ApiError(400, 3, "filter.since and filter.to are required")
        since, to = parse_time(flt["since"]), parse_time(flt["to"])
        if since is None or to is None:
            raise ApiError(400, 3, "INVALID_ARGUMENT: filter.since and filter.to must be RFC 3339 times")
        if to - since > MAX_PERIOD:
            raise ApiError(400, 3, "PERIOD_IS_TOO_LONG")
        return self._page(flt, body, open_only=False)

    def r_unfulfilled(self, body: Json) -> Json:
        flt = body.get("filter") or {}
        return self._page(flt, body, open_only=True)

    def r_get(self, body: Json) -> Json:
        return {"result": self._detail(self._find(body.get("posting_number")))}

    def r_cancel_reasons(self, body: Json) -> Json:
        return {"result": [{"id": i, "title": t, "type_id": k, "is_available_for_cancellation": a}
                           for i, t, k, a in CANCEL_REASONS]}

    def r_roles(self, body: Json) -> Json:
        return {"roles": [{"name": "Postings FBS", "methods": sorted(ROUTES)}], "expires_at": iso(self.key_expires_at)}

    def _fbo_item(self, p: _FboPosting, analytics: bool, *, detail: bool = False) -> Json:
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

    def r_fbo_list(self, body: Json) -> Json:
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
        items = [p for p in self._fbo.values()
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
        return {"postings": [self._fbo_item(p, analytics) for p in page], "has_next": more,
                "cursor": base64.b64encode(f"fbo:{start + limit}".encode()).decode() if more else ""}

    def r_fbo_get(self, body: Json) -> Json:
        number = str(body.get("posting_number") or "")
        if number not in self._fbo:
            raise refused("POSTING_NOT_FOUND")
        analytics = bool((body.get("with") or {}).get("analytics_data"))
        return {"result": self._fbo_item(self._fbo[number], analytics, detail=True)}

    def r_returns(self, body: Json) -> Json:
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
        for r in sorted(self._returns.values(), key=lambda x: x.id):
            moment = r.return_date if dates and dates[0] == "logistic_return_date" else r.changed_at
            if r.id <= last_id or (t_from and moment < t_from) or (t_to and moment > t_to):
                continue
            if schema and r.schema.lower() != schema or numbers and r.posting_number not in numbers:
                continue
            items.append(r)
        page = items[:limit]
        return {"returns": [self._return_item(r) for r in page], "has_next": len(items) > limit}

    @staticmethod
    def _return_item(r: _Return) -> Json:
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

    # --- writes ---------------------------------------------------------------------------------

    def r_ship(self, body: Json) -> Json:
        path = "/v4/posting/fbs/ship"
        number = str(body.get("posting_number") or "")
        packages = body.get("packages")
        if not number or not isinstance(packages, list) or not packages:
            raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number and packages are required")
        try:
            p = self._find(number)
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
        except ApiError as err:
            self._log_write(path, number, "ship", False, error=err.message)
            raise
        p.shipping_until = self.clock() + self.ship_delay
        p.ship_fails = self._rng.random() < self.ship_fail_rate
        if p.substatus == "ship_failed":
            self._move(p, "awaiting_packaging", "posting_created")
        self._log_write(path, number, "ship", True)
        self._settle(number)
        return {"result": [number], "additional_data": []}

    def _gated(self, path: str, action: str, number: str, gate: str, target: tuple[str, str]) -> str:
        """Apply a move if the gate is open; returns the error code ("" when applied)."""
        try:
            p = self._find(number)
        except ApiError as err:
            self._log_write(path, number, action, False, error=err.message)
            return err.message
        if gate not in p.actions():
            code = "TRANSITION_IS_NOT_POSSIBLE"
            if gate.startswith("non_int_") and p.integration != "non_integrated" and p.status in (
                    "awaiting_deliver", "delivering"):
                code = "HAS_INCORRECT_TPL_INTEGRATION_TYPE"
            self._log_write(path, number, action, False, error=code)
            return code
        duplicate = (p.status, p.substatus) == target
        self._move(p, *target)
        self._log_write(path, number, action, True, duplicate=duplicate)
        return ""

    def _numbers(self, body: Json) -> list[str]:
        numbers = body.get("posting_number")
        if not isinstance(numbers, list) or not numbers:
            raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number must be a non-empty list")
        return [str(n) for n in numbers]

    def r_awaiting_delivery(self, body: Json) -> Json:
        path = "/v2/posting/fbs/awaiting-delivery"
        errors = [self._gated(path, "awaiting_delivery", n, "awaiting_delivery",
                              ("awaiting_deliver", "posting_transferring_to_delivery")) for n in self._numbers(body)]
        bad = [e for e in errors if e]
        if bad:
            raise refused(bad[0])
        return {"result": True}

    def _setter(self, path: str, action: str, gate: str, target: tuple[str, str], body: Json) -> Json:
        """rFBS setters answer 200 with a result per posting; ``error`` is "" when it went through.
        (Ozon's own examples also show [] and null there; the client's tests cover those.)"""
        results = []
        for n in self._numbers(body):
            code = self._gated(path, action, n, gate, target)
            results.append({"posting_number": n, "result": not code, "error": code})
        return {"result": results}

    def r_delivering(self, body: Json) -> Json:
        return self._setter("/v2/fbs/posting/delivering", "delivering", "non_int_delivering",
                            ("delivering", "posting_on_way_to_city"), body)

    def r_last_mile(self, body: Json) -> Json:
        return self._setter("/v2/fbs/posting/last-mile", "last_mile", "non_int_last_mile",
                            ("delivering", "posting_in_courier_service"), body)

    def r_delivered(self, body: Json) -> Json:
        return self._setter("/v2/fbs/posting/delivered", "delivered", "non_int_delivered",
                            ("delivered", "posting_delivered"), body)

    def r_tracking(self, body: Json) -> Json:
        path = "/v2/fbs/posting/tracking-number/set"
        pairs = body.get("tracking_numbers")
        if not isinstance(pairs, list) or not pairs or len(pairs) > 20:
            raise ApiError(400, 3, "INVALID_ARGUMENT: tracking_numbers must hold 1 to 20 pairs")
        results = []
        for pair in pairs:
            number = str((pair or {}).get("posting_number") or "")
            tracking = str((pair or {}).get("tracking_number") or "")
            code = ""
            try:
                p = self._find(number)
            except ApiError as err:
                code = err.message
            else:
                if "set_track_number" not in p.actions():
                    code = "HAS_INCORRECT_TPL_INTEGRATION_TYPE" if p.integration == "ozon" else \
                        "TRANSITION_IS_NOT_POSSIBLE"
                elif not tracking:
                    code = "INVALID_ARGUMENT"
            if code:
                self._log_write(path, number, "tracking_number", False, error=code)
            else:
                duplicate = p.tracking_number == tracking
                p.tracking_number = tracking
                self._log_write(path, number, "tracking_number", True, duplicate=duplicate)
            results.append({"posting_number": number, "result": not code, "error": code})
        return {"result": results}

    def r_cancel(self, body: Json) -> Json:
        path = "/v2/posting/fbs/cancel"
        number = str(body.get("posting_number") or "")
        reason = body.get("cancel_reason_id")
        message = str(body.get("cancel_reason_message") or "")
        try:
            if not number or reason in (None, "", 0):
                raise ApiError(400, 3, "INVALID_ARGUMENT: posting_number and cancel_reason_id are required")
            p = self._find(number)
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
            self._log_write(path, number, "cancel", False, error=err.message)
            raise
        after_ship = p.status not in ("awaiting_packaging", "awaiting_approve", "awaiting_verification")
        self._move(p, "cancelled", "posting_canceled")
        p.shipping_until = None
        p.cancellation.update(cancel_reason_id=reason_id, cancel_reason=known[reason_id][1],
                              cancellation_type="seller", cancellation_initiator="Продавец",
                              cancelled_after_ship=after_ship)
        self._log_write(path, number, "cancel", True)
        return {"result": True}

    # --- control API (/_emulator/...) -----------------------------------------------------------

    def control(self, method: str, path: str, body: Json) -> tuple[int, Any]:
        """Ozon-side changes over HTTP, for a person trying the demo or a test in another process."""
        with self._lock:
            try:
                if method == "GET" and path == "/_emulator/log":
                    return 200, self.write_log
                if method == "GET" and path == "/_emulator/postings":
                    return 200, [self._detail(self._settle(n)) for n in self.numbers()]
                if method == "POST" and path == "/_emulator/postings":
                    number = self.add_posting(scheme=str(body.get("scheme", FBS)), integration=body.get("integration"),
                                              status=str(body.get("status", "awaiting_packaging")))
                    return 200, {"posting_number": number}
                if method == "POST" and path == "/_emulator/key":
                    # {"expires_at": "2026-12-01T09:00:00Z"} or {"expires_in_days": 3}: what /v1/roles answers
                    if "expires_in_days" in body:
                        self.key_expires_at = self.clock() + timedelta(days=float(body["expires_in_days"]))
                    else:
                        when = parse_time(body.get("expires_at"))
                        if when is None:
                            return 400, {"error": "give expires_at (RFC 3339) or expires_in_days"}
                        self.key_expires_at = when
                    return 200, {"expires_at": iso(self.key_expires_at)}
                if method == "POST" and path == "/_emulator/fbo":
                    return 200, {"posting_number": self.add_fbo(status=str(body.get("status", "awaiting_packaging")))}
                if method == "POST" and path == "/_emulator/fbo-state":
                    self.set_fbo_state(str(body["posting_number"]), str(body["status"]))
                    return 200, {"posting_number": str(body["posting_number"]), "status": str(body["status"])}
                if method == "POST" and path == "/_emulator/returns":
                    returned = body.get("posting_number")
                    return 200, {"id": self.add_return(str(returned) if returned else None,
                                                       status=str(body.get("status", "MovingToSeller")))}
                number = str(body.get("posting_number", ""))
                if number not in self._postings:
                    return 404, {"error": f"no posting {number!r}"}
                if method == "POST" and path == "/_emulator/buyer-cancel":
                    self.buyer_cancel(number)
                elif method == "POST" and path == "/_emulator/deliver":
                    self.ozon_deliver(number)
                elif method == "POST" and path == "/_emulator/state":
                    self.set_state(number, str(body["status"]), str(body.get("substatus", "")))
                else:
                    return 404, {"error": f"unknown control path {method} {path}"}
                return 200, self._detail(self._postings[number])
            except (KeyError, ValueError, TypeError) as exc:
                return 400, {"error": str(exc)}


ROUTES: dict[str, Callable[[OzonEmulator, Json], Json]] = {
    "/v4/posting/fbs/list": OzonEmulator.r_list,
    "/v4/posting/fbs/unfulfilled/list": OzonEmulator.r_unfulfilled,
    "/v3/posting/fbs/get": OzonEmulator.r_get,
    "/v4/posting/fbs/ship": OzonEmulator.r_ship,
    "/v2/posting/fbs/awaiting-delivery": OzonEmulator.r_awaiting_delivery,
    "/v2/fbs/posting/delivering": OzonEmulator.r_delivering,
    "/v2/fbs/posting/last-mile": OzonEmulator.r_last_mile,
    "/v2/fbs/posting/delivered": OzonEmulator.r_delivered,
    "/v2/fbs/posting/tracking-number/set": OzonEmulator.r_tracking,
    "/v2/posting/fbs/cancel": OzonEmulator.r_cancel,
    "/v2/posting/fbs/cancel-reason/list": OzonEmulator.r_cancel_reasons,
    "/v1/roles": OzonEmulator.r_roles,
    "/v3/posting/fbo/list": OzonEmulator.r_fbo_list,
    "/v2/posting/fbo/get": OzonEmulator.r_fbo_get,
    "/v1/returns/list": OzonEmulator.r_returns,
}
WRITE_PATHS = frozenset({"/v4/posting/fbs/ship", "/v2/posting/fbs/awaiting-delivery", "/v2/fbs/posting/delivering",
                         "/v2/fbs/posting/last-mile", "/v2/fbs/posting/delivered",
                         "/v2/fbs/posting/tracking-number/set", "/v2/posting/fbs/cancel"})


class _Handler(QuietHandler):
    emu: OzonEmulator

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_body(status, data, content_type, headers)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/_emulator/"):
            self._send(*self.emu.control("GET", self.path, {}))
        else:
            self._send(404, {"code": 5, "message": "method is not allowed", "details": []})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.read_body()
        path = self.path.split("?", 1)[0]
        if path.startswith("/_emulator/"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            self._send(*self.emu.control("POST", path, body if isinstance(body, dict) else {}))
            return
        emu = self.emu
        with emu._lock:
            emu.request_counts[path] = emu.request_counts.get(path, 0) + 1
            fault = emu.faults.pick(path, emu._fault_rng)
            applied_anyway = emu._fault_rng.random() < emu.faults.applied_share
        if fault == "429":
            self._send(429, {"code": 8, "message": "You have reached request rate limit per second", "details": []},
                       {"retry-after": "1"})
            return
        if fault == "circle":
            self._send(429, {"code": 8, "message": "Circle is open", "details": []})
            return
        if fault == "html":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if fault in ("500", "503", "drop") and path in WRITE_PATHS and applied_anyway:
            emu.handle(path, headers, raw)  # applied; the answer is lost
        if fault in ("500", "503"):
            self._send(int(fault), {"code": 13 if fault == "500" else 14, "message": "Internal error", "details": []})
            return
        if fault == "drop":
            self.drop()
            return
        if fault == "slow":
            time.sleep(emu.faults.slow_seconds)
        status, answer, extra = emu.handle(path, headers, raw)
        self._send(status, answer, extra)


# --- `ozon-sync emulator` ---------------------------------------------------------------------------

OzonEmulator.handler_class = _Handler  # defined after the emulator, which it serves


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated postings")
    parser.add_argument("--postings", type=int, default=30, help="how many postings to seed")
    parser.add_argument("--fbo", type=int, default=10, help="how many FBO postings to seed")
    parser.add_argument("--returns", type=int, default=5, help="how many returns to seed")
    parser.add_argument("--client-id", default="123456", help="the Client-Id it accepts")
    parser.add_argument("--api-key", default="emulator-key", help="the Api-Key it accepts")
    parser.add_argument("--ship-delay", type=float, default=2.0, help="seconds a ship stays in processing")
    parser.add_argument("--ship-fail-rate", type=float, default=0.0, help="share of ships that end in ship_failed")
    parser.add_argument("--rps", type=float, default=50.0, help="rate limit per Client-Id (429 above it)")
    parser.add_argument("--fault-500", type=float, default=0.0, help="share of requests answered with 500")
    parser.add_argument("--fault-429", type=float, default=0.0, help="share of requests answered with 429")
    parser.add_argument("--write-log", type=Path, default=None, help="append every write call to this JSONL file")


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    faults = Faults(rate_429=args.fault_429, rate_500=args.fault_500)
    emu = OzonEmulator(seed=args.seed, postings=args.postings, fbo=args.fbo, returns=args.returns,
                       client_id=args.client_id, api_key=args.api_key,
                       port=args.port, rate_limit_rps=args.rps, ship_delay=args.ship_delay,
                       ship_fail_rate=args.ship_fail_rate, faults=faults, write_log_path=args.write_log)
    with emu:
        print(f"Ozon Seller API emulator on {emu.base_url} with {args.postings} postings "
              f"(Client-Id {args.client_id}, Api-Key {args.api_key}).")
        print("Point ozon.base_url at it. Ozon-side changes:")
        print(f"  curl -X POST {emu.base_url}/_emulator/postings -d '{{\"scheme\": \"rFBS\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/buyer-cancel -d '{{\"posting_number\": \"...\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/key -d '{{\"expires_in_days\": 3}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/fbo -d '{{\"status\": \"delivering\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/returns -d '{{\"posting_number\": \"...\"}}'")
        print(f"  curl {emu.base_url}/_emulator/log")
        print("Ctrl-C stops it.")
        emu.wait(stop)
    return 0
