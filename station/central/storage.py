"""The station protocol's tables in the central database: events held once, idempotency
records, manifests, plans.

Owns the uniqueness that makes delivery exactly-once in effect, in any number of server
processes: ``events.event_id`` is the primary key (a resent event is a no-op) and the
idempotency record (station, key, body hash, the answer) is inserted first in the same
transaction as the events it answers for, so two processes given the same key at once
apply it once (the second waits on the first's row, then replays its answer), and "applied
but the answer was lost" replays the same answer. Each parcel that got an event is marked
for tracking (``track_dirty``) in that transaction too.

Runs on :mod:`.db` (SQLite or PostgreSQL); the schema is :mod:`.migrations`'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.central.db import Database, SqliteDatabase, Transaction, open_database
from station.central.migrations import migrate
from station.central.tracking_store import MARK_DIRTY, list_manifest

# One encoder for every event: json.dumps with separators builds a new one per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


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
    def __init__(self, db: Database, *, owns_db: bool = False) -> None:
        self.db = db
        self._owns_db = owns_db

    @classmethod
    def open(cls, database: str | None, data_dir: Path) -> CentralStore:
        """The store on ``database`` (a PostgreSQL URL) or on ``data_dir``'s SQLite file, migrated."""
        db = open_database(database, data_dir)
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db, owns_db=True)

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    @staticmethod
    def _bump(tx: Transaction, name: str, by: int = 1) -> None:
        tx.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
            (name, by),
        )

    def replay(self, station_id: str, key: str) -> tuple[str, Stored] | None:
        """The body hash and stored answer for a key already used, or None."""
        with self.db.read() as tx:
            row = tx.execute(
                "SELECT body_sha256, status, response FROM idempotency WHERE station_id = ? AND key = ?",
                (station_id, key),
            ).fetchone()
        if row is None:
            return None
        return row[0], Stored(row[1], json.loads(row[2]))

    def count_duplicate_request(self) -> None:
        with self.db.transaction() as tx:
            self._bump(tx, "duplicate_requests")

    def apply_batch(
        self,
        station_id: str,
        key: str,
        body_sha256: str,
        events: list[dict[str, Any]],
    ) -> tuple[str, Stored]:
        """Insert the events (a known id is a no-op) and record the answer, atomically.

        Returns the body hash the key is recorded with and the answer: when another request
        applied the same key first (another server process), its hash and its answer."""
        received = _now()
        with self.db.transaction() as tx:
            claimed = tx.execute(
                "INSERT INTO idempotency (station_id, key, body_sha256, status, response, created_at) "
                "VALUES (?, ?, ?, 0, '', ?) ON CONFLICT DO NOTHING",
                (station_id, key, body_sha256, received),
            ).rowcount
            if not claimed:
                row = tx.execute(
                    "SELECT body_sha256, status, response FROM idempotency WHERE station_id = ? AND key = ?",
                    (station_id, key),
                ).fetchone()
                return row[0], Stored(row[1], json.loads(row[2]))
            accepted = tx.executemany(
                "INSERT INTO events (event_id, station_id, seq, hub, day, kind, "
                "occurred_at, clock_synced, tracking_id, received_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
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
                        _COMPACT.encode(ev),
                    )
                    for ev in events
                ],
            )
            parcels = sorted({ev["tracking_id"] for ev in events if ev.get("tracking_id")})
            if parcels:
                # Sorted: two processes marking the same parcels lock them in the same order.
                tx.executemany(MARK_DIRTY, [(p,) for p in parcels])
            duplicates = len(events) - accepted
            answer = Stored(200, {"accepted": accepted, "duplicates": duplicates})
            if duplicates:
                self._bump(tx, "duplicate_events", duplicates)
                if accepted == 0:
                    self._bump(tx, "duplicate_requests")
            tx.execute(
                "UPDATE idempotency SET status = ?, response = ? WHERE station_id = ? AND key = ?",
                (answer.status, json.dumps(answer.body), station_id, key),
            )
        return body_sha256, answer

    # -- manifests and plans: one versioned document per hub and day -------------------

    def get_versioned(self, table: str, hub: str, day: str) -> Versioned | None:
        assert table in ("manifests", "plans")
        cols = "version, body" + (", station_id" if table == "plans" else "")
        with self.db.read() as tx:
            row = tx.execute(f"SELECT {cols} FROM {table} WHERE hub = ? AND day = ?", (hub, day)).fetchone()
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
        """Store a new version; None when ``if_version`` is given and is not the current one.

        Each case is one statement, atomic in both engines without a lock: a first version
        only if none exists, the next only over the version named, else the next over any."""
        assert table in ("manifests", "plans")
        who, when = ("station_id", "published_at") if table == "plans" else ("NULL", "updated_at")
        columns = f"hub, day, version, body, {when}" + (", station_id" if table == "plans" else "")
        values = (hub, day, 1, body, _now()) + ((station_id,) if table == "plans" else ())
        marks = ", ".join("?" for _ in values)
        also = f", {who} = excluded.{who}" if table == "plans" else ""
        with self.db.transaction() as tx:
            if table == "manifests":
                tx.serialise("tracking manifests")  # listed in version order (see list_manifest)
            if if_version is None:
                row = tx.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (hub, day) DO UPDATE SET "
                    f"version = {table}.version + 1, body = excluded.body, {when} = excluded.{when}{also} "
                    "RETURNING version",
                    values,
                ).fetchone()
            elif if_version == 0:
                row = tx.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (hub, day) DO NOTHING "
                    "RETURNING version",
                    values,
                ).fetchone()
            else:
                sets = f"version = version + 1, body = ?, {when} = ?" + (", station_id = ?" if table == "plans" else "")
                row = tx.execute(
                    f"UPDATE {table} SET {sets} WHERE hub = ? AND day = ? AND version = ? RETURNING version",
                    (body, values[4], *values[5:], hub, day, if_version),
                ).fetchone()
            if row is not None and table == "manifests":
                list_manifest(tx, hub, day, int(row[0]), body, str(values[4]))
        return None if row is None else int(row[0])

    def add_epcis_event(self, station_id: str, event_id: str, body: str) -> bool:
        """False when the event id is already held (EPCIS: 409 ResourceAlreadyExists)."""
        with self.db.transaction() as tx:
            return bool(
                tx.execute(
                    "INSERT INTO epcis_events (event_id, station_id, body, received_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (event_id, station_id, body, _now()),
                ).rowcount
                == 1
            )

    # -- what tests and `station central stats` read ---------------------------------

    def stats(self) -> dict[str, Any]:
        with self.db.read() as tx:
            per_station = {
                r[0]: int(r[1])
                for r in tx.execute("SELECT station_id, count(*) FROM events GROUP BY station_id ORDER BY station_id")
            }
            counters = {r[0]: int(r[1]) for r in tx.execute("SELECT name, value FROM counters")}
            epcis = int(tx.execute("SELECT count(*) FROM epcis_events").fetchone()[0])
        return {
            "events": per_station,
            "events_total": sum(per_station.values()),
            "duplicate_requests": counters.get("duplicate_requests", 0),
            "duplicate_events": counters.get("duplicate_events", 0),
            "epcis_events": epcis,
        }

    def event_ids(self, station_id: str | None = None) -> list[str]:
        with self.db.read() as tx:
            if station_id is None:
                rows = tx.execute("SELECT event_id FROM events").fetchall()
            else:
                rows = tx.execute("SELECT event_id FROM events WHERE station_id = ?", (station_id,)).fetchall()
        return [r[0] for r in rows]

    def integrity_check(self) -> str:
        """SQLite's own check of the file; PostgreSQL checks its pages itself ("ok")."""
        if not isinstance(self.db, SqliteDatabase):
            return "ok"
        with self.db.read() as tx:
            return str(tx.execute("PRAGMA integrity_check").fetchone()[0])


def stats(data_dir: Path, database: str | None = None) -> dict[str, Any]:
    """``station central stats``: read the database of a server (running or not)."""
    store = CentralStore.open(database, data_dir)
    try:
        return store.stats()
    finally:
        store.close()
