"""The Ozon client against httpx.MockTransport handlers that answer like Ozon, on fake time.

Bodies follow Ozon's Seller API documentation (lists and get, writes, errors). Nothing
of ours is patched: the transport, clock, sleep and random source are injected.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.errors import FatalError, OzonAuthError, OzonRefused, OzonUnavailable
from sync.model import CancelReason, Posting, Product
from sync.ozon import OzonClient, RateLimiter
from sync.ozon.client import format_time, split_windows
from sync.ozon.parse import parse_posting, to_datetime, to_int, to_money

CLIENT_ID = "123456"
API_KEY = "0f1e2d3c-4b5a-6978-8899-aabbccddeeff"
PHONE = "+79990001122"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A clock that only moves when someone sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    headers: httpx.Headers


@dataclass
class FakeOzon:
    """Routes path -> handler (a function of the parsed body, or a list of answers played in order)."""

    routes: dict[str, Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.calls.append(Call(request.url.path, body, request.headers))
        route = self.routes.get(request.url.path)
        if route is None:
            return ozon_error(404, 5, "method is not allowed")
        if isinstance(route, list):
            answer = route.pop(0) if len(route) > 1 else route[0]
        else:
            answer = route(body)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path == path]


def ozon_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "details": []}, headers=headers)


def html(status: int) -> httpx.Response:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    return httpx.Response(status, text=page, headers={"content-type": "text/html"})


def v4_posting(number: str, **extra: Any) -> dict[str, Any]:
    """A v4 list item as Ozon documents it (FBS delivered by Ozon)."""
    item: dict[str, Any] = {
        "posting_number": number,
        "order_id": 33301885134,
        "order_number": number.rsplit("-", 1)[0],
        "status": "awaiting_packaging",
        "substatus": "posting_created",
        "delivery_method": {
            "id": 20605650762000,
            "name": "Ozon self-shipment, Sofino",
            "warehouse_id": 20605650762000,
            "warehouse": "Main FBS warehouse",
            "tpl_provider_id": 24,
            "tpl_provider": "Ozon Delivery",
        },
        "tpl_integration_type": "ozon",
        "tracking_number": "",
        "in_process_at": "2026-09-30T05:50:26Z",
        "shipment_date": "2026-09-30T18:00:00.000Z",
        "delivering_date": None,
        "cancellation": {
            "cancel_reason_id": 0,
            "cancel_reason": "",
            "cancellation_type": "",
            "cancellation_initiator": "",
            "cancelled_after_ship": False,
        },
        "customer": None,
        "addressee": None,
        "products": [
            {
                "sku": 1904686181,
                "offer_id": "BAG-GREEN-01",
                "name": "Leather sports bag",
                "quantity": 1,
                "price": {"amount": "1200.00", "currency": "RUB"},
            }
        ],
        "barcodes": None,
        "analytics_data": None,
        "financial_data": None,
        "available_actions": ["cancel", "product_cancel", "ship", "ship_async"],
    }
    item.update(extra)
    return item


RFBS_DETAIL: dict[str, Any] = {
    "result": {
        "posting_number": "48173252-0033-2",
        "order_id": "680420041",
        "order_number": "48173252-0033",
        "status": "awaiting_deliver",
        "substatus": "posting_created",
        "tpl_integration_type": "non_integrated",
        "tracking_number": "",
        "delivery_method": {
            "id": "15110442724000",
            "name": "Courier, own delivery",
            "warehouse_id": "15110442724000",
            "warehouse": "Shop warehouse",
            "tpl_provider_id": 0,
            "tpl_provider": "",
        },
        "in_process_at": "2026-09-29T07:07:32.998146123Z",
        "shipment_date": "2026-09-30T10:00:00Z",
        "delivering_date": None,
        "fact_delivery_date": None,
        "customer": {
            "customer_id": 112233,
            "name": "Ivan P.",
            "phone": PHONE,
            "address": {
                "address_tail": "Moscow, Lenina st. 1, apt 5",
                "city": "Moscow",
                "country": "Russia",
                "region": "Moscow",
                "zip_code": "101000",
                "latitude": 55.75,
                "longitude": 37.61,
            },
        },
        "addressee": {"name": "Ivan P.", "phone": PHONE, "pin": ""},
        "courier": None,
        "products": [
            {
                "sku": "149618972",
                "offer_id": "17125",
                "name": "Kettle",
                "quantity": "2",
                "price": "2000.0000",
                "currency_code": "RUB",
            }
        ],
        "available_actions": ["cancel", "non_int_delivering", "set_track_number", "label_download"],
        "prr_option": {"code": "", "price": "", "currency_code": "RUB", "floor": ""},
        "cancellation": {"cancel_reason_id": "0", "cancel_reason": "", "cancellation_initiator": ""},
        "barcodes": None,
        "analytics_data": None,
        "financial_data": None,
        "legal_info": None,
    }
}


def page(numbers: list[str], cursor: str = "", has_next: bool = False) -> dict[str, Any]:
    return {"postings": [v4_posting(n) for n in numbers], "has_next": has_next, "cursor": cursor}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def ozon() -> FakeOzon:
    return FakeOzon()


@pytest.fixture
def client(ozon: FakeOzon, fake_time: FakeTime) -> Iterator[OzonClient]:
    c = OzonClient(
        CLIENT_ID,
        API_KEY,
        "https://ozon.test",
        transport=httpx.MockTransport(ozon),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rng=random.Random(7),
        rps=1000,
    )
    yield c
    c.close()


SINCE = datetime(2026, 9, 1, tzinfo=UTC)
TO = datetime(2026, 10, 1, tzinfo=UTC)


# -- reads: paging, windows, filters -----------------------------------------------------------


def test_cursor_paging_reads_three_pages(client: OzonClient, ozon: FakeOzon) -> None:
    pages = {"": page(["1-1-1", "1-2-1"], "c1", True), "c1": page(["1-3-1"], "c2", True), "c2": page(["1-4-1"])}
    ozon.routes["/v4/posting/fbs/list"] = lambda body: pages[body["cursor"]]

    got = [p.posting_number for p in client.list_postings(SINCE, TO)]

    assert got == ["1-1-1", "1-2-1", "1-3-1", "1-4-1"]
    bodies = ozon.bodies("/v4/posting/fbs/list")
    assert [b["cursor"] for b in bodies] == ["", "c1", "c2"]
    assert all(b["limit"] == 100 for b in bodies)
    assert all(b["filter"] == bodies[0]["filter"] for b in bodies), "the filter must stay fixed across pages"
    assert client.requests == 3


def test_a_repeated_cursor_stops_the_scan(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = lambda body: page(["1-1-1"], "same", True)

    with pytest.raises(OzonUnavailable, match="cursor"):
        list(client.list_postings(SINCE, TO))
    assert len(ozon.calls) == 2


def test_has_next_without_a_cursor_stops_the_scan(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/unfulfilled/list"] = [page(["1-1-1"], "", True)]

    with pytest.raises(OzonUnavailable, match="cursor"):
        list(client.list_unfulfilled())


def test_a_two_year_range_is_read_in_three_windows_of_at_most_364_days(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = lambda body: page([])
    since, to = datetime(2024, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)

    assert list(client.list_postings(since, to)) == []

    windows = [
        (datetime.fromisoformat(b["filter"]["since"]), datetime.fromisoformat(b["filter"]["to"]))
        for b in ozon.bodies("/v4/posting/fbs/list")
    ]
    assert len(windows) == 3
    assert all(end - start <= timedelta(days=364) for start, end in windows)
    assert windows[0][0] == since and windows[-1][1] == to
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False)), "windows must not leave gaps"


def test_a_posting_on_a_window_boundary_is_yielded_once(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = lambda body: page(["7-7-1"])

    got = list(client.list_postings(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)))

    assert [p.posting_number for p in got] == ["7-7-1"]
    assert len(ozon.calls) == 2


def test_changed_since_goes_into_last_changed_status_date(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = lambda body: page([])
    ozon.routes["/v4/posting/fbs/unfulfilled/list"] = lambda body: page([])
    changed = datetime(2026, 9, 30, 15, 0, tzinfo=timezone(timedelta(hours=3)))

    list(client.list_postings(SINCE, TO, changed_since=changed, changed_to=TO, statuses=["delivering"]))
    list(client.list_unfulfilled(changed_since=changed))
    list(client.list_unfulfilled())

    listed, unfulfilled, full = (c.body["filter"] for c in ozon.calls)
    assert listed["last_changed_status_date"] == {"from": "2026-09-30T12:00:00Z", "to": "2026-10-01T00:00:00Z"}
    assert listed["statuses"] == ["delivering"]
    assert listed["since"] == "2026-09-01T00:00:00Z"
    assert unfulfilled["last_changed_status_date"]["from"] == "2026-09-30T12:00:00Z"
    assert datetime.fromisoformat(unfulfilled["last_changed_status_date"]["to"]) > datetime.now(UTC)
    assert "last_changed_status_date" not in full


def test_request_headers(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v1/roles"] = [{"expires_at": "2026-12-01T09:00:00Z", "roles": []}]

    assert client.key_expires_at() == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    headers = ozon.calls[0].headers
    assert headers["Client-Id"] == CLIENT_ID
    assert headers["Api-Key"] == API_KEY
    assert headers["Content-Type"] == "application/json"
    assert ozon.calls[0].body == {}


# -- parsing -----------------------------------------------------------------------------------


def test_parses_a_v4_list_item(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = [page(["0208245774-0029-1"])]

    (p,) = client.list_postings(SINCE, TO)

    assert p == Posting(
        posting_number="0208245774-0029-1",
        status="awaiting_packaging",
        account="main",
        substatus="posting_created",
        order_number="0208245774-0029",
        tpl_integration_type="ozon",
        delivery_method="Ozon self-shipment, Sofino",
        delivery_method_id=20605650762000,
        warehouse="Main FBS warehouse",
        warehouse_id=20605650762000,
        in_process_at=datetime(2026, 9, 30, 5, 50, 26, tzinfo=UTC),
        shipment_date=datetime(2026, 9, 30, 18, 0, tzinfo=UTC),
        products=(Product(1904686181, "BAG-GREEN-01", "Leather sports bag", 1, Decimal("1200.00")),),
        available_actions=frozenset({"cancel", "product_cancel", "ship", "ship_async"}),
    )


def test_parses_a_v3_get_answer_with_customer_data(ozon: FakeOzon, fake_time: FakeTime) -> None:
    ozon.routes["/v3/posting/fbs/get"] = [RFBS_DETAIL]
    with OzonClient(
        CLIENT_ID,
        API_KEY,
        "https://ozon.test",
        account="shop2",
        transport=httpx.MockTransport(ozon),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    ) as client:
        p = client.get_posting("48173252-0033-2")

    assert ozon.calls[0].body["posting_number"] == "48173252-0033-2"
    assert p.account == "shop2" and p.key == ("shop2", "48173252-0033-2")
    assert p.tpl_integration_type == "non_integrated" and p.scheme.value == "rFBS"
    assert p.delivery_method_id == 15110442724000 and p.warehouse_id == 15110442724000
    assert p.products == (Product(149618972, "17125", "Kettle", 2, Decimal("2000.0000")),)
    assert p.total_price == Decimal("4000")
    assert p.in_process_at == datetime(2026, 9, 29, 7, 7, 32, 998146, tzinfo=UTC)
    assert p.shipment_date == datetime(2026, 9, 30, 10, 0, tzinfo=UTC)
    assert (p.customer_name, p.customer_phone, p.customer_address) == ("Ivan P.", PHONE, "Moscow, Lenina st. 1, apt 5")
    assert "non_int_delivering" in p.available_actions


def test_parses_a_wrapped_list_with_string_ids_and_odd_values(client: OzonClient, ozon: FakeOzon) -> None:
    item = v4_posting(
        "5-5-1",
        status="some_new_status",
        tpl_integration_type="3pl_tracking",
        tracking_number="00012345",
        delivery_method={"id": "42", "name": "Courier", "warehouse_id": "77", "warehouse": "North"},
        in_process_at="",
        shipment_date=None,
        available_actions=None,
        products=[
            {"sku": "11", "offer_id": "A", "name": "Cup", "quantity": "3", "price": 99.5},
            {"sku": 12, "offer_id": "B", "name": "Mug", "quantity": 1, "price": {"amount": 10, "currency": "RUB"}},
            "junk",
        ],
        cancellation={"cancel_reason_id": "352", "cancel_reason": "Out of stock", "cancellation_initiator": "Seller"},
        customer=None,
        addressee={"name": "Anna"},
    )
    ozon.routes["/v4/posting/fbs/unfulfilled/list"] = [{"result": {"postings": [item], "has_next": False}}]

    (p,) = client.list_unfulfilled()

    assert p.status == "some_new_status" and p.tracking_number == "00012345"
    assert (p.delivery_method, p.delivery_method_id, p.warehouse, p.warehouse_id) == ("Courier", 42, "North", 77)
    assert p.in_process_at is None and p.shipment_date is None and p.available_actions == frozenset()
    assert p.products == (Product(11, "A", "Cup", 3, Decimal("99.5")), Product(12, "B", "Mug", 1, Decimal(10)))
    assert (p.cancel_reason_id, p.cancel_reason, p.cancellation_initiator) == (352, "Out of stock", "Seller")
    assert (p.customer_name, p.customer_phone, p.customer_address) == ("Anna", "", "")


def test_address_without_a_tail_is_joined_from_its_parts() -> None:
    item = v4_posting(
        "1-1-1",
        customer={
            "name": "X",
            "phone": "",
            "address": {
                "address_tail": "",
                "zip_code": "101000",
                "country": "Russia",
                "region": "Moscow",
                "city": "Moscow",
            },
        },
    )

    p = parse_posting(item)

    assert p is not None and p.customer_address == "101000, Russia, Moscow"


def test_a_posting_without_a_number_is_skipped_with_a_warning(
    client: OzonClient, ozon: FakeOzon, caplog: pytest.LogCaptureFixture
) -> None:
    broken = {"status": "awaiting_packaging", "customer": {"phone": PHONE}}
    ozon.routes["/v4/posting/fbs/list"] = [{"postings": [broken, v4_posting("2-2-1"), None], "has_next": False}]

    with caplog.at_level(logging.WARNING, logger="sync.ozon"):
        got = list(client.list_postings(SINCE, TO))

    assert [p.posting_number for p in got] == ["2-2-1"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("page 1" in w and "/v4/posting/fbs/list" in w for w in warnings)
    assert PHONE not in caplog.text


def test_cancel_reasons_and_key_expiry(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v2/posting/fbs/cancel-reason/list"] = [
        {
            "result": [
                {"id": 352, "title": "Out of stock", "type_id": "seller", "is_available_for_cancellation": True},
                {"id": "402", "title": "Other", "type_id": "seller"},
                {"id": 500, "title": "Not for you", "type_id": "buyer", "is_available_for_cancellation": False},
            ]
        }
    ]
    ozon.routes["/v1/roles"] = [{"roles": []}]

    assert client.cancel_reasons() == [CancelReason(352, "Out of stock"), CancelReason(402, "Other")]
    assert client.key_expires_at() is None


# -- writes: bodies and per-posting answers ----------------------------------------------------


def test_ship_sends_all_products_in_one_package_by_sku(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/ship"] = [{"result": ["9-9-1"]}]
    posting = Posting(
        "9-9-1",
        "awaiting_packaging",
        products=(
            Product(185479045, "17125", "Kettle", 2),
            Product(111, "CUP", "Cup", 1),
            Product(185479045, "17125", "Kettle", 1),
        ),
    )

    client.ship(posting)

    (body,) = ozon.bodies("/v4/posting/fbs/ship")
    assert body["posting_number"] == "9-9-1"
    assert body["packages"] == [
        {"products": [{"product_id": 185479045, "quantity": 3}, {"product_id": 111, "quantity": 1}]}
    ]


def test_setter_bodies(client: OzonClient, ozon: FakeOzon) -> None:
    ok = {"result": [{"posting_number": "4-4-1", "result": True, "error": ""}]}
    for path in (
        "/v2/fbs/posting/delivering",
        "/v2/fbs/posting/last-mile",
        "/v2/fbs/posting/delivered",
        "/v2/fbs/posting/tracking-number/set",
    ):
        ozon.routes[path] = [ok]
    ozon.routes["/v2/posting/fbs/awaiting-delivery"] = [{"result": True}]
    ozon.routes["/v2/posting/fbs/cancel"] = [{"result": True}]

    client.set_delivering("4-4-1")
    client.set_last_mile("4-4-1")
    client.set_delivered("4-4-1")
    client.set_tracking_number("4-4-1", "00RA123")
    client.awaiting_delivery("4-4-1")
    client.cancel("4-4-1", 402, "Buyer asked by phone")

    assert [(c.path, c.body) for c in ozon.calls] == [
        ("/v2/fbs/posting/delivering", {"posting_number": ["4-4-1"]}),
        ("/v2/fbs/posting/last-mile", {"posting_number": ["4-4-1"]}),
        ("/v2/fbs/posting/delivered", {"posting_number": ["4-4-1"]}),
        (
            "/v2/fbs/posting/tracking-number/set",
            {"tracking_numbers": [{"posting_number": "4-4-1", "tracking_number": "00RA123"}]},
        ),
        ("/v2/posting/fbs/awaiting-delivery", {"posting_number": ["4-4-1"]}),
        (
            "/v2/posting/fbs/cancel",
            {"posting_number": "4-4-1", "cancel_reason_id": 402, "cancel_reason_message": "Buyer asked by phone"},
        ),
    ]


@pytest.mark.parametrize("error", ["", [], None])
def test_per_posting_success_with_any_empty_error(client: OzonClient, ozon: FakeOzon, error: object) -> None:
    ozon.routes["/v2/fbs/posting/delivering"] = [
        {
            "result": [
                {"posting_number": "8-8-2", "result": False, "error": "TRANSITION_IS_NOT_POSSIBLE"},
                {"posting_number": "8-8-1", "result": True, "error": error},
            ]
        }
    ]

    client.set_delivering("8-8-1")

    assert len(ozon.calls) == 1


@pytest.mark.parametrize("error", ["", [], None, "TRANSITION_IS_NOT_POSSIBLE", ["TRANSITION_IS_NOT_POSSIBLE"]])
def test_per_posting_refusal_inside_a_200(client: OzonClient, ozon: FakeOzon, error: object) -> None:
    ozon.routes["/v2/fbs/posting/delivered"] = [
        {"result": [{"posting_number": "8-8-1", "result": False, "error": error}]}
    ]

    with pytest.raises(OzonRefused) as info:
        client.set_delivered("8-8-1")

    expected = "TRANSITION_IS_NOT_POSSIBLE" if error else "REFUSED"
    assert info.value.code == expected
    assert info.value.posting_number == "8-8-1"
    assert len(ozon.calls) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.awaiting_delivery("3-3-1"),
        lambda c: c.cancel("3-3-1", 352),
    ],
)
def test_result_false_is_a_refusal(client: OzonClient, ozon: FakeOzon, call: Callable[[OzonClient], None]) -> None:
    ozon.routes["/v2/posting/fbs/awaiting-delivery"] = [{"result": False}]
    ozon.routes["/v2/posting/fbs/cancel"] = [{"result": False}]

    with pytest.raises(OzonRefused) as info:
        call(client)

    assert (info.value.code, info.value.posting_number) == ("REFUSED", "3-3-1")


@pytest.mark.parametrize(
    ("status", "message", "code"),
    [
        (400, "POSTING_ALREADY_SHIPPED", "POSTING_ALREADY_SHIPPED"),
        (
            409,
            "rpc error: code = FailedPrecondition desc = TRANSITION_IS_NOT_POSSIBLE: status is delivered",
            "TRANSITION_IS_NOT_POSSIBLE",
        ),
        (400, "Cannot pack: weight too big", "Cannot pack: weight too big"),
        (404, "POSTING_NOT_FOUND", "POSTING_NOT_FOUND"),
    ],
)
def test_business_errors_are_refusals_with_a_code(
    client: OzonClient, ozon: FakeOzon, status: int, message: str, code: str
) -> None:
    ozon.routes["/v4/posting/fbs/ship"] = [ozon_error(status, 5 if status == 404 else 3, message)]

    with pytest.raises(OzonRefused) as info:
        client.ship(Posting("6-6-1", "awaiting_packaging", products=(Product(1, "A", "A", 1),)))

    assert (info.value.code, info.value.message, info.value.posting_number) == (code, message, "6-6-1")
    assert len(ozon.calls) == 1


def test_wrong_cancel_reason_is_a_refusal(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v2/posting/fbs/cancel"] = [ozon_error(400, 3, "HAS_INCORRECT_CANCEL_REASON")]

    with pytest.raises(OzonRefused) as info:
        client.cancel("6-6-1", 999)

    assert info.value.code == "HAS_INCORRECT_CANCEL_REASON"


# -- retries and backoff -----------------------------------------------------------------------


def test_429_is_retried_after_retry_after(client: OzonClient, ozon: FakeOzon, fake_time: FakeTime) -> None:
    limited = ozon_error(
        429, 8, "You have reached request rate limit per second", {"retry-after": "3", "ratelimit-remaining": "0"}
    )
    ozon.routes["/v3/posting/fbs/get"] = [limited, RFBS_DETAIL]

    assert client.get_posting("48173252-0033-2").posting_number == "48173252-0033-2"

    assert len(ozon.calls) == 2
    assert [s for s in fake_time.sleeps if s >= 3.0], f"no sleep honoured retry-after: {fake_time.sleeps}"


def test_reads_retry_5xx_a_bounded_number_of_times(ozon: FakeOzon, fake_time: FakeTime) -> None:
    ozon.routes["/v4/posting/fbs/list"] = [ozon_error(500, 13, "Internal error")]
    with OzonClient(
        CLIENT_ID,
        API_KEY,
        "https://ozon.test",
        max_retries=4,
        transport=httpx.MockTransport(ozon),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rng=random.Random(1),
        rps=1000,
    ) as client:
        with pytest.raises(OzonUnavailable) as info:
            list(client.list_postings(SINCE, TO))

    assert len(ozon.calls) == 5
    assert str(info.value) == "Ozon did not answer /v4/posting/fbs/list after 5 tries (HTTP 500 Internal error)"
    backoffs = [s for s in fake_time.sleeps if s > 0.01]
    assert len(backoffs) <= 4 and all(s <= 10.0 for s in fake_time.sleeps)


def test_backoff_is_full_jitter_exponential(ozon: FakeOzon, fake_time: FakeTime) -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    ozon.routes["/v1/roles"] = [ozon_error(503, 14, "unavailable")]
    with OzonClient(
        CLIENT_ID,
        API_KEY,
        "https://ozon.test",
        max_retries=6,
        transport=httpx.MockTransport(ozon),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rng=Top(),
        rps=1e9,
    ) as client:
        with pytest.raises(OzonUnavailable):
            client.key_expires_at()

    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_read_timeouts_are_retried(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v3/posting/fbs/get"] = [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset"), RFBS_DETAIL]

    assert client.get_posting("48173252-0033-2").status == "awaiting_deliver"
    assert len(ozon.calls) == 3


def test_writes_are_not_retried_on_500(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v2/fbs/posting/delivering"] = [ozon_error(500, 13, "Internal error")]

    with pytest.raises(OzonUnavailable, match="unknown"):
        client.set_delivering("4-4-1")

    assert len(ozon.calls) == 1


def test_writes_are_not_retried_on_a_timeout(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/ship"] = [httpx.ReadTimeout("slow")]

    with pytest.raises(OzonUnavailable, match="unknown"):
        client.ship(Posting("9-9-1", "awaiting_packaging", products=(Product(1, "A", "A", 1),)))

    assert len(ozon.calls) == 1


def test_writes_are_retried_on_429_and_on_a_failed_connect(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v2/posting/fbs/cancel"] = [
        ozon_error(429, 8, "You have reached request rate limit per second", {"retry-after": "1"}),
        httpx.ConnectError("refused"),
        {"result": True},
    ]

    client.cancel("3-3-1", 352)

    assert len(ozon.calls) == 3


def test_rate_limit_that_never_ends_gives_up(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v2/posting/fbs/cancel"] = [ozon_error(429, 8, "You have reached request rate limit per second")]

    with pytest.raises(OzonUnavailable, match="after 5 tries .*rate limit"):
        client.cancel("3-3-1", 352)

    assert len(ozon.calls) == 5


def test_circle_is_open_blocks_the_path_for_three_minutes(
    client: OzonClient, ozon: FakeOzon, fake_time: FakeTime
) -> None:
    ozon.routes["/v4/posting/fbs/unfulfilled/list"] = [ozon_error(429, 8, "Circle is open"), page(["1-1-1"])]
    ozon.routes["/v3/posting/fbs/get"] = [RFBS_DETAIL]

    with pytest.raises(OzonUnavailable, match="Circle is open"):
        list(client.list_unfulfilled())
    fake_time.now += 170
    with pytest.raises(OzonUnavailable, match="blocked"):
        list(client.list_unfulfilled())
    assert len(ozon.calls) == 1, "a blocked path must not be called"
    client.get_posting("48173252-0033-2")  # other methods are not blocked

    fake_time.now += 11
    assert [p.posting_number for p in client.list_unfulfilled()] == ["1-1-1"]
    assert [c.path for c in ozon.calls] == [
        "/v4/posting/fbs/unfulfilled/list",
        "/v3/posting/fbs/get",
        "/v4/posting/fbs/unfulfilled/list",
    ]


# -- access errors -----------------------------------------------------------------------------


def test_wrong_key_names_the_config_key_not_the_key(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v1/roles"] = [ozon_error(404, 5, "Invalid Api-Key, please check the key and try again")]

    with pytest.raises(OzonAuthError) as info:
        client.key_expires_at()

    assert "ozon.api_key" in str(info.value)
    assert API_KEY not in str(info.value)
    assert len(ozon.calls) == 1


def test_bare_404_code_5_is_a_wrong_key(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v1/roles"] = [ozon_error(404, 5, "")]

    with pytest.raises(OzonAuthError, match="ozon.api_key"):
        client.key_expires_at()


def test_non_integer_client_id_names_ozon_client_id(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = [ozon_error(400, 3, "Client-Id header value should be positive integer")]

    with pytest.raises(OzonAuthError, match="ozon.client_id"):
        list(client.list_postings(SINCE, TO))


@pytest.mark.parametrize(
    ("message", "meaning"),
    [
        ("Api-key is deactivated, use another one or generate a new one", "deactivated"),
        ("Api-Key is missing a required role for a method", "role"),
        ("Api-Key is restricted to specific IP addresses", "IP addresses"),
    ],
)
def test_403_access_problems_say_what_to_fix(client: OzonClient, ozon: FakeOzon, message: str, meaning: str) -> None:
    ozon.routes["/v2/fbs/posting/delivering"] = [ozon_error(403, 7, message)]

    with pytest.raises(OzonAuthError) as info:
        client.set_delivering("1-1-1")

    assert meaning in str(info.value) and "ozon.api_key" in str(info.value)
    assert API_KEY not in str(info.value)


def test_a_retired_method_is_fatal(client: OzonClient, ozon: FakeOzon) -> None:
    with pytest.raises(FatalError, match="no longer serves /v1/roles"):
        client.key_expires_at()


# -- answers that are not JSON -----------------------------------------------------------------


def test_html_page_on_a_read_is_retried_then_unavailable(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/list"] = [html(502)]

    with pytest.raises(OzonUnavailable) as info:
        list(client.list_postings(SINCE, TO))

    assert str(info.value).startswith(
        "Ozon answered with something that is not JSON (HTML page?) on /v4/posting/fbs/list"
    )
    assert "<html" not in str(info.value)
    assert len(ozon.calls) == 5


def test_html_page_then_json_on_a_read_succeeds(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v3/posting/fbs/get"] = [httpx.Response(200, text="{not json"), RFBS_DETAIL]

    assert client.get_posting("48173252-0033-2").posting_number == "48173252-0033-2"


def test_html_page_on_a_write_is_not_retried(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v2/fbs/posting/last-mile"] = [html(200)]

    with pytest.raises(OzonUnavailable, match=r"not JSON \(HTML page\?\) on /v2/fbs/posting/last-mile"):
        client.set_last_mile("1-1-1")

    assert len(ozon.calls) == 1


# -- logging -----------------------------------------------------------------------------------


def test_logs_hold_neither_the_key_nor_a_phone(
    client: OzonClient, ozon: FakeOzon, caplog: pytest.LogCaptureFixture
) -> None:
    rfbs_item = dict(RFBS_DETAIL["result"])
    ozon.routes.update(
        {
            "/v4/posting/fbs/list": [
                ozon_error(429, 8, "You have reached request rate limit per second"),
                {"postings": [rfbs_item], "has_next": False},
            ],
            "/v4/posting/fbs/unfulfilled/list": [
                ozon_error(500, 13, "Internal error"),
                {"postings": [rfbs_item, {"customer": {"phone": PHONE}}]},
            ],
            "/v3/posting/fbs/get": [RFBS_DETAIL],
            "/v4/posting/fbs/ship": [ozon_error(400, 3, f"POSTING_ALREADY_SHIPPED for {PHONE}")],
            "/v2/fbs/posting/delivering": [
                {
                    "result": [
                        {"posting_number": "48173252-0033-2", "result": False, "error": "TRANSITION_IS_NOT_POSSIBLE"}
                    ]
                }
            ],
            "/v2/posting/fbs/cancel": [{"result": True}],
            "/v1/roles": [ozon_error(404, 5, "Invalid Api-Key, please check the key and try again")],
            "/v2/posting/fbs/cancel-reason/list": [ozon_error(429, 8, "Circle is open")],
        }
    )
    errors: list[str] = []

    with caplog.at_level(logging.DEBUG):
        list(client.list_postings(SINCE, TO))
        list(client.list_unfulfilled())
        posting = client.get_posting("48173252-0033-2")
        for call in (
            lambda: client.ship(posting),
            lambda: client.set_delivering(posting.posting_number),
            client.key_expires_at,
            client.cancel_reasons,
        ):
            with pytest.raises((OzonRefused, OzonAuthError, OzonUnavailable)) as info:
                call()
            errors.append(str(info.value))
        client.cancel(posting.posting_number, 352)

    assert posting.customer_phone == PHONE
    text = caplog.text
    assert "/v4/posting/fbs/list" in text and "/v2/posting/fbs/cancel" in text
    assert any(r.levelno == logging.DEBUG and " -> 200 " in r.getMessage() for r in caplog.records)
    assert API_KEY not in text and PHONE not in text
    assert all(API_KEY not in e for e in errors)


# -- rate limiter ------------------------------------------------------------------------------


def test_limiter_spaces_requests(fake_time: FakeTime) -> None:
    limiter = RateLimiter(20, clock=fake_time.clock, sleep=fake_time.sleep)
    start = fake_time.now

    for _ in range(50):
        limiter.acquire()

    assert fake_time.now - start >= 2.4
    assert fake_time.now - start < 2.6


def test_limiter_gives_each_thread_its_own_slot() -> None:
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(round(seconds, 6))

    # The clock stands still, so each acquire must reserve the next free slot: 40 distinct waits.
    limiter = RateLimiter(10, clock=lambda: 1000.0, sleep=record)

    def worker() -> None:
        for _ in range(10):
            limiter.acquire()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(waits) == [round(i / 10, 6) for i in range(1, 40)]


def test_the_client_goes_through_the_shared_limiter(ozon: FakeOzon, fake_time: FakeTime) -> None:
    ozon.routes["/v2/posting/fbs/cancel"] = [{"result": True}]
    limiter = RateLimiter(2, clock=fake_time.clock, sleep=fake_time.sleep)
    clients = [
        OzonClient(
            CLIENT_ID,
            API_KEY,
            "https://ozon.test",
            limiter=limiter,
            transport=httpx.MockTransport(ozon),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
        )
        for _ in range(2)
    ]

    for i in range(3):
        for c in clients:
            c.cancel(f"1-1-{i}", 352)

    assert fake_time.now - 1000.0 == pytest.approx(2.5)
    assert sum(c.requests for c in clients) == 6
    for c in clients:
        c.close()


def test_limiter_rejects_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="rps"):
        RateLimiter(0)


# -- helpers and tolerant parsers ----------------------------------------------------------------


def test_split_windows_edges() -> None:
    assert split_windows(TO, SINCE) == []
    assert split_windows(SINCE, TO) == [(SINCE, TO)]
    naive = split_windows(datetime(2026, 1, 1), datetime(2026, 1, 2))
    assert naive[0][0].tzinfo is not None


def test_format_time() -> None:
    assert format_time(datetime(2026, 9, 30, 12, tzinfo=UTC)) == "2026-09-30T12:00:00Z"
    assert format_time(datetime(2026, 9, 30, 12, 0, 0, 123456, tzinfo=UTC)) == "2026-09-30T12:00:00.123Z"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_to_int_reads_numbers_and_numeric_strings(n: int) -> None:
    assert to_int(n) == n
    assert to_int(str(n)) == n
    assert to_int(f" {n} ") == n


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.text(),
        st.floats(),
        st.lists(st.integers()),
        st.dictionaries(st.text(), st.integers()),
    )
)
def test_to_int_never_raises(value: object) -> None:
    assert isinstance(to_int(value), int)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9))
def test_to_money_reads_every_encoding(amount: Decimal) -> None:
    text = f"{amount:f}"
    assert to_money(text) == amount
    assert to_money({"amount": text, "currency": "RUB"}) == amount
    assert to_money({"currency_code": "RUB", "price": text}) == amount
    assert to_money(float(amount)) == Decimal(repr(float(amount)))


@given(st.one_of(st.none(), st.text(), st.floats(), st.booleans(), st.dictionaries(st.text(), st.text())))
def test_to_money_never_raises(value: object) -> None:
    result = to_money(value)
    assert isinstance(result, Decimal) and result.is_finite()


@given(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["Z", "+00:00", "+03:00", "-05:30"]),
)
def test_to_datetime_reads_rfc3339_at_any_precision(moment: datetime, nanos: int, zone: str) -> None:
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micro = f"{moment.microsecond:06d}"
    tz = UTC if zone in ("Z", "+00:00") else datetime.fromisoformat("2000-01-01T00:00:00" + zone).tzinfo
    expected = moment.replace(tzinfo=tz)

    assert to_datetime(f"{base}.{micro}{nanos:03d}{zone}") == expected
    assert to_datetime(f"{base}.{micro}{zone}") == expected
    assert to_datetime(f"{base}.{micro[:3]}{zone}") == expected.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert to_datetime(f"{base}{zone}") == expected.replace(microsecond=0)
    parsed = to_datetime(f"{base}{zone}")
    assert parsed is not None and parsed.tzinfo is not None


@given(st.one_of(st.none(), st.text(), st.integers(), st.floats()))
def test_to_datetime_never_raises(value: object) -> None:
    result = to_datetime(value)
    assert result is None or result.tzinfo is not None


def test_to_datetime_edges() -> None:
    assert to_datetime("") is None
    assert to_datetime(None) is None
    assert to_datetime("0001-01-01T00:00:00Z") is None
    assert to_datetime("9999-12-31T23:59:59.999999900Z") == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert to_datetime("2026-09-30T12:00:00") == datetime(2026, 9, 30, 12, tzinfo=UTC)
    assert to_datetime("2026-02-30T12:00:00Z") is None


def test_an_empty_200_on_a_read_is_retried(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v4/posting/fbs/unfulfilled/list"] = [httpx.Response(200, content=b""), page(["1-1-1"])]

    assert [p.posting_number for p in client.list_unfulfilled()] == ["1-1-1"]
    assert len(ozon.calls) == 2


def test_a_huge_retry_after_is_cut_to_a_minute(client: OzonClient, ozon: FakeOzon, fake_time: FakeTime) -> None:
    limited = ozon_error(429, 8, "You have reached request rate limit per second", {"retry-after": "3600"})
    ozon.routes["/v1/roles"] = [limited, {"expires_at": None}]

    assert client.key_expires_at() is None
    assert max(fake_time.sleeps) == 60.0


def test_a_retry_after_date_and_the_open_end_of_a_change_filter_come_from_the_injected_clock(
        ozon: FakeOzon, fake_time: FakeTime) -> None:
    wall = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    limited = ozon_error(429, 8, "You have reached request rate limit per second",
                         {"retry-after": format_datetime(wall + timedelta(seconds=25), usegmt=True)})
    ozon.routes["/v4/posting/fbs/unfulfilled/list"] = [limited, {"result": {"postings": [], "has_next": False}}]
    with OzonClient(CLIENT_ID, API_KEY, "https://ozon.test", transport=httpx.MockTransport(ozon),
                    clock=fake_time.clock, sleep=fake_time.sleep, rng=random.Random(7), rps=1000,
                    now=lambda: wall) as client:
        assert list(client.list_unfulfilled(changed_since=wall - timedelta(hours=1))) == []
    assert 25.0 in fake_time.sleeps
    window = ozon.calls[-1].body["filter"]["last_changed_status_date"]
    assert window == {"from": "2026-12-02T11:00:00Z", "to": "2026-12-03T12:00:00Z"}  # a day ahead of the clock


# -- FBO postings and returns (read-only tabs) ----------------------------------------------------


def fbo_item(number: str, **extra: Any) -> dict[str, Any]:
    """A /v3/posting/fbo/list item as Ozon documents it (schema shape: price as {amount, currency})."""
    item: dict[str, Any] = {
        "posting_number": number, "order_id": 354680487, "order_number": number.rsplit("-", 1)[0],
        "status": "delivering", "substatus": "posting_on_way_to_city", "created_at": "2026-09-20T10:00:00Z",
        "in_process_at": "2026-09-20T10:05:00.123456789Z", "cancel_reason_id": 0,
        "cancellation": {"cancel_reason": "", "cancellation_type": "", "cancellation_initiator": ""},
        "products": [{"sku": 1100526203, "offer_id": "81451", "name": "Doll", "quantity": 2,
                      "price": {"amount": "1530.00", "currency": "RUB"}, "digital_codes": []}],
        "analytics_data": {"city": "Kazan", "delivery_type": "PVZ", "warehouse_id": 15431806189000,
                           "warehouse_name": "KHORUGVINO_RFC"},
        "additional_data": [],
    }
    item.update(extra)
    return item


def return_item(return_id: object, **extra: Any) -> dict[str, Any]:
    """A /v1/returns/list item as Ozon documents it."""
    item: dict[str, Any] = {
        "id": return_id, "posting_number": "58544282-0057-1", "order_number": "58544282-0057",
        "type": "FullReturn", "schema": "Fbs", "return_reason_name": "Customer refused on receipt",
        "product": {"sku": 1100526203, "offer_id": "81451", "name": "Doll", "quantity": 1,
                    "price": {"currency_code": "RUB", "price": 3318}},
        "visual": {"status": {"id": 3, "display_name": "At the pick-up point", "sys_name": "ArrivedAtReturnPlace"},
                   "change_moment": "2026-09-29T06:15:48Z"},
        "logistic": {"return_date": "2026-09-28T10:00:00Z", "barcode": "ii5275210303"},
        "place": {"id": 23869688194000, "name": "Returns SC", "address": "…"},
    }
    item.update(extra)
    return item


def test_fbo_list_pages_by_cursor_and_asks_for_analytics(client: OzonClient, ozon: FakeOzon) -> None:
    pages = {"": {"postings": [fbo_item("1-1-1")], "has_next": True, "cursor": "c1"},
             "c1": {"postings": [fbo_item("1-2-1"), {"order_id": 1}], "has_next": False, "cursor": ""}}
    ozon.routes["/v3/posting/fbo/list"] = lambda body: pages[body["cursor"]]

    got = list(client.list_fbo(SINCE, TO))

    assert [p.posting_number for p in got] == ["1-1-1", "1-2-1"]  # the one without a number is skipped
    p = got[0]
    assert (p.status, p.warehouse, p.city, p.order_number) == ("delivering", "KHORUGVINO_RFC", "Kazan", "1-1")
    assert p.products == (Product(1100526203, "81451", "Doll", 2, Decimal("1530.00")),)
    assert p.total_price == Decimal("3060.00") and p.total_quantity == 2
    assert p.in_process_at == datetime(2026, 9, 20, 10, 5, 0, 123456, tzinfo=UTC)
    bodies = ozon.bodies("/v3/posting/fbo/list")
    assert [b["cursor"] for b in bodies] == ["", "c1"] and all(b["limit"] == 100 for b in bodies)
    assert bodies[0]["filter"] == {"since": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
    assert bodies[0]["with"] == {"analytics_data": True, "financial_data": False, "legal_info": False}


def test_fbo_parsing_takes_strings_numbers_and_the_result_wrapper(client: OzonClient, ozon: FakeOzon) -> None:
    odd = fbo_item("2-2-1", order_id="354680487", status="cancelled",
                   cancellation={"cancel_reason": "Покупатель отменил", "cancellation_type": "client"},
                   products=[{"sku": "11", "offer_id": "A", "name": "Cup", "quantity": "3", "price": "99.50",
                              "currency_code": "RUB"},
                             {"sku": 12, "offer_id": "B", "name": "Mug", "quantity": 1, "price": 10}],
                   analytics_data=None, created_at=None)
    ozon.routes["/v3/posting/fbo/list"] = [{"result": {"postings": [odd], "has_next": False}}]
    ozon.routes["/v2/posting/fbo/get"] = [{"result": fbo_item("3-3-1", products=[
        {"sku": 5, "offer_id": "C", "name": "Pan", "quantity": 1, "price": "137.00", "currency_code": "RUB"}])}]

    (p,) = client.list_fbo(SINCE, TO)
    one = client.get_fbo("3-3-1")

    assert p.products == (Product(11, "A", "Cup", 3, Decimal("99.50")), Product(12, "B", "Mug", 1, Decimal(10)))
    assert (p.cancel_reason, p.warehouse, p.created_at) == ("Покупатель отменил", "", None)
    assert one.products[0].price == Decimal("137.00") and one.posting_number == "3-3-1"
    assert ozon.bodies("/v2/posting/fbo/get")[0]["posting_number"] == "3-3-1"


def test_fbo_list_splits_a_long_range_into_windows(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v3/posting/fbo/list"] = lambda body: {"postings": [fbo_item("7-7-1")], "has_next": False}

    got = list(client.list_fbo(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)))

    assert [p.posting_number for p in got] == ["7-7-1"] and len(ozon.calls) == 2


@pytest.mark.parametrize("shape", ["numbers", "strings"])
def test_returns_page_by_last_id_in_either_number_shape(client: OzonClient, ozon: FakeOzon, shape: str) -> None:
    def rid(n: int) -> object:
        return str(n) if shape == "strings" else n

    def price(x: float) -> object:
        return str(x) if shape == "strings" else x

    first = [return_item(rid(101)), return_item(rid(102), schema="Fbo", type="Cancellation",
                                                product={"sku": rid(9), "offer_id": "X", "name": "Pan",
                                                         "quantity": rid(2),
                                                         "price": {"currency_code": "RUB", "price": price(10.5)}})]
    pages = {0: {"returns": first, "has_next": True}, 102: {"returns": [return_item(rid(103)), {"id": None}],
                                                            "has_next": False}}
    ozon.routes["/v1/returns/list"] = lambda body: pages[int(body["last_id"])]

    got = list(client.list_returns(SINCE, TO))

    assert [r.id for r in got] == [101, 102, 103]
    r = got[0]
    assert (r.posting_number, r.schema, r.type, r.status, r.status_code, r.place, r.barcode) == (
        "58544282-0057-1", "Fbs", "FullReturn", "At the pick-up point", "ArrivedAtReturnPlace", "Returns SC",
        "ii5275210303")
    assert r.product == Product(1100526203, "81451", "Doll", 1, Decimal(3318))
    assert r.status_changed_at == datetime(2026, 9, 29, 6, 15, 48, tzinfo=UTC)
    assert got[1].product == Product(9, "X", "Pan", 2, Decimal("10.5"))
    bodies = ozon.bodies("/v1/returns/list")
    assert [b["last_id"] for b in bodies] == [0, 102] and all(b["limit"] == 500 for b in bodies)
    assert bodies[0]["filter"] == {"visual_status_change_moment": {"time_from": "2026-09-01T00:00:00Z",
                                                                   "time_to": "2026-10-01T00:00:00Z"}}


def test_returns_that_do_not_move_last_id_on_stop_the_scan(client: OzonClient, ozon: FakeOzon) -> None:
    ozon.routes["/v1/returns/list"] = lambda body: {"returns": [return_item(5)], "has_next": True}

    with pytest.raises(OzonUnavailable, match="last_id"):
        list(client.list_returns(SINCE, TO))
    assert len(ozon.calls) == 2


def test_a_posting_says_which_fields_ozon_left_out() -> None:
    whole = {"posting_number": "1-1", "status": "awaiting_packaging", "substatus": "", "order_number": "1",
             "tpl_integration_type": "ozon", "delivery_method": {"name": "Курьер", "warehouse": "Склад"},
             "in_process_at": "2026-12-01T10:00:00Z", "shipment_date": "2026-12-02T10:00:00Z",
             "tracking_number": "", "cancellation": {}, "products": [], "available_actions": ["ship"]}
    p = parse_posting(whole)
    assert p is not None and p.unknown == frozenset() and not p.allows("cancel")
    gaps = parse_posting({**whole, "order_number": None, "delivery_method": None, "shipment_date": "garbage",
                          "available_actions": None, "products": None})
    assert gaps is not None and gaps.unknown == {"order_number", "delivery_method", "delivery_method_id", "warehouse",
                                                 "warehouse_id", "shipment_date", "available_actions", "products"}
    assert gaps.allows("cancel")  # Ozon did not say: the call decides
    old = replace(p, order_number="1", warehouse="Склад", delivery_method="Курьер")
    filled = gaps.known_from(old)
    assert (filled.order_number, filled.warehouse, filled.shipment_date) == ("1", "Склад", p.shipment_date)
    assert filled.unknown == {"available_actions"} and filled.allows("cancel")
    missing_status = parse_posting({"posting_number": "1-1"})
    assert missing_status is not None and {"status", "substatus", "tpl_integration_type"} <= missing_status.unknown
