"""The rows as Ozon and this cycle's answers make them, against what the sheet holds -> a ``WritePlan``.

Only the cells whose value changes are written; each row gets one note. A both-owned cell a person
typed and that is still waiting (``Tally.keep``) is left as typed. Reads what it needs through
``Facts`` (the cycle serves them from the state store; tests from plain dicts) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Protocol

from sync.backends.base import Snapshot
from sync.engine.notes import Notes
from sync.engine.rows import ozon_hash, ozon_values, same_value
from sync.engine.state import CellState, RowState
from sync.engine.types import Brief, ByKey, EngineOptions, Key, Tally
from sync.mapping import Column, ColumnMap, StatusMap
from sync.model import CellWrite, Owner, Posting, Scheme, SheetRow


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
        p = _Pass(t, snap, facts, pending, WritePlan(keep=dict(t.keep)),
                  answers={k: list(v) for k, v in t.answers.items()},
                  busy=t.busy_keys() | {(a, n) for a, n, _f in pending},
                  writable=[c for c in self.columns.columns if c.owner in (Owner.OZON, Owner.BOTH, Owner.DAEMON)
                            and c.field not in snap.missing])
        for key, rows in by_key.items():
            if not facts.mine(key):
                self._moved_out(p, key, rows)
            elif len(rows) > 1:
                note = self.notes.stamp(t.now, "duplicate", rows=", ".join(str(r.row) for r in rows))
                p.plan.cells += [CellWrite(r.row, "sync_note", note) for r in rows
                                 if r.get("sync_note") != note and "sync_note" not in snap.missing]
            elif key not in facts.briefs or key[0] not in self.accounts:
                self._unknown(p, key, rows[0])
            else:
                if facts.briefs[key].finished:
                    p.plan.finished[rows[0].row] = key
                if key in t.untouched and key not in p.busy:
                    p.plan.settled[key] = settled[key]
                else:
                    self._row(p, key, rows[0])
        self._appends(p, by_key, moved)
        return p.plan

    def _row(self, p: _Pass, key: Key, row: SheetRow) -> None:
        n, limit, now = self.notes, self.max_cell_chars, p.t.now
        sig = signature(row, p.facts.briefs[key], p.facts.since.get(key))
        desired = self._desired(p, key)
        cells = p.facts.cells(key)
        self._unrecorded(p, key, row, desired, cells)
        rs = p.facts.row(key)
        # A note we wrote just before dying (never committed) is still the row's note.
        ours = p.pending.get((*key, "sync_note"))
        previous = ours if ours is not None and row.get("sync_note") == ours else \
            rs.note if rs else row.get("sync_note")
        fresh = self._note_for(p, key, previous)
        note = fresh or previous
        h = ozon_hash(desired, self.columns)
        if rs and rs.ozon_hash == h and not fresh:
            ozon = Owner.OZON
            for c in p.writable:
                shown = row.get(c.field)
                if c.owner is ozon and shown != desired.get(c.field, "") \
                        and shown != truncate(desired.get(c.field, ""), limit) \
                        and not (c.field == "account" and not shown.strip()):
                    note = n.stamp(now, "restored", header=c.header, typed=shown)
                    break
        final, cut = self._final_values(key, desired, note, p.plan.keep)
        if cut:
            note = final["sync_note"] = note or n.stamp(now, "truncated", limit=limit)
        written = {c.field for c in p.writable if c.field in final and row.get(c.field) != final[c.field]}
        p.plan.cells += [CellWrite(row.row, c.field, final[c.field]) for c in p.writable if c.field in written]
        update = self._row_update(key, final, desired, written, h, rs, sig, cells, p.plan.keep)
        if written or update.cells or update.row:
            p.plan.updates[row.row] = update
        elif key not in p.busy:
            p.plan.settled[key] = sig

    def _appends(self, p: _Pass, by_key: ByKey, moved: Mapping[Key, str]) -> None:
        """Postings not on the sheet that belong there: new ones, and open ones whose row was deleted."""
        n, now, facts, plan = self.notes, p.t.now, p.facts, p.plan
        for key, b in facts.briefs.items():
            schemes = self._schemes.get(key[0])
            if key in by_key or schemes is None or b.scheme not in schemes or not facts.mine(key):
                continue
            rs = facts.row(key)
            if rs and rs.archived:
                continue
            if key in moved:
                note = n.stamp(now, "from_view", view=moved[key]) if moved[key] else n.stamp(now, "from_main")
            elif rs and rs.on_sheet:
                if b.finished:
                    plan.records.append(RowRecord(key, on_sheet=False))
                    continue
                note = n.stamp(now, "restored_row")
            else:
                if b.finished and self.archivable(now, facts.since.get(key)):
                    continue
                note = self._note_for(p, key)
            if len(plan.appends) >= self.options.append_batch:  # one write stays a few MB; the rest follow
                plan.rows_waiting += 1
                continue
            desired = self._desired(p, key)
            final, cut = self._final_values(key, desired, note, plan.keep)
            if cut:
                final["sync_note"] = note or n.stamp(now, "truncated", limit=self.max_cell_chars)
            plan.appends.append({fld: final.get(fld, "") for fld, _owner in self._not_staff})
            plan.added.append(self._row_update(key, final, desired, set(final), ozon_hash(desired, self.columns), rs,
                                               0, facts.cells(key), plan.keep))

    def _unknown(self, p: _Pass, key: Key, row: SheetRow) -> None:
        """A row whose posting Ozon does not know, or whose account is not configured: said once, kept."""
        n, now = self.notes, p.t.now
        note = n.stamp(now, "unknown_posting", key=key[1]) if key[0] in self.accounts else \
            n.stamp(now, "unknown_account", account=key[0], accounts=", ".join(self.accounts))
        prev = p.facts.row(key)
        text = prev.note if prev and prev.note else note
        if row.get("sync_note") != text and "sync_note" not in p.snap.missing:
            p.plan.cells.append(CellWrite(row.row, "sync_note", text))
            p.plan.records.append(RowRecord(key, note=text))

    def _moved_out(self, p: _Pass, key: Key, rows: tuple[SheetRow, ...]) -> None:
        """A row of a posting that now belongs on another sheet (its warehouse, delivery or account changed):
        it is edited there. This row says so (once) and shows Ozon's values, so whatever is typed here is
        neither pushed nor left standing (should the posting come back); a person may delete it."""
        there = p.facts.briefs[key].owner
        text = self.notes.text("in_view", view=there) if there else self.notes.text("in_main")
        desired = self._desired(p, key)
        shown = [c.field for c in p.writable if c.owner in (Owner.OZON, Owner.BOTH)]
        for r in rows:
            if "sync_note" not in p.snap.missing and not r.get("sync_note").endswith(text):
                p.plan.cells.append(CellWrite(r.row, "sync_note", f"{self.notes.clock(p.t.now)} {text}"))
            for f in shown:
                value = truncate(desired.get(f, ""), self.max_cell_chars)
                if r.get(f) != value:
                    p.plan.cells.append(CellWrite(r.row, f, value))

    def _unrecorded(self, p: _Pass, key: Key, row: SheetRow, desired: dict[str, str],
                    cells: Mapping[str, CellState]) -> None:
        """Both-owned cells the state holds no record of (it was rebuilt from nothing, or a person pasted the
        row in) that differ from Ozon: a person may have typed them, so they are never silently turned back.
        Each is kept as it is, with Ozon's value recorded as its base, so the next cycle takes it as an edit:
        pushed if Ozon allows the move, else answered in the row quoting what was typed. Statuses only move
        forward, so a stale value is never a move Ozon could make. A tracking number where Ozon already has
        another is not pushed over it: Ozon's stays, and the note quotes the sheet's so it can be typed again."""
        posting: Posting | None = None
        for fld in self.both:
            sheet = row.get(fld)
            if fld in cells or (*key, fld) in p.pending or (key, fld) in p.plan.keep or not sheet.strip():
                continue
            posting = posting or p.facts.posting(key)
            ozon = desired.get(fld, "")
            if same_value(fld, sheet, ozon, posting, self.statuses):
                continue
            if fld == "tracking_number" and ozon.strip():
                note = self.notes.stamp(p.t.now, "unrecorded_track", typed=sheet, current=ozon)
                if note not in p.answers.setdefault(key, []):
                    p.answers[key].append(note)
                p.plan.answered.add(key)
            else:
                p.plan.keep[(key, fld)] = sheet

    def _note_for(self, p: _Pass, key: Key, previous: str = "") -> str:
        """This cycle's note for a row: the push outcome, then every planning answer (one time stamp).
        Answers the ``previous`` note already gives are not given again, so a note is written once."""
        stamp = self.notes.clock(p.t.now) + " "
        said = [a.removeprefix(stamp) for a in p.answers.get(key, [])]
        if key in p.t.notes:
            return sentences([p.t.notes[key], *said])
        if not said:
            return ""
        if previous and all(a in previous for a in said):
            return previous
        return stamp + sentences(said)

    def _desired(self, p: _Pass, key: Key) -> dict[str, str]:
        """The row as Ozon's view of the posting makes it, with the link to its label once saved."""
        values = ozon_values(p.facts.posting(key), self.statuses, self.options.tz, p.facts.since.get(key),
                             self.options.customer_data)
        link = p.t.links.get(key)
        if link:
            values["label"] = link
        return values

    def _final_values(self, key: Key, desired: dict[str, str], note: str,
                      keep: Mapping[tuple[Key, str], str]) -> tuple[dict[str, str], bool]:
        """The row's cells, and whether a value had to be cut to the sheet's cell limit."""
        final: dict[str, str] = {}
        cut, limit, daemon, both = False, self.max_cell_chars, Owner.DAEMON, Owner.BOTH
        for fld, owner in self._not_staff:
            if owner is daemon:
                final[fld] = note
                continue
            value = desired.get(fld, "")
            if owner is both and (key, fld) in keep:
                value = keep[(key, fld)]
            if len(value) > limit:
                final[fld], cut = truncate(value, limit), True
            else:
                final[fld] = value
        return final, cut

    @cached_property
    def _schemes(self) -> dict[str, frozenset[Scheme]]:
        """The schemes each configured account shows on this sheet."""
        return {acc: self.options.of_account(acc).schemes for acc in self.accounts}

    @cached_property
    def _not_staff(self) -> tuple[tuple[str, Owner], ...]:
        """(field, owner) of every column the daemon gives a value, in the mapping's order."""
        return tuple((c.field, c.owner) for c in self.columns.columns if c.owner is not Owner.STAFF)

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


@dataclass
class _Pass:
    """One ``WritePlanner.plan``: what it was given, and the plan it builds."""

    t: Tally
    snap: Snapshot
    facts: Facts
    pending: Mapping[tuple[str, str, str], str]
    plan: WritePlan
    answers: dict[Key, list[str]]  # the tally's, with the answers given laying rows out
    busy: set[Key]
    writable: list[Column]  # the columns the daemon writes that the sheet has
