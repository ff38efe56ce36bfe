"""Operator views as a hypothesis state machine: the main sheet and two views (memory sheets), one state
store, the in-process Ozon model. Postings are added and moved between warehouses; people cancel in
live rows and type into rows whose posting moved away; the process restarts. Invariants: after a
cycle each open posting is shown in exactly one sheet as a live row — the one its warehouse says, with
Ozon's values; a call is only made for a posting live where its warehouse says; nothing typed in a row
that moved away is pushed; no duplicate calls, no call on stale state.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sync.backends.base import Layout
from sync.backends.memory import MemoryBackend
from sync.engine.cycle import Engine, EngineOptions, SharedKnown
from sync.engine.state import StateStore
from sync.mapping import PRIVATE_FIELDS, load_columns, load_statuses
from sync.model import Posting
from tests.machines import run_checked
from tests.ozon_model import OzonModel

COLUMNS = load_columns().without(PRIVATE_FIELDS | {"account"})
STATUSES = load_statuses()
WAREHOUSES = {"Склад 1": "", "Склад А": "A", "Склад Б": "B"}  # warehouse -> the sheet it belongs on
MOVED_OUT = ("теперь в таблице", "теперь в основной таблице")


def owner(p: Posting) -> str:
    return WAREHOUSES.get(p.warehouse, "")


class ViewsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.ozon = OzonModel(ship_delay=timedelta(seconds=0))
        self.sheets = {name: MemoryBackend(COLUMNS) for name in ("", "A", "B")}
        for sheet in self.sheets.values():
            sheet.ensure_layout(Layout())
        self.state = StateStore(Path(self.dir.name) / "state.sqlite")
        self.engines = self._engines()
        self.numbers: list[str] = []
        self.frozen: set[str] = set()  # postings a person edited in a row that had moved away; they stay put

    def _engines(self) -> list[Engine]:
        shared = SharedKnown()
        opts = EngineOptions(settle_seconds=60, hold_minutes=1)
        return [Engine(self.ozon, sheet, self.state, COLUMNS, STATUSES, opts, clock=lambda: self.ozon.clock[0],
                       view=name, owner_of=owner, known=shared) for name, sheet in self.sheets.items()]

    def teardown(self) -> None:
        self.state.close()
        self.dir.cleanup()

    @rule(wh=st.sampled_from(list(WAREHOUSES)), tpl=st.sampled_from(["ozon", "non_integrated"]))
    def new_posting(self, wh: str, tpl: str) -> None:
        n = self.ozon.add(tpl=tpl)
        self.ozon.postings[n] = replace(self.ozon.postings[n], warehouse=wh)
        self.numbers.append(n)

    @precondition(lambda self: self.numbers)
    @rule(i=st.integers(0, 50), wh=st.sampled_from(list(WAREHOUSES)))
    def seller_moves_a_posting(self, i: int, wh: str) -> None:
        n = self.numbers[i % len(self.numbers)]
        if n not in self.frozen:
            self.ozon.set_state(n, self.ozon.postings[n].status, self.ozon.postings[n].substatus, warehouse=wh)

    def _rows(self, sheet: str, live: bool) -> list[int]:
        """Rows of ``sheet`` that a person sees as live, or (``live`` False) that say the posting moved away
        (and it still belongs elsewhere). A row the daemon has not yet seen move is live to a person: an
        edit there is pushed, rightly."""
        backend = self.sheets[sheet]
        out = []
        for r in range(2, len(backend.grid) + 2):
            n = backend.cell(r, "posting_number")
            moved = any(m in backend.cell(r, "sync_note") for m in MOVED_OUT)
            if n in self.ozon.postings and (not moved if live else moved and owner(self.ozon.postings[n]) != sheet):
                out.append(r)
        return out

    @rule(sheet=st.sampled_from(["", "A", "B"]), i=st.integers(0, 50), reason=st.sampled_from(["352", ""]))
    def person_cancels_in_the_right_sheet(self, sheet: str, i: int, reason: str) -> None:
        rows = self._rows(sheet, live=True)
        if rows:
            r = rows[i % len(rows)]
            self.sheets[sheet].set_cell(r, "status", "Отменено")
            self.sheets[sheet].set_cell(r, "cancel_reason", reason)

    @rule(sheet=st.sampled_from(["", "A", "B"]), i=st.integers(0, 50))
    def person_ships_in_a_row_that_moved_away(self, sheet: str, i: int) -> None:
        """Typed into a row of a posting now elsewhere: never pushed (it must not move again to test that)."""
        rows = self._rows(sheet, live=False)
        if rows:
            r = rows[i % len(rows)]
            self.sheets[sheet].set_cell(r, "status", "Ожидает отгрузки")
            self.frozen.add(self.sheets[sheet].cell(r, "posting_number"))

    @rule()
    def cycle(self) -> None:
        before = len(self.ozon.log)
        for engine in self.engines:
            engine.run_cycle(pull=engine is self.engines[0])
        self.ozon.clock[0] += timedelta(seconds=30)
        for entry in self.ozon.log[before:]:
            number = str(entry["number"])
            # A call is made only for a posting whose live row is where its warehouse says.
            assert owner(self.ozon.postings[number]) in self._live_sheets(number), (number, entry)

    @rule()
    def restart(self) -> None:
        self.engines = self._engines()

    def _live_sheets(self, number: str) -> set[str]:
        """Sheets holding a row of ``number`` that does not say the posting went elsewhere."""
        out = set()
        for name, sheet in self.sheets.items():
            for r in sheet.find(number):
                if not any(m in sheet.cell(r, "sync_note") for m in MOVED_OUT):
                    out.add(name)
        return out

    @invariant()
    def no_duplicate_or_stale_calls(self) -> None:
        assert self.ozon.duplicates() == [] and self.ozon.stale_calls == []

    @invariant()
    def nothing_pushed_from_a_row_that_moved_away(self) -> None:
        assert not [e for e in self.ozon.log if e["action"] == "ship"]

    def teardown_check(self) -> None:
        for _ in range(2):
            self.cycle()
        for n, p in self.ozon.postings.items():
            if p.finished:
                continue
            assert self._live_sheets(n) == {owner(p)}, (n, p.warehouse, {k: s.find(n) for k, s in self.sheets.items()})
            sheet = self.sheets[owner(p)]
            [r] = sheet.find(n)
            assert sheet.cell(r, "warehouse") == p.warehouse


def test_views_machine() -> None:
    run_checked(ViewsMachine, settings(max_examples=60, stateful_step_count=50, deadline=None))
