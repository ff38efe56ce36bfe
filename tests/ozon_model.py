"""An in-process model of Ozon's posting rules, for engine tests that need no HTTP.

It implements the engine's OzonPort with Posting objects: status rules, available_actions, an
asynchronous ship that may fail, refusals, buyer cancels, and a write log that tells accepted calls
from duplicates (a second accepted call for a move Ozon had already applied).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sync.emulators.ozon import available_actions
from sync.errors import OzonRefused, OzonUnavailable
from sync.model import Posting, Product

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def actions_for(p: Posting, shipping: bool) -> frozenset[str]:
    """Ozon's rules, shared with the HTTP emulator so both tell the engine the same thing."""
    return available_actions(p.status, p.substatus, p.tpl_integration_type, shipping)


@dataclass
class OzonModel:
    clock: list[datetime] = field(default_factory=lambda: [T0])
    ship_delay: timedelta = timedelta(seconds=0)
    ship_fails: int = 0  # how many of the next ship calls end in ship_failed
    down: bool = False  # every call raises OzonUnavailable
    refuse_lists: bool = False  # the list methods answer with a 4xx (e.g. PERIOD_IS_TOO_LONG)
    postings: dict[str, Posting] = field(default_factory=dict)
    shipping_until: dict[str, datetime] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    changed_at: dict[str, datetime] = field(default_factory=dict)
    log: list[dict[str, object]] = field(default_factory=list)
    requests: int = 0
    changes: dict[str, int] = field(default_factory=dict)  # number -> how many times Ozon's state changed
    seen_version: dict[str, int] = field(default_factory=dict)  # number -> ``changes`` at the last get_posting
    stale_calls: list[str] = field(default_factory=list)  # write calls made on state not read since it changed
    account: str = "main"  # the seller account these postings belong to
    first_number: int = 10000000  # posting numbers count up from here (two accounts: two ranges)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- Ozon-side changes ---------------------------------------------------------------------

    def add(self, *, tpl: str = "ozon", status: str = "awaiting_packaging", substatus: str = "") -> str:
        n = next(self._seq)
        number = f"{self.first_number + n}-0001-1"
        now = self.clock[0]
        self.postings[number] = Posting(
            number, status, substatus=substatus, order_number=number[:-2], tpl_integration_type=tpl,
            warehouse="Склад 1", delivery_method="Курьер", in_process_at=now, shipment_date=now + timedelta(days=1),
            products=(Product(1000 + n, f"OF-{n}", f"Товар {n}", 1 + n % 3),), account=self.account,
        )
        self.changed_at[number] = now
        return number

    def set_state(self, number: str, status: str, substatus: str = "", **extra: object) -> None:
        self.postings[number] = replace(self.postings[number], status=status, substatus=substatus, **extra)  # type: ignore[arg-type]
        self.changed_at[number] = self.clock[0]
        self.changes[number] = self.changes.get(number, 0) + 1
        self.shipping_until.pop(number, None)

    def buyer_cancel(self, number: str) -> None:
        self.set_state(number, "cancelled", "posting_canceled", cancel_reason_id=501,
                       cancel_reason="Покупатель отменил", cancellation_initiator="Покупатель")

    def _settle(self, number: str) -> Posting:
        until = self.shipping_until.get(number)
        if until is not None and self.clock[0] >= until:
            del self.shipping_until[number]
            if number in self.failing:
                self.failing.discard(number)
                self.set_state(number, "awaiting_packaging", "ship_failed")
            else:
                self.set_state(number, "awaiting_deliver", "posting_transferring_to_delivery")
        p = self.postings[number]
        return replace(p, available_actions=actions_for(p, number in self.shipping_until))

    # --- OzonPort ------------------------------------------------------------------------------

    def _req(self) -> None:
        self.requests += 1
        if self.down:
            raise OzonUnavailable("Ozon did not answer (model is down)")

    def list_postings(self, since: datetime, to: datetime, *, changed_since: datetime | None = None,
                      changed_to: datetime | None = None, statuses: Sequence[str] = ()) -> Iterator[Posting]:
        self._req()
        if self.refuse_lists:
            raise OzonRefused("PERIOD_IS_TOO_LONG", "the period is too long", "")
        for number in list(self.postings):
            if changed_since is None or self.changed_at[number] >= changed_since:
                yield self._settle(number)

    def list_unfulfilled(self, *, changed_since: datetime | None = None,
                         statuses: Sequence[str] = ()) -> Iterator[Posting]:
        self._req()
        for number in list(self.postings):
            p = self._settle(number)
            if not p.finished and (changed_since is None or self.changed_at[number] >= changed_since):
                yield p

    def get_posting(self, number: str) -> Posting:
        self._req()
        if number not in self.postings:
            raise OzonRefused("POSTING_NOT_FOUND", "posting not found", number)
        p = self._settle(number)
        self.seen_version[number] = self.changes.get(number, 0)
        return p

    def _check_fresh(self, number: str, action: str) -> None:
        """A write must follow a read of the posting's current state (no call on stale state)."""
        if self.seen_version.get(number) != self.changes.get(number, 0):
            self.stale_calls.append(f"{action} {number}")

    def _write(self, number: str, action: str, gate: str, target: tuple[str, str], applied_if: bool = True) -> None:
        self._req()
        p = self._settle(number)
        self._check_fresh(number, action)
        entry: dict[str, object] = {"number": number, "action": action, "accepted": False, "duplicate": False}
        self.log.append(entry)
        if gate not in p.available_actions:
            raise OzonRefused("TRANSITION_IS_NOT_POSSIBLE", "transition is not possible", number)
        entry["accepted"] = True
        entry["duplicate"] = (p.status, p.substatus) == target and applied_if
        self.set_state(number, *target)

    def ship(self, posting: Posting) -> None:
        self._req()
        number = posting.posting_number
        p = self._settle(number)
        self._check_fresh(number, "ship")
        entry: dict[str, object] = {"number": number, "action": "ship", "accepted": False, "duplicate": False}
        self.log.append(entry)
        if "ship" not in p.available_actions:
            code = "POSTING_ALREADY_SHIPPED" if p.status != "awaiting_packaging" else "SHIP_NOT_AVAILABLE"
            raise OzonRefused(code, code, number)
        entry["accepted"] = True
        if self.ship_fails > 0:
            self.ship_fails -= 1
            self.failing.add(number)
        self.shipping_until[number] = self.clock[0] + self.ship_delay
        self.postings[number] = replace(p, substatus="posting_created")

    def awaiting_delivery(self, number: str) -> None:
        self._write(number, "awaiting_delivery", "awaiting_delivery", ("awaiting_deliver", "posting_created"))

    def set_delivering(self, number: str) -> None:
        self._write(number, "delivering", "non_int_delivering", ("delivering", "posting_on_way_to_city"))

    def set_last_mile(self, number: str) -> None:
        self._write(number, "last_mile", "non_int_last_mile", ("delivering", "posting_in_courier_service"))

    def set_delivered(self, number: str) -> None:
        self._write(number, "delivered", "non_int_delivered", ("delivered", "posting_delivered"))

    def set_tracking_number(self, number: str, tracking: str) -> None:
        self._req()
        p = self._settle(number)
        self._check_fresh(number, "track")
        entry: dict[str, object] = {"number": number, "action": "track", "accepted": False,
                                    "duplicate": p.tracking_number == tracking}
        self.log.append(entry)
        if "set_track_number" not in p.available_actions:
            entry["duplicate"] = False
            raise OzonRefused("TRANSITION_IS_NOT_POSSIBLE", "transition is not possible", number)
        entry["accepted"] = True
        self.postings[number] = replace(self.postings[number], tracking_number=tracking)

    def cancel(self, number: str, reason_id: int, message: str = "") -> None:
        self._req()
        p = self._settle(number)
        self._check_fresh(number, "cancel")
        entry: dict[str, object] = {"number": number, "action": "cancel", "accepted": False, "duplicate": False}
        self.log.append(entry)
        if "cancel" not in p.available_actions:
            raise OzonRefused("POSTING_ALREADY_CANCELLED" if p.status == "cancelled" else "TRANSITION_IS_NOT_POSSIBLE",
                              "", number)
        if reason_id in (665, 666, 667) and p.status != "delivering":
            raise OzonRefused("HAS_INCORRECT_CANCEL_REASON", "", number)
        entry["accepted"] = True
        self.set_state(number, "cancelled", "posting_canceled", cancel_reason_id=reason_id,
                       cancel_reason="Товар закончился" if reason_id == 352 else "Другое",
                       cancellation_initiator="Продавец")

    def accepted(self, number: str) -> list[str]:
        return [str(e["action"]) for e in self.log if e["number"] == number and e["accepted"]]

    def duplicates(self) -> list[dict[str, object]]:
        return [e for e in self.log if e["duplicate"]]
