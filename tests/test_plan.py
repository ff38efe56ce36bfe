"""The edit planner on plain values: no backend, no state file, no Ozon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.engine.notes import Notes
from sync.engine.plan import Answer, Edit, EditPlanner, Hold, Intent, Keep, edited, edits_of, keep_unpushed
from sync.engine.state import CellState
from sync.mapping import load_statuses
from sync.model import Action, Posting, SheetRow

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
KEY = ("main", "1000-0001-1")
PACK = frozenset({"ship", "cancel"})


@pytest.fixture(scope="module")
def planner() -> EditPlanner:
    return EditPlanner(load_statuses(), Notes("ru", ZoneInfo("Europe/Moscow")), hold_minutes=10)


def posting(status: str = "awaiting_packaging", *, actions: frozenset[str] = PACK, tpl: str = "ozon",
            tracking: str = "") -> Posting:
    return Posting(KEY[1], status, tpl_integration_type=tpl, available_actions=actions, tracking_number=tracking)


def row(**cells: str) -> SheetRow:
    return SheetRow(2, {"posting_number": KEY[1], "status": "", "tracking_number": "", "cancel_reason": "", **cells})


def test_a_status_typed_over_its_base_is_an_intent_to_ship(planner: EditPlanner) -> None:
    edit = Edit("status", "ожидает отгрузки", "Ожидает сборки", version=3)
    (d,) = planner.plan(KEY, row(status=edit.typed), [edit], posting(), now=NOW, since=None)
    assert d == Intent(KEY, Action.SHIP, "packed", "Ожидает отгрузки", edit, "awaiting_packaging", "", {})
    assert d.line == f"ship {KEY[1]} -> Ожидает отгрузки (typed «ожидает отгрузки»)"


def test_an_unknown_status_is_answered_with_what_is_allowed(planner: EditPlanner) -> None:
    edit = Edit("status", "упаковано", "Ожидает сборки")
    (d,) = planner.plan(KEY, row(status=edit.typed), [edit], posting(), now=NOW, since=None)
    assert isinstance(d, Answer)
    assert d.note == "02.12 12:00 Не понял статус «упаковано». Можно: «Ожидает отгрузки», «Отменено»."


def test_a_move_ozon_does_not_allow_now_is_answered_not_sent(planner: EditPlanner) -> None:
    edit = Edit("status", "Ожидает отгрузки", "Ожидает сборки")
    (d,) = planner.plan(KEY, row(status=edit.typed), [edit], posting(actions=frozenset({"cancel"})), now=NOW,
                        since=None)
    assert isinstance(d, Answer) and "не разрешает" in d.note and "«Ожидает сборки»" in d.note


def test_ozon_moved_since_the_base_wins_and_says_when(planner: EditPlanner) -> None:
    edit = Edit("status", "Ожидает отгрузки", "Ожидает сборки")
    moved_at = NOW - timedelta(minutes=30)
    p = posting("cancelled", actions=frozenset())
    (d,) = planner.plan(KEY, row(status=edit.typed), [edit], p, now=NOW, since=moved_at)
    assert d == Answer(KEY, "02.12 12:00 Не выполнено «Ожидает отгрузки»: Ozon отменил отправление (Ozon, 02.12 11:30)")


def test_a_cancel_without_a_reason_is_held_then_refused_when_the_hold_ends(planner: EditPlanner) -> None:
    first = Edit("status", "Отменено", "Ожидает сборки")
    decisions = planner.plan(KEY, row(status="Отменено"), [first], posting(), now=NOW, since=None)
    assert decisions[:2] == [Keep(KEY, "status", "Отменено"), Hold(KEY, "status", NOW)]
    assert isinstance(decisions[2], Answer) and "ждём до 12:10" in decisions[2].note
    later = Edit("status", "Отменено", "Ожидает сборки", held_since=NOW)
    decisions = planner.plan(KEY, row(status="Отменено"), [later], posting(), now=NOW + timedelta(minutes=10),
                             since=None)
    assert decisions == [Answer(KEY, "02.12 12:10 Не выполнено «Отменено»: так и не указана причина отмены"),
                         Hold(KEY, "status", None)]


def test_a_cancel_with_a_reason_keeps_the_reason_and_sends_its_id(planner: EditPlanner) -> None:
    edits = [Edit("status", "Отменено", "Ожидает сборки"), Edit("cancel_reason", "352", "")]
    decisions = planner.plan(KEY, row(status="Отменено", cancel_reason="352"), edits, posting(), now=NOW, since=None)
    assert decisions[0] == Keep(KEY, "cancel_reason", "352")
    intent = decisions[1]
    assert isinstance(intent, Intent) and intent.action is Action.CANCEL and intent.target == "cancelled"
    assert dict(intent.params) == {"reason_id": 352, "message": ""}
    assert len(decisions) == 2  # the reason cell is part of the cancel, not an edit of its own


def test_a_reason_typed_alone_is_kept_and_explained(planner: EditPlanner) -> None:
    edit = Edit("cancel_reason", "352", "")
    assert planner.plan(KEY, row(cancel_reason="352"), [edit], posting(), now=NOW, since=None) == [
        Keep(KEY, "cancel_reason", "352"),
        Answer(KEY, "02.12 12:00 Причина отмены записана; чтобы отменить, поставьте статус «Отменено»"),
    ]


def test_tracking_numbers_fbs_refused_rfbs_sent_with_the_move_that_allows_them(planner: EditPlanner) -> None:
    track = Edit("tracking_number", "TRK1", "")
    (fbs,) = planner.plan(KEY, row(tracking_number="TRK1"), [track], posting(), now=NOW, since=None)
    assert isinstance(fbs, Answer) and "назначает Ozon" in fbs.note
    rfbs = posting("awaiting_packaging", tpl="non_integrated", actions=PACK)
    (alone,) = planner.plan(KEY, row(tracking_number="TRK1"), [track], rfbs, now=NOW, since=None)
    assert isinstance(alone, Answer) and "не принимает" in alone.note
    ship = Edit("status", "Ожидает отгрузки", "Ожидает сборки")
    both = planner.plan(KEY, row(status=ship.typed, tracking_number="TRK1"), [ship, track], rfbs, now=NOW,
                        since=None)
    assert [(d.action, d.target) for d in both if isinstance(d, Intent)] == [(Action.SHIP, "packed"),
                                                                             (Action.SET_TRACK, "TRK1")]


def test_an_edit_of_a_field_still_in_the_outbox_waits(planner: EditPlanner) -> None:
    edit = Edit("status", "Отменено", "Ожидает отгрузки")
    assert planner.plan(KEY, row(status="Отменено"), [edit], posting(), now=NOW, since=None,
                        open_fields={"status"}) == [Keep(KEY, "status", "Отменено")]


def test_edits_are_cells_that_differ_from_their_base_or_from_an_unrecorded_write() -> None:
    cs = CellState("Ожидает сборки", 2, None)
    assert edited(cs, None, "Ожидает сборки") is None
    assert edited(cs, None, "Отменено") == "Ожидает сборки"
    assert edited(None, None, "anything") is None  # never written or seen: not an edit
    assert edited(cs, "Ожидает отгрузки", "Ожидает отгрузки") is None  # our own write, never recorded
    assert edited(cs, "Ожидает отгрузки", "Ожидает сборки") is None  # the write never landed
    assert edited(cs, "Ожидает отгрузки", "Отменено") == "Ожидает отгрузки"  # typed over our write
    r = row(status="Отменено", tracking_number="T")
    cells = {"status": cs, "tracking_number": CellState("T", 1, None)}
    assert edits_of(r, cells, {}, ["status", "tracking_number", "cancel_reason"]) == [
        Edit("status", "Отменено", "Ожидает сборки", 2, None)]
    assert keep_unpushed(KEY, edits_of(r, cells, {}, ["status"])) == [Keep(KEY, "status", "Отменено")]
