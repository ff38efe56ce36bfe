"""The Ozon emulator: its rules, its faults, and its bodies checked against Ozon's own API description.

The contract test drives every emulated method through our real client (so both sides' bodies are
checked) and validates each request and answer with the schemas extracted from Ozon's OpenAPI file
into tests/data/ozon_schemas.json (tests/data/extract_ozon_schemas.py). Objects are checked strictly:
a field name that is not in Ozon's description fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from sync.emulators.ozon import Faults, OzonEmulator, available_actions
from sync.errors import OzonAuthError, OzonRefused, OzonUnavailable
from sync.ozon.client import OzonClient
from tests.fake_time import Clock
from tests.schemas import strict

SCHEMAS = json.loads((Path(__file__).parent / "data" / "ozon_schemas.json").read_text(encoding="utf-8"))["paths"]
KEY = "emulator-key"


def check(path: str, kind: str, body: Any) -> None:
    jsonschema.validate(body, strict(SCHEMAS[path][kind]))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=5, postings=30, fbo=12, returns=6, api_key=KEY, ship_delay=60, clock=clock,
                      record_exchanges=True) as e:
        yield e


@pytest.fixture
def client(emu: OzonEmulator) -> Iterator[OzonClient]:
    with OzonClient("123456", KEY, emu.base_url, rps=1000, max_retries=1, sleep=lambda s: None) as c:
        yield c


def raw(emu: OzonEmulator, path: str, body: Any, key: str = KEY, client_id: str = "123456") -> httpx.Response:
    return httpx.post(emu.base_url + path, json=body, headers={"Client-Id": client_id, "Api-Key": key}, timeout=5)


# --- contract --------------------------------------------------------------------------------------


def test_every_emulated_method_matches_ozons_description(emu: OzonEmulator, client: OzonClient,
                                                          clock: Clock) -> None:
    now = clock.now
    list(client.list_postings(now - timedelta(days=30), now + timedelta(days=1)))
    list(client.list_postings(now - timedelta(days=30), now, changed_since=now - timedelta(hours=1)))
    list(client.list_unfulfilled())
    list(client.list_unfulfilled(changed_since=now - timedelta(days=2), statuses=["awaiting_packaging"]))
    client.cancel_reasons()
    client.key_expires_at()
    fbs = emu.add_posting()
    client.ship(client.get_posting(fbs))
    with pytest.raises(OzonRefused):
        client.ship(client.get_posting(fbs))  # still packing: refused
    disputed = emu.add_posting()
    emu.set_state(disputed, "arbitration")
    client.awaiting_delivery(disputed)
    rfbs = emu.add_posting(scheme="rFBS", status="awaiting_deliver")
    client.set_tracking_number(rfbs, "0012345678")
    client.set_delivering(rfbs)
    client.set_last_mile(rfbs)
    client.set_delivered(rfbs)
    with pytest.raises(OzonRefused):
        client.set_delivering(fbs)  # per-posting error inside a 200
    with pytest.raises(OzonRefused):
        client.set_tracking_number(fbs, "1")
    cancel = emu.add_posting()
    with pytest.raises(OzonRefused):
        client.cancel(cancel, 667)
    client.cancel(cancel, 402, "нет на складе")
    with pytest.raises(OzonRefused):
        client.get_posting("0000000000-0000-1")
    fbo = list(client.list_fbo(now - timedelta(days=30), now))
    assert len(fbo) == 12 and client.get_fbo(fbo[0].posting_number) == fbo[0]
    with pytest.raises(OzonRefused):
        client.get_fbo("0000000000-0000-1")
    assert len(list(client.list_returns(now - timedelta(days=30), now))) == 6
    seen: set[str] = set()
    for path, request, status, answer in emu.exchanges:
        seen.add(path)
        check(path, "request", request)
        check(path, "response" if status == 200 else "error", answer)
    assert seen == set(SCHEMAS)


def test_error_bodies_are_rpc_status(emu: OzonEmulator) -> None:
    r = raw(emu, "/v3/posting/fbs/get", {"posting_number": "x"}, key="wrong")
    assert r.status_code == 404 and r.json()["code"] == 5 and "Invalid Api-Key" in r.json()["message"]
    check("/v3/posting/fbs/get", "error", r.json())
    r = raw(emu, "/v1/roles", {}, client_id="abc")
    assert r.status_code == 400 and r.json()["code"] == 3 and "Client-Id" in r.json()["message"]
    r = raw(emu, "/v3/posting/fbs/list", {})  # switched off in 2026
    assert r.status_code == 404 and r.json()["message"] == "method is not allowed"


# --- lists -------------------------------------------------------------------------------------------


def test_cursor_pages_cover_every_posting_once(clock: Clock) -> None:
    with OzonEmulator(seed=2, postings=250, api_key=KEY, clock=clock) as emu:
        since, to = clock.now - timedelta(days=30), clock.now
        numbers: list[str] = []
        cursor, pages = "", 0
        while True:
            body = raw(emu, "/v4/posting/fbs/list", {"cursor": cursor, "limit": 100, "filter": {
                "since": since.isoformat(), "to": to.isoformat()}}).json()
            pages += 1
            numbers += [p["posting_number"] for p in body["postings"]]
            if not body["has_next"]:
                break
            cursor = body["cursor"]
        assert pages == 3 and len(numbers) == len(set(numbers)) == 250
        assert raw(emu, "/v4/posting/fbs/list", {"limit": 101, "filter": {"since": since.isoformat(),
                                                                           "to": to.isoformat()}}).status_code == 400
        long = raw(emu, "/v4/posting/fbs/list", {"limit": 10, "filter": {
            "since": (to - timedelta(days=400)).isoformat(), "to": to.isoformat()}})
        assert long.status_code == 400 and long.json()["message"] == "PERIOD_IS_TOO_LONG"


def test_fbo_list_pages_by_cursor_filters_and_refuses_a_long_period(clock: Clock) -> None:
    with OzonEmulator(seed=2, postings=0, fbo=150, api_key=KEY, clock=clock) as emu:
        since, to = clock.now - timedelta(days=30), clock.now
        numbers: list[str] = []
        cursor, pages = "", 0
        while True:
            body = raw(emu, "/v3/posting/fbo/list", {"cursor": cursor, "limit": 100, "filter": {
                "since": since.isoformat(), "to": to.isoformat()}}).json()
            check("/v3/posting/fbo/list", "response", body)
            pages += 1
            numbers += [p["posting_number"] for p in body["postings"]]
            if not body["has_next"]:
                break
            cursor = body["cursor"]
        assert pages == 2 and len(numbers) == len(set(numbers)) == 150 and numbers == emu.fbo_numbers()
        delivered = raw(emu, "/v3/posting/fbo/list", {"limit": 100, "filter": {"statuses": ["delivered"]}}).json()
        assert {p["status"] for p in delivered["postings"]} == {"delivered"}
        assert len(delivered["postings"]) == len(emu.fbo_numbers(status="delivered"))
        assert "analytics_data" not in delivered["postings"][0]  # only with with.analytics_data
        assert raw(emu, "/v3/posting/fbo/list", {"limit": 101}).status_code == 400
        long = raw(emu, "/v3/posting/fbo/list", {"limit": 10, "filter": {
            "since": (to - timedelta(days=400)).isoformat(), "to": to.isoformat()}})
        assert long.status_code == 400 and long.json()["message"] == "PERIOD_IS_TOO_LONG"


def test_returns_page_by_last_id_and_filter_by_status_change(clock: Clock) -> None:
    with OzonEmulator(seed=2, postings=10, fbo=10, returns=0, api_key=KEY, clock=clock) as emu:
        old = emu.add_return()
        clock.now += timedelta(days=2)
        ids = [emu.add_return(status="ArrivedAtReturnPlace") for _ in range(7)]
        window = {"time_from": (clock.now - timedelta(days=1)).isoformat(), "time_to": clock.now.isoformat()}
        got, last_id = [], 0
        while True:
            body = raw(emu, "/v1/returns/list", {"limit": 3, "last_id": last_id,
                                                 "filter": {"visual_status_change_moment": window}}).json()
            check("/v1/returns/list", "response", body)
            got += [r["id"] for r in body["returns"]]
            if not body["has_next"]:
                break
            last_id = got[-1]
        assert got == ids and old not in got  # its status changed before the window
        emu.set_return_status(old, "ReceivedBySeller")
        body = raw(emu, "/v1/returns/list", {"limit": 500, "filter": {"visual_status_change_moment": window}}).json()
        assert old in [r["id"] for r in body["returns"]]
        moved = next(r for r in body["returns"] if r["id"] == old)
        assert moved["visual"]["status"]["sys_name"] == "ReceivedBySeller"
        assert raw(emu, "/v1/returns/list", {"last_id": 0}).status_code == 400  # limit is required
        both = raw(emu, "/v1/returns/list", {"limit": 10, "filter": {"visual_status_change_moment": window,
                                                                     "logistic_return_date": window}})
        assert both.status_code == 400


def test_changed_since_returns_only_what_changed(emu: OzonEmulator, client: OzonClient, clock: Clock) -> None:
    start = clock.now
    clock.now += timedelta(minutes=10)
    moved = emu.numbers(status="awaiting_packaging")[0]
    emu.buyer_cancel(moved)
    changed = list(client.list_postings(start - timedelta(days=30), start + timedelta(days=1),
                                        changed_since=start + timedelta(minutes=1)))
    assert [p.posting_number for p in changed] == [moved]
    assert moved not in [p.posting_number for p in client.list_unfulfilled()]


def test_seeded_postings_repeat_and_cover_every_scheme() -> None:
    a = OzonEmulator(seed=9, postings=60)
    b = OzonEmulator(seed=9, postings=60)
    assert a.numbers() == b.numbers()
    kinds = {(a.posting(n)["tpl_integration_type"]) for n in a.numbers()}
    assert kinds == {"ozon", "non_integrated", "3pl_tracking"}
    fbs = a.posting(a.numbers(scheme="FBS")[0])
    assert fbs.get("customer") is None  # Ozon delivers: no buyer data
    rfbs_open = [a.posting(n) for n in a.numbers(scheme="rFBS", status="awaiting_deliver")]
    assert rfbs_open and all(p["customer"]["phone"].startswith("+7") for p in rfbs_open)


# --- writes --------------------------------------------------------------------------------------------


def test_ship_is_asynchronous_and_may_fail(clock: Clock) -> None:
    with OzonEmulator(seed=1, postings=0, api_key=KEY, ship_delay=30, ship_fail_rate=1.0, clock=clock) as emu, \
            OzonClient("123456", KEY, emu.base_url) as c:
        number = emu.add_posting()
        c.ship(c.get_posting(number))
        p = c.get_posting(number)
        assert p.status == "awaiting_packaging" and "ship_async_in_process" in p.available_actions
        assert "ship" not in p.available_actions
        clock.now += timedelta(seconds=31)
        p = c.get_posting(number)
        assert (p.status, p.substatus) == ("awaiting_packaging", "ship_failed") and "ship" in p.available_actions
        emu.ship_fail_rate = 0.0
        c.ship(p)
        clock.now += timedelta(seconds=31)
        assert c.get_posting(number).status == "awaiting_deliver"
        assert [e["accepted"] for e in emu.write_log] == [True, True]


def test_ship_checks_products(emu: OzonEmulator) -> None:
    number = emu.add_posting(products=[("Чайник", "KET-17", 2, "1000.00")])
    sku = emu.posting(number)["products"][0]["sku"]
    r = raw(emu, "/v4/posting/fbs/ship", {"posting_number": number, "packages": [{"products": [
        {"product_id": sku, "quantity": 1}]}]})
    assert r.status_code == 400 and r.json()["message"] == "HAS_INCORRECT_PRODUCT_QUANTITY"
    r = raw(emu, "/v4/posting/fbs/ship", {"posting_number": number, "packages": [{"products": [
        {"product_id": 1, "quantity": 2}]}]})
    assert r.json()["message"] == "UNKNOWN_PRODUCT_DEFINED"
    assert not any(e["accepted"] for e in emu.write_log)


def test_rfbs_setters_report_per_posting_errors_in_a_200(emu: OzonEmulator) -> None:
    own = emu.add_posting(scheme="rFBS", status="awaiting_deliver")
    carrier = emu.add_posting(scheme="rFBS", integration="3pl_tracking", status="awaiting_deliver")
    r = raw(emu, "/v2/fbs/posting/delivering", {"posting_number": [own, carrier, "nope"]})
    assert r.status_code == 200
    assert [(x["result"], x["error"]) for x in r.json()["result"]] == [
        (True, ""), (False, "HAS_INCORRECT_TPL_INTEGRATION_TYPE"), (False, "POSTING_NOT_FOUND")]
    r = raw(emu, "/v2/fbs/posting/delivered", {"posting_number": [own]})
    assert r.json()["result"][0]["result"] is True
    r = raw(emu, "/v2/fbs/posting/delivered", {"posting_number": [own]})
    assert r.json()["result"][0] == {"posting_number": own, "result": False, "error": "TRANSITION_IS_NOT_POSSIBLE"}


def test_cancel_reason_rules(emu: OzonEmulator, client: OzonClient) -> None:
    packing = emu.add_posting()
    with pytest.raises(OzonRefused) as err:
        client.cancel(packing, 665)
    assert err.value.code == "HAS_INCORRECT_CANCEL_REASON"
    with pytest.raises(OzonRefused):
        client.cancel(packing, 402)  # "other" needs the seller's words
    client.cancel(packing, 352)
    p = emu.posting(packing)
    assert p["status"] == "cancelled" and p["cancellation"]["cancel_reason_id"] == 352
    with pytest.raises(OzonRefused) as err:
        client.cancel(packing, 352)
    assert err.value.code == "POSTING_ALREADY_CANCELLED"
    in_delivery = emu.add_posting(scheme="rFBS", status="delivering")
    client.cancel(in_delivery, 667)
    assert emu.posting(in_delivery)["status"] == "cancelled"


def test_write_log_marks_duplicates_and_is_written_as_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "writes.jsonl"
    with OzonEmulator(seed=1, postings=0, api_key=KEY, write_log_path=log) as emu, \
            OzonClient("123456", KEY, emu.base_url) as c:
        number = emu.add_posting(scheme="rFBS", status="awaiting_deliver")
        c.set_tracking_number(number, "RA1")
        c.set_tracking_number(number, "RA1")  # the same edit again: Ozon had it already
        lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [x["duplicate"] for x in lines] == [False, True] and lines == emu.write_log
    assert {"time", "path", "posting_number", "action", "accepted", "applied", "duplicate", "error"} <= set(lines[0])


def test_available_actions_follow_ozons_rules() -> None:
    assert "ship" in available_actions("awaiting_packaging", "posting_created", "ozon")
    assert "ship" not in available_actions("awaiting_packaging", "posting_created", "ozon", shipping=True)
    assert "non_int_delivering" not in available_actions("awaiting_deliver", "", "3pl_tracking")
    assert "set_track_number" not in available_actions("awaiting_deliver", "", "ozon")
    assert "awaiting_delivery" not in available_actions("arbitration", "", "non_integrated")
    assert "non_int_last_mile" not in available_actions("delivering", "posting_in_courier_service", "non_integrated")
    assert available_actions("delivering", "posting_conditionally_delivered", "non_integrated") == frozenset()
    assert available_actions("delivered", "posting_delivered", "non_integrated") == frozenset()


# --- limits and faults -----------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after() -> None:
    with OzonEmulator(seed=1, postings=0, api_key=KEY, rate_limit_rps=3) as emu:
        codes = [raw(emu, "/v1/roles", {}) for _ in range(5)]
    assert [r.status_code for r in codes][:3] == [200, 200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited and limited[0].headers["retry-after"] == "1" and limited[0].json()["code"] == 8


def test_scripted_faults_reach_the_client_as_ozons_would() -> None:
    faults = Faults(applied_share=1.0)
    with OzonEmulator(seed=1, postings=0, api_key=KEY, faults=faults, ship_delay=0) as emu, \
            OzonClient("123456", KEY, emu.base_url, max_retries=2, sleep=lambda s: None) as c:
        number = emu.add_posting()
        faults.queue("/v3/posting/fbs/get", "500", "html")
        p = c.get_posting(number)  # a read is retried through both
        assert emu.request_counts["/v3/posting/fbs/get"] == 3
        faults.queue("/v4/posting/fbs/ship", "500")
        with pytest.raises(OzonUnavailable):
            c.ship(p)  # a write is not retried: the outcome is unknown...
        assert c.get_posting(number).status == "awaiting_deliver"  # ...and indeed Ozon applied it
        faults.queue("/v1/roles", "circle")
        with pytest.raises(OzonUnavailable, match="Circle is open"):
            c.key_expires_at()
        faults.queue("/v2/posting/fbs/cancel-reason/list", "drop", "429")
        assert c.cancel_reasons()


def test_deactivated_key_and_control_api() -> None:
    with OzonEmulator(seed=1, postings=2, api_key=KEY, key_deactivated=True) as emu, \
            OzonClient("123456", KEY, emu.base_url) as c:
        with pytest.raises(OzonAuthError, match="deactivated"):
            c.key_expires_at()
        added = httpx.post(emu.base_url + "/_emulator/postings", json={"scheme": "rFBS"}).json()["posting_number"]
        httpx.post(emu.base_url + "/_emulator/buyer-cancel", json={"posting_number": added})
        assert emu.posting(added)["status"] == "cancelled"
        assert httpx.get(emu.base_url + "/_emulator/log").json() == []
        assert httpx.post(emu.base_url + "/_emulator/deliver", json={"posting_number": "x"}).status_code == 404
        fbo = httpx.post(emu.base_url + "/_emulator/fbo", json={"status": "delivering"}).json()["posting_number"]
        httpx.post(emu.base_url + "/_emulator/fbo-state", json={"posting_number": fbo, "status": "delivered"})
        assert emu.fbo_numbers(status="delivered") == [fbo]
        rid = httpx.post(emu.base_url + "/_emulator/returns", json={"posting_number": fbo}).json()["id"]
        assert emu.return_ids() == [rid]
        assert httpx.post(emu.base_url + "/_emulator/fbo-state", json={"posting_number": "x"}).status_code == 400
