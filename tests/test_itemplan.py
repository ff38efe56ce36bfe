"""What a packing edit carries or waits for (sync/engine/itemplan.py), and how the notes say it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from sync.engine.itemplan import Wait, plan_items, short
from sync.engine.marks import GS
from sync.engine.notes import Notes
from sync.fbs import ItemDefaults
from sync.model import Posting, Product

RU, EN = Notes("ru", ZoneInfo("UTC")), Notes("en", ZoneInfo("UTC"))


def code(gtin: int, serial: int) -> str:
    return f"01{gtin:014d}21S{serial:012d}{GS}91EE07{GS}92" + "A" * 44


def posting(*products: tuple[int, str, int, tuple[str, ...]]) -> Posting:
    return Posting(posting_number="1-1-1", status="awaiting_packaging",
                   products=tuple(Product(sku, offer, f"Товар {offer}", qty) for sku, offer, qty, _ in products),
                   needs=frozenset((kind, sku) for sku, _o, _q, kinds in products for kind in kinds))


def texts(notes: Notes, waits: tuple[Wait, ...]) -> list[str]:
    return [notes.part(w.kind, w.values) for w in waits]


def test_russian_counts_read_as_russian() -> None:
    p = posting((11, "TSH-M", 21, ("mandatory_mark",)))
    for typed, words in ((0, "нужно 21 код маркировки для «Товар TSH-M» (TSH-M), не введено ни одного"),
                         (1, "введён 1"), (2, "введено 2"), (11, "введено 11")):
        cell = "\n".join(code(7, i) for i in range(typed))
        assert words in texts(RU, plan_items(p, cell, "", {}).waits)[0]
    p3 = posting((11, "TSH-M", 3, ("mandatory_mark",)))
    assert texts(RU, plan_items(p3, "", "", {}).waits) == [
        "нужно 3 кода маркировки для «Товар TSH-M» (TSH-M), не введено ни одного"]
    assert texts(EN, plan_items(p3, code(7, 1), "", {}).waits) == [
        "needs 3 marking codes for «Товар TSH-M» (TSH-M), 1 given"]


def test_complete_codes_ride_with_the_ship_by_product_and_mark_type() -> None:
    p = posting((11, "SHO-42", 2, ("mandatory_mark",)), (12, "PHN-1", 1, ("imei",)), (13, "MUG", 1, ()))
    cell = f"SHO-42: {code(7, 1)} {code(7, 2)}\nPHN-1: 356938035643809"
    got = plan_items(p, cell, "", {})
    assert got.waits == () and got.remarks == ()
    assert got.params == {"marks": {"11": [code(7, 1), code(7, 2)], "12": ["356938035643809"]},
                          "mark_types": {"11": "mandatory_mark", "12": "imei"}}


def test_what_is_wrong_is_named_and_nothing_is_sent() -> None:
    p = posting((11, "SHO-42", 1, ("mandatory_mark",)), (12, "TSH-M", 1, ("mandatory_mark",)))
    extra = plan_items(p, " ".join(code(g, s) for g, s in ((1, 1), (2, 1), (3, 1))), "", {})
    assert "marks" not in extra.params and [w.kind for w in extra.waits] == ["marks_extra"]
    assert short(code(3, 1)) in texts(RU, extra.waits)[0]
    prefix = plan_items(p, f"OF-9: {code(1, 1)}\nTSH-M: {code(2, 1)}", "", {})
    assert "«OF-9:» в «Маркировка» — такого товара в отправлении нет (есть: SHO-42, TSH-M)" in texts(RU, prefix.waits)
    unplaced = plan_items(p, code(1, 1), "", {})
    assert texts(RU, unplaced.waits) == ["нужно 2 кода маркировки («Товар SHO-42» — 1, «Товар TSH-M» — 1), введено 1; "
                                         "какой код к какому товару, не понять — начните строку с артикула: "
                                         "«SHO-42: код код»"]


def test_codes_on_a_posting_needing_none_are_said_and_left_out_boxes_are_counted() -> None:
    p = posting((13, "MUG", 1, ()))
    got = plan_items(p, code(1, 1), "3", {})
    assert got.waits == () and [r.kind for r in got.remarks] == ["marks_not_needed"]
    assert got.params == {"boxes": 3}
    assert plan_items(p, "", "1", {}).params == {}  # one box is no multi-box
    assert [w.values for w in plan_items(p, "", "два", {}).waits] == [{"boxes": "два"}]


def test_config_item_data_is_asked_for_by_its_key_until_given() -> None:
    p = posting((21, "EAR-BT", 1, ("gtd",)), (22, "UMB-01", 1, ("country", "change_country")),
                (23, "CHS-KG", 1, ("weight",)), (24, "RNP-1", 1, ("rnpt",)))
    waits = plan_items(p, "", "", {}).waits
    assert [(w.values["offer"], w.values["what"]) for w in waits] == [
        ("EAR-BT", "gtd"), ("UMB-01", "country"), ("CHS-KG", "weight"), ("RNP-1", "rnpt")]  # country asked once
    assert "Ozon требует страну производства для «Товар UMB-01» (UMB-01): укажите в настройках items → UMB-01 → " \
           "country" in texts(RU, waits)
    given_all = {"EAR-BT": ItemDefaults(gtd="1/2/3"), "UMB-01": ItemDefaults(country="CN"),
                 "CHS-KG": ItemDefaults(weight=0.4), "RNP-1": ItemDefaults(rnpt_absent=True)}
    assert plan_items(p, "", "", given_all).waits == ()


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 6)), min_size=1, max_size=4))
def test_the_ship_carries_codes_exactly_when_every_product_has_one_per_unit(lines: list[tuple[int, int]]) -> None:
    """Products needing codes (quantity q each); the person scans k codes of each, product by product. The ship
    goes iff every k == q, with each product's own codes; otherwise every short or long product is named."""
    p = posting(*((100 + i, f"OF-{i}", q, ("mandatory_mark",)) for i, (q, _k) in enumerate(lines)))
    cell = "\n".join(code(i + 1, s) for i, (_q, k) in enumerate(lines) for s in range(k))
    got = plan_items(p, cell, "", {})
    if all(q == k for q, k in lines):
        assert got.waits == ()
        assert got.params["marks"] == {str(100 + i): [code(i + 1, s) for s in range(k)]
                                       for i, (_q, k) in enumerate(lines)}
    else:
        assert "marks" not in got.params and got.waits
        typed_products = sum(1 for _q, k in lines if k)
        if typed_products == len(lines) or len(lines) == 1:  # every GTIN is placed: each product's count is named
            short_ones = {f"OF-{i}" for i, (q, k) in enumerate(lines) if k < q}
            assert {w.values["offer"] for w in got.waits if w.kind == "marks_missing"} == short_ones
            assert any(w.kind == "marks_extra" for w in got.waits) == any(k > q for q, k in lines)
