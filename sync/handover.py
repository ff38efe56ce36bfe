"""`ozon-sync handover` and the daemon's daily hand-over: the packed postings handed over (отгрузка) — a
carriage per delivery method with everything ready, approved, and its act and waybill saved beside the
labels.

Safe to run again: a carriage made but not approved (the command stopped half way) is approved, not
made a second time, and a method with nothing left to hand over says so. Ozon's refusals are quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sync.config import fold_name
from sync.errors import OzonRefused, OzonUnavailable
from sync.fbs import Carriage, DeliveryDay
from sync.labels import LabelFolder
from sync.ozon.fbs_day import FbsDay


@dataclass(frozen=True, slots=True)
class Handed:
    """What came of one delivery method: a line to show, and whether it went wrong."""

    line: str
    failed: bool = False
    method_id: int = 0


@dataclass(frozen=True, slots=True)
class Round:
    """One hand-over: what came of each delivery method chosen, or why none was (``nothing``)."""

    handed: tuple[Handed, ...] = ()
    nothing: str = ""

    @property
    def failed(self) -> bool:
        return any(h.failed for h in self.handed)

    def lines(self) -> list[str]:
        return [h.line for h in self.handed] or [self.nothing]


def hand_over_all(day: FbsDay, methods: Sequence[str], departure: datetime | None, folder: LabelFolder,
                  now: datetime, *, skip: Collection[int] = (), each: Callable[[Handed], None] | None = None) -> Round:
    """Every delivery method chosen (``methods``: ids or names; none = all with packed postings), less the
    ids in ``skip`` (handed over earlier today), handed over one by one; ``each`` hears of each as it is done."""
    chosen, why = choose(day.delivery_days(), methods)
    left = [d for d in chosen if d.delivery_method_id not in skip]
    if not left:
        return Round(nothing=why or "Nothing left to hand over: the delivery methods with packed postings were "
                                    "handed over earlier today.")
    handed = []
    for d in left:
        handed.append(hand_over(day, d, departure, folder, now))
        if each is not None:
            each(handed[-1])
    return Round(tuple(handed))


def choose(days: tuple[DeliveryDay, ...], methods: Sequence[str] = ()) -> tuple[list[DeliveryDay], str]:
    """The delivery methods to hand over (``methods``: ids or names, any case; none = every one with packed
    postings), or why there are none."""
    ready = [d for d in days if d.ready_count or _unapproved(d)]
    if not methods:
        return ready, "" if ready else "Nothing to hand over: no delivery method has packed postings outside a " \
                                       "carriage."
    ids, names = {m.strip() for m in methods}, {fold_name(m) for m in methods}
    picked = [d for d in ready if str(d.delivery_method_id) in ids or fold_name(d.name) in names]
    if picked:
        return picked, ""
    others = ", ".join(f"«{d.name}» ({d.delivery_method_id})" for d in ready) or "none"
    asked = ", ".join(f"«{m}»" for m in methods)
    return [], f"Nothing to hand over for {asked}; the delivery methods with packed postings: {others}."


def hand_over(day: FbsDay, d: DeliveryDay, departure: datetime | None, folder: LabelFolder,
              now: datetime) -> Handed:
    """One delivery method: its carriage (the unapproved one, else a new one), approved, its act saved."""
    name = f"«{d.name or d.delivery_method_id}»"
    try:
        waiting = _unapproved(d)
        carriage_id = waiting.carriage_id if waiting is not None else day.create_carriage(d.delivery_method_id,
                                                                                          departure)
        day.approve_carriage(carriage_id)
        status = day.carriage(carriage_id).status
        act = folder.save_document(f"act-{carriage_id}.pdf", day.act_pdf(carriage_id), now)
    except OzonRefused as exc:
        return Handed(f"{name}: Ozon refused the hand-over: {exc.message or exc.code}", True, d.delivery_method_id)
    except OzonUnavailable as exc:
        return Handed(f"{name}: the hand-over did not finish: {exc}. Trying again is safe: a carriage already made "
                      f"is approved, not made twice", True, d.delivery_method_id)
    count = f"{d.ready_count} posting(s)" if waiting is None else "the postings it held"
    return Handed(f"{name}: carriage {carriage_id} with {count}, {status}; act and waybill: {act}",
                  method_id=d.delivery_method_id)


def _unapproved(d: DeliveryDay) -> Carriage | None:
    return next((c for c in d.carriages if c.carriage_id and c.status == "new"), None)
