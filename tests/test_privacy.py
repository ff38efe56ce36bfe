"""Buyer privacy: buyer data off by default; when on, only for open rFBS postings, fetched
from /v3/posting/fbs/get, erased after the posting finishes; phones and the Api-Key never in a log;
the state file and its journals private.

Everything runs for real: the Ozon emulator over HTTP, the CLI, an .xlsx read back, the SQLite file.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from sync.app import open_app
from sync.cli import main
from sync.config import load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.engine.state import StateStore
from sync.mapping import load_columns
from tests.conftest import API_KEY, write_config

PRIVACY_ON = "privacy:\n  customer_data: true\n  purge_after_days: 7\n"


def rows_by_number(path: Path) -> dict[str, dict[str, object]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(wb["Заказы"].iter_rows(values_only=True))
    finally:
        wb.close()
    header = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(header, r, strict=False)) for r in rows[1:] if r[0]}


def phone_of(emulator: OzonEmulator, number: str) -> str:
    return str(emulator.posting(number)["customer"]["phone"])


def state_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("state.sqlite*"))


@pytest.fixture
def shop(emulator: OzonEmulator) -> dict[str, str]:
    return {
        "rfbs_open": emulator.add_posting(scheme="rFBS", status="awaiting_packaging"),
        "rfbs_deliver": emulator.add_posting(scheme="rFBS", status="awaiting_deliver"),
        "rfbs_done": emulator.add_posting(scheme="rFBS", status="delivered"),
        "fbs": emulator.add_posting(scheme="FBS"),
    }


def test_buyer_data_is_off_by_default_and_never_stored(tmp_path: Path, emulator: OzonEmulator,
                                                       shop: dict[str, str]) -> None:
    cfg = write_config(tmp_path, emulator.base_url)
    assert main(["--config", str(cfg), "sync"]) == 0
    rows = rows_by_number(tmp_path / "orders.xlsx")
    assert set(rows) == set(shop.values())
    assert not {"Покупатель", "Телефон", "Адрес"} & set(next(iter(rows.values())))
    # the list carries the buyer's name and address: none of it reaches the state file
    for n in (shop["rfbs_open"], shop["rfbs_deliver"]):
        buyer = emulator.posting(n)["customer"]
        assert buyer["name"].encode() not in state_bytes(tmp_path)
        assert buyer["phone"].encode() not in state_bytes(tmp_path)


def test_buyer_data_when_on_only_for_open_rfbs_from_the_detail_call(tmp_path: Path, emulator: OzonEmulator,
                                                                    shop: dict[str, str]) -> None:
    cfg = write_config(tmp_path, emulator.base_url, extra=PRIVACY_ON)
    assert main(["--config", str(cfg), "sync"]) == 0
    rows = rows_by_number(tmp_path / "orders.xlsx")
    for n in (shop["rfbs_open"], shop["rfbs_deliver"]):
        buyer = emulator.posting(n)["customer"]
        assert rows[n]["Покупатель"] == buyer["name"]
        assert rows[n]["Телефон"] == buyer["phone"]  # lists leave it empty: fetched from /v3/posting/fbs/get
        assert buyer["address"]["city"] in str(rows[n]["Адрес"])
    for n in (shop["rfbs_done"], shop["fbs"]):
        assert not rows[n]["Покупатель"] and not rows[n]["Телефон"] and not rows[n]["Адрес"]
    assert emulator.request_counts["/v3/posting/fbs/get"] == 2  # one per open rFBS posting ...
    assert main(["--config", str(cfg), "sync"]) == 0
    assert emulator.request_counts["/v3/posting/fbs/get"] == 2  # ... and only once


def test_finished_postings_lose_their_buyer_data_in_the_sheet_at_once_and_in_the_state(
        tmp_path: Path, emulator: OzonEmulator, shop: dict[str, str]) -> None:
    cfg = load_config(write_config(tmp_path, emulator.base_url, extra=PRIVACY_ON))
    app = open_app(cfg)
    now = [datetime.now(UTC)]
    app.engine.clock = lambda: now[0]
    try:
        app.ensure_sheet()
        app.engine.run_cycle()
        n = shop["rfbs_deliver"]
        phone = phone_of(emulator, n)
        assert phone.encode() in state_bytes(tmp_path)
        emulator.set_state(n, "delivered")
        now[0] += timedelta(minutes=10)
        app.engine.run_cycle()
        assert not rows_by_number(tmp_path / "orders.xlsx")[n]["Телефон"]
        data = app.state.posting_data("main", n)
        assert data is not None and data[0]["customer_phone"] == ""
    finally:
        app.close()


def test_purge_erases_buyer_data_kept_past_purge_after_days(tmp_path: Path) -> None:
    """Whatever kept a finished posting's buyer data (an Ozon answer that still had it), the state
    store blanks it purge_after_days after the posting finished, and only then."""
    store = StateStore(tmp_path / "state.sqlite")
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    buyer = {"customer_name": "Анна", "customer_phone": "+79990001122", "customer_address": "Тверь"}
    store.upsert_posting("main", "1-1", "delivered", "", {"posting_number": "1-1", **buyer}, t0)
    store.upsert_posting("main", "2-1", "delivering", "", {"posting_number": "2-1", **buyer}, t0)
    assert store.purge_buyers(t0 - timedelta(days=1)) == []
    assert store.purge_buyers(t0 + timedelta(seconds=1)) == [("main", "1-1")]
    finished, open_ = store.posting_data("main", "1-1"), store.posting_data("main", "2-1")
    assert finished is not None and open_ is not None
    assert (finished[0]["customer_name"], finished[0]["customer_phone"], finished[0]["customer_address"]) == \
        ("", "", "")
    assert open_[0]["customer_phone"] == "+79990001122"
    assert store.purge_buyers(t0 + timedelta(days=30)) == []  # nothing left to erase
    store.close()


def test_phones_and_the_api_key_never_reach_a_log(tmp_path: Path, emulator: OzonEmulator, shop: dict[str, str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A full run at DEBUG with buyer data on, a refused push and Ozon faults: grep every log line."""
    log_file = tmp_path / "logs" / "ozon-sync.log"
    cfg = write_config(tmp_path, emulator.base_url,
                       extra=PRIVACY_ON + f"logging:\n  level: DEBUG\n  file: {log_file}\n")
    assert main(["--config", str(cfg), "-v", "pull"]) == 0
    edit_workbook(tmp_path / "orders.xlsx", "Заказы", load_columns(),
                  {shop["rfbs_deliver"]: {"status": "Доставлено"},  # not allowed from here: refused with a note
                   shop["rfbs_open"]: {"status": "Ожидает отгрузки"}})
    emulator.faults.rate_500 = 0.3
    emulator.faults.queue("*", "html", "429")
    for _ in range(3):
        main(["--config", str(cfg), "-v", "sync"])
    emulator.faults.rate_500 = 0.0
    assert main(["--config", str(cfg), "-v", "sync"]) == 0
    main(["--config", str(cfg), "-v", "status"])
    out = capsys.readouterr()
    logs = log_file.read_text(encoding="utf-8") + out.out + out.err
    assert "DEBUG" in logs and len(logs.splitlines()) > 10
    phones = [phone_of(emulator, n) for n in (shop["rfbs_open"], shop["rfbs_deliver"])]
    assert all(p in str(rows_by_number(tmp_path / "orders.xlsx")) for p in phones)  # they were in play
    for secret in [*phones, *(p[1:] for p in phones), API_KEY]:
        assert secret not in logs, secret


def test_the_state_file_and_its_journals_are_private(tmp_path: Path, emulator: OzonEmulator,
                                                     shop: dict[str, str]) -> None:
    cfg = write_config(tmp_path, emulator.base_url, extra=PRIVACY_ON)
    assert main(["--config", str(cfg), "sync"]) == 0
    files = list(tmp_path.glob("state.sqlite*"))
    assert tmp_path / "state.sqlite" in files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
