"""The bad-input catalogue: every way a config, a cell, an Ozon answer or a file can be wrong, run
through the real command line. Each case names the words the person must see, the exit code of
the command line (0 ok — refusals are in the notes —, 1 failure, 2 bad config or usage), and checks that
nothing was lost: the workbook, the state and Ozon are left as they were, or hold exactly the answer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from sync.cli import main
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.emulators.server import Faults
from sync.emulators.sheets import SheetsEmulator
from sync.engine.marks import GS
from sync.mapping import PRIVATE_FIELDS, load_columns
from tests.conftest import write_config
from tests.fake_time import FakeTime
from tests.test_fbs_day_emulator import mark

COLUMNS = load_columns().without(PRIVATE_FIELDS)
SHEET = "Заказы"


@dataclass
class Env:
    """A shop with one synced workbook: ``number`` is an FBS posting awaiting packaging, ``rfbs`` an
    rFBS one awaiting delivery. ``config`` is the config file every case starts from."""

    tmp: Path
    ozon: OzonEmulator
    config: Path
    number: str = ""
    rfbs: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def book(self) -> Path:
        return self.tmp / "orders.xlsx"

    def set_config(self, old: str, new: str) -> list[str]:
        text = self.config.read_text(encoding="utf-8")
        assert old in text, old
        self.config.write_text(text.replace(old, new), encoding="utf-8")
        return ["--config", str(self.config), "sync"]

    def add_config(self, extra: str, command: str = "sync") -> list[str]:
        self.config.write_text(self.config.read_text(encoding="utf-8") + extra, encoding="utf-8")
        return ["--config", str(self.config), command]

    def type(self, number: str, **cells: str) -> list[str]:
        edit_workbook(self.book, SHEET, COLUMNS, {number: cells})
        return ["--config", str(self.config), "sync"]

    def cmd(self, command: str = "sync") -> list[str]:
        return ["--config", str(self.config), command]

    def row(self, number: str) -> dict[str, str]:
        ws = openpyxl.load_workbook(self.book)[SHEET]
        header = [c.value for c in ws[1]]
        for r in ws.iter_rows(min_row=2, values_only=True):
            if r[0] == number:
                return {str(h): "" if v is None else str(v) for h, v in zip(header, r, strict=False)}
        raise AssertionError(f"{number} not in the workbook")


@dataclass(frozen=True)
class Case:
    name: str
    prepare: Callable[[Env], list[str]]
    code: int
    words: tuple[str, ...]
    check: Callable[[Env], None] | None = None


def untouched(env: Env) -> None:
    """Nothing lost: the workbook still holds the synced row as it was, and Ozon got no write call."""
    assert env.row(env.number)["Статус"] == "Ожидает сборки"
    assert not env.ozon.write_log


def note(number_attr: str, *words: str, status: str | None = None) -> Callable[[Env], None]:
    def check(env: Env) -> None:
        row = env.row(getattr(env, number_attr))
        for w in words:
            assert w in row["Синхронизация"], row["Синхронизация"]
        if status is not None:
            assert row["Статус"] == status
    return check


def corrupt(path_of: Callable[[Env], Path], data: bytes) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        path_of(env).write_bytes(data)
        return env.cmd()
    return prepare


def ozon_fault(kind: str, times: int = 20) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.ozon.faults = Faults()
        for path in ("/v4/posting/fbs/list", "/v4/posting/fbs/unfulfilled/list"):
            env.ozon.faults.queue(path, *[kind] * times)
        return env.cmd("pull")
    return prepare


def google(prepare_sheet: Callable[[SheetsEmulator], str], **emu: bool) -> Callable[[Env], list[str]]:
    """A Google config against a Sheets emulator that lives for the rest of the case."""
    def prepare(env: Env) -> list[str]:
        sheets = SheetsEmulator(**emu).start()
        _CLEANUP.append(sheets.stop)
        key = prepare_sheet(sheets)
        block = (f"spreadsheet:\n  backend: google\n  spreadsheet: {key}\n  credentials: anonymous\n"
                 f"  api_endpoint: {sheets.base_url}\n  worksheet: {SHEET}\n")
        write_config(env.tmp, env.ozon.base_url, backend=block)
        return env.cmd("pull")
    return prepare


_CLEANUP: list[Callable[[], object]] = []  # what a case started, stopped after it


SHOES = [("Кроссовки беговые 42", "SHO-42", 2, "4990.00")]  # a marking code per pair


def scanned(env: Env, *serials: str, reject: str = "") -> list[str]:
    """Shoes (two pairs) on the sheet, typed «Ожидает отгрузки» with these codes scanned."""
    if reject:
        env.ozon.reject_mark(mark(reject))
    shoes = env.ozon.add_posting(products=SHOES)  # type: ignore[arg-type]
    env.notes["shoes"] = shoes
    assert main(env.cmd("pull")) == 0
    return env.type(shoes, status="Ожидает отгрузки", marks=" ".join(excel_mark(s) for s in serials))


def excel_mark(serial: str) -> str:
    """A code as a scanner types it into Excel: the GS separator is stored as ``_x001D_``."""
    return mark(serial).replace(GS, "_x001D_")


def not_shipped(env: Env) -> None:
    assert not any(e["accepted"] and e["path"] == "/v4/posting/fbs/ship" for e in env.ozon.write_log)


def shoes_note(*words: str) -> Callable[[Env], None]:
    def check(env: Env) -> None:
        not_shipped(env)
        row = env.row(env.notes["shoes"])
        assert row["Статус"] == "Ожидает отгрузки"  # kept as typed until the codes are right
        for w in words:
            assert w in row["Синхронизация"], row["Синхронизация"]
    return check


def shipped_label_due(env: Env, labels: str) -> list[str]:
    """``labels:`` set, the posting shipped by a sync, and its label due (Ozon made it meanwhile)."""
    env.add_config(f"labels:\n{labels}")
    env.ozon.set_label_delay(0)
    assert main(env.type(env.number, status="Ожидает отгрузки")) == 0
    with sqlite3.connect(env.tmp / "state.sqlite") as db:  # 45 s later
        db.execute("UPDATE labels SET due_at='2000-01-01T00:00:00+00:00'")
    return env.cmd()


def label_saved(env: Env) -> None:
    assert env.row(env.number)["Этикетка"].endswith(f"{env.number}.pdf")


def blocked_folder(env: Env) -> list[str]:
    (env.tmp / "a-file").write_text("not a folder")
    return shipped_label_due(env, f"  folder: {env.tmp / 'a-file' / 'labels'}\n")


def label_waits(env: Env) -> None:
    assert env.row(env.number)["Этикетка"] == "" and env.row(env.number)["Статус"] == "Ожидает отгрузки"
    with sqlite3.connect(env.tmp / "state.sqlite") as db:
        assert db.execute("SELECT state FROM labels").fetchall() == [("waiting",)]


def merged(env: Env) -> list[str]:
    wb = openpyxl.load_workbook(env.book)
    ws = wb[SHEET]
    col = [c.value for c in ws[1]].index("Комментарий") + 1
    ws.cell(row=2, column=col, value="общий комментарий")
    ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    wb.save(env.book)
    return env.type(env.number, status="Ожидает отгрузки")


def merged_status(env: Env) -> list[str]:
    """Статус of the two rows merged into one cell (row 2 keeps its value; row 3's is covered)."""
    argv = env.type(env.number, status="Ожидает отгрузки")
    wb = openpyxl.load_workbook(env.book)
    ws = wb[SHEET]
    col = [c.value for c in ws[1]].index("Статус") + 1
    ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    wb.save(env.book)
    return argv


def merged_status_answered(env: Env) -> None:
    note("number", "Готово", status="Ожидает отгрузки")(env)  # the other rows are pushed and written
    assert [x["accepted"] for x in env.ozon.write_log] == [True]
    wb = openpyxl.load_workbook(env.book)
    ws = wb[SHEET]
    for rng in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(rng))
    wb.save(env.book)
    assert main(env.cmd()) == 0
    assert env.row(env.rfbs)["Статус"] == "Ожидает отгрузки"  # written again once unmerged


def rename_header(old: str, new: str | None) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        wb = openpyxl.load_workbook(env.book)
        ws = wb[SHEET]
        col = [c.value for c in ws[1]].index(old) + 1
        if new is None:
            ws.delete_cols(col)
        else:
            ws.cell(row=1, column=col, value=new)
        wb.save(env.book)
        return env.cmd()
    return prepare


def blank_sheet(env: Env) -> list[str]:
    for _ in range(6):
        env.ozon.add_posting()
    main(env.cmd())  # three or more rows on the sheet arm the empty-side guard
    wb = openpyxl.load_workbook(env.book)
    ws = wb[SHEET]
    ws.delete_rows(2, ws.max_row)
    wb.save(env.book)
    return env.cmd()


def long_product(env: Env) -> list[str]:
    env.notes["long"] = env.ozon.add_posting(products=[("Очень длинное название " * 2200, "LONG-1", 1, "10.00")])
    return env.cmd()


def unknown_ozon_status(env: Env) -> list[str]:
    env.ozon.set_state(env.number, "awaiting_verification_v2", "something_new")
    return env.cmd("pull")


def lock(env: Env) -> list[str]:
    (env.tmp / ".~lock.orders.xlsx#").write_text("Анна Смирнова,anna,PC-2,29.11.2026 09:00,file:///;\n",
                                                  encoding="utf-8")
    env.set_config("  worksheet: Заказы\n", "  worksheet: Заказы\n  lock_wait: 0s\n")
    return env.type(env.number, status="Ожидает отгрузки")


def read_only_book(env: Env) -> list[str]:
    """The workbook marked read-only (file permissions; Windows' read-only attribute looks the same)."""
    argv = env.type(env.number, status="Ожидает отгрузки")
    env.book.chmod(0o444)
    env.notes["before"] = env.book.read_bytes().hex()
    return argv


def newer_state(env: Env) -> list[str]:
    db = sqlite3.connect(env.tmp / "state.sqlite")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    return env.cmd()


def image_in_book(env: Env) -> list[str]:
    """A picture pasted into the workbook (as Excel stores it: a media part in the file)."""
    import zipfile

    argv = env.type(env.number, status="Ожидает отгрузки")
    with zipfile.ZipFile(env.book, "a") as zf:
        zf.writestr("xl/media/image1.png", b"\x89PNG\r\n\x1a\n")
    return argv


def ozon_nulls(env: Env) -> list[str]:
    """Ozon answers with null where it knows better: the allowed actions, the order, the dates, the goods."""
    env.notes["before"] = json.dumps(env.row(env.number))
    env.ozon.answer_nulls("available_actions", "order_number", "delivery_method", "in_process_at", "shipment_date",
                          "products")
    return env.type(env.number, status="Ожидает отгрузки")


def kept_through_nulls(env: Env) -> None:
    row = env.row(env.number)
    before = json.loads(env.notes["before"])
    shown = ("Заказ", "Склад", "Доставка", "Принят", "Собрать до", "Сумма", "Товары")
    def same(r: dict[str, str]) -> dict[str, str]:  # 17500.0 and 17500 are one number
        return {h: r[h].removesuffix(".0") for h in shown}

    assert "Готово" in row["Синхронизация"] and same(row) == same(before), row


def edit_then_state_moved_aside(env: Env) -> list[str]:
    """The advice for a damaged state, followed: the state file moved away after a person typed an edit."""
    argv = env.type(env.number, status="Ожидает отгрузки")
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
        if (env.tmp / name).exists():
            (env.tmp / name).rename(env.tmp / f"{name}.old")
    return argv


def edit_then_state_truncated(env: Env) -> list[str]:
    argv = env.type(env.number, status="Ожидает отгрузки")
    state = env.tmp / "state.sqlite"
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2])
    return argv


def pushed_once_after_the_advice(env: Env) -> None:
    """Whatever the state went through, following the words (moving it aside, syncing) loses no edit."""
    if (env.tmp / "state.sqlite").exists() and not env.ozon.write_log:
        edit_then_state_moved_aside(env)
    for _ in range(3):
        assert main(env.cmd()) == 0
    assert [x["accepted"] for x in env.ozon.write_log] == [True], env.ozon.write_log
    assert env.row(env.number)["Статус"] == "Ожидает отгрузки" and "Готово" in env.row(env.number)["Синхронизация"]


def rename_tab(env: Env) -> list[str]:
    """Staff rename the live tab, then type an edit in it."""
    env.type(env.number, status="Ожидает отгрузки")
    wb = openpyxl.load_workbook(env.book)
    wb[SHEET].title = "Заказы ноябрь"
    wb.save(env.book)
    return env.cmd()


def renamed_tab_strands_nothing(env: Env) -> None:
    assert main(env.cmd("init")) == 1  # no second, empty «Заказы» beside the renamed one
    assert openpyxl.load_workbook(env.book).sheetnames.count(SHEET) == 0 and not env.ozon.write_log
    wb = openpyxl.load_workbook(env.book)
    wb["Заказы ноябрь"].title = SHEET  # what the message says to do
    wb.save(env.book)
    assert main(env.cmd()) == 0
    assert [x["accepted"] for x in env.ozon.write_log] == [True]


def state_held(env: Env) -> list[str]:
    """A `sync` started while another process (the daemon) holds the state."""
    from sync.lock import StateLock

    env.set_config("  worksheet: Заказы\n", "  worksheet: Заказы\n  lock_wait: 0s\n")
    holder = StateLock(env.tmp / "state.sqlite.lock", command="run").__enter__()
    _CLEANUP.append(lambda: holder.__exit__(None, None, None))
    return env.type(env.number, status="Ожидает отгрузки")


def picture_kept(env: Env) -> None:
    """Nothing to refuse: the write patches the live tab, the picture's part stays as it was."""
    import zipfile

    with zipfile.ZipFile(env.book) as zf:
        assert zf.read("xl/media/image1.png") == b"\x89PNG\r\n\x1a\n"
    assert env.ozon.write_log[0]["accepted"] and "Готово" in env.row(env.number)["Синхронизация"]


C = Case
CASES = [
    # --- config files: exit 2, every problem named by its key, nothing touched --------------------
    C("config: missing key", lambda e: e.set_config('  client_id: "123456"\n', ""), 2, ("ozon.client_id",), untouched),
    C("config: missing state", lambda e: e.set_config("state: state.sqlite\n", ""), 2, ("state",), untouched),
    C("config: unknown top-level key", lambda e: e.add_config("shedule:\n  every: 30s\n"), 2,
      ("shedule", "schedule"), untouched),
    C("config: unknown nested key", lambda e: e.add_config("privacy:\n  customer_dta: true\n"), 2,
      ("privacy.customer_dta",), untouched),
    C("config: wrong type", lambda e: e.add_config("schedule:\n  every: fast\n"), 2, ("schedule.every",), untouched),
    C("config: interval too short", lambda e: e.add_config("schedule:\n  every: 1s\n"), 2, ("schedule.every", "5"),
      untouched),
    C("config: bad env reference", lambda e: e.set_config('api_key: "test-key-0000"', 'api_key: "${OZON_NOPE_KEY}"'),
      2, ("OZON_NOPE_KEY",), untouched),
    C("config: YAML syntax error", lambda e: e.add_config("schedule: [every: \n"), 2, ("line",), untouched),
    C("config: duplicate key", lambda e: e.add_config("state: other.sqlite\n"), 2, ("state",), untouched),
    C("config: unknown backend", lambda e: e.set_config("backend: excel", "backend: csv"), 2,
      ("spreadsheet.backend", "excel", "google"), untouched),
    C("config: not an .xlsx", lambda e: e.set_config("path: orders.xlsx", "path: orders.xls"), 2,
      ("spreadsheet.path", ".xlsx"), untouched),
    C("config: unknown time zone", lambda e: e.add_config("timezone: Mars/Olympus\n"), 2, ("timezone",), untouched),
    C("config: negative lookback", lambda e: e.set_config('base_url:', 'lookback_days: -1\n  base_url:'), 2,
      ("ozon.lookback_days",), untouched),
    C("config: not a boolean", lambda e: e.add_config("privacy:\n  customer_data: maybe\n"), 2,
      ("privacy.customer_data",), untouched),
    C("config: Api-Key pasted with Cyrillic", lambda e: e.set_config("test-key-0000", "test-кеу-0000"), 2,
      ("ozon.api_key",), untouched),
    C("config: mapping file missing", lambda e: e.add_config("mapping: my-columns.yaml\n"), 2, ("mapping",),
      untouched),
    C("config: file missing", lambda e: ["--config", str(e.tmp / "nope.yaml"), "sync"], 2, ("nope.yaml",), untouched),
    # --- cells: exit 0, the row says what and why, Ozon's value shown again ------------------------
    C("cell: unknown status", lambda e: e.type(e.number, status="Упаковано"), 0, (),
      note("number", "Не понял статус «Упаковано»", "«Ожидает отгрузки»", status="Ожидает сборки")),
    C("cell: cancel without reason", lambda e: e.type(e.number, status="Отменено"), 0, (),
      note("number", "Укажите причину отмены")),
    C("cell: unknown cancel reason", lambda e: e.type(e.number, status="Отменено", cancel_reason="надоело"), 0, (),
      note("number", "«надоело»", status="Ожидает сборки")),
    C("cell: reason 402 without words", lambda e: e.type(e.number, status="Отменено", cancel_reason="402"), 0, (),
      note("number", "«Отменено»", status="Ожидает сборки")),
    C("cell: tracking number on FBS", lambda e: e.type(e.number, tracking_number="RA1"), 0, (),
      note("number", "для FBS назначает Ozon", "«RA1»")),
    C("cell: formula in the status", lambda e: e.type(e.number, status="=1+1"), 0, (),
      note("number", "«=1+1»", status="Ожидает сборки")),
    C("cell: a move Ozon does not allow", lambda e: e.type(e.number, status="Доставлено"), 0, (),
      note("number", "так перевести нельзя", status="Ожидает сборки")),
    C("cell: staff typed in an Ozon column", lambda e: e.type(e.number, order_number="123"), 0, (),
      note("number", "Заказ")),
    C("cell: number where text is expected", lambda e: e.type(e.rfbs, tracking_number="0012345"), 0, (),
      note("rfbs", "Готово", "0012345")),
    C("cell: merged cells in a staff column", merged, 0, (), note("number", "Готово", status="Ожидает отгрузки")),
    C("cell: merged cells over Статус", merged_status, 0, ("cells", "are merged over «Статус»", "unmerge",
                                                            "rows 2–3"), merged_status_answered),
    C("cell: Ozon text longer than a cell holds", long_product, 0, (),
      lambda e: None if len(e.row(e.notes["long"])["Товары"]) <= 32767 and "обрезан" in
      e.row(e.notes["long"])["Синхронизация"] else pytest.fail(str(e.row(e.notes["long"])))),
    # --- the sheet's shape ---------------------------------------------------------------------------
    C("sheet: key column deleted", rename_header("Отправление", None), 1, ("Отправление", "init")),
    C("sheet: key header renamed", rename_header("Отправление", "Номер"), 1, ("Отправление",)),
    C("sheet: status header renamed", rename_header("Статус", "Статус заказа"), 0, ("no column «Статус»", "init")),
    C("sheet: emptied by accident", blank_sheet, 1, ("empty", "6")),
    C("sheet: live tab renamed", rename_tab, 1, ("«Заказы ноябрь» has its header row", "Rename «Заказы ноябрь» back",
                                                 "spreadsheet.worksheet: Заказы ноябрь"), renamed_tab_strands_nothing),
    C("sheet: wrong tab name", lambda e: e.set_config("worksheet: Заказы", "worksheet: Orders"), 1,
      ("«Orders» is missing", "spreadsheet.worksheet: Заказы")),
    # --- Ozon's answers ------------------------------------------------------------------------------
    C("ozon: HTML page instead of JSON", ozon_fault("html"), 1, ("not JSON",)),
    C("ozon: keeps failing", ozon_fault("500"), 1, ("did not answer",)),
    C("ozon: rate limit that does not end", ozon_fault("429"), 1, ("rate limit",)),
    C("ozon: wrong Api-Key", lambda e: e.set_config("test-key-0000", "wrong-key-0000"), 1,
      ("Ozon rejected the Api-Key: check ozon.api_key",)),
    C("config: non-numeric Client-Id", lambda e: e.set_config('client_id: "123456"', 'client_id: "abc"'), 2,
      ("ozon.client_id", "numeric"), untouched),
    C("ozon: deactivated key", lambda e: (setattr(e.ozon, "key_deactivated", True), e.cmd("pull"))[1], 1,
      ("deactivated",)),
    C("ozon: nulls instead of fields", ozon_nulls, 0, (), kept_through_nulls),
    C("ozon: unknown status value", unknown_ozon_status, 0, (),
      lambda e: None if e.row(e.number)["Статус"] == "awaiting_verification_v2" else pytest.fail("raw code")),
    # --- files ----------------------------------------------------------------------------------------
    C("file: workbook open in LibreOffice", lock, 0, ("Анна Смирнова",),
      lambda e: None if [x["accepted"] for x in e.ozon.write_log] == [True] else pytest.fail("not pushed")),
    C("file: workbook marked read-only", read_only_book, 0, ("read-only", "chmod u+w"),
      lambda e: None if e.book.read_bytes().hex() == e.notes["before"] and e.ozon.write_log[0]["accepted"]
      else pytest.fail("the workbook was saved, or the edit not pushed")),
    C("file: state held by the daemon", state_held, 1, ("in use by `ozon-sync run`", "the daemon pushes"),
      lambda e: None if not e.ozon.write_log else pytest.fail("pushed while the daemon held the state")),
    C("file: corrupt workbook", corrupt(lambda e: e.book, b"PK\x03\x04 broken"), 1, ("orders.xlsx", "backup")),
    C("file: workbook missing on push", lambda e: (e.book.unlink(), e.cmd("push"))[1], 1, ("does not exist",
                                                                                            "init")),
    C("file: corrupt state", corrupt(lambda e: e.tmp / "state.sqlite", b"not a database" * 100), 1,
      ("state", "move it aside")),
    C("file: state moved aside after an edit", edit_then_state_moved_aside, 0, (), pushed_once_after_the_advice),
    C("file: state truncated to half", edit_then_state_truncated, 1, ("move it aside", "-wal", "ozon-sync sync",
                                                                      "nothing typed is lost"),
      pushed_once_after_the_advice),
    C("file: state from a newer version", newer_state, 1, ("newer", "upgrade")),
    C("file: workbook with a picture", image_in_book, 0, (), picture_kept),
    # --- the FBS day: marking codes, labels ----------------------------------------------------------------
    C("cell: a marking code Ozon rejects", lambda e: scanned(e, "GOOD001", "STOLEN1", reject="STOLEN1"), 0, (),
      shoes_note("Ozon не принял код", "STOLEN1", "исправьте в «Маркировка»")),
    C("cell: too few marking codes", lambda e: scanned(e, "PAIR001"), 0, (),
      shoes_note("Нужно 2 кода маркировки для «Кроссовки беговые 42» (SHO-42), введён 1")),
    C("cell: too many marking codes", lambda e: scanned(e, "PAIR001", "PAIR002", "PAIR003"), 0, (),
      shoes_note("Лишние коды в «Маркировка» (1): 010460123456789321PAIR003")),
    C("cell: a marking code for a posting that needs none",
      lambda e: e.type(e.number, status="Ожидает отгрузки", marks=excel_mark("PAIR001")), 0, (),
      note("number", "маркировка не нужна", status="Ожидает отгрузки")),
    C("file: labels folder cannot be written", blocked_folder, 0, ("Labels cannot be saved in", "labels.folder"),
      label_waits),
    C("config: a print command that fails", lambda e: shipped_label_due(e, '  print_command: "false {file}"\n'), 0,
      ("were not printed: the print command failed (exit 1)",), label_saved),
    # --- Google ---------------------------------------------------------------------------------------
    C("google: wrong spreadsheet key", google(lambda s: "no-such-key"), 1, ("no spreadsheet with key no-such-key",)),
    C("google: credentials refused", google(lambda s: s.create_spreadsheet("x", [SHEET], shared_with={"a@b.ru"}),
                                   allow_anonymous=False), 1, ("credentials",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, emulator.base_url)
    env = Env(tmp_path, emulator, cfg, emulator.add_posting(),
              emulator.add_posting(scheme="rFBS", status="awaiting_deliver"))
    assert main(["--config", str(cfg), "pull"]) == 0
    capsys.readouterr()
    try:
        argv = case.prepare(env)
        code = main(argv, edges=FakeTime().edges())  # Ozon's back-off is not slept
        out = capsys.readouterr()
        text = out.out + out.err
        assert code == case.code, text
        for word in case.words:
            assert word.casefold() in text.casefold(), (word, text)
        if case.check is not None:
            case.check(env)
    finally:
        while _CLEANUP:
            _CLEANUP.pop()()

