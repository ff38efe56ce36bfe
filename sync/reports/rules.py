"""The pure rules a report applies to a posting: which statuses mean it has shipped, and on time or late.

"Late": a posting is late when it left awaiting_packaging for a shipped status (awaiting_deliver, delivering,
delivered, ... anything but the pre-packing statuses and cancellations) after its «Собрать до», or when it
still waits for packaging after «Собрать до». The shipping time is the first time the state store saw the
posting in a shipped status, so it is known to within one sync interval. A posting first seen already
shipped is on time if that first sight was before its deadline, else "not measured"; so is every shipped
posting in a ``--live`` report (Ozon's list does not date the shipping). Such a posting's shipping time is not
known, and a report leaves «Отгружено» empty rather than print the first sync's time. Cancelled postings are neither on
time nor late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sync.model import Posting

PRE_SHIP = ("awaiting_verification", "acceptance_in_progress", "awaiting_approve", "awaiting_packaging")
NEVER_SHIPPED = ("cancelled", "cancelled_from_split_pending")
UNSHIPPED = PRE_SHIP + NEVER_SHIPPED  # a status outside these means the posting left the packing table


class Punctuality(StrEnum):
    ON_TIME = "on_time"  # shipped no later than «Собрать до»
    LATE = "late"  # shipped after «Собрать до»
    OVERDUE = "overdue"  # still awaiting packaging after «Собрать до» (counts as late)
    PENDING = "pending"  # awaiting packaging, deadline ahead
    UNKNOWN = "unknown"  # shipped, but when is not known well enough
    NONE = "none"  # cancelled before shipping, or no deadline

    @property
    def late(self) -> bool:
        return self in (Punctuality.LATE, Punctuality.OVERDUE)


PUNCTUALITY_TEXT = {
    Punctuality.ON_TIME: "В срок", Punctuality.LATE: "Отгружено с опозданием",
    Punctuality.OVERDUE: "Не собрано в срок", Punctuality.PENDING: "Ждёт сборки",
    Punctuality.UNKNOWN: "Не измерено", Punctuality.NONE: "—",
}


@dataclass(frozen=True)
class Entry:
    """One posting as a report sees it: ``first_seen`` and ``shipped_at`` come from the state store's history
    (None in a live report); ``shipped_at`` is the first time it was seen in a shipped status."""

    posting: Posting
    first_seen: datetime | None = None
    shipped_at: datetime | None = None


def shipped_time(entry: Entry) -> datetime | None:
    """When the posting shipped, as far as the report can say: the first sync that saw it shipped, unless that
    was the first sync to see it at all (it may have shipped days before), when the time is not known."""
    shipped, first = entry.shipped_at, entry.first_seen
    if shipped is None or first is None or shipped <= first:
        return None
    return shipped


def punctuality(entry: Entry, now: datetime) -> Punctuality:
    """On time or late, by the definition in the module docstring."""
    p, due, shipped = entry.posting, entry.posting.shipment_date, entry.shipped_at
    if due is None:
        return Punctuality.NONE
    if shipped is not None:
        first_sight = entry.first_seen is not None and shipped <= entry.first_seen
        if first_sight and shipped > due:
            return Punctuality.UNKNOWN  # it may have shipped in time, before we first looked
        return Punctuality.LATE if shipped > due else Punctuality.ON_TIME
    if p.status in NEVER_SHIPPED:
        return Punctuality.NONE
    if p.status in PRE_SHIP:
        return Punctuality.OVERDUE if now > due else Punctuality.PENDING
    return Punctuality.UNKNOWN
