"""A burst of edits: sent and verified together, in rounds that fit a cycle, in the order people made them,
still exactly once — the Ozon emulator over real HTTP (its ship asynchronous, as Ozon's), a real .xlsx,
a real state file."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.app import open_app
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.engine.cycle import Engine
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.people import SHEET, ExcelPerson
from tests.test_loop import Crash, Loop

SHIP = "/v4/posting/fbs/ship"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Loop]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.3) as emu:
        app = open_app(load_config(write_config(tmp_path, emu.base_url)))
        app.ensure_sheet()
        lp = Loop(app, emu, ExcelPerson(app.config.spreadsheet.path, SHEET))
        yield lp
        lp.app.close()


def engine(lp: Loop, **options: object) -> Engine:
    """The app's engine with these options, waiting up to 3 s (really) for Ozon's asynchronous ship."""
    app = lp.app
    opt = replace(app.engine.opt, verify_wait=3.0, verify_poll=0.2, **options)  # type: ignore[arg-type]
    return Engine(app.ozons, app.backend, app.state, app.columns, app.statuses, opt, days=app.engine.days,
                  sleep=time.sleep)


def packed(lp: Loop, count: int) -> list[str]:
    numbers = [lp.add() for _ in range(count)]
    lp.sync()
    for n in numbers:
        lp.edit(n, status="Ожидает отгрузки")
    return numbers


def ships(lp: Loop) -> list[str]:
    return [e["posting_number"] for e in lp.ozon.write_log if e["path"] == SHIP and e["accepted"]]


def test_a_burst_is_sent_and_verified_together_in_one_cycle_each_once(shop: Loop) -> None:
    numbers = packed(shop, 12)
    rep = engine(shop).run_cycle()
    assert sorted(ships(shop)) == sorted(numbers)  # each once
    assert rep.verified == 12 and not shop.app.state.open_entries()  # all verified while the cycle waited
    for n in numbers:
        assert "Готово" in shop.row(n)["sync_note"] and shop.row(n)["status"] == "Ожидает отгрузки"


def test_a_burst_larger_than_a_cycle_carries_over_keeping_what_was_typed(shop: Loop) -> None:
    numbers = packed(shop, 5)
    small = engine(shop, round_size=2, outbox_budget=0.0)  # one round of two postings a cycle
    small.run_cycle()
    assert ships(shop) == numbers[:2]  # in the order they were typed: row order within the save
    rows = {n: shop.row(n) for n in numbers}
    assert all(rows[n]["status"] == "Ожидает отгрузки" for n in numbers[2:])  # waiting, kept as typed
    assert all("Готово" not in rows[n]["sync_note"] for n in numbers[2:])
    small.run_cycle()
    small.run_cycle()
    assert ships(shop) == numbers and not shop.app.state.open_entries()
    small.run_cycle()
    assert ships(shop) == numbers  # nothing twice


def test_edits_go_out_in_the_order_people_made_them_not_row_order(shop: Loop) -> None:
    first, second = packed(shop, 2)[::-1]  # the lower row is typed first...
    shop.edit(second, status="Ожидает сборки")  # ... and the upper one only in the next save
    shop.ozon.faults.queue("/v4/posting/fbs/ship", "503", "503", "503", "503", "503", "503", "503", "503")
    one = engine(shop, concurrency=1)
    one.run_cycle()  # the first edit is queued; Ozon is down
    shop.edit(second, status="Ожидает отгрузки")
    one.run_cycle()  # Ozon still down: the second is queued behind the first
    shop.ozon.faults.script.clear()
    one.run_cycle()
    assert ships(shop) == [first, second]


def test_a_posting_with_two_edits_moves_them_in_one_cycle_in_order(shop: Loop) -> None:
    number = shop.add(scheme="rFBS", integration="non_integrated", status="awaiting_deliver")  # type: ignore[arg-type]
    shop.sync()
    shop.edit(number, status="Доставляется", tracking_number="RA123456789RU")
    engine(shop).run_cycle()
    paths = [e["path"] for e in shop.ozon.write_log if e["accepted"]]
    assert paths == ["/v2/fbs/posting/tracking-number/set", "/v2/fbs/posting/delivering"]
    assert shop.ozon.posting(number)["status"] == "delivering"


class DiesMidBurst:
    """The real client; the process dies just after the third ship of a burst reached Ozon (the other calls
    in flight may or may not have landed)."""

    def __init__(self, inner: Any):
        self.inner, self.ships = inner, 0
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ship(self, posting: Any) -> None:
        self.inner.ship(posting)
        with self.lock:
            self.ships += 1
            if self.ships == 3:
                raise Crash


def test_exactly_once_across_a_crash_in_the_middle_of_a_burst(shop: Loop) -> None:
    numbers = packed(shop, 8)
    app = shop.app
    dying = Engine({acc: DiesMidBurst(c) for acc, c in app.ozons.items()}, app.backend, app.state, app.columns,
                   app.statuses, app.engine.opt)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        dying.run_cycle()
    assert {e.state for e in app.state.open_entries()} <= {"sending", "sent", "queued"}
    app.close()
    shop.app = open_app(app.config)  # a new process on the same state file
    time.sleep(0.4)  # Ozon finishes the ships that landed
    for _ in range(3):
        engine(shop, settle_seconds=0.0).run_cycle()
    assert sorted(ships(shop)) == sorted(numbers)  # each exactly once
    assert not shop.app.state.open_entries()
    assert all(shop.ozon.posting(n)["status"] == "awaiting_deliver" for n in numbers)


def test_each_note_says_when_its_outcome_came_not_when_the_cycle_began(shop: Loop) -> None:
    first, second = packed(shop, 2)
    start = datetime(2026, 12, 2, 5, 25, tzinfo=UTC)  # 08:25 in Moscow
    ticks = itertools.count()

    def clock() -> datetime:  # a minute passes each time the engine looks at the clock
        return start + timedelta(minutes=next(ticks))

    app = shop.app
    slow = Engine(app.ozons, app.backend, app.state, app.columns, app.statuses,
                  replace(engine(shop).opt, concurrency=1), clock=clock, sleep=time.sleep)
    slow.run_cycle()
    notes = [shop.row(n)["sync_note"] for n in (first, second)]
    assert all("Готово" in note for note in notes)
    stamps = [note.split(" Готово")[0] for note in notes]
    assert stamps[0] != stamps[1] and all(s > "02.12 08:25" for s in stamps), stamps
