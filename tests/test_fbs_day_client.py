"""The FBS-day client (sync/ozon/fbs_day.py) against the Ozon emulator over real HTTP: item data,
labels and hand-over as plain values, refusals as OzonRefused with Ozon's code and words, "not
ready yet" as a value; and the posting's ``requirements`` parsed into ``Posting.needs``.

Every body both sides exchanged is checked against Ozon's schemas (tests/data/ozon_schemas.json).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.emulators.ozon import OzonEmulator
from sync.errors import OzonRefused
from sync.fbs import CheckState, Exemplar, LabelTask, MarkProblem, Need, NotReady
from sync.model import Posting, posting_from_dict, posting_to_dict
from sync.ozon.client import OzonClient
from sync.ozon.fbs_day import FbsDay
from sync.ozon.parse import parse_posting
from tests.test_fbs_day_emulator import KEY, SCHEMAS, Clock, check_exchanges, mark, shoes

FBS_DAY_PATHS = set(SCHEMAS) - {"/v4/posting/fbs/list", "/v4/posting/fbs/unfulfilled/list", "/v3/posting/fbs/get",
                                "/v4/posting/fbs/ship", "/v2/posting/fbs/awaiting-delivery",
                                "/v2/fbs/posting/delivering", "/v2/fbs/posting/last-mile", "/v2/fbs/posting/delivered",
                                "/v2/fbs/posting/tracking-number/set", "/v2/posting/fbs/cancel",
                                "/v2/posting/fbs/cancel-reason/list", "/v1/roles", "/v3/posting/fbo/list",
                                "/v2/posting/fbo/get", "/v1/returns/list"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=3, postings=5, api_key=KEY, ship_delay=0, label_delay=45, exemplar_check_delay=5,
                      clock=clock, record_exchanges=True) as e:
        yield e


@pytest.fixture
def client(emu: OzonEmulator) -> Iterator[OzonClient]:
    with OzonClient("123456", KEY, emu.base_url, rps=1000, max_retries=1, sleep=lambda s: None) as c:
        yield c


@pytest.fixture
def day(client: OzonClient) -> FbsDay:
    return FbsDay(client)


def test_marks_checked_set_and_ship_allowed_once_accepted(emu: OzonEmulator, client: OzonClient, day: FbsDay,
                                                          clock: Clock) -> None:
    number = shoes(emu, qty=2)
    posting = client.get_posting(number)
    shoe_sku, mug_sku = (p.sku for p in posting.products)
    assert posting.needs == frozenset({("mandatory_mark", shoe_sku)})
    needs = {n.product_id: n for n in day.item_needs(number)}
    assert needs[shoe_sku].needs == {Need.MARK} and needs[shoe_sku].quantity == 2
    assert len(needs[shoe_sku].exemplar_ids) == 2 and needs[mug_sku].needs == frozenset()
    assert needs[shoe_sku].marks == ((), ())

    emu.reject_mark(mark("STOLEN1"))
    problems = day.validate_marks(number, {shoe_sku: [mark("GOOD001"), mark("STOLEN1")]})
    assert problems == (MarkProblem(shoe_sku, mark("STOLEN1"), ("MARK_NOT_IN_CIRCULATION",)),)
    assert day.validate_marks(number, {shoe_sku: [mark("GOOD001"), mark("GOOD002")]}) == ()

    with pytest.raises(OzonRefused) as refused:
        client.ship(posting)
    assert refused.value.code == "EXEMPLAR_INFO_NOT_FILLED_COMPLETELY"

    ids = needs[shoe_sku].exemplar_ids
    day.set_exemplars(number, {shoe_sku: [Exemplar(ids[0], (mark("GOOD001"),)), Exemplar(ids[1], (mark("STOLEN1"),))]})
    check = day.exemplar_status(number)
    assert check.state is CheckState.IN_PROGRESS and not check.done
    clock.tick(5)
    check = day.exemplar_status(number)
    assert check.state is CheckState.PROBLEMS and check.status == "ship_not_available"
    assert check.problems == (MarkProblem(shoe_sku, mark("STOLEN1"), ("MARK_NOT_IN_CIRCULATION",), ids[1]),)
    with pytest.raises(OzonRefused):
        client.ship(posting)

    day.set_exemplars(number, {shoe_sku: [Exemplar(ids[0], (mark("GOOD001"),)), Exemplar(ids[1], (mark("GOOD002"),))]})
    clock.tick(5)
    assert day.exemplar_status(number).done
    assert [n.marks for n in day.item_needs(number) if n.product_id == shoe_sku] == [
        ((mark("GOOD001"),), (mark("GOOD002"),))]
    client.ship(posting)
    with pytest.raises(OzonRefused) as late:
        day.set_exemplars(number, {shoe_sku: [Exemplar(ids[0], (mark("GOOD001"),))]})
    assert late.value.code == "HAS_INCORRECT_STATUS"
    check_exchanges(emu)


def test_country_gtd_weight_and_boxes(emu: OzonEmulator, client: OzonClient, day: FbsDay, clock: Clock) -> None:
    umbrella = emu.add_posting(products=[("Зонт складной", "UMB-01", 1, "990.00")])
    sku = emu.postings[umbrella].products[0]["sku"]
    assert client.get_posting(umbrella).needs == {("country", sku)}
    assert ("Китай", "CN") in day.countries()
    assert day.countries("бел") == (("Беларусь", "BY"),)
    with pytest.raises(OzonRefused) as bad:
        day.set_country(umbrella, sku, "XX")
    assert bad.value.code == "INVALID_ARGUMENT"
    assert day.set_country(umbrella, sku, "CN") is False
    ear = emu.add_posting(products=[("Наушники беспроводные", "EAR-BT", 1, "2990.00")])
    ear_needs = day.item_needs(ear)[0]
    assert ear_needs.needs == {Need.GTD}
    day.set_exemplars(ear, {ear_needs.product_id: [Exemplar(ear_needs.exemplar_ids[0], gtd="10702070/011226/0012345")]})
    cheese = emu.add_posting(products=[("Сыр весовой", "CHS-KG", 1, "990.00")])
    cheese_needs = day.item_needs(cheese)[0]
    assert cheese_needs.needs == {Need.WEIGHT} and cheese_needs.weight_max > cheese_needs.weight_min > 0
    day.set_exemplars(cheese, {cheese_needs.product_id: [Exemplar(cheese_needs.exemplar_ids[0], weight=0.45)]},
                      multi_box_qty=1)
    clock.tick(5)
    for number in (umbrella, ear, cheese):
        client.ship(client.get_posting(number))
    plain = emu.add_posting()
    day.set_multibox(plain, 2)
    assert emu.posting(plain)["multi_box_qty"] == 2
    with pytest.raises(OzonRefused):
        day.set_multibox(cheese, 2)  # packed already
    check_exchanges(emu)


def test_labels_not_ready_then_ready_and_one_bad_posting_fails_the_batch(emu: OzonEmulator, client: OzonClient,
                                                                         day: FbsDay, clock: Clock) -> None:
    numbers = [emu.add_posting() for _ in range(3)]
    for n in numbers:
        client.ship(client.get_posting(n))
    assert client.get_posting(numbers[0]).status == "awaiting_deliver"
    early = day.labels(numbers)
    assert isinstance(early, NotReady) and "aren't ready" in early.message
    clock.tick(45)
    pdf = day.labels(numbers)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-") and all(n.encode() in pdf for n in numbers)
    emu.make_unlabelable(numbers[1], "label cannot be generated")
    with pytest.raises(OzonRefused) as refused:
        day.labels(numbers)
    assert refused.value.code == "LABEL_NOT_AVAILABLE" and numbers[1] in refused.value.message
    with pytest.raises(ValueError):
        day.labels([numbers[0]] * 21)
    with pytest.raises(OzonRefused) as packing:
        day.labels([emu.add_posting()])
    assert packing.value.code == "HAS_INCORRECT_STATUS"

    task = day.label_task([numbers[0], numbers[2]])
    assert isinstance(task, LabelTask) and task.task_type == "big_label"
    fresh = emu.add_posting(status="awaiting_deliver")
    waiting = day.label_task([fresh])
    assert isinstance(day.label_file(waiting), NotReady)
    file = day.label_file(task)
    assert isinstance(file, bytes) and file.startswith(b"%PDF-") and numbers[2].encode() in file
    clock.tick(45)
    assert isinstance(day.label_file(waiting.task_id), bytes)
    lonely = day.label_task([numbers[1]])  # only the unlabelable one: the task ends in error
    with pytest.raises(OzonRefused):
        day.label_file(lonely)
    with pytest.raises(OzonRefused) as partly:  # a file without one of the labels is not taken as whole
        day.label_file(day.label_task([numbers[0], numbers[1]]))
    assert partly.value.code == "UNPRINTED_POSTINGS" and numbers[1] in partly.value.message
    check_exchanges(emu)


def test_carriage_create_set_approve_get_and_act(emu: OzonEmulator, client: OzonClient, day: FbsDay) -> None:
    numbers = [emu.add_posting(status="awaiting_deliver") for _ in range(3)]
    method = client.get_posting(numbers[0]).delivery_method_id
    ready = day.ready_for_carriage(method)
    assert ready is not None and ready.ready_count >= 3 and ready.carriages[-1].carriage_id == 0
    assert day.ready_for_carriage(1) is None
    carriage_id = day.create_carriage(method)
    with pytest.raises(OzonRefused) as empty:
        day.create_carriage(method)
    assert empty.value.code == "NO_POSTINGS_FOR_CARRIAGE"
    results = day.set_carriage_postings(carriage_id, [numbers[0], numbers[1], "0000000000-0000-1"])
    assert [(r.posting_number, r.added) for r in results] == [(numbers[0], True), (numbers[1], True),
                                                              ("0000000000-0000-1", False)]
    assert results[2].error == "POSTING_NOT_FOUND"
    new = day.carriage(carriage_id)
    assert new.status == "new" and new.delivery_method_id == method and new.created_at is not None
    with pytest.raises(OzonRefused):
        day.act_pdf(carriage_id)
    day.approve_carriage(carriage_id, containers_count=1)
    formed = day.carriage(carriage_id)
    assert formed.status == "formed" and "get_shipping_list" in formed.available_actions
    act = day.act_pdf(carriage_id)
    assert act.startswith(b"%PDF-") and numbers[0].encode() in act and numbers[2].encode() not in act
    with pytest.raises(OzonRefused) as again:
        day.approve_carriage(carriage_id)
    assert again.value.code == "HAS_INCORRECT_STATUS"
    with pytest.raises(OzonRefused):
        day.carriage(12345)
    day_after = day.ready_for_carriage(method)
    assert day_after is not None and any(c.carriage_id == carriage_id for c in day_after.carriages)
    check_exchanges(emu)


def test_every_fbs_day_method_is_covered(emu: OzonEmulator, client: OzonClient, day: FbsDay, clock: Clock) -> None:
    """Each FBS-day path once through the client, each body checked against Ozon's schemas."""
    number = shoes(emu, qty=1)
    sku = emu.postings[number].products[0]["sku"]
    ids = day.item_needs(number)[0].exemplar_ids
    day.validate_marks(number, {sku: [mark("ALL0001")]})
    day.set_exemplars(number, {sku: [Exemplar(ids[0], (mark("ALL0001"),))]})
    clock.tick(5)
    assert day.exemplar_status(number).done
    day.countries()
    umbrella = emu.add_posting(products=[("Зонт складной", "UMB-01", 1, "990.00")])
    day.set_country(umbrella, emu.postings[umbrella].products[0]["sku"], "RU")
    day.set_multibox(emu.add_posting(), 2)
    packed = emu.add_posting(status="awaiting_deliver")
    clock.tick(45)
    assert isinstance(day.labels([packed]), bytes)
    assert isinstance(day.label_file(day.label_task([packed])), bytes)
    method = client.get_posting(packed).delivery_method_id
    assert day.ready_for_carriage(method) is not None
    carriage_id = day.create_carriage(method, clock.now)
    day.set_carriage_postings(carriage_id, [packed])
    day.approve_carriage(carriage_id)
    day.carriage(carriage_id)
    day.act_pdf(carriage_id)
    assert check_exchanges(emu) >= FBS_DAY_PATHS


def test_needs_are_parsed_and_stored_and_old_json_loads() -> None:
    data = {"posting_number": "1-1-1", "status": "awaiting_packaging", "requirements": {
        "products_requiring_mandatory_mark": [11, "12"], "products_requiring_gtd": [],
        "products_requiring_weight": ["13"], "products_requiring_country": None}}
    posting = parse_posting(data)
    assert posting is not None
    assert posting.needs == {("mandatory_mark", 11), ("mandatory_mark", 12), ("weight", 13)}
    assert posting_from_dict(posting_to_dict(posting)) == posting
    plain = parse_posting({"posting_number": "1-1-2", "status": "awaiting_packaging", "requirements": None})
    assert plain is not None and plain.needs == frozenset()
    assert "needs" not in posting_to_dict(plain)  # rows without needs are stored as before
    old = {"posting_number": "1-1-3", "status": "delivered"}
    assert posting_from_dict(old) == Posting("1-1-3", "delivered", tpl_integration_type="")
    assert hash(posting) != hash(plain)
