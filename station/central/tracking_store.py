"""Tracking's tables in the central database: parcels listed, deliveries, webhook subscriptions
and the webhook delivery queue.

Owns turning what the server received into status changes, exactly once: a cursor over the
``events`` table (its rowid) and the manifest versions already read, advanced in the same
transaction that queues the webhook messages, so a restart neither loses nor repeats a
change. The queue is a table: a message keeps its ``webhook-id`` across every attempt and
restart, and a parcel's messages to one subscription go strictly in order (the next waits
until the one before is answered 2xx or given up).

Its own SQLite connection to ``central.db`` (WAL: the station protocol's writes and these
never wait on each other for long); it reads the ``events`` and ``manifests`` tables of
:mod:`.storage` and writes only the tables below.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.central.deliveries import PostedDelivery, photo_name
from station.central.tracking import (
    Anchors,
    Delivery,
    Entry,
    Listing,
    StationEvent,
    Tracking,
    changes_to_notify,
    derive,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS track_cursor (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS track_manifests_seen (
    hub TEXT NOT NULL, day TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (hub, day)
);
CREATE TABLE IF NOT EXISTS track_parcels (
    tracking_id TEXT PRIMARY KEY, postal_code TEXT NOT NULL, hub TEXT, listed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS track_dirty (tracking_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS track_notified (
    tracking_id TEXT PRIMARY KEY, entry_key TEXT NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    occurred_at TEXT NOT NULL,
    lat REAL,
    lon REAL,
    received_by TEXT,
    photo_sha256 TEXT,
    photo_name TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_tracking ON deliveries (tracking_id);
CREATE TABLE IF NOT EXISTS webhooks (
    webhook_id TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS webhook_messages_queue ON webhook_messages (state, webhook_id, tracking_id, seq);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    message_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, attempt)
);
"""

EVENT_TYPE = "tracking.updated"
INGEST_BATCH = 2000


def _now() -> str:
    return datetime.now(UTC).isoformat()


def normalise_postal_code(text: str) -> str:
    """``69007``, ``SW1A 1AA`` and ``sw1a1aa`` compare as a receiver would type them."""
    return "".join(text.split()).upper()


@dataclass(frozen=True)
class Subscription:
    webhook_id: str
    system: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: str

    def public(self, *, with_secret: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.webhook_id,
            "url": self.url,
            "events": list(self.events),
            "created_at": self.created_at,
        }
        if with_secret:
            shown["secret"] = self.secret
        return shown


@dataclass(frozen=True)
class Message:
    seq: int
    message_id: str
    webhook_id: str
    tracking_id: str
    body: bytes
    attempts: int
    url: str
    secret: str


class DeliveryConflict(Exception):
    """The delivery id is already held with another body."""


class TrackingStore:
    def __init__(self, path: Path, photos_dir: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.photos_dir = photos_dir
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()

    @classmethod
    def in_dir(cls, data_dir: Path) -> TrackingStore:
        return cls(Path(data_dir) / "central.db", Path(data_dir) / "photos")

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            # IMMEDIATE: these transactions read then write; a deferred one fails at once with
            # "database is locked" when another writer holds the lock, instead of waiting.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- reading a parcel -------------------------------------------------------------

    def _events_table_ready(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
        return row is not None

    def _derive(self, tracking_id: str) -> tuple[Tracking | None, Listing | None]:
        row = self.conn.execute(
            "SELECT postal_code, hub, listed_at FROM track_parcels WHERE tracking_id = ?", (tracking_id,)
        ).fetchone()
        listing = Listing(tracking_id, row[0], row[1], datetime.fromisoformat(row[2])) if row else None
        events: list[StationEvent] = []
        anchors = Anchors()
        if self._events_table_ready():
            for (payload,) in self.conn.execute(
                "SELECT payload FROM events WHERE tracking_id = ? ORDER BY station_id, seq", (tracking_id,)
            ):
                ev = StationEvent.from_payload(json.loads(payload))
                events.append(ev)
                if ev.clock_synced:
                    anchors.add(ev.station_id, ev.seq, ev.occurred_at)
                    continue
                # The station's synchronised events just before and after, the same day (a
                # station's seq starts again when its database is new).
                day = json.loads(payload).get("day")
                for op, order in (("<", "DESC"), (">", "ASC")):
                    near = self.conn.execute(
                        f"SELECT seq, occurred_at FROM events WHERE station_id = ? AND seq {op} ? "
                        f"AND clock_synced = 1 AND day IS ? ORDER BY seq {order} LIMIT 1",
                        (ev.station_id, ev.seq, day),
                    ).fetchone()
                    if near is not None:
                        anchors.add(ev.station_id, near[0], datetime.fromisoformat(near[1]))
        deliveries = [
            Delivery(
                delivery_id=r[0],
                tracking_id=tracking_id,
                outcome=r[1],
                occurred_at=datetime.fromisoformat(r[2]),
                reason=r[3],
                received_by=r[4],
                lat=r[5],
                lon=r[6],
                photo_sha256=r[7],
                driver_id=r[8],
            )
            for r in self.conn.execute(
                "SELECT delivery_id, outcome, occurred_at, reason, received_by, lat, lon, photo_sha256, driver_id "
                "FROM deliveries WHERE tracking_id = ?",
                (tracking_id,),
            )
        ]
        return derive(tracking_id, listing, events, deliveries, anchors), listing

    def tracking(self, tracking_id: str, postal_code: str | None) -> Tracking | None:
        """The parcel's tracking for someone who knows its postal code; None otherwise
        (unknown parcel and wrong postal code look the same from outside)."""
        if not postal_code:
            return None
        with self.lock:
            found, listing = self._derive(tracking_id)
        if found is None or listing is None:
            return None
        if normalise_postal_code(listing.postal_code) != normalise_postal_code(postal_code):
            return None
        return found

    def photo_path(self, tracking: Tracking) -> Path | None:
        if tracking.delivery is None or tracking.delivery.photo_sha256 is None:
            return None
        with self.lock:
            row = self.conn.execute(
                "SELECT photo_name FROM deliveries WHERE delivery_id = ?", (tracking.delivery.delivery_id,)
            ).fetchone()
        return self.photos_dir / row[0] if row and row[0] else None

    def known_parcel(self, tracking_id: str) -> bool:
        with self.lock:
            if self.conn.execute("SELECT 1 FROM track_parcels WHERE tracking_id = ?", (tracking_id,)).fetchone():
                return True
            if not self._events_table_ready():
                return False
            return (
                self.conn.execute("SELECT 1 FROM events WHERE tracking_id = ? LIMIT 1", (tracking_id,)).fetchone()
                is not None
            )

    # -- turning what arrived into status changes --------------------------------------

    def ingest(self) -> int:
        """Read new manifests, events and deliveries; queue a message per status change
        per subscription. Returns the number of messages queued."""
        queued = 0
        if not self._has_news():
            return 0
        with self._write() as db:
            dirty = self._read_manifests(db) | self._read_events(db)
            dirty |= {r[0] for r in db.execute("SELECT tracking_id FROM track_dirty")}
            db.execute("DELETE FROM track_dirty")
            if not dirty:
                return 0
            subscriptions = [
                (r[0],) for r in db.execute("SELECT webhook_id, events FROM webhooks") if EVENT_TYPE in json.loads(r[1])
            ]
            for tracking_id in sorted(dirty):
                found, _ = self._derive(tracking_id)
                if found is None:
                    continue
                told = db.execute(
                    "SELECT entry_key, status FROM track_notified WHERE tracking_id = ?", (tracking_id,)
                ).fetchone()
                news = changes_to_notify(found.events, told[0] if told else None, told[1] if told else None)
                if not news:
                    continue
                for entry in news:
                    body = _message_body(found, entry)
                    for (webhook_id,) in subscriptions:
                        db.execute(
                            "INSERT INTO webhook_messages (message_id, webhook_id, tracking_id, entry_key, type, body, "
                            "created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (
                                f"msg_{uuid.uuid4().hex}",
                                webhook_id,
                                tracking_id,
                                entry.key,
                                EVENT_TYPE,
                                body,
                                _now(),
                                0,
                            ),
                        )
                        queued += 1
                last = news[-1]
                db.execute(
                    "INSERT INTO track_notified (tracking_id, entry_key, status) VALUES (?, ?, ?) "
                    "ON CONFLICT(tracking_id) DO UPDATE SET entry_key = excluded.entry_key, status = excluded.status",
                    (tracking_id, last.key, found.status.value),
                )
        return queued

    def _has_news(self) -> bool:
        """A read without the write lock: most rounds find nothing, and must not block a push."""
        with self.lock:
            db = self.conn
            if db.execute("SELECT 1 FROM track_dirty LIMIT 1").fetchone():
                return True
            if not self._events_table_ready():
                return False
            row = db.execute("SELECT value FROM track_cursor WHERE name = 'events'").fetchone()
            newest = db.execute("SELECT max(rowid) FROM events").fetchone()[0]
            if newest is not None and newest > (row[0] if row else 0):
                return True
            seen = db.execute(
                "SELECT count(*) FROM manifests m LEFT JOIN track_manifests_seen s USING (hub, day) "
                "WHERE s.version IS NOT m.version"
            ).fetchone()[0]
            return bool(seen)

    def _read_manifests(self, db: sqlite3.Connection) -> set[str]:
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'manifests'").fetchone() is None:
            return set()
        seen = {(r[0], r[1]): r[2] for r in db.execute("SELECT hub, day, version FROM track_manifests_seen")}
        changed: set[str] = set()
        for hub, day, version in db.execute("SELECT hub, day, version FROM manifests").fetchall():
            if seen.get((hub, day)) == version:
                continue
            row = db.execute("SELECT body, updated_at FROM manifests WHERE hub = ? AND day = ?", (hub, day)).fetchone()
            if row is None:
                continue
            body, updated_at = row
            try:
                parcels = json.loads(body).get("parcels", [])
            except (ValueError, AttributeError):
                parcels = []
            for parcel in parcels if isinstance(parcels, list) else []:
                if not isinstance(parcel, dict) or not isinstance(parcel.get("tracking_id"), str):
                    continue
                postal_code = parcel.get("postal_code")
                if not isinstance(postal_code, str) or not postal_code.strip():
                    continue  # nobody could ever look it up: not listed rather than open to all
                cur = db.execute(
                    "INSERT INTO track_parcels (tracking_id, postal_code, hub, listed_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(tracking_id) DO UPDATE SET postal_code = excluded.postal_code, hub = excluded.hub "
                    "WHERE postal_code != excluded.postal_code OR hub IS NOT excluded.hub",
                    (parcel["tracking_id"], postal_code, hub, updated_at),
                )
                if cur.rowcount:
                    changed.add(parcel["tracking_id"])
            db.execute(
                "INSERT OR REPLACE INTO track_manifests_seen (hub, day, version) VALUES (?, ?, ?)", (hub, day, version)
            )
        return changed

    def _read_events(self, db: sqlite3.Connection) -> set[str]:
        if not self._events_table_ready():
            return set()
        row = db.execute("SELECT value FROM track_cursor WHERE name = 'events'").fetchone()
        cursor = row[0] if row else 0
        changed: set[str] = set()
        while True:
            rows = db.execute(
                "SELECT rowid, tracking_id FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?", (cursor, INGEST_BATCH)
            ).fetchall()
            if not rows:
                break
            cursor = rows[-1][0]
            changed |= {r[1] for r in rows if r[1]}
        db.execute(
            "INSERT INTO track_cursor (name, value) VALUES ('events', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (cursor,),
        )
        return changed

    # -- deliveries --------------------------------------------------------------------

    def add_delivery(self, driver_id: str, posted: PostedDelivery, body_sha256: str) -> bool:
        """Store a delivery (True), or recognise a repeat of it (False).

        :class:`DeliveryConflict` when the id is held with another body. The photo is
        written (by content hash, fsynced) before the row commits: a crash between the two
        leaves an unreferenced file, never a row without its photo."""
        with self.lock:
            prior = self.conn.execute(
                "SELECT body_sha256 FROM deliveries WHERE delivery_id = ?", (posted.delivery_id,)
            ).fetchone()
        if prior is not None:
            if prior[0] != body_sha256:
                raise DeliveryConflict
            return False
        name = None
        if posted.photo is not None:
            name = photo_name(posted.photo)
            self._write_photo(name, posted.photo.data)
        row = posted.fields()
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO deliveries (delivery_id, driver_id, body_sha256, tracking_id, outcome, reason, "
                    "occurred_at, lat, lon, received_by, photo_sha256, photo_name, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["delivery_id"],
                        driver_id,
                        body_sha256,
                        row["tracking_id"],
                        row["outcome"],
                        row["reason"],
                        row["occurred_at"],
                        row["lat"],
                        row["lon"],
                        row["received_by"],
                        row["photo_sha256"],
                        name,
                        _now(),
                    ),
                )
                db.execute("INSERT OR IGNORE INTO track_dirty (tracking_id) VALUES (?)", (row["tracking_id"],))
        except sqlite3.IntegrityError:
            # The same id committed by a concurrent request: same rule as a repeat.
            with self.lock:
                again = self.conn.execute(
                    "SELECT body_sha256 FROM deliveries WHERE delivery_id = ?", (posted.delivery_id,)
                ).fetchone()
            if again is None or again[0] != body_sha256:
                raise DeliveryConflict from None
            return False
        return True

    def _write_photo(self, name: str, data: bytes) -> None:
        self.photos_dir.mkdir(parents=True, exist_ok=True)
        final = self.photos_dir / name
        if final.exists():
            return
        partial = self.photos_dir / f".{name}.{os.getpid()}.{threading.get_ident()}"
        with open(partial, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, final)

    # -- subscriptions and the queue ----------------------------------------------------

    def add_subscription(self, system: str, url: str, events: list[str], secret: str) -> Subscription:
        sub = Subscription(f"wh_{uuid.uuid4().hex}", system, url, tuple(events), secret, _now())
        with self._write() as db:
            db.execute(
                "INSERT INTO webhooks (webhook_id, system, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sub.webhook_id, system, url, json.dumps(events), secret, sub.created_at),
            )
        return sub

    def subscription(self, webhook_id: str) -> Subscription | None:
        with self.lock:
            r = self.conn.execute(
                "SELECT webhook_id, system, url, events, secret, created_at FROM webhooks WHERE webhook_id = ?",
                (webhook_id,),
            ).fetchone()
        return Subscription(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5]) if r else None

    def due_messages(self, now: float, limit: int = 32) -> list[Message]:
        """Pending messages whose time has come and that are first in their parcel's line."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT m.seq, m.message_id, m.webhook_id, m.tracking_id, m.body, m.attempts, w.url, w.secret "
                "FROM webhook_messages m JOIN webhooks w USING (webhook_id) "
                "WHERE m.state = 'pending' AND m.next_attempt_at <= ? AND NOT EXISTS ("
                "  SELECT 1 FROM webhook_messages p WHERE p.state = 'pending' AND p.webhook_id = m.webhook_id "
                "  AND p.tracking_id = m.tracking_id AND p.seq < m.seq) "
                "ORDER BY m.seq LIMIT ?",
                (now, limit),
            ).fetchall()
        return [Message(r[0], r[1], r[2], r[3], r[4].encode(), r[5], r[6], r[7]) for r in rows]

    def next_due(self) -> float | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT min(next_attempt_at) FROM webhook_messages WHERE state = 'pending'"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def record_attempt(
        self,
        message: Message,
        *,
        status: int | None,
        error: str | None,
        ms: int,
        next_attempt_at: float | None,
    ) -> None:
        """One attempt's answer. ``next_attempt_at`` None: finished (delivered on 2xx, else given up)."""
        delivered = status is not None and 200 <= status < 300
        if delivered or next_attempt_at is None:
            state = "delivered" if delivered else "failed"
        else:
            state = "pending"
        attempt = message.attempts + 1
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO webhook_attempts (message_id, attempt, at, status, error, ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (message.message_id, attempt, _now(), status, error, ms),
            )
            db.execute(
                "UPDATE webhook_messages SET attempts = ?, state = ?, next_attempt_at = ?, last_status = ?, "
                "last_error = ?, finished_at = ? WHERE message_id = ?",
                (
                    attempt,
                    state,
                    next_attempt_at if next_attempt_at is not None else time.time(),
                    status,
                    error,
                    None if state == "pending" else _now(),
                    message.message_id,
                ),
            )

    def deliveries_of(self, webhook_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """What was sent to a subscription and what it answered, newest first."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT message_id, tracking_id, type, body, created_at, state, attempts, last_status, last_error, "
                "finished_at FROM webhook_messages WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?",
                (webhook_id, limit),
            ).fetchall()
            shown = []
            for r in rows:
                attempts = [
                    {"attempt": a[0], "at": a[1], "status": a[2], "error": a[3], "ms": a[4]}
                    for a in self.conn.execute(
                        "SELECT attempt, at, status, error, ms FROM webhook_attempts WHERE message_id = ? "
                        "ORDER BY attempt",
                        (r[0],),
                    )
                ]
                shown.append(
                    {
                        "webhook_id": r[0],
                        "tracking_id": r[1],
                        "type": r[2],
                        "payload": json.loads(r[3]),
                        "created_at": r[4],
                        "state": r[5],
                        "attempts": attempts,
                        "last_status": r[7],
                        "last_error": r[8],
                        "finished_at": r[9],
                    }
                )
        return shown


def _message_body(found: Tracking, entry: Entry) -> str:
    """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data``."""
    data = {
        "tracking_id": found.tracking_id,
        "status": entry.status.value,
        "current_status": found.status.value,
        "event": entry.public(),
    }
    return json.dumps({"type": EVENT_TYPE, "timestamp": entry.time.isoformat(), "data": data}, separators=(",", ":"))


def body_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
