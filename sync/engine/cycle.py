"""One sync cycle: read, plan, run the outbox, pull, write, commit.

 1. read every mapped column that is not staff-owned;
 2. plan (``plan.py``): each both-owned cell that differs from its base is an edit; it becomes an intent
    (committed to the outbox before any call), an answer in the row, or a cell kept as typed;
 3. run the outbox (``outbox.py``), the only place Ozon is written: re-read the posting fresh, check Ozon
    allows the move, call, verify by re-reading; every step of an entry is committed;
 4. pull what changed at Ozon (``pull.py``);
 5. plan the write (``writes.py``): only the cells whose value changes, a note per row; re-read the key and
    both-owned cells, skip rows a person changed meanwhile, write in one batch, then record what landed.

An edit the daemon answered stays answered: after a refusal the cell is restored, which bumps its
version, so typing the same text again later is a new edit. ``--dry-run`` is steps 1-2, printed.

The engine does no I/O of its own: Ozon, the sheet, the state store, the clock and sleep come in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from sync.backends.base import SheetBackend, Snapshot
from sync.engine.itemsteps import ItemStep
from sync.engine.known import Known, SharedKnown
from sync.engine.labelling import Labeller
from sync.engine.mirror import Mirror
from sync.engine.notes import Notes
from sync.engine.outbox import Outbox
from sync.engine.plan import Answer, Decision, EditPlanner, Hold, Intent, Keep, edits_of, keep_unpushed
from sync.engine.pull import Puller
from sync.engine.state import OPEN_OUTBOX, StateStore
from sync.engine.types import (
    AccountOptions,
    ByKey,
    CycleReport,
    DayPort,
    EngineOptions,
    Key,
    LabelPort,
    OzonPort,
    Tally,
)
from sync.engine.writes import WritePlan, WritePlanner, untouched
from sync.errors import OzonAuthError, OzonRefused, OzonUnavailable, SheetBusy, SheetLayoutError, SheetUnavailable
from sync.mapping import INPUT_FIELDS, LATER_FIELDS, ColumnMap, StatusMap
from sync.model import CellWrite, Posting, SheetRow

__all__ = ["AccountOptions", "CycleReport", "Engine", "EngineOptions", "OzonPort", "SharedKnown"]

log = logging.getLogger("sync.engine")

EMPTY_GUARD_MIN_ROWS = 3
NOTHING: Mapping[str, str] = MappingProxyType({})
NOTHING_TO_FETCH: Mapping[str, list[str]] = MappingProxyType({})


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
                 known: SharedKnown | None = None, days: Mapping[str, DayPort] | None = None,
                 labels: LabelPort | None = None):
        self.mirror = mirror  # read-only FBO / returns tabs, written with the cycle's own write
        self.backend = backend
        self.state = state
        self.columns = columns
        self.opt = options or EngineOptions()
        self.ozons: dict[str, OzonPort] = dict(ozon) if isinstance(ozon, Mapping) else {self.opt.account: ozon}
        if not self.ozons:
            raise ValueError("the engine needs at least one Ozon account")
        self.days: Mapping[str, DayPort] = days or {}  # each account's FBS day (item data, labels), if offered
        self.default_account = self.opt.account if self.opt.account in self.ozons else next(iter(self.ozons))
        self.ozon = self.ozons[self.default_account]
        self.clock = clock
        self.view = view
        notes = Notes(columns.language, self.opt.tz)
        self.both = [f for f in ("status", "tracking_number", "cancel_reason") if columns.get(f)]
        self.known = Known(state, known or SharedKnown(), archive_after_days=self.opt.archive_after_days,
                           customer_data=self.opt.customer_data, view=view, owner_of=owner_of)
        self.planner = EditPlanner(statuses, notes, self.opt.hold_minutes, self.opt.items)
        self.outbox = Outbox(self.ozons, state, self.known, statuses, notes, self.opt, sleep or (lambda s: None),
                             self.days, clock=clock)
        self.puller = Puller(state, self.known, self.opt, progress)
        # Labels are fetched by one engine (the main sheet's); every sheet shows their links.
        self.labels = labels
        self.labeller = Labeller(self.days, state, labels, notes, self.opt.tz, clock,
                                                self.opt.label_wait) if labels else None
        self._links: Mapping[Key, str] = {}  # the label links the last cycle's write laid out
        self.writer = WritePlanner(columns, statuses, notes, self.opt, tuple(self.ozons),
                                   backend.max_cell_chars, tuple(self.both))
        # Rows found settled at the end of the last cycle -> their signature (writes.signature): the row's
        # cells and the posting as Ozon showed it. A row whose signature is the same next cycle needs nothing.
        self._settled: dict[Key, int] = {}
        self._purged_at: datetime | None = None

    @property
    def settled(self) -> frozenset[Key]:
        """The postings whose rows needed nothing last cycle (the next one skips them unless they change)."""
        return frozenset(self._settled)

    # --- entry points -----------------------------------------------------------------------------

    def run_cycle(self, *, push: bool = True, pull: bool = True, dry_run: bool = False,
                  fetch: Mapping[str, list[str]] | None = None) -> CycleReport:
        """One pass: push staff edits (if ``push``), pull Ozon (if ``pull``), write the sheet.

        ``fetch``: account -> posting numbers Ozon pushed notifications about; each is fetched from Ozon
        after the pushes (instead of, or besides, the pull).

        ``dry_run`` reads both sides and lists what would be pushed (``report.planned``); it calls
        nothing, enqueues nothing and writes nothing. Raises SheetLayoutError, OzonAuthError,
        StateError (fatal); an Ozon or sheet outage is reported in the CycleReport, not raised."""
        if dry_run:
            return self._logged(lambda t, rep: self._dry_run(t, rep, push))
        return self._logged(lambda t, rep: self._cycle(t, rep, push, pull, fetch or NOTHING_TO_FETCH))

    def _logged(self, body: Callable[[Tally, CycleReport], None]) -> CycleReport:
        """Run one pass, recorded in the state's cycle log with its summary or its error."""
        rep, t = CycleReport(view=self.view), Tally(now=self.clock())
        cycle_id = self.state.start_cycle(t.now)
        try:
            body(t, rep)
        except Exception as exc:
            self.state.finish_cycle(cycle_id, self.clock(), rep.summary(), str(exc))
            raise
        self.state.finish_cycle(cycle_id, self.clock(), rep.summary(), "; ".join(rep.problems))
        return rep

    def _dry_run(self, t: Tally, rep: CycleReport, push: bool) -> None:
        """Plan, print the plan, stop."""
        _snap, by_key = self._read(t, rep)
        if push:
            rep.planned = [d.line for d in self.plan(t, by_key, push=True) if isinstance(d, Intent)]

    def _cycle(self, t: Tally, rep: CycleReport, push: bool, pull: bool, fetch: Mapping[str, list[str]]) -> None:
        snap, by_key = self._read(t, rep)
        self._apply(t, rep, self.plan(t, by_key, push=push))
        if push:
            self._run_outbox(t, rep)
            self._fetch_labels(t, rep)
        if fetch:
            self._fetch(t, rep, fetch)
        if pull:
            self._pull(t, rep)
        self._write(t, snap, by_key, rep)
        self._purge_buyers(t)
        if self.mirror is not None:
            rep.problems += self.mirror.finish(deferred=bool(rep.deferred))
        self.known.keep_for_next_cycle()

    # --- 1. read ----------------------------------------------------------------------------------

    def _read(self, t: Tally, rep: CycleReport) -> tuple[Snapshot, ByKey]:
        if self.known.load(t.now):
            self._settled = {}
        snap = self.backend.read(self.columns.read_fields)
        self._report_missing(snap, rep)
        by_key = self._group(snap)
        t.blocked = self._blocked(snap, by_key, rep)
        t.untouched = untouched(by_key, self._settled, self.known) - t.blocked
        self._guard_empty(by_key)
        return snap, by_key

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
        gone = [f"«{c.header}»" for c in self.columns.columns
                if c.field in snap.missing and c.field not in INPUT_FIELDS | LATER_FIELDS]
        if gone:
            problem = (f"The sheet has no column {', '.join(gone)}: edits there are not seen and it is not filled; "
                       f"rename it back, or run `ozon-sync init` to add it (empty) at the end")
            rep.problems.append(problem)
            log.warning("%s", problem)

    def _key_of(self, row: SheetRow) -> Key | None:
        num = row.get(self.columns.key.field).strip()
        return (row.get("account").strip() or self.default_account, num) if num else None

    def _group(self, snap: Snapshot) -> ByKey:
        by_key: ByKey = {}
        for row in snap.rows:
            key = self._key_of(row)
            if key is not None:
                by_key[key] = (*by_key[key], row) if key in by_key else (row,)
        for key in by_key:
            if key not in self.known.briefs:
                self.known.load_one(key)
        return by_key

    def _guard_empty(self, by_key: ByKey) -> None:
        if by_key:
            return
        if self.known.owner_of is None:
            on_sheet = self.state.count_on_sheet()
        else:
            on_sheet = sum(1 for key in self.state.on_sheet() if key in self.known.briefs and self.known.mine(key))
        if on_sheet >= EMPTY_GUARD_MIN_ROWS:
            raise SheetLayoutError(
                f"The sheet «{self.backend.worksheet}» reads empty, but {on_sheet} postings were on it. "
                f"Nothing was changed. If the rows were removed by mistake, restore them (undo or version "
                f"history); to lay the sheet out again from Ozon, run `ozon-sync init --rebuild`."
            )

    # --- 2. plan edits ----------------------------------------------------------------------------

    def plan(self, t: Tally, by_key: ByKey, *, push: bool = True) -> list[Decision]:
        """What this cycle's edits ask for. Without ``push`` every unpushed edit is only kept as typed."""
        pending: dict[Key, dict[str, str]] = {}
        for (acc, num, fld), value in self.state.pending().items():
            pending.setdefault((acc, num), {})[fld] = value
        open_fields = {(e.key, e.field) for e in self.state.open_entries()} if push else set()
        out: list[Decision] = []
        for key, rows in by_key.items():
            if key in t.untouched:
                continue
            if push and (key not in self.known.briefs or len(rows) > 1 or key[0] not in self.ozons
                         or not self.known.mine(key) or key in t.blocked):
                continue
            edits = edits_of(rows[0], self.state.cells_of(*key), pending.get(key, NOTHING), self.both)
            if not edits:
                continue
            if not push:
                out += keep_unpushed(key, edits)
                continue
            out += self.planner.plan(key, rows[0], edits, self.known.posting(key), now=t.now,
                                     since=self.known.since.get(key),
                                     open_fields={f for f in self.both if (key, f) in open_fields})
        return out

    def _apply(self, t: Tally, rep: CycleReport, decisions: list[Decision]) -> None:
        for d in decisions:
            if isinstance(d, Answer):
                t.answer(d.key, d.note)
            elif isinstance(d, Keep):
                t.keep[(d.key, d.field)] = d.value
            elif isinstance(d, Hold):
                t.held[(d.key, d.field)] = d.since
                rep.held += d.since is not None
            else:
                entry = self.outbox.enqueue(d, t.now)
                if entry.state in OPEN_OUTBOX:
                    t.keep[(d.key, d.edit.field)] = d.edit.typed
                    t.held[(d.key, d.edit.field)] = None
                elif entry.outcome:
                    t.notes[d.key] = entry.outcome  # answered before; the write of that answer was deferred
                    if entry.step == ItemStep.REJECTED:  # codes refused: the status waits for them to change
                        t.keep[(d.key, d.edit.field)] = d.edit.typed

    # --- 3. outbox, 4. pull -----------------------------------------------------------------------

    def _run_outbox(self, t: Tally, rep: CycleReport) -> None:
        run = self.outbox.run(t.now, t.failed, lambda acc, exc, what: self._account_failed(t, rep, acc, exc, what))
        t.notes.update(run.notes)
        for key, note in run.fallback_notes.items():
            t.notes.setdefault(key, note)
        for cell, typed in run.cells.items():
            if typed is None:
                t.keep.pop(cell, None)
            else:
                t.keep[cell] = typed
        rep.calls += run.calls
        rep.verified += run.verified
        rep.waiting += run.waiting
        rep.refused += run.refused

    def _fetch_labels(self, t: Tally, rep: CycleReport) -> None:
        if self.labeller is None:
            return
        run = self.labeller.run(t.now, t.failed, lambda acc, exc, what: self._account_failed(t, rep, acc, exc, what))
        for key, note in run.notes.items():
            t.notes.setdefault(key, note)
        rep.labels += run.saved
        rep.calls += run.calls
        rep.problems += run.problems

    def _pull(self, t: Tally, rep: CycleReport) -> None:
        self.puller.buyer_fetches = self.opt.buyer_fetches
        for acc, ozon in self.ozons.items():
            if acc in t.failed:
                continue  # it failed pushing this cycle; its last pull time stays, nothing is missed
            try:
                self.puller.pull(acc, ozon, t.now, rep)
            except (OzonUnavailable, OzonRefused, OzonAuthError) as exc:
                # A refused list filter is tried again next cycle.
                self._account_failed(t, rep, acc, exc, "Pulling from Ozon failed")
        if self.mirror is not None:
            rep.problems += self.mirror.stage(t.now)

    def _fetch(self, t: Tally, rep: CycleReport, fetch: Mapping[str, list[str]]) -> None:
        for acc, numbers in fetch.items():
            ozon = self.ozons.get(acc)
            if ozon is None or acc in t.failed:
                continue
            try:
                self.puller.fetch(acc, ozon, numbers, t.now, rep)
            except OzonAuthError as exc:
                self._account_failed(t, rep, acc, exc, "Fetching the pushed postings failed")

    def _account_failed(self, t: Tally, rep: CycleReport, acc: str, exc: Exception, what: str) -> None:
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
            t.failed[acc] = "account_key" if isinstance(exc, OzonAuthError) else \
                "account_unavailable" if several else "unavailable"
            rep.failed_accounts[acc] = str(exc)

    def _purge_buyers(self, t: Tally) -> None:
        """Erase buyer data from the state store purge_after_days after a posting finished (hourly)."""
        if self._purged_at is not None and t.now - self._purged_at < timedelta(hours=1):
            return
        self._purged_at = t.now
        purged = self.known.purge_buyers(t.now - timedelta(days=self.opt.purge_after_days))
        if purged:
            log.info("Erased the buyer data of %d finished postings", purged)
        if self.labels is not None:  # a label shows what Ozon prints of the buyer: it goes the same way
            today = t.now.astimezone(self.opt.tz).date()
            files = self.labels.purge(today, self.opt.purge_after_days)
            self.state.forget_labels((today - timedelta(days=self.opt.purge_after_days)).isoformat())
            if files:
                log.info("Erased %d label files older than %d days", files, self.opt.purge_after_days)

    # --- 5. write ---------------------------------------------------------------------------------

    def _write(self, t: Tally, snap: Snapshot, by_key: ByKey, rep: CycleReport) -> None:
        pending = self.state.pending()
        t.pending = {(a, num) for a, num, _f in pending}
        t.untouched -= self.known.changed  # Ozon changed them: their rows are merged again
        t.links = self.state.label_links() if self.columns.get("label") else {}
        t.untouched -= {k for k in {*t.links, *self._links} if t.links.get(k) != self._links.get(k)}
        plan = self.writer.plan(t, snap, by_key, self.known, settled=self._settled, pending=pending,
                                moved=self.known.shared.moved)
        t.keep = plan.keep
        for r in plan.records:
            self.state.set_row(*r.key, note=r.note, on_sheet=r.on_sheet)
        rep.rows_waiting = plan.rows_waiting
        changed = self._changed_during_cycle(snap, plan.cells, rep) | set(snap.blocked)
        for skipped in changed:  # changed by a person during the cycle, or merged cells: handled next cycle
            plan.updates.pop(skipped, None)
            plan.finished.pop(skipped, None)
        writes = [w for w in plan.cells if w.row not in changed]
        if (writes or plan.appends) and not self._send_writes(t, plan, writes, rep):
            return
        rep.cells_written = len(writes)
        rep.rows_added = len(plan.appends)
        for u in plan.added:
            self.known.shared.moved.pop(u.key, None)
        updates = [*plan.updates.values(), *plan.added]
        self.state.begin()
        try:
            for update in updates:
                for fld, base, bump in update.cells:
                    self.state.set_cell(*update.key, fld, base, bump=bump)
                if update.row is not None:
                    self.state.set_row(*update.key, note=update.row[0], ozon_hash=update.row[1], on_sheet=True)
            self.state.clear_pending([u.key for u in updates if u.key in t.pending])
            self._save_held(t)
        finally:
            self.state.commit()
        # Rows left as they were, with nothing in flight: next cycle skips them unless their cells or
        # Ozon's view of them change.
        busy = t.busy_keys() | plan.answered  # now with the cells kept while laying rows out
        settled = plan.settled
        settled.update((u.key, u.sig) for u in plan.updates.values() if not u.written and u.key not in busy)
        self._settled = {k: v for k, v in settled.items() if k not in t.blocked}
        self._links = t.links
        self._archive(t, plan, rep)

    def _send_writes(self, t: Tally, plan: WritePlan, writes: list[CellWrite], rep: CycleReport) -> bool:
        """Write-ahead, then the one write. If we die after the sheet write but before the commit that
        follows, the next cycle still knows these values are ours, not a person's. False when deferred."""
        ahead = [(plan.updates[w.row].key, w.field, w.value) for w in writes
                 if w.row in plan.updates and w.field in plan.updates[w.row].tracked]
        ahead += [(u.key, f, v) for u in plan.added for f, v in u.tracked.items()]
        self.state.set_pending([(*k, f, v) for k, f, v in ahead])
        t.pending |= {k for k, _f, _v in ahead}
        try:
            self.backend.write(writes, plan.appends)
        except (SheetBusy, SheetUnavailable) as exc:
            if isinstance(exc, SheetBusy):  # nothing was written; an unavailable sheet may have been
                self.state.clear_pending(list({k for k, _f, _v in ahead}))
            rep.deferred = str(exc)
            log.warning("%s", exc)
            self._save_held(t)
            self._settled = {}
            return False
        return True

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

    def _save_held(self, t: Tally) -> None:
        for (key, fld), since in t.held.items():
            self.state.set_held(*key, fld, since)

    def _archive(self, t: Tally, plan: WritePlan, rep: CycleReport) -> None:
        """Move finished postings older than archive_after_days out of the live sheet (one month per cycle)."""
        due = self.writer.archive_due(t, plan.finished, self.known, t.keep)
        if due is None:
            return
        period, rows = due
        try:
            self.backend.archive_rows([r for r, _ in rows], period)
        except (SheetBusy, SheetUnavailable) as exc:
            rep.deferred = rep.deferred or str(exc)
            return
        for _r, key in rows:
            self.state.set_row(*key, on_sheet=False, archived=True)
            self._settled.pop(key, None)
            self.known.forget(key)
        rep.rows_archived = len(rows)
