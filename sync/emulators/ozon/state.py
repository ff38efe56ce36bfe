"""``OzonState``: everything on Ozon's side — postings (seeded from a number so runs repeat), their
state moves, FBO postings and returns, the seller's key, the FBS day (``day``: item data, labels,
carriages), and the log of write calls — with the in-process methods tests and the demo use to change
things as Ozon, the buyer or the carrier would."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sync.emulators.ozon.data import (
    CATALOGUE,
    CITIES,
    DEFAULT_SUBSTATUS,
    FBO_STATUSES,
    FBO_SUBSTATUS,
    FBO_WAREHOUSES,
    FBS,
    ITEM_CATALOGUE,
    NAMES,
    RETURN_REASONS,
    RETURN_STATUSES,
    RFBS,
)
from sync.emulators.ozon.day import Day
from sync.emulators.ozon.errors import refused
from sync.emulators.ozon.marks import NOT_IN_CIRCULATION
from sync.emulators.ozon.model import FboPosting, Posting, Return, empty_cancellation, iso
from sync.emulators.ozon.push import Pusher, new_posting, state_changed
from sync.emulators.ozon.shapes import detail
from sync.emulators.server import Json

BUYER_CANCEL = {"cancel_reason_id": 501, "cancel_reason": "Покупатель отменил заказ", "cancellation_type": "client",
                "cancellation_initiator": "Покупатель"}


def _sku(offer: str) -> int:
    return 1_000_000_000 + sum(ord(ch) for ch in offer) * 7919 + len(offer)


class OzonState:
    """Ozon's side. ``clock`` gives the current time (UTC); one lock guards everything, so tests may
    call these methods while the server thread answers requests."""

    def __init__(self, *, seed: int, postings: int, fbo: int, returns: int, ship_delay: float, ship_fail_rate: float,
                 key_expires_at: datetime | None, write_log_path: Path | None,
                 clock: Callable[[], datetime], marked: int = 0, label_delay: float = 45.0,
                 check_delay: float = 2.0) -> None:
        self.ship_delay = timedelta(seconds=ship_delay)
        self.ship_fail_rate = ship_fail_rate
        self.clock = clock
        self.key_expires_at = key_expires_at or clock() + timedelta(days=120)
        self.write_log: list[Json] = []
        self.null_keys: frozenset[str] = frozenset()  # see answer_nulls
        self.write_log_path = write_log_path
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self.pusher = Pusher(self._lock)  # push notifications, once set_push_url gave the receiver
        self.listings: dict[tuple[str, bool], list[Posting]] = {}  # a listing's sorted postings, while paged
        self.postings: dict[str, Posting] = {}  # FBS and rFBS, by number
        self._order_seq = 30000000 + seed * 100000
        for _ in range(postings):
            self._seed_one()
        # FBO postings and returns draw from their own generator, so the FBS/rFBS seed stays the same.
        self._mirror_rng = random.Random(seed + 7)
        self.fbo: dict[str, FboPosting] = {}
        self.returns: dict[int, Return] = {}
        self._return_seq = 1000000000 + seed * 100000
        for _ in range(fbo):
            self._seed_fbo()
        for _ in range(returns):
            self.add_return()
        self.day = Day(label_delay=label_delay, check_delay=check_delay)
        # Postings of products that need item data, from their own generator too.
        self._marked_rng = random.Random(seed + 13)
        for _ in range(marked):
            self._seed_marked()

    # --- FBS and rFBS postings ---------------------------------------------------------------------

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
        p = self.postings[number]
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
            items = [{"sku": _sku(offer), "offer_id": offer, "name": name, "quantity": qty, "price": price}
                     for name, offer, qty, price in products]
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
            p = Posting(number, self._order_seq * 10, status, substatus or DEFAULT_SUBSTATUS.get(status, ""), tpl,
                        wh, method, accepted, accepted + timedelta(days=1), items, now, customer,
                        cancellation=empty_cancellation())
            if status == "cancelled":
                p.cancellation.update(BUYER_CANCEL)
            self.postings[number] = p
            seller = self.pusher.seller_id
            self.pusher.send(lambda: new_posting(p, seller))
            return number

    def set_push_url(self, url: str | None, seller_id: int = 0) -> None:
        """Send push notifications to ``url`` from now on (None: stop), as ``seller_id``; ``pusher.sent``
        keeps each outcome, ``pusher.idle()`` waits for the queue to drain."""
        self.pusher.url, self.pusher.seller_id = url, seller_id

    def push(self, body: Json) -> None:
        """Send one notification of any type (a date change, a ping, a made-up one) as it is."""
        self.pusher.send(lambda: dict(body))

    def set_state(self, number: str, status: str, substatus: str = "") -> None:
        """Move a posting to any state, as Ozon's own processes do."""
        with self._lock:
            p = self.postings[number]
            self.move(p, status, substatus or DEFAULT_SUBSTATUS.get(status, ""))
            p.shipping_until = None

    def buyer_cancel(self, number: str) -> None:
        """The buyer cancels the order at Ozon."""
        with self._lock:
            p = self.postings[number]
            self.set_state(number, "cancelled", "posting_canceled")
            p.cancellation.update(BUYER_CANCEL)

    def answer_nulls(self, *keys: str) -> None:
        """From now on every posting answer (lists and get) carries these top-level keys as null, as Ozon
        sometimes does; no keys: answers are whole again."""
        with self._lock:
            self.null_keys = frozenset(keys)

    def set_warehouse(self, number: str, warehouse: str, method: str | None = None) -> None:
        """The seller moves the posting to another of their warehouses (and delivery method) in the cabinet.
        Its status does not change, so only a full scan of the unfulfilled list sees it."""
        with self._lock:
            p = self.postings[number]
            wid = 1020000000000 + 1 + sum(map(ord, warehouse)) % 1000
            p.warehouse = (wid, warehouse)
            if method is not None:
                p.method = (wid * 10 + 3, method)

    def ozon_deliver(self, number: str) -> None:
        """Ozon (or the carrier) moves an FBS posting one step along: packed → delivering → delivered."""
        with self._lock:
            p = self.settle(number)
            nxt = {"awaiting_deliver": "delivering", "delivering": "delivered"}.get(p.status)
            if nxt:
                self.set_state(number, nxt)

    def posting(self, number: str) -> Json:
        """The posting as ``/v3/posting/fbs/get`` shows it (no ``result`` wrapper)."""
        with self._lock:
            return detail(self.settle(number), self.null_keys)

    def numbers(self, *, scheme: str | None = None, status: str | None = None,
                integration: str | None = None) -> list[str]:
        """Posting numbers, oldest first, filtered by scheme (FBS/rFBS), status and rFBS integration type."""
        with self._lock:
            out = []
            for p in sorted(self.postings.values(), key=lambda x: (x.in_process_at, x.order_id)):
                p = self.settle(p.number)
                if scheme and p.scheme.lower() != scheme.lower():
                    continue
                if status and p.status != status:
                    continue
                if integration and p.integration != integration:
                    continue
                out.append(p.number)
            return out

    # --- state rules -------------------------------------------------------------------------------

    def move(self, p: Posting, status: str, substatus: str) -> None:
        """A posting's new status and substatus (the time of a status change, of the start of delivery)."""
        if (p.status, p.substatus) != (status, substatus):
            p.previous_substatus = p.substatus
            if status != p.status:
                p.changed_at = self.clock()
                old, at, seller = p.status, p.changed_at, self.pusher.seller_id
                self.pusher.send(lambda: state_changed(p, old, status, at, seller))
            p.status, p.substatus = status, substatus
            if status == "delivering" and p.delivering_date is None:
                p.delivering_date = self.clock()

    def settle(self, number: str) -> Posting:
        """Finish an accepted ship whose processing time is over."""
        p = self.postings[number]
        if p.shipping_until is not None and self.clock() >= p.shipping_until:
            p.shipping_until = None
            if p.ship_fails:
                p.ship_fails = False
                self.move(p, "awaiting_packaging", "ship_failed")
                p.changed_at = self.clock()
            else:
                self.move(p, "awaiting_deliver", "posting_transferring_to_delivery")
        return p

    def find(self, number: object) -> Posting:
        """The posting as it is now, or 404 ``POSTING_NOT_FOUND``."""
        key = str(number or "")
        if key not in self.postings:
            raise refused("POSTING_NOT_FOUND")
        return self.settle(key)

    def start_ship(self, p: Posting) -> None:
        """An accepted ship: processing for ``ship_delay``, ending in ``ship_failed`` for a
        ``ship_fail_rate`` share."""
        p.shipping_until = self.clock() + self.ship_delay
        p.ship_fails = self._rng.random() < self.ship_fail_rate
        if p.substatus == "ship_failed":
            self.move(p, "awaiting_packaging", "posting_created")

    def log_write(self, path: str, number: str, action: str, accepted: bool, *, duplicate: bool = False,
                  error: str = "") -> None:
        """Note a write call (``duplicate``: accepted, though Ozon had already applied its effect)."""
        entry = {"time": iso(self.clock()), "path": path, "posting_number": number, "action": action,
                 "accepted": accepted, "applied": accepted, "duplicate": duplicate, "error": error}
        self.write_log.append(entry)
        if self.write_log_path is not None:
            with open(self.write_log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    # --- the FBS day: item data, labels, carriages (the endpoints are in items, labels, carriages) ----

    def _seed_marked(self) -> str:
        rng = self._marked_rng
        name, offer, _ = rng.choice(ITEM_CATALOGUE)
        products = [(name, offer, rng.choice([1, 1, 2]), f"{rng.randint(30, 900) * 10}.00")]
        if rng.random() < 0.4:
            plain = rng.choice(CATALOGUE)
            products.append((plain[0], plain[1], 1, f"{rng.randint(3, 500) * 10}.00"))
        status = rng.choices(["awaiting_packaging", "awaiting_deliver"], weights=[80, 20])[0]
        return self.add_posting(status=status, products=products, age=timedelta(hours=rng.uniform(1, 48)))

    def reject_mark(self, mark: str, reason: str = NOT_IN_CIRCULATION) -> None:
        """Ozon (Честный ЗНАК) refuses this marking code from now on, with ``reason`` as its error code."""
        with self._lock:
            self.day.rejected[mark] = reason

    def set_label_delay(self, seconds: float) -> None:
        """How long after packing a posting's label is ready (Ozon: 45-60 s)."""
        with self._lock:
            self.day.label_delay = timedelta(seconds=seconds)

    def set_exemplar_delay(self, seconds: float) -> None:
        """How long the check of saved item data takes."""
        with self._lock:
            self.day.check_delay = timedelta(seconds=seconds)

    def make_unlabelable(self, number: str, reason: str = "label cannot be generated") -> None:
        """Ozon cannot make this posting's label: a label call with it fails for every posting in it."""
        with self._lock:
            self.day.unlabelable[number] = reason

    def file_url(self, name: str) -> str:
        """Where a generated file (a label task's PDF) is downloaded."""
        return f"/_emulator/files/{name}"

    # --- FBO postings and returns (read-only for the seller) ---------------------------------------

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
            items = [{"sku": _sku(offer), "offer_id": offer, "name": name, "quantity": qty, "price": price}
                     for name, offer, qty, price in products]
            p = FboPosting(f"{order}-1", self._order_seq * 10, status, FBO_SUBSTATUS.get(status, ""),
                           rng.choice(FBO_WAREHOUSES), rng.choice(CITIES), self.clock() - age, items)
            if status == "cancelled":
                p.cancel_reason = "Покупатель отменил заказ"
            self.fbo[p.number] = p
            return p.number

    def set_fbo_state(self, number: str, status: str, substatus: str = "") -> None:
        """Ozon moves an FBO posting along (the seller cannot)."""
        with self._lock:
            p = self.fbo[number]
            p.status, p.substatus = status, substatus or FBO_SUBSTATUS.get(status, "")
            p.cancel_reason = "Покупатель отменил заказ" if status == "cancelled" else ""

    def fbo_numbers(self, *, status: str | None = None) -> list[str]:
        """FBO posting numbers, oldest first."""
        with self._lock:
            return [p.number for p in sorted(self.fbo.values(), key=lambda x: (x.created_at, x.order_id))
                    if status is None or p.status == status]

    def add_return(self, posting_number: str | None = None, *, status: str = "MovingToSeller",
                   reason: str | None = None) -> int:
        """A buyer returns one product of a posting (FBS/rFBS or FBO; a seeded one when None); returns its id."""
        with self._lock:
            rng = self._mirror_rng
            if posting_number is None:
                pool = list(self.fbo) + list(self.postings)
                posting_number = rng.choice(pool) if pool else None
            if posting_number in self.fbo:
                fbo = self.fbo[posting_number]
                schema, order_id, items = "Fbo", fbo.order_id, fbo.products
            elif posting_number in self.postings:
                fbs = self.postings[posting_number]
                schema, order_id, items = "Fbs", fbs.order_id, fbs.products
            else:
                posting_number, schema, order_id = f"{self._order_seq + 1:010d}-0001-1", "Fbs", 0
                items = [{"sku": 1_000_000_001, "offer_id": "KET-17", "name": CATALOGUE[0][0], "quantity": 1,
                          "price": "1990.00"}]
            item = items[0]
            self._return_seq += 1
            now = self.clock()
            r = Return(self._return_seq, posting_number, order_id, schema,
                       rng.choice(["ClientReturn", "FullReturn", "Cancellation"]),
                       reason or rng.choice(RETURN_REASONS), dict(item, quantity=1), _return_status(status),
                       now, now - timedelta(days=rng.randint(0, 3)), f"ii{rng.randint(10**9, 10**10 - 1)}")
            self.returns[r.id] = r
            return r.id

    def set_return_status(self, return_id: int, status: str) -> None:
        """The return moves on (``status`` is a visual status sys_name, e.g. ReceivedBySeller)."""
        with self._lock:
            r = self.returns[return_id]
            r.status, r.changed_at = _return_status(status), self.clock()

    def return_ids(self) -> list[int]:
        with self._lock:
            return sorted(self.returns)


def _return_status(sys_name: str) -> tuple[int, str, str]:
    for entry in RETURN_STATUSES:
        if entry[1] == sys_name:
            return entry
    raise ValueError(f"unknown return status {sys_name!r}; one of {', '.join(e[1] for e in RETURN_STATUSES)}")
