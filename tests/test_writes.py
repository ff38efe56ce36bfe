"""The write planner on plain values: the rows Ozon and this cycle's answers make, against what the sheet holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.backends.base import Snapshot
from sync.engine.notes import Notes
from sync.engine.rows import ozon_hash, ozon_values
from sync.engine.state import CellState, RowState
from sync.engine.types import Brief, ByKey, EngineOptions, Key, Tally
from sync.engine.writes import WritePlanner, sentences, signature, untouched
from sync.mapping import load_columns, load_statuses
from sync.model import CellWrite, Posting, Product, SheetRow

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Moscow")
COLUMNS = load_columns()
STATUSES = load_statuses()
BOTH = ("status", "tracking_number", "cancel_reason")


@dataclass
class Facts:
    """What the state store would say, as dicts."""

    postings: dict[Key, Posting] = field(default_factory=dict)
    since: dict[Key, datetime] = field(default_factory=dict)
    cell_states: dict[Key, dict[str, CellState]] = field(default_factory=dict)
    rows: dict[Key, RowState] = field(default_factory=dict)
    owners: dict[Key, str] = field(default_factory=dict)

    @property
    def briefs(self) -> Mapping[Key, Brief]:
        return {k: Brief(hash(p), p.scheme, p.finished, self.owners.get(k, "")) for k, p in self.postings.items()}

    def mine(self, key: Key) -> bool:
        return self.owners.get(key, "") == ""

    def posting(self, key: Key) -> Posting:
        return self.postings[key]

    def cells(self, key: Key) -> Mapping[str, CellState]:
        return self.cell_states.get(key, {})

    def row(self, key: Key) -> RowState | None:
        return self.rows.get(key)

    def add(self, number: str, status: str = "awaiting_packaging", *, since: datetime = NOW,
            name: str = "Футболка") -> Key:
        key = ("main", number)
        self.postings[key] = Posting(number, status, order_number=number[:-2], warehouse="Склад 1",
                                     products=(Product(1, "OF-1", name, 1),))
        self.since[key] = since
        return key

    def values(self, key: Key) -> dict[str, str]:
        return ozon_values(self.postings[key], STATUSES, TZ, self.since.get(key), False)

    def recorded(self, key: Key, **typed: str) -> SheetRow:
        """The key's row as the daemon last wrote it, with the state's record of it; ``typed``: cells a
        person changed since."""
        values = self.values(key)
        self.cell_states[key] = {f: CellState(values[f], 1, None) for f in BOTH}
        self.rows[key] = RowState("", ozon_hash(values, COLUMNS), True, False)
        cells = {c.field: values.get(c.field, "") for c in COLUMNS.columns if c.owner != "staff"}
        return SheetRow(1 + len(self.rows), {**cells, **typed})


def planner(limit: int = 50_000, **options: object) -> WritePlanner:
    return WritePlanner(COLUMNS, STATUSES, Notes("ru", TZ), EngineOptions(tz=TZ, **options),  # type: ignore[arg-type]
                        ("main",), limit, BOTH)


def plan_of(facts: Facts, rows: list[SheetRow], t: Tally | None = None, *, limit: int = 50_000,
            settled: Mapping[Key, int] | None = None, **options: object):  # type: ignore[no-untyped-def]
    by_key: ByKey = {}
    for r in rows:
        by_key.setdefault(("main", r.get("posting_number")), ())
        by_key[("main", r.get("posting_number"))] += (r,)
    return planner(limit, **options).plan(t or Tally(now=NOW), Snapshot(rows), by_key, facts,
                                          settled=settled or {}, pending={}, moved={})


def test_a_posting_not_on_the_sheet_is_added_with_ozon_values_and_recorded_once_written() -> None:
    facts = Facts()
    key = facts.add("1000-0001-1")
    plan = plan_of(facts, [])
    (added,) = plan.appends
    assert (added["posting_number"], added["status"], added["products"], added["sync_note"]) == \
        ("1000-0001-1", "Ожидает сборки", "1 × Футболка (OF-1)", "")
    assert "comment" not in added  # a staff column is never written
    (update,) = plan.added
    assert update.key == key and update.row == ("", ozon_hash(facts.values(key), COLUMNS))
    assert ("status", "Ожидает сборки", True) in update.cells


def test_a_row_that_reads_as_recorded_needs_nothing_and_is_settled() -> None:
    facts = Facts()
    key = facts.add("1000-0001-1")
    row = facts.recorded(key)
    plan = plan_of(facts, [row])
    assert (plan.cells, plan.appends, plan.updates) == ([], [], {})
    assert plan.settled == {key: signature(row, facts.briefs[key], NOW)}
    assert untouched({key: (row,)}, plan.settled, facts) == {key}


def test_only_cells_whose_value_changes_are_written_and_an_edit_in_flight_stays_as_typed() -> None:
    facts = Facts()
    key = facts.add("1000-0001-1")
    typed = facts.recorded(key, status="Отменено")
    facts.postings[key] = Posting("1000-0001-1", "awaiting_packaging", order_number="1000-0001",
                                  warehouse="Склад 2", products=facts.postings[key].products)
    t = Tally(now=NOW, keep={(key, "status"): "Отменено"}, notes={key: "02.12 12:00 Отправлено, ждём Ozon"})
    plan = plan_of(facts, [typed], t)
    assert sorted((w.field, w.value) for w in plan.cells) == [
        ("sync_note", "02.12 12:00 Отправлено, ждём Ozon"), ("warehouse", "Склад 2")]
    assert plan.settled == {}


def test_a_person_typing_in_an_ozon_column_gets_ozon_value_back_with_a_note() -> None:
    facts = Facts()
    key = facts.add("1000-0001-1")
    typed = facts.recorded(key, warehouse="мой склад")
    plan = plan_of(facts, [typed])
    assert CellWrite(typed.row, "warehouse", "Склад 1") in plan.cells
    assert CellWrite(typed.row, "sync_note", "02.12 12:00 Столбец «Склад» заполняет Ozon — вернули значение Ozon "
                                           "(было «мой склад»)") in plan.cells


def test_duplicate_rows_are_both_told_and_nothing_else_is_written() -> None:
    facts = Facts()
    key = facts.add("1000-0001-1")
    a, b = facts.recorded(key), facts.recorded(key)
    plan = plan_of(facts, [a, b])
    note = (f"02.12 12:00 Отправление встречается в строках {a.row}, {b.row} — удалите лишние копии; "
            f"пока ничего не отправляем")
    assert plan.cells == [CellWrite(a.row, "sync_note", note), CellWrite(b.row, "sync_note", note)]


def test_a_number_ozon_does_not_know_is_noted_and_its_note_recorded() -> None:
    row = SheetRow(2, {"posting_number": "9999-0001-1", "status": "", "sync_note": ""})
    plan = plan_of(Facts(), [row])
    assert plan.cells == [CellWrite(2, "sync_note", "02.12 12:00 Отправление «9999-0001-1» не найдено в Ozon — "
                                                    "проверьте номер")]
    assert [(r.key, r.note) for r in plan.records] == [(("main", "9999-0001-1"), plan.cells[0].value)]


def test_text_longer_than_a_cell_holds_is_cut_and_the_row_says_so() -> None:
    facts = Facts()
    facts.add("1000-0001-1", name="x" * 100)
    plan = plan_of(facts, [], limit=40)
    (added,) = plan.appends
    assert len(added["products"]) == 40 and added["products"].endswith("…")
    assert added["sync_note"] == "02.12 12:00 Текст от Ozon обрезан до 40 символов (ограничение таблицы)"


def test_a_both_cell_the_state_has_no_record_of_is_kept_not_turned_back() -> None:
    facts = Facts()
    key = facts.add("1000-0001-1")
    typed = facts.recorded(key, status="Отменено")
    del facts.cell_states[key]  # the state was rebuilt from nothing
    plan = plan_of(facts, [typed])
    assert plan.keep == {(key, "status"): "Отменено"}
    assert all(w.field != "status" for w in plan.cells)
    (update,) = plan.updates.values()
    assert ("status", "Ожидает сборки", False) in update.cells  # Ozon's value is its base: next cycle, an edit


def test_the_oldest_month_of_finished_postings_is_due_for_the_archive_but_not_a_row_in_flight() -> None:
    facts = Facts()
    old = facts.add("1000-0001-1", "delivered", since=NOW - timedelta(days=60))
    older = facts.add("1000-0002-1", "cancelled", since=NOW - timedelta(days=90))
    recent = facts.add("1000-0003-1", "delivered", since=NOW - timedelta(days=3))
    rows = [facts.recorded(k) for k in (old, older, recent)]
    plan = plan_of(facts, rows, archive_after_days=14)
    assert sorted(plan.finished.values()) == [old, older, recent]
    wp = planner(archive_after_days=14)
    assert wp.archive_due(Tally(now=NOW), plan.finished, facts, {}) == ("2026-09", [(rows[1].row, older)])
    assert wp.archive_due(Tally(now=NOW), plan.finished, facts, {(older, "status"): "x"})[0] == "2026-10"


@pytest.mark.parametrize(("parts", "joined"), [
    (["Готово.", "Причина записана"], "Готово. Причина записана"),
    (["Отправлено", "ждём"], "Отправлено; ждём"),
    ([], ""),
])
def test_notes_are_joined_as_sentences(parts: list[str], joined: str) -> None:
    assert sentences(parts) == joined
