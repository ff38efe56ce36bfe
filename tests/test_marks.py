"""Reading the «Маркировка» cell: marking codes as scanners and people type them, one per unit, and which
product each belongs to. Plain text in, plain values out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.engine.marks import GS, Marks, Wanted, gtin, normalize, read_cell, split_codes

TEE = "0104600439931256"  # 01 + GTIN 04600439931256
SHOE = "0104680036754236"
CODE = f"{TEE}215Kg&J7{GS}91FFD0{GS}92dGVzdA=="
# What each key of the Latin layout types with the Russian layout on (a keyboard-wedge scanner types keys).
RUSSIAN_KEYS = str.maketrans("qwertyuiop[]asdfghjkl;'zxcvbnm,./QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>?`@#$^&",
                             "йцукенгшщзхъфывапролджэячсмитьбю.ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,ё\"№;:?")


def code(gtin14: str, serial: str, tail: bool = True) -> str:
    return f"01{gtin14}21{serial}" + (f"{GS}91EE10{GS}92YWJjZA==" if tail else "")


def test_a_scanned_code_keeps_its_group_separators() -> None:
    assert split_codes(CODE) == [CODE]
    assert gtin(CODE) == "04600439931256"


def test_group_separators_written_other_ways_become_one() -> None:
    for written in ("<GS>", "<gs>", "{GS}", "[GS]", "\\x1d", "\\u001d", "^]", "␝"):
        assert normalize(CODE.replace(GS, written)) == CODE, written


def test_separators_a_scanner_dropped_are_put_back_in_the_common_83_character_code() -> None:
    full = f"{TEE}21ABCDEFGHIJKLM{GS}91EE10{GS}92" + "x" * 44
    assert normalize(full.replace(GS, "")) == full
    odd = f"{TEE}21ABCDEF91EE10"  # another shape: where the separator went cannot be known, kept as typed
    assert normalize(odd) == odd


def test_a_symbology_prefix_and_a_leading_fnc1_are_dropped() -> None:
    assert normalize("]d2" + CODE) == CODE
    assert normalize(GS + CODE) == CODE
    assert normalize(f"  {CODE}\t") == CODE


def test_a_code_typed_with_the_russian_layout_on_is_read_back_key_by_key() -> None:
    # the same keys as CODE, with the Russian layout: K -> Л, g -> п, & -> ?, J -> О, F -> А, D -> В, d -> в ...
    typed = f"{TEE}215Лп?О7{GS}91ААВ0{GS}92вПМявФ=="
    assert normalize(typed) == CODE


def test_codes_are_split_on_line_breaks_spaces_semicolons_and_commas_but_not_inside_a_serial() -> None:
    a, b, c, d = (code("04600439931256", s) for s in ("AAA", "BBB", "C,C;C", "DDD"))
    assert split_codes(f"{a}\n{b}\r\n {c} ; {d}") == [a, b, c, d]
    assert split_codes(f"{a},{b};{c}") == [a, b, c]  # glued by a comma or a semicolon: a new code starts there
    assert split_codes("  \n ;, ") == []


def test_one_product_takes_every_code() -> None:
    shirt = Wanted(1001, 2, "OF-1", "Футболка")
    a, b = code("04600439931256", "A1"), code("04600439931256", "B2")
    assert read_cell(f"{a}\n{b}", [shirt]) == Marks({1001: (a, b)}, {}, (), (), ())
    short = read_cell(a, [shirt])
    assert short.missing == {1001: 1} and not short.complete
    c = code("04600439931256", "C3")
    over = read_cell(f"{a} {b} {c}", [shirt])
    assert over.codes == {1001: (a, b)} and over.extra == (c,) and not over.complete


def test_two_products_take_the_gtins_in_the_order_they_are_scanned() -> None:
    shirt, shoes = Wanted(1001, 2, "OF-1", "Футболка"), Wanted(1002, 1, "OF-2", "Кеды")
    t1, t2, s1 = code("04600439931256", "T1"), code("04600439931256", "T2"), code("04680036754236", "S1")
    marks = read_cell(f"{t1}\n{t2}\n{s1}", [shirt, shoes])
    assert marks.codes == {1001: (t1, t2), 1002: (s1,)} and marks.complete


def test_a_line_prefix_names_the_product_by_offer_id_or_sku() -> None:
    shirt, shoes = Wanted(1001, 2, "OF-1", "Футболка"), Wanted(1002, 1, "OF-2", "Кеды")
    t1, t2, s1 = code("04600439931256", "T1"), code("04600439931256", "T2"), code("04680036754236", "S1")
    marks = read_cell(f"1002: {s1}\nOF-1: {t1}, {t2}", [shirt, shoes])
    assert marks.codes == {1001: (t1, t2), 1002: (s1,)} and marks.complete
    typo = read_cell(f"OF-3: {s1}\n{t1}", [shirt, shoes])
    assert typo.unknown_prefix == ("OF-3",) and not typo.complete


def test_a_code_typed_twice_counts_once() -> None:
    shirt = Wanted(1001, 2, "OF-1", "Футболка")
    a = code("04600439931256", "A1")
    marks = read_cell(f"{a}\n{a}", [shirt])
    assert marks.codes == {1001: (a,)} and marks.repeated == (a,) and marks.missing == {1001: 1}


SERIAL = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"%&'()*+-./:<=>?_",
                 min_size=6, max_size=13)
GTIN14 = st.text(alphabet="0123456789", min_size=14, max_size=14)
SEPARATOR = st.sampled_from(["\n", "\r\n", " ", "; ", ",", ";", "\n\n", " , "])
GS_AS = st.sampled_from([GS, "<GS>", "{GS}", "^]", "\\x1d"])


@given(st.lists(st.tuples(GTIN14, SERIAL), min_size=1, max_size=8, unique=True), st.data())
def test_any_codes_separated_and_written_as_people_do_come_back_as_scanned(
        parts: list[tuple[str, str]], data: st.DataObject) -> None:
    codes = [code(g, s) for g, s in parts]
    text = ""
    for i, c in enumerate(codes):
        text += (data.draw(SEPARATOR) if i else "") + c.replace(GS, data.draw(GS_AS))
    assert split_codes(text) == codes


@given(GTIN14, SERIAL.filter(lambda s: any(ch.isalpha() for ch in s)))
def test_any_code_typed_with_the_russian_layout_comes_back(g: str, serial: str) -> None:
    scanned = code(g, serial)
    assert normalize(scanned.translate(RUSSIAN_KEYS)) == scanned


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4), st.data())
def test_codes_scanned_product_by_product_fill_each_product_exactly(quantities: list[int],
                                                                   data: st.DataObject) -> None:
    wanted = [Wanted(2000 + i, q, f"OF-{i}") for i, q in enumerate(quantities)]
    given_codes = {w.sku: tuple(code(f"{w.sku:014d}", f"S{w.sku}x{u}") for u in range(w.quantity)) for w in wanted}
    short = data.draw(st.sampled_from([w.sku for w in wanted]))
    scanned = [c for w in wanted for c in given_codes[w.sku][: w.quantity - (w.sku == short)]]
    text = "".join((data.draw(SEPARATOR) if i else "") + c for i, c in enumerate(scanned))
    marks = read_cell(text, wanted)
    assert not marks.complete and marks.extra == () and marks.repeated == ()
    if len(wanted) == 1 or all(given_codes[w.sku][: w.quantity - (w.sku == short)] for w in wanted):
        assert marks.missing == {short: 1}
        assert marks.codes == {w.sku: given_codes[w.sku][: w.quantity - (w.sku == short)] for w in wanted}
    else:  # a product with no code at all: the others' codes cannot be told apart by order
        assert marks.unplaced == tuple(scanned) and all(not c for c in marks.codes.values())


def test_codes_of_two_products_when_one_has_none_yet_are_not_guessed() -> None:
    shirt, shoes = Wanted(1001, 1, "OF-1", "Футболка"), Wanted(1002, 1, "OF-2", "Кеды")
    s1 = code("04680036754236", "S1")
    marks = read_cell(s1, [shirt, shoes])
    assert marks.unplaced == (s1,) and marks.missing == {1001: 1, 1002: 1} and not marks.complete
    assert read_cell(f"OF-2: {s1}", [shirt, shoes]).missing == {1001: 1}


@given(GTIN14, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=13,
                       max_size=13), st.sampled_from(["gs", "written", "dropped", "russian"]), GS_AS)
def test_what_people_type_for_a_full_code_reaches_ozon_as_a_code_it_accepts(g: str, serial: str, how: str,
                                                                         gs_as: str) -> None:
    from sync.emulators.ozon.marks import mark_errors

    full = f"01{g}21{serial}{GS}91EE10{GS}92" + "Ab+/" * 11
    typed = {"gs": full, "written": full.replace(GS, gs_as), "dropped": full.replace(GS, "")}.get(how)
    if typed is None:  # with the Russian layout on: letters become Cyrillic, "/" becomes "."
        typed = full.translate(RUSSIAN_KEYS)
    (read,) = split_codes(typed)
    assert read == full and mark_errors(read, "mandatory_mark") == []
