"""The postings that may be on one sheet: a few numbers each in memory, the postings in the state store."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sync.engine.state import CellState, RowState, StateStore
from sync.engine.types import Brief, Key
from sync.model import Posting, posting_from_dict, posting_to_dict

log = logging.getLogger("sync.engine")

POSTINGS_KEPT = 512  # postings read from the state store, kept for the next look-ups of the same rows


class SharedKnown:
    """The postings of one state store, kept between cycles (see Known.load).

    The engines of one config (the main sheet and each view) share one store and one SQLite
    connection, so data_version cannot tell them what another engine pulled or pushed; they share
    this instead, and each sees every change the moment it is made."""

    def __init__(self) -> None:
        self.value: tuple[int, dict[Key, Brief], dict[Key, datetime]] | None = None
        self.moved: dict[Key, str] = {}  # postings whose sheet changed (warehouse changed ...) -> the one they left


class Known:
    """``briefs``: the postings that may be on this sheet (archived ones are left out); ``since``: when each
    last changed status. The postings themselves are read from the state store when a row needs one; the
    last few read are kept, as a row's planning, writing and verifying read the same posting."""

    def __init__(self, state: StateStore, shared: SharedKnown, *, archive_after_days: int, customer_data: bool,
                 view: str = "", owner_of: Callable[[Posting], str] | None = None, kept: int = POSTINGS_KEPT):
        self.state = state
        self.kept = kept  # how many postings read from the store stay in memory
        self.shared = shared
        self.archive_after_days = archive_after_days
        self.customer_data = customer_data
        self.view = view
        self.owner_of = owner_of
        self.briefs: dict[Key, Brief] = {}
        self.since: dict[Key, datetime] = {}
        self.changed: set[Key] = set()  # postings Ozon showed changed since ``load``
        self._cache: OrderedDict[Key, Posting] = OrderedDict()
        self._unknown_logged: set[str] = set()  # fields Ozon left out, logged once each

    def load(self, now: datetime) -> bool:
        """Reading every posting costs most of an idle cycle at 10k postings, so a daemon keeps them from
        its last good cycle — unless another process wrote the state file since (SQLite's data_version
        tells), or that cycle failed. True when they were read again."""
        cached, self.shared.value = self.shared.value, None  # a cycle that fails leaves nothing kept
        self.changed = set()
        if cached is not None and cached[0] == self.state.data_version():
            self.briefs, self.since = cached[1], cached[2]
            return False
        self._cache.clear()
        self.briefs, self.since = {}, {}
        accounts: dict[str, str] = {}  # one string per account, not one per posting
        horizon = now - timedelta(days=self.archive_after_days)
        for acc, num, data, since in self.state.posting_rows(off_sheet_finished_before=horizon):
            key = (accounts.setdefault(acc, acc), num)
            self.briefs[key] = self.brief(posting_from_dict(data))
            self.since[key] = since
        return True

    def keep_for_next_cycle(self) -> None:
        self.shared.value = (self.state.data_version(), self.briefs, self.since)

    def load_one(self, key: Key) -> None:
        """A posting ``load`` left out (archived, long finished) whose number is on the sheet again."""
        got = self.state.posting_data(*key)
        if got is not None:
            self.briefs[key] = self.brief(posting_from_dict(got[0]))
            self.since[key] = got[1]

    def brief(self, p: Posting) -> Brief:
        return Brief(hash(p), p.scheme, p.finished, self.owner_of(p) if self.owner_of is not None else "")

    def mine(self, key: Key) -> bool:
        """Does this posting belong on this engine's sheet? (An unknown one is noted where it is typed.)"""
        b = self.briefs.get(key)
        return self.owner_of is None or b is None or b.owner == self.view

    def posting(self, key: Key) -> Posting:
        """The posting as last stored (a known key)."""
        fp = self.briefs[key].fp
        p = self._cache.get(key)
        if p is None or hash(p) != fp:
            got = self.state.posting_data(*key)
            if got is None:
                raise KeyError(key)
            p = posting_from_dict(got[0])
        self._keep(p)
        return p

    def in_memory(self) -> int:
        """How many whole postings are held in memory now."""
        return len(self._cache)

    def cells(self, key: Key) -> dict[str, CellState]:
        return self.state.cells_of(*key)

    def row(self, key: Key) -> RowState | None:
        return self.state.row(*key)

    def _keep(self, p: Posting) -> None:
        self._cache[p.key] = p
        self._cache.move_to_end(p.key)
        if len(self._cache) > self.kept:
            self._cache.popitem(last=False)

    def complete(self, p: Posting) -> Posting:
        """An answer with fields Ozon left out takes them from the posting as last known (logged once per
        field): a null is "not said", never a reason to blank a cell or refuse an edit."""
        if not p.unknown:
            return p
        new = p.unknown - self._unknown_logged
        if new:
            self._unknown_logged |= new
            log.warning("Ozon left out %s for %s (and may for others); the last known values are kept, "
                        "and a move is not refused for want of Ozon's list of allowed actions",
                        ", ".join(sorted(new)), p.posting_number)
        return p.known_from(self.posting(p.key) if p.key in self.briefs else None)

    def remember(self, p: Posting, now: datetime) -> bool:
        """Store a posting as Ozon just showed it; True when anything of it changed."""
        if not self.customer_data:
            p = without_buyer(p)  # never kept when the sheet does not show it
        old, new = self.briefs.get(p.key), self.brief(p)
        self._keep(p)
        if old == new:
            return False  # unchanged (the same hash): nothing to store, and its row stays settled
        if self.owner_of is not None and old is not None and old.owner != new.owner:
            self.shared.moved[p.key] = old.owner
        if self.state.upsert_posting(p.account, p.posting_number, p.status, p.substatus, posting_to_dict(p), now):
            self.since[p.key] = now
        self.briefs[p.key] = new
        self.changed.add(p.key)
        return True

    def purge_buyers(self, finished_before: datetime) -> int:
        """Erase buyer data of postings finished before then, from the store and from memory."""
        purged = self.state.purge_buyers(finished_before)
        for key in purged:
            self._cache.pop(key, None)
            if key in self.briefs:
                self.load_one(key)
        return len(purged)

    def forget(self, key: Key) -> None:
        """An archived posting is not on this sheet again."""
        del self.briefs[key]


def without_buyer(p: Posting) -> Posting:
    if not (p.customer_name or p.customer_phone or p.customer_address):
        return p
    return replace(p, customer_name="", customer_phone="", customer_address="")
