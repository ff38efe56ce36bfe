"""`handover.at`: the daemon hands the packed postings over once a day — through the real command line
(`ozon-sync run`, `ozon-sync status`), the state file on disk and the Ozon emulator over HTTP, with a
wall clock the daemon's own pauses move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest

from sync.app import Edges
from sync.cli import main
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.errors import ConfigError
from sync.ozon import OzonClient
from sync.ozon.fbs_day import FbsDay
from tests.conftest import API_KEY, CLIENT_ID, write_config

DAY = datetime(2026, 11, 23, tzinfo=UTC)  # Europe/Moscow, the config's default zone, is UTC+3 all year
AT = "16:00"


class Time:
    """The wall clock and the monotonic one, moved together by the daemon's pauses, or by hand."""

    def __init__(self) -> None:
        self.wall = DAY + timedelta(hours=12)
        self.mono = 1000.0

    def clock(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)

    def local(self, day: int, hh_mm_ss: str) -> None:
        """Set the wall clock to a Moscow time on day ``day`` of the test's month."""
        h, m, s = map(int, hh_mm_ss.split(":"))
        self.wall = DAY.replace(day=day, hour=h, minute=m, second=s) - timedelta(hours=3)

    def edges(self) -> Edges:
        return Edges(clock=self.clock, monotonic=self.monotonic, sleep=self.sleep)


@pytest.fixture
def t() -> Time:
    return Time()


@pytest.fixture
def emu(t: Time) -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0,
                      exemplar_check_delay=0.0, clock=t.clock) as e:
        yield e


def config(tmp_path: Path, emu: OzonEmulator, handover: str = f'handover:\n  at: "{AT}"\n') -> Path:
    return write_config(tmp_path, emu.base_url, extra=handover)


def run(t: Time, capsys: pytest.CaptureFixture[str], cfg: Path, *argv: str) -> tuple[int, str]:
    code = main(["--config", str(cfg), *argv], edges=t.edges())
    out = capsys.readouterr()
    return code, out.out + out.err


def daemon(t: Time, capsys: pytest.CaptureFixture[str], cfg: Path, cycles: int) -> str:
    """`ozon-sync run --cycles N` (a fresh daemon each time: a restart); its output."""
    code, text = run(t, capsys, cfg, "run", "--cycles", str(cycles))
    assert code == 0, text
    assert f"Stopped cleanly after {cycles} cycle" in text  # a hand-over's trouble never stops the sync
    return text


def carriage_calls(emu: OzonEmulator) -> list[str]:
    return [w["action"] for w in emu.write_log if w["action"].startswith("carriage")]


def acts(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "labels").glob("*/act-*.pdf"))


def method_of(emu: OzonEmulator, number: str) -> tuple[int, str]:
    m = emu.posting(number)["delivery_method"]
    return int(m["id"]), str(m["name"])


def test_handed_over_once_after_at_not_before_nor_twice_nor_after_a_restart_and_again_the_next_day(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, emu)
    packed = [emu.add_posting(status="awaiting_deliver") for _ in range(2)]
    t.local(23, "15:59:00")
    text = daemon(t, capsys, cfg, 2)  # 15:59:00 and 15:59:30: not yet
    assert carriage_calls(emu) == [] and acts(tmp_path) == [] and "hand-over" not in text.lower()
    code, status = run(t, capsys, cfg, "status")
    assert code == 0 and "Hand-over today: not yet (handover.at: 16:00)" in status

    t.local(23, "15:59:45")
    text = daemon(t, capsys, cfg, 3)  # 15:59:45 nothing; 16:00:15 the hand-over; 16:00:45 nothing more
    assert carriage_calls(emu) == ["carriage_create", "carriage_approve"]
    (carriage,) = emu.day.carriages.values()
    assert carriage.status == "formed" and sorted(carriage.postings) == sorted(packed)
    assert carriage.created_at >= DAY.replace(hour=13)  # made after 16:00 Moscow time, not at the first cycle
    (act,) = acts(tmp_path)
    assert act.parent.name == "2026-11-23" and all(n.encode() in act.read_bytes() for n in packed)
    _, name = method_of(emu, packed[0])
    (line,) = [line for line in text.splitlines() if "Daily hand-over" in line]
    assert "INFO" in line and f"(account «main»): «{name}»: carriage {carriage.id} with 2 posting(s), formed" in line

    # Packed later the same day: neither the running daemon nor a restarted one hands over again.
    later = emu.add_posting(status="awaiting_deliver")
    t.local(23, "18:30:00")
    daemon(t, capsys, cfg, 2)
    assert carriage_calls(emu) == ["carriage_create", "carriage_approve"] and len(acts(tmp_path)) == 1
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: done at 16:00:15" in status
    assert f"  «{name}»: carriage {carriage.id} with 2 posting(s), formed; act and waybill: {act}" in status

    # The next day: before `at` nothing, after it the day's postings.
    t.local(24, "09:00:00")
    daemon(t, capsys, cfg, 1)
    assert len(carriage_calls(emu)) == 2
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: not yet" in status and "done at" not in status
    t.local(24, "17:45:00")  # a daemon started after `at` does it at once
    daemon(t, capsys, cfg, 1)
    assert carriage_calls(emu) == ["carriage_create", "carriage_approve"] * 2
    second = max(emu.day.carriages.values(), key=lambda c: c.id)
    assert second.postings == [later] and [a.parent.name for a in acts(tmp_path)] == ["2026-11-23", "2026-11-24"]


def test_a_carriage_made_but_not_approved_is_approved_at_the_retry_not_made_again(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, emu)
    packed = emu.add_posting(status="awaiting_deliver")
    emu.faults.applied_share = 1.0
    emu.faults.queue("/v1/carriage/create", "503")  # Ozon makes the carriage; its answer is lost
    t.local(23, "16:00:05")
    text = daemon(t, capsys, cfg, 1)
    assert carriage_calls(emu) == ["carriage_create"]
    assert "WARNING" in text and "the hand-over did not finish" in text and "/v1/carriage/create" in text
    assert "tries it again after 16:10" in text
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: failed at 16:00:05 (1 try); the daemon tries again after 16:10" in status

    t.local(23, "16:06:00")  # restarted within the ten minutes: not yet
    daemon(t, capsys, cfg, 1)
    assert carriage_calls(emu) == ["carriage_create"]
    t.local(23, "16:10:10")  # restarted again, after them: the carriage made is approved
    text = daemon(t, capsys, cfg, 1)
    assert carriage_calls(emu) == ["carriage_create", "carriage_approve"]
    (carriage,) = emu.day.carriages.values()
    assert carriage.status == "formed" and carriage.postings == [packed]
    assert f"carriage {carriage.id} with the postings it held, formed" in text and len(acts(tmp_path)) == 1
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: done at 16:10:10" in status


def test_ozon_refusing_is_logged_the_sync_goes_on_and_it_is_tried_again_ten_minutes_later(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, emu)
    packed = emu.add_posting(status="awaiting_deliver")
    method_id, name = method_of(emu, packed)
    with OzonClient(CLIENT_ID, API_KEY, emu.base_url) as client:  # someone emptied a carriage in the cabinet
        fbs = FbsDay(client)
        empty = fbs.create_carriage(method_id)
        fbs.set_carriage_postings(empty, ["00000000-0000-1"])
    t.local(23, "16:00:05")
    text = daemon(t, capsys, cfg, 2)  # 16:00:05 refused; 16:00:35 not tried again
    assert emu.request_counts["/v1/carriage/approve"] == 1
    assert f"«{name}»: Ozon refused the hand-over: CARRIAGE_HAS_NO_POSTINGS" in text
    sheet = openpyxl.load_workbook(tmp_path / "orders.xlsx")["Заказы"]
    assert packed in [c.value for row in sheet.iter_rows() for c in row]  # the sync itself went on
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: failed at 16:00:05" in status and "CARRIAGE_HAS_NO_POSTINGS" in status

    with OzonClient(CLIENT_ID, API_KEY, emu.base_url) as client:  # put right in the cabinet
        FbsDay(client).set_carriage_postings(empty, [packed])
    t.local(23, "16:10:20")
    daemon(t, capsys, cfg, 1)
    assert emu.request_counts["/v1/carriage/approve"] == 2 and emu.day.carriages[empty].status == "formed"
    assert carriage_calls(emu).count("carriage_create") == 1 and len(acts(tmp_path)) == 1
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: done at 16:10:20" in status and "CARRIAGE_HAS_NO_POSTINGS" not in status


def test_ozon_down_is_a_warning_and_the_hand_over_comes_once_it_answers(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, emu)
    emu.add_posting(status="awaiting_deliver")
    emu.faults.queue("/v2/carriage/delivery/list", *["503"] * 5)  # every try of one call
    t.local(23, "16:30:00")
    text = daemon(t, capsys, cfg, 1)
    assert "The hand-over did not happen: Ozon did not answer /v2/carriage/delivery/list" in text
    assert carriage_calls(emu) == []
    t.local(23, "16:41:00")
    daemon(t, capsys, cfg, 1)
    assert carriage_calls(emu) == ["carriage_create", "carriage_approve"] and len(acts(tmp_path)) == 1
    code, status = run(t, capsys, cfg, "status")
    assert "Hand-over today: done at 16:41:00" in status


def test_only_the_configured_delivery_methods_are_handed_over(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    a = emu.add_posting(status="awaiting_deliver")
    b = emu.add_posting(status="awaiting_deliver")
    emu.set_warehouse(b, "Склад 2", method="Курьер Ozon")
    (id_a, name_a), (id_b, _name_b) = method_of(emu, a), method_of(emu, b)
    cfg = config(tmp_path, emu, f'handover:\n  at: "{AT}"\n  delivery_methods: [{id_b}, "нет такого"]\n')
    t.local(23, "16:00:00")
    daemon(t, capsys, cfg, 1)
    (carriage,) = emu.day.carriages.values()
    assert carriage.delivery_method_id == id_b and carriage.postings == [b]
    # `ozon-sync handover` without --delivery-method takes the same list; the other method still by name
    code, text = run(t, capsys, cfg, "handover")
    assert code == 0 and "Nothing to hand over for" in text and carriage_calls(emu).count("carriage_create") == 1
    code, text = run(t, capsys, cfg, "handover", "--delivery-method", name_a)
    assert code == 0 and f"«{name_a}»: carriage" in text
    assert {c.delivery_method_id for c in emu.day.carriages.values()} == {id_a, id_b}


def test_without_at_the_daemon_hands_nothing_over_and_status_says_nothing_of_it(
        tmp_path: Path, t: Time, emu: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, emu, "")
    emu.add_posting(status="awaiting_deliver")
    t.local(23, "20:00:00")
    daemon(t, capsys, cfg, 2)
    assert carriage_calls(emu) == []
    code, status = run(t, capsys, cfg, "status")
    assert code == 0 and "Hand-over" not in status


def test_the_handover_keys_read(tmp_path: Path, emu: OzonEmulator) -> None:
    cfg = load_config(config(tmp_path, emu, 'handover:\n  at: "9:05"\n  delivery_methods: [24, " Курьер Ozon "]\n'))
    assert cfg.handover.at == time(9, 5) and cfg.handover.delivery_methods == ("24", "Курьер Ozon")
    assert load_config(config(tmp_path, emu, "")).handover.at is None


@pytest.mark.parametrize(("yaml", "message"), [
    ('at: "25:00"', 'handover.at: "25:00" is not a time of day; write it as HH:MM, e.g. "16:00"'),
    ('at: "16:60"', 'handover.at: "16:60" is not a time of day'),
    ('at: "4pm"', 'handover.at: "4pm" is not a time of day'),
    ("at: 16:00", 'handover.at: got the number 960; write the time of day in quotes as HH:MM, e.g. "16:00"'),
    ("at: [16]", "handover.at: expected text, got a list"),
    ("delivery_methods: {a: 1}", "handover.delivery_methods: expected a list of names or ids, got a mapping"),
    ("delivery_methods: [true]", "handover.delivery_methods: expected a list of names or ids"),
    ('delivery_method: ["Курьер"]', "handover.delivery_method: unknown key; did you mean handover.delivery_methods?"),
])
def test_a_bad_handover_value_is_named(tmp_path: Path, emu: OzonEmulator, yaml: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(config(tmp_path, emu, f"handover:\n  {yaml}\n"))
    assert message in str(err.value)
