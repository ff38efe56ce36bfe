"""The `orders` Excel export of 100,000 postings: ours (sync.reports: xlsxwriter constant_memory, streamed from
the state store, with our row heights for wrapped text) against xlsxwriter alone (constant_memory mode) writing
the same rows with the same formats and page set-up; the ratio of CPU times is printed (target: at most 1.2).

    python bench/bench_export.py [--rows 100000]

A state store is filled once with ``--rows`` postings (each with two or three observed status changes), then
each writer runs in a fresh process so its peak RSS is its own. Both read the same postings through
``reports.state_entries`` and build the same row values (``reports.order_values``); "read only" is that
reading alone, without any writer, so the difference is the cost of writing the workbook. Printed: wall time,
CPU time, peak RSS (ru_maxrss) and the RSS after imports, the file size, and ours / xlsxwriter's CPU.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sync import reports
from sync.engine.state import StateStore
from sync.mapping import load_statuses
from sync.model import Posting, Product, posting_to_dict

TZ = ZoneInfo("Europe/Moscow")
START, END = date(2026, 1, 1), date(2026, 3, 31)
CATALOGUE = [("Чайник электрический 1,7 л", "KET-17"), ("Кружка керамическая 350 мл", "MUG-350"),
             ("Рюкзак городской", "BAG-CT"), ("Зарядка USB-C 30 Вт", "CHG-30"), ("Коврик для йоги", "YOG-01"),
             ("Набор отвёрток 12 шт.", "SCR-12"), ("Полотенце махровое 70×140", "TWL-70"), ("Термос 0,5 л", "THR-05")]


def fill(path: Path, rows: int) -> None:
    rng = random.Random(7)
    store = StateStore(path)
    store.begin()
    span = (datetime.combine(END, datetime.min.time(), TZ) - datetime.combine(START, datetime.min.time(), TZ))
    base = datetime.combine(START, datetime.min.time(), TZ).astimezone(UTC)
    for i in range(rows):
        accepted = base + timedelta(seconds=rng.uniform(0, span.total_seconds()))
        due = accepted + timedelta(hours=24)
        products = tuple(Product(2_000_000 + k, CATALOGUE[k][1], CATALOGUE[k][0], rng.choice([1, 1, 2, 3]),
                                 Decimal(rng.randint(30, 5000)) * 10)
                         for k in rng.sample(range(len(CATALOGUE)), rng.choice([1, 1, 2, 3])))
        number = f"{40_000_000 + i:010d}-{rng.randint(1, 9999):04d}-1"
        shipped = accepted + timedelta(hours=rng.uniform(1, 30))
        changes = [("awaiting_packaging", accepted + timedelta(minutes=1)), ("awaiting_deliver", shipped)]
        if rng.random() < 0.7:
            changes.append(("delivered", shipped + timedelta(days=2)))
        for status, at in changes:
            p = Posting(number, status, order_number=number[:-2], in_process_at=accepted, shipment_date=due,
                        products=products, warehouse="Склад Софьино", delivery_method="Ozon Логистика, самовывоз",
                        tracking_number=f"TRK{i:08d}" if status != "awaiting_packaging" else "")
            store.upsert_posting("main", number, status, "", posting_to_dict(p), at)
    cycle = store.start_cycle(datetime.now(UTC))
    store.finish_cycle(cycle, datetime.now(UTC), "bench")
    store.commit()
    store.close()


def request() -> reports.Request:
    return reports.Request("orders", TZ, datetime(2026, 4, 15, tzinfo=UTC), load_statuses(), START, END,
                           source="bench")


def run_ours(state: Path, out: Path) -> int:
    store = StateStore(state)
    result = reports.write_report(request(), reports.state_entries(store, request()), out)
    store.close()
    return result.postings


def run_xlsxwriter(state: Path, out: Path) -> int:
    import xlsxwriter

    req = request()
    store = StateStore(state)
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "remove_timezone": True,
                                        "default_format_properties": reports.FONT})
    ws = wb.add_worksheet("Заказы")
    header = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#305496", "text_wrap": True})
    fmts = {"int": wb.add_format({"num_format": reports.UNITS}), "rub": wb.add_format({"num_format": reports.RUB}),
            "datetime": wb.add_format({"num_format": reports.DATETIME})}
    late_fmts = {k: wb.add_format({"num_format": f.num_format, "font_color": "#C00000"}) for k, f in fmts.items()}
    text = wb.add_format({"text_wrap": True, "valign": "top"})
    late_text = wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#C00000"})
    for i, c in enumerate(reports.ORDER_COLS):
        ws.set_column(i, i, c.width)
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_row(0, 30)
    ws.write_row(0, 0, [c.header for c in reports.ORDER_COLS], header)
    r = 0
    for e in reports.state_entries(store, req):
        punct = reports.punctuality(e, req.now)
        r += 1
        for col, (spec, value) in enumerate(zip(reports.ORDER_COLS, reports.order_values(e, punct, req),
                                                strict=True)):
            if value is None or value == "":
                continue
            if spec.kind in ("text", "code"):
                ws.write_string(r, col, str(value), late_text if punct.late else text)
                continue
            fmt = (late_fmts if punct.late else fmts)[spec.kind]
            if isinstance(value, datetime):
                ws.write_datetime(r, col, value.astimezone(TZ).replace(tzinfo=None), fmt)
            else:
                ws.write_number(r, col, float(value), fmt)
    ws.autofilter(0, 0, r, len(reports.ORDER_COLS) - 1)
    wb.close()
    store.close()
    return r


def run_read(state: Path, out: Path) -> int:
    req = request()
    store = StateStore(state)
    n = 0
    for e in reports.state_entries(store, req):
        reports.order_values(e, reports.punctuality(e, req.now), req)
        n += 1
    store.close()
    return n


def child(kind: str, state: Path, out: Path) -> None:
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    rows = {"ours": run_ours, "xlsxwriter": run_xlsxwriter, "read": run_read}[kind](state, out)
    result: dict[str, Any] = {
        "rows": rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
        "rss_start": rss_start / 1024, "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "size": out.stat().st_size / 2**20 if out.exists() else 0.0,
    }
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--child", choices=["ours", "xlsxwriter", "read"], help=argparse.SUPPRESS)
    ap.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.state, args.out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.sqlite"
        t0 = time.perf_counter()
        fill(state, args.rows)
        print(f"Filled a state store with {args.rows:,} postings in {time.perf_counter() - t0:.1f} s "
              f"({state.stat().st_size / 2**20:.0f} MiB)")
        print(f"{'writer':<34}{'rows':>9}{'wall s':>9}{'CPU s':>8}{'peak RSS MiB':>14}{'(after imports)':>17}"
              f"{'file MiB':>10}")
        cpu: dict[str, float] = {}
        for kind, label in (("read", "read only (SQLite + rows, no file)"), ("ours", "ozon-sync (sync.reports)"),
                            ("xlsxwriter", "xlsxwriter alone, constant_memory")):
            out = Path(tmp) / f"{kind}.xlsx"
            done = subprocess.run([sys.executable, __file__, "--child", kind, "--state", str(state), "--out", str(out)],
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            cpu[kind] = r["cpu"]
            print(f"{label:<34}{r['rows']:>9,}{r['wall']:>9.1f}{r['cpu']:>8.1f}{r['rss_peak']:>14.0f}"
                  f"{r['rss_start']:>17.0f}{r['size']:>10.1f}")
        print(f"ours / xlsxwriter alone, CPU: {cpu['ours'] / cpu['xlsxwriter']:.2f}x "
              f"(the writing alone, reading taken off both: "
              f"{(cpu['ours'] - cpu['read']) / (cpu['xlsxwriter'] - cpu['read']):.2f}x)")


if __name__ == "__main__":
    main()
