"""The engine on the in-memory sheet and the in-process Ozon model: merge rules, outbox, notes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sync.backends.base import Layout
from sync.backends.memory import MemoryBackend
from sync.engine.cycle import Engine, EngineOptions
from sync.engine.state import StateStore
from sync.errors import SheetLayoutError
from sync.mapping import PRIVATE_FIELDS, load_columns, load_statuses
from tests.ozon_model import OzonModel

RFBS = "non_integrated"


class World:
    """One sheet, one Ozon, one state file, and an engine between them."""

    def __init__(self, tmp_path: Path, **opts: object):
        self.ozon = OzonModel()
        self.columns = load_columns().without(PRIVATE_FIELDS)
        self.statuses = load_statuses()
        self.sheet = MemoryBackend(self.columns)
        self.sheet.ensure_layout(Layout())
        self.state = StateStore(tmp_path / "state.sqlite")
        self.opts = EngineOptions(settle_seconds=60, **opts)  # type: ignore[arg-type]
        self.engine = self.new_engine()

    def new_engine(self) -> Engine:
        return Engine(self.ozon, self.sheet, self.state, self.columns, self.statuses, self.opts,
                      clock=lambda: self.ozon.clock[0])

    def tick(self, seconds: float = 30) -> None:
        self.ozon.clock[0] += timedelta(seconds=seconds)

    def cycle(self, n: int = 1) -> None:
        for _ in range(n):
            self.engine.run_cycle()
            self.tick()

    def row(self, number: str) -> dict[str, str]:
        rows = self.sheet.find(number)
        assert len(rows) == 1
        return self.sheet.row_dict(rows[0])

    def type(self, number: str, **cells: str) -> None:
        (r,) = self.sheet.find(number)
        for f, v in cells.items():
            self.sheet.set_cell(r, f, v)


@pytest.fixture
def w(tmp_path: Path) -> World:
    return World(tmp_path)


def test_first_pull_lays_out_every_posting(w: World) -> None:
    numbers = [w.ozon.add() for _ in range(3)] + [w.ozon.add(tpl=RFBS, status="awaiting_deliver")]
    w.cycle()
    assert sorted(w.sheet.find(n)[0] for n in numbers) == [2, 3, 4, 5]
    r = w.row(numbers[3])
    assert (r["status"], r["scheme"], r["sync_note"]) == ("Ожидает отгрузки", "rFBS", "")
    assert r["products"] == "2 × Товар 4 (OF-4)"


def test_a_valid_edit_is_pushed_once_and_verified(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.cycle(3)
    assert w.ozon.accepted(n) == ["ship"]
    assert w.row(n)["status"] == "Ожидает отгрузки" and "Готово" in w.row(n)["sync_note"]
    assert not w.ozon.duplicates()


def test_async_ship_shows_waiting_then_done(w: World) -> None:
    w.ozon.ship_delay = timedelta(seconds=45)
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.engine.run_cycle()
    assert "Отправлено, ждём Ozon" in w.row(n)["sync_note"]
    assert w.row(n)["status"] == "Ожидает отгрузки"  # the person's value stays while we wait
    w.tick(60)
    w.cycle()
    assert "Готово" in w.row(n)["sync_note"] and w.ozon.accepted(n) == ["ship"]


def test_a_staff_edit_to_an_ozon_column_is_restored_with_a_note(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, warehouse="Не тот склад")
    w.cycle()
    assert w.row(n)["warehouse"] == "Склад 1"
    assert "«Склад» заполняет Ozon" in w.row(n)["sync_note"]


def test_staff_cells_are_never_written(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, comment="позвонить", status="нечто")
    w.ozon.buyer_cancel(n)
    w.cycle(3)
    assert w.row(n)["comment"] == "позвонить"


def test_dry_run_plans_but_calls_and_writes_nothing(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    rep = w.engine.run_cycle(dry_run=True)
    assert rep.planned and "ship" in rep.planned[0] and n in rep.planned[0]
    assert w.ozon.log == [] and w.row(n)["status"] == "Ожидает отгрузки" and w.row(n)["sync_note"] == ""
    assert w.state.open_entries() == []


def test_pull_alone_keeps_an_unpushed_edit(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.engine.run_cycle(push=False)
    assert w.row(n)["status"] == "Ожидает отгрузки" and w.ozon.log == []
    w.cycle()
    assert w.ozon.accepted(n) == ["ship"]


def test_empty_sheet_stops_the_cycle(w: World) -> None:
    for _ in range(4):
        w.ozon.add()
    w.cycle()
    w.sheet.grid.clear()
    with pytest.raises(SheetLayoutError, match="reads empty"):
        w.engine.run_cycle()
    assert w.sheet.grid == []


def test_missing_key_column_stops_the_cycle(w: World) -> None:
    w.ozon.add()
    w.cycle()
    w.sheet.header[0] = "Номер"
    with pytest.raises(SheetLayoutError, match="Отправление"):
        w.engine.run_cycle()


def test_a_refused_list_is_reported_and_the_push_still_lands(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.ozon.refuse_lists = True
    rep = w.engine.run_cycle()
    assert any("Pulling from Ozon failed" in p and "too long" in p for p in rep.problems), rep.problems
    assert w.ozon.accepted(n) == ["ship"]
    w.ozon.refuse_lists = False
    w.cycle(2)
    assert "Готово" in w.row(n)["sync_note"]


def test_ozon_down_loses_nothing_and_pushes_later(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.ozon.down = True
    rep = w.engine.run_cycle()
    assert rep.problems and w.row(n)["status"] == "Ожидает отгрузки"
    w.ozon.down = False
    w.tick(120)
    w.cycle(2)
    assert w.ozon.accepted(n) == ["ship"] and "Готово" in w.row(n)["sync_note"]


def test_locked_sheet_defers_writes_but_the_edit_lands_once(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.sheet.busy = True
    rep = w.engine.run_cycle()
    assert rep.deferred and w.ozon.accepted(n) == ["ship"]
    w.cycle()
    w.sheet.busy = False
    w.cycle(2)
    assert w.ozon.accepted(n) == ["ship"] and "Готово" in w.row(n)["sync_note"]


def test_refused_edit_answered_once_even_while_writes_are_deferred(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Отменено", cancel_reason="667")
    w.sheet.busy = True
    w.cycle(2)
    assert w.ozon.log and len(w.ozon.log) == 1  # refused once, not retried while the sheet is locked
    w.sheet.busy = False
    w.cycle()
    assert "Ozon отказал" in w.row(n)["sync_note"] and w.row(n)["status"] == "Ожидает сборки"
    assert len(w.ozon.log) == 1
    w.type(n, status="Отменено", cancel_reason="352")  # typed again after the answer: a new edit
    w.cycle(2)
    assert w.ozon.accepted(n) == ["cancel"]


def test_an_entry_queued_while_ozon_is_down_is_sent_next_cycle(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.ozon.down = True
    w.engine.run_cycle()
    w.ozon.down = False
    (entry,) = w.state.open_entries()
    assert entry.state == "queued"  # committed before any call
    w.cycle()
    assert w.ozon.accepted(n) == ["ship"]


class Crash(BaseException):
    """The process dies (nothing in the engine catches a BaseException)."""


def test_a_call_with_no_trace_is_resent_only_after_settle(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    real_ship = w.ozon.ship

    def dies_before_sending(posting: object) -> None:
        raise Crash

    w.ozon.ship = dies_before_sending  # type: ignore[method-assign,assignment]
    with pytest.raises(Crash):
        w.engine.run_cycle()
    w.ozon.ship = real_ship  # type: ignore[method-assign]
    (entry,) = w.state.open_entries()
    assert entry.state == "sending"
    w.engine = w.new_engine()  # restart
    w.tick(10)
    w.engine.run_cycle()
    assert w.ozon.accepted(n) == [] and "ждём Ozon" in w.row(n)["sync_note"]
    w.tick(120)
    w.cycle(2)
    assert w.ozon.accepted(n) == ["ship"] and not w.ozon.duplicates()


def test_rows_sorted_and_blank_rows_inserted_change_nothing(w: World) -> None:
    numbers = [w.ozon.add() for _ in range(4)]
    w.cycle()
    writes = w.sheet.writes
    w.sheet.sort_by("posting_number", reverse=True)
    w.sheet.insert_blank(3)
    w.cycle()
    assert w.sheet.writes == writes  # nothing to write
    w.type(numbers[1], status="Ожидает отгрузки")
    w.cycle(2)
    assert w.ozon.accepted(numbers[1]) == ["ship"]


def test_finished_postings_move_to_the_archive(tmp_path: Path) -> None:
    w = World(tmp_path, archive_after_days=1)
    done, live = w.ozon.add(), w.ozon.add()
    w.cycle()
    w.ozon.buyer_cancel(done)
    w.cycle()
    w.tick(2 * 86400)
    w.cycle(2)
    assert w.sheet.find(done) == [] and w.sheet.find(live)
    assert any(r[0] == done for rows in w.sheet.archive.values() for r in rows)
    w.cycle()
    assert w.sheet.find(done) == []  # archived postings are not laid out again


def test_an_archived_posting_typed_back_into_the_sheet_is_still_known(tmp_path: Path) -> None:
    """A restarted daemon leaves archived postings out of memory; one whose number is typed again is read
    from the state store, filled in and archived again, not called unknown."""
    w = World(tmp_path, archive_after_days=1)
    done = w.ozon.add()
    w.cycle()
    w.ozon.buyer_cancel(done)
    w.cycle()
    w.tick(2 * 86400)
    w.cycle(2)
    assert w.sheet.find(done) == []
    w.engine = w.new_engine()  # restarted
    w.sheet.write([], [{"posting_number": done}])
    w.cycle()
    status, note = w.sheet.header.index("Статус"), w.sheet.header.index("Синхронизация")
    copies = [r for rows in w.sheet.archive.values() for r in rows if r[0] == done]
    assert len(copies) == 2 and copies[1][status] == "Отменено" and "не найдено" not in copies[1][note]


def test_a_backfill_larger_than_one_write_is_laid_out_over_several_cycles(tmp_path: Path) -> None:
    w = World(tmp_path, append_batch=3)
    numbers = [w.ozon.add() for _ in range(7)]
    reports = [w.engine.run_cycle() for _ in range(4)]
    assert [(r.rows_added, r.rows_waiting) for r in reports] == [(3, 4), (3, 1), (1, 0), (0, 0)]
    assert "4 more rows to add next cycle" in reports[0].summary()
    assert all(len(w.sheet.find(n)) == 1 for n in numbers)


def test_the_engine_keeps_only_a_few_postings_in_memory(w: World) -> None:
    """Rows are built from the state store; the engine keeps a bounded number of parsed postings."""
    numbers = [w.ozon.add() for _ in range(12)]
    w.cycle()
    w.engine = w.new_engine()  # a restart: every row is checked against the stored postings
    w.engine.known.kept = 4
    w.type(numbers[5], status="Ожидает отгрузки")
    w.ozon.buyer_cancel(numbers[9])
    w.cycle(2)
    assert 0 < w.engine.known.in_memory() <= 4
    assert w.ozon.accepted(numbers[5]) == ["ship"]
    assert w.row(numbers[9])["status"] == "Отменено"
    assert [w.row(n)["status"] for n in numbers if n not in (numbers[5], numbers[9])] == ["Ожидает сборки"] * 10


def test_a_cancel_ozon_refuses_shows_ozons_status_and_reason_again(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Отменено", cancel_reason="667")
    w.cycle()
    r = w.row(n)
    assert (r["status"], r["cancel_reason"]) == ("Ожидает сборки", "")
    assert "Ozon отказал" in r["sync_note"] and "«Отменено»" in r["sync_note"]
    assert not w.ozon.accepted(n)


class Died(BaseException):
    """The process dies (nothing in the engine catches a BaseException)."""


def die_right_after_the_sheet_write(w: World) -> None:
    """One cycle whose process dies once its sheet write is done, before the state commit; then a restart."""
    real = w.sheet.write

    def write_then_die(*args: object) -> None:
        real(*args)  # type: ignore[arg-type]
        raise Died

    w.sheet.write = write_then_die  # type: ignore[method-assign]
    with pytest.raises(Died):
        w.engine.run_cycle()
    w.sheet.write = real  # type: ignore[method-assign]
    w.engine = w.new_engine()


def test_an_edit_after_a_crash_between_sheet_write_and_commit_is_still_pushed(w: World) -> None:
    n = w.ozon.add()
    die_right_after_the_sheet_write(w)  # the row reached the sheet; the state never heard of it
    w.type(n, status="Ожидает отгрузки")
    w.cycle(2)
    assert w.ozon.accepted(n) == ["ship"] and "Готово" in w.row(n)["sync_note"]


def test_a_note_written_just_before_a_crash_is_not_wiped(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Упаковано")
    die_right_after_the_sheet_write(w)
    w.cycle(2)
    assert "«Упаковано»" in w.row(n)["sync_note"]


def test_two_problems_in_one_row_are_both_answered(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Доставляется", tracking_number="0012")
    w.cycle()
    note = w.row(n)["sync_note"]
    assert "«Доставляется»" in note and "«0012»" in note
    w.cycle()
    assert w.row(n)["sync_note"] == note  # answered once, not rewritten


def test_settled_rows_are_skipped_yet_every_change_is_still_seen(w: World) -> None:
    """An idle daemon skips rows nothing touched since last cycle; a change on either side ends the skip."""
    a, b, c, d = (w.ozon.add() for _ in range(4))
    w.cycle(2)
    assert set(w.engine.settled) == {("main", n) for n in (a, b, c, d)}
    changes = w.state.db.total_changes
    w.cycle()
    assert w.state.db.total_changes - changes <= 3  # the cycle's own record and the pull cursor; no row work
    w.type(a, order_number="typed over")  # a person types in an Ozon column of a settled row
    w.type(b, status="Ожидает отгрузки")  # a person edits a settled row
    w.ozon.buyer_cancel(c)  # Ozon moves a settled row
    w.type(d, comment="staff note")  # a staff column: not read, the row stays settled
    w.cycle(3)
    assert w.row(a)["order_number"] != "typed over" and "typed over" in w.row(a)["sync_note"]
    assert w.ozon.accepted(b) == ["ship"] and w.row(b)["status"] == "Ожидает отгрузки"
    assert w.row(c)["status"] == "Отменено"
    assert w.row(d)["comment"] == "staff note"
    assert ("main", d) in w.engine.settled


def test_ozon_changing_a_settled_row_shows_in_that_same_cycle(w: World) -> None:
    n = w.ozon.add()
    w.cycle(2)
    assert ("main", n) in w.engine.settled
    w.ozon.buyer_cancel(n)
    w.cycle()
    assert w.row(n)["status"] == "Отменено"


def test_a_state_file_changed_by_another_process_is_read_again(w: World) -> None:
    """What the engine keeps in memory between cycles (settled rows, the postings' briefs) is dropped
    when another connection commits to the state file."""
    n = w.ozon.add()
    w.cycle(2)
    assert ("main", n) in w.engine.settled
    other = StateStore(w.state.path)
    other.db.execute("UPDATE rows SET note='written elsewhere' WHERE number=?", (n,))
    other.close()
    w.cycle()
    assert w.row(n)["sync_note"] == "written elsewhere"


def test_the_next_edit_after_our_own_verified_push_is_sent_while_writes_are_deferred(w: World) -> None:
    """Our verified push is the base of the next edit, not «Ozon moved it» (the sheet still shows what was typed)."""
    n = w.ozon.add()
    w.cycle()
    w.sheet.busy = True  # the workbook is open: nothing reaches the sheet
    w.type(n, status="Ожидает отгрузки")
    w.cycle()
    assert w.ozon.accepted(n) == ["ship"]
    w.type(n, status="Отменено", cancel_reason="352")
    w.cycle()
    assert w.ozon.accepted(n) == ["ship", "cancel"]
    w.sheet.busy = False
    w.cycle(2)
    assert w.row(n)["status"] == "Отменено" and "Готово" in w.row(n)["sync_note"]
    assert not w.ozon.duplicates()


def test_the_next_edit_after_a_crash_between_verify_and_sheet_write_is_sent(w: World) -> None:
    n = w.ozon.add()
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    real = w.sheet.write

    def die(*_a: object, **_k: object) -> None:
        raise Died

    w.sheet.write = die  # type: ignore[method-assign]
    with pytest.raises(Died):
        w.engine.run_cycle()  # verified at Ozon, then the process died before the sheet was written
    w.sheet.write = real  # type: ignore[method-assign]
    w.engine = w.new_engine()
    w.tick()
    w.type(n, status="Отменено", cancel_reason="352")
    w.cycle(2)
    assert w.ozon.accepted(n) == ["ship", "cancel"] and not w.ozon.duplicates()


def fresh_state(w: World, tmp_path: Path, name: str = "rebuilt.sqlite") -> None:
    """The state file moved aside: the next engine starts from nothing but the sheet and Ozon."""
    w.state.close()
    w.state = StateStore(tmp_path / name)
    w.engine = w.new_engine()


def test_an_edit_typed_before_the_state_was_moved_aside_is_still_pushed(w: World, tmp_path: Path) -> None:
    n, r = w.ozon.add(), w.ozon.add(tpl=RFBS, status="awaiting_deliver")
    w.cycle()
    w.type(n, status="Ожидает отгрузки")
    w.type(r, tracking_number="RA000111222RU")
    fresh_state(w, tmp_path)
    w.cycle()
    assert w.row(n)["status"] == "Ожидает отгрузки"  # never silently turned back
    w.cycle(2)
    assert w.ozon.accepted(n) == ["ship"] and "Готово" in w.row(n)["sync_note"]
    assert w.ozon.accepted(r) == ["track"] and w.row(r)["tracking_number"] == "RA000111222RU"
    assert not w.ozon.duplicates()


def test_after_a_rebuilt_state_a_value_ozon_cannot_take_is_answered_not_silently_reverted(
        w: World, tmp_path: Path) -> None:
    n, r = w.ozon.add(), w.ozon.add(tpl=RFBS, status="awaiting_deliver")
    w.ozon.set_state(r, "awaiting_deliver", tracking_number="RA999")
    w.cycle()
    w.type(n, status="Доставлено")  # not a move from «Ожидает сборки»
    w.type(r, tracking_number="RA123")  # Ozon has another one: who changed what is not known
    fresh_state(w, tmp_path)
    w.cycle(3)
    assert w.ozon.log == []
    assert w.row(n)["status"] == "Ожидает сборки" and "«Доставлено»" in w.row(n)["sync_note"]
    assert w.row(r)["tracking_number"] == "RA999" and "«RA123»" in w.row(r)["sync_note"]
    w.type(r, tracking_number="RA123")  # typed again: now it is an edit like any other
    w.cycle(2)
    assert w.ozon.accepted(r) == ["track"]
