"""The sync package's own tables, as a migration set registered with the store.

``sync_quarantine`` holds events the server refused as invalid (400/422) with the reason:
they leave the outbox so they stop blocking the queue, but are never deleted, and the
hub lead sees them. ``sync_state`` is a small key/value table for what sync remembers
across restarts (last good sync, manifest ETag, plan version).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from station.store import register_migrations

migrations = Migrations("sync")


@migrations()
def m001_sync(db: sqlite_utils.Database) -> None:
    db.table("sync_quarantine").create(
        {
            "event_id": str,
            "seq": int,
            "payload": str,
            "status_code": int,
            "reason": str,
            "quarantined_at": str,
        },
        pk="event_id",
    )
    db.table("sync_state").create({"key": str, "value": str}, pk="key")


register_migrations(migrations)
