"""The engine's guarantees as a hypothesis state machine (memory sheet, in-process Ozon model).

Two seller accounts share the sheet (two Ozon models); either may be down while the other works.

People type valid and invalid edits, sort, delete, duplicate rows; Ozon moves postings on its own;
calls fail; the process crashes between steps. Invariants: no accepted call is a duplicate; every
valid edit reaches Ozon or is answered in its row; staff cells never change; the sheet converges to
Ozon's state once everything settles.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sync.backends.base import Layout
from sync.backends.memory import MemoryBackend
from sync.engine.cycle import Engine, EngineOptions
from sync.engine.rows import ozon_values
from sync.engine.state import StateStore
from sync.mapping import PRIVATE_FIELDS, load_columns, load_statuses
from tests.machines import run_checked
from tests.ozon_model import OzonModel, actions_for

COLUMNS = load_columns().without(PRIVATE_FIELDS)
STATUSES = load_statuses()
TYPED_STATUS = ["Ожидает отгрузки", "Доставляется", "Курьер в пути", "Доставлено", "Отменено", "awaiting_deliver",
                "Упаковано", "", "отменено"]
TPLS = ["ozon", "non_integrated", "3pl_tracking"]
START_STATUSES = ["awaiting_packaging", "awaiting_deliver", "delivering", "arbitration"]
TYPED_REASON = ["", "352", "Товар закончился", "667", "Другое: нет", "ерунда"]


class Crash(BaseException):
    pass


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.ozon = OzonModel(ship_delay=timedelta(seconds=20))
        self.ozon2 = OzonModel(ship_delay=timedelta(seconds=20), clock=self.ozon.clock, account="shop2",
                               first_number=20000000)
        self.models = {"main": self.ozon, "shop2": self.ozon2}
        self.sheet = MemoryBackend(COLUMNS)
        self.sheet.ensure_layout(Layout())
        self.state = StateStore(Path(self.dir.name) / "state.sqlite")
        self.engine = self._engine()
        self.comments: dict[str, str] = {}
        self.numbers: list[str] = []
        # posting -> (typed status, length of Ozon's write log then): the last status change a cycle saw
        self.edits: dict[str, tuple[str, int]] = {}
        self.seen: dict[str, str] = {}  # posting -> its status cell as the last cycle left it

    def _engine(self) -> Engine:
        opts = EngineOptions(settle_seconds=60, hold_minutes=1)
        return Engine(self.models, self.sheet, self.state, COLUMNS, STATUSES, opts, clock=lambda: self.ozon.clock[0])

    def _model(self, number: str) -> OzonModel:
        return self.ozon2 if number in self.ozon2.postings else self.ozon

    def teardown(self) -> None:
        self.state.close()
        self.dir.cleanup()

    # --- Ozon side ------------------------------------------------------------------------------

    @initialize(postings=st.lists(st.tuples(st.sampled_from(TPLS), st.sampled_from(START_STATUSES), st.booleans()),
                                  min_size=1, max_size=4))
    def a_shop_with_orders(self, postings: list[tuple[str, str, bool]]) -> None:
        """Every run starts with postings already on the sheet, so its steps have rows to work on."""
        for tpl, status, second in postings:
            self.new_posting(tpl, status, second)
        self._run()


    @rule(tpl=st.sampled_from(TPLS), status=st.sampled_from(START_STATUSES),
          second=st.booleans())
    def new_posting(self, tpl: str, status: str, second: bool) -> None:
        self.numbers.append((self.ozon2 if second else self.ozon).add(tpl=tpl, status=status))

    @precondition(lambda self: self.numbers)
    @rule(i=st.integers(0, 100), what=st.sampled_from(["cancel", "deliver"]))
    def ozon_moves(self, i: int, what: str) -> None:
        n = self.numbers[i % len(self.numbers)]
        model = self._model(n)
        if model.postings[n].finished:
            return
        if what == "cancel":
            model.buyer_cancel(n)
        else:
            model.set_state(n, "delivered", "posting_delivered")

    @rule(fails=st.integers(0, 2), second=st.booleans())
    def ship_will_fail(self, fails: int, second: bool) -> None:
        (self.ozon2 if second else self.ozon).ship_fails = fails

    @rule(down=st.booleans(), second=st.booleans())
    def ozon_down(self, down: bool, second: bool) -> None:
        (self.ozon2 if second else self.ozon).down = down  # one account down: the other goes on

    # --- people ---------------------------------------------------------------------------------

    def _row_of(self, i: int) -> int | None:
        rows = [r for r in range(2, len(self.sheet.grid) + 2) if self.sheet.cell(r, "posting_number")]
        return rows[i % len(rows)] if rows else None

    @rule(i=st.integers(0, 100), status=st.sampled_from(TYPED_STATUS), reason=st.sampled_from(TYPED_REASON),
          track=st.sampled_from(["", "0012345", None]))
    def person_edits(self, i: int, status: str, reason: str, track: str | None) -> None:
        r = self._row_of(i)
        if r is None:
            return
        self.sheet.set_cell(r, "status", status)
        self.sheet.set_cell(r, "cancel_reason", reason)
        if track is not None:
            self.sheet.set_cell(r, "tracking_number", track)

    @rule(i=st.integers(0, 100), pick=st.integers(0, 10))
    def person_makes_an_allowed_move(self, i: int, pick: int) -> None:
        """The everyday edit: a status Ozon allows from the posting's state, with what it needs."""
        r = self._row_of(i)
        if r is None:
            return
        n = self.sheet.cell(r, "posting_number")
        model = self._model(n)
        if n not in model.postings:
            return
        shown = replace(model.postings[n], available_actions=actions_for(model.postings[n], n in model.shipping_until))
        targets = STATUSES.targets_from(shown)
        if not targets:
            return
        label = targets[pick % len(targets)]
        self.sheet.set_cell(r, "status", label)
        parsed = STATUSES.parse(label)
        if parsed is not None and parsed.id == "cancelled":
            self.sheet.set_cell(r, "cancel_reason", "352")
        elif parsed is not None and parsed.id == "delivering":
            self.sheet.set_cell(r, "tracking_number", f"00{pick}12345")

    @rule(i=st.integers(0, 100), text=st.text(max_size=5))
    def person_comments(self, i: int, text: str) -> None:
        r = self._row_of(i)
        if r is not None:
            self.sheet.set_cell(r, "comment", text)
            self.comments[self.sheet.cell(r, "posting_number")] = text

    @rule(field=st.sampled_from(["posting_number", "status", "comment"]), rev=st.booleans())
    def person_sorts(self, field: str, rev: bool) -> None:
        self.sheet.sort_by(field, rev)

    @rule(i=st.integers(0, 100))
    def person_deletes_a_row(self, i: int) -> None:
        r = self._row_of(i)
        keyed = sum(1 for row in self.sheet.grid if row[0])
        if r is not None and keyed > 1:  # emptying the whole sheet trips the empty-side guard (tested apart)
            self.comments.pop(self.sheet.cell(r, "posting_number"), None)
            self.edits.pop(self.sheet.cell(r, "posting_number"), None)  # the edit went with the row
            self.sheet.delete_row(r)

    @rule(i=st.integers(0, 100))
    def person_copies_a_row(self, i: int) -> None:
        r = self._row_of(i)
        if r is not None:
            self.sheet.duplicate_row(r)

    @rule(i=st.integers(0, 100))
    def person_deletes_a_copy(self, i: int) -> None:
        seen: set[str] = set()
        for r in range(2, len(self.sheet.grid) + 2):
            key = self.sheet.cell(r, "posting_number")
            if key and key in seen:
                self.comments.pop(key, None)
                self.edits.pop(key, None)  # which copy held the edit is not tracked: leave it out
                self.sheet.delete_row(r)
                return
            seen.add(key)

    def _status_cells(self) -> dict[str, str]:
        keys = [self.sheet.cell(r, "posting_number") for r in range(2, len(self.sheet.grid) + 2)]
        return {k: self.sheet.row_dict(self.sheet.find(k)[0])["status"] for k in keys if k and keys.count(k) == 1}

    def _run(self) -> None:
        """One engine run. Status cells that differ from what the last written sheet showed are the
        person's changes; a cell typed back to that value is no change (the engine cannot tell it
        from an untouched one, and need not: nothing is asked of Ozon)."""
        for key, status in self._status_cells().items():
            if key not in self.seen:
                continue
            if status != self.seen[key]:
                self.edits[key] = (status, len(self._model(key).log))
            elif key in self.edits and self.edits[key][0] != status:
                del self.edits[key]  # typed back before any run wrote the sheet
        writes, done = self.sheet.writes, False
        try:
            self.engine.run_cycle()
            done = True
        finally:
            if done or self.sheet.writes > writes:  # a run that died before writing left the sheet as it was
                self.seen = self._status_cells()

    # --- the daemon -----------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([5, 30, 90]))
    def cycle(self, seconds: int) -> None:
        self._run()
        self.ozon.clock[0] += timedelta(seconds=seconds)

    @rule(at=st.sampled_from(["ship", "cancel", "set_delivering", "set_tracking_number"]))
    def crash_during_a_call(self, at: str) -> None:
        real = getattr(self.ozon, at)

        def dies(*args: object, **kw: object) -> None:
            if at == "ship":
                real(*args, **kw)  # the call lands, then the process dies
            raise Crash

        setattr(self.ozon, at, dies)
        try:
            self._run()
        except Crash:
            pass
        finally:
            setattr(self.ozon, at, real)
        self.engine = self._engine()  # restart on the same state file
        self.ozon.clock[0] += timedelta(seconds=30)

    @rule(after=st.booleans())
    def crash_around_the_sheet_write(self, after: bool) -> None:
        """The process dies just before or just after the batch write to the sheet."""
        real = self.sheet.write

        def dies(*args: object, **kw: object) -> None:
            if after:
                real(*args, **kw)  # type: ignore[arg-type]
            raise Crash

        self.sheet.write = dies  # type: ignore[method-assign]
        try:
            self._run()
        except Crash:
            pass
        finally:
            self.sheet.write = real  # type: ignore[method-assign]
        self.engine = self._engine()
        self.ozon.clock[0] += timedelta(seconds=30)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def no_call_on_stale_state(self) -> None:
        assert self.ozon.stale_calls == [] and self.ozon2.stale_calls == []

    @invariant()
    def no_duplicate_calls(self) -> None:
        assert self.ozon.duplicates() == [] and self.ozon2.duplicates() == []

    @invariant()
    def staff_cells_never_change(self) -> None:
        for r in range(2, len(self.sheet.grid) + 2):
            key = self.sheet.cell(r, "posting_number")
            if key in self.comments and self.sheet.find(key) == [r]:
                assert self.sheet.cell(r, "comment") == self.comments[key]

    def settle(self) -> None:
        for model in self.models.values():
            model.down = False
            model.ship_fails = 0
        for _ in range(6):
            self._run()
            self.ozon.clock[0] += timedelta(minutes=3)

    def teardown_check(self) -> None:
        self.settle()
        assert self.state.open_entries() == []
        for n, p in {**self.ozon.postings, **self.ozon2.postings}.items():
            rows = self.sheet.find(n)
            if not rows:
                continue
            if len(rows) > 1:
                continue  # duplicates are noted and left alone
            cell = self.sheet.row_dict(rows[0])
            assert cell["account"] == p.account
            want = ozon_values(self._model(n)._settle(n), STATUSES, EngineOptions().tz, None, False)
            assert cell["status"] == want["status"], (n, cell, p)
            assert cell["tracking_number"] == want["tracking_number"]
        self.every_edit_landed_or_was_answered()

    def every_edit_landed_or_was_answered(self) -> None:
        """A person's last status change reached Ozon (an accepted call since it was typed), or shows
        as Ozon's state now, or its row's note quotes it. Rows with copies are left out."""
        for key, (typed, log_len) in self.edits.items():
            rows = self.sheet.find(key)
            model = self._model(key)
            if not typed.strip() or len(rows) != 1 or key not in model.postings:
                continue
            row = self.sheet.row_dict(rows[0])
            label = STATUSES.parse(typed)
            reached = any(e["number"] == key and e["accepted"] for e in model.log[log_len:])
            shown = label is not None and row["status"] == label.label
            quoted = {f"«{typed}»"} | ({f"«{label.label}»"} if label is not None else set())
            answered = any(q in row["sync_note"] for q in quoted)
            assert reached or shown or answered, (key, typed, row["status"], row["sync_note"])


def test_the_machine() -> None:
    run_checked(SyncMachine, settings(max_examples=50, stateful_step_count=30, deadline=None))


@pytest.mark.slow
def test_the_machine_long() -> None:
    run_checked(SyncMachine, settings(max_examples=400, stateful_step_count=60, deadline=None))
