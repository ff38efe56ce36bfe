"""The Ozon emulator's FBS day over real HTTP: item data (exemplars, marking codes and their check),
ship held until the codes passed, labels, carriages and their documents.

Every request and answer the emulator recorded is validated against the schemas extracted from
Ozon's OpenAPI description (tests/data/ozon_schemas.json, ``fbs_day_paths``), strictly: a field name
that is not in Ozon's description fails the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from sync.emulators.ozon import OzonEmulator
from tests.fake_time import Clock
from tests.schemas import strict

_DATA = json.loads((Path(__file__).parent / "data" / "ozon_schemas.json").read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = {**_DATA["paths"], **_DATA["fbs_day_paths"]}
KEY = "emulator-key"
GS = "\x1d"


def mark(serial: str, gtin: str = "04601234567893") -> str:
    """A marking code as a scanner sends it: GTIN, serial, then the crypto tail after group separators."""
    return f"01{gtin}21{serial}{GS}91EE07{GS}92" + "A" * 44


def check_exchanges(emu: OzonEmulator) -> set[str]:
    """Validate every recorded request and JSON answer against Ozon's schemas; the paths seen."""
    seen = set()
    for path, request, status, answer in emu.exchanges:
        seen.add(path)
        jsonschema.validate(request, strict(SCHEMAS[path]["request"]))
        if isinstance(answer, bytes):
            assert status == 200 and answer.startswith(b"%PDF-")
            continue
        jsonschema.validate(answer, strict(SCHEMAS[path]["response" if status == 200 else "error"]))
    return seen


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=5, postings=10, marked=6, api_key=KEY, ship_delay=60, label_delay=45,
                      exemplar_check_delay=5, clock=clock, record_exchanges=True) as e:
        yield e


def post(emu: OzonEmulator, path: str, body: Any) -> httpx.Response:
    return httpx.post(emu.base_url + path, json=body, headers={"Client-Id": "123456", "Api-Key": KEY}, timeout=5)


def ok(emu: OzonEmulator, path: str, body: Any) -> Any:
    r = post(emu, path, body)
    assert r.status_code == 200, r.text
    return r.json() if r.headers["content-type"].startswith("application/json") else r.content


def shoes(emu: OzonEmulator, qty: int = 2, status: str = "awaiting_packaging") -> str:
    """A posting of shoes (they need a marking code per pair) and a mug (needs nothing)."""
    return emu.add_posting(status=status, products=[("Кроссовки беговые 42", "SHO-42", qty, "4990.00"),
                                                    ("Кружка керамическая 350 мл", "MUG-350", 1, "390.00")])


def exemplars(emu: OzonEmulator, number: str) -> dict[int, list[int]]:
    data = ok(emu, "/v6/fbs/posting/product/exemplar/create-or-get", {"posting_number": number})
    return {p["product_id"]: [e["exemplar_id"] for e in p["exemplars"]] for p in data["products"]}


def set_marks(emu: OzonEmulator, number: str, sku: int, ids: list[int], codes: list[str]) -> None:
    ok(emu, "/v6/fbs/posting/product/exemplar/set", {"posting_number": number, "products": [
        {"product_id": sku, "exemplars": [{"exemplar_id": i, "marks": [{"mark": c, "mark_type": "mandatory_mark"}]}
                                          for i, c in zip(ids, codes, strict=True)]}]})


def ship_body(emu: OzonEmulator, number: str) -> Any:
    products = [{"product_id": i["sku"], "quantity": i["quantity"]} for i in emu.postings[number].products]
    return {"posting_number": number, "packages": [{"products": products}]}


# --- seed and requirements -------------------------------------------------------------------------


def test_marked_postings_come_on_top_of_the_plain_seed(clock: Clock) -> None:
    with OzonEmulator(seed=5, postings=30, clock=clock) as plain, \
            OzonEmulator(seed=5, postings=30, marked=6, clock=clock) as marked:
        numbers = plain.numbers()
        assert [plain.posting(n) for n in numbers] == [marked.posting(n) for n in numbers]
        assert all(not any(plain.posting(n)["requirements"].values()) for n in numbers)
        extra = [n for n in marked.numbers() if n not in numbers]
        assert len(extra) == 6
        assert all(any(marked.posting(n)["requirements"].values()) for n in extra)


def test_requirements_list_the_skus_that_need_item_data(emu: OzonEmulator, clock: Clock) -> None:
    number = shoes(emu)
    sku = emu.postings[number].products[0]["sku"]
    detail = ok(emu, "/v3/posting/fbs/get", {"posting_number": number})["result"]
    assert detail["requirements"]["products_requiring_mandatory_mark"] == [str(sku)]
    assert detail["requirements"]["products_requiring_gtd"] == []
    listed = ok(emu, "/v4/posting/fbs/unfulfilled/list", {"limit": 100, "filter": {
        "cutoff_from": (clock.now - timedelta(days=30)).isoformat(),
        "cutoff_to": (clock.now + timedelta(days=3)).isoformat()}})
    mine = [p for p in listed["postings"] if p["posting_number"] == number]
    assert mine and mine[0]["requirements"]["products_requiring_mandatory_mark"] == [str(sku)]
    umbrella = emu.add_posting(products=[("Зонт складной", "UMB-01", 1, "990.00")])
    cheese = emu.add_posting(products=[("Сыр весовой", "CHS-KG", 1, "990.00")])
    assert emu.posting(umbrella)["requirements"]["products_requiring_country"]
    assert emu.posting(cheese)["requirements"]["products_requiring_weight"]
    check_exchanges(emu)


# --- item data --------------------------------------------------------------------------------------


def test_create_or_get_gives_one_stable_exemplar_per_unit(emu: OzonEmulator) -> None:
    number = shoes(emu, qty=3)
    first = ok(emu, "/v6/fbs/posting/product/exemplar/create-or-get", {"posting_number": number})
    shoe, mug = first["products"]
    assert shoe["is_mandatory_mark_needed"] and not mug["is_mandatory_mark_needed"]
    assert len(shoe["exemplars"]) == 3 and len(mug["exemplars"]) == 1
    assert len({e["exemplar_id"] for e in shoe["exemplars"] + mug["exemplars"]}) == 4
    again = ok(emu, "/v6/fbs/posting/product/exemplar/create-or-get", {"posting_number": number})
    assert again == first
    set_marks(emu, number, shoe["product_id"], [e["exemplar_id"] for e in shoe["exemplars"]],
              [mark("SER0001"), mark("SER0002"), mark("SER0003")])
    after = ok(emu, "/v6/fbs/posting/product/exemplar/create-or-get", {"posting_number": number})
    assert [e["marks"][0]["mark"] for e in after["products"][0]["exemplars"]] == [
        mark("SER0001"), mark("SER0002"), mark("SER0003")]
    assert post(emu, "/v6/fbs/posting/product/exemplar/create-or-get",
                {"posting_number": "0000000000-0000-1"}).status_code == 404
    check_exchanges(emu)


def test_validate_names_each_bad_code_and_saves_nothing(emu: OzonEmulator) -> None:
    number = shoes(emu, qty=2)
    sku = emu.postings[number].products[0]["sku"]
    emu.reject_mark(mark("STOLEN1"), "MARK_NOT_IN_CIRCULATION")
    codes = [mark("GOOD001"), mark("GOOD001"), mark("STOLEN1"), mark("NOGS001").replace(GS, ""),
             "01046012345678932"]
    body = {"posting_number": number, "products": [
        {"product_id": sku, "exemplars": [{"marks": [{"mark": c, "mark_type": "mandatory_mark"}]} for c in codes]},
        {"product_id": 42, "exemplars": []}]}
    answer = ok(emu, "/v5/fbs/posting/product/exemplar/validate", body)
    marks = [e["marks"][0] for e in answer["products"][0]["exemplars"]]
    assert [m["valid"] for m in marks] == [True, False, False, False, False]
    assert marks[1]["errors"] == ["MARK_DUPLICATED"]
    assert marks[2]["errors"] == ["MARK_NOT_IN_CIRCULATION"]
    assert marks[3]["errors"] == marks[4]["errors"] == ["MARK_FORMAT_INVALID"]
    assert answer["products"][0]["valid"] is False
    assert answer["products"][1]["error"] == "PRODUCT_NOT_FOUND"
    saved = ok(emu, "/v6/fbs/posting/product/exemplar/create-or-get", {"posting_number": number})
    assert all(e["marks"] == [] for e in saved["products"][0]["exemplars"])
    check_exchanges(emu)


def test_ship_is_held_until_every_code_passed_its_check(emu: OzonEmulator, clock: Clock) -> None:
    number = shoes(emu, qty=2)
    sku = emu.postings[number].products[0]["sku"]
    refused = post(emu, "/v4/posting/fbs/ship", ship_body(emu, number))
    assert refused.status_code == 400 and refused.json()["message"] == "EXEMPLAR_INFO_NOT_FILLED_COMPLETELY"
    status = ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": number})
    assert status["status"] == "ship_not_available"
    ids = exemplars(emu, number)[sku]
    emu.reject_mark(mark("STOLEN2"))
    set_marks(emu, number, sku, ids, [mark("PAIR001"), mark("STOLEN2")])
    status = ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": number})
    assert status["status"] == "validation_in_process"
    assert {m["check_status"] for p in status["products"] for e in p["exemplars"] for m in e["marks"]} == {"processing"}
    assert post(emu, "/v4/posting/fbs/ship", ship_body(emu, number)).status_code == 400  # still checking
    clock.tick(5)
    status = ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": number})
    assert status["status"] == "ship_not_available"
    marks = {m["mark"]: m for e in status["products"][0]["exemplars"] for m in e["marks"]}
    assert marks[mark("PAIR001")]["check_status"] == "passed"
    assert marks[mark("STOLEN2")] == {"mark": mark("STOLEN2"), "mark_type": "mandatory_mark", "check_status": "failed",
                                      "error_codes": ["MARK_NOT_IN_CIRCULATION"]}
    assert post(emu, "/v4/posting/fbs/ship", ship_body(emu, number)).status_code == 400
    set_marks(emu, number, sku, ids, [mark("PAIR001"), mark("STOLEN2")])  # a rejected code stays rejected
    clock.tick(5)
    assert ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": number})["status"] == \
        "ship_not_available"
    set_marks(emu, number, sku, ids, [mark("PAIR001"), mark("PAIR002")])
    clock.tick(5)
    assert ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": number})["status"] == "ship_available"
    assert ok(emu, "/v4/posting/fbs/ship", ship_body(emu, number)) == {"result": [number], "additional_data": []}
    after = post(emu, "/v6/fbs/posting/product/exemplar/set", {"posting_number": number, "products": [
        {"product_id": sku, "exemplars": [{"exemplar_id": ids[0]}]}]})
    assert after.status_code == 409 and after.json()["message"] == "HAS_INCORRECT_STATUS"
    check_exchanges(emu)


def test_a_code_given_for_another_posting_is_a_duplicate(emu: OzonEmulator, clock: Clock) -> None:
    first, second = shoes(emu, qty=1), shoes(emu, qty=1)
    sku = emu.postings[first].products[0]["sku"]
    set_marks(emu, first, sku, exemplars(emu, first)[sku], [mark("ONCE001")])
    set_marks(emu, second, sku, exemplars(emu, second)[sku], [mark("ONCE001")])
    clock.tick(5)
    status = ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": second})
    assert status["products"][0]["exemplars"][0]["marks"][0]["error_codes"] == ["MARK_DUPLICATED"]
    assert ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": first})["status"] == "ship_available"
    unknown = post(emu, "/v6/fbs/posting/product/exemplar/set", {"posting_number": first, "products": [
        {"product_id": sku, "exemplars": [{"exemplar_id": 1}]}]})
    assert unknown.status_code == 400
    check_exchanges(emu)


def test_gtd_weight_and_country_hold_the_ship_until_given(emu: OzonEmulator, clock: Clock) -> None:
    ear = emu.add_posting(products=[("Наушники беспроводные", "EAR-BT", 1, "2990.00")])
    cheese = emu.add_posting(products=[("Сыр весовой", "CHS-KG", 1, "990.00")])
    umbrella = emu.add_posting(products=[("Зонт складной", "UMB-01", 1, "990.00")])
    for number in (ear, cheese, umbrella):
        assert post(emu, "/v4/posting/fbs/ship", ship_body(emu, number)).status_code == 400
    sku_ear, ids_ear = next(iter(exemplars(emu, ear).items()))
    ok(emu, "/v6/fbs/posting/product/exemplar/set", {"posting_number": ear, "products": [
        {"product_id": sku_ear, "exemplars": [{"exemplar_id": ids_ear[0], "is_gtd_absent": True}]}]})
    sku_cheese, ids_cheese = next(iter(exemplars(emu, cheese).items()))
    ok(emu, "/v6/fbs/posting/product/exemplar/set", {"posting_number": cheese, "products": [
        {"product_id": sku_cheese, "exemplars": [{"exemplar_id": ids_cheese[0], "weight": 0.45}]}]})
    sku_umbrella = emu.postings[umbrella].products[0]["sku"]
    bad = post(emu, "/v2/posting/fbs/product/country/set", {"posting_number": umbrella, "product_id": sku_umbrella,
                                                            "country_iso_code": "XX"})
    assert bad.status_code == 400
    assert ok(emu, "/v2/posting/fbs/product/country/set", {"posting_number": umbrella, "product_id": sku_umbrella,
                                                           "country_iso_code": "CN"}) == {
        "product_id": sku_umbrella, "is_gtd_needed": False}
    clock.tick(5)
    for number in (ear, cheese, umbrella):
        assert ok(emu, "/v4/posting/fbs/ship", ship_body(emu, number))["result"] == [number]
    countries = ok(emu, "/v2/posting/fbs/product/country/list", {"name_search": "кит"})["result"]
    assert countries == [{"name": "Китай", "country_iso_code": "CN"}]
    check_exchanges(emu)


def test_multibox_count_is_set_before_packing(emu: OzonEmulator) -> None:
    number = emu.add_posting()
    assert ok(emu, "/v3/posting/multiboxqty/set", {"posting_number": number, "multi_box_qty": 3}) == {
        "result": {"result": True}}
    assert emu.posting(number)["multi_box_qty"] == 3
    assert post(emu, "/v3/posting/multiboxqty/set", {"posting_number": number, "multi_box_qty": 0}).status_code == 400
    packed = emu.add_posting(status="awaiting_deliver")
    assert post(emu, "/v3/posting/multiboxqty/set", {"posting_number": packed, "multi_box_qty": 2}).status_code == 409
    check_exchanges(emu)


# --- labels -----------------------------------------------------------------------------------------


def test_labels_are_not_ready_until_the_delay_after_packing(emu: OzonEmulator, clock: Clock) -> None:
    numbers = [emu.add_posting() for _ in range(2)]
    for n in numbers:
        ok(emu, "/v4/posting/fbs/ship", ship_body(emu, n))
    early = post(emu, "/v2/posting/fbs/package-label", {"posting_number": numbers})
    assert early.status_code == 409 and early.json()["message"] == "HAS_INCORRECT_STATUS"  # still packing
    clock.tick(60)
    emu.settle(numbers[0]), emu.settle(numbers[1])
    not_ready = post(emu, "/v2/posting/fbs/package-label", {"posting_number": numbers})
    assert not_ready.status_code == 400 and not_ready.json()["message"].startswith("The next postings aren't ready")
    clock.tick(45)
    r = post(emu, "/v2/posting/fbs/package-label", {"posting_number": numbers})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and all(n.encode() in r.content for n in numbers)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=r.content, capture_output=True, check=True).stdout
        assert all(n.encode() in text for n in numbers)
    assert post(emu, "/v2/posting/fbs/package-label", {"posting_number": ["1"] * 21}).status_code == 400
    check_exchanges(emu)


def test_one_posting_that_cannot_be_labelled_fails_the_batch(emu: OzonEmulator, clock: Clock) -> None:
    numbers = [emu.add_posting(status="awaiting_deliver") for _ in range(3)]
    clock.tick(45)
    emu.make_unlabelable(numbers[1], "label cannot be generated")
    r = post(emu, "/v2/posting/fbs/package-label", {"posting_number": numbers})
    assert r.status_code == 400 and numbers[1] in r.json()["message"]
    assert r.json()["message"].startswith("LABEL_NOT_AVAILABLE")
    assert ok(emu, "/v2/posting/fbs/package-label", {"posting_number": [numbers[0], numbers[2]]}).startswith(b"%PDF-")
    missing = post(emu, "/v2/posting/fbs/package-label", {"posting_number": [numbers[0], "0000000000-0000-1"]})
    assert missing.status_code == 404
    check_exchanges(emu)


def test_label_task_gives_a_file_url_once_done(emu: OzonEmulator, clock: Clock) -> None:
    numbers = [emu.add_posting(status="awaiting_deliver") for _ in range(3)]
    emu.make_unlabelable(numbers[2])
    task = ok(emu, "/v2/posting/fbs/package-label/create", {"posting_number": numbers})["result"]["tasks"][0]
    assert task["task_type"] == "big_label"
    pending = ok(emu, "/v1/posting/fbs/package-label/get", {"task_id": task["task_id"]})["result"]
    assert pending["status"] == "in_progress" and pending["file_url"] == ""
    clock.tick(45)
    done = ok(emu, "/v1/posting/fbs/package-label/get", {"task_id": task["task_id"]})["result"]
    assert done["status"] == "completed" and done["printed_postings_count"] == 2
    assert done["unprinted_postings"] == [{"posting_number": numbers[2], "msg": "label cannot be generated"}]
    file = httpx.get(done["file_url"], timeout=5)
    assert file.status_code == 200 and file.headers["content-type"] == "application/pdf"
    assert file.content.startswith(b"%PDF-") and numbers[0].encode() in file.content
    assert numbers[2].encode() not in file.content
    assert httpx.get(emu.base_url + "/_emulator/files/nope.pdf", timeout=5).status_code == 404
    assert post(emu, "/v1/posting/fbs/package-label/get", {"task_id": 1}).status_code == 404
    packing = emu.add_posting()
    assert post(emu, "/v2/posting/fbs/package-label/create", {"posting_number": [packing]}).status_code == 409
    check_exchanges(emu)


# --- hand-over --------------------------------------------------------------------------------------


def test_carriage_create_set_approve_get_and_act(emu: OzonEmulator) -> None:
    numbers = [emu.add_posting(status="awaiting_deliver") for _ in range(3)]
    method = emu.postings[numbers[0]].method[0]
    day = ok(emu, "/v2/carriage/delivery/list", {"limit": 10, "filter": {"delivery_method_id": method}})
    ready = day["methods"][0]
    assert ready["delivery_method_id"] == method and ready["carriage_postings_count"] >= 3
    assert ready["carriages"][-1]["id"] == 0
    carriage_id = ok(emu, "/v1/carriage/create", {"delivery_method_id": method,
                                                 "departure_date": "2026-11-23T12:00:00Z"})["carriage_id"]
    assert post(emu, "/v1/carriage/create", {"delivery_method_id": method}).status_code == 400  # nothing left
    packing = emu.add_posting()
    result = ok(emu, "/v1/carriage/set-postings", {"carriage_id": carriage_id,
                                                   "posting_numbers": [numbers[0], numbers[1], packing]})["result"]
    assert [r["result"] for r in result] == [True, True, False] and result[2]["error"]
    got = ok(emu, "/v1/carriage/get", {"carriage_id": carriage_id})
    assert got["status"] == "new" and got["available_actions"] == []
    act = post(emu, "/v2/posting/fbs/act/get-pdf", {"id": carriage_id})
    assert act.status_code == 409
    assert ok(emu, "/v1/carriage/approve", {"carriage_id": carriage_id, "containers_count": 1}) == {}
    assert post(emu, "/v1/carriage/approve", {"carriage_id": carriage_id}).status_code == 409
    got = ok(emu, "/v1/carriage/get", {"carriage_id": carriage_id})
    assert got["status"] == "formed" and "get_shipping_list" in got["available_actions"]
    pdf = ok(emu, "/v2/posting/fbs/act/get-pdf", {"id": carriage_id})
    assert pdf.startswith(b"%PDF-") and numbers[0].encode() in pdf and numbers[2].encode() not in pdf
    assert post(emu, "/v1/carriage/get", {"carriage_id": 1}).status_code == 404
    assert post(emu, "/v2/carriage/delivery/list", {"limit": 0}).status_code == 400
    check_exchanges(emu)


def test_control_api_over_http(emu: OzonEmulator, clock: Clock) -> None:
    def control(path: str, body: Any) -> httpx.Response:
        return httpx.post(emu.base_url + "/_emulator/" + path, json=body, timeout=5)

    number = emu.add_posting(status="awaiting_deliver")
    assert control("label-delay", {"seconds": 0}).status_code == 200
    assert ok(emu, "/v2/posting/fbs/package-label", {"posting_number": [number]}).startswith(b"%PDF-")
    assert control("unlabelable", {"posting_number": number}).status_code == 200
    assert post(emu, "/v2/posting/fbs/package-label", {"posting_number": [number]}).status_code == 400
    assert control("exemplar-delay", {"seconds": 0}).status_code == 200
    assert control("reject-mark", {"mark": mark("BADCODE"), "reason": "MARK_WITHDRAWN"}).status_code == 200
    shoe = shoes(emu, qty=1)
    sku = emu.postings[shoe].products[0]["sku"]
    set_marks(emu, shoe, sku, exemplars(emu, shoe)[sku], [mark("BADCODE")])
    status = ok(emu, "/v5/fbs/posting/product/exemplar/status", {"posting_number": shoe})
    assert status["products"][0]["exemplars"][0]["marks"][0]["error_codes"] == ["MARK_WITHDRAWN"]
    assert control("unlabelable", {"posting_number": "nope"}).status_code == 404
