"""The station core: feed it a scan, get a decision, with the event committed.

This is the object the screen, the CLI, the tests and the benchmarks all drive. It owns
the scan path (identify -> decide -> one durable transaction holding the scan event, its
outbox row and any label to print) and the day's data operations (manifest import, plan
storage, the report). The network is never on this path; printing happens after commit.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import sqlite_utils

from station import barcodes, labels, printing
from station.barcodes import Framing, Identity, ParcelCode, StationCode
from station.clock import Clock
from station.config import Config
from station.errors import StationError
from station.loading import VanFacts, decide_load
from station.manifest import read_manifest
from station.model import Decision, Outcome, Parcel, Plan, Route, Van
from station.sorting import ParcelFacts, Verdict, decide_sort
from station.store import Store

log = logging.getLogger(__name__)

SORT_ROLE = "sort"

_EVENT_COLUMNS = (
    "event_id",
    "seq",
    "kind",
    "outcome",
    "station_id",
    "operator",
    "device",
    "role",
    "occurred_at",
    "clock_synced",
    "code",
    "tracking_id",
    "van_id",
    "lane",
    "stop",
    "reason",
    "detail",
)
# A van's planned parcels (not cancelled, not returned) that have not been loaded yet.
_STILL_TO_LOAD = """
    SELECT count(*) FROM plan_parcels pp JOIN parcels p ON p.tracking_id = pp.tracking_id
    WHERE pp.van_id = ? AND p.cancelled = 0
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tracking_id = pp.tracking_id
                      AND e.kind IN ('loaded', 'returned') AND e.undone_by IS NULL)"""
_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES ({', '.join(':' + c for c in _EVENT_COLUMNS)})"
)


@dataclass(frozen=True)
class ImportSummary:
    parcels: int
    added: int
    updated: int
    removed: int
    version: str
    added_ids: tuple[str, ...] = ()
    cancelled_ids: tuple[str, ...] = ()
    # Cancelled parcels already sorted or loaded: the lead pulls them from these lanes.
    pull_from_lanes: tuple[tuple[str, int], ...] = ()


@dataclass
class LaneCount:
    lane: int
    van: str
    planned: int = 0
    sorted: int = 0


@dataclass
class Report:
    day: str | None
    manifest: int
    planned: int
    unplanned: int
    sorted: int
    exceptions: int
    lanes: list[LaneCount] = field(default_factory=list)
    not_scanned: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "manifest": self.manifest,
            "planned": self.planned,
            "unplanned": self.unplanned,
            "sorted": self.sorted,
            "exceptions": self.exceptions,
            "lanes": [vars(lane) for lane in self.lanes],
            "not_scanned": self.not_scanned,
        }


def _time_text(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


class Station:
    """One station's core. Not thread-safe by design: one writer thread drives it."""

    def __init__(self, config: Config, store: Store, *, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or Clock()

    @classmethod
    def open(cls, config: Config, *, clock: Clock | None = None) -> Station:
        store = Store.open(config.database_path)
        station = cls(config, store, clock=clock)
        station.sync_vans()
        return station

    def close(self) -> None:
        self.store.close()

    # ---- the scan path -------------------------------------------------------------

    def scan(
        self, data: bytes | str, *, device: str = "manual", role: str = SORT_ROLE, framing: Framing | None = None
    ) -> Decision:
        """Decide what one scan means and commit its event before returning.

        ``role`` is how the scanning device works: ``"sort"`` or ``"load:<van id>"``.
        Never raises for bad input: garbage comes back as an INVALID decision with a reason.
        Raises :class:`StationError` for a role naming a van the station does not have.
        """
        load_van = self._load_van(role)
        identity = barcodes.identify(data, framing)
        code = _code_text(data, identity)
        with self.store.write() as db:
            if isinstance(identity, StationCode):
                from station import dock

                return dock.apply_station_code(self, db, identity, code=code, device=device, role=role)
            facts = self._facts(db, identity)
            if load_van is None:
                verdict = decide_sort(identity, facts, self.config.exception_lane)
            else:
                verdict = decide_load(identity, facts, self._van_facts(db, load_van, facts), self.config.exception_lane)
            detail = None
            if verdict.outcome is Outcome.LOADED and load_van is not None:
                detail = {"next_stop": self._next_stop(db, load_van.id)}
            decision = self.record(db, verdict, code=code, device=device, role=role, detail=detail)
            if verdict.print_label and facts is not None:
                self.queue_sort_label(db, decision)
            self.remember(db, device, facts.tracking_id if facts else None, decision.event_id)
        return decision

    def _load_van(self, role: str) -> Van | None:
        if role == SORT_ROLE:
            return None
        van = self.config.van(role[5:]) if role.startswith("load:") else None
        if van is None:
            raise StationError(f'scanner role {role!r}: expected "sort" or "load:VAN" with one of today\'s vans')
        return van

    def _facts(self, db: sqlite_utils.Database, identity: Identity) -> ParcelFacts | None:
        if not isinstance(identity, ParcelCode):
            return None
        tracking_id = self._lookup(db, identity)
        if tracking_id is None:
            return None
        return self.parcel_facts(db, tracking_id)

    def parcel_facts(self, db: sqlite_utils.Database, tracking_id: str) -> ParcelFacts:
        row = db.conn.execute(
            """SELECT p.cancelled, pp.van_id, pp.lane, pp.stop, u.reason,
                      EXISTS(SELECT 1 FROM plans) AS plan_exists,
                      EXISTS(SELECT 1 FROM events e WHERE e.tracking_id = p.tracking_id
                             AND e.kind = 'sorted' AND e.undone_by IS NULL) AS already_sorted
               FROM parcels p
               LEFT JOIN plan_parcels pp ON pp.tracking_id = p.tracking_id
               LEFT JOIN plan_unplanned u ON u.tracking_id = p.tracking_id
               WHERE p.tracking_id = ?""",
            [tracking_id],
        ).fetchone()
        cancelled, van_id, lane, stop, unplanned, plan_exists, already_sorted = row
        return ParcelFacts(
            tracking_id, bool(cancelled), van_id, lane, stop, bool(plan_exists), unplanned, bool(already_sorted)
        )

    def _van_facts(self, db: sqlite_utils.Database, van: Van, facts: ParcelFacts | None) -> VanFacts:
        closed = db.conn.execute("SELECT 1 FROM van_state WHERE van_id = ?", [van.id]).fetchone() is not None
        already = (
            facts is not None
            and db.conn.execute(
                "SELECT 1 FROM events WHERE tracking_id = ? AND kind = 'loaded' AND van_id = ? AND undone_by IS NULL",
                [facts.tracking_id, van.id],
            ).fetchone()
            is not None
        )
        (to_load,) = db.conn.execute(_STILL_TO_LOAD, [van.id]).fetchone()
        this_one = facts is not None and facts.van_id == van.id and not already and not facts.cancelled
        return VanFacts(van.id, van.lane, closed, already, to_load - (1 if this_one else 0))

    def _next_stop(self, db: sqlite_utils.Database, van_id: str) -> int | None:
        """The highest stop still to load: the last stop goes in first."""
        row = db.conn.execute(_STILL_TO_LOAD.replace("count(*)", "max(pp.stop)"), [van_id]).fetchone()
        return None if row[0] is None else int(row[0])

    def remember(self, db: sqlite_utils.Database, device: str, tracking_id: str | None, event_id: str | None) -> None:
        """The device's last parcel: a command barcode scanned next applies to it."""
        db.conn.execute(
            "INSERT INTO devices (device, last_tracking_id, last_event_id, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(device) DO UPDATE SET last_tracking_id = excluded.last_tracking_id, "
            "last_event_id = excluded.last_event_id, updated_at = excluded.updated_at",
            (device, tracking_id, event_id, self.clock.now().isoformat()),
        )

    def _lookup(self, db: sqlite_utils.Database, identity: ParcelCode) -> str | None:
        for key in identity.keys:
            row = db.execute("SELECT tracking_id FROM parcel_codes WHERE key = ?", [key]).fetchone()
            if row:
                return str(row[0])
        return None

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
        """Insert the event and its outbox row (the caller's transaction commits both)."""
        event_id = str(uuid.uuid4())
        (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()
        now = self.clock.now()
        event = {
            "event_id": event_id,
            "seq": seq,
            "kind": verdict.kind.value,
            "outcome": verdict.outcome.value,
            "station_id": self.config.station_id,
            "operator": self.config.operator,
            "device": device,
            "role": role,
            "occurred_at": now.isoformat(),
            "clock_synced": int(self.clock.synced()),
            "code": code,
            "tracking_id": verdict.tracking_id,
            "van_id": verdict.van,
            "lane": verdict.lane,
            "stop": verdict.stop,
            "reason": verdict.reason,
            "detail": json.dumps(detail) if detail else None,
        }
        # Plain prepared SQL on the scan path: sqlite-utils' insert() inspects the table on
        # every call, which was half of the scan's CPU time.
        db.conn.execute(_INSERT_EVENT, event)
        payload = {
            "event_id": event_id,
            "seq": seq,
            "station_id": self.config.station_id,
            "hub": self.config.hub.name,
            "day": self.day(db),
            "kind": verdict.kind.value,
            "outcome": verdict.outcome.value,
            "occurred_at": event["occurred_at"],
            "clock_synced": bool(event["clock_synced"]),
            "operator": self.config.operator,
            "device": device,
            "role": role,
            "code": code,
            "tracking_id": verdict.tracking_id,
            "van": verdict.van,
            "lane": verdict.lane,
            "stop": verdict.stop,
            "reason": verdict.reason,
        }
        db.conn.execute(
            "INSERT INTO outbox (event_id, seq, payload, enqueued_at) VALUES (?, ?, ?, ?)",
            (event_id, seq, json.dumps(payload), event["occurred_at"]),
        )
        return Decision(
            outcome=verdict.outcome,
            code=code,
            event_id=event_id,
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

    def queue_sort_label(self, db: sqlite_utils.Database, decision: Decision) -> None:
        assert decision.tracking_id and decision.lane is not None and decision.van and decision.stop
        row = db.execute(
            "SELECT address, postal_code FROM parcels WHERE tracking_id = ?", [decision.tracking_id]
        ).fetchone()
        payload = labels.sort_label(
            tracking_id=decision.tracking_id,
            lane=decision.lane,
            stop=decision.stop,
            van=decision.van,
            address=row[0],
            postal_code=row[1] or "",
            day=self.clock.now().date(),
            station_id=self.config.station_id,
        )
        printing.enqueue(db, printing.SORT_LABEL, payload, event_id=decision.event_id, tracking_id=decision.tracking_id)

    # ---- the day's data ------------------------------------------------------------

    def day(self, db: sqlite_utils.Database | None = None) -> str:
        row = (db or self.store.db).execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        return str(row[0]) if row else self.clock.now().date().isoformat()

    def sync_vans(self) -> None:
        """Mirror the config's vans into the database (reports and the server read them there)."""
        with self.store.write() as db:
            db.table("vans").delete_where()
            db.table("vans").insert_all(
                {
                    "id": v.id,
                    "lane": v.lane,
                    "capacity": v.capacity,
                    "capacity_kg": v.capacity_kg,
                    "shift_start": v.shift_start.isoformat("minutes"),
                    "shift_end": v.shift_end.isoformat("minutes"),
                    "fixed_cost": v.fixed_cost,
                }
                for v in self.config.vans
            )

    def import_manifest(self, path: Path | str) -> ImportSummary:
        """Read a manifest file (checked whole first) and make it the day's manifest."""
        parcels = read_manifest(path)
        return self.replace_manifest(parcels, version=f"file:{Path(path).name}")

    def replace_manifest(self, parcels: list[Parcel], *, version: str, day: date | None = None) -> ImportSummary:
        """Make ``parcels`` the day's manifest in one transaction.

        Parcels already scanned keep their events; a parcel missing from the new
        manifest is kept but marked cancelled, never deleted (its scans must stay explainable).
        """
        with self.store.write() as db:
            existing = {r[0]: r[1] for r in db.execute("SELECT tracking_id, cancelled FROM parcels")}
            new_ids = {p.tracking_id for p in parcels}
            added = sum(1 for p in parcels if p.tracking_id not in existing)
            db.table("parcels").upsert_all((self._parcel_row(p) for p in parcels), pk="tracking_id")
            removed = [tid for tid, cancelled in existing.items() if tid not in new_ids and not cancelled]
            for tid in removed:
                db.execute("UPDATE parcels SET cancelled = 1 WHERE tracking_id = ?", [tid])
            db.execute("DELETE FROM parcel_codes")
            # Cancelled parcels keep their codes, so a late scan says "cancelled", not "unknown";
            # the current manifest's parcels come first and win any shared code.
            all_codes = [(p.tracking_id, (p.tracking_id, *p.codes)) for p in parcels]
            for tid, codes_json in db.execute("SELECT tracking_id, codes FROM parcels WHERE cancelled = 1"):
                all_codes.append((tid, (tid, *json.loads(codes_json or "[]"))))
            seen: set[str] = set()
            rows = []
            for tracking_id, codes in all_codes:
                for code in codes:
                    for key in barcodes.index_keys(code):
                        if key not in seen:  # first parcel to claim a key keeps it
                            seen.add(key)
                            rows.append({"key": key, "tracking_id": tracking_id})
            db.table("parcel_codes").insert_all(rows, batch_size=1000)
            db.table("meta").upsert({"key": "manifest_version", "value": version}, pk="key")
            if day is not None or not db.execute("SELECT 1 FROM meta WHERE key = 'day'").fetchone():
                today = (day or self.clock.now().date()).isoformat()
                db.table("meta").upsert({"key": "day", "value": today}, pk="key")
            added_ids = tuple(p.tracking_id for p in parcels if p.tracking_id not in existing)
            pull = tuple(
                (tid, lane)
                for tid, lane in db.conn.execute(
                    "SELECT DISTINCT tracking_id, lane FROM events WHERE kind IN ('sorted', 'loaded') "
                    "AND undone_by IS NULL AND lane IS NOT NULL AND tracking_id IN (SELECT value FROM json_each(?))",
                    [json.dumps(removed)],
                )
            )
            if existing:  # a change to a day's manifest, not its first import: the lead sees what changed
                db.conn.execute(
                    "INSERT INTO manifest_changes (version, at, added, cancelled, pull_from_lanes) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        version,
                        self.clock.now().isoformat(),
                        json.dumps(added_ids),
                        json.dumps(removed),
                        json.dumps([list(x) for x in pull]),
                    ],
                )
        summary = ImportSummary(
            len(parcels), added, len(parcels) - added, len(removed), version, added_ids, tuple(removed), pull
        )
        log.info("manifest %s: %d parcels (%d new, %d cancelled)", version, len(parcels), added, len(removed))
        return summary

    @staticmethod
    def _parcel_row(p: Parcel) -> dict[str, Any]:
        return {
            "tracking_id": p.tracking_id,
            "recipient": p.recipient,
            "address": p.address,
            "postal_code": p.postal_code,
            "lat": p.lat,
            "lon": p.lon,
            "weight_kg": p.weight_kg,
            "window_start": _time_text(p.window_start),
            "window_end": _time_text(p.window_end),
            "codes": json.dumps(list(p.codes)),
            "cancelled": 0,
        }

    def parcels(self, *, include_cancelled: bool = False) -> list[Parcel]:
        where = "" if include_cancelled else "WHERE cancelled = 0"
        out = []
        for r in self.store.query(f"SELECT * FROM parcels {where} ORDER BY rowid"):
            out.append(
                Parcel(
                    tracking_id=r["tracking_id"],
                    recipient=r["recipient"],
                    address=r["address"],
                    postal_code=r["postal_code"] or "",
                    lat=r["lat"],
                    lon=r["lon"],
                    weight_kg=r["weight_kg"],
                    window_start=time.fromisoformat(r["window_start"]) if r["window_start"] else None,
                    window_end=time.fromisoformat(r["window_end"]) if r["window_end"] else None,
                    codes=tuple(json.loads(r["codes"] or "[]")),
                )
            )
        return out

    def save_plan(self, plan: Plan, *, version: str | None = None) -> int:
        """Make ``plan`` the active plan; returns its id."""
        with self.store.write() as db:
            plan_id = int(db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM plans").fetchone()[0])
            assignments = plan.assignments()
            db.table("plans").insert(
                {
                    "id": plan_id,
                    "created_at": self.clock.now().isoformat(),
                    "solver": plan.solver,
                    "cost": plan.cost,
                    "seconds": plan.seconds,
                    "parcels": len(assignments),
                    "unplanned": len(plan.unplanned),
                }
            )
            db.table("routes").insert_all(
                {
                    "plan_id": plan_id,
                    "van_id": r.van_id,
                    "lane": r.lane,
                    "km": r.km,
                    "minutes": r.minutes,
                    "load": r.load,
                    "load_kg": r.load_kg,
                }
                for r in plan.routes
            )
            db.execute("DELETE FROM plan_parcels")
            db.execute("DELETE FROM plan_unplanned")
            db.table("plan_parcels").insert_all(
                (
                    {
                        "tracking_id": a.tracking_id,
                        "plan_id": plan_id,
                        "van_id": a.van_id,
                        "lane": a.lane,
                        "stop": a.stop,
                    }
                    for a in assignments
                ),
                batch_size=1000,
            )
            db.table("plan_unplanned").insert_all(
                ({"tracking_id": tid, "plan_id": plan_id, "reason": why} for tid, why in plan.unplanned.items()),
                batch_size=1000,
            )
            if version is not None:
                db.table("meta").upsert({"key": "plan_version", "value": version}, pk="key")
        log.info(
            "plan %d saved: %d parcels on %d vans, %d unplanned",
            plan_id,
            len(assignments),
            len(plan.routes),
            len(plan.unplanned),
        )
        return plan_id

    def current_plan(self) -> Plan | None:
        """The active plan as the planner returned it (routes in stop order)."""
        head = self.store.query("SELECT * FROM plans ORDER BY id DESC LIMIT 1")
        if not head:
            return None
        plan_id = head[0]["id"]
        stops: dict[str, dict[int, list[str]]] = {}
        for r in self.store.query("SELECT tracking_id, van_id, stop FROM plan_parcels ORDER BY van_id, stop, rowid"):
            stops.setdefault(r["van_id"], {}).setdefault(r["stop"], []).append(r["tracking_id"])
        routes = tuple(
            Route(
                van_id=r["van_id"],
                lane=r["lane"],
                stops=tuple(tuple(ids) for _, ids in sorted(stops.get(r["van_id"], {}).items())),
                km=r["km"],
                minutes=r["minutes"],
                load=r["load"],
                load_kg=r["load_kg"] or 0.0,
            )
            for r in self.store.query("SELECT * FROM routes WHERE plan_id = ? ORDER BY lane", (plan_id,))
        )
        unplanned = {r["tracking_id"]: r["reason"] for r in self.store.query("SELECT * FROM plan_unplanned")}
        return Plan(
            routes=routes,
            unplanned=unplanned,
            cost=head[0]["cost"],
            solver=head[0]["solver"],
            seconds=head[0]["seconds"],
        )

    def locked_vans(self) -> dict[str, str]:
        """Parcels already sorted or loaded, and the van they are committed to."""
        rows = self.store.query(
            "SELECT tracking_id, van_id FROM events WHERE kind IN ('sorted', 'loaded') AND van_id IS NOT NULL "
            "AND undone_by IS NULL "
            "GROUP BY tracking_id"
        )
        return {r["tracking_id"]: r["van_id"] for r in rows}

    # ---- the report ------------------------------------------------------------------

    def report(self, *, list_limit: int = 1000) -> Report:
        q = self.store.query
        lanes = {r["lane"]: LaneCount(r["lane"], r["id"]) for r in q("SELECT id, lane FROM vans ORDER BY lane")}
        # Cancelled parcels stay in the plan's table but are no longer planned work (as in dayclose).
        active = "FROM plan_parcels pp JOIN parcels p USING (tracking_id) WHERE p.cancelled = 0"
        for r in q(f"SELECT pp.lane, count(*) AS n {active} GROUP BY pp.lane"):
            lanes.setdefault(r["lane"], LaneCount(r["lane"], "?")).planned = r["n"]
        for r in q(
            "SELECT lane, count(DISTINCT tracking_id) AS n FROM events "
            "WHERE kind = 'sorted' AND undone_by IS NULL GROUP BY lane"
        ):
            lanes.setdefault(r["lane"], LaneCount(r["lane"], "?")).sorted = r["n"]
        not_scanned = [
            r["tracking_id"]
            for r in q(
                "SELECT tracking_id FROM parcels p WHERE cancelled = 0 AND NOT EXISTS "
                "(SELECT 1 FROM events e WHERE e.tracking_id = p.tracking_id) ORDER BY tracking_id LIMIT ?",
                (list_limit,),
            )
        ]
        return Report(
            day=self.store.get_meta("day"),
            manifest=int(self.store.scalar("SELECT count(*) FROM parcels WHERE cancelled = 0")),
            planned=int(self.store.scalar(f"SELECT count(*) {active}")),
            unplanned=int(self.store.scalar("SELECT count(*) FROM plan_unplanned")),
            sorted=int(
                self.store.scalar(
                    "SELECT count(DISTINCT tracking_id) FROM events WHERE kind = 'sorted' AND undone_by IS NULL"
                )
            ),
            exceptions=int(
                self.store.scalar("SELECT count(*) FROM events WHERE kind = 'exception' AND undone_by IS NULL")
            ),
            lanes=sorted(lanes.values(), key=lambda lane: lane.lane),
            not_scanned=not_scanned,
        )

    def outbox_backlog(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM outbox") or 0)


def _code_text(data: bytes | str, identity: Identity) -> str:
    """The code as scanned, for the event and the screen (printable, bounded)."""
    if identity.text:
        return identity.text[:200]
    if isinstance(data, bytes):
        return data[:200].decode("latin-1")
    return data[:200]
