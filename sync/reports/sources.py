"""Where a report's postings come from: the state store (with the history "late" is measured from) or Ozon
now (``--live``, no history). Both yield :class:`Entry` s in the report's order: by acceptance time
(``in_process_at``) for orders, by «Собрать до» (``shipment_date``) for daily and picklist."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta

from sync.engine.state import StateStore
from sync.model import Posting, posting_from_dict
from sync.ozon import OzonClient
from sync.reports.request import Request
from sync.reports.rules import UNSHIPPED, Entry

DAILY_LIVE_LOOKBACK = timedelta(days=14)  # --live daily: orders placed this long before the period may be due in it


def state_entries(state: StateStore, req: Request) -> Iterator[Entry]:
    """The report's postings from the state store, streamed in report order."""
    if req.report == "picklist":
        assert req.cutoff is not None
        rows = state.report_postings("shipment_date", None, req.cutoff + timedelta(seconds=1),
                                     statuses=("awaiting_packaging",), unshipped=UNSHIPPED)
    else:
        since, until = req.bounds()
        rows = state.report_postings("in_process_at" if req.report == "orders" else "shipment_date", since, until,
                                     unshipped=UNSHIPPED)
    wanted = in_report(req)
    for data, first_seen, shipped in rows:
        entry = Entry(posting_from_dict(data), first_seen, shipped)
        if wanted(entry.posting):
            yield entry


def live_entries(clients: Sequence[OzonClient], req: Request) -> Iterator[Entry]:
    """The report's postings fetched from Ozon now, from every account (no history, so a shipped posting's
    punctuality is not measured). Several accounts' postings are merged in the report's time order."""
    wanted = in_report(req)
    found: list[Entry] = []
    for client in clients:
        if req.report == "picklist":
            postings: Iterable[Posting] = client.list_unfulfilled(statuses=("awaiting_packaging",))
        else:
            since, until = req.bounds()
            if req.report == "daily":
                since -= DAILY_LIVE_LOOKBACK
            postings = client.list_postings(since, until)
        entries = (Entry(p) for p in postings if wanted(p))
        if len(clients) == 1:
            yield from entries
            return
        found += entries
    by = "in_process_at" if req.report == "orders" else "shipment_date"
    yield from sorted(found, key=lambda e: (getattr(e.posting, by), e.posting.account, e.posting.posting_number))


def in_report(req: Request) -> Callable[[Posting], bool]:
    """Whether a posting belongs in the report (the exact bounds; the sources pre-filter roughly): orders
    accepted in the period, postings due in the period (daily), postings awaiting packaging due by the cutoff
    (picklist)."""
    if req.report == "picklist":
        cutoff = req.cutoff
        assert cutoff is not None
        return lambda p: p.status == "awaiting_packaging" and p.shipment_date is not None and p.shipment_date <= cutoff
    since, until = req.bounds()
    if req.report == "orders":
        return lambda p: p.in_process_at is not None and since <= p.in_process_at < until
    return lambda p: p.shipment_date is not None and since <= p.shipment_date < until
