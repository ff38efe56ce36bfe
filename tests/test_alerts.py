"""Alerts, end to end: real cycles against the Ozon emulator, a real webhook receiver and SMTP sink on 127.0.0.1.

Commands run in-process through ``sync.cli.main``; the log goes to stderr, which capsys holds.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from sync.alerts import MAX_RETRY_AFTER, MAX_TRIES, Alert, Alerter, AlertKind, WebhookChannel
from sync.cli import main
from sync.config import AlertsConfig, EmailConfig, WebhookConfig, config_from_dict, load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.engine.state import StateStore
from sync.errors import ConfigError
from sync.mapping import PRIVATE_FIELDS, load_columns
from tests.alert_sinks import Receiver, SmtpSink, dead_port
from tests.conftest import API_KEY, write_config
from tests.fake_time import FakeTime

COLUMNS = load_columns().without(PRIVATE_FIELDS)
ROOT = Path(__file__).resolve().parent.parent
SMTP_USER, SMTP_PASSWORD = "shop@example.ru", "pw-9876-secret"
TOKEN = "tok-123456-secret"
HOOK_PATH = "/hooks/s3cr3t-path"
SECRETS = (API_KEY, SMTP_PASSWORD, TOKEN, "s3cr3t-path")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """One command line, its pauses (a webhook's back-off) recorded instead of slept."""
    code = main(list(argv), edges=FakeTime().edges())
    out = capsys.readouterr()
    return code, out.out + out.err


def alerts_yaml(hook_url: str | None, smtp_port: int | None, *, retries: int = 0, extra: str = "") -> str:
    text = "alerts:\n" + extra
    if hook_url is not None:
        text += (f'  webhook:\n    url: "{hook_url}{HOOK_PATH}"\n    retries: {retries}\n    timeout: 5s\n'
                 f'    headers:\n      Authorization: "Bearer {TOKEN}"\n')
    if smtp_port is not None:
        text += (f"  email:\n    host: 127.0.0.1\n    port: {smtp_port}\n    security: none\n"
                 f'    username: {SMTP_USER}\n    password: "${{SMTP_PW}}"\n    from: {SMTP_USER}\n'
                 f"    to: [owner@example.ru, store@example.ru]\n    timeout: 5s\n")
    return text


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
        assert "+7999" not in text  # the emulator's buyer phones


# --- end to end through the commands ----------------------------------------------------------------


def test_each_alert_arrives_once_on_each_channel(tmp_path: Path, emulator: OzonEmulator,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as hook, SmtpSink(login=(SMTP_USER, SMTP_PASSWORD)) as smtp:
        cfg = write_config(tmp_path, emulator.base_url, extra=alerts_yaml(hook.base_url, smtp.port))
        late = emulator.add_posting(age=timedelta(hours=22))  # ordered 22 h ago: ship within 2 h
        emulator.add_posting()  # ship within 24 h: no alert
        refused = emulator.add_posting(scheme="rFBS")
        emulator.key_expires_at = datetime.now(UTC) + timedelta(days=3, hours=1)

        code, out1 = run(capsys, "--config", str(cfg), "pull")
        assert code == 0
        assert sorted(b["kind"] for b in hook.bodies) == ["key_expiry", "not_packed"]
        packed = next(b for b in hook.bodies if b["kind"] == "not_packed")
        assert packed["posting"] == late and packed["account"] == "main"
        assert packed["text"].startswith(f"Отправление {late} ещё не собрано: отгрузить до ")
        assert "осталось 1 ч" in packed["text"] and packed["details"]["shipment_date"]
        key = next(b for b in hook.bodies if b["kind"] == "key_expiry")
        assert key["posting"] is None and "истекает" in key["text"] and "через 3 дн." in key["text"]
        assert {h["authorization"] for _, h, _, _ in hook.requests} == {f"Bearer {TOKEN}"}
        assert {p for p, _, _, _ in hook.requests} == {HOOK_PATH}
        [mail] = smtp.mails
        assert mail.login == (SMTP_USER, SMTP_PASSWORD) and mail.sender == SMTP_USER
        assert mail.recipients == ["owner@example.ru", "store@example.ru"]
        assert mail.message["Subject"] == "ozon-sync: 2 оповещ."
        assert packed["text"] in mail.body and key["text"] in mail.body
        assert out1.count("Alert: ") == 2 and packed["text"] in out1

        edit_workbook(tmp_path / "orders.xlsx", "Заказы", COLUMNS,
                      {refused: {"status": "Отменено", "cancel_reason": "Покупатель не забрал заказ"}})
        code, out2 = run(capsys, "--config", str(cfg), "sync")
        assert code == 0
        [refusal] = hook.bodies[2:]
        assert refusal["kind"] == "push_refused" and refusal["posting"] == refused
        assert refusal["details"]["typed"] == "Отменено" and refusal["details"]["action"] == "cancel"
        assert "HAS_INCORRECT_CANCEL_REASON" in refusal["details"]["note"]
        assert refusal["text"].startswith(f"Ozon не принял правку отправления {refused} («Отменено»): ")
        assert "эта причина отмены не подходит для отправления" in refusal["text"]
        assert len(smtp.mails) == 2 and smtp.mails[1].message["Subject"].startswith("ozon-sync: Ozon не принял")
        assert out2.count("Alert: ") == 1

        # Nothing new: nothing is sent again, by either command, on any channel.
        code, out3 = run(capsys, "--config", str(cfg), "sync")
        code, out4 = run(capsys, "--config", str(cfg), "push")
        assert len(hook.requests) == 3 and len(smtp.mails) == 2
        assert "Alert" not in out3 + out4
        assert emulator.request_counts["/v1/roles"] == 1  # the key's expiry is asked once a day
        bodies = json.dumps([b for _, _, b, _ in hook.requests], ensure_ascii=False)
        assert_no_secrets(bodies, *(m.message.as_string() for m in smtp.mails), out1, out2, out3, out4)


def test_the_daemon_alerts_once_across_restarts(tmp_path: Path, emulator: OzonEmulator,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as hook:
        cfg = write_config(tmp_path, emulator.base_url, extra=alerts_yaml(hook.base_url, None))
        late = emulator.add_posting(age=timedelta(days=2))  # its deadline passed a day ago
        code, out = run(capsys, "--config", str(cfg), "run", "--cycles", "1")
        assert code == 0
        [body] = hook.bodies
        assert body["kind"] == "not_packed" and "срок отгрузки" in body["text"] and "уже прошёл" in body["text"]
        code, out = run(capsys, "--config", str(cfg), "run", "--cycles", "1")
        assert code == 0 and len(hook.requests) == 1 and "Alert" not in out
        # Packed at Ozon: no alert, however late it is.
        emulator.set_state(late, "awaiting_deliver")
        other = emulator.add_posting(age=timedelta(hours=23))
        run(capsys, "--config", str(cfg), "run", "--cycles", "1")
        assert [b["posting"] for b in hook.bodies] == [late, other]


def test_dead_webhook_and_smtp_do_not_stop_the_cycle_and_are_logged(tmp_path: Path, emulator: OzonEmulator,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    port = dead_port()
    cfg = write_config(tmp_path, emulator.base_url,
                       extra=alerts_yaml(f"http://127.0.0.1:{port}", dead_port(), retries=1))
    late = emulator.add_posting(age=timedelta(hours=23))
    code, out = run(capsys, "--config", str(cfg), "pull")
    assert code == 0 and "pulled 1 posting" in out
    assert f"Alert: Отправление {late} ещё не собрано" in out
    assert f"Alert webhook failed: cannot reach http://127.0.0.1:{port} (ConnectError) (2 tries)" in out
    assert "Alert email failed: sending through 127.0.0.1:" in out
    assert "will be sent again after the next cycle" in out
    assert_no_secrets(out)
    code, out = run(capsys, "--config", str(cfg), "status")
    assert code == 0 and "Alerts not delivered yet: 1" in out and f"email, webhook: Отправление {late}" in out
    state = StateStore(tmp_path / "state.sqlite")
    try:
        [row] = state.pending_alerts()
        assert row.pending == ("email", "webhook") and row.attempts == 1
    finally:
        state.close()


def test_an_alert_a_channel_missed_is_delivered_after_the_next_cycle(tmp_path: Path, emulator: OzonEmulator,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver(503) as hook, SmtpSink() as smtp:
        cfg = write_config(tmp_path, emulator.base_url, extra=alerts_yaml(hook.base_url, smtp.port)
                           .replace(f"    username: {SMTP_USER}\n    password: \"${{SMTP_PW}}\"\n", ""))
        late = emulator.add_posting(age=timedelta(hours=23))
        code, out = run(capsys, "--config", str(cfg), "pull")
        assert code == 0 and "answered HTTP 503" in out
        assert hook.bodies == [] and len(smtp.mails) == 1 and smtp.mails[0].login is None
        code, out = run(capsys, "--config", str(cfg), "pull")
        assert [b["posting"] for b in hook.bodies] == [late]
        assert hook.requests[0][2] == hook.requests[1][2]  # the same alert, same id
        assert len(smtp.mails) == 1 and "Alert:" not in out and "failed" not in out


def test_a_webhook_retries_a_5xx_within_one_delivery(tmp_path: Path, emulator: OzonEmulator,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver(500) as hook:
        cfg = write_config(tmp_path, emulator.base_url, extra=alerts_yaml(hook.base_url, None, retries=1))
        emulator.add_posting(age=timedelta(hours=23))
        code, out = run(capsys, "--config", str(cfg), "pull")
        assert code == 0 and [s for _, _, _, s in hook.requests] == [500, 200] and "failed" not in out


def test_a_rejected_api_key_is_an_alert_without_the_key(tmp_path: Path, emulator: OzonEmulator,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as hook:
        cfg = write_config(tmp_path, emulator.base_url, extra=alerts_yaml(hook.base_url, None))
        cfg.write_text(cfg.read_text(encoding="utf-8").replace(API_KEY, "wrong-key-5555"), encoding="utf-8")
        code, out = run(capsys, "--config", str(cfg), "pull")
        assert code == 1
        code, out2 = run(capsys, "--config", str(cfg), "pull")
        [body] = hook.bodies  # once a day, not once a cycle
        assert body["kind"] == "key_expiry" and body["text"].startswith("Ozon не принимает Api-Key (аккаунт main): ")
        assert "wrong-key-5555" not in json.dumps(hook.requests) + out + out2


def test_alerts_off(tmp_path: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as hook:
        cfg = write_config(tmp_path, emulator.base_url,
                           extra=alerts_yaml(hook.base_url, None, extra="  enabled: false\n"))
        emulator.add_posting(age=timedelta(hours=23))
        code, out = run(capsys, "--config", str(cfg), "pull")
        assert code == 0 and hook.requests == [] and "Alert" not in out
        assert emulator.request_counts.get("/v1/roles", 0) == 0


# --- the Alerter on a real state store ----------------------------------------------------------------


def make_alerter(state: StateStore, cfg: AlertsConfig, now: list[datetime], language: str = "ru",
                 expires: datetime | None = None) -> Alerter:
    return Alerter(cfg, state, keys={"main": lambda: expires}, language=language,
                   tz=ZoneInfo("Europe/Moscow"), clock=lambda: now[0], sleep=lambda s: None,
                   scrub=lambda t: t.replace(API_KEY, "***"))


def add_posting(state: StateStore, number: str, deadline: datetime, now: datetime,
                status: str = "awaiting_packaging") -> None:
    state.upsert_posting("main", number, status, "", {"posting_number": number, "status": status,
                                                        "shipment_date": deadline.isoformat()}, now)


def test_a_moved_deadline_alerts_again_and_english_texts(tmp_path: Path) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    alerter = make_alerter(state, AlertsConfig(unpacked_hours=4, key_expiry_days=14), now, "en",
                           expires=now[0] + timedelta(days=30))
    add_posting(state, "1-1", now[0] + timedelta(hours=3, minutes=30), now[0])
    add_posting(state, "2-1", now[0] + timedelta(hours=5), now[0])
    [a] = alerter.run()
    assert a.text == "Posting 1-1 is not packed yet: ship by 30.11 15:30 (3 h 30 min left)"  # Moscow time
    now[0] += timedelta(hours=2)
    [b] = alerter.run()
    assert b.posting == "2-1" and "3 h 0 min left" in b.text
    assert alerter.run() == []
    add_posting(state, "1-1", now[0] + timedelta(hours=1), now[0])  # Ozon moved the deadline
    [c] = alerter.run()
    assert c.posting == "1-1" and "ship by 30.11 15:00" in c.text
    state.close()


def test_every_accounts_key_is_checked(tmp_path: Path) -> None:
    """With several accounts each key has its own daily check and its own alert."""
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    asked: list[str] = []

    def key(account: str, expires: datetime) -> Callable[[], datetime]:
        return lambda: asked.append(account) or expires

    alerter = Alerter(AlertsConfig(key_expiry_days=14), state, language="en", tz=ZoneInfo("Europe/Moscow"),
                      keys={"shop1": key("shop1", now[0] + timedelta(days=90)),
                            "shop2": key("shop2", now[0] + timedelta(days=5))}, clock=lambda: now[0])
    [a] = alerter.run()
    assert (a.account, asked) == ("shop2", ["shop1", "shop2"])
    assert "(account shop2) expires on 2026-12-05" in a.text
    now[0] += timedelta(hours=2)
    assert alerter.run() == [] and asked == ["shop1", "shop2"]  # once a day, each
    state.close()


def test_the_key_is_checked_once_a_day_and_alerts_once_a_day(tmp_path: Path) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    asked: list[datetime] = []

    def expires() -> datetime:
        asked.append(now[0])
        return datetime(2026, 12, 10, 9, 0, tzinfo=UTC)

    alerter = Alerter(AlertsConfig(key_expiry_days=14), state, keys={"main": expires},
                      language="en", tz=ZoneInfo("Europe/Moscow"), clock=lambda: now[0])
    [a] = alerter.run()
    assert a.text.startswith("The Ozon Api-Key (account main) expires on 2026-12-10, in 10 days.")
    now[0] += timedelta(hours=23)
    assert alerter.run() == [] and len(asked) == 1
    now[0] += timedelta(hours=1)
    [b] = alerter.run()
    assert "in 9 days" in b.text and len(asked) == 2
    state.close()


def test_refusals_alert_once_per_entry_and_are_scrubbed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    # An upgraded state file: a refusal from before alerts existed is not news.
    old = state.enqueue(account="main", number="9-1", action="cancel", target="cancelled", edit="e0",
                        field="status", params={}, from_status="awaiting_packaging", from_substatus="",
                        typed="Отменено", now=now[0] - timedelta(days=3))
    state.move(old.id, "failed", now[0] - timedelta(days=3), outcome="old refusal")
    cycle = state.start_cycle(now[0])
    entry = state.enqueue(account="main", number="1-1", action="set_track_number", target="T1", edit="e1",
                          field="tracking_number", params={}, from_status="awaiting_deliver", from_substatus="",
                          typed=f"+7 999 123-45-67 {API_KEY}", now=now[0])
    state.move(entry.id, "failed", now[0], outcome="30.11 12:00 Not done: Ozon refused — TRANSITION_IS_NOT_POSSIBLE")
    state.finish_cycle(cycle, now[0], "")
    with Receiver() as hook:
        cfg = AlertsConfig(webhook=WebhookConfig(url=hook.base_url))
        alerter = Alerter(cfg, state, keys={}, language="en",
                          tz=ZoneInfo("Europe/Moscow"), clock=lambda: now[0],
                          scrub=lambda t: t.replace(API_KEY, "***").replace("+7 999 123-45-67", "[phone]"))
        caplog.set_level(logging.INFO, logger="sync.alerts")
        [a] = alerter.run()
        assert a.text == ("Ozon did not take the edit of posting 1-1 («[phone] ***»): "
                          "30.11 12:00 Not done: Ozon refused — TRANSITION_IS_NOT_POSSIBLE")
        now[0] += timedelta(minutes=1)
        assert alerter.run() == []
        alerter.close()
        [body] = hook.bodies
        assert body["details"]["typed"] == "[phone] ***" and body["id"] == a.id
        assert API_KEY not in json.dumps(body) + caplog.text and "123-45-67" not in json.dumps(body) + caplog.text
    state.close()


def test_a_channel_that_keeps_failing_is_given_up_after_max_tries(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    add_posting(state, "1-1", now[0] + timedelta(hours=1), now[0])
    with Receiver(*[404] * (MAX_TRIES + 2)) as hook:
        alerter = make_alerter(state, AlertsConfig(webhook=WebhookConfig(url=hook.base_url + "/x", retries=3)), now)
        caplog.set_level(logging.INFO, logger="sync.alerts")
        for _ in range(MAX_TRIES + 2):
            alerter.run()
        alerter.close()
        assert len(hook.requests) == MAX_TRIES  # a 404 is not retried within a delivery
        assert state.pending_alerts() == []
        assert "Gave up sending alert «Отправление 1-1 ещё не собрано" in caplog.text
        assert "answered HTTP 404 (check alerts.webhook.url and alerts.webhook.headers)" in caplog.text
    state.close()


def test_a_webhook_pauses_as_the_receiver_asks_with_jitter_otherwise() -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    answers = [httpx.Response(429, headers={"Retry-After": "3"}),
               httpx.Response(503, headers={"Retry-After": format_datetime(now + timedelta(seconds=7), usegmt=True)}),
               httpx.Response(502), httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)]
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers[len(sent) - 1]

    slept: list[float] = []
    channel = WebhookChannel(WebhookConfig(url="https://hooks.example.ru/x", retries=4),
                             transport=httpx.MockTransport(answer), sleep=slept.append, rng=random.Random(3),
                             clock=lambda: now)
    alert = Alert(AlertKind.NOT_PACKED, "main", "1-1", "not packed", now, id=9)
    assert channel.deliver([alert]) == ([9], None)
    channel.close()
    assert len(sent) == 5 and slept[:2] == [3.0, 7.0] and slept[3] == MAX_RETRY_AFTER
    assert 0 <= slept[2] <= 2.0  # no Retry-After: a jittered pause under the third ceiling


def test_a_webhook_that_stays_down_reports_its_tries() -> None:
    slept: list[float] = []
    channel = WebhookChannel(WebhookConfig(url="https://hooks.example.ru/x", retries=2),
                             transport=httpx.MockTransport(lambda r: httpx.Response(500)), sleep=slept.append)
    alert = Alert(AlertKind.NOT_PACKED, "main", "1-1", "not packed", datetime(2026, 11, 30, tzinfo=UTC), id=1)
    assert channel.deliver([alert]) == ([], "https://hooks.example.ru answered HTTP 500 (3 tries)")
    channel.close()
    assert len(slept) == 2 and 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0


def test_a_posting_someone_asked_to_pack_is_not_alerted(tmp_path: Path) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    add_posting(state, "1-1", now[0] + timedelta(hours=1), now[0])
    state.enqueue(account="main", number="1-1", action="ship", target="awaiting_deliver", edit="e1",
                  field="status", params={}, from_status="awaiting_packaging", from_substatus="",
                  typed="Ожидает отгрузки", now=now[0])
    assert make_alerter(state, AlertsConfig(), now).run() == []
    state.close()


def test_an_old_state_file_gets_the_alerts_table(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    StateStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE alerts")
    db.commit()
    db.close()
    state = StateStore(path)
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    add_posting(state, "1-1", now[0] - timedelta(hours=1), now[0])
    assert [a.posting for a in make_alerter(state, AlertsConfig(), now).run()] == ["1-1"]
    assert state.alert_count("not_packed") == 1
    state.close()


def test_the_emulator_key_expiry_is_settable_over_http(emulator: OzonEmulator) -> None:
    answer = httpx.post(emulator.base_url + "/_emulator/key", json={"expires_in_days": 3}, timeout=5)
    assert answer.status_code == 200
    left = emulator.key_expires_at - datetime.now(UTC)
    assert timedelta(days=2, hours=23) < left <= timedelta(days=3)
    answer = httpx.post(emulator.base_url + "/_emulator/key", json={"expires_at": "2027-01-02T03:04:05Z"}, timeout=5)
    assert answer.json() == {"expires_at": "2027-01-02T03:04:05.000Z"}
    assert httpx.post(emulator.base_url + "/_emulator/key", json={}, timeout=5).status_code == 400


# --- config ------------------------------------------------------------------------------------------

MINIMAL: dict[str, Any] = {
    "ozon": {"client_id": "123456", "api_key": "k", "base_url": "https://api-seller.ozon.ru"},
    "spreadsheet": {"backend": "excel", "path": "orders.xlsx", "worksheet": "Заказы"},
    "state": "state.sqlite",
}


def problems(alerts: Any, tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict({**MINIMAL, "alerts": alerts}, tmp_path, env or {})
    return info.value.problems


def test_alerts_config_defaults_and_full(tmp_path: Path) -> None:
    cfg = config_from_dict(MINIMAL, tmp_path, {})
    assert cfg.alerts == AlertsConfig(enabled=True, unpacked_hours=4.0, key_expiry_days=14)
    full = config_from_dict({**MINIMAL, "alerts": {
        "unpacked_hours": "90m", "key_expiry_days": 7,
        "webhook": {"url": "https://hooks.example.ru/T1/${HOOK}", "timeout": "3s", "retries": 1,
                    "headers": {"Authorization": "Bearer ${TOKEN}"}},
        "email": {"host": "smtp.example.ru", "security": "SSL", "username": "shop", "password": "${PW}",
                  "from": "shop@example.ru", "to": "owner@example.ru"},
    }}, tmp_path, {"HOOK": "abc-secret", "TOKEN": "tok-secret", "PW": "pw-secret"}).alerts
    assert full.unpacked_hours == 1.5 and full.key_expiry_days == 7
    assert full.webhook == WebhookConfig("https://hooks.example.ru/T1/abc-secret", 3.0, 1,
                                         (("Authorization", "Bearer tok-secret"),))
    assert full.email == EmailConfig("smtp.example.ru", "shop@example.ru", ("owner@example.ru",), 465, "ssl", "shop",
                                     "pw-secret", 10.0)
    shown = repr(full)
    assert "abc-secret" not in shown and "tok-secret" not in shown and "pw-secret" not in shown
    assert set(full.secrets()) == {"/T1/abc-secret", "Bearer tok-secret", "tok-secret", "pw-secret"}


@pytest.mark.parametrize(("alerts", "expected"), [
    ({"unpacked_hours": "soon"}, "alerts.unpacked_hours: expected a number of hours or a duration like 90m or 4h"),
    ({"unpacked_hours": -1}, "alerts.unpacked_hours: must be 0 or more hours"),
    ({"key_expiry_days": 1.5}, "alerts.key_expiry_days: expected a whole number"),
    ({"enabled": "maybe"}, "alerts.enabled: expected true or false"),
    ({"unpaked_hours": 4}, "alerts.unpaked_hours: unknown key; did you mean alerts.unpacked_hours?"),
    ({"webhook": "https://x.ru"}, "alerts.webhook: expected a mapping of keys"),
    ({"webhook": {"timeout": 5}}, "alerts.webhook.url: is required"),
    ({"webhook": {"url": "ftp://x.ru"}}, "alerts.webhook.url: expected an http:// or https:// address"),
    ({"webhook": {"url": "https://x.ru", "retries": -1}}, "alerts.webhook.retries: must be at least 0"),
    ({"webhook": {"url": "https://x.ru", "headers": ["a"]}}, "alerts.webhook.headers: expected a mapping"),
    ({"webhook": {"url": "https://x.ru", "headers": {"Content-Type": "x"}}},
     "alerts.webhook.headers: header Content-Type is set by ozon-sync"),
    ({"webhook": {"url": "https://x.ru", "header": {}}}, "alerts.webhook.header: unknown key; did you mean "
                                                         "alerts.webhook.headers?"),
    ({"email": {"host": "smtp.x.ru", "from": "a@x.ru", "to": ["b@x.ru"], "security": "tls"}},
     "alerts.email.security: expected one of starttls, ssl, none"),
    ({"email": {"host": "smtp.x.ru", "from": "a@x.ru"}}, "alerts.email.to: is required"),
    ({"email": {"host": "smtp.x.ru", "from": "a@x.ru", "to": ["not an address"]}},
     "alerts.email.to: expected an e-mail address"),
    ({"email": {"host": "smtp://x.ru", "from": "a@x.ru", "to": ["b@x.ru"]}}, "alerts.email.host: expected a host"),
    ({"email": {"host": "smtp.x.ru", "from": "a@x.ru", "to": ["b@x.ru"], "port": 70000}},
     "alerts.email.port: expected a port number from 1 to 65535"),
    ({"email": {"host": "smtp.x.ru", "from": "a@x.ru", "to": ["b@x.ru"], "password": "p"}},
     "alerts.email.password: is set but alerts.email.username is not"),
    ({"email": {"hots": "smtp.x.ru", "from": "a@x.ru", "to": ["b@x.ru"]}},
     "alerts.email.hots: unknown key; did you mean alerts.email.host?"),
])
def test_alerts_config_problems_name_the_key(tmp_path: Path, alerts: dict[str, Any], expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(alerts, tmp_path)), problems(alerts, tmp_path)


def test_a_secret_in_a_bad_header_is_not_echoed(tmp_path: Path) -> None:
    found = problems({"webhook": {"url": "https://x.ru", "headers": {"X-Token": "line1\nsecret-line2"}}}, tmp_path)
    assert found and not any("secret-line2" in p for p in found)
    found = problems({"webhook": {"url": "https://x.ru", "headers": {"X-Token": "${NOPE}"}}}, tmp_path)
    assert found == ["alerts.webhook.headers.X-Token: environment variable NOPE is not set"]


def test_the_example_alert_blocks_are_valid_when_uncommented(tmp_path: Path) -> None:
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    head, _, block = text.partition("\nalerts:\n")
    lines = []
    for line in block.splitlines():
        m = re.match(r"^  # (\s*[A-Za-z_]+:(\s.*)?)$", line)
        if m:  # a commented-out option, not a sentence
            lines.append("  " + re.sub(r"\s+#.*$", "", m.group(1)))
        elif not line.lstrip().startswith("#"):
            lines.append(line)
    body = "\n".join(lines)
    env = {"OZON_CLIENT_ID": "1", "OZON_API_KEY": "k", "OZON_SYNC_WEBHOOK_URL": "https://hooks.example.ru/x",
           "OZON_SYNC_WEBHOOK_TOKEN": "t", "OZON_SYNC_SMTP_PASSWORD": "p"}
    cfg = load_config(_write(tmp_path, head + "\nalerts:\n" + body + "\n"), env=env)
    assert cfg.alerts.webhook is not None and cfg.alerts.webhook.headers == (("Authorization", "Bearer t"),)
    assert cfg.alerts.email is not None and cfg.alerts.email.to == ("owner@example.ru", "warehouse@example.ru")
    assert cfg.alerts.email.port == 587 and cfg.alerts.email.security == "starttls"


def _write(folder: Path, text: str) -> Path:
    path = folder / "ozon-sync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_failed_entries_since_compares_times_not_text(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "s.sqlite")
    base = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
    for i, at in enumerate([base, base + timedelta(microseconds=500_000), base + timedelta(seconds=1)]):
        e = state.enqueue(account="main", number=f"{i}-1", action="ship", target="awaiting_deliver", edit=f"e{i}",
                          field="status", params={}, from_status="awaiting_packaging", from_substatus="",
                          typed="x", now=at)
        state.move(e.id, "failed", at, outcome="no")
    moscow = ZoneInfo("Europe/Moscow")
    assert [e.number for e in state.failed_entries(base.astimezone(moscow))] == ["0-1", "1-1", "2-1"]
    assert [e.number for e in state.failed_entries(base + timedelta(microseconds=1))] == ["1-1", "2-1"]
    assert [e.number for e in state.failed_entries(base + timedelta(microseconds=500_001))] == ["2-1"]
    state.close()


@pytest.mark.parametrize(("security", "said"), [
    ("starttls", "SMTPNotSupportedError: STARTTLS extension not supported by server"),
    ("ssl", "sending through 127.0.0.1:"),
])
def test_tls_the_server_cannot_speak_is_a_logged_failure(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                         security: str, said: str) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    add_posting(state, "1-1", now[0] + timedelta(hours=1), now[0])
    caplog.set_level(logging.INFO, logger="sync.alerts")
    with SmtpSink() as smtp:
        cfg = AlertsConfig(email=EmailConfig("127.0.0.1", "a@example.ru", ("b@example.ru",), smtp.port, security,
                                             timeout=3))
        [alert] = make_alerter(state, cfg, now).run()
    assert smtp.mails == [] and "Alert email failed: " in caplog.text and said in caplog.text
    [row] = state.pending_alerts()
    assert row.id == alert.id and row.pending == ("email",) and row.attempts == 1
    state.close()


def test_a_failing_check_spares_the_others_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    state = StateStore(tmp_path / "s.sqlite")
    add_posting(state, "1-1", now[0] + timedelta(hours=1), now[0])

    def broken() -> datetime:
        raise RuntimeError("the roles answer made no sense")

    alerter = Alerter(AlertsConfig(), state, keys={"main": broken}, language="en",
                      tz=ZoneInfo("Europe/Moscow"), clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="sync.alerts")
    assert [a.posting for a in alerter.run()] == ["1-1"]
    assert "Checking for alerts failed: RuntimeError: the roles answer made no sense" in caplog.text
    state.close()
    assert alerter.run() == []  # a closed (broken) state store: logged, not raised
    assert "ProgrammingError" in caplog.text
