"""Reading the outbox in order, acknowledging and quarantining what the server answered.

The outbox is written by the scan path (same transaction as the event); this module only
reads its head, deletes rows the server acknowledged and moves refused rows to
``sync_quarantine``. Reads are bounded (``LIMIT``): a 100,000-event backlog is streamed
a batch at a time, never loaded whole. Every write goes through ``Store.write()``
(BEGIN IMMEDIATE) so it queues behind a scan instead of failing with "database is locked".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from station.store import Store
from station.sync import schema

# SQLite's bound-parameter limit is 32766 on current builds, 999 on old ones (the Pi's
# distribution may ship one): delete in chunks below the old limit.
_CHUNK = 500


@dataclass(frozen=True)
class OutboxRow:
    event_id: str
    seq: int
    payload: str  # the event as JSON text, exactly as the scan path wrote it


@dataclass(frozen=True)
class QuarantinedEvent:
    event_id: str
    seq: int
    status_code: int | None
    reason: str
    quarantined_at: str
    payload: str


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class Outbox:
    """The station's queue of events not yet acknowledged by the server."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Idempotent: makes sync's tables exist even when the store was opened before
        # ``station.sync`` was imported (the registration would then have come too late).
        if not store.db["sync_state"].exists():
            schema.migrations.apply(store.db)

    def head(self, limit: int, after_seq: int = 0) -> list[OutboxRow]:
        """The oldest ``limit`` pending events after ``after_seq``, in sequence order."""
        rows = self.store.query(
            "SELECT event_id, seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, max(1, limit))
        )
        return [OutboxRow(r["event_id"], r["seq"], r["payload"]) for r in rows]

    def backlog(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM outbox") or 0)

    def acknowledge(self, event_ids: Sequence[str], *, at: str | None = None) -> None:
        """Forget events the server holds, and remember when that last happened."""
        at = at or _now()
        with self.store.write() as db:
            for chunk in _chunks(event_ids):
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM outbox WHERE event_id IN ({marks})", list(chunk))
            db.execute(
                "INSERT INTO sync_state (key, value) VALUES ('last_good_sync', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [at],
            )

    def mark_good_sync(self, *, at: str | None = None) -> None:
        """The server answered and nothing was pending: still a good sync for the screen."""
        self.set_state("last_good_sync", at or _now())

    def quarantine(self, refused: dict[str, tuple[int | None, str]]) -> None:
        """Move refused events out of the outbox with the server's reason; never deleted.

        ``refused`` maps event id to ``(status code, reason)``.
        """
        at = _now()
        with self.store.write() as db:
            for event_id, (status, reason) in refused.items():
                db.execute(
                    "INSERT OR REPLACE INTO sync_quarantine "
                    "(event_id, seq, payload, status_code, reason, quarantined_at) "
                    "SELECT event_id, seq, payload, ?, ?, ? FROM outbox WHERE event_id = ?",
                    [status, reason, at, event_id],
                )
                db.execute("DELETE FROM outbox WHERE event_id = ?", [event_id])

    def quarantined_count(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM sync_quarantine") or 0)

    def quarantined(self, limit: int = 1000) -> list[QuarantinedEvent]:
        rows = self.store.query(
            "SELECT event_id, seq, status_code, reason, quarantined_at, payload "
            "FROM sync_quarantine ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [QuarantinedEvent(**r) for r in rows]

    def last_good_sync(self) -> datetime | None:
        value = self.get_state("last_good_sync")
        return datetime.fromisoformat(value) if value else None

    def get_state(self, key: str) -> str | None:
        value: Any = self.store.scalar("SELECT value FROM sync_state WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_state(self, key: str, value: str) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
