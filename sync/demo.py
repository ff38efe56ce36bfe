"""`ozon-sync demo`: the whole loop offline — the bundled Ozon emulator and a real Excel workbook
(or, with ``--backend google``, the bundled Google Sheets emulator driven by gspread).

It seeds postings, applies scripted staff edits covering every status move the sheet offers plus a refusal, an
unknown status and an Ozon-side cancel, runs cycles until every push is verified, and prints what
happened. ``--serve`` then keeps the daemon running so a person can edit the workbook themselves.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from sync.a1 import col_letters
from sync.app import App, open_app, setup_logging
from sync.backends.google import quote
from sync.config import load_config
from sync.daemon import Daemon
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator
from sync.lock import lock_path_for
from sync.mapping import ColumnMap

EXCEL_SHEET = "spreadsheet:\n  backend: excel\n  path: orders.xlsx\n  worksheet: Заказы\n"
GOOGLE_SHEET = ("spreadsheet:\n  backend: google\n  spreadsheet: {key}\n  credentials: anonymous\n"
                "  api_endpoint: {url}\n  worksheet: Заказы\n")
CONFIG_TEMPLATE = """\
# Written by `ozon-sync demo`: the bundled Ozon emulator and a spreadsheet (see below).
ozon:
  client_id: "{client_id}"
  api_key: "{api_key}"
  base_url: "{base_url}"
  schemes: [fbs, rfbs, fbo]  # FBO postings go to their own read-only tab
  returns: true  # and returns to theirs
{spreadsheet}state: state.sqlite
sync:
  verify_wait: 2s
  settle_seconds: 5s
schedule:
  every: {every}s
labels:
  first_try: 0s  # the emulator has a label as soon as a posting is packed (Ozon: some 45-60 s later)
"""


@dataclass(frozen=True)
class Scene:
    number: str
    edits: dict[str, str]
    story: str


def edit_google_sheet(emu: SheetsEmulator, key: str, worksheet: str, columns: ColumnMap,
                      edits: dict[str, dict[str, str]]) -> None:
    """Type into the Google sheet as a person in the browser does: find the row by posting number, set cells."""
    grid = emu.grid(key, worksheet)
    header = [str(h).strip() for h in grid[0]]
    col_of = {c.field: header.index(c.header) for c in columns.columns if c.header in header}
    key_col = col_of[columns.key.field]
    for n, row in enumerate(grid[1:], start=2):
        number = str(row[key_col]) if key_col < len(row) else ""
        for field, value in edits.get(number, {}).items():
            emu.set_values(key, f"{quote(worksheet)}!{col_letters(col_of[field])}{n}", [[value]])


def edit_workbook(path: Path, worksheet: str, columns: ColumnMap, edits: dict[str, dict[str, str]]) -> None:
    """Type into the workbook the way a person does in Excel: find the row by posting number, set cells, save."""
    wb = openpyxl.load_workbook(path)
    ws = wb[worksheet]
    header = {str(c.value).strip(): c.column for c in ws[1] if c.value is not None}
    col_of = {c.field: header[c.header] for c in columns.columns if c.header in header}
    key_col = col_of[columns.key.field]
    for row in ws.iter_rows(min_row=2):
        number = row[key_col - 1].value
        if number in edits:
            for field, value in edits[str(number)].items():
                cell = ws.cell(row=row[0].row, column=col_of[field])
                cell.value = value
                cell.data_type = "s"
    wb.save(path)
    wb.close()


def _pick(emu: OzonEmulator, used: set[str], scheme: str, status: str, substatus: str = "") -> str:
    integration = "non_integrated" if scheme == "rFBS" else None
    pool = [n for n in emu.numbers(scheme=scheme, integration=integration) if n not in used]
    number = str(pool[0]) if pool else str(emu.add_posting(scheme=scheme, integration=integration, status=status))
    emu.set_state(number, status, substatus)
    used.add(number)
    return number


def scanned(serial: str) -> str:
    """A «Честный ЗНАК» code as a keyboard-wedge scanner types it into a cell: GTIN, a 13-character serial and
    the crypto tail, the group separators dropped (ozon-sync puts them back)."""
    return f"0104601234567893 21{serial}91EE0792{'Q' * 44}".replace(" ", "")


def _scenes(emu: OzonEmulator) -> tuple[list[Scene], str]:
    used: set[str] = set()
    shoes = str(emu.add_posting(products=[("Кроссовки беговые 42", "SHO-42", 2, "4990.00")]))
    fbs, rfbs = "FBS", "rFBS"
    pack = _pick(emu, used, fbs, "awaiting_packaging", "posting_created")
    dispute = _pick(emu, used, fbs, "arbitration", "posting_in_arbitration")
    deliver = _pick(emu, used, rfbs, "awaiting_deliver", "posting_transferring_to_delivery")
    courier = _pick(emu, used, rfbs, "delivering", "posting_on_way_to_city")
    delivered = _pick(emu, used, rfbs, "delivering", "posting_on_way_to_city")
    cancel = _pick(emu, used, fbs, "awaiting_packaging", "posting_created")
    track = _pick(emu, used, rfbs, "awaiting_deliver", "posting_transferring_to_delivery")
    refused = _pick(emu, used, fbs, "awaiting_packaging", "posting_created")
    typo = _pick(emu, used, fbs, "awaiting_packaging", "posting_created")
    race = _pick(emu, used, fbs, "awaiting_packaging", "posting_created")
    scenes = [
        Scene(pack, {"status": "Ожидает отгрузки"}, "packed (ship)"),
        Scene(shoes, {"status": "Ожидает отгрузки", "marks": f"{scanned('5Ks7PqR2xY9mZ')}\n{scanned('8Lt3WnB6vC1dF')}"},
              "marked shoes: 2 codes scanned, packed"),
        Scene(dispute, {"status": "Ожидает отгрузки"}, "dispute settled (awaiting-delivery)"),
        Scene(deliver, {"status": "Доставляется", "tracking_number": "0012345678"},
              "rFBS handed to delivery with a tracking number (tracking-number/set, delivering)"),
        Scene(courier, {"status": "Курьер в пути"}, "rFBS courier on the way (last-mile)"),
        Scene(delivered, {"status": "Доставлено"}, "rFBS delivered (delivered)"),
        Scene(cancel, {"status": "Отменено", "cancel_reason": "352"}, "cancelled, reason 352 (cancel)"),
        Scene(track, {"tracking_number": "RA000111222RU"}, "tracking number alone (tracking-number/set)"),
        Scene(refused, {"status": "Отменено", "cancel_reason": "667"},
              "refusal: reason 667 is only for postings in delivery"),
        Scene(typo, {"status": "Упаковано"}, "unknown status typed"),
        Scene(race, {"status": "Ожидает отгрузки"}, "packed, but the buyer cancelled at Ozon first"),
    ]
    return scenes, race


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run_demo(folder: Path, *, serve: bool = False, postings: int = 24, seed: int = 7, every: float = 5.0,
             verbose: bool = False, backend: str = "excel") -> int:
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for old in ("orders.xlsx", "state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "ozon-writes.jsonl"):
        (folder / old).unlink(missing_ok=True)
    for archive in folder.glob("orders-archive-*.xlsx"):
        archive.unlink()
    setup_logging("DEBUG" if verbose else "WARNING")
    with contextlib.ExitStack() as running:
        emu = running.enter_context(OzonEmulator(seed=seed, postings=postings, fbo=6, returns=4, ship_delay=0.5,
                                                 client_id="123456", label_delay=0.0,
                                                 api_key="demo-key", write_log_path=folder / "ozon-writes.jsonl"))
        sheets = running.enter_context(SheetsEmulator()) if backend == "google" else None
        if sheets is not None:
            key = sheets.create_spreadsheet("Заказы Ozon (демо)", ["Лист1"])
            spreadsheet = GOOGLE_SHEET.format(key=key, url=sheets.base_url)
            where = f"the Google sheet {key} on the Sheets emulator ({sheets.base_url})"
        else:
            spreadsheet, where = EXCEL_SHEET, str(folder / "orders.xlsx")
        cfg_path = folder / "ozon-sync.yaml"
        cfg_path.write_text(CONFIG_TEMPLATE.format(client_id="123456", api_key="demo-key", base_url=emu.base_url,
                                                   spreadsheet=spreadsheet, every=max(5, int(every))),
                            encoding="utf-8")
        cfg = load_config(cfg_path)
        scenes, race = _scenes(emu)
        app = open_app(cfg)
        try:
            app.ensure_sheet()
            rep = app.engine.run_cycle()
            print(f"1. Pulled {rep.pulled} postings from the Ozon emulator ({emu.base_url}) into {where}, "
                  f"FBO postings and returns into their own read-only tabs")
            edits = {s.number: s.edits for s in scenes}
            if sheets is not None:
                edit_google_sheet(sheets, key, cfg.spreadsheet.worksheet, app.columns, edits)
            else:
                edit_workbook(cfg.spreadsheet.path, cfg.spreadsheet.worksheet, app.columns, edits)  # type: ignore[arg-type]
            emu.buyer_cancel(race)
            print(f"2. A person typed {len(scenes)} edits into the sheet; meanwhile a buyer cancelled {race} at Ozon")
            cycles = 0
            while cycles < 8:
                cycles += 1
                app.engine.run_cycle()
                if not app.state.open_entries():
                    break
                time.sleep(0.6)
            print(f"3. Synced in {cycles} cycle(s). What each row says now:\n")
            snap = app.backend.read(app.columns.read_fields)
            rows = {r.get("posting_number"): r for r in snap.rows}
            print(f"{'posting':<20} {'what the person did':<44} {'Статус':<18} Синхронизация")
            for s in scenes:
                r = rows[s.number]
                print(f"{s.number:<20} {_short(s.story, 44):<44} {_short(r.get('status'), 18):<18} "
                      f"{r.get('sync_note')}")
            _show_label(app, scenes[1].number)
            accepted = [e for e in emu.write_log if e["accepted"]]
            dups = [e for e in emu.write_log if e.get("duplicate")]
            print(f"\nOzon received {len(emu.write_log)} write calls: {len(accepted)} accepted, "
                  f"{len(emu.write_log) - len(accepted)} refused, {len(dups)} duplicates.")
            if sheets is not None:
                print(f"Google Sheets API requests: {sheets.request_count}")
            print(f"Files: config {cfg_path}, state {cfg.state}, Ozon's write log {folder / 'ozon-writes.jsonl'}")
            print(f"Reports from the state: ozon-sync --config {cfg_path} export --report daily -o daily.xlsx "
                  f"(also orders, picklist)")
            if serve:
                _serve(app, emu.base_url, every, sheets.base_url if sheets is not None else None)
        finally:
            app.close()
    return 0


def _show_label(app: App, number: str) -> None:
    """Where the marked posting's label landed: its file, the row's link, the batch to print."""
    link = app.state.label_links().get((app.config.ozon.account, number))
    batches = app.state.batches(limit=1)
    if not link:
        print(f"\nThe label of {number} is not fetched yet (Ozon makes it some 45-60 s after packing)")
        return
    print(f"\nThe label of {number} (the marked shoes) is saved in {app.config.labels_folder()}, linked from "
          f"«Этикетка» as {link}" + (f"; this cycle's batch to print: {batches[0].path}" if batches else ""))


def _serve(app: App, base_url: str, every: float, sheets_url: str | None = None) -> None:
    setup_logging("INFO")
    sp = app.config.spreadsheet
    if sheets_url is None:
        how = f"open {sp.path} in Excel or LibreOffice, change a Статус, save and close it"
    else:
        col = col_letters([c.field for c in app.columns.columns].index("status"))  # laid out in mapping order
        how = (f"change a Статус through the Sheets API, e.g.\n  curl -X PUT '{sheets_url}/v4/spreadsheets/"
               f"{sp.spreadsheet}/values/{sp.worksheet}!{col}2?valueInputOption=USER_ENTERED' "
               f"-H 'Content-Type: application/json' -d '{{\"values\": [[\"Ожидает отгрузки\"]]}}'\n")
    print(f"\nServing: {how}; a cycle runs every {every:g}s. The Ozon emulator listens on {base_url}. Ctrl-C stops.")
    Daemon(app.run_cycle, every=every, lock_path=lock_path_for(app.config.state), command="demo").run()
    logging.getLogger("sync").info("Demo stopped")
