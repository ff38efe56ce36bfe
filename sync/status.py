"""`ozon-sync status`: what the daemon did and what waits — gathered once as plain values (``gather``), then
shown as text for a person (``text``) or as JSON for scripts and monitors (``--json``).

``ok`` is false when the last cycle failed, when pushes have waited longer than ``STUCK`` (an Ozon or sheet
problem that does not go away), or when alerts could not be delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.app import App
from sync.handover_daily import status_lines

STUCK = timedelta(minutes=30)  # a push still open after this long makes ``ok`` false
PRINTED = {"ok": "printed", "failed": "NOT printed", "off": "no print command", "": "to print"}
LABEL_WORDS = {"saved": "saved", "waiting": "waiting for Ozon", "refused": "refused by Ozon", "erased": "erased"}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def gather(app: App) -> dict[str, Any]:
    """Everything `status` shows, as JSON-ready values (times in ISO 8601 with their offset)."""
    state, tz, now = app.state, app.config.tz(), app.edges.clock()
    cycles = [{"started": _iso(s), "finished": _iso(f), "summary": summary, "error": error}
              for s, f, summary, error in state.recent_cycles(5)]
    last_ok = next((c["finished"] for c in cycles if c["finished"] and not c["error"]), None)
    pending = [{"account": e.account, "posting": e.number, "action": e.action, "typed": e.typed,
                "state": str(e.state), "since": _iso(e.updated_at)} for e in state.open_entries()]
    undelivered = [{"at": _iso(a.at), "channels": list(a.pending), "text": a.text} for a in state.pending_alerts()]
    stuck = [p for p in pending if now - datetime.fromisoformat(str(p["since"])) > STUCK]
    last_failed = bool(cycles) and bool(cycles[0]["error"] or not cycles[0]["finished"])
    return {
        "ok": not (last_failed or stuck or undelivered),
        "now": _iso(now),
        "last_success": last_ok,
        "cycles": cycles,
        "pending_pushes": pending,
        "labels": {"counts": state.label_counts(), "folder": str(app.config.labels_folder()),
                   "batches": [{"at": _iso(b.at), "path": b.path, "postings": b.postings, "printed": b.printed,
                                "result": b.result} for b in state.batches(limit=3)]},
        "events": [{"at": _iso(at), "account": acc, "posting": num, "event": event, "detail": detail}
                   for at, acc, num, event, detail in state.audit_lines(10)],
        "alerts_undelivered": undelivered,
        "handover": status_lines(state, app.ozons, app.config.handover, tz, now),
        "workbook_lock": app.wait_for_lock(0),
        "conflict_copies": list(app.backend.conflict_copies()),
        "several_accounts": len(app.ozons) > 1,
    }


def text(facts: dict[str, Any], tz: ZoneInfo) -> Iterator[str]:
    """The lines a person reads."""
    def at(value: str, fmt: str) -> str:
        return f"{datetime.fromisoformat(value).astimezone(tz):{fmt}}"

    yield "Last cycles:"
    if not facts["cycles"]:
        yield "  none yet"
    for c in facts["cycles"]:
        end = at(c["finished"], "%H:%M:%S") if c["finished"] else "unfinished"
        yield f"  {at(c['started'], '%Y-%m-%d %H:%M:%S')}–{end}  {c['summary']}"
        if c["error"]:
            yield f"      problem: {c['error']}"
    several = facts["several_accounts"]
    yield f"Pending pushes: {len(facts['pending_pushes'])}"
    for p in facts["pending_pushes"]:
        who = f"{p['account']} {p['posting']}" if several else p["posting"]
        yield f"  {who}: {p['action']} «{p['typed']}» — {p['state']} since {at(p['since'], '%H:%M:%S')}"
    labels = facts["labels"]
    if labels["counts"]:
        counts = labels["counts"]
        yield (f"Labels: {', '.join(f'{counts[k]} {w}' for k, w in LABEL_WORDS.items() if counts.get(k))} "
               f"(in {labels['folder']})")
        for b in labels["batches"]:
            said = f": {b['result']}" if b["result"] else ""
            yield (f"  {at(b['at'], '%m-%d %H:%M:%S')} {b['path']} ({b['postings']}) — "
                   f"{PRINTED.get(b['printed'], b['printed'])}{said}")
    yield "Recent events:"
    for e in facts["events"]:
        who = f"{e['account']} " if several else ""
        yield f"  {at(e['at'], '%m-%d %H:%M:%S')} {who}{e['posting']} {e['event']}: {e['detail']}"
    undelivered = facts["alerts_undelivered"]
    if undelivered:
        yield f"Alerts not delivered yet: {len(undelivered)} (the log says why; tried again after each cycle)"
        for a in undelivered[-5:]:
            yield f"  {at(a['at'], '%m-%d %H:%M:%S')} {', '.join(a['channels'])}: {a['text']}"
    yield from facts["handover"]
    if facts["workbook_lock"]:
        yield f"Workbook lock: {facts['workbook_lock']}"
    if facts["conflict_copies"]:
        yield "Conflict copies beside the workbook (a sync client made them; merge by hand, then delete):"
        for name in facts["conflict_copies"]:
            yield f"  {name}"
