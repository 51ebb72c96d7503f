"""The scan ledger: what the scan path reads and writes in the station's database.

Owns, for the core (sort and load scans) and the dock (station codes, commands, the
hub lead's exceptions, closing vans): the scan event inserted with its outbox row, the
facts a decision is read from (a parcel's plan and state, a van's state), the device's
last parcel (what a command barcode scanned next applies to), a sort label queued in the
scan's transaction, and the SQL predicates the counts share ("not undone", "already
sorted", "on a van", "still to load"). Everything here runs inside the caller's
``Store.write()`` transaction and commits nothing itself: the caller's block does.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from station import labels, printing
from station.barcodes import Identity, ParcelCode
from station.clock import Clock
from station.config import Config
from station.events import ROW_COLUMNS, ScanEvent
from station.loading import VanFacts
from station.model import Decision, EventKind, Role, Van
from station.sorting import ParcelFacts, Verdict
from station.store import Store

# ---- the predicates every count shares (SQL over the events table) ------------------------

# The sorting day the station works on (station.days): an event counts on its own day only,
# so a new day starts clean while yesterday's events stay, with their day, for the record.
TODAY = "(SELECT value FROM meta WHERE key = 'day')"
# An event that counts: of today, and not undone (an undone event stays but no longer counts).
# Written ``e.{COUNTS}``: the alias qualifies undone_by; ``day`` resolves to the same events
# table, the only one in these queries with a day column.
#
# ``+day``: the unary plus keeps SQLite off the (day, kind) index here. With it, a lookup of
# one parcel's events (already sorted? loaded?) read every event of the day instead of the
# parcel's own few through (tracking_id, kind): 0.8 ms a sort scan at 3,000 events, a load
# scan growing with the van's parcels times the day's loads, a second for the report. A
# count over the whole day scans the table once instead, which stays in milliseconds.
COUNTS = f"undone_by IS NULL AND +day = {TODAY}"
IS_SORTED = f"kind = '{EventKind.SORTED}' AND {COUNTS}"
IS_LOADED = f"kind = '{EventKind.LOADED}' AND {COUNTS}"
# Sorted or loaded: the parcel is committed to its van (a new plan keeps it there).
ON_A_VAN = f"kind IN ('{EventKind.SORTED}', '{EventKind.LOADED}') AND {COUNTS}"
# A van's planned parcels (not cancelled, not returned) that have not been loaded yet;
# one parameter, the van id. Prefix with the SELECT list: count(*), max(pp.stop)...
STILL_TO_LOAD = f"""FROM plan_parcels pp JOIN parcels p ON p.tracking_id = pp.tracking_id
    WHERE pp.van_id = ? AND p.cancelled = 0
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tracking_id = pp.tracking_id
                      AND e.kind IN ('{EventKind.LOADED}', '{EventKind.RETURNED}') AND e.{COUNTS})"""

_INSERT_EVENT = f"INSERT INTO events ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join(':' + c for c in ROW_COLUMNS)})"
_INSERT_OUTBOX = "INSERT INTO outbox (event_id, seq, payload, enqueued_at) VALUES (?, ?, ?, ?)"
_PARCEL_FACTS = f"""SELECT p.cancelled, pp.van_id, pp.lane, pp.stop, u.reason,
          EXISTS(SELECT 1 FROM plans) AS plan_exists,
          EXISTS(SELECT 1 FROM events e WHERE e.tracking_id = p.tracking_id AND e.{IS_SORTED}) AS already_sorted
   FROM parcels p
   LEFT JOIN plan_parcels pp ON pp.tracking_id = p.tracking_id
   LEFT JOIN plan_unplanned u ON u.tracking_id = p.tracking_id
   WHERE p.tracking_id = ?"""


class Ledger:
    """One station's scan-path reads and writes; every method takes the open transaction."""

    def __init__(self, config: Config, store: Store, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock

    # ---- facts a decision is read from ------------------------------------------------

    def lookup(self, db: sqlite_utils.Database, identity: Identity) -> ParcelFacts | None:
        """The manifest parcel a scanned code names, with its facts; None for anything else."""
        if not isinstance(identity, ParcelCode):
            return None
        for key in identity.keys:
            row = db.conn.execute("SELECT tracking_id FROM parcel_codes WHERE key = ?", [key]).fetchone()
            if row:
                return self.parcel_facts(db, str(row[0]))
        return None

    def parcel_facts(self, db: sqlite_utils.Database, tracking_id: str) -> ParcelFacts:
        row = db.conn.execute(_PARCEL_FACTS, [tracking_id]).fetchone()
        cancelled, van_id, lane, stop, unplanned, plan_exists, already_sorted = row
        return ParcelFacts(
            tracking_id, bool(cancelled), van_id, lane, stop, bool(plan_exists), unplanned, bool(already_sorted)
        )

    def van_facts(self, db: sqlite_utils.Database, van: Van, facts: ParcelFacts | None) -> VanFacts:
        closed = self.van_closed(db, van.id)
        already = (
            facts is not None
            and db.conn.execute(
                f"SELECT 1 FROM events WHERE tracking_id = ? AND van_id = ? AND {IS_LOADED}",
                [facts.tracking_id, van.id],
            ).fetchone()
            is not None
        )
        (to_load,) = db.conn.execute(f"SELECT count(*) {STILL_TO_LOAD}", [van.id]).fetchone()
        this_one = facts is not None and facts.van_id == van.id and not already and not facts.cancelled
        return VanFacts(van.id, van.lane, closed, already, to_load - (1 if this_one else 0))

    def van_closed(self, db: sqlite_utils.Database, van_id: str) -> bool:
        return db.conn.execute("SELECT 1 FROM van_state WHERE van_id = ?", [van_id]).fetchone() is not None

    def still_to_load(self, db: sqlite_utils.Database, van_id: str) -> int:
        (count,) = db.conn.execute(f"SELECT count(*) {STILL_TO_LOAD}", [van_id]).fetchone()
        return int(count)

    def next_stop(self, db: sqlite_utils.Database, van_id: str, *, loading: str | None = None) -> int | None:
        """The highest stop still to load once ``loading`` (the parcel being loaded) is in."""
        row = db.conn.execute(
            f"SELECT max(pp.stop) {STILL_TO_LOAD} AND pp.tracking_id IS NOT ?", [van_id, loading]
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def day(self, db: sqlite_utils.Database | None = None) -> str:
        """The sorting day the station works on (today until a manifest sets one)."""
        row = (db or self.store.db).execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        return str(row[0]) if row else self.clock.now().date().isoformat()

    # ---- the device's last parcel ------------------------------------------------------

    def last_scan(self, db: sqlite_utils.Database, device: str) -> tuple[str | None, str | None]:
        """``(tracking id, event id)`` of the device's last parcel scan, if any.

        Only within ``[station] command_window_s``: a DAMAGED scanned ten minutes after the
        last parcel is about some other parcel, and must say "scan the parcel first".
        """
        row = db.conn.execute(
            "SELECT last_tracking_id, last_event_id, updated_at FROM devices WHERE device = ?", [device]
        ).fetchone()
        if row is None or row[2] is None:
            return (None, None)
        age = (self.clock.now() - datetime.fromisoformat(row[2])).total_seconds()
        if age > self.config.rules.command_window_s:
            return (None, None)
        return (row[0], row[1])

    # ---- a handheld's van binding ------------------------------------------------------

    def bind(self, db: sqlite_utils.Database, device: str, role: Role) -> None:
        """Keep ``device``'s role ($ST:VAN:V03, SORT) across restarts, until the day changes."""
        db.conn.execute(
            "INSERT INTO device_roles (device, role, day, bound_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(device) DO UPDATE SET role = excluded.role, day = excluded.day, bound_at = excluded.bound_at",
            (device, str(role), self.day(db), self.clock.now().isoformat()),
        )

    def bound_roles(self, db: sqlite_utils.Database | None = None) -> dict[str, Role]:
        """Every device's role bound today by a scanned van code or SORT."""
        rows = (db or self.store.db).execute(f"SELECT device, role FROM device_roles WHERE day = {TODAY}").fetchall()
        return {device: Role.parse(role) for device, role in rows}

    def remember(self, db: sqlite_utils.Database, device: str, tracking_id: str | None, event_id: str | None) -> None:
        """The device's last parcel: a command barcode scanned next applies to it."""
        db.conn.execute(
            "INSERT INTO devices (device, last_tracking_id, last_event_id, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(device) DO UPDATE SET last_tracking_id = excluded.last_tracking_id, "
            "last_event_id = excluded.last_event_id, updated_at = excluded.updated_at",
            (device, tracking_id, event_id, self.clock.now().isoformat()),
        )

    # ---- writes ------------------------------------------------------------------------

    def record(
        self,
        db: sqlite_utils.Database,
        verdict: Verdict,
        *,
        code: str,
        device: str,
        role: str,
        detail: dict[str, Any] | None = None,
    ) -> Decision:
        """Insert the scan event and its outbox row (the caller's transaction commits both)."""
        (seq,) = db.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()
        event = ScanEvent(
            event_id=ScanEvent.new_id(),
            seq=seq,
            kind=verdict.kind,
            outcome=verdict.outcome,
            station_id=self.config.station_id,
            operator=self.config.operator,
            device=device,
            role=role,
            occurred_at=self.clock.now().isoformat(),
            clock_synced=self.clock.synced(),
            code=code,
            tracking_id=verdict.tracking_id,
            van=verdict.van,
            lane=verdict.lane,
            stop=verdict.stop,
            reason=verdict.reason,
            detail=detail,
        )
        # Plain prepared SQL on the scan path: sqlite-utils' insert() inspects the table on
        # every call, which was half of the scan's CPU time.
        db.conn.execute(_INSERT_EVENT, event.to_row())
        wire = event.to_wire(hub=self.config.hub.name, day=self.day(db))
        db.conn.execute(_INSERT_OUTBOX, (event.event_id, seq, json.dumps(wire), event.occurred_at))
        return Decision(
            outcome=verdict.outcome,
            code=code,
            event_id=event.event_id,
            tracking_id=verdict.tracking_id,
            lane=verdict.lane,
            van=verdict.van,
            stop=verdict.stop,
            reason=verdict.reason,
            remaining=verdict.remaining,
            right_van=verdict.right_van,
            right_lane=verdict.right_lane,
            detail=detail or {},
        )

    def mark_undone(self, db: sqlite_utils.Database, event_id: str, *, by: str) -> None:
        db.conn.execute("UPDATE events SET undone_by = ? WHERE event_id = ?", [by, event_id])

    def queue_sort_label(self, db: sqlite_utils.Database, facts: ParcelFacts, *, event_id: str) -> None:
        """The parcel's sort label, queued for the printer in the scan's transaction."""
        if facts.lane is None or facts.van_id is None or facts.stop is None:
            raise ValueError(f"parcel {facts.tracking_id} is not planned: no sort label")
        row = db.conn.execute(
            "SELECT address, postal_code FROM parcels WHERE tracking_id = ?", [facts.tracking_id]
        ).fetchone()
        payload = labels.sort_label(
            tracking_id=facts.tracking_id,
            lane=facts.lane,
            stop=facts.stop,
            van=facts.van_id,
            address=row[0],
            postal_code=row[1] or "",
            day=self.clock.now().date(),
            station_id=self.config.station_id,
            language=self.config.rules.language,
        )
        printing.enqueue(db, printing.SORT_LABEL, payload, event_id=event_id, tracking_id=facts.tracking_id)
