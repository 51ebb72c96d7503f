"""The station's database: one SQLite file, schema by migrations, durable writes.

Owns the connection settings that keep acknowledged scans safe when the power is pulled
(WAL + synchronous=FULL: with NORMAL an emulated power cut lost acknowledged rows), the schema (``sqlite_utils``
migrations recorded in the database), and the ``write()`` transaction every
read-then-write uses (BEGIN IMMEDIATE, so two writers queue on the busy timeout
instead of failing at once with "database is locked").

Other packages that need tables of their own (sync, printing) register a migration set
with :func:`register_migrations`; :meth:`Store.open` applies all of them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from station.errors import StoreError

BUSY_TIMEOUT_MS = 5000

migrations = Migrations("station")
_migration_sets: list[Migrations] = [migrations]


def register_migrations(extra: Migrations) -> None:
    """Add a package's own migration set; applied after the core's, in registration order."""
    if all(m.name != extra.name for m in _migration_sets):
        _migration_sets.append(extra)


@migrations()
def m001_core(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("parcels").create(
        {
            "tracking_id": str,
            "recipient": str,
            "address": str,
            "postal_code": str,
            "lat": float,
            "lon": float,
            "weight_kg": float,
            "window_start": str,
            "window_end": str,
            "codes": str,  # JSON list of the other barcodes on the parcel
            "manifest_version": int,
            "cancelled": int,
        },
        pk="tracking_id",
        defaults={"cancelled": 0, "manifest_version": 1},
        not_null={"recipient", "address", "weight_kg"},
    )
    # Every normalised key of every code of a parcel: the scan path's one lookup.
    db.table("parcel_codes").create({"key": str, "tracking_id": str}, pk="key")
    db.table("parcel_codes").create_index(["tracking_id"])
    db.table("vans").create(
        {
            "id": str,
            "lane": int,
            "capacity": int,
            "capacity_kg": float,
            "shift_start": str,
            "shift_end": str,
            "fixed_cost": int,
        },
        pk="id",
    )
    db.table("plans").create(
        {
            "id": int,
            "created_at": str,
            "solver": str,
            "cost": float,
            "seconds": float,
            "parcels": int,
            "unplanned": int,
        },
        pk="id",
    )
    db.table("routes").create(
        {"plan_id": int, "van_id": str, "lane": int, "km": float, "minutes": float, "load": int, "load_kg": float},
        pk=("plan_id", "van_id"),
    )
    # The active plan's per-parcel answer: what lane does this parcel go to.
    db.table("plan_parcels").create(
        {"tracking_id": str, "plan_id": int, "van_id": str, "lane": int, "stop": int}, pk="tracking_id"
    )
    db.table("plan_parcels").create_index(["van_id", "stop"])
    db.table("plan_unplanned").create({"tracking_id": str, "plan_id": int, "reason": str}, pk="tracking_id")
    db.table("events").create(
        {
            "event_id": str,
            "seq": int,
            "kind": str,
            "outcome": str,
            "station_id": str,
            "operator": str,
            "device": str,
            "role": str,
            "occurred_at": str,
            "clock_synced": int,
            "code": str,
            "tracking_id": str,
            "van_id": str,
            "lane": int,
            "stop": int,
            "reason": str,
            "detail": str,
        },
        pk="event_id",
    )
    db.table("events").create_index(["seq"], unique=True)
    db.table("events").create_index(["tracking_id", "kind"])
    # Scan events not yet acknowledged by the central server; same transaction as the event.
    db.table("outbox").create({"event_id": str, "seq": int, "payload": str, "enqueued_at": str}, pk="event_id")
    db.table("outbox").create_index(["seq"])
    # Labels waiting for a printer: kept until a send succeeds, across restarts.
    db.table("print_jobs").create(
        {
            "id": int,
            "job": str,  # which printer role prints it: sort_label, load_list, day_close
            "payload": bytes,
            "created_at": str,
            "event_id": str,
            "tracking_id": str,
            "printed_at": str,
            "attempts": int,
            "last_error": str,
        },
        pk="id",
        defaults={"attempts": 0},
    )
    db.table("print_jobs").create_index(["printed_at"])


@migrations()
def m002_dock_day(db: sqlite_utils.Database) -> None:
    """Load verification, commands, exceptions and closing vans (the full dock day)."""
    # An undone event stays (nothing is ever deleted) but no longer counts.
    db.table("events").add_column("undone_by", str)
    # Per device: the last parcel it scanned, so a command barcode scanned next applies to it.
    db.table("devices").create(
        {"device": str, "last_tracking_id": str, "last_event_id": str, "updated_at": str}, pk="device"
    )
    db.table("van_state").create({"van_id": str, "closed_at": str, "closed_event_id": str}, pk="van_id")
    db.table("manifest_changes").create(
        {"id": int, "version": str, "at": str, "added": str, "cancelled": str, "pull_from_lanes": str}, pk="id"
    )


@migrations()
def m003_days(db: sqlite_utils.Database) -> None:
    """Day after day: events carry their sorting day; past days' reports and manifests are kept."""
    db.table("events").add_column("day", str)
    db.execute("UPDATE events SET day = (SELECT value FROM meta WHERE key = 'day')")
    db.table("events").create_index(["day", "kind"])
    # A past day's final figures (station.dayclose as JSON) and its manifest, kept when the next starts.
    db.table("day_reports").create({"day": str, "closed_at": str, "report": str}, pk="day")
    db.table("day_parcels").create(
        {"day": str, "tracking_id": str, "cancelled": int, "manifest_version": int, "parcel": str},
        pk=("day", "tracking_id"),
    )
    # A handheld's van binding (scanned $ST:VAN:V03): kept across restarts, until another van
    # code, SORT, or the next day.
    db.table("device_roles").create({"device": str, "role": str, "day": str, "bound_at": str}, pk="device")


@migrations()
def m004_event_day(db: sqlite_utils.Database) -> None:
    """Every event is stamped with the sorting day it belongs to, whoever inserts it."""
    # The database stamps it, in the event's own transaction, from the same meta row the
    # outbox payload's day is read from: the two cannot disagree.
    db.execute(
        """CREATE TRIGGER events_day AFTER INSERT ON events WHEN NEW.day IS NULL
           BEGIN
             UPDATE events SET day = COALESCE((SELECT value FROM meta WHERE key = 'day'), date('now'))
             WHERE event_id = NEW.event_id;
           END"""
    )


@migrations()
def m005_no_day_index(db: sqlite_utils.Database) -> None:
    """Drop m003's (day, kind) index: the planner chose it over (tracking_id, kind) for the
    per-parcel lookups and made a load scan O(parcels) (86 ms at 1,500 parcels)."""
    db.execute("DROP INDEX IF EXISTS idx_events_day_kind")


def connect(path: Path) -> sqlite3.Connection:
    """A connection in the durable mode every station connection uses."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL, not NORMAL: with NORMAL an emulated power cut lost ~10 % of acknowledged rows.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class Store:
    """One connection to the station's database. Thread-safe by a lock: one writer."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | str, *, check: bool = True) -> Store:
        """Open (creating if needed) and migrate the database at ``path``.

        ``check`` runs ``PRAGMA quick_check`` (0.06 s at 200k rows) so a corrupt card is
        found at start-up rather than mid-shift.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(path)
            store = cls(path, conn)
            if check:
                (result,) = conn.execute("PRAGMA quick_check").fetchone()
                if result != "ok":
                    raise StoreError(f"database {path} is damaged: {result}")
            with store._lock:
                for migration_set in _migration_sets:
                    migration_set.apply(store.db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        except OSError as exc:  # the data dir cannot be made: read-only card, a file in the way
            raise StoreError(f"cannot open database {path}: {exc.strerror}") from None
        return store

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A read-then-write transaction, committed (durably) when the block ends."""
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        with self._lock:
            row = self.db.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else str(value)

    def backup_to(self, dest: Path) -> Path:
        """Write a consistent copy of the database to ``dest`` while the station keeps running.

        SQLite's online backup API from a connection of its own (in WAL mode a reader never
        blocks the scan path's writer), into ``dest``'s name plus ``.partial``, checked, synced
        and only then renamed: a power cut leaves the old backup or the new one, never half of
        one. Returns the file written.
        """
        dest = Path(dest)
        partial = dest.with_name(dest.name + ".partial")
        try:
            partial.unlink(missing_ok=True)
            source = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True)
            try:
                copy = sqlite3.connect(str(partial))
                try:
                    source.backup(copy)
                    (result,) = copy.execute("PRAGMA quick_check").fetchone()
                    if result != "ok":
                        raise StoreError(f"the backup in {partial} did not check out: {result}")
                finally:
                    copy.close()
            finally:
                source.close()
            with open(partial, "rb") as f:
                os.fsync(f.fileno())
            os.replace(partial, dest)
            directory = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"cannot back up the database to {dest}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot back up the database to {dest}: {exc.strerror or exc}") from None
        return dest

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()
