"""Staff edits -> what to ask Ozon, or what to answer in the row. Plain values in, plain values out; no I/O.

A both-owned cell (status, tracking number, cancel reason) is an edit when it differs from its base
(the value the daemon last wrote or saw). Each edit becomes one of:

- ``Intent``  a move to ask Ozon for (it goes to the outbox, which is the only place Ozon is written);
- ``Answer``  a refusal or a question, said in the row's note;
- ``Keep``    the cell is left as the person typed it (waiting for Ozon, or for a cancel reason);
- ``Hold``    when a held edit started waiting (``since``), or that it stopped (``None``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sync.engine.itemplan import plan_items
from sync.engine.notes import Notes
from sync.engine.rows import ozon_values, same_value
from sync.engine.state import CellState
from sync.engine.types import Key
from sync.fbs import ItemDefaults
from sync.mapping import StatusMap
from sync.model import Action, Posting, Scheme, SheetRow


@dataclass(frozen=True, slots=True)
class Edit:
    """A both-owned cell a person changed: what they typed over which base."""

    field: str
    typed: str
    base: str
    version: int = 0
    held_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Intent:
    """A move to ask Ozon for, on behalf of one edit."""

    key: Key
    action: Action
    target: str  # a status label id, or the tracking number
    label: str  # the target as the sheet says it
    edit: Edit
    from_status: str
    from_substatus: str
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """The intent for a person (``--dry-run`` prints these)."""
        return f"{self.action.value} {self.key[1]} -> {self.label} (typed «{self.edit.typed}»)"


@dataclass(frozen=True, slots=True)
class Answer:
    key: Key
    note: str


@dataclass(frozen=True, slots=True)
class Keep:
    key: Key
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Hold:
    key: Key
    field: str
    since: datetime | None


Decision = Intent | Answer | Keep | Hold


def edited(cs: CellState | None, pending: str | None, sheet: str) -> str | None:
    """The base to merge a both-owned cell against when the person changed it, else None.

    ``pending`` is a value we sent in a write whose outcome was never recorded: the sheet showing
    it (or the older base) is our own doing, anything else was typed. A cell we never wrote or saw
    (no base, nothing pending) is not an edit."""
    if pending is not None:
        return None if sheet == pending or (cs is not None and sheet == cs.base) else pending
    if cs is None or sheet == cs.base:
        return None
    return cs.base


def edits_of(row: SheetRow, cells: Mapping[str, CellState], pending: Mapping[str, str],
             fields: Sequence[str]) -> list[Edit]:
    """The edits in one row, in ``fields`` order."""
    out = []
    for fld in fields:
        cs, sheet = cells.get(fld), row.get(fld)
        base = edited(cs, pending.get(fld), sheet)
        if base is not None:
            out.append(Edit(fld, sheet, base, cs.version if cs else 0, cs.held_since if cs else None))
    return out


def target_label(statuses: StatusMap, action: Action, target: str) -> str:
    if action is Action.SET_TRACK:
        return target
    return next((lab.label for lab in statuses.labels if lab.id == target), target)


@dataclass(frozen=True)
class EditPlanner:
    statuses: StatusMap
    notes: Notes
    hold_minutes: float = 10.0
    items: Mapping[str, ItemDefaults] = field(default_factory=dict)  # offer id -> item data from the config

    def plan(self, key: Key, row: SheetRow, edits: Sequence[Edit], p: Posting, *, now: datetime,
             since: datetime | None, open_fields: Collection[str] = ()) -> list[Decision]:
        """The decisions for one row's edits (``edits_of``) against the posting as last known. An edit of a
        field with an entry still open in the outbox waits for it; ``since``: when Ozon last moved it."""
        out: list[Decision] = []
        kept: set[str] = set()  # the fields of this row left as the sheet has them so far
        for e in edits:
            made = [Keep(key, e.field, e.typed)] if e.field in open_fields else \
                self._plan_cell(key, row, e, p, now, since, kept)
            kept.update(d.field if isinstance(d, Keep) else d.edit.field for d in made if isinstance(d, Keep | Intent))
            out += made
        return out

    def _plan_cell(self, key: Key, row: SheetRow, e: Edit, p: Posting, now: datetime, since: datetime | None,
                   kept: set[str]) -> list[Decision]:
        fld, sheet, base = e.field, e.typed, e.base
        ozon_now = ozon_values(p, self.statuses, self.notes.tz, None, False)[fld]
        if same_value(fld, sheet, ozon_now, p, self.statuses):
            return []
        n = self.notes
        cur_label = self.statuses.label_for(p)
        if not same_value(fld, base, ozon_now, p, self.statuses) and not (fld == "cancel_reason" and not base):
            # Ozon moved since the base: Ozon wins.
            kind = "ozon_cancelled" if p.status == "cancelled" else "ozon_moved"
            return [Answer(key, n.stamp(now, kind, typed=sheet, current=cur_label, time=n.clock(since or now),
                                        initiator=p.cancellation_initiator or "Ozon"))]
        if fld == "status":
            return self._plan_status(key, row, e, p, now)
        if fld == "tracking_number":
            if p.scheme is Scheme.FBS:
                return [Answer(key, n.stamp(now, "track_fbs", typed=sheet))]
            if not sheet.strip():
                return []  # Ozon cannot unset a tracking number; its value comes back
            if p.allows(Action.SET_TRACK.value) or "status" in kept:
                return [self._intent(key, Action.SET_TRACK, sheet.strip(), e, p)]
            return [Answer(key, n.stamp(now, "track_not_now", typed=sheet, current=cur_label))]
        if fld == "cancel_reason" and "status" not in kept and not p.finished:
            cancelled = next(lab.label for lab in self.statuses.labels if lab.id == "cancelled")
            return [Keep(key, fld, sheet), Answer(key, n.stamp(now, "reason_alone", label=cancelled))]
        return []

    def _plan_status(self, key: Key, row: SheetRow, e: Edit, p: Posting, now: datetime) -> list[Decision]:
        n, sheet = self.notes, e.typed
        cur_label = self.statuses.label_for(p)
        choices = n.choices(self.statuses.targets_from(p))
        lab = self.statuses.parse(sheet)
        if lab is None:
            return [Answer(key, n.stamp(now, "unknown_status", typed=sheet, choices=choices))]
        move = self.statuses.move_to(lab, p)
        if move is None:
            return [Answer(key, n.stamp(now, "no_move", typed=sheet, current=cur_label, choices=choices))]
        if not p.allows(move.action.value):
            return [Answer(key, n.stamp(now, "not_allowed", typed=sheet, current=cur_label, choices=choices))]
        if move.action is Action.SHIP:
            return self._plan_ship(key, row, e, p, now, lab.id)
        if "cancel_reason" not in move.requires:
            return [self._intent(key, move.action, lab.id, e, p)]
        reason_cell = row.get("cancel_reason")
        reasons = ", ".join(f"«{r}»" for r in self.statuses.reason_choices())
        if not reason_cell.strip():
            since = e.held_since or now
            until = since + timedelta(minutes=self.hold_minutes)
            if now < until:
                return [Keep(key, "status", sheet), Hold(key, "status", since),
                        Answer(key, n.stamp(now, "need_reason", until=n.clock(until)[-5:], choices=reasons))]
            return [Answer(key, n.stamp(now, "reason_timeout", typed=sheet)), Hold(key, "status", None)]
        parsed = self.statuses.parse_reason(reason_cell)
        if parsed is None:
            return [Answer(key, n.stamp(now, "bad_reason", typed=sheet, reason=reason_cell, choices=reasons))]
        choice = self.statuses.reason(parsed.id)
        if choice is not None and choice.needs_message and not parsed.message:
            return [Answer(key, n.stamp(now, "reason_no_message", typed=sheet))]
        params = {"reason_id": parsed.id, "message": parsed.message}
        return [Keep(key, "cancel_reason", reason_cell), self._intent(key, move.action, lab.id, e, p, params)]

    def _plan_ship(self, key: Key, row: SheetRow, e: Edit, p: Posting, now: datetime, target: str) -> list[Decision]:
        """Packing carries the item data the posting needs (itemplan); while some is missing the edit is held,
        saying what is missing each cycle, for as long as it takes (codes are scanned one by one)."""
        items = plan_items(p, row.get("marks"), row.get("boxes"), self.items)
        if items.waits:
            return [Keep(key, "status", e.typed), Hold(key, "status", e.held_since or now),
                    Answer(key, self.notes.item_wait(now, [(w.kind, w.values) for w in items.waits], e.typed))]
        remarks: list[Decision] = [Answer(key, self.notes.stamp(now, r.kind, **r.values)) for r in items.remarks]
        return [self._intent(key, Action.SHIP, target, e, p, items.params), *remarks]

    def _intent(self, key: Key, action: Action, target: str, e: Edit, p: Posting,
                params: Mapping[str, object] | None = None) -> Intent:
        return Intent(key, action, target, target_label(self.statuses, action, target), e, p.status, p.substatus,
                      params or {})


def keep_unpushed(key: Key, edits: Sequence[Edit]) -> list[Decision]:
    """Pull without push: every unpushed edit stays in the sheet as the person typed it."""
    return [Keep(key, e.field, e.typed) for e in edits]
