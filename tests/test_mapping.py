"""The column and status maps: what a person may type, and what it means."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.errors import ConfigError
from sync.mapping import load_columns, load_statuses
from sync.model import Action, Owner, Posting


@pytest.fixture(scope="module")
def ru():  # type: ignore[no-untyped-def]
    return load_statuses()


def posting(status: str, substatus: str = "", tpl: str = "ozon", actions: tuple[str, ...] = ()) -> Posting:
    return Posting("1-1-1", status, substatus=substatus, tpl_integration_type=tpl, available_actions=frozenset(actions))


def test_default_columns_have_one_key_and_the_contract_headers() -> None:
    cols = load_columns()
    assert cols.key.header == "Отправление"
    headers = [c.header for c in cols.columns]
    for h in ("Отправление", "Статус", "Трек-номер", "Причина отмены", "Синхронизация", "Комментарий"):
        assert h in headers
    assert cols.get("comment").owner is Owner.STAFF  # type: ignore[union-attr]
    assert set(cols.fields(Owner.BOTH)) == {"status", "tracking_number", "cancel_reason"}
    assert "comment" not in cols.read_fields


def test_english_mapping_matches_the_russian_one_field_for_field() -> None:
    ru_cols, en_cols = load_columns(), load_columns(Path(__file__).parents[1] / "mappings" / "orders.en.yaml")
    def shape(cols):  # type: ignore[no-untyped-def]
        return [(c.field, c.owner, c.format) for c in cols.columns]

    assert shape(ru_cols) == shape(en_cols)
    assert en_cols.language == "en"


@pytest.mark.parametrize("typed", ["Ожидает отгрузки", "ожидает  ОТГРУЗКИ ", "awaiting_deliver", "AWAITING_DELIVER",
                                   "packed"])
def test_status_cell_accepts_label_code_and_any_case(ru, typed: str) -> None:  # type: ignore[no-untyped-def]
    lab = ru.parse(typed)
    assert lab is not None and lab.id == "packed"


def test_unknown_status_is_none(ru) -> None:  # type: ignore[no-untyped-def]
    assert ru.parse("Упаковано") is None
    assert ru.parse("") is None


def test_labels_follow_status_and_substatus_pairs(ru) -> None:  # type: ignore[no-untyped-def]
    assert ru.label_for(posting("delivering", "posting_in_courier_service")) == "Курьер в пути"
    assert ru.label_for(posting("delivering", "posting_conditionally_delivered")) == "Доставлено"
    assert ru.label_for(posting("delivering", "posting_on_way_to_city")) == "Доставляется"
    assert ru.label_for(posting("some_new_status")) == "some_new_status"


def test_moves_respect_scheme_and_integration(ru) -> None:  # type: ignore[no-untyped-def]
    delivering = ru.parse("Доставляется")
    assert ru.move_to(delivering, posting("awaiting_deliver", tpl="non_integrated")).action is Action.DELIVERING
    assert ru.move_to(delivering, posting("awaiting_deliver", tpl="3pl_tracking")) is None
    assert ru.move_to(delivering, posting("awaiting_deliver")) is None
    packed = ru.parse("Ожидает отгрузки")
    assert ru.move_to(packed, posting("arbitration")).action is Action.AWAITING_DELIVERY
    assert ru.move_to(packed, posting("awaiting_packaging")).action is Action.SHIP
    move = ru.move_to(ru.parse("Доставлено"), posting("delivering", tpl="non_integrated"))
    assert move.reached("delivering", "posting_conditionally_delivered") and move.reached("delivered", "")
    assert not move.reached("delivering", "posting_in_courier_service")


def test_targets_offered_are_those_ozon_allows(ru) -> None:  # type: ignore[no-untyped-def]
    p = posting("awaiting_packaging", actions=("ship", "cancel"))
    assert ru.targets_from(p) == ["Ожидает отгрузки", "Отменено"]
    assert ru.targets_from(posting("awaiting_packaging")) == []


@pytest.mark.parametrize(
    ("typed", "rid", "message"),
    [("352", 352, ""), (" 352 — Товар закончился", 352, ""), ("товар  закончился", 352, ""), ("352.0", 352, ""),
     ("Другое: нет упаковки", 402, "нет упаковки"), ("402: сломался", 402, "сломался"), ("666 - что угодно", 666, "")],
)
def test_cancel_reason_forms(ru, typed: str, rid: int, message: str) -> None:  # type: ignore[no-untyped-def]
    parsed = ru.parse_reason(typed)
    assert parsed is not None and (parsed.id, parsed.message) == (rid, message)


def test_bad_reason_is_none(ru) -> None:  # type: ignore[no-untyped-def]
    assert ru.parse_reason("потому что") is None
    assert ru.parse_reason("   ") is None


@given(st.text(max_size=30))
def test_parsing_any_text_never_raises(text: str) -> None:
    """Whatever is typed, parsing answers a label (whose own text parses back to it) or None."""
    statuses = load_statuses()
    lab = statuses.parse(text)
    assert lab is None or statuses.parse(lab.label) == lab
    reason = statuses.parse_reason(text)
    assert reason is None or reason.id > 0


def test_mapping_problems_are_all_reported(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("columns:\n  - {field: a, header: A, owner: robot}\n  - {field: b, header: B, format: date}\n"
                   "  - {field: c}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_columns(bad)
    text = str(err.value)
    assert "mapping.columns[0].owner" in text and "mapping.columns[1].format" in text
    assert "mapping.columns[2]" in text and "exactly one column must have owner: key" in text


def test_canonical_text_round_trips_typed_values() -> None:
    cols = load_columns()
    money, qty, when, track = (cols.get(f) for f in ("total_price", "quantity", "shipment_date", "tracking_number"))
    assert money.canonical(money.typed("2000.00")) == "2000.00"  # type: ignore[union-attr]
    assert qty.canonical(qty.typed("3")) == "3"  # type: ignore[union-attr]
    assert when.canonical(when.typed("2026-11-23 12:03")) == "2026-11-23 12:03"  # type: ignore[union-attr]
    assert track.typed("000123") == "000123" and track.canonical("000123") == "000123"  # type: ignore[union-attr]
