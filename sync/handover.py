"""`ozon-sync handover`: hand the packed postings over (отгрузка) — a carriage per delivery method with
everything ready, approved, and its act and waybill saved beside the labels.

Safe to run again: a carriage made but not approved (the command stopped half way) is approved, not
made a second time, and a method with nothing left to hand over says so. Ozon's refusals are quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sync.config import fold_name
from sync.errors import OzonRefused
from sync.fbs import Carriage, DeliveryDay
from sync.labels import LabelFolder
from sync.ozon.fbs_day import FbsDay


@dataclass(frozen=True, slots=True)
class Handed:
    """What came of one delivery method: a line to show, and whether it went wrong."""

    line: str
    failed: bool = False


def choose(days: tuple[DeliveryDay, ...], method: str | None) -> tuple[list[DeliveryDay], str]:
    """The delivery methods to hand over (``method``: an id or a name, any case), or why there are none."""
    ready = [d for d in days if d.ready_count or _unapproved(d)]
    if method is None:
        return ready, "" if ready else "Nothing to hand over: no delivery method has packed postings outside a " \
                                       "carriage."
    picked = [d for d in ready
              if str(d.delivery_method_id) == method.strip() or fold_name(d.name) == fold_name(method)]
    if picked:
        return picked, ""
    others = ", ".join(f"«{d.name}» ({d.delivery_method_id})" for d in ready) or "none"
    return [], f"Nothing to hand over for «{method}»; the delivery methods with packed postings: {others}."


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
        return Handed(f"{name}: Ozon refused the hand-over: {exc.message or exc.code}", failed=True)
    count = f"{d.ready_count} posting(s)" if waiting is None else "the postings it held"
    return Handed(f"{name}: carriage {carriage_id} with {count}, {status}; act and waybill: {act}")


def _unapproved(d: DeliveryDay) -> Carriage | None:
    return next((c for c in d.carriages if c.carriage_id and c.status == "new"), None)
