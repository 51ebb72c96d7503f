"""The central server's SQLite database: events held once, idempotency records, manifests, plans.

Owns the uniqueness that makes delivery exactly-once in effect: ``events.event_id`` is the
primary key (a resent event is a no-op) and an idempotency record (station, key, body hash,
the answer) is written in the same transaction as the events it answered for, so "applied
but the answer was lost" replays the same answer. Plain ``sqlite3`` (not the station's
store): this runs on another machine and shares nothing with the station but the protocol.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hub TEXT,
    day TEXT,
    kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    clock_synced INTEGER NOT NULL,
    tracking_id TEXT,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_station_seq ON events (station_id, seq);
-- A parcel's events, for its tracking status: without it every status read scanned all events.
CREATE INDEX IF NOT EXISTS events_tracking ON events (tracking_id, station_id, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    station_id TEXT NOT NULL,
    key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (station_id, key)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (
    hub TEXT NOT NULL, day TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (hub, day)
);
CREATE TABLE IF NOT EXISTS plans (
    hub TEXT NOT NULL, day TEXT NOT NULL, version INTEGER NOT NULL, station_id TEXT NOT NULL,
    body TEXT NOT NULL, published_at TEXT NOT NULL, PRIMARY KEY (hub, day)
);
CREATE TABLE IF NOT EXISTS epcis_events (
    event_id TEXT PRIMARY KEY, station_id TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Stored:
    """The answer to a push, as sent and as replayed for a repeated Idempotency-Key."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Versioned:
    version: int
    body: str
    station_id: str | None = None


class CentralStore:
    """One connection, one lock: the reference server is a single process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: an answer of 200 promises the events are on disk.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()

    @classmethod
    def in_dir(cls, data_dir: Path) -> CentralStore:
        return cls(Path(data_dir) / "central.db")

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def _bump(self, name: str, by: int = 1) -> None:
        self.conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def replay(self, station_id: str, key: str) -> tuple[str, Stored] | None:
        """The body hash and stored answer for a key already used, or None."""
        with self.lock:
            row = self.conn.execute(
                "SELECT body_sha256, status, response FROM idempotency WHERE station_id = ? AND key = ?",
                (station_id, key),
            ).fetchone()
        if row is None:
            return None
        return row[0], Stored(row[1], json.loads(row[2]))

    def count_duplicate_request(self) -> None:
        with self.lock:
            self._bump("duplicate_requests")

    def apply_batch(
        self,
        station_id: str,
        key: str,
        body_sha256: str,
        events: list[dict[str, Any]],
    ) -> Stored:
        """Insert the events (a known id is a no-op) and record the answer, atomically."""
        received = _now()
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                accepted = 0
                for ev in events:
                    cur = self.conn.execute(
                        "INSERT OR IGNORE INTO events (event_id, station_id, seq, hub, day, kind, "
                        "occurred_at, clock_synced, tracking_id, received_at, payload) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            ev["event_id"],
                            station_id,
                            ev["seq"],
                            ev.get("hub"),
                            ev.get("day"),
                            ev["kind"],
                            ev["occurred_at"],
                            int(bool(ev["clock_synced"])),
                            ev.get("tracking_id"),
                            received,
                            json.dumps(ev, separators=(",", ":")),
                        ),
                    )
                    accepted += cur.rowcount
                duplicates = len(events) - accepted
                answer = Stored(200, {"accepted": accepted, "duplicates": duplicates})
                if duplicates:
                    self._bump("duplicate_events", duplicates)
                    if accepted == 0:
                        self._bump("duplicate_requests")
                self.conn.execute(
                    "INSERT INTO idempotency (station_id, key, body_sha256, status, response, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (station_id, key, body_sha256, answer.status, json.dumps(answer.body), received),
                )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return answer

    # -- manifests and plans: one versioned document per hub and day -------------------

    def get_versioned(self, table: str, hub: str, day: str) -> Versioned | None:
        assert table in ("manifests", "plans")
        cols = "version, body" + (", station_id" if table == "plans" else "")
        with self.lock:
            row = self.conn.execute(f"SELECT {cols} FROM {table} WHERE hub = ? AND day = ?", (hub, day)).fetchone()
        if row is None:
            return None
        return Versioned(row[0], row[1], row[2] if table == "plans" else None)

    def put_versioned(
        self,
        table: str,
        hub: str,
        day: str,
        body: str,
        *,
        station_id: str,
        if_version: int | None,
    ) -> int | None:
        """Store a new version; None when ``if_version`` is given and is not the current one."""
        assert table in ("manifests", "plans")
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                row = self.conn.execute(f"SELECT version FROM {table} WHERE hub = ? AND day = ?", (hub, day)).fetchone()
                current = row[0] if row else 0
                if if_version is not None and if_version != current:
                    self.conn.execute("ROLLBACK")
                    return None
                version = current + 1
                if table == "plans":
                    self.conn.execute(
                        "INSERT OR REPLACE INTO plans (hub, day, version, station_id, body, published_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (hub, day, version, station_id, body, _now()),
                    )
                else:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO manifests (hub, day, version, body, updated_at) VALUES (?, ?, ?, ?, ?)",
                        (hub, day, version, body, _now()),
                    )
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        return version

    def add_epcis_event(self, station_id: str, event_id: str, body: str) -> bool:
        """False when the event id is already held (EPCIS: 409 ResourceAlreadyExists)."""
        with self.lock:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO epcis_events (event_id, station_id, body, received_at) VALUES (?, ?, ?, ?)",
                (event_id, station_id, body, _now()),
            )
            return cur.rowcount == 1

    # -- what tests and `station central stats` read ---------------------------------

    def stats(self) -> dict[str, Any]:
        with self.lock:
            per_station = dict(
                self.conn.execute(
                    "SELECT station_id, count(*) FROM events GROUP BY station_id ORDER BY station_id"
                ).fetchall()
            )
            counters = dict(self.conn.execute("SELECT name, value FROM counters").fetchall())
            epcis = self.conn.execute("SELECT count(*) FROM epcis_events").fetchone()[0]
        return {
            "events": per_station,
            "events_total": sum(per_station.values()),
            "duplicate_requests": counters.get("duplicate_requests", 0),
            "duplicate_events": counters.get("duplicate_events", 0),
            "epcis_events": epcis,
        }

    def event_ids(self, station_id: str | None = None) -> list[str]:
        with self.lock:
            if station_id is None:
                rows = self.conn.execute("SELECT event_id FROM events").fetchall()
            else:
                rows = self.conn.execute("SELECT event_id FROM events WHERE station_id = ?", (station_id,)).fetchall()
        return [r[0] for r in rows]

    def integrity_check(self) -> str:
        with self.lock:
            return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def stats(data_dir: Path) -> dict[str, Any]:
    """``station central stats``: read the data dir of a server (running or not)."""
    store = CentralStore.in_dir(data_dir)
    try:
        return store.stats()
    finally:
        store.close()
