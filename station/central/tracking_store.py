"""Tracking's tables in the central database: parcels listed, deliveries, webhook subscriptions
and the webhook delivery queue.

Owns turning what the server received into status changes, exactly once: the parcels a
push marked (``track_dirty``, written in the push's own transaction) and the manifest
versions already read are taken in the same transaction that queues the webhook messages,
a few hundred parcels at a time, so a restart neither loses nor repeats a change and a
push never waits long behind it; several ingests at once (server processes) each take a
parcel only if no event marked it again since they derived it. The queue is a table: a message keeps its
``webhook-id`` across every attempt and restart, a parcel's messages to one subscription go
strictly in order (the next waits until the one before is answered 2xx or given up), and a
process sending a message holds a lease on it, so several processes never send it twice.

Runs on :mod:`.db` beside :mod:`.storage` (whose ``events`` and ``manifests`` it reads);
the schema is :mod:`.migrations`'.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.central.db import Database, Transaction
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

EVENT_TYPE = "tracking.updated"
# A parcel to look at again; ``mark`` counts the marks, so an ingest that derived it before
# the latest one knows its answer is stale.
MARK_DIRTY = (
    "INSERT INTO track_dirty (tracking_id, mark) VALUES (?, 1) "
    "ON CONFLICT (tracking_id) DO UPDATE SET mark = track_dirty.mark + 1"
)
# Parcels per ingest transaction: small enough that a push waits at most a few tens of ms.
INGEST_CHUNK = 250
# A manifest version whose parcels tracking has not listed (stored by an older server).
UNLISTED_MANIFEST = (
    "SELECT m.hub, m.day, m.version, m.body, m.updated_at FROM manifests m "
    "LEFT JOIN track_manifests_seen s ON s.hub = m.hub AND s.day = m.day "
    "WHERE s.version IS DISTINCT FROM m.version LIMIT 1"
)
# How long a process may take to send a message it claimed before another may send it.
LEASE_S = 120.0


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


@dataclass(frozen=True)
class _Change:
    """A parcel's news, derived and waiting to be written: its messages and what it was told."""

    tracking_id: str
    messages: list[tuple[str, str, str, str, str, str, str, float]]
    notified: tuple[str, str, str]


class DeliveryConflict(Exception):
    """The delivery id is already held with another body."""


class TrackingStore:
    """Tracking's tables on a database its owner (:class:`.storage.CentralStore`) opened and closes."""

    def __init__(self, db: Database, photos_dir: Path, *, duty: float = 1.0) -> None:
        self.db = db
        self.photos_dir = photos_dir
        # The share of time ingest may take: below 1, it rests between chunks so that a burst
        # of pushes (a station's backlog) is taken first; webhooks follow a little later.
        self.duty = duty

    # -- reading a parcel -------------------------------------------------------------

    def _derive_many(
        self, tx: Transaction, tracking_ids: Sequence[str]
    ) -> dict[str, tuple[Tracking | None, Listing | None]]:
        """Each parcel's tracking, read with one query per table for all of them."""
        marks = ", ".join("?" for _ in tracking_ids)
        listings = {
            r[0]: Listing(r[0], r[1], r[2], datetime.fromisoformat(r[3]))
            for r in tx.execute(
                f"SELECT tracking_id, postal_code, hub, listed_at FROM track_parcels WHERE tracking_id IN ({marks})",
                tracking_ids,
            )
        }
        events: dict[str, list[StationEvent]] = {}
        anchors: dict[str, Anchors] = {}
        for tracking_id, payload in tx.execute(
            f"SELECT tracking_id, payload FROM events WHERE tracking_id IN ({marks}) ORDER BY station_id, seq",
            tracking_ids,
        ):
            raw = json.loads(payload)
            ev = StationEvent.from_payload(raw)
            events.setdefault(tracking_id, []).append(ev)
            near = anchors.setdefault(tracking_id, Anchors())
            if ev.clock_synced:
                near.add(ev.station_id, ev.seq, ev.occurred_at)
                continue
            # The station's synchronised events just before and after, the same day (a
            # station's seq starts again when its database is new).
            for op, order in (("<", "DESC"), (">", "ASC")):
                row = tx.execute(
                    f"SELECT seq, occurred_at FROM events WHERE station_id = ? AND seq {op} ? "
                    f"AND clock_synced = 1 AND day IS NOT DISTINCT FROM ? ORDER BY seq {order} LIMIT 1",
                    (ev.station_id, ev.seq, raw.get("day")),
                ).fetchone()
                if row is not None:
                    near.add(ev.station_id, row[0], datetime.fromisoformat(row[1]))
        deliveries: dict[str, list[Delivery]] = {}
        for r in tx.execute(
            "SELECT delivery_id, outcome, occurred_at, reason, received_by, lat, lon, photo_sha256, driver_id, "
            f"tracking_id FROM deliveries WHERE tracking_id IN ({marks})",
            tracking_ids,
        ):
            deliveries.setdefault(r[9], []).append(
                Delivery(
                    delivery_id=r[0],
                    tracking_id=r[9],
                    outcome=r[1],
                    occurred_at=datetime.fromisoformat(r[2]),
                    reason=r[3],
                    received_by=r[4],
                    lat=r[5],
                    lon=r[6],
                    photo_sha256=r[7],
                    driver_id=r[8],
                )
            )
        found = {}
        for tracking_id in tracking_ids:
            listing = listings.get(tracking_id)
            tracking = derive(
                tracking_id,
                listing,
                events.get(tracking_id, []),
                deliveries.get(tracking_id, []),
                anchors.get(tracking_id),
            )
            found[tracking_id] = (tracking, listing)
        return found

    def tracking(self, tracking_id: str, postal_code: str | None) -> Tracking | None:
        """The parcel's tracking for someone who knows its postal code; None otherwise
        (unknown parcel and wrong postal code look the same from outside)."""
        if not postal_code:
            return None
        with self.db.read() as tx:
            found, listing = self._derive_many(tx, [tracking_id])[tracking_id]
        if found is None or listing is None:
            return None
        if normalise_postal_code(listing.postal_code) != normalise_postal_code(postal_code):
            return None
        return found

    def photo_path(self, tracking: Tracking) -> Path | None:
        if tracking.delivery is None or tracking.delivery.photo_sha256 is None:
            return None
        with self.db.read() as tx:
            row = tx.execute(
                "SELECT photo_name FROM deliveries WHERE delivery_id = ?", (tracking.delivery.delivery_id,)
            ).fetchone()
        return self.photos_dir / row[0] if row and row[0] else None

    def known_parcel(self, tracking_id: str) -> bool:
        with self.db.read() as tx:
            if tx.execute("SELECT 1 FROM track_parcels WHERE tracking_id = ?", (tracking_id,)).fetchone():
                return True
            return (
                tx.execute("SELECT 1 FROM events WHERE tracking_id = ? LIMIT 1", (tracking_id,)).fetchone() is not None
            )

    # -- turning what arrived into status changes --------------------------------------

    def ingest(self) -> int:
        """Read new manifests, events and deliveries; queue a message per status change
        per subscription. Returns the number of messages queued."""
        queued = 0
        while True:
            more, done = self.ingest_some()
            queued += more
            if done:
                return queued

    def ingest_some(self, max_chunks: int | None = None) -> tuple[int, bool]:
        """:meth:`ingest`, at most ``max_chunks`` chunks of parcels: (messages queued, all done).

        Statuses are derived in a read snapshot, without the write lock a push needs; the
        short write that follows takes a parcel only if no event marked it again meanwhile
        (its ``mark`` unchanged), else the parcel waits for the next round. So a parcel is
        never told twice, nor skipped, even with several ingests at once."""
        if not self._has_news():
            return 0, True
        self._read_manifests()
        queued = 0
        chunks = 0
        while max_chunks is None or chunks < max_chunks:
            chunks += 1
            started = time.monotonic()
            with self.db.read() as tx:
                marked = tx.execute(
                    "SELECT tracking_id, mark FROM track_dirty ORDER BY tracking_id LIMIT ?", (INGEST_CHUNK,)
                ).fetchall()
                if not marked:
                    return queued, True
                changes = self._changes(tx, [r[0] for r in marked])
            with self.db.transaction() as tx:
                pairs = ", ".join("(?, ?)" for _ in marked)
                taken = {
                    r[0]
                    for r in tx.execute(
                        f"DELETE FROM track_dirty WHERE (tracking_id, mark) IN (VALUES {pairs}) RETURNING tracking_id",
                        [value for row in marked for value in row],
                    )
                }
                queued += self._record(tx, [c for c in changes if c.tracking_id in taken])
            if not taken:
                return queued, True  # the chunk's parcels all changed again meanwhile: the next round
            if self.duty < 1.0:
                time.sleep((time.monotonic() - started) * (1.0 / self.duty - 1.0))
        return queued, False

    def _changes(self, tx: Transaction, dirty: list[str]) -> list[_Change]:
        subscriptions = [
            r[0] for r in tx.execute("SELECT webhook_id, events FROM webhooks") if EVENT_TYPE in json.loads(r[1])
        ]
        marks = ", ".join("?" for _ in dirty)
        told = {
            r[0]: (r[1], r[2])
            for r in tx.execute(
                f"SELECT tracking_id, entry_key, status FROM track_notified WHERE tracking_id IN ({marks})", dirty
            )
        }
        changes = []
        for tracking_id, (found, _) in self._derive_many(tx, dirty).items():
            if found is None:
                continue
            last_key, last_status = told.get(tracking_id, (None, None))
            news = changes_to_notify(found.events, last_key, last_status)
            if not news:
                continue
            now = _now()
            messages = [
                (f"msg_{uuid.uuid4().hex}", webhook_id, tracking_id, entry.key, EVENT_TYPE, body, now, 0.0)
                for entry in news
                for body in (_message_body(found, entry),)
                for webhook_id in subscriptions
            ]
            changes.append(_Change(tracking_id, messages, (tracking_id, news[-1].key, found.status.value)))
        return changes

    @staticmethod
    def _record(tx: Transaction, changes: list[_Change]) -> int:
        messages = [m for c in changes for m in c.messages]
        if messages:
            tx.executemany(
                "INSERT INTO webhook_messages (message_id, webhook_id, tracking_id, entry_key, type, body, "
                "created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                messages,
            )
        if changes:
            tx.executemany(
                "INSERT INTO track_notified (tracking_id, entry_key, status) VALUES (?, ?, ?) "
                "ON CONFLICT (tracking_id) DO UPDATE SET entry_key = excluded.entry_key, status = excluded.status",
                [c.notified for c in changes],
            )
        return len(messages)

    def _has_news(self) -> bool:
        """A read without the write lock: most rounds find nothing, and must not block a push."""
        with self.db.read() as tx:
            if tx.execute("SELECT 1 FROM track_dirty LIMIT 1").fetchone():
                return True
            return tx.execute(UNLISTED_MANIFEST).fetchone() is not None

    def _read_manifests(self) -> None:
        """List the parcels of manifest versions not listed yet, one manifest per transaction.

        A manifest is listed in the transaction that stores it (:func:`list_manifest`); this
        catches up what an older server stored without listing it."""
        while True:
            with self.db.transaction() as tx:
                tx.serialise("tracking manifests")
                row = tx.execute(UNLISTED_MANIFEST).fetchone()
                if row is None:
                    return
                list_manifest(tx, *row)

    # -- deliveries --------------------------------------------------------------------

    def add_delivery(self, driver_id: str, posted: PostedDelivery, body_sha256: str) -> bool:
        """Store a delivery (True), or recognise a repeat of it (False).

        :class:`DeliveryConflict` when the id is held with another body. The photo is
        written (by content hash, fsynced) before the row commits: a crash between the two
        leaves an unreferenced file, never a row without its photo."""
        if self._delivery_hash(posted.delivery_id) not in (None, body_sha256):
            raise DeliveryConflict
        name = None
        if posted.photo is not None:
            name = photo_name(posted.photo)
            self._write_photo(name, posted.photo.data)
        row = posted.fields()
        with self.db.transaction() as tx:
            added = tx.execute(
                "INSERT INTO deliveries (delivery_id, driver_id, body_sha256, tracking_id, outcome, reason, "
                "occurred_at, lat, lon, received_by, photo_sha256, photo_name, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
            ).rowcount
            if added:
                tx.execute(MARK_DIRTY, (row["tracking_id"],))
        if not added and self._delivery_hash(posted.delivery_id) != body_sha256:
            # The same id committed by a concurrent request with another body.
            raise DeliveryConflict
        return bool(added)

    def _delivery_hash(self, delivery_id: str) -> str | None:
        with self.db.read() as tx:
            row = tx.execute("SELECT body_sha256 FROM deliveries WHERE delivery_id = ?", (delivery_id,)).fetchone()
        return None if row is None else str(row[0])

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
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO webhooks (webhook_id, system, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sub.webhook_id, system, url, json.dumps(events), secret, sub.created_at),
            )
        return sub

    def subscription(self, webhook_id: str) -> Subscription | None:
        with self.db.read() as tx:
            r = tx.execute(
                "SELECT webhook_id, system, url, events, secret, created_at FROM webhooks WHERE webhook_id = ?",
                (webhook_id,),
            ).fetchone()
        return Subscription(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5]) if r else None

    def due_messages(self, now: float, limit: int = 32, *, lease_s: float = LEASE_S) -> list[Message]:
        """Claim the pending messages whose time has come and that are first in their parcel's
        line; each is leased to this process for ``lease_s`` (another process skips it)."""
        with self.db.transaction() as tx:
            tx.serialise("webhook claim")
            rows = tx.execute(
                "SELECT m.seq, m.message_id, m.webhook_id, m.tracking_id, m.body, m.attempts, w.url, w.secret "
                "FROM webhook_messages m JOIN webhooks w ON w.webhook_id = m.webhook_id "
                "WHERE m.state = 'pending' AND m.next_attempt_at <= ? AND m.leased_until <= ? AND NOT EXISTS ("
                "  SELECT 1 FROM webhook_messages p WHERE p.state = 'pending' AND p.webhook_id = m.webhook_id "
                "  AND p.tracking_id = m.tracking_id AND p.seq < m.seq) "
                "ORDER BY m.seq LIMIT ?",
                (now, now, limit),
            ).fetchall()
            if rows:
                tx.executemany(
                    "UPDATE webhook_messages SET leased_until = ? WHERE message_id = ?",
                    [(now + lease_s, r[1]) for r in rows],
                )
        return [Message(r[0], r[1], r[2], r[3], r[4].encode(), r[5], r[6], r[7]) for r in rows]

    def next_due(self) -> float | None:
        with self.db.read() as tx:
            row = tx.execute(
                "SELECT min(CASE WHEN leased_until > next_attempt_at THEN leased_until ELSE next_attempt_at END) "
                "FROM webhook_messages WHERE state = 'pending'"
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
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO webhook_attempts (message_id, attempt, at, status, error, ms) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (message_id, attempt) DO UPDATE SET at = excluded.at, status = excluded.status, "
                "error = excluded.error, ms = excluded.ms",
                (message.message_id, attempt, _now(), status, error, ms),
            )
            tx.execute(
                "UPDATE webhook_messages SET attempts = ?, state = ?, next_attempt_at = ?, last_status = ?, "
                "last_error = ?, finished_at = ?, leased_until = 0 WHERE message_id = ?",
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
        with self.db.read() as tx:
            rows = tx.execute(
                "SELECT message_id, tracking_id, type, body, created_at, state, attempts, last_status, last_error, "
                "finished_at FROM webhook_messages WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?",
                (webhook_id, limit),
            ).fetchall()
            shown = []
            for r in rows:
                attempts = [
                    {"attempt": a[0], "at": a[1], "status": a[2], "error": a[3], "ms": a[4]}
                    for a in tx.execute(
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


def list_manifest(tx: Transaction, hub: str, day: str, version: int, body: str, updated_at: str) -> None:
    """List a manifest version's parcels for tracking (who may look them up, by postal code)
    and mark them all to be looked at: a parcel new to tracking is news ("info received").

    Called in the transaction that stores the manifest, so a receiver can look a parcel up
    as soon as the manifest is accepted, whatever tracking's loop is doing."""
    try:
        parcels = json.loads(body).get("parcels", [])
    except (ValueError, AttributeError):
        parcels = []
    listed = []
    for parcel in parcels if isinstance(parcels, list) else []:
        if not isinstance(parcel, dict) or not isinstance(parcel.get("tracking_id"), str):
            continue
        postal_code = parcel.get("postal_code")
        if not isinstance(postal_code, str) or not postal_code.strip():
            continue  # nobody could ever look it up: not listed rather than open to all
        listed.append((parcel["tracking_id"], postal_code, hub, updated_at))
    if listed:
        tx.executemany(
            "INSERT INTO track_parcels (tracking_id, postal_code, hub, listed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (tracking_id) DO UPDATE SET postal_code = excluded.postal_code, hub = excluded.hub "
            "WHERE track_parcels.postal_code <> excluded.postal_code "
            "OR track_parcels.hub IS DISTINCT FROM excluded.hub",
            listed,
        )
        # Sorted: two transactions marking the same parcels lock them in the same order.
        tx.executemany(MARK_DIRTY, [(t,) for t in sorted({row[0] for row in listed})])
    tx.execute(
        "INSERT INTO track_manifests_seen (hub, day, version) VALUES (?, ?, ?) "
        "ON CONFLICT (hub, day) DO UPDATE SET version = excluded.version",
        (hub, day, version),
    )


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
