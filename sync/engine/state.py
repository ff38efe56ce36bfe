"""The SQLite state store: what the daemon knows between cycles.

Tables (schema version in ``meta``):
    postings   last Ozon snapshot of each posting (JSON), its status, and when we first saw that status
    history    every observed status change with its time (reports measure "late" from it)
    cells      per posting and both-owned field: the base (value we last wrote or saw) and a version
               that grows each time the daemon writes that cell
    pending    both-owned values and notes in a sheet write whose outcome is not recorded yet (a crash
               between the write and the commit): the next read tells a person's edit from our own write
    rows       per posting: the sync note, the hash of the Ozon-owned values last written, on_sheet
    outbox     push requests: queued -> sending -> sent -> verified | failed, each step committed
    audit      one line per thing that happened, for `status` and for people asking "who did that"
    cycles     one line per cycle
    alerts     every alert raised (unique per kind, account and a key such as posting@deadline), with the
               channels it still has to reach; added later, created on open in older files too
    labels     per shipped posting, its label: waiting (due at), saved (the link the sheet shows) or refused
               (why); label_batches: each cycle's batch file and what the print command did with it
               (both added later, created on open in older files too)
Each method commits its own change: a crash loses at most the step in flight.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sync.errors import StateError
from sync.model import FINISHED_STATUSES

log = logging.getLogger("sync.state")

SCHEMA_VERSION = 2
# Each step up from the schema before it, run once on open (and announced in the log).
_MIGRATIONS = {
    2: "ALTER TABLE outbox ADD COLUMN step TEXT NOT NULL DEFAULT ''",  # the item-data steps before a ship
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS postings (
    account TEXT NOT NULL, number TEXT NOT NULL, status TEXT NOT NULL, substatus TEXT NOT NULL,
    data TEXT NOT NULL, status_since TEXT NOT NULL, first_seen TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (account, number));
CREATE TABLE IF NOT EXISTS history (
    account TEXT NOT NULL, number TEXT NOT NULL, status TEXT NOT NULL, substatus TEXT NOT NULL,
    seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_key ON history (account, number);
CREATE TABLE IF NOT EXISTS cells (
    account TEXT NOT NULL, number TEXT NOT NULL, field TEXT NOT NULL, base TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0, held_since TEXT,
    PRIMARY KEY (account, number, field));
CREATE TABLE IF NOT EXISTS pending (
    account TEXT NOT NULL, number TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (account, number, field));
CREATE TABLE IF NOT EXISTS rows (
    account TEXT NOT NULL, number TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
    ozon_hash TEXT NOT NULL DEFAULT '', on_sheet INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, number));
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, number TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, edit TEXT NOT NULL, field TEXT NOT NULL,
    params TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    from_status TEXT NOT NULL, from_substatus TEXT NOT NULL, typed TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT, outcome TEXT NOT NULL DEFAULT '',
    step TEXT NOT NULL DEFAULT '',
    UNIQUE (account, number, action, target, edit));
CREATE INDEX IF NOT EXISTS outbox_open ON outbox (state);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, account TEXT NOT NULL, number TEXT NOT NULL,
    event TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cycles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,
    summary TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, account TEXT NOT NULL, dedup TEXT NOT NULL,
    number TEXT, at TEXT NOT NULL, text TEXT NOT NULL, details TEXT NOT NULL,
    pending TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, account, dedup));
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (pending);
CREATE TABLE IF NOT EXISTS labels (
    account TEXT NOT NULL, number TEXT NOT NULL, state TEXT NOT NULL, due_at TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0, link TEXT NOT NULL DEFAULT '', problem TEXT NOT NULL DEFAULT '',
    day TEXT NOT NULL DEFAULT '', PRIMARY KEY (account, number));
CREATE INDEX IF NOT EXISTS labels_state ON labels (state, due_at);
CREATE TABLE IF NOT EXISTS label_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, path TEXT NOT NULL, postings INTEGER NOT NULL,
    printed TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '');
"""

class Stage(StrEnum):
    """Where an outbox entry is: queued -> sending -> sent -> verified | failed, each step committed."""

    QUEUED = "queued"
    SENDING = "sending"  # the call is about to be made (or was made, and its answer never recorded)
    SENT = "sent"  # Ozon accepted the call; not yet seen done
    VERIFIED = "verified"  # Ozon shows the move done
    FAILED = "failed"  # refused, or overtaken by Ozon; answered in the row


OPEN_OUTBOX = (Stage.QUEUED, Stage.SENDING, Stage.SENT)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    account: str
    number: str
    action: str
    target: str
    edit: str
    field: str
    params: dict[str, Any]
    state: Stage
    attempts: int
    from_status: str
    from_substatus: str
    typed: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    outcome: str
    step: str = ""  # of a ship with item data: how far the steps before the ship went (outbox.ItemStep)

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.number)


@dataclass(frozen=True)
class AlertRow:
    """A raised alert; ``pending`` lists the channels it has not reached yet."""

    id: int
    kind: str
    account: str
    number: str | None
    at: datetime
    text: str
    details: dict[str, str]
    pending: tuple[str, ...]
    attempts: int


@dataclass(frozen=True, slots=True)
class CellState:
    base: str
    version: int
    held_since: datetime | None


@dataclass(frozen=True, slots=True)
class RowState:
    note: str
    ozon_hash: str
    on_sheet: bool
    archived: bool


class LabelState(StrEnum):
    WAITING = "waiting"  # to fetch once due (Ozon makes a label some 45-60 s after packing)
    SAVED = "saved"
    REFUSED = "refused"  # Ozon will not make it (the posting moved on, or Ozon said why): not asked again
    ERASED = "erased"  # saved, and erased privacy.purge_after_days later (the record stays: never fetched again)


@dataclass(frozen=True, slots=True)
class LabelJob:
    account: str
    number: str
    tries: int


@dataclass(frozen=True, slots=True)
class LabelBatch:
    """One cycle's labels in one file; ``printed``: "" while the print command has yet to run on it, else
    ``ok``, ``failed`` or ``off`` (no print command), with ``result`` in words."""

    id: int
    at: datetime
    path: str
    postings: int
    printed: str
    result: str


class StateStore:
    """SQLite file (created 0600). ``StateStore(":memory:")`` is not offered: tests use a temp file."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            self.db = sqlite3.connect(str(path), isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"The state file {path} cannot be used ({exc}). Move it aside with its -wal and -shm files "
                f"(for example `mv {path} {path}.damaged`; also {path.name}-wal and {path.name}-shm if they are "
                f"there), then run `ozon-sync sync`: the state is rebuilt from Ozon and the sheet, and every status "
                f"or tracking number in the sheet that differs from Ozon is sent if Ozon allows it, or answered in "
                f"its row, so nothing typed is lost."
            ) from None
        except OSError as exc:
            raise StateError(
                f"Cannot open the state file {path}: {exc.strerror}; check `state` in the config"
            ) from None
        if row is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(row[0]) < SCHEMA_VERSION:
            self._migrate(int(row[0]))
        elif int(row[0]) > SCHEMA_VERSION:
            raise StateError(
                f"The state file {path} was written by a newer ozon-sync (schema {row[0]}, we know {SCHEMA_VERSION}); "
                f"upgrade ozon-sync"
            )

    def _migrate(self, found: int) -> None:
        """Bring a file of an older schema up to this one, each step in its own commit with the version."""
        for version in range(found + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN")
            self.db.execute(_MIGRATIONS[version])
            self.set_meta("schema_version", str(version))
            self.db.execute("COMMIT")
            log.info("State file %s upgraded to schema %d", self.path, version)

    def close(self) -> None:
        self.db.close()

    def begin(self) -> None:
        """Group the following writes into one commit (bulk pulls); ``commit()`` ends the group."""
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- postings -----------------------------------------------------------------------------

    def upsert_posting(self, account: str, number: str, status: str, substatus: str, data: dict[str, Any],
                       now: datetime) -> bool:
        """Store Ozon's latest view; returns True when status or substatus changed (history gets a line)."""
        row = self.db.execute(
            "SELECT status, substatus FROM postings WHERE account=? AND number=?", (account, number)
        ).fetchone()
        blob = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        changed = row is None or (row[0], row[1]) != (status, substatus)
        if row is None:
            self.db.execute(
                "INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (account, number, status, substatus, blob, _iso(now), _iso(now), _iso(now)),
            )
        elif changed:
            self.db.execute(
                "UPDATE postings SET status=?, substatus=?, data=?, status_since=?, updated_at=? "
                "WHERE account=? AND number=?",
                (status, substatus, blob, _iso(now), _iso(now), account, number),
            )
        else:
            self.db.execute(
                "UPDATE postings SET data=?, updated_at=? WHERE account=? AND number=?",
                (blob, _iso(now), account, number),
            )
        if changed:
            self.db.execute("INSERT INTO history VALUES (?, ?, ?, ?, ?)",
                            (account, number, status, substatus, _iso(now)))
        return changed

    def purge_buyers(self, finished_before: datetime) -> list[tuple[str, str]]:
        """Blank the buyer's name, phone and address of postings finished before the given time;
        returns their keys."""
        finished = ", ".join(f"'{s}'" for s in sorted(FINISHED_STATUSES))
        rows = self.db.execute(
            "UPDATE postings SET data = json_set(data, '$.customer_name', '', '$.customer_phone', '', "
            f"'$.customer_address', '') WHERE status IN ({finished}) AND status_since < ? AND "
            "(json_extract(data, '$.customer_name') != '' OR json_extract(data, '$.customer_phone') != '' "
            "OR json_extract(data, '$.customer_address') != '') RETURNING account, number",
            (_iso(finished_before),),
        ).fetchall()
        return [(a, n) for a, n in rows]

    def data_version(self) -> int:
        """Changes when another connection (another process) commits to the file; our own do not."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def posting_rows(self, *, off_sheet_finished_before: datetime | None = None,
                     ) -> Iterator[tuple[str, str, dict[str, Any], datetime]]:
        """(account, number, data, status_since) for every known posting, streamed.

        With ``off_sheet_finished_before``, postings that will not be on the sheet again are left out:
        those moved to the archive, and those finished before that time that are not on the sheet."""
        query = "SELECT p.account, p.number, p.data, p.status_since FROM postings p"
        args: tuple[str, ...] = ()
        if off_sheet_finished_before is not None:
            finished = ", ".join(f"'{s}'" for s in sorted(FINISHED_STATUSES))
            query += (" LEFT JOIN rows r ON r.account = p.account AND r.number = p.number "
                      "WHERE COALESCE(r.archived, 0) = 0 AND NOT (COALESCE(r.on_sheet, 0) = 0 "
                      f"AND p.status IN ({finished}) AND p.status_since < ?)")
            args = (_iso(off_sheet_finished_before),)
        for acc, num, data, since in self.db.execute(query, args):
            yield acc, num, json.loads(data), datetime.fromisoformat(since)

    def posting_data(self, account: str, number: str) -> tuple[dict[str, Any], datetime] | None:
        row = self.db.execute(
            "SELECT data, status_since FROM postings WHERE account=? AND number=?", (account, number)
        ).fetchone()
        return None if row is None else (json.loads(row[0]), datetime.fromisoformat(row[1]))

    def history(self, account: str, number: str) -> list[tuple[str, str, datetime]]:
        return [
            (s, ss, datetime.fromisoformat(t))
            for s, ss, t in self.db.execute(
                "SELECT status, substatus, seen_at FROM history WHERE account=? AND number=? ORDER BY rowid",
                (account, number),
            )
        ]

    # --- cells and rows -------------------------------------------------------------------------

    def cells_of(self, account: str, number: str) -> dict[str, CellState]:
        """One posting's both-owned cells, by field. (Read per posting: the engine asks only for rows
        that changed, so a daemon over 100,000 postings holds none of them between cycles.)"""
        return {f: CellState(b, v, parse_iso(h)) for f, b, v, h in self.db.execute(
            "SELECT field, base, version, held_since FROM cells WHERE account=? AND number=?", (account, number))}

    def set_cell(self, account: str, number: str, field: str, base: str, *, bump: bool,
                 held_since: datetime | None = None) -> None:
        self.db.execute(
            "INSERT INTO cells (account, number, field, base, version, held_since) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, number, field) DO UPDATE SET base=excluded.base, "
            "version=cells.version + ?, held_since=excluded.held_since",
            (account, number, field, base, 1 if bump else 0, _iso(held_since) if held_since else None,
             1 if bump else 0),
        )

    def pending(self) -> dict[tuple[str, str, str], str]:
        """Values of both-owned cells sent to the sheet in a write not yet known to have landed."""
        return {(a, n, f): v for a, n, f, v in self.db.execute("SELECT account, number, field, value FROM pending")}

    def set_pending(self, values: list[tuple[str, str, str, str]]) -> None:
        """Record (account, number, field, value) before the sheet write that carries them (one commit)."""
        outer = self.db.in_transaction
        self.begin()
        self.db.executemany("INSERT OR REPLACE INTO pending (account, number, field, value) VALUES (?, ?, ?, ?)",
                            values)
        if not outer:
            self.commit()

    def clear_pending(self, keys: list[tuple[str, str]]) -> None:
        """Forget the write-ahead values of these (account, number) rows: their write is recorded."""
        self.db.executemany("DELETE FROM pending WHERE account=? AND number=?", keys)

    def set_held(self, account: str, number: str, field: str, since: datetime | None) -> None:
        self.db.execute(
            "UPDATE cells SET held_since=? WHERE account=? AND number=? AND field=?",
            (_iso(since) if since else None, account, number, field),
        )

    def row(self, account: str, number: str) -> RowState | None:
        """One posting's row record (read per posting, like :meth:`cells_of`)."""
        got = self.db.execute("SELECT note, ozon_hash, on_sheet, archived FROM rows WHERE account=? AND number=?",
                              (account, number)).fetchone()
        return None if got is None else RowState(got[0], got[1], bool(got[2]), bool(got[3]))

    def on_sheet(self) -> Iterator[tuple[str, str]]:
        """(account, number) of every posting the daemon last saw on the sheet."""
        yield from self.db.execute("SELECT account, number FROM rows WHERE on_sheet=1")

    def set_row(self, account: str, number: str, *, note: str | None = None, ozon_hash: str | None = None,
                on_sheet: bool | None = None, archived: bool | None = None) -> None:
        self.db.execute("INSERT OR IGNORE INTO rows (account, number) VALUES (?, ?)", (account, number))
        for col, val in (("note", note), ("ozon_hash", ozon_hash), ("on_sheet", on_sheet), ("archived", archived)):
            if val is not None:
                self.db.execute(f"UPDATE rows SET {col}=? WHERE account=? AND number=?", (val, account, number))

    def forget_sheet(self) -> None:
        """Mark every posting as not on the sheet: the next cycle lays every open one out again."""
        self.db.execute("UPDATE rows SET on_sheet=0")

    def count_on_sheet(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM rows WHERE on_sheet=1").fetchone()[0])

    # --- outbox -------------------------------------------------------------------------------

    def enqueue(self, *, account: str, number: str, action: str, target: str, edit: str, field: str,
                params: dict[str, Any], from_status: str, from_substatus: str, typed: str,
                now: datetime) -> OutboxEntry:
        """Insert a queued entry (committed at once); an identical edit returns the existing entry."""
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (account, number, action, target, edit, field, params, state, "
            "from_status, from_substatus, typed, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
            (account, number, action, target, edit, field, json.dumps(params, ensure_ascii=False),
             from_status, from_substatus, typed, _iso(now), _iso(now)),
        )
        row = self.db.execute(
            "SELECT * FROM outbox WHERE account=? AND number=? AND action=? AND target=? AND edit=?",
            (account, number, action, target, edit),
        ).fetchone()
        return self._entry(row)

    def move(self, entry_id: int, state: Stage, now: datetime, *, outcome: str | None = None,
             attempts: int | None = None, sent: bool = False, step: str | None = None) -> None:
        sets: list[str] = ["state=?", "updated_at=?"]
        args: list[object] = [state, _iso(now)]
        if step is not None:
            sets.append("step=?")
            args.append(step)
        if outcome is not None:
            sets.append("outcome=?")
            args.append(outcome)
        if attempts is not None:
            sets.append("attempts=?")
            args.append(attempts)
        if sent:
            sets.append("sent_at=?")
            args.append(_iso(now))
        self.db.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE id=?", (*args, entry_id))

    def open_entries(self) -> list[OutboxEntry]:
        q = f"SELECT * FROM outbox WHERE state IN ({','.join('?' * len(OPEN_OUTBOX))}) ORDER BY id"
        return [self._entry(r) for r in self.db.execute(q, OPEN_OUTBOX)]

    def entries(self, limit: int = 50) -> list[OutboxEntry]:
        return [self._entry(r) for r in self.db.execute("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,))]

    def entry(self, entry_id: int) -> OutboxEntry:
        return self._entry(self.db.execute("SELECT * FROM outbox WHERE id=?", (entry_id,)).fetchone())

    @staticmethod
    def _entry(r: Iterable[Any]) -> OutboxEntry:
        (i, acc, num, action, target, edit, field, params, state, attempts, fs, fss, typed, created, updated,
         sent, outcome, step) = r
        return OutboxEntry(i, acc, num, action, target, edit, field, json.loads(params), Stage(state), attempts, fs,
                           fss, typed, datetime.fromisoformat(created), datetime.fromisoformat(updated),
                           parse_iso(sent), outcome, step)

    # --- audit and cycles ---------------------------------------------------------------------

    def audit(self, account: str, number: str, event: str, detail: str, now: datetime) -> None:
        self.db.execute("INSERT INTO audit (at, account, number, event, detail) VALUES (?, ?, ?, ?, ?)",
                        (_iso(now), account, number, event, detail))

    def audit_lines(self, limit: int = 20) -> list[tuple[datetime, str, str, str, str]]:
        return [
            (datetime.fromisoformat(at), a, n, e, d)
            for at, a, n, e, d in self.db.execute(
                "SELECT at, account, number, event, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            )
        ]

    def start_cycle(self, now: datetime) -> int:
        cur = self.db.execute("INSERT INTO cycles (started_at) VALUES (?)", (_iso(now),))
        return int(cur.lastrowid or 0)

    def finish_cycle(self, cycle_id: int, now: datetime, summary: str, error: str = "") -> None:
        self.db.execute("UPDATE cycles SET finished_at=?, summary=?, error=? WHERE id=?",
                        (_iso(now), summary, error, cycle_id))

    def recent_cycles(self, limit: int = 10) -> list[tuple[datetime, datetime | None, str, str]]:
        return [
            (datetime.fromisoformat(s), parse_iso(f), summ, err)
            for s, f, summ, err in self.db.execute(
                "SELECT started_at, finished_at, summary, error FROM cycles ORDER BY id DESC LIMIT ?", (limit,)
            )
        ]

    # --- alerts ---------------------------------------------------------------------------------

    def postings_with_status(self, status: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(account, number, data) of every known posting Ozon last showed in ``status``."""
        for acc, num, data in self.db.execute("SELECT account, number, data FROM postings WHERE status=?",
                                              (status,)):
            yield acc, num, json.loads(data)

    def failed_entries(self, since: datetime) -> list[OutboxEntry]:
        """Outbox entries that ended ``failed`` at ``since`` or later, oldest first."""
        # Times are stored as UTC ISO text, which sorts as time does ('+' sorts before a fraction's '.').
        rows = self.db.execute("SELECT * FROM outbox WHERE state='failed' AND updated_at >= ? ORDER BY id",
                               (_iso(since),))
        return [e for e in map(self._entry, rows) if e.updated_at >= since]

    def add_alert(self, *, kind: str, account: str, dedup: str, number: str | None, at: datetime, text: str,
                  details: dict[str, str], pending: Iterable[str]) -> int | None:
        """Record an alert; None when one of this kind, account and ``dedup`` was raised before."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO alerts (kind, account, dedup, number, at, text, details, pending) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, account, dedup, number, _iso(at), text, json.dumps(details, ensure_ascii=False),
             " ".join(pending)),
        )
        return int(cur.lastrowid or 0) if cur.rowcount == 1 else None

    def pending_alerts(self) -> list[AlertRow]:
        """Alerts some channel has not received yet, oldest first."""
        return [
            AlertRow(i, k, a, n, datetime.fromisoformat(at), t, json.loads(d), tuple(p.split()), tries)
            for i, k, a, n, at, t, d, p, tries in self.db.execute(
                "SELECT id, kind, account, number, at, text, details, pending, attempts FROM alerts "
                "WHERE pending != '' ORDER BY id"
            )
        ]

    def set_alert_pending(self, alert_id: int, pending: Iterable[str], attempts: int) -> None:
        self.db.execute("UPDATE alerts SET pending=?, attempts=? WHERE id=?",
                        (" ".join(pending), attempts, alert_id))

    def alert_count(self, kind: str | None = None) -> int:
        if kind is None:
            return int(self.db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM alerts WHERE kind=?", (kind,)).fetchone()[0])

    # --- reports (read-only) ------------------------------------------------------------------

    REPORT_TIME_FIELDS = ("in_process_at", "shipment_date")

    def report_postings(self, time_field: str, since: datetime | None, until: datetime | None, *,
                        statuses: Sequence[str] = (), unshipped: Sequence[str] = (),
                        ) -> Iterator[tuple[dict[str, Any], datetime, datetime | None]]:
        """Postings whose ``time_field`` falls in [since, until), in that field's order, streamed from a cursor.

        Yields (data, first_seen, shipped_at): ``shipped_at`` is the first time history saw the posting in a
        status not in ``unshipped`` (None if never). ``statuses`` keeps only postings now in those statuses.
        Times are compared as the stored ISO strings (all UTC); callers re-check the exact bounds.
        """
        if time_field not in self.REPORT_TIME_FIELDS:
            raise ValueError(f"report_postings: time_field must be one of {self.REPORT_TIME_FIELDS}")
        key = f"json_extract(p.data, '$.{time_field}')"
        where: list[str] = []
        args: list[object] = list(unshipped)
        if since is not None:
            where.append(f"{key} >= ?")
            args.append(_iso(since))
        if until is not None:
            where.append(f"{key} < ?")
            args.append(_iso(until))
        if statuses:
            where.append(f"p.status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        marks = ",".join("?" * len(unshipped)) or "''"
        query = (
            "SELECT p.data, p.first_seen, (SELECT MIN(h.seen_at) FROM history h WHERE h.account=p.account "
            f"AND h.number=p.number AND h.status NOT IN ({marks})) FROM postings p "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {key}, p.number"
        )
        for data, first_seen, shipped in self.db.execute(query, args):
            yield json.loads(data), datetime.fromisoformat(first_seen), parse_iso(shipped)

    # --- labels ---------------------------------------------------------------------------------

    def add_label_jobs(self, shipped_since: datetime, wait: float) -> int:
        """A waiting label for each ship verified since ``shipped_since`` that has none yet, due ``wait`` seconds
        after its verification; returns how many were added."""
        rows = self.db.execute(
            "SELECT account, number, MAX(updated_at) FROM outbox o WHERE action='ship' AND state='verified' "
            "AND updated_at >= ? AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.account=o.account "
            "AND l.number=o.number) GROUP BY account, number", (_iso(shipped_since),)).fetchall()
        for acc, num, verified in rows:
            due = datetime.fromisoformat(verified) + timedelta(seconds=wait)
            self.db.execute("INSERT OR IGNORE INTO labels (account, number, state, due_at) VALUES (?, ?, ?, ?)",
                            (acc, num, LabelState.WAITING, _iso(due)))
        return len(rows)

    def due_labels(self, now: datetime) -> list[LabelJob]:
        return [LabelJob(a, n, t) for a, n, t in self.db.execute(
            "SELECT account, number, tries FROM labels WHERE state=? AND due_at <= ? ORDER BY due_at, number",
            (LabelState.WAITING, _iso(now)))]

    def label_later(self, account: str, number: str, due: datetime, tries: int) -> None:
        self.db.execute("UPDATE labels SET due_at=?, tries=? WHERE account=? AND number=?",
                        (_iso(due), tries, account, number))

    def label_saved(self, account: str, number: str, link: str, day: str) -> None:
        self.db.execute("UPDATE labels SET state=?, link=?, day=?, problem='' WHERE account=? AND number=?",
                        (LabelState.SAVED, link, day, account, number))

    def label_refused(self, account: str, number: str, problem: str) -> None:
        self.db.execute("UPDATE labels SET state=?, problem=? WHERE account=? AND number=?",
                        (LabelState.REFUSED, problem, account, number))

    def label_links(self) -> dict[tuple[str, str], str]:
        """(account, number) -> the link to its saved label, for the sheet's label column."""
        return {(a, n): link for a, n, link in self.db.execute(
            "SELECT account, number, link FROM labels WHERE state=? AND link != ''", (LabelState.SAVED,))}

    def label_counts(self) -> dict[str, int]:
        return {str(s): int(c) for s, c in self.db.execute("SELECT state, COUNT(*) FROM labels GROUP BY state")}

    def forget_labels(self, before_day: str) -> int:
        """Labels saved on days before ``before_day`` (YYYY-MM-DD) are erased: no link, never fetched again."""
        cur = self.db.execute("UPDATE labels SET state=?, link='' WHERE state=? AND day < ?",
                              (LabelState.ERASED, LabelState.SAVED, before_day))
        self.db.execute("DELETE FROM label_batches WHERE at < ?", (before_day,))
        return cur.rowcount

    def add_batch(self, at: datetime, path: str, postings: int, printed: str = "", result: str = "") -> int:
        cur = self.db.execute("INSERT INTO label_batches (at, path, postings, printed, result) VALUES (?, ?, ?, ?, ?)",
                              (_iso(at), path, postings, printed, result))
        return int(cur.lastrowid or 0)

    def batch_printed(self, batch_id: int, printed: str, result: str) -> None:
        self.db.execute("UPDATE label_batches SET printed=?, result=? WHERE id=?", (printed, result, batch_id))

    def batches(self, *, unprinted: bool = False, limit: int = 5) -> list[LabelBatch]:
        """The latest batches, newest first (``unprinted``: only those the print command has yet to run on,
        oldest first)."""
        q = ("SELECT * FROM label_batches WHERE printed='' ORDER BY id LIMIT ?" if unprinted else
             "SELECT * FROM label_batches ORDER BY id DESC LIMIT ?")
        return [LabelBatch(i, datetime.fromisoformat(at), path, n, printed, result)
                for i, at, path, n, printed, result in self.db.execute(q, (limit,))]
