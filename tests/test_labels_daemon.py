"""Labels after a verified ship, end to end: the Ozon emulator over real HTTP with a clock the test moves, a
real .xlsx (and the Google Sheets emulator), a real state file, real PDF files and a real print command.

A person types «Ожидает отгрузки»; the ship is verified; some 45 s later the label is fetched, saved as
labels/YYYY-MM-DD/<posting>.pdf and in the cycle's batch file, the row's «Этикетка» links it, and the
print command prints the batch, once."""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sync import status
from sync.app import Edges, open_app
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.engine.cycle import Engine
from sync.ozon.fbs_day import FbsDay
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.fake_time import Clock
from tests.people import SHEET, ExcelPerson, GooglePerson
from tests.test_loop import Crash, Loop
from tests.test_marked_goods import CrashingDay

LABEL = "/v2/posting/fbs/package-label"
WAIT = 45.0  # labels.first_try
DAY = "2026-11-23"  # the Clock's day (09:00 UTC, 12:00 in Moscow)


class Shop(Loop):
    clock: Clock
    folder: Path
    sheets: SheetsEmulator

    def shipped(self, *products: str) -> list[str]:
        """Postings typed «Ожидает отгрузки» and shipped (verified), their labels not fetched yet."""
        numbers = [self.add(products=[(name, f"SKU-{i}", 1, "990.00")]) for i, name in enumerate(products)]
        self.sync()
        for n in numbers:
            self.edit(n, status="Ожидает отгрузки")
        self.sync()
        assert all(self.ozon.posting(n)["status"] == "awaiting_deliver" for n in numbers)
        return numbers

    def label_calls(self) -> int:
        return self.ozon.request_counts.get(LABEL, 0)

    def later(self, seconds: float, cycles: int = 1) -> None:
        self.clock.tick(seconds)
        self.sync(cycles)


def _printer(tmp_path: Path, exit_code: int = 0) -> tuple[str, Path]:
    """A print command that records each file it is given (and fails with ``exit_code``)."""
    log = tmp_path / "printed.txt"
    script = tmp_path / "print-labels"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(sys.argv[1] + '\\n')\n"
                      f"print('printer lp0: out of paper' if {exit_code} else 'request id is label-1', "
                      f"file=sys.stderr if {exit_code} else sys.stdout)\nsys.exit({exit_code})\n")
    script.chmod(0o755)
    return f"{script} {{file}}", log


def _shop(tmp_path: Path, emu: OzonEmulator, clock: Clock, extra: str = "", backend: str | None = None,
          person: Any = None) -> Shop:
    app = open_app(load_config(write_config(tmp_path, emu.base_url, extra=extra, backend=backend)),
                   edges=Edges(clock=clock))
    app.ensure_sheet()
    shop = Shop(app, emu, person or ExcelPerson(app.config.spreadsheet.path, SHEET))
    shop.clock, shop.folder = clock, app.config.labels_folder()
    return shop


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0, clock=clock) as e:
        yield e


@pytest.fixture
def shop(tmp_path: Path, emu: OzonEmulator, clock: Clock) -> Iterator[Shop]:
    command, _log = _printer(tmp_path)
    s = _shop(tmp_path, emu, clock, extra=f'labels:\n  print_command: "{command}"\n')
    yield s
    s.app.close()


def test_a_shipped_postings_label_is_saved_linked_in_its_row_and_printed_once(shop: Shop, tmp_path: Path) -> None:
    number, = shop.shipped("Футболка хлопковая M")
    shop.later(WAIT - 15)
    assert shop.label_calls() == 0  # Ozon needs some 45 s after packing: nothing asked for yet
    shop.later(20)
    label = shop.folder / DAY / f"{number}.pdf"
    assert label.read_bytes().startswith(b"%PDF-") and number.encode() in label.read_bytes()
    assert stat.S_IMODE(label.stat().st_mode) == 0o600  # it shows what Ozon prints of the buyer
    assert shop.row(number)["label"] == f"labels/{DAY}/{number}.pdf"  # relative to the workbook
    ws = openpyxl.load_workbook(shop.app.config.spreadsheet.path)[SHEET]
    col = [c.value for c in ws[1]].index("Этикетка") + 1
    cell = next(ws.cell(row=r[0].row, column=col) for r in ws.iter_rows(min_row=2) if r[0].value == number)
    assert cell.hyperlink is not None and cell.hyperlink.target == f"labels/{DAY}/{number}.pdf"  # a link, not a
    assert cell.data_type == "s"  # formula: it opens the label beside the workbook in Excel and LibreOffice
    batches = sorted((shop.folder / DAY).glob("batch-*.pdf"))
    assert [b.name for b in batches] == ["batch-120050.pdf"] and number.encode() in batches[0].read_bytes()
    printed = (tmp_path / "printed.txt").read_text().splitlines()
    assert printed == [str(batches[0])]
    shop.later(60, cycles=3)  # nothing fetched or printed again
    assert (tmp_path / "printed.txt").read_text().splitlines() == printed
    assert shop.label_calls() == 2  # its own label, then the batch
    assert shop.app.state.batches()[0].printed == "ok"


def test_a_label_ozon_has_not_made_yet_is_asked_for_again_later(shop: Shop) -> None:
    shop.ozon.set_label_delay(100)
    number, = shop.shipped("Футболка хлопковая M")
    shop.later(WAIT + 5)  # 50 s: not ready
    assert shop.label_calls() == 1 and shop.row(number)["label"] == ""
    shop.later(10)  # asked again 30 s after, not before
    assert shop.label_calls() == 1
    shop.later(25)  # 85 s: not ready; the next try is 60 s later
    assert shop.label_calls() == 2
    shop.later(65)
    assert shop.row(number)["label"] == f"labels/{DAY}/{number}.pdf"


def test_a_posting_ozon_cannot_label_is_named_in_its_row_and_the_others_are_printed(shop: Shop,
                                                                                      tmp_path: Path) -> None:
    good, bad = shop.shipped("Футболка хлопковая M", "Кружка керамическая 350 мл")
    shop.ozon.make_unlabelable(bad, "the parcel weight is not set")
    shop.later(WAIT + 5)
    assert shop.row(good)["label"].endswith(f"{good}.pdf")
    row = shop.row(bad)
    assert row["label"] == "" and "Этикетки нет: Ozon отказал" in row["sync_note"]
    assert "the parcel weight is not set" in row["sync_note"]
    batch = Path((tmp_path / "printed.txt").read_text().split()[0]).read_bytes()
    assert good.encode() in batch and bad.encode() not in batch
    calls = shop.label_calls()
    shop.later(120, cycles=2)
    assert shop.label_calls() == calls  # a refused label is not asked for again


def test_a_failing_printer_is_shown_and_the_sync_goes_on(tmp_path: Path, emu: OzonEmulator, clock: Clock) -> None:
    command, log = _printer(tmp_path, exit_code=3)
    shop = _shop(tmp_path, emu, clock, extra=f'labels:\n  print_command: "{command}"\n')
    try:
        number, = shop.shipped("Футболка хлопковая M")
        clock.tick(WAIT + 5)
        rep = shop.app.engine.run_cycle()
        assert any("were not printed: the print command failed (exit 3): printer lp0: out of paper" in p
                   for p in rep.problems)
        assert shop.row(number)["label"].endswith(f"{number}.pdf")  # saved and linked all the same
        assert shop.app.state.batches()[0].printed == "failed"
        later, = shop.shipped("Кружка керамическая 350 мл")
        shop.later(WAIT + 5)
        assert shop.row(later)["label"].endswith(f"{later}.pdf")
        assert len(log.read_text().splitlines()) == 2  # each batch tried once, never again
        shown = "\n".join(status.text(status.gather(shop.app), shop.app.config.tz()))
        assert f"Labels: 2 saved (in {shop.folder})" in shown
        assert "(1) — NOT printed: the print command failed (exit 3): printer lp0: out of paper" in shown
    finally:
        shop.app.close()


def test_a_labels_folder_that_cannot_be_written_is_said_and_the_labels_wait(tmp_path: Path, emu: OzonEmulator,
                                                                            clock: Clock) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the labels folder should be")
    folder = blocker / "labels"
    shop = _shop(tmp_path, emu, clock, extra=f"labels:\n  folder: {folder}\n")
    try:
        number, = shop.shipped("Футболка хлопковая M")
        clock.tick(WAIT + 5)
        rep = shop.app.engine.run_cycle()
        assert any(f"Labels cannot be saved in {folder}" in p and "labels.folder" in p for p in rep.problems)
        assert shop.label_calls() == 0  # nothing fetched to be lost
        assert shop.row(number)["status"] == "Ожидает отгрузки"  # the cycle went on
        blocker.unlink()  # the folder mended
        shop.later(5)
        assert (folder / DAY / f"{number}.pdf").exists()
    finally:
        shop.app.close()


@pytest.mark.parametrize("after", ["first", "batch"])
def test_exactly_one_batch_printed_across_a_crash_between_label_steps(shop: Shop, tmp_path: Path,
                                                                      after: str) -> None:
    number, = shop.shipped("Футболка хлопковая M")
    app = shop.app
    calls = {"n": 0}

    class Dying(CrashingDay):
        def __getattr__(self, name: str) -> Any:
            method = getattr(self.inner, name)
            if name != "labels":
                return method

            def labels(numbers: Any) -> Any:
                got = method(numbers)
                calls["n"] += 1
                if (after == "first" and calls["n"] == 1) or (after == "batch" and calls["n"] == 2):
                    raise Crash
                return got

            return labels

    days = {acc: Dying(FbsDay(client), "labels") for acc, client in app.ozons.items()}
    crashing = Engine(app.ozons, app.backend, app.state, app.columns, app.statuses, app.engine.opt,
                      days=days, labels=app.engine.labels, clock=shop.clock)  # type: ignore[arg-type]
    shop.clock.tick(WAIT + 5)
    with pytest.raises(Crash):
        crashing.run_cycle()
    assert not (tmp_path / "printed.txt").exists()
    app.close()
    shop.app = open_app(app.config, edges=Edges(clock=shop.clock))  # a new process on the same state file
    shop.later(1, cycles=3)
    assert len((tmp_path / "printed.txt").read_text().splitlines()) == 1
    assert shop.row(number)["label"].endswith(f"{number}.pdf")


def test_labels_are_erased_with_the_buyer_data(shop: Shop) -> None:
    number, = shop.shipped("Футболка хлопковая M")
    shop.later(WAIT + 5)
    label = shop.folder / DAY / f"{number}.pdf"
    assert label.exists()
    shop.later(timedelta(days=6).total_seconds())
    assert label.exists()
    shop.later(timedelta(days=2).total_seconds(), cycles=2)  # 8 days: past privacy.purge_after_days (7)
    assert not (shop.folder / DAY).exists() and shop.row(number)["label"] == ""


@contextmanager
def google_shop(tmp_path: Path, emu: OzonEmulator, clock: Clock, extra: str = "",
                prepare: Callable[[SheetsEmulator], str] | None = None) -> Iterator[tuple[Shop, str]]:
    """A shop on the Google Sheets emulator; ``prepare`` makes what the config names (a Drive folder): its id."""
    with SheetsEmulator() as sheets:
        sid = sheets.create_spreadsheet("Заказы Ozon", ["Лист1"])
        made = prepare(sheets) if prepare else ""
        backend = (f"spreadsheet:\n  backend: google\n  spreadsheet: {sid}\n  credentials: anonymous\n"
                   f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        shop = _shop(tmp_path, emu, clock, extra=extra.format(made=made), backend=backend,
                     person=GooglePerson(sheets, sid))
        shop.sheets = sheets
        try:
            yield shop, made
        finally:
            shop.app.close()


def test_google_rows_show_the_labels_path_without_a_drive_folder(tmp_path: Path, emu: OzonEmulator,
                                                                 clock: Clock) -> None:
    with google_shop(tmp_path, emu, clock) as (shop, _):
        number, = shop.shipped("Футболка хлопковая M")
        shop.later(WAIT + 5)
        assert shop.row(number)["label"] == str(tmp_path / "labels" / DAY / f"{number}.pdf")


def test_google_rows_link_the_label_uploaded_to_the_drive_folder(tmp_path: Path, emu: OzonEmulator,
                                                                 clock: Clock) -> None:
    with google_shop(tmp_path, emu, clock, "labels:\n  drive_folder: {made}\n",
                     lambda sheets: sheets.create_folder("Этикетки Ozon")) as (shop, folder):
        number, = shop.shipped("Футболка хлопковая M")
        shop.later(WAIT + 5)
        uploaded = shop.sheets.folder_files(folder)
        assert list(uploaded) == [f"{DAY}-{number}.pdf"] and number.encode() in uploaded[f"{DAY}-{number}.pdf"]
        link = shop.row(number)["label"]
        assert link.startswith("https://drive.google.com/file/d/") and link.endswith("/view")
        assert (tmp_path / "labels" / DAY / f"{number}.pdf").exists()  # and kept beside the config, to print


def test_a_drive_folder_that_is_not_there_is_said_and_the_label_waits(tmp_path: Path, emu: OzonEmulator,
                                                                     clock: Clock) -> None:
    with google_shop(tmp_path, emu, clock, "labels:\n  drive_folder: 1NoSuchFolder\n") as (shop, _):
        number, = shop.shipped("Футболка хлопковая M")
        clock.tick(WAIT + 5)
        rep = shop.app.engine.run_cycle()
        said = [p for p in rep.problems if "Labels were fetched but not saved" in p]
        assert said and "1NoSuchFolder" in said[0] and "labels.drive_folder" in said[0], rep.problems
        assert shop.row(number)["label"] == "" and shop.row(number)["status"] == "Ожидает отгрузки"
        assert shop.app.state.label_counts() == {"waiting": 1}  # fetched again once the folder is put right
