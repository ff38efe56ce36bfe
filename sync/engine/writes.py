"""The rows as Ozon and this cycle's answers make them, against what the sheet holds -> a ``WritePlan``.

Only the cells whose value changes are written; each row gets one note. A both-owned cell a person
typed and that is still waiting (``Tally.keep``) is left as typed. Reads what it needs through
``Facts`` (the cycle serves them from the state store; tests from plain dicts) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sync.backends.base import Snapshot
from sync.engine.notes import Notes
from sync.engine.rows import ozon_hash, ozon_values, same_value
from sync.engine.state import CellState, RowState
from sync.engine.types import Brief, ByKey, EngineOptions, Key, Tally
from sync.mapping import Column, ColumnMap, StatusMap
from sync.model import CellWrite, Owner, Posting, SheetRow


class Facts(Protocol):
    """What the write planner reads: the postings that may be on the sheet and what the state store has."""

    @property
    def briefs(self) -> Mapping[Key, Brief]: ...
    @property
    def since(self) -> Mapping[Key, datetime]: ...

    def mine(self, key: Key) -> bool: ...
    def posting(self, key: Key) -> Posting: ...
    def cells(self, key: Key) -> Mapping[str, CellState]: ...
    def row(self, key: Key) -> RowState | None: ...


@dataclass(slots=True)
class RowUpdate:
    """One row's outcome of a cycle: what it is written, and what the state store records once it is."""

    key: Key
    tracked: dict[str, str]  # the both-owned cells and the note as the row holds them after the write
    written: set[str]  # fields written this cycle
    cells: list[tuple[str, str, bool]]  # (field, base, bump) to record
    row: tuple[str, str] | None  # (note, Ozon hash) to record, when the row record changes
    sig: int  # the row's signature, should it be found settled


@dataclass(frozen=True, slots=True)
class RowRecord:
    """A change of a posting's row record made whatever the write does (a note for a row not ours to merge,
    a finished posting's row found deleted)."""

    key: Key
    note: str | None = None
    on_sheet: bool | None = None


@dataclass
class WritePlan:
    cells: list[CellWrite] = field(default_factory=list)
    appends: list[dict[str, str]] = field(default_factory=list)
    updates: dict[int, RowUpdate] = field(default_factory=dict)  # sheet row -> its update
    added: list[RowUpdate] = field(default_factory=list)  # one per append, in order
    records: list[RowRecord] = field(default_factory=list)
    settled: dict[Key, int] = field(default_factory=dict)  # rows that need nothing -> their signatures
    finished: dict[int, Key] = field(default_factory=dict)  # rows of finished postings (the archive's candidates)
    rows_waiting: int = 0  # rows to add that did not fit (append_batch)
    keep: dict[tuple[Key, str], str] = field(default_factory=dict)  # the tally's, with the cells kept laying out
    answered: set[Key] = field(default_factory=set)  # postings answered while laying out


def signature(row: SheetRow, brief: Brief, since: datetime | None) -> int:
    """A row's signature: its cells as read, and the posting as Ozon showed it last."""
    return hash((row.values, brief.fp, since))


def untouched(by_key: ByKey, settled: Mapping[Key, int], facts: Facts) -> set[Key]:
    """Postings whose one row reads exactly as when it was last found settled: no one touched them since."""
    out = set()
    for key, rows in by_key.items():
        hit = settled.get(key)
        if hit is not None and len(rows) == 1 and key in facts.briefs \
                and hit == signature(rows[0], facts.briefs[key], facts.since.get(key)):
            out.add(key)
    return out


def sentences(parts: Sequence[str]) -> str:
    """Join notes into one: a part that ends a sentence is followed by a space, others by "; "."""
    out = ""
    for part in parts:
        if out:
            out += " " if out.endswith((".", "!", "?")) else "; "
        out += part
    return out


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass(frozen=True)
class WritePlanner:
    columns: ColumnMap
    statuses: StatusMap
    notes: Notes
    options: EngineOptions
    accounts: Sequence[str]  # the configured accounts, the default first
    max_cell_chars: int
    both: Sequence[str]  # the both-owned fields the mapping has

    def plan(self, t: Tally, snap: Snapshot, by_key: ByKey, facts: Facts, *, settled: Mapping[Key, int],
             pending: Mapping[tuple[str, str, str], str], moved: Mapping[Key, str]) -> WritePlan:
        """``settled``: last cycle's settled signatures; ``pending``: write-ahead values never recorded;
        ``moved``: postings that came from another sheet -> the one they left."""
        plan = WritePlan(keep=dict(t.keep))
        answers = {k: list(v) for k, v in t.answers.items()}
        busy = t.busy_keys() | {(a, n) for a, n, _f in pending}
        for key, rows in by_key.items():
            if not facts.mine(key):
                self._moved_out(t.now, key, rows, snap, facts, plan)
            elif len(rows) > 1:
                note = self.notes.stamp(t.now, "duplicate", rows=", ".join(str(r.row) for r in rows))
                plan.cells += [CellWrite(r.row, "sync_note", note) for r in rows
                               if r.get("sync_note") != note and "sync_note" not in snap.missing]
            elif key not in facts.briefs or key[0] not in self.accounts:
                self._unknown(t.now, key, rows[0], snap, facts, plan)
            else:
                if facts.briefs[key].finished:
                    plan.finished[rows[0].row] = key
                if key in t.untouched and key not in busy:
                    plan.settled[key] = settled[key]
                else:
                    self._row(t, key, rows[0], snap, facts, pending, answers, busy, plan)
        self._appends(t, by_key, facts, moved, answers, plan)
        return plan

    def _row(self, t: Tally, key: Key, row: SheetRow, snap: Snapshot, facts: Facts,
             pending: Mapping[tuple[str, str, str], str], answers: dict[Key, list[str]], busy: set[Key],
             plan: WritePlan) -> None:
        n, limit = self.notes, self.max_cell_chars
        sig = signature(row, facts.briefs[key], facts.since.get(key))
        desired = self._desired(key, facts)
        cells = facts.cells(key)
        self._unrecorded(t.now, key, row, desired, cells, pending, facts, answers, plan)
        rs = facts.row(key)
        # A note we wrote just before dying (never committed) is still the row's note.
        ours = pending.get((*key, "sync_note"))
        previous = ours if ours is not None and row.get("sync_note") == ours else \
            rs.note if rs else row.get("sync_note")
        fresh = self._note_for(t, key, answers, previous)
        note = fresh or previous
        h = ozon_hash(desired, self.columns)
        if rs and rs.ozon_hash == h and not fresh:
            for c in self._writable(snap):
                shown = row.get(c.field)
                if c.owner is Owner.OZON and shown != desired.get(c.field, "") \
                        and shown != truncate(desired.get(c.field, ""), limit) \
                        and not (c.field == "account" and not shown.strip()):
                    note = n.stamp(t.now, "restored", header=c.header, typed=shown)
                    break
        final, cut = self._final_values(key, desired, note, plan.keep)
        if cut:
            note = final["sync_note"] = note or n.stamp(t.now, "truncated", limit=limit)
        writable = self._writable(snap)
        written = {c.field for c in writable if c.field in final and row.get(c.field) != final[c.field]}
        plan.cells += [CellWrite(row.row, c.field, final[c.field]) for c in writable if c.field in written]
        update = self._row_update(key, final, desired, written, h, rs, sig, cells, plan.keep)
        if written or update.cells or update.row:
            plan.updates[row.row] = update
        elif key not in busy:
            plan.settled[key] = sig

    def _appends(self, t: Tally, by_key: ByKey, facts: Facts, moved: Mapping[Key, str],
                 answers: dict[Key, list[str]], plan: WritePlan) -> None:
        """Postings not on the sheet that belong there: new ones, and open ones whose row was deleted."""
        n = self.notes
        for key, b in facts.briefs.items():
            if key in by_key or key[0] not in self.accounts or b.scheme not in self.options.of_account(key[0]).schemes \
                    or not facts.mine(key):
                continue
            rs = facts.row(key)
            if rs and rs.archived:
                continue
            if key in moved:
                note = n.stamp(t.now, "from_view", view=moved[key]) if moved[key] else n.stamp(t.now, "from_main")
            elif rs and rs.on_sheet:
                if b.finished:
                    plan.records.append(RowRecord(key, on_sheet=False))
                    continue
                note = n.stamp(t.now, "restored_row")
            else:
                if b.finished and self.archivable(t.now, facts.since.get(key)):
                    continue
                note = self._note_for(t, key, answers)
            if len(plan.appends) >= self.options.append_batch:  # one write stays a few MB; the rest follow
                plan.rows_waiting += 1
                continue
            desired = self._desired(key, facts)
            final, cut = self._final_values(key, desired, note, plan.keep)
            if cut:
                final["sync_note"] = note or n.stamp(t.now, "truncated", limit=self.max_cell_chars)
            plan.appends.append({c.field: final.get(c.field, "") for c in self.columns.columns
                                 if c.owner is not Owner.STAFF})
            plan.added.append(self._row_update(key, final, desired, set(final), ozon_hash(desired, self.columns), rs,
                                               0, facts.cells(key), plan.keep))

    def _unknown(self, now: datetime, key: Key, row: SheetRow, snap: Snapshot, facts: Facts, plan: WritePlan) -> None:
        """A row whose posting Ozon does not know, or whose account is not configured: said once, kept."""
        n = self.notes
        note = n.stamp(now, "unknown_posting", key=key[1]) if key[0] in self.accounts else \
            n.stamp(now, "unknown_account", account=key[0], accounts=", ".join(self.accounts))
        prev = facts.row(key)
        text = prev.note if prev and prev.note else note
        if row.get("sync_note") != text and "sync_note" not in snap.missing:
            plan.cells.append(CellWrite(row.row, "sync_note", text))
            plan.records.append(RowRecord(key, note=text))

    def _moved_out(self, now: datetime, key: Key, rows: tuple[SheetRow, ...], snap: Snapshot, facts: Facts,
                   plan: WritePlan) -> None:
        """A row of a posting that now belongs on another sheet (its warehouse, delivery or account changed):
        it is edited there. This row says so (once) and shows Ozon's values, so whatever is typed here is
        neither pushed nor left standing (should the posting come back); a person may delete it."""
        there = facts.briefs[key].owner
        text = self.notes.text("in_view", view=there) if there else self.notes.text("in_main")
        desired = self._desired(key, facts)
        shown = [c.field for c in self.columns.columns if c.owner in (Owner.OZON, Owner.BOTH)
                 and c.field not in snap.missing]
        for r in rows:
            if "sync_note" not in snap.missing and not r.get("sync_note").endswith(text):
                plan.cells.append(CellWrite(r.row, "sync_note", f"{self.notes.clock(now)} {text}"))
            for f in shown:
                value = truncate(desired.get(f, ""), self.max_cell_chars)
                if r.get(f) != value:
                    plan.cells.append(CellWrite(r.row, f, value))

    def _unrecorded(self, now: datetime, key: Key, row: SheetRow, desired: dict[str, str],
                    cells: Mapping[str, CellState], pending: Mapping[tuple[str, str, str], str], facts: Facts,
                    answers: dict[Key, list[str]], plan: WritePlan) -> None:
        """Both-owned cells the state holds no record of (it was rebuilt from nothing, or a person pasted the
        row in) that differ from Ozon: a person may have typed them, so they are never silently turned back.
        Each is kept as it is, with Ozon's value recorded as its base, so the next cycle takes it as an edit:
        pushed if Ozon allows the move, else answered in the row quoting what was typed. Statuses only move
        forward, so a stale value is never a move Ozon could make. A tracking number where Ozon already has
        another is not pushed over it: Ozon's stays, and the note quotes the sheet's so it can be typed again."""
        posting: Posting | None = None
        for fld in self.both:
            sheet = row.get(fld)
            if fld in cells or (*key, fld) in pending or (key, fld) in plan.keep or not sheet.strip():
                continue
            posting = posting or facts.posting(key)
            ozon = desired.get(fld, "")
            if same_value(fld, sheet, ozon, posting, self.statuses):
                continue
            if fld == "tracking_number" and ozon.strip():
                note = self.notes.stamp(now, "unrecorded_track", typed=sheet, current=ozon)
                if note not in answers.setdefault(key, []):
                    answers[key].append(note)
                plan.answered.add(key)
            else:
                plan.keep[(key, fld)] = sheet

    def _note_for(self, t: Tally, key: Key, answers: Mapping[Key, list[str]], previous: str = "") -> str:
        """This cycle's note for a row: the push outcome, then every planning answer (one time stamp).
        Answers the ``previous`` note already gives are not given again, so a note is written once."""
        stamp = self.notes.clock(t.now) + " "
        said = [a.removeprefix(stamp) for a in answers.get(key, [])]
        if key in t.notes:
            return sentences([t.notes[key], *said])
        if not said:
            return ""
        if previous and all(a in previous for a in said):
            return previous
        return stamp + sentences(said)

    def _desired(self, key: Key, facts: Facts) -> dict[str, str]:
        """The row as Ozon's view of the posting makes it."""
        return ozon_values(facts.posting(key), self.statuses, self.options.tz, facts.since.get(key),
                           self.options.customer_data)

    def _writable(self, snap: Snapshot) -> list[Column]:
        return [c for c in self.columns.columns if c.owner in (Owner.OZON, Owner.BOTH, Owner.DAEMON)
                and c.field not in snap.missing]

    def _final_values(self, key: Key, desired: dict[str, str], note: str,
                      keep: Mapping[tuple[Key, str], str]) -> tuple[dict[str, str], bool]:
        """The row's cells, and whether a value had to be cut to the sheet's cell limit."""
        final: dict[str, str] = {}
        cut = False
        for c in self.columns.columns:
            if c.owner is Owner.STAFF:
                continue
            if c.owner is Owner.DAEMON:
                final[c.field] = note
                continue
            value = desired.get(c.field, "")
            if c.owner is Owner.BOTH and (key, c.field) in keep:
                value = keep[(key, c.field)]
            final[c.field] = truncate(value, self.max_cell_chars)
            cut |= final[c.field] != value
        return final, cut

    def _row_update(self, key: Key, final: dict[str, str], desired: dict[str, str], written: set[str], h: str,
                    rs: RowState | None, sig: int, cells: Mapping[str, CellState],
                    keep: Mapping[tuple[Key, str], str]) -> RowUpdate:
        """What to record once the row is written: bases of both-owned cells (a written cell bumps its
        version), the note, and the Ozon fingerprint — only what changed."""
        record: list[tuple[str, str, bool]] = []
        for fld in self.both:
            cs = cells.get(fld)
            if (key, fld) in keep:
                if cs is None:
                    record.append((fld, desired.get(fld, ""), False))
                continue
            value = final.get(fld, "")
            if cs is None or fld in written or cs.base != value or cs.held_since is not None:
                record.append((fld, value, fld in written))
        note = final.get("sync_note", "")
        row = (note, h) if rs is None or rs.note != note or rs.ozon_hash != h or not rs.on_sheet else None
        tracked = {f: final.get(f, "") for f in (*self.both, "sync_note")}
        return RowUpdate(key, tracked, written, record, row, sig)

    def archivable(self, now: datetime, since: datetime | None) -> bool:
        return since is not None and now - since >= timedelta(days=self.options.archive_after_days)

    def archive_due(self, t: Tally, finished: Mapping[int, Key], facts: Facts,
                    keep: Mapping[tuple[Key, str], str]) -> tuple[str, list[tuple[int, Key]]] | None:
        """The oldest month of finished postings past archive_after_days (one month per cycle): its period
        and rows. ``finished``: the rows of finished postings this cycle wrote or left as they were."""
        due: dict[str, list[tuple[int, Key]]] = {}
        kept = {k for k, _f in keep}
        for row, key in finished.items():
            since = facts.since.get(key)
            if facts.briefs[key].finished and self.archivable(t.now, since) and key not in kept and since:
                due.setdefault(since.astimezone(self.options.tz).strftime("%Y-%m"), []).append((row, key))
        if not due:
            return None
        period = min(due)
        return period, due[period]
