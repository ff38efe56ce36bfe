"""The SQLite state store: a real file, its permissions, its schema version, the outbox's steps."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.engine.state import SCHEMA_VERSION, StateStore
from sync.errors import StateError

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def enqueue(store: StateStore, edit: str = "e1"):  # type: ignore[no-untyped-def]
    return store.enqueue(account="main", number="1-1-1", action="ship", target="packed", edit=edit, field="status",
                         params={}, from_status="awaiting_packaging", from_substatus="", typed="Ожидает отгрузки",
                         now=T0)


def test_state_file_is_private_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.sqlite"
    store = StateStore(path)
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert StateStore(path).get_meta("schema_version") == str(SCHEMA_VERSION)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = StateStore(path)
    store.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(StateError, match="newer ozon-sync"):
        StateStore(path)


# The outbox as schema 1 had it (before the item-data step).
_OUTBOX_V1 = """CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, number TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, edit TEXT NOT NULL, field TEXT NOT NULL,
    params TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    from_status TEXT NOT NULL, from_substatus TEXT NOT NULL, typed TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT, outcome TEXT NOT NULL DEFAULT '',
    UNIQUE (account, number, action, target, edit))"""


def test_schema_1_file_is_upgraded_in_place_keeping_its_outbox(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(_OUTBOX_V1 + ";CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema_version', '1');"
                     "INSERT INTO outbox (account, number, action, target, edit, field, params, state, from_status, "
                     "from_substatus, typed, created_at, updated_at) VALUES ('main', '1-1-1', 'ship', 'packed', 'e1', "
                     "'status', '{}', 'sent', 'awaiting_packaging', '', 'Ожидает отгрузки', "
                     "'2026-11-23T09:00:00+00:00', '2026-11-23T09:00:00+00:00')")
    db.commit()
    db.close()
    with caplog.at_level("INFO", logger="sync.state"):
        store = StateStore(path)
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert "upgraded to schema 2" in caplog.text
    (entry,) = store.open_entries()
    assert (entry.number, entry.state, entry.step) == ("1-1-1", "sent", "")
    store.move(entry.id, entry.state, T0, step="checked")
    assert store.entry(entry.id).step == "checked"
    store.close()
    assert StateStore(path).entry(entry.id).step == "checked"  # opened again: nothing to upgrade


def test_corrupt_state_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="Move it aside"):
        StateStore(path)


def test_the_same_edit_is_one_entry_and_each_step_is_committed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = StateStore(path)
    first = enqueue(store)
    again = enqueue(store)
    assert first.id == again.id and first.state == "queued"
    store.move(first.id, "sending", T0, attempts=1)
    # another connection (a process after a crash) sees the committed step at once
    other = sqlite3.connect(str(path))
    assert other.execute("SELECT state, attempts FROM outbox").fetchall() == [("sending", 1)]
    other.close()
    store.move(first.id, "sent", T0 + timedelta(seconds=1), sent=True)
    store.move(first.id, "verified", T0 + timedelta(seconds=2), outcome="done")
    assert store.open_entries() == []
    assert store.entry(first.id).outcome == "done"
    assert enqueue(store, "e2").id != first.id


def test_status_history_records_each_change_once(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    assert store.upsert_posting("main", "1-1-1", "awaiting_packaging", "", {"a": 1}, T0)
    assert not store.upsert_posting("main", "1-1-1", "awaiting_packaging", "", {"a": 2}, T0 + timedelta(minutes=1))
    assert store.upsert_posting("main", "1-1-1", "awaiting_deliver", "", {"a": 3}, T0 + timedelta(minutes=2))
    hist = store.history("main", "1-1-1")
    assert [h[0] for h in hist] == ["awaiting_packaging", "awaiting_deliver"]
    data, since = store.posting_data("main", "1-1-1")  # type: ignore[misc]
    assert data == {"a": 3} and since == T0 + timedelta(minutes=2)


def test_cell_versions_grow_only_when_written(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    store.set_cell("main", "1", "status", "A", bump=True)
    store.set_cell("main", "1", "status", "B", bump=False)
    assert store.cells_of("main", "1")["status"].version == 1
    store.set_cell("main", "1", "status", "C", bump=True)
    cs = store.cells_of("main", "1")["status"]
    assert (cs.base, cs.version) == ("C", 2)


def test_another_process_writing_the_state_is_noticed(tmp_path: Path) -> None:
    """The daemon keeps what it knows of the postings between cycles only while nobody else writes the file."""
    ours, theirs = StateStore(tmp_path / "s.sqlite"), StateStore(tmp_path / "s.sqlite")
    before = ours.data_version()
    ours.upsert_posting("main", "1-1-1", "awaiting_packaging", "", {"posting_number": "1-1-1"}, T0)
    assert ours.data_version() == before  # our own writes
    theirs.upsert_posting("main", "1-1-1", "cancelled", "", {"posting_number": "1-1-1"}, T0)
    assert ours.data_version() != before  # someone else's
    ours.close()
    theirs.close()
