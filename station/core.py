"""The station core: feed it a scan, get a decision, with the event committed.

This is the object the screen, the CLI, the tests and the benchmarks all drive. It owns
the scan path (identify -> decide -> one durable transaction holding the scan event, its
outbox row and any label to print) and the day's data operations (manifest import, plan
storage, the report). The network is never on this path; printing happens after commit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import sqlite_utils

from station import barcodes, dock
from station.barcodes import Framing, Identity, StationCode
from station.clock import Clock
from station.config import Config
from station.errors import StationError
from station.ledger import COUNTS, IS_SORTED, ON_A_VAN, TODAY, Ledger
from station.loading import decide_load
from station.manifest import parcel_record, read_manifest
from station.model import SORT, Decision, EventKind, Outcome, Parcel, Plan, Role, Route
from station.sorting import decide_sort
from station.store import Store

log = logging.getLogger(__name__)


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


class Station:
    """One station's core. Not thread-safe by design: one writer thread drives it."""

    def __init__(self, config: Config, store: Store, *, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or Clock()
        self.ledger = Ledger(config, store, self.clock)

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
        self,
        data: bytes | str,
        *,
        device: str = "manual",
        role: str | Role | None = None,
        framing: Framing | None = None,
    ) -> Decision:
        """Decide what one scan means and commit its event before returning.

        ``role`` is how the scanning device works: ``"sort"`` or ``"load:<van id>"`` (or a :class:`Role`);
        None: the role the device was bound to today by a scanned van code or SORT, else sort.
        Never raises for bad input: garbage comes back as an INVALID decision with a reason.
        Raises :class:`StationError` for a role naming a van the station does not have.
        """
        role = self.ledger.bound_roles().get(device, SORT) if role is None else self._role(role)
        load_van = None if role.van_id is None else self.config.van(role.van_id)
        if role.van_id is not None and load_van is None:
            raise StationError(f'scanner role "{role}": expected "sort" or "load:VAN" with one of today\'s vans')
        scanned = _scanned_input(data)
        identity = barcodes.identify(scanned, framing)
        code = _code_text(scanned, identity)
        ledger = self.ledger
        with self.store.write() as db:
            if isinstance(identity, StationCode):
                return dock.apply_station_code(ledger, db, identity, code=code, device=device, role=role)
            facts = ledger.lookup(db, identity)
            if load_van is None:
                verdict = decide_sort(identity, facts, self.config.exception_lane, day_passed=self._day_passed(db))
            else:
                verdict = decide_load(
                    identity, facts, ledger.van_facts(db, load_van, facts), self.config.exception_lane
                )
            detail = None
            if verdict.outcome is Outcome.LOADED and load_van is not None:
                detail = {"next_stop": ledger.next_stop(db, load_van.id, loading=verdict.tracking_id)}
            decision = ledger.record(db, verdict, code=code, device=device, role=str(role), detail=detail)
            if verdict.print_label and facts is not None:
                ledger.queue_sort_label(db, facts, event_id=decision.event_id)
            ledger.remember(db, device, facts.tracking_id if facts else None, decision.event_id)
        return decision

    def _day_passed(self, db: sqlite_utils.Database) -> bool:
        """The hub's date has moved past the station's day (a fresh station has no day: False)."""
        from station.days import hub_today

        row = db.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        return row is not None and hub_today(self.config, self.clock.now()).isoformat() > str(row[0])

    def device_roles(self) -> dict[str, Role]:
        """Each device's role bound today by a scanned van code or SORT (kept across restarts)."""
        return self.ledger.bound_roles()

    @staticmethod
    def _role(role: str | Role) -> Role:
        if isinstance(role, Role):
            return role
        try:
            return Role.parse(role)
        except ValueError:
            raise StationError(
                f'scanner role {_shown(role)}: expected "sort" or "load:VAN" with one of today\'s vans'
            ) from None

    # ---- the day's data ------------------------------------------------------------

    def day(self, db: sqlite_utils.Database | None = None) -> str:
        return self.ledger.day(db)

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
                    f"SELECT DISTINCT tracking_id, lane FROM events WHERE {ON_A_VAN} "
                    "AND lane IS NOT NULL AND tracking_id IN (SELECT value FROM json_each(?))",
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
        """The parcels table's row: the manifest's own record, codes as JSON text, not cancelled."""
        return {**parcel_record(p), "codes": json.dumps(list(p.codes)), "cancelled": 0}

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
            f"SELECT tracking_id, van_id FROM events WHERE {ON_A_VAN} AND van_id IS NOT NULL GROUP BY tracking_id"
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
        for r in q(f"SELECT lane, count(DISTINCT tracking_id) AS n FROM events WHERE {IS_SORTED} GROUP BY lane"):
            lanes.setdefault(r["lane"], LaneCount(r["lane"], "?")).sorted = r["n"]
        not_scanned = [
            r["tracking_id"]
            for r in q(
                "SELECT tracking_id FROM parcels p WHERE cancelled = 0 AND NOT EXISTS "
                f"(SELECT 1 FROM events e WHERE e.tracking_id = p.tracking_id AND +e.day = {TODAY}) "
                "ORDER BY tracking_id LIMIT ?",
                (list_limit,),
            )
        ]
        return Report(
            day=self.store.get_meta("day"),
            manifest=int(self.store.scalar("SELECT count(*) FROM parcels WHERE cancelled = 0")),
            planned=int(self.store.scalar(f"SELECT count(*) {active}")),
            unplanned=int(self.store.scalar("SELECT count(*) FROM plan_unplanned")),
            sorted=int(self.store.scalar(f"SELECT count(DISTINCT tracking_id) FROM events WHERE {IS_SORTED}")),
            exceptions=int(
                self.store.scalar(f"SELECT count(*) FROM events WHERE kind = '{EventKind.EXCEPTION}' AND {COUNTS}")
            ),
            lanes=sorted(lanes.values(), key=lambda lane: lane.lane),
            not_scanned=not_scanned,
        )

    def outbox_backlog(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM outbox") or 0)


def _scanned_input(data: bytes | str) -> bytes | str:
    """Text that UTF-8 cannot store (a lone surrogate) read as the bytes it stands for.

    Python decodes undecodable bytes (argv, a pipe) to surrogates U+DC80..U+DCFF; those go back
    to their bytes, any other lone surrogate to its raw encoding, and the barcode reader then
    calls it what it is: bytes that are not text (an INVALID decision, recorded).
    """
    if isinstance(data, bytes):
        return data
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return data.encode("utf-8", "surrogatepass")
    return data


def _shown(value: object) -> str:
    """A value as a message shows it: quoted text, never Python's None."""
    return "nothing" if value is None else repr(value)


def _code_text(data: bytes | str, identity: Identity) -> str:
    """The code as scanned, for the event and the screen (printable, bounded)."""
    if identity.text:
        return identity.text[:200]
    if isinstance(data, bytes):
        return data[:200].decode("latin-1")
    return data[:200]
