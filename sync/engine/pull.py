"""Pull what changed at Ozon into the state store: changed-since lists, a full scan every ``full_every``;
and, between those, the postings an Ozon push notification named (``fetch``), one by one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from sync.engine.known import Known, without_buyer
from sync.engine.rows import buyer_shown
from sync.engine.state import StateStore
from sync.engine.types import CycleReport, EngineOptions, Key, OzonPort
from sync.errors import OzonRefused, OzonUnavailable
from sync.model import Posting

log = logging.getLogger("sync.engine")


class Puller:
    def __init__(self, state: StateStore, known: Known, options: EngineOptions,
                 progress: Callable[[int], None] | None = None):
        self.state = state
        self.known = known
        self.opt = options
        self.progress = progress
        self.buyer_fetches = 0  # how many postings may still be fetched for buyer data this cycle

    def pull(self, acc: str, ozon: OzonPort, now: datetime, rep: CycleReport) -> None:
        """Store each posting as its page arrives (a full scan of 100k postings is never held at once),
        committing every 1,000; ``rep.pulled`` counts them, also when the lists fail part way."""
        aopt = self.opt.of_account(acc)
        last = self.state.get_meta(f"last_pull:{acc}")
        last_full = self.state.get_meta(f"last_full:{acc}")
        seen: set[Key] = set()  # the two lists overlap

        def take(it: Iterator[Posting]) -> None:
            for p in it:
                p = self.known.complete(p)
                if p.scheme in aopt.schemes:
                    self.known.remember(self._with_buyer(ozon, p), now)
                    seen.add(p.key)
                    if len(seen) % 1000 == 0:
                        self.state.commit()
                        self.state.begin()
                    if self.progress and len(seen) % 100 == 0:
                        self.progress(len(seen))

        full = last_full is None or (now - datetime.fromisoformat(last_full)).total_seconds() >= aopt.full_every
        self.state.begin()
        try:
            if last is None:
                take(ozon.list_postings(now - timedelta(days=aopt.lookback_days), now))
            else:
                since = datetime.fromisoformat(last) - timedelta(seconds=self.opt.overlap)
                take(ozon.list_postings(now - timedelta(days=364), now, changed_since=since))
                if not full:
                    take(ozon.list_unfulfilled(changed_since=since))
            if full:
                take(ozon.list_unfulfilled())
            self.state.set_meta(f"last_pull:{acc}", now.isoformat())
            if full:
                self.state.set_meta(f"last_full:{acc}", now.isoformat())
        finally:
            self.state.commit()
            rep.pulled += len(seen)
        if self.progress:
            self.progress(len(seen))

    def fetch(self, acc: str, ozon: OzonPort, numbers: list[str], now: datetime, rep: CycleReport) -> None:
        """The postings Ozon's push notifications named, each fetched from Ozon (what Ozon answers is what
        counts, never the notification). One Ozon refuses (not found: not this account's, or a made-up
        number) is logged and skipped; an outage leaves the rest to the next poll."""
        aopt = self.opt.of_account(acc)
        seen = 0
        self.state.begin()
        try:
            for number in numbers:
                try:
                    p = ozon.get_posting(number)
                except OzonRefused as exc:
                    log.info("Ozon pushed %s, but does not give it to account «%s»: %s", number, acc, exc)
                    continue
                except OzonUnavailable as exc:
                    log.info("Fetching the pushed postings stopped at %s: %s; the next poll brings them",
                             number, exc)
                    break
                p = self.known.complete(p)
                if p.scheme not in aopt.schemes:
                    continue
                if not buyer_shown(p, self.opt.customer_data):
                    p = without_buyer(p)
                self.known.remember(p, now)
                seen += 1
        finally:
            self.state.commit()
            rep.pulled += seen

    def _with_buyer(self, ozon: OzonPort, p: Posting) -> Posting:
        """With customer_data on, an open rFBS posting needs the buyer's name, phone and address, which
        Ozon's lists leave out: keep what we have, else fetch the posting (a bounded number per cycle;
        the rest follow in the next cycles)."""
        if not buyer_shown(p, self.opt.customer_data) or p.customer_phone:
            return p
        old = self.known.posting(p.key) if p.key in self.known.briefs else None
        if old is not None and old.customer_phone:
            return replace(p, customer_name=old.customer_name, customer_phone=old.customer_phone,
                           customer_address=old.customer_address)
        if self.buyer_fetches <= 0:
            return p
        self.buyer_fetches -= 1
        try:
            full = ozon.get_posting(p.posting_number)
        except (OzonUnavailable, OzonRefused) as exc:
            log.info("Buyer data of %s not fetched: %s", p.posting_number, exc)
            return p
        return full if full.status == p.status else p
