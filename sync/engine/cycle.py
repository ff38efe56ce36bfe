"""One sync cycle, and the guarantees it keeps.

Algorithm (DESIGN §4):
 1. read every mapped column that is not staff-owned;
 2. compare each both-owned cell with its base (the value the daemon last wrote or saw);
 3. a changed cell becomes an intent, validated, then written to the outbox before any call;
 4. run the outbox: re-read the posting fresh, check Ozon allows the move, call, verify by
    re-reading; every step of an entry (queued -> sending -> sent -> verified | failed) is committed;
 5. pull what changed at Ozon;
 6. re-read the key and both-owned cells, skip rows a person changed meanwhile, and write only the
    cells whose value changes, in one batch, with a note per row.

Exactly once: an entry is keyed by (account, posting, action, target, edit). An entry found in
``sending`` or ``sent`` is not sent again while Ozon shows the move in progress or done; only after
``settle_seconds`` with the posting unchanged (the call evidently never landed). An edit the daemon
answered stays answered: after a refusal the cell is restored, which bumps its version, so typing the
same text again later is a new edit.

The engine does no I/O of its own: Ozon, the sheet, the state store, the clock and sleep come in.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sync.backends.base import SheetBackend, Snapshot
from sync.engine.mirror import Mirror
from sync.engine.notes import Notes
from sync.engine.rows import OPEN_FOR_CUSTOMER_DATA, edit_id, ozon_hash, ozon_values, same_value
from sync.engine.state import OPEN_OUTBOX, CellState, OutboxEntry, RowState, StateStore
from sync.errors import OzonAuthError, OzonRefused, OzonUnavailable, SheetBusy, SheetLayoutError, SheetUnavailable
from sync.mapping import ColumnMap, Move, StatusMap
from sync.model import (
    Action,
    CellWrite,
    Posting,
    Scheme,
    SheetRow,
    posting_from_dict,
    posting_to_dict,
)

log = logging.getLogger("sync.engine")

Key = tuple[str, str]
ByKey = dict[Key, tuple[SheetRow, ...]]  # the rows of each posting on the sheet (more than one: duplicates)

# Within one posting, entries run in this order: pack before the tracking number, the tracking
# number before "delivering" (DESIGN §3: tracking-number/set, then delivering).
PRIORITY = {
    Action.CANCEL: 0, Action.SHIP: 1, Action.AWAITING_DELIVERY: 1, Action.SET_TRACK: 2,
    Action.DELIVERING: 3, Action.LAST_MILE: 4, Action.DELIVERED: 5,
}
EMPTY_GUARD_MIN_ROWS = 3


class OzonPort(Protocol):
    """What the engine needs from Ozon (sync.ozon.OzonClient, or an in-process model in tests)."""

    def list_postings(self, since: datetime, to: datetime, *, changed_since: datetime | None = None,
                      changed_to: datetime | None = None, statuses: Sequence[str] = ()) -> Iterator[Posting]: ...
    def list_unfulfilled(self, *, changed_since: datetime | None = None,
                         statuses: Sequence[str] = ()) -> Iterator[Posting]: ...
    def get_posting(self, number: str) -> Posting: ...
    def ship(self, posting: Posting) -> None: ...
    def awaiting_delivery(self, number: str) -> None: ...
    def set_delivering(self, number: str) -> None: ...
    def set_last_mile(self, number: str) -> None: ...
    def set_delivered(self, number: str) -> None: ...
    def set_tracking_number(self, number: str, tracking: str) -> None: ...
    def cancel(self, number: str, reason_id: int, message: str = "") -> None: ...


@dataclass(frozen=True)
class AccountOptions:
    """What differs between Ozon accounts in one sheet (the `accounts:` entries of the config)."""

    schemes: frozenset[Scheme] = frozenset({Scheme.FBS, Scheme.RFBS})
    lookback_days: int = 30
    full_every: float = 300.0


@dataclass(frozen=True)
class EngineOptions:
    account: str = "main"  # the default account: a row whose account cell is empty belongs to it
    schemes: frozenset[Scheme] = frozenset({Scheme.FBS, Scheme.RFBS})
    tz: ZoneInfo = ZoneInfo("Europe/Moscow")
    lookback_days: int = 30
    full_every: float = 300.0
    overlap: float = 120.0
    hold_minutes: float = 10.0
    ship_retries: int = 2
    settle_seconds: float = 120.0
    verify_wait: float = 0.0
    verify_poll: float = 0.5
    archive_after_days: int = 14
    customer_data: bool = False
    purge_after_days: int = 7
    buyer_fetches: int = 50  # at most this many /v3/posting/fbs/get calls per cycle for buyer data
    append_batch: int = 10_000  # at most this many rows added per cycle (a backfill takes several)
    accounts: Mapping[str, AccountOptions] = field(default_factory=dict)  # per account; else the fields above


@dataclass(frozen=True, slots=True)
class Brief:
    """What an engine keeps in memory of a posting between cycles; the posting itself is read from the
    state store when a row needs it (an edit, a change at Ozon, a row to lay out), so a daemon over
    100,000 postings holds a few numbers each, not the postings."""

    fp: int  # hash of the posting as last stored: changes when anything Ozon shows of it changes
    scheme: Scheme
    finished: bool
    owner: str  # the sheet it belongs on under operator views ("" = the main one)


POSTINGS_KEPT = 512  # postings read from the state store, kept for the next look-ups of the same rows


class SharedKnown:
    """The postings of one state store, kept between cycles (see Engine._load_known).

    The engines of one config (the main sheet and each view) share one store and one SQLite
    connection, so data_version cannot tell them what another engine pulled or pushed; they share
    this instead, and each sees every change the moment it is made."""

    def __init__(self) -> None:
        self.value: tuple[int, dict[Key, Brief], dict[Key, datetime]] | None = None
        self.moved: dict[Key, str] = {}  # postings whose sheet changed (warehouse changed ...) -> the one they left


@dataclass
class CycleReport:
    view: str = ""  # the operator view this report is for ("" = the main sheet)
    pulled: int = 0
    calls: int = 0
    verified: int = 0
    waiting: int = 0
    refused: int = 0
    held: int = 0
    cells_written: int = 0
    rows_added: int = 0
    rows_archived: int = 0
    rows_skipped: int = 0
    rows_waiting: int = 0  # rows to add that did not fit in this cycle's write (append_batch)
    deferred: str = ""
    failed_accounts: dict[str, str] = field(default_factory=dict)  # account -> why it was skipped this cycle
    planned: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"pulled {self.pulled} postings",
            f"{self.calls} Ozon calls ({self.verified} verified, {self.waiting} waiting, {self.refused} refused)",
            f"{self.cells_written} cells written",
            f"{self.rows_added} rows added",
        ]
        if self.held:
            parts.append(f"{self.held} edits held")
        if self.rows_waiting:
            parts.append(f"{self.rows_waiting} more rows to add next cycle")
        if self.rows_archived:
            parts.append(f"{self.rows_archived} rows archived")
        if self.rows_skipped:
            parts.append(f"{self.rows_skipped} rows skipped (edited during the cycle)")
        if self.deferred:
            parts.append(f"writes deferred: {self.deferred}")
        if self.failed_accounts:
            parts.append(f"accounts not reached: {', '.join(self.failed_accounts)}")
        return (f"view «{self.view}»: " if self.view else "") + "; ".join(parts)


@dataclass
class _Ctx:
    """Per-cycle working set."""

    now: datetime
    known: dict[Key, Brief]  # the postings that may be on this sheet (archived ones are left out)
    since: dict[Key, datetime]
    notes: dict[Key, str] = field(default_factory=dict)  # the outcome of this cycle's push, per posting
    answers: dict[Key, list[str]] = field(default_factory=dict)  # answers to edits refused or held while planning
    pending: set[Key] = field(default_factory=set)  # rows with write-ahead values to clear once committed
    keep: dict[tuple[Key, str], str] = field(default_factory=dict)  # both-cells left as the sheet has them
    held: dict[tuple[Key, str], datetime | None] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # accounts Ozon failed for this cycle -> the note kind
    untouched: set[Key] = field(default_factory=set)  # settled last cycle, read the same now, not changed at Ozon
    blocked: set[Key] = field(default_factory=set)  # postings whose row the backend cannot write (merged cells)
    buyer_fetches: int = 0  # how many postings may still be fetched for buyer data this cycle

    def busy_keys(self) -> set[Key]:
        """Postings with anything of their own this cycle: a note, an answer, a kept or held cell, a write-ahead."""
        return {*self.notes, *self.answers, *(k for k, _f in self.keep), *(k for k, _f in self.held), *self.pending}


@dataclass(slots=True)
class _RowUpdate:
    """One row's outcome of a cycle: what it is written, and what the state store records once it is."""

    key: Key
    tracked: dict[str, str]  # the both-owned cells and the note as the row holds them after the write
    written: set[str]  # fields written this cycle
    cells: list[tuple[str, str, bool]]  # (field, base, bump) to record
    row: tuple[str, str] | None  # (note, Ozon hash) to record, when the row record changes
    sig: int  # the row's signature, should it be found settled


class Engine:
    """Runs sync cycles between Ozon accounts and one sheet. See the module docstring.

    ``ozon`` is one account's port (the account ``options.account``), or a mapping account id -> port
    when the sheet holds several accounts' postings; the first is the default account then, unless
    ``options.account`` names another. One account failing (Ozon down, its key refused) is reported
    for that account; its pushes wait in the outbox and the others go on.

    Operator views: ``view`` names this engine's sheet ("" = the main one) and ``owner_of`` tells which
    sheet a posting belongs to; the engine shows, pushes and answers only its own postings, and notes a
    row of a posting that has moved to another sheet. Engines over one state share ``known``."""

    def __init__(self, ozon: OzonPort | Mapping[str, OzonPort], backend: SheetBackend, state: StateStore,
                 columns: ColumnMap, statuses: StatusMap, options: EngineOptions | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], None] | None = None,
                 progress: Callable[[int], None] | None = None, mirror: Mirror | None = None,
                 view: str = "", owner_of: Callable[[Posting], str] | None = None,
                 known: SharedKnown | None = None):
        self.mirror = mirror  # read-only FBO / returns tabs, written with the cycle's own write
        self.backend = backend
        self.state = state
        self.columns = columns
        self.statuses = statuses
        self.opt = options or EngineOptions()
        self.ozons: dict[str, OzonPort] = dict(ozon) if isinstance(ozon, Mapping) else {self.opt.account: ozon}
        if not self.ozons:
            raise ValueError("the engine needs at least one Ozon account")
        self.default_account = self.opt.account if self.opt.account in self.ozons else next(iter(self.ozons))
        self.ozon = self.ozons[self.default_account]
        self.clock = clock
        self.sleep = sleep or (lambda s: None)
        self.progress = progress
        self.notes = Notes(columns.language, self.opt.tz)
        self.both = [f for f in ("status", "tracking_number", "cancel_reason") if columns.get(f)]
        self.view = view
        self.owner_of = owner_of
        self._shared = known or SharedKnown()
        self._key_field = columns.key.field
        self._postings: OrderedDict[Key, Posting] = OrderedDict()  # the last few read, see _posting
        # Rows found settled at the end of the last cycle -> their signature (_sig): the row's cells and
        # the posting as Ozon showed it. A row whose signature is the same next cycle needs nothing.
        self._settled: dict[Key, int] = {}
        self._unknown_logged: set[str] = set()  # fields Ozon left out, logged once each
        self._purged_at: datetime | None = None

    # --- entry point ------------------------------------------------------------------------------

    def run_cycle(self, *, push: bool = True, pull: bool = True, dry_run: bool = False) -> CycleReport:
        """One pass: push staff edits (if ``push``), pull Ozon (if ``pull``), write the sheet.

        ``dry_run`` reads both sides and lists what would be pushed (``report.planned``); it calls
        nothing, enqueues nothing and writes nothing. Raises SheetLayoutError, OzonAuthError,
        StateError (fatal); an Ozon or sheet outage is reported in the CycleReport, not raised."""
        rep = CycleReport(view=self.view)
        ctx = _Ctx(now=self.clock(), known={}, since={}, buyer_fetches=self.opt.buyer_fetches)
        cycle_id = self.state.start_cycle(ctx.now)
        try:
            self._load_known(ctx)
            snap = self.backend.read(self.columns.read_fields)
            self._report_missing(snap, rep)
            by_key = self._group(ctx, snap)
            ctx.blocked = self._blocked(snap, by_key, rep)
            ctx.untouched = self._untouched(ctx, by_key) - ctx.blocked
            self._guard_empty(ctx, by_key)
            if push:
                self._plan_edits(ctx, by_key, rep, dry_run)
                if not dry_run:
                    self._run_outbox(ctx, rep)
            else:
                self._keep_edits(ctx, by_key)
            if pull and not dry_run:
                for acc in self.ozons:
                    if acc in ctx.failed:
                        continue  # it failed pushing this cycle; its last pull time stays, nothing is missed
                    try:
                        self._pull(ctx, rep, acc)
                    except (OzonUnavailable, OzonRefused, OzonAuthError) as exc:
                        # A refused list filter is tried again next cycle.
                        self._account_failed(ctx, rep, acc, exc, "Pulling from Ozon failed")
                if self.mirror is not None:
                    rep.problems += self.mirror.stage(ctx.now)
            if not dry_run:
                self._write(ctx, snap, by_key, rep)
                self._purge_buyers(ctx)
                if self.mirror is not None:
                    rep.problems += self.mirror.finish(deferred=bool(rep.deferred))
        except Exception as exc:
            self.state.finish_cycle(cycle_id, self.clock(), rep.summary(), str(exc))
            raise
        self.state.finish_cycle(cycle_id, self.clock(), rep.summary(), "; ".join(rep.problems))
        if not dry_run:
            self._shared.value = (self.state.data_version(), ctx.known, ctx.since)
        return rep

    # --- 1. read ----------------------------------------------------------------------------------

    def _blocked(self, snap: Snapshot, by_key: ByKey, rep: CycleReport) -> set[Key]:
        """Postings on rows the backend cannot write (merged cells): neither pushed nor written until a person
        mends the sheet (each reason said once a cycle); every other row goes on."""
        if not snap.blocked:
            return set()
        for why in dict.fromkeys(snap.blocked.values()):
            rep.problems.append(why)
            log.warning("%s", why)
        return {key for key, rows in by_key.items() if any(r.row in snap.blocked for r in rows)}

    def _report_missing(self, snap: Snapshot, rep: CycleReport) -> None:
        """A mapped column whose header is gone (renamed, deleted) is neither read nor written: say so."""
        gone = [f"«{c.header}»" for c in self.columns.columns if c.field in snap.missing]
        if gone:
            problem = (f"The sheet has no column {', '.join(gone)}: edits there are not seen and it is not filled; "
                       f"rename it back, or run `ozon-sync init` to add it (empty) at the end")
            rep.problems.append(problem)
            log.warning("%s", problem)

    def _load_known(self, ctx: _Ctx) -> None:
        """The postings that may be on the sheet. Reading them all costs most of an idle cycle at 10k
        postings, so a daemon keeps them from its last good cycle — unless another process wrote
        the state file since (SQLite's data_version tells), or that cycle failed."""
        cached, self._shared.value = self._shared.value, None  # a cycle that fails leaves nothing kept
        if cached is not None and cached[0] == self.state.data_version():
            ctx.known, ctx.since = cached[1], cached[2]
            return
        self._settled = {}
        self._postings.clear()
        accounts: dict[str, str] = {}  # one string per account, not one per posting
        horizon = ctx.now - timedelta(days=self.opt.archive_after_days)
        for acc, num, data, since in self.state.posting_rows(off_sheet_finished_before=horizon):
            key = (accounts.setdefault(acc, acc), num)
            ctx.known[key] = self._brief(posting_from_dict(data))
            ctx.since[key] = since

    def _load_one(self, ctx: _Ctx, key: Key) -> None:
        """A posting _load_known left out (archived, long finished) whose number is on the sheet again."""
        got = self.state.posting_data(*key)
        if got is not None:
            ctx.known[key] = self._brief(posting_from_dict(got[0]))
            ctx.since[key] = got[1]

    def _brief(self, p: Posting) -> Brief:
        return Brief(hash(p), p.scheme, p.finished, self.owner_of(p) if self.owner_of is not None else "")

    def _posting(self, ctx: _Ctx, key: Key) -> Posting:
        """The posting as last stored (a known key). The last few read are kept: a row's planning,
        writing and verifying read the same posting."""
        fp = ctx.known[key].fp
        p = self._postings.get(key)
        if p is None or hash(p) != fp:
            got = self.state.posting_data(*key)
            if got is None:
                raise KeyError(key)
            p = posting_from_dict(got[0])
        self._keep_posting(p)
        return p

    def _keep_posting(self, p: Posting) -> None:
        self._postings[p.key] = p
        self._postings.move_to_end(p.key)
        if len(self._postings) > POSTINGS_KEPT:
            self._postings.popitem(last=False)

    def _key_of(self, row: SheetRow) -> Key | None:
        num = row.get(self._key_field).strip()
        return (row.get("account").strip() or self.default_account, num) if num else None

    def _group(self, ctx: _Ctx, snap: Snapshot) -> ByKey:
        by_key: ByKey = {}
        for row in snap.rows:
            key = self._key_of(row)
            if key is not None:
                by_key[key] = (*by_key[key], row) if key in by_key else (row,)
        for key in by_key:
            if key not in ctx.known:
                self._load_one(ctx, key)
        return by_key

    def _mine(self, ctx: _Ctx, key: Key) -> bool:
        """Does this posting belong on this engine's sheet? (An unknown one is noted where it is typed.)"""
        b = ctx.known.get(key)
        return self.owner_of is None or b is None or b.owner == self.view

    def _guard_empty(self, ctx: _Ctx, by_key: ByKey) -> None:
        if by_key:
            return
        if self.owner_of is None:
            on_sheet = self.state.count_on_sheet()
        else:
            on_sheet = sum(1 for a, n in self.state.on_sheet() if (a, n) in ctx.known and self._mine(ctx, (a, n)))
        if on_sheet >= EMPTY_GUARD_MIN_ROWS:
            raise SheetLayoutError(
                f"The sheet «{self.backend.worksheet}» reads empty, but {on_sheet} postings were on it. "
                f"Nothing was changed. If the rows were removed by mistake, restore them (undo or version "
                f"history); to lay the sheet out again from Ozon, run `ozon-sync init --rebuild`."
            )

    # --- 2-3. plan edits --------------------------------------------------------------------------

    def _plan_edits(self, ctx: _Ctx, by_key: ByKey, rep: CycleReport, dry_run: bool) -> None:
        pending = self.state.pending()
        open_fields = {(e.key, e.field) for e in self.state.open_entries()}
        for key, rows in by_key.items():
            if key not in ctx.known or len(rows) > 1 or key[0] not in self.ozons or not self._mine(ctx, key):
                continue
            if key in ctx.untouched or key in ctx.blocked:
                continue
            row, cells, posting = rows[0], self.state.cells_of(*key), None
            for fld in self.both:
                cs = cells.get(fld)
                sheet = row.get(fld)
                base = _edited(cs, pending.get((*key, fld)), sheet)
                if base is None:
                    continue
                if (key, fld) in open_fields:
                    ctx.keep[(key, fld)] = sheet
                    continue
                posting = posting or self._posting(ctx, key)
                self._plan_cell(ctx, key, row, fld, sheet, base, cs.version if cs else 0,
                                cs.held_since if cs else None, posting, rep, dry_run)

    def _keep_edits(self, ctx: _Ctx, by_key: ByKey) -> None:
        """Pull without push: leave every unpushed edit in the sheet as the person typed it."""
        pending = self.state.pending()
        for key, rows in by_key.items():
            if key in ctx.untouched:
                continue
            cells = self.state.cells_of(*key)
            for fld in self.both:
                if _edited(cells.get(fld), pending.get((*key, fld)), rows[0].get(fld)) is not None:
                    ctx.keep[(key, fld)] = rows[0].get(fld)

    def _plan_cell(self, ctx: _Ctx, key: Key, row: SheetRow, fld: str, sheet: str, base: str, version: int,
                   held_since: datetime | None, p: Posting, rep: CycleReport, dry_run: bool) -> None:
        ozon_now = ozon_values(p, self.statuses, self.opt.tz, None, False)[fld]
        if same_value(fld, sheet, ozon_now, p, self.statuses):
            return
        n = self.notes
        cur_label = self.statuses.label_for(p)
        if not same_value(fld, base, ozon_now, p, self.statuses) and not (fld == "cancel_reason" and not base):
            # Ozon moved since the base: Ozon wins.
            when = n.clock(ctx.since.get(key, ctx.now))
            kind = "ozon_cancelled" if p.status == "cancelled" else "ozon_moved"
            self._answer(ctx, key, n.stamp(ctx.now, kind, typed=sheet, current=cur_label, time=when,
                                     initiator=p.cancellation_initiator or "Ozon"))
            return
        if fld == "status":
            self._plan_status(ctx, key, row, sheet, base, version, held_since, p, rep, dry_run)
        elif fld == "tracking_number":
            if p.scheme is Scheme.FBS:
                self._answer(ctx, key, n.stamp(ctx.now, "track_fbs", typed=sheet))
            elif not sheet.strip():
                return  # Ozon cannot unset a tracking number; its value comes back
            elif p.allows(Action.SET_TRACK.value) or self._has_pending_move(ctx, key):
                self._enqueue(ctx, key, Action.SET_TRACK, sheet.strip(), fld, sheet, base, version, {}, p, rep,
                              dry_run)
            else:
                self._answer(ctx, key, n.stamp(ctx.now, "track_not_now", typed=sheet, current=cur_label))
        elif fld == "cancel_reason" and (key, "status") not in ctx.keep and not p.finished:
            cancelled = next(lab.label for lab in self.statuses.labels if lab.id == "cancelled")
            ctx.keep[(key, fld)] = sheet
            self._answer(ctx, key, n.stamp(ctx.now, "reason_alone", label=cancelled))

    @staticmethod
    def _answer(ctx: _Ctx, key: Key, note: str) -> None:
        """Record the answer to one refused or held cell; a row with two such cells gets both."""
        answers = ctx.answers.setdefault(key, [])
        if note not in answers:
            answers.append(note)

    def _note_for(self, ctx: _Ctx, key: Key, previous: str = "") -> str:
        """This cycle's note for a row: the push outcome, then every planning answer (one time stamp).
        Answers the ``previous`` note already gives are not given again, so a note is written once."""
        stamp = self.notes.clock(ctx.now) + " "
        answers = [a.removeprefix(stamp) for a in ctx.answers.get(key, [])]
        if key in ctx.notes:
            return _sentences([ctx.notes[key], *answers])
        if not answers:
            return ""
        if previous and all(a in previous for a in answers):
            return previous
        return stamp + _sentences(answers)

    def _has_pending_move(self, ctx: _Ctx, key: Key) -> bool:
        return any(k == key for (k, f) in ctx.keep if f == "status")

    def _plan_status(self, ctx: _Ctx, key: Key, row: SheetRow, sheet: str, base: str, version: int,
                     held_since: datetime | None, p: Posting, rep: CycleReport, dry_run: bool) -> None:
        n = self.notes
        cur_label = self.statuses.label_for(p)
        choices = n.choices(self.statuses.targets_from(p))
        lab = self.statuses.parse(sheet)
        if lab is None:
            self._answer(ctx, key, n.stamp(ctx.now, "unknown_status", typed=sheet, choices=choices))
            return
        move = self.statuses.move_to(lab, p)
        if move is None:
            self._answer(ctx, key, n.stamp(ctx.now, "no_move", typed=sheet, current=cur_label, choices=choices))
            return
        if not p.allows(move.action.value):
            self._answer(ctx, key, n.stamp(ctx.now, "not_allowed", typed=sheet, current=cur_label, choices=choices))
            return
        params: dict[str, object] = {}
        if "cancel_reason" in move.requires:
            reason_cell = row.get("cancel_reason")
            reasons = ", ".join(f"«{r}»" for r in self.statuses.reason_choices())
            if not reason_cell.strip():
                since = held_since or ctx.now
                until = since + timedelta(minutes=self.opt.hold_minutes)
                if ctx.now < until:
                    ctx.keep[(key, "status")] = sheet
                    ctx.held[(key, "status")] = since
                    rep.held += 1
                    self._answer(ctx, key, n.stamp(ctx.now, "need_reason", until=n.clock(until)[-5:], choices=reasons))
                else:
                    self._answer(ctx, key, n.stamp(ctx.now, "reason_timeout", typed=sheet))
                    ctx.held[(key, "status")] = None
                return
            parsed = self.statuses.parse_reason(reason_cell)
            if parsed is None:
                self._answer(ctx, key, n.stamp(ctx.now, "bad_reason", typed=sheet, reason=reason_cell, choices=reasons))
                return
            choice = self.statuses.reason(parsed.id)
            if choice is not None and choice.needs_message and not parsed.message:
                self._answer(ctx, key, n.stamp(ctx.now, "reason_no_message", typed=sheet))
                return
            params = {"reason_id": parsed.id, "message": parsed.message}
            ctx.keep[(key, "cancel_reason")] = reason_cell
        self._enqueue(ctx, key, move.action, lab.id, "status", sheet, base, version, params, p, rep, dry_run)

    def _enqueue(self, ctx: _Ctx, key: Key, action: Action, target: str, fld: str, typed: str, base: str,
                 version: int, params: dict[str, object], p: Posting, rep: CycleReport, dry_run: bool) -> None:
        label = self._target_label(action, target)
        if dry_run:
            rep.planned.append(f"{action.value} {p.posting_number} -> {label} (typed «{typed}»)")
            ctx.notes[key] = self.notes.stamp(ctx.now, "dry_run", label=label)
            return
        entry = self.state.enqueue(
            account=key[0], number=key[1], action=action.value, target=target, edit=edit_id(fld, base, typed, version),
            field=fld, params=params, from_status=p.status, from_substatus=p.substatus, typed=typed, now=ctx.now,
        )
        if entry.state in OPEN_OUTBOX:
            ctx.keep[(key, fld)] = typed
            ctx.held[(key, fld)] = None
        elif entry.outcome:
            ctx.notes[key] = entry.outcome  # answered before; the write of that answer was deferred

    def _target_label(self, action: Action, target: str) -> str:
        if action is Action.SET_TRACK:
            return target
        return next((lab.label for lab in self.statuses.labels if lab.id == target), target)

    # --- 4. outbox --------------------------------------------------------------------------------

    def _run_outbox(self, ctx: _Ctx, rep: CycleReport) -> None:
        entries = sorted(self.state.open_entries(), key=lambda e: (e.key, PRIORITY[Action(e.action)], e.id))
        waiting: set[Key] = set()
        for entry in entries:
            if not self._mine(ctx, entry.key):
                continue  # another sheet's posting: its engine runs the entry
            if entry.key in waiting or entry.account not in self.ozons:
                ctx.keep[(entry.key, entry.field)] = entry.typed  # an account no longer configured: kept
                continue
            if entry.account in ctx.failed:
                ctx.keep[(entry.key, entry.field)] = entry.typed
                ctx.notes.setdefault(entry.key, self._failed_note(ctx, entry.account))
                continue
            try:
                done = self._advance(ctx, entry, rep)
            except (OzonUnavailable, OzonAuthError) as exc:
                self._account_failed(ctx, rep, entry.account, exc, "Outbox paused")
                ctx.keep[(entry.key, entry.field)] = entry.typed
                ctx.notes.setdefault(entry.key, self._failed_note(ctx, entry.account))
                continue
            if not done:
                waiting.add(entry.key)
                ctx.keep[(entry.key, entry.field)] = entry.typed

    def _account_failed(self, ctx: _Ctx, rep: CycleReport, acc: str, exc: Exception, what: str) -> None:
        """Ozon failed for one account: its pushes wait, the others go on. With one account a refused
        key stays fatal (there is nothing else to do)."""
        if isinstance(exc, OzonAuthError) and len(self.ozons) == 1:
            raise exc
        several = len(self.ozons) > 1
        problem = f"Account «{acc}»: {what}: {exc}" if several else \
            str(exc) if what == "Outbox paused" else f"{what}: {exc}"
        rep.problems.append(problem)
        log.warning("%s%s: %s", f"Account «{acc}»: " if several else "", what, exc)
        if not isinstance(exc, OzonRefused):
            ctx.failed[acc] = "account_key" if isinstance(exc, OzonAuthError) else \
                "account_unavailable" if several else "unavailable"
            rep.failed_accounts[acc] = str(exc)

    def _failed_note(self, ctx: _Ctx, acc: str) -> str:
        return self.notes.stamp(ctx.now, ctx.failed.get(acc, "unavailable"), account=acc)

    def _fresh(self, ctx: _Ctx, key: Key) -> Posting:
        p = self._complete(ctx, self.ozons[key[0]].get_posting(key[1]))
        self._remember(ctx, p)
        return p

    def _complete(self, ctx: _Ctx, p: Posting) -> Posting:
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
        return p.known_from(self._posting(ctx, p.key) if p.key in ctx.known else None)

    def _remember(self, ctx: _Ctx, p: Posting) -> None:
        if not self.opt.customer_data:
            p = _without_buyer(p)  # never kept when the sheet does not show it
        old, new = ctx.known.get(p.key), self._brief(p)
        self._keep_posting(p)
        if old == new:
            return  # unchanged (the same hash): nothing to store, and its row stays settled
        if self.owner_of is not None and old is not None and old.owner != new.owner:
            self._shared.moved[p.key] = old.owner
        if self.state.upsert_posting(p.account, p.posting_number, p.status, p.substatus, posting_to_dict(p), ctx.now):
            ctx.since[p.key] = ctx.now
        ctx.known[p.key] = new
        ctx.untouched.discard(p.key)  # Ozon changed it: its row is merged again

    def _move_for(self, entry: OutboxEntry) -> Move | None:
        return next((m for m in self.statuses.moves if m.action.value == entry.action and m.to == entry.target), None)

    def _reached(self, entry: OutboxEntry, p: Posting) -> bool:
        if entry.action == Action.SET_TRACK:
            return p.tracking_number.strip() == entry.target
        move = self._move_for(entry)
        return move is not None and move.reached(p.status, p.substatus)

    def _finish(self, ctx: _Ctx, entry: OutboxEntry, state: str, note: str, rep: CycleReport) -> None:
        if state == "verified":
            self._rebase(ctx, entry)
        self.state.move(entry.id, state, ctx.now, outcome=note)
        self.state.audit(entry.account, entry.number, f"{entry.action}:{state}", note, ctx.now)
        self.state.set_row(*entry.key, note=note)  # kept even if this cycle's sheet write is deferred
        ctx.notes[entry.key] = note
        # Answered: the cells show Ozon's values again (the target when verified, the old state when refused).
        ctx.keep.pop((entry.key, entry.field), None)
        if entry.action == Action.CANCEL:
            ctx.keep.pop((entry.key, "cancel_reason"), None)
        if state == "verified":
            rep.verified += 1
            log.info("%s: %s", entry.number, note)
        else:
            rep.refused += 1
            log.info("%s: %s", entry.number, note)

    def _rebase(self, ctx: _Ctx, entry: OutboxEntry) -> None:
        """A verified push is the base of the cells it answers: the move was ours, not Ozon's, so an edit
        typed before the sheet shows it (writes deferred, or a crash before the write) is still an edit.
        Committed before the entry is marked verified: a crash between the two verifies it again."""
        shown = ozon_values(self._posting(ctx, entry.key), self.statuses, self.opt.tz, None, False)
        fields = [entry.field, "cancel_reason"] if entry.action == Action.CANCEL else [entry.field]
        for fld in fields:
            self.state.set_cell(*entry.key, fld, shown.get(fld, ""), bump=False)

    def _advance(self, ctx: _Ctx, entry: OutboxEntry, rep: CycleReport) -> bool:
        """Move one entry as far as it goes now; True when it reached verified or failed."""
        n = self.notes
        label = self._target_label(Action(entry.action), entry.target)
        p = self._fresh(ctx, entry.key)
        if self._reached(entry, p):
            kind = "track_verified" if entry.action == Action.SET_TRACK else "verified"
            self._finish(ctx, entry, "verified", n.stamp(ctx.now, kind, label=label, track=entry.target), rep)
            return True
        if entry.state in ("sending", "sent"):
            if "ship_async_in_process" in p.available_actions:
                return self._waiting(ctx, entry, label, rep)
            if entry.action == Action.SHIP and p.substatus == "ship_failed":
                return self._retry_ship(ctx, entry, p, label, rep)
            if p.status != entry.from_status and entry.action != Action.SET_TRACK:
                return self._ozon_moved(ctx, entry, p, rep)
            since = entry.sent_at or entry.updated_at
            if (ctx.now - since).total_seconds() < self.opt.settle_seconds:
                return self._waiting(ctx, entry, label, rep)
            log.info("%s: no trace of the earlier %s call after %ss; sending again", entry.number, entry.action,
                     int(self.opt.settle_seconds))
        elif p.status != entry.from_status and entry.action != Action.SET_TRACK:
            return self._ozon_moved(ctx, entry, p, rep)
        return self._send(ctx, entry, p, label, rep)

    def _ozon_moved(self, ctx: _Ctx, entry: OutboxEntry, p: Posting, rep: CycleReport) -> bool:
        kind = "ozon_cancelled" if p.status == "cancelled" else "ozon_moved"
        note = self.notes.stamp(ctx.now, kind, typed=entry.typed, current=self.statuses.label_for(p),
                                time=self.notes.clock(ctx.since.get(p.key, ctx.now)),
                                initiator=p.cancellation_initiator or "Ozon")
        self._finish(ctx, entry, "failed", note, rep)
        return True

    def _waiting(self, ctx: _Ctx, entry: OutboxEntry, label: str, rep: CycleReport) -> bool:
        rep.waiting += 1
        ctx.notes[entry.key] = self.notes.stamp(ctx.now, "sent", label=label)
        return False

    def _retry_ship(self, ctx: _Ctx, entry: OutboxEntry, p: Posting, label: str, rep: CycleReport) -> bool:
        limit = self.opt.ship_retries + 1
        if entry.attempts >= limit:
            self._finish(ctx, entry, "failed", self.notes.stamp(ctx.now, "ship_failed", limit=limit), rep)
            return True
        log.info("%s: Ozon reports ship_failed; trying again (%d of %d)", entry.number, entry.attempts + 1, limit)
        return self._send(ctx, entry, p, label, rep)

    def _send(self, ctx: _Ctx, entry: OutboxEntry, p: Posting, label: str, rep: CycleReport) -> bool:
        n = self.notes
        if not p.allows(entry.action):
            choices = n.choices(self.statuses.targets_from(p))
            note = n.stamp(ctx.now, "not_allowed", typed=entry.typed, current=self.statuses.label_for(p),
                           choices=choices)
            self._finish(ctx, entry, "failed", note, rep)
            return True
        self.state.move(entry.id, "sending", ctx.now, attempts=entry.attempts + 1)
        rep.calls += 1
        try:
            self._call(entry, p)
        except OzonRefused as exc:
            fresh = self._fresh(ctx, entry.key)
            if self._reached(entry, fresh):
                kind = "track_verified" if entry.action == Action.SET_TRACK else "verified"
                self._finish(ctx, entry, "verified", n.stamp(ctx.now, kind, label=label, track=entry.target), rep)
            else:
                note = n.stamp(ctx.now, "refused", typed=entry.typed, reason=n.ozon_reason(exc.code, exc.message))
                self._finish(ctx, entry, "failed", note, rep)
            return True
        self.state.move(entry.id, "sent", ctx.now, sent=True)
        self.state.audit(entry.account, entry.number, f"{entry.action}:sent", entry.typed, ctx.now)
        return self._verify(ctx, self.state.entry(entry.id), label, rep)

    def _verify(self, ctx: _Ctx, entry: OutboxEntry, label: str, rep: CycleReport) -> bool:
        waited = 0.0
        while True:
            p = self._fresh(ctx, entry.key)
            if self._reached(entry, p):
                kind = "track_verified" if entry.action == Action.SET_TRACK else "verified"
                self._finish(ctx, entry, "verified",
                             self.notes.stamp(ctx.now, kind, label=label, track=entry.target), rep)
                return True
            if entry.action == Action.SHIP and p.substatus == "ship_failed":
                return self._retry_ship(ctx, entry, p, label, rep)
            if waited >= self.opt.verify_wait:
                return self._waiting(ctx, entry, label, rep)
            self.sleep(self.opt.verify_poll)
            waited += self.opt.verify_poll

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

    # --- 5. pull ----------------------------------------------------------------------------------

    def _account_options(self, acc: str) -> AccountOptions:
        got = self.opt.accounts.get(acc)
        return got if got is not None else AccountOptions(self.opt.schemes, self.opt.lookback_days, self.opt.full_every)

    def _pull(self, ctx: _Ctx, rep: CycleReport, acc: str) -> None:
        ozon, aopt = self.ozons[acc], self._account_options(acc)
        now = ctx.now
        last = self.state.get_meta(f"last_pull:{acc}")
        last_full = self.state.get_meta(f"last_full:{acc}")
        seen: set[Key] = set()  # the two lists overlap

        def take(it: Iterator[Posting]) -> None:
            """Store each posting as its page arrives (a full scan of 100k postings is never held
            at once), committing every 1,000."""
            for p in it:
                p = self._complete(ctx, p)
                if p.scheme in aopt.schemes:
                    self._remember(ctx, self._with_buyer(ctx, p))
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

    def _with_buyer(self, ctx: _Ctx, p: Posting) -> Posting:
        """With customer_data on, an open rFBS posting needs the buyer's name, phone and address, which
        Ozon's lists leave out: keep what we have, else fetch the posting (a bounded number per cycle;
        the rest follow in the next cycles)."""
        if not (self.opt.customer_data and p.scheme is Scheme.RFBS and p.status in OPEN_FOR_CUSTOMER_DATA
                and not p.customer_phone):
            return p
        old = self._posting(ctx, p.key) if p.key in ctx.known else None
        if old is not None and old.customer_phone:
            return replace(p, customer_name=old.customer_name, customer_phone=old.customer_phone,
                           customer_address=old.customer_address)
        if ctx.buyer_fetches <= 0:
            return p
        ctx.buyer_fetches -= 1
        try:
            full = self.ozons[p.account].get_posting(p.posting_number)
        except (OzonUnavailable, OzonRefused) as exc:
            log.info("Buyer data of %s not fetched: %s", p.posting_number, exc)
            return p
        return full if full.status == p.status else p

    def _purge_buyers(self, ctx: _Ctx) -> None:
        """Erase buyer data from the state store purge_after_days after a posting finished."""
        if self._purged_at is not None and ctx.now - self._purged_at < timedelta(hours=1):
            return
        self._purged_at = ctx.now
        purged = self.state.purge_buyers(ctx.now - timedelta(days=self.opt.purge_after_days))
        for key in purged:
            self._postings.pop(key, None)
            if key in ctx.known:
                self._load_one(ctx, key)
        if purged:
            log.info("Erased the buyer data of %d finished postings", len(purged))

    # --- 6. write ---------------------------------------------------------------------------------

    def _desired(self, ctx: _Ctx, key: Key) -> dict[str, str]:
        """The row as Ozon's view of the posting makes it."""
        return ozon_values(self._posting(ctx, key), self.statuses, self.opt.tz, ctx.since.get(key),
                           self.opt.customer_data)

    def _sig(self, ctx: _Ctx, key: Key, row: SheetRow) -> int:
        """A row's signature: its cells as read, and the posting as Ozon showed it last."""
        return hash((row.values, ctx.known[key].fp, ctx.since.get(key)))

    def _write(self, ctx: _Ctx, snap: Snapshot, by_key: ByKey, rep: CycleReport) -> None:
        n = self.notes
        pending = self.state.pending()
        ctx.pending = {(a, num) for a, num, _f in pending}
        limit = int(getattr(self.backend, "max_cell_chars", 50000))
        writable = [c for c in self.columns.columns if c.owner in ("ozon", "both", "daemon")
                    and c.field not in snap.missing]
        writes: list[CellWrite] = []
        row_updates: dict[int, _RowUpdate] = {}
        busy = ctx.busy_keys()
        settled: dict[Key, int] = {}  # rows that need nothing this cycle (the common case) -> their signatures
        finished: dict[int, Key] = {}  # rows of finished postings, which may be due for the archive
        for key, rows in by_key.items():
            if not self._mine(ctx, key):
                self._note_moved_out(ctx, key, rows, snap, writes)
                continue
            if len(rows) > 1:
                note = n.stamp(ctx.now, "duplicate", rows=", ".join(str(r.row) for r in rows))
                for r in rows:
                    if r.get("sync_note") != note and "sync_note" not in snap.missing:
                        writes.append(CellWrite(r.row, "sync_note", note))
                continue
            row = rows[0]
            if key not in ctx.known or key[0] not in self.ozons:
                note = n.stamp(ctx.now, "unknown_posting", key=key[1]) if key[0] in self.ozons else \
                    n.stamp(ctx.now, "unknown_account", account=key[0], accounts=", ".join(self.ozons))
                prev = self.state.row(*key)
                text = prev.note if prev and prev.note else note
                if row.get("sync_note") != text and "sync_note" not in snap.missing:
                    writes.append(CellWrite(row.row, "sync_note", text))
                    self.state.set_row(*key, note=text)
                continue
            if ctx.known[key].finished:
                finished[row.row] = key
            if key in ctx.untouched and key not in busy:
                settled[key] = self._settled[key]
                continue
            sig = self._sig(ctx, key, row)
            desired = self._desired(ctx, key)
            cells = self.state.cells_of(*key)
            self._unrecorded(ctx, key, row, desired, cells, pending)
            rs = self.state.row(*key)
            # A note we wrote just before dying (never committed) is still the row's note.
            ours = pending.get((*key, "sync_note"))
            previous = ours if ours is not None and row.get("sync_note") == ours else \
                rs.note if rs else row.get("sync_note")
            fresh = self._note_for(ctx, key, previous)
            note = fresh or previous
            h = ozon_hash(desired, self.columns)
            if rs and rs.ozon_hash == h and not fresh:
                for c in writable:
                    if c.owner == "ozon" and row.get(c.field) != desired.get(c.field, "") \
                            and row.get(c.field) != self._truncate(desired.get(c.field, ""), limit) \
                            and not (c.field == "account" and not row.get(c.field).strip()):
                        note = n.stamp(ctx.now, "restored", header=c.header, typed=row.get(c.field))
                        break
            final = self._final_values(ctx, key, desired, note, limit)
            if final.pop("__truncated__", ""):
                note = final["sync_note"] = note or n.stamp(ctx.now, "truncated", limit=limit)
            written = {c.field for c in writable if c.field in final and row.get(c.field) != final[c.field]}
            writes += [CellWrite(row.row, c.field, final[c.field]) for c in writable if c.field in written]
            update = self._row_update(ctx, key, final, desired, written, h, rs, sig, cells)
            if written or update.cells or update.row:
                row_updates[row.row] = update
            elif key not in busy:
                settled[key] = sig
        appends: list[dict[str, str]] = []
        append_keys: list[_RowUpdate] = []
        for key, b in ctx.known.items():
            if key in by_key or key[0] not in self.ozons or b.scheme not in self._account_options(key[0]).schemes \
                    or not self._mine(ctx, key):
                continue
            rs = self.state.row(*key)
            if rs and rs.archived:
                continue
            if key in self._shared.moved:
                gone = self._shared.moved[key]
                note = n.stamp(ctx.now, "from_view", view=gone) if gone else n.stamp(ctx.now, "from_main")
            elif rs and rs.on_sheet:
                if b.finished:
                    self.state.set_row(*key, on_sheet=False)
                    continue
                note = n.stamp(ctx.now, "restored_row")
            else:
                if b.finished and self._archivable(ctx, key):
                    continue
                note = self._note_for(ctx, key)
            if len(appends) >= self.opt.append_batch:  # one write stays a few MB; the rest follow
                rep.rows_waiting += 1
                continue
            desired = self._desired(ctx, key)
            final = self._final_values(ctx, key, desired, note, limit)
            if final.pop("__truncated__", ""):
                final["sync_note"] = note or n.stamp(ctx.now, "truncated", limit=limit)
            appends.append({c.field: final.get(c.field, "") for c in self.columns.columns
                            if c.owner != "staff"})
            append_keys.append(self._row_update(ctx, key, final, desired, set(final),
                                                ozon_hash(desired, self.columns), rs, 0, self.state.cells_of(*key)))
        changed = self._changed_during_cycle(snap, writes, rep) | set(snap.blocked)
        for skipped in changed:  # changed by a person during the cycle, or merged cells: handled next cycle
            row_updates.pop(skipped, None)
            finished.pop(skipped, None)
        writes = [w for w in writes if w.row not in changed]
        if writes or appends:
            # Write-ahead: if we die after the sheet write but before the commit below, the next
            # cycle still knows these values are ours, not a person's.
            written_ahead = [(row_updates[w.row].key, w.field, w.value) for w in writes
                             if w.row in row_updates and w.field in row_updates[w.row].tracked]
            written_ahead += [(u.key, f, v) for u in append_keys for f, v in u.tracked.items()]
            self.state.set_pending([(*k, f, v) for k, f, v in written_ahead])
            ctx.pending |= {k for k, _f, _v in written_ahead}
            try:
                self.backend.write(writes, appends)
            except (SheetBusy, SheetUnavailable) as exc:
                if isinstance(exc, SheetBusy):  # nothing was written; an unavailable sheet may have been
                    self.state.clear_pending(list({k for k, _f, _v in written_ahead}))
                rep.deferred = str(exc)
                log.warning("%s", exc)
                self._save_held(ctx)
                self._settled = {}
                return
        rep.cells_written = len(writes)
        rep.rows_added = len(appends)
        for u in append_keys:
            self._shared.moved.pop(u.key, None)
        self.state.begin()
        try:
            for update in [*row_updates.values(), *append_keys]:
                for fld, base, bump in update.cells:
                    self.state.set_cell(*update.key, fld, base, bump=bump)
                if update.row is not None:
                    self.state.set_row(*update.key, note=update.row[0], ozon_hash=update.row[1], on_sheet=True)
            self.state.clear_pending([u.key for u in [*row_updates.values(), *append_keys] if u.key in ctx.pending])
            self._save_held(ctx)
        finally:
            self.state.commit()
        # Rows left as they were, with nothing in flight: next cycle skips them unless their cells or
        # Ozon's view of them change.
        busy = ctx.busy_keys()  # now with the cells kept while laying rows out
        settled.update((u.key, u.sig) for u in row_updates.values() if not u.written and u.key not in busy)
        self._settled = {k: v for k, v in settled.items() if k not in ctx.blocked}
        self._archive(ctx, finished, rep)

    def _untouched(self, ctx: _Ctx, by_key: ByKey) -> set[Key]:
        """Postings whose one row reads exactly as when it was last found settled: no one touched them since."""
        out = set()
        for key, rows in by_key.items():
            hit = self._settled.get(key)
            if hit is not None and len(rows) == 1 and key in ctx.known and hit == self._sig(ctx, key, rows[0]):
                out.add(key)
        return out

    def _note_moved_out(self, ctx: _Ctx, key: Key, rows: tuple[SheetRow, ...], snap: Snapshot,
                        writes: list[CellWrite]) -> None:
        """A row of a posting that now belongs on another sheet (its warehouse, delivery or account changed):
        it is edited there. This row says so (once) and shows Ozon's values, so whatever is typed here is
        neither pushed nor left standing (should the posting come back); a person may delete it."""
        there = ctx.known[key].owner
        text = self.notes.text("in_view", view=there) if there else self.notes.text("in_main")
        desired, limit = self._desired(ctx, key), int(getattr(self.backend, "max_cell_chars", 50000))
        shown = [c.field for c in self.columns.columns if c.owner in ("ozon", "both") and c.field not in snap.missing]
        for r in rows:
            if "sync_note" not in snap.missing and not r.get("sync_note").endswith(text):
                writes.append(CellWrite(r.row, "sync_note", f"{self.notes.clock(ctx.now)} {text}"))
            for f in shown:
                value = self._truncate(desired.get(f, ""), limit)
                if r.get(f) != value:
                    writes.append(CellWrite(r.row, f, value))

    def _final_values(self, ctx: _Ctx, key: Key, desired: dict[str, str], note: str, limit: int) -> dict[str, str]:
        final: dict[str, str] = {}
        truncated = False
        for c in self.columns.columns:
            if c.owner == "staff":
                continue
            if c.owner == "daemon":
                final[c.field] = note
                continue
            value = desired.get(c.field, "")
            if c.owner == "both" and (key, c.field) in ctx.keep:
                value = ctx.keep[(key, c.field)]
            cut = self._truncate(value, limit)
            truncated |= cut != value
            final[c.field] = cut
        if truncated:
            final["__truncated__"] = "1"
        return final

    @staticmethod
    def _truncate(value: str, limit: int) -> str:
        return value if len(value) <= limit else value[: limit - 1] + "…"

    def _changed_during_cycle(self, snap: Snapshot, writes: list[CellWrite], rep: CycleReport) -> set[int]:
        """Re-read key and both-owned cells of the rows about to be written: those a person changed since
        the cycle's read."""
        if not writes:
            return set()
        fields = [f for f in self.columns.guard_fields if f not in snap.missing]
        rows = {w.row for w in writes}
        before = {r.row: tuple(r.get(f) for f in fields) for r in snap.rows if r.row in rows}
        after = self.backend.read_rows(fields, rows)
        blank = ("",) * len(fields)
        changed = {row for row in rows if before.get(row, blank) != after.get(row, blank)}
        if changed:
            rep.rows_skipped = len(changed)
            log.info("Rows %s changed during the cycle; they are handled next cycle", sorted(changed))
        return changed

    def _row_update(self, ctx: _Ctx, key: Key, final: dict[str, str], desired: dict[str, str], written: set[str],
                    h: str, rs: RowState | None, sig: int, cells: dict[str, CellState]) -> _RowUpdate:
        """What to record once the row is written: bases of both-owned cells (a written cell bumps its
        version), the note, and the Ozon fingerprint — only what changed."""
        record: list[tuple[str, str, bool]] = []
        for fld in self.both:
            cs = cells.get(fld)
            if (key, fld) in ctx.keep:
                if cs is None:
                    record.append((fld, desired.get(fld, ""), False))
                continue
            value = final.get(fld, "")
            if cs is None or fld in written or cs.base != value or cs.held_since is not None:
                record.append((fld, value, fld in written))
        note = final.get("sync_note", "")
        row = (note, h) if rs is None or rs.note != note or rs.ozon_hash != h or not rs.on_sheet else None
        tracked = {f: final.get(f, "") for f in (*self.both, "sync_note")}
        return _RowUpdate(key, tracked, written, record, row, sig)

    def _unrecorded(self, ctx: _Ctx, key: Key, row: SheetRow, desired: dict[str, str], cells: dict[str, CellState],
                    pending: Mapping[tuple[str, str, str], str]) -> None:
        """Both-owned cells the state holds no record of (it was rebuilt from nothing, or a person pasted the
        row in) that differ from Ozon: a person may have typed them, so they are never silently turned back.
        Each is kept as it is, with Ozon's value recorded as its base, so the next cycle takes it as an edit:
        pushed if Ozon allows the move, else answered in the row quoting what was typed. Statuses only move
        forward, so a stale value is never a move Ozon could make. A tracking number where Ozon already has
        another is not pushed over it: Ozon's stays, and the note quotes the sheet's so it can be typed again."""
        posting: Posting | None = None
        for fld in self.both:
            sheet = row.get(fld)
            if fld in cells or (*key, fld) in pending or (key, fld) in ctx.keep or not sheet.strip():
                continue
            posting = posting or self._posting(ctx, key)
            ozon = desired.get(fld, "")
            if same_value(fld, sheet, ozon, posting, self.statuses):
                continue
            if fld == "tracking_number" and ozon.strip():
                self._answer(ctx, key, self.notes.stamp(ctx.now, "unrecorded_track", typed=sheet, current=ozon))
            else:
                ctx.keep[(key, fld)] = sheet

    def _save_held(self, ctx: _Ctx) -> None:
        for (key, fld), since in ctx.held.items():
            self.state.set_held(*key, fld, since)

    # --- archive ----------------------------------------------------------------------------------

    def _archivable(self, ctx: _Ctx, key: Key) -> bool:
        since = ctx.since.get(key)
        return since is not None and ctx.now - since >= timedelta(days=self.opt.archive_after_days)

    def _archive(self, ctx: _Ctx, finished: dict[int, Key], rep: CycleReport) -> None:
        """Move finished postings older than archive_after_days out of the live sheet (one month per cycle).
        ``finished``: the rows of finished postings this cycle wrote or left as they were."""
        due: dict[str, list[tuple[int, Key]]] = {}
        for row, key in finished.items():
            if ctx.known[key].finished and self._archivable(ctx, key) and not any(k == key for (k, _f) in ctx.keep):
                period = ctx.since[key].astimezone(self.opt.tz).strftime("%Y-%m")
                due.setdefault(period, []).append((row, key))
        if not due:
            return
        period = min(due)
        try:
            self.backend.archive_rows([r for r, _ in due[period]], period)
        except (SheetBusy, SheetUnavailable) as exc:
            rep.deferred = rep.deferred or str(exc)
            return
        for _r, key in due[period]:
            self.state.set_row(*key, on_sheet=False, archived=True)
            self._settled.pop(key, None)
            del ctx.known[key]  # an archived posting is not on this sheet again
        rep.rows_archived = len(due[period])


def _without_buyer(p: Posting) -> Posting:
    if not (p.customer_name or p.customer_phone or p.customer_address):
        return p
    return replace(p, customer_name="", customer_phone="", customer_address="")


def _sentences(parts: list[str]) -> str:
    """Join notes into one: a part that ends a sentence is followed by a space, others by "; "."""
    out = ""
    for part in parts:
        if out:
            out += " " if out.endswith((".", "!", "?")) else "; "
        out += part
    return out


def _edited(cs: CellState | None, pending: str | None, sheet: str) -> str | None:
    """The base to merge a both-owned cell against when the person changed it, else None.

    ``pending`` is a value we sent in a write whose outcome was never recorded: the sheet showing
    it (or the older base) is our own doing, anything else was typed. A cell we never wrote or saw
    (no base, nothing pending) is not an edit."""
    if pending is not None:
        return None if sheet == pending or (cs is not None and sheet == cs.base) else pending
    if cs is None or sheet == cs.base:
        return None
    return cs.base
