"""The outbox: the only place Ozon is written. Each entry moves queued -> sending -> sent -> verified | failed,
every step committed before the next, so a crash anywhere neither loses an edit nor sends it twice.

Exactly once: an entry is keyed by (account, posting, action, target, edit). An entry found in
``sending`` or ``sent`` is not sent again while Ozon shows the move in progress or done; only after
``settle_seconds`` with the posting unchanged (the call evidently never landed).

A run returns what the cycle shows in the rows (``OutboxRun``): the note of each posting it answered or
is waiting on, and the cells to keep as typed (or to give back to Ozon's value, once answered).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.engine.itemplan import short
from sync.engine.itemsteps import Checking, ItemStep, ItemSteps, Refused
from sync.engine.known import Known
from sync.engine.notes import Notes
from sync.engine.plan import Intent, target_label
from sync.engine.rows import edit_id, ozon_values
from sync.engine.state import OutboxEntry, Stage, StateStore
from sync.engine.types import DayPort, EngineOptions, Key, OzonPort
from sync.errors import OzonAuthError, OzonRefused, OzonUnavailable
from sync.mapping import Move, StatusMap
from sync.model import Action, Posting

log = logging.getLogger("sync.engine")

# Within one posting, entries run in this order: pack before the tracking number, the tracking
# number before "delivering" (tracking-number/set, then delivering).
PRIORITY = {
    Action.CANCEL: 0, Action.SHIP: 1, Action.AWAITING_DELIVERY: 1, Action.SET_TRACK: 2,
    Action.DELIVERING: 3, Action.LAST_MILE: 4, Action.DELIVERED: 5,
}


@dataclass
class OutboxRun:
    """What one run of the outbox did, for the rows and the report."""

    notes: dict[Key, str] = field(default_factory=dict)  # the posting's note now
    fallback_notes: dict[Key, str] = field(default_factory=dict)  # its note unless it has another this cycle
    cells: dict[tuple[Key, str], str | None] = field(default_factory=dict)  # kept as typed, or None: Ozon's again
    calls: int = 0
    verified: int = 0
    waiting: int = 0
    refused: int = 0


class Outbox:
    def __init__(self, ozons: Mapping[str, OzonPort], state: StateStore, known: Known, statuses: StatusMap,
                 notes: Notes, options: EngineOptions, sleep: Callable[[float], None],
                 days: Mapping[str, DayPort] | None = None, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], datetime] | None = None):
        self.ozons = ozons
        self.items = ItemSteps(days or {}, options.items, state)
        self.state = state
        self.known = known
        self.statuses = statuses
        self.notes = notes
        self.opt = options
        self.sleep = sleep
        self.monotonic = monotonic  # how long a run has gone on (its budget)
        self.clock = clock  # the time an outcome is known (None: the run's start, for every outcome)

    def enqueue(self, intent: Intent, now: datetime) -> OutboxEntry:
        """Commit the intent as a queued entry; the same edit again returns the entry it already has. The item
        data a ship carries is part of its edit: codes corrected after a refusal make a new entry."""
        e = intent.edit
        edit = edit_id(e.field, e.base, e.typed, e.version)
        if intent.params.get("marks") or intent.params.get("boxes"):
            carried = json.dumps({k: intent.params.get(k) for k in ("marks", "boxes")}, sort_keys=True)
            edit += "#" + hashlib.sha256(carried.encode()).hexdigest()[:16]
        return self.state.enqueue(
            account=intent.key[0], number=intent.key[1], action=intent.action.value, target=intent.target,
            edit=edit, field=e.field, params=dict(intent.params),
            from_status=intent.from_status, from_substatus=intent.from_substatus, typed=e.typed, now=now,
        )

    def run(self, now: datetime, failed: Mapping[str, str],
            account_down: Callable[[str, Exception, str], None]) -> OutboxRun:
        """Move every open entry of this sheet's postings as far as it goes now. ``account_down(account, exc,
        what)`` is told when an account fails (Ozon down, key refused): it records the failure in ``failed``
        (account -> note kind), which the run reads for that account's next entries, or raises.

        The entries go in rounds: each round takes the first open entry of every posting, reads those
        postings fresh, sends what is due, then verifies what was sent — each of the three at once, up to
        ``concurrency`` calls in flight (the client's rate limiter keeps the account's budget). A posting's
        next entry goes in the next round, once the one before it is answered; what is still unverified when
        ``verify_wait`` is up waits for the next run. A round starts only while ``budget`` seconds have not
        passed since the run began, so a burst never holds up the next cycle; the rest carry over."""
        out = _Run(OutboxRun(), self.clock or (lambda: now))
        # Postings in the order their edits were first seen (entries are numbered as they are queued: by
        # cycle, then by row); within a posting, pack before the tracking number before delivering.
        by_key: dict[Key, list[OutboxEntry]] = {}
        for entry in sorted(self.state.open_entries(), key=lambda e: e.id):
            if self.known.mine(entry.key):  # another sheet's posting: its engine runs the entry
                by_key.setdefault(entry.key, []).append(entry)
        for queue in by_key.values():
            queue.sort(key=lambda e: (PRIORITY[Action(e.action)], e.id))
        started = self.monotonic()
        while by_key:
            heads = [queue.pop(0) for queue in itertools.islice(by_key.values(), self.opt.round_size)]
            done = self._round(out, heads, failed, account_down)
            for entry in heads:
                if entry.id not in done:  # waiting, or its account failed: the posting's later entries wait too
                    for later in [entry, *by_key.pop(entry.key)]:
                        out.run.cells[(later.key, later.field)] = later.typed
            by_key = {k: q for k, q in by_key.items() if q}
            if by_key and self.monotonic() - started >= self.opt.outbox_budget:
                for queue in by_key.values():
                    for later in queue:
                        out.run.cells[(later.key, later.field)] = later.typed
                log.info("The outbox ran %.0fs; %d more edits go in the next cycle", self.monotonic() - started,
                         sum(len(q) for q in by_key.values()))
                break
        return out.run

    def _round(self, out: _Run, heads: list[OutboxEntry], failed: Mapping[str, str],
               account_down: Callable[[str, Exception, str], None]) -> set[int]:
        """One entry per posting: read fresh, decide, send, verify — each step for all of them at once. Returns
        the ids of the entries answered (verified or failed)."""
        done: set[int] = set()
        down: dict[str, Exception] = {}
        live = []
        for entry in heads:
            if entry.account not in self.ozons:
                continue  # an account no longer configured: kept
            if entry.account in failed:
                out.run.fallback_notes.setdefault(entry.key, self._failed_note(out.now, failed, entry.account))
                continue
            live.append(entry)
        fresh = self._read_all(out, live, down)
        sends = []
        for entry in live:
            p = fresh.get(entry.id)
            if p is None:
                continue
            try:
                got = self._advance(out, entry, p)
            except (OzonUnavailable, OzonAuthError) as exc:  # an item-data step
                down.setdefault(entry.account, exc)
                continue
            if got is True:
                done.add(entry.id)
            elif isinstance(got, tuple):
                sends.append(got)
        sent = self._send_all(out, sends, done, down)
        done |= self._verify_all(out, sent, down)
        for acc, why in down.items():
            account_down(acc, why, "Outbox paused")
        for entry in live:
            if entry.account in down and entry.id not in done:
                out.run.fallback_notes.setdefault(entry.key, self._failed_note(out.now, failed, entry.account))
        return done

    def _failed_note(self, now: datetime, failed: Mapping[str, str], acc: str) -> str:
        return self.notes.stamp(now, failed.get(acc, "unavailable"), account=acc)

    # --- the state machine --------------------------------------------------------------------------

    def _advance(self, out: _Run, entry: OutboxEntry, p: Posting) -> bool | tuple[OutboxEntry, Posting]:
        """Move one entry as far as it goes without sending: True when answered (verified or failed), False
        when waiting, or (entry, posting) when it is to be sent now."""
        if self._reached(entry, p):
            return self._verified(out, entry)
        if entry.state in (Stage.SENDING, Stage.SENT):
            if "ship_async_in_process" in p.available_actions:
                return self._waiting(out, entry)
            if entry.action == Action.SHIP and p.substatus == "ship_failed":
                return self._retry_ship(out, entry, p)
            if p.status != entry.from_status and entry.action != Action.SET_TRACK:
                return self._ozon_moved(out, entry, p)
            since = entry.sent_at or entry.updated_at
            if (out.now - since).total_seconds() < self.opt.settle_seconds:
                return self._waiting(out, entry)
            log.info("%s: no trace of the earlier %s call after %ss; sending again", entry.number, entry.action,
                     int(self.opt.settle_seconds))
        elif p.status != entry.from_status and entry.action != Action.SET_TRACK:
            return self._ozon_moved(out, entry, p)
        if self.items.due(entry, p):
            got = self.items.advance(entry, p, out.now)
            if isinstance(got, Checking):
                return self._waiting(out, entry, "marks_checking")
            if isinstance(got, Refused):
                return self._items_refused(out, entry, p, got)
            entry = self.state.entry(entry.id)
        if not p.allows(entry.action):
            n = self.notes
            note = n.stamp(out.now, "not_allowed", typed=entry.typed, current=self.statuses.label_for(p),
                           choices=n.choices(self.statuses.targets_from(p)))
            return self._finish(out, entry, Stage.FAILED, note)
        return entry, p

    def _send_all(self, out: _Run, sends: list[tuple[OutboxEntry, Posting]], done: set[int],
                  down: dict[str, Exception]) -> list[OutboxEntry]:
        """Make the calls, all at once: each entry committed ``sending`` before its call, ``sent`` after it;
        one Ozon refused is answered, unless a fresh read shows the move done after all."""
        for entry, _p in sends:
            self.state.move(entry.id, Stage.SENDING, out.now, attempts=entry.attempts + 1)
            out.run.calls += 1
        results = self._all([(entry.account, functools.partial(self._call, entry, p)) for entry, p in sends])
        sent, refused = [], []
        for (entry, _p), result in zip(sends, results, strict=True):
            if result is None:
                self.state.move(entry.id, Stage.SENT, out.now, sent=True)
                self.state.audit(entry.account, entry.number, f"{entry.action}:sent", entry.typed, out.now)
                sent.append(self.state.entry(entry.id))
            elif isinstance(result, OzonRefused):
                refused.append((entry, result))
            elif isinstance(result, (OzonUnavailable, OzonAuthError)):
                down.setdefault(entry.account, result)  # sending, its outcome unknown: settled next time
            else:
                raise result
        fresh = self._read_all(out, [entry for entry, _exc in refused], down)
        n = self.notes
        for entry, exc in refused:
            p = fresh.get(entry.id)
            if p is not None and self._reached(entry, p):
                self._verified(out, entry)
            else:
                reason = n.ozon_reason(exc.code, exc.message)
                self._finish(out, entry, Stage.FAILED, n.stamp(out.now, "refused", typed=entry.typed, reason=reason))
            done.add(entry.id)
        return sent

    def _verify_all(self, out: _Run, sent: list[OutboxEntry], down: dict[str, Exception]) -> set[int]:
        """Read what was sent until Ozon shows it done, all at once each time, for up to ``verify_wait``
        seconds; a ship Ozon failed is sent again (``ship_retries``). Returns the entries answered."""
        done: set[int] = set()
        waited, pending = 0.0, sent
        while pending:
            fresh = self._read_all(out, pending, down, quiet=True)
            still, again = [], []
            for entry in pending:
                p = fresh.get(entry.id)
                if p is None:
                    still.append(entry)
                elif self._reached(entry, p):
                    self._verified(out, entry)
                    done.add(entry.id)
                elif entry.action == Action.SHIP and p.substatus == "ship_failed":
                    got = self._retry_ship(out, entry, p)
                    if got is True:
                        done.add(entry.id)
                    elif isinstance(got, tuple):
                        again.append(got)
                else:
                    still.append(entry)
            still += self._send_all(out, again, done, down)
            if not still or waited >= self.opt.verify_wait:
                for entry in still:
                    self._waiting(out, entry)
                return done
            self.sleep(self.opt.verify_poll)
            waited += self.opt.verify_poll
            pending = still
        return done

    def _retry_ship(self, out: _Run, entry: OutboxEntry, p: Posting) -> bool | tuple[OutboxEntry, Posting]:
        limit = self.opt.ship_retries + 1
        if entry.attempts >= limit:
            return self._finish(out, entry, Stage.FAILED, self.notes.stamp(out.now, "ship_failed", limit=limit))
        log.info("%s: Ozon reports ship_failed; trying again (%d of %d)", entry.number, entry.attempts + 1, limit)
        return entry, p

    def _ozon_moved(self, out: _Run, entry: OutboxEntry, p: Posting) -> bool:
        kind = "ozon_cancelled" if p.status == "cancelled" else "ozon_moved"
        note = self.notes.stamp(out.now, kind, typed=entry.typed, current=self.statuses.label_for(p),
                                time=self.notes.clock(self.known.since.get(p.key, out.now)),
                                initiator=p.cancellation_initiator or "Ozon")
        return self._finish(out, entry, Stage.FAILED, note)

    def _waiting(self, out: _Run, entry: OutboxEntry, kind: str = "sent") -> bool:
        out.run.waiting += 1
        out.run.notes[entry.key] = self.notes.stamp(out.now, kind, label=self._label(entry))
        return False

    def _items_refused(self, out: _Run, entry: OutboxEntry, p: Posting, got: Refused) -> bool:
        """Ozon refused a code (or other item data): quoted in the note; the status stays as typed, and the
        edit goes again once the «Маркировка» cell changes (a new entry: the codes are part of its edit)."""
        n, names = self.notes, {pr.sku: pr.name for pr in p.products}
        parts = []
        for pr in got.problems:
            reason = ", ".join(n.ozon_reason(code, code) for code in pr.reasons)
            name = names.get(pr.product_id, str(pr.product_id))
            parts.append(n.text("mark_problem", code=short(pr.mark), name=name, reason=reason) if pr.mark else
                         n.text("item_problem", name=name, reason=reason))
        note = n.stamp(out.now, "marks_rejected", typed=entry.typed, what="; ".join(dict.fromkeys(parts)))
        return self._finish(out, entry, Stage.FAILED, note, step=ItemStep.REJECTED)

    def _verified(self, out: _Run, entry: OutboxEntry) -> bool:
        kind = "track_verified" if entry.action == Action.SET_TRACK else "verified"
        return self._finish(out, entry, Stage.VERIFIED,
                            self.notes.stamp(out.now, kind, label=self._label(entry), track=entry.target))

    def _finish(self, out: _Run, entry: OutboxEntry, stage: Stage, note: str, step: str | None = None) -> bool:
        """Answer the entry: committed with its note, which the row keeps even if this cycle's sheet write is
        deferred. Its cells show Ozon's values again (the target when verified, the old state when refused),
        but for item data refused: the status stays as typed, waiting for the codes to be corrected."""
        if stage is Stage.VERIFIED:
            self._rebase(entry)
        self.state.move(entry.id, stage, out.now, outcome=note, step=step)
        self.state.audit(entry.account, entry.number, f"{entry.action}:{stage}", note, out.now)
        self.state.set_row(*entry.key, note=note)
        out.run.notes[entry.key] = note
        out.run.cells[(entry.key, entry.field)] = entry.typed if step == ItemStep.REJECTED else None
        if entry.action == Action.CANCEL:
            out.run.cells[(entry.key, "cancel_reason")] = None
        if stage is Stage.VERIFIED:
            out.run.verified += 1
        else:
            out.run.refused += 1
        log.info("%s: %s", entry.number, note)
        return True

    def _rebase(self, entry: OutboxEntry) -> None:
        """A verified push is the base of the cells it answers: the move was ours, not Ozon's, so an edit
        typed before the sheet shows it (writes deferred, or a crash before the write) is still an edit.
        Committed before the entry is marked verified: a crash between the two verifies it again."""
        shown = ozon_values(self.known.posting(entry.key), self.statuses, self.opt.tz, None, False)
        fields = [entry.field, "cancel_reason"] if entry.action == Action.CANCEL else [entry.field]
        for fld in fields:
            self.state.set_cell(*entry.key, fld, shown.get(fld, ""), bump=False)

    # --- Ozon -----------------------------------------------------------------------------------------

    def _read_all(self, out: _Run, entries: list[OutboxEntry], down: dict[str, Exception], *,
                  quiet: bool = False) -> dict[int, Posting]:
        """Each entry's posting as Ozon shows it now, read all at once; an account Ozon fails for is put in
        ``down`` (``quiet``: while verifying, a failed read just leaves the entry waiting)."""
        entries = [e for e in entries if e.account not in down]
        results = self._all([(e.account, functools.partial(self.ozons[e.account].get_posting, e.number))
                             for e in entries])
        fresh: dict[int, Posting] = {}
        for entry, got in zip(entries, results, strict=True):
            if isinstance(got, Posting):
                p = self.known.complete(got)
                self.known.remember(p, out.now)
                fresh[entry.id] = p
            elif isinstance(got, (OzonUnavailable, OzonAuthError)):
                if not quiet:
                    down.setdefault(entry.account, got)
            elif got is not None:
                raise got
        return fresh

    def _all(self, calls: list[tuple[str, Callable[[], Any]]]) -> list[Any]:
        """Run the calls, up to ``concurrency`` at once (one: in this thread); each one's result, or the
        Exception it raised. A BaseException (the process dying) is raised as it would be."""
        def one(call: Callable[[], Any]) -> Any:
            try:
                return call()
            except Exception as exc:
                return exc

        if len(calls) <= 1 or self.opt.concurrency <= 1:
            return [one(call) for _acc, call in calls]
        with ThreadPoolExecutor(max_workers=min(self.opt.concurrency, len(calls))) as pool:
            return list(pool.map(one, [call for _acc, call in calls]))

    def _move_for(self, entry: OutboxEntry) -> Move | None:
        return next((m for m in self.statuses.moves if m.action.value == entry.action and m.to == entry.target), None)

    def _reached(self, entry: OutboxEntry, p: Posting) -> bool:
        if entry.action == Action.SET_TRACK:
            return p.tracking_number.strip() == entry.target
        move = self._move_for(entry)
        return move is not None and move.reached(p.status, p.substatus)

    def _label(self, entry: OutboxEntry) -> str:
        return target_label(self.statuses, Action(entry.action), entry.target)

    def _call(self, entry: OutboxEntry, p: Posting) -> None:
        action, num, ozon = Action(entry.action), entry.number, self.ozons[entry.account]
        if action is Action.SHIP:
            ozon.ship(p)
        elif action is Action.AWAITING_DELIVERY:
            ozon.awaiting_delivery(num)
        elif action is Action.DELIVERING:
            ozon.set_delivering(num)
        elif action is Action.LAST_MILE:
            ozon.set_last_mile(num)
        elif action is Action.DELIVERED:
            ozon.set_delivered(num)
        elif action is Action.CANCEL:
            ozon.cancel(num, int(entry.params["reason_id"]), str(entry.params.get("message", "")))
        elif action is Action.SET_TRACK:
            ozon.set_tracking_number(num, entry.target)
        log.info("%s: called Ozon %s (%s)", num, action.value, entry.typed)


@dataclass
class _Run:
    run: OutboxRun
    clock: Callable[[], datetime]

    @property
    def now(self) -> datetime:
        """The time now: a note says when its outcome was known, not when the cycle began."""
        return self.clock()
