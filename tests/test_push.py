"""Ozon's push notifications (``ozon.push``): the receiver over real HTTP on 127.0.0.1 — Ozon's bodies and
answers as the Seller API description gives them (tests/data/ozon_push.json, extracted from it), untrusted
input refused in Ozon's error format, and the daemon fetching a pushed posting into the sheet at once, the
Ozon emulator sending the pushes."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.app import App, open_app
from sync.config import load_config
from sync.daemon import Daemon
from sync.emulators.ozon import OzonEmulator
from sync.errors import ConfigError
from sync.push import PushReceiver
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.people import SHEET, ExcelPerson
from tests.test_loop import Loop

PUSH = json.loads((Path(__file__).parent / "data" / "ozon_push.json").read_text(encoding="utf-8"))
NOTES = PUSH["notifications"]
POSTING_TYPES = [k for k in NOTES if k != "TYPE_PING"]
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    r = PushReceiver(f"127.0.0.1:{free_port()}", {"/ozon": "main", "/ozon/shop2": "shop2"}, version="9.9",
                     max_body=4096, max_queued=3).start()
    yield r
    r.stop()


def post(r: PushReceiver, body: Any, path: str = "/ozon", **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"http://127.0.0.1:{r.port}{path}", content=content, timeout=5,
                      headers={"Content-Type": "application/json"}, **kw)


def is_ozon_error(answer: Any) -> bool:
    fields = set(PUSH["answers"]["error"]) - {"error"}
    return (set(answer) == {"error"} and set(answer["error"]) == fields
            and answer["error"]["code"] in PUSH["answers"]["error_codes"])


def test_the_description_gives_every_type_the_receiver_takes() -> None:
    assert set(NOTES) == {"TYPE_PING", "TYPE_NEW_POSTING", "TYPE_POSTING_CANCELLED", "TYPE_STATE_CHANGED",
                          "TYPE_CUTOFF_DATE_CHANGED", "TYPE_DELIVERY_DATE_CHANGED"}
    for kind in POSTING_TYPES:
        assert NOTES[kind]["fields"]["posting_number"]["type"] == "string"
        assert NOTES[kind]["example"]["message_type"] == kind


def test_a_ping_is_answered_with_name_version_and_time_as_ozon_wants(receiver: PushReceiver) -> None:
    r = post(receiver, NOTES["TYPE_PING"]["example"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    answer = r.json()
    assert set(answer) == set(PUSH["answers"]["ping"])
    assert answer["name"] == "ozon-sync" and answer["version"] == "9.9" and DATE_TIME.fullmatch(answer["time"])
    assert receiver.poll() == "" and receiver.take() == {}


def test_each_posting_notification_is_answered_and_queues_its_posting_once(receiver: PushReceiver) -> None:
    for kind in POSTING_TYPES:
        r = post(receiver, NOTES[kind]["example"])
        assert (r.status_code, r.json()) == (200, PUSH["answers"]["success"]), kind
    post(receiver, NOTES["TYPE_NEW_POSTING"]["example"])  # Ozon sends again: still one
    said = receiver.poll()
    assert said.startswith("Ozon pushed 3 postings") and "TYPE_NEW_POSTING ×2" in said
    examples = [NOTES[k]["example"]["posting_number"] for k in POSTING_TYPES]
    assert receiver.take() == {"main": list(dict.fromkeys(examples))}
    assert receiver.take() == {} and receiver.poll() == ""


def test_the_path_says_the_account_never_the_body(receiver: PushReceiver) -> None:
    body = dict(NOTES["TYPE_STATE_CHANGED"]["example"], seller_id=1)
    assert post(receiver, body, "/ozon/shop2").status_code == 200
    assert receiver.take() == {"shop2": [body["posting_number"]]}


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "not JSON"),
    (b'{"message_type": "TYPE_STATE_CHANGED", "posting_number": NaN}', 400, "NaN is not JSON"),
    (b'{"message_type": "TYPE_PING", "message_type": "TYPE_NEW_POSTING"}', 400, "given twice"),
    (b"[1, 2]", 400, "not a JSON object"),
    (b'{"posting_number": "1-1-1"}', 400, "message_type is missing"),
    (b'{"message_type": "TYPE_NEW_POSTING"}', 400, "without a posting number"),
    (b'{"message_type": "TYPE_NEW_POSTING", "posting_number": "../../etc/passwd"}', 400, "without a posting number"),
    (b'{"message_type": "TYPE_NEW_POSTING", "posting_number": 123}', 400, "without a posting number"),
    (b"\xff\xfe", 400, "not JSON"),
    (b'{"message_type": "TYPE_PING", "pad": "' + b"x" * 5000 + b'"}', 413, "larger than 4096 bytes"),
])
def test_untrusted_input_is_refused_in_ozons_error_format_and_queues_nothing(
        receiver: PushReceiver, body: bytes, status: int, words: str) -> None:
    r = post(receiver, body)
    assert r.status_code == status and is_ozon_error(r.json()) and words in r.json()["error"]["message"]
    assert receiver.take() == {}


def test_unknown_types_are_answered_and_ignored_with_a_log_line(receiver: PushReceiver,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "sync.push")
    r = post(receiver, {"message_type": "TYPE_NEW_MESSAGE", "chat_id": "x", "posting_number": "not ours"})
    assert (r.status_code, r.json()) == (200, {"result": True})
    assert receiver.take() == {}
    assert any("Ignored an Ozon notification of type TYPE_NEW_MESSAGE" in m for m in caplog.messages)


def test_other_paths_methods_and_missing_lengths_are_refused(receiver: PushReceiver) -> None:
    assert post(receiver, NOTES["TYPE_PING"]["example"], "/elsewhere").status_code == 404
    r = httpx.get(f"http://127.0.0.1:{receiver.port}/ozon", timeout=5)
    assert r.status_code == 405 and is_ozon_error(r.json())
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as s:
        s.sendall(b"POST /ozon HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert b" 411 " in s.recv(100).split(b"\r\n")[0]


def test_a_stalled_client_holds_nobody_up_and_is_dropped(receiver: PushReceiver) -> None:
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as stalled:
        stalled.sendall(b"POST /ozon HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # and no more
        start = time.monotonic()
        r = post(receiver, NOTES["TYPE_STATE_CHANGED"]["example"])
        assert r.status_code == 200 and time.monotonic() - start < 2  # answered beside the stalled one
        stalled.settimeout(10)
        assert stalled.recv(1000) == b""  # the server gives up on it after its read timeout, answering nothing
        assert time.monotonic() - start < 8
    assert receiver.take() == {"main": [NOTES["TYPE_STATE_CHANGED"]["example"]["posting_number"]]}


def test_the_queue_is_bounded_and_the_poll_is_the_safety_net(receiver: PushReceiver,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    for n in range(5):
        assert post(receiver, {"message_type": "TYPE_STATE_CHANGED", "posting_number": f"1-{n}-1"}).status_code == 200
    assert receiver.take() == {"main": ["1-0-1", "1-1-1", "1-2-1"]}
    assert sum("waits for the next poll" in m for m in caplog.messages) == 2


def test_a_taken_port_is_a_config_error_naming_the_key(receiver: PushReceiver) -> None:
    with pytest.raises(ConfigError, match=r"ozon\.push\.listen: cannot listen on"):
        PushReceiver(receiver.listen, {"/ozon": "main"}, version="1").start()


# --- the emulator pushes, the daemon fetches ------------------------------------------------------------


def test_the_emulators_pushes_have_the_fields_the_description_gives(receiver: PushReceiver) -> None:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu:
        emu.set_push_url(f"http://127.0.0.1:{receiver.port}/ozon", seller_id=int(CLIENT_ID))
        number = emu.add_posting()
        emu.set_state(number, "awaiting_deliver")
        emu.buyer_cancel(number)
        assert emu.pusher.idle()
        sent = emu.pusher.sent
    assert [s["message_type"] for s in sent] == ["TYPE_NEW_POSTING", "TYPE_STATE_CHANGED", "TYPE_POSTING_CANCELLED"]
    for s in sent:
        assert s["status"] == 200 and s["answer"] == {"result": True}
        documented = NOTES[s["message_type"]]["example"]
        assert set(s["body"]) == set(documented), s["message_type"]
        for field, value in s["body"].items():
            assert type(value) is type(documented[field]), (s["message_type"], field)
        if "products" in documented:
            assert set(s["body"]["products"][0]) == set(documented["products"][0])
    assert sent[1]["body"]["new_state"] == "posting_transferring_to_delivery"
    assert sent[2]["body"]["new_state"] == "posting_canceled" and sent[2]["body"]["reason"]["message"]
    assert receiver.take() == {"main": [number]}


@pytest.fixture
def pushed(tmp_path: Path) -> Iterator[tuple[Loop, str]]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu:
        listen = f"127.0.0.1:{free_port()}"
        cfg = load_config(write_config(tmp_path, emu.base_url, extra="schedule:\n  every: 3600s\n",
                                       ozon_extra=f"  push:\n    listen: {listen}\n    path: /ozon/push\n"))
        app = open_app(cfg)
        app.ensure_sheet()
        emu.set_push_url(f"http://{listen}/ozon/push")
        lp = Loop(app, emu, ExcelPerson(cfg.spreadsheet.path, SHEET))
        yield lp, listen
        lp.app.close()


def in_sheet(shop: Loop, number: str) -> dict[str, str] | None:
    """The row of ``number`` as a person opening the workbook sees it (None: not there, or being saved)."""
    try:
        header, rows = shop.person.header(), [r for r in shop.person.rows() if r and r[0] == number]
    except Exception:  # the daemon is replacing the file this moment
        return None
    return dict(zip(header, rows[0], strict=False)) if rows else None


def test_a_new_posting_pushed_by_ozon_is_in_the_sheet_seconds_later_without_a_poll(pushed: tuple[Loop, str]) -> None:
    shop, listen = pushed
    app: App = shop.app
    receivers = app.listen_for_pushes()
    assert [r.listen for r in receivers] == [listen]
    daemon = Daemon(app.run_cycle, every=3600, lock_path=app.config.state.with_suffix(".lock"),
                    install_signals=False, wakers=app.wakers, on_wake=app.wake)
    seen: dict[str, float] = {}

    def ozon_side() -> None:
        try:
            deadline = time.monotonic() + 20
            while daemon.cycles < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # the first cycle has written the sheet
            number = shop.ozon.add_posting()  # a buyer orders: Ozon pushes TYPE_NEW_POSTING
            pushed_at = time.monotonic()
            while time.monotonic() - pushed_at < 10:
                row = in_sheet(shop, number)
                if row and "new" not in seen:
                    seen["new"] = time.monotonic() - pushed_at
                    shop.ozon.buyer_cancel(number)  # and then cancels: TYPE_POSTING_CANCELLED
                    pushed_at = time.monotonic()
                if row and row.get("Статус") == "Отменено":
                    seen["cancelled"] = time.monotonic() - pushed_at
                    return
                time.sleep(0.05)
        finally:
            daemon.stop()

    threading.Thread(target=ozon_side, daemon=True).start()
    daemon.run()
    assert set(seen) == {"new", "cancelled"}, f"the pushed posting did not reach the sheet: {seen}"
    assert daemon.cycles == 1 and daemon.wakes >= 2  # fetched on pushes, not on the hourly cycle
    assert all(s["status"] == 200 for s in shop.ozon.pusher.sent)


def test_a_push_is_not_trusted_only_the_posting_ozon_gives(pushed: tuple[Loop, str],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    shop, listen = pushed
    app: App = shop.app
    app.listen_for_pushes()
    shop.ozon.set_push_url(None)  # no pushes of its own: the forged ones below are all there is
    number = shop.ozon.add_posting()
    forged = dict(NOTES["TYPE_NEW_POSTING"]["example"], posting_number=number, tracking_number="FORGED-1")
    for body in (forged, dict(forged, posting_number="99999999-0001-1")):  # the second: no such posting
        assert httpx.post(f"http://{listen}/ozon/push", json=body, timeout=5).status_code == 200
    caplog.set_level(logging.INFO)
    app.wake(app.receivers[0].poll().split("; "))
    row = in_sheet(shop, number)
    assert row is not None and "FORGED-1" not in row.values()
    assert row["Статус"] == "Ожидает сборки"  # as Ozon gives it
    assert in_sheet(shop, "99999999-0001-1") is None
    assert any("Ozon pushed 99999999-0001-1, but does not give it" in m for m in caplog.messages)


def test_two_accounts_on_one_path_is_a_config_problem_naming_the_key(tmp_path: Path) -> None:
    text = "".join(
        f'  - id: {name}\n    client_id: "{cid}"\n    api_key: k\n    base_url: "http://127.0.0.1:9"\n'
        f'    push: {{listen: "127.0.0.1:8787"}}\n' for name, cid in (("shop1", "1"), ("shop2", "2")))
    (tmp_path / "c.yaml").write_text(f"accounts:\n{text}spreadsheet: {{backend: excel, path: o.xlsx, "
                                     f"worksheet: {SHEET}}}\nstate: s.sqlite\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"accounts\[1\]\.push\.path: accounts\[0\] already receives Ozon's "
                                          r"notifications on 127\.0\.0\.1:8787/ozon; .* e\.g\. /ozon/shop2"):
        load_config(tmp_path / "c.yaml")


def test_the_ping_time_is_the_injected_clock() -> None:
    r = PushReceiver(f"127.0.0.1:{free_port()}", {"/ozon": "main"}, version="1",
                     clock=lambda: datetime.fromisoformat("2026-12-03T10:00:00.123+03:00")).start()
    try:
        assert post(r, NOTES["TYPE_PING"]["example"]).json()["time"] == "2026-12-03T07:00:00.123Z"
    finally:
        r.stop()
