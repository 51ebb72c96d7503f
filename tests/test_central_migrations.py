"""The central database's schema versions: a pilot's central.db from before versions were
counted is upgraded in place without losing tracking's backlog; a database newer than the
code is refused; applying twice changes nothing (both backends)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from station.central.db import DatabaseError, SqliteDatabase
from station.central.migrations import LATEST, MIGRATIONS, migrate
from station.central.storage import CentralStore


def test_a_pilot_database_from_before_versions_keeps_tracking_backlog(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "central.db")
    with db.transaction() as tx:
        MIGRATIONS[0](tx)  # the schema a pilot has had since before schema_version existed
        for n in range(1, 6):
            tx.execute(
                "INSERT INTO events (event_id, station_id, seq, kind, occurred_at, clock_synced, tracking_id, "
                "received_at, payload) VALUES (?, 'S1', ?, 'sorted', '2026-11-25T06:00:00+00:00', 1, ?, 'now', '{}')",
                (f"e{n}", n, f"P{n}"),
            )
        # Tracking had read up to the third event when the server was stopped for the upgrade.
        tx.execute("INSERT INTO track_cursor (name, value) VALUES ('events', 3)")
    db.close()

    store = CentralStore.open(None, tmp_path)
    try:
        with store.db.read() as tx:
            backlog = sorted(r[0] for r in tx.execute("SELECT tracking_id FROM track_dirty"))
            version = tx.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        assert backlog == ["P4", "P5"]
        assert version == LATEST
        assert len(store.event_ids()) == 5
    finally:
        store.close()


def test_migrating_again_changes_nothing(tmp_path: Path, central_database: str | None) -> None:
    store = CentralStore.open(central_database, tmp_path)
    try:
        assert migrate(store.db) == LATEST
        with store.db.read() as tx:
            assert tx.execute("SELECT count(*) FROM schema_version").fetchone()[0] == LATEST
    finally:
        store.close()


def test_a_newer_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    CentralStore.open(None, tmp_path).close()
    with sqlite3.connect(tmp_path / "central.db") as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, 'later')", (LATEST + 1,))
    with pytest.raises(DatabaseError, match=f"schema version {LATEST + 1}.*Upgrade the server"):
        CentralStore.open(None, tmp_path)
    with sqlite3.connect(tmp_path / "central.db") as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == LATEST + 1
