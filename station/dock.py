"""The dock day beyond sorting: station codes, commands, exceptions, closing vans.

Owns what a scanned station code does (bind a scanner to a van, apply a command to the
parcel just scanned, undo, reprint, close a van) and the hub lead's ways through an
exception (re-label, reassign to a van, return to sender). Every step is a scan event in
the same durable transaction as its effects, so the central server sees all of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlite_utils

from station import command_codes, labels, printing, reasons
from station.barcodes import StationCode
from station.errors import StationError
from station.i18n import N_  # the reasons stay English on the wire; the screen translates them
from station.ledger import COUNTS, IS_LOADED, Ledger
from station.model import SORT, Decision, EventKind, Outcome, Role, Van
from station.sorting import Verdict


class DockStation(Protocol):
    """What the dock's entry points need of a station (``station.core.Station`` has it)."""

    @property
    def ledger(self) -> Ledger: ...


@dataclass(frozen=True)
class _Scan:
    """The station code being applied: who scanned it, as what, inside which transaction."""

    ledger: Ledger
    db: sqlite_utils.Database
    code: str
    device: str
    role: Role

    def command(
        self,
        what: str,
        *,
        ok: bool = True,
        lane: int | None = None,
        van: str | None = None,
        tracking_id: str | None = None,
        detail: dict[str, Any] | None = None,
        kind: EventKind = EventKind.COMMAND,
    ) -> Decision:
        """Record the command's event; ``what`` is what the worker reads on the screen."""
        verdict = Verdict(Outcome.COMMAND, kind, tracking_id, lane=lane, van=van, reason=what)
        return self.record(verdict, detail={"ok": ok, **(detail or {})})

    def record(self, verdict: Verdict, detail: dict[str, Any] | None = None) -> Decision:
        return self.ledger.record(
            self.db, verdict, code=self.code, device=self.device, role=str(self.role), detail=detail
        )


def apply_station_code(
    ledger: Ledger, db: sqlite_utils.Database, identity: StationCode, *, code: str, device: str, role: Role
) -> Decision:
    """What a station code scanned by ``device`` (working as ``role``) does; inside the scan's transaction."""
    config = ledger.config
    scan = _Scan(ledger, db, code, device, role)
    if identity.kind in ("van", "lane"):
        van = config.van(identity.value) if identity.kind == "van" else config.van_at_lane(int(identity.value))
        if van is None:
            return scan.command(reasons.NO_SUCH_VAN(van=identity.value), ok=False)
        ledger.bind(db, device, Role.load(van.id))
        return scan.command(
            reasons.NOW_LOADS(van=van.id, lane=van.lane),
            lane=van.lane,
            van=van.id,
            detail={"role": str(Role.load(van.id))},
        )
    command = command_codes.BY_NAME.get(identity.value)
    if command is None:
        return scan.command(reasons.UNKNOWN_COMMAND(command=identity.value), ok=False)
    last_parcel, last_event = ledger.last_scan(db, device)

    if command.name == "SORT":
        ledger.bind(db, device, SORT)
        return scan.command(N_("this scanner sorts again"), detail={"role": str(SORT)})
    if command.exception_reason is not None:
        if last_parcel is None and command.name != "NOLABEL":
            return scan.command(reasons.PARCEL_FIRST(command=command.name.lower()), ok=False)
        verdict = Verdict(
            Outcome.EXCEPTION,
            EventKind.EXCEPTION,
            last_parcel,
            lane=config.exception_lane,
            reason=command.exception_reason,
        )
        decision = scan.record(verdict, detail={"command": command.name})
        ledger.remember(db, device, last_parcel, decision.event_id)
        return decision
    if command.name == "UNDO":
        return _undo(scan, last_event)
    if command.name == "REPRINT":
        return _reprint(scan, last_parcel)
    if command.name in ("CLOSE", "REOPEN"):
        van = None if role.van_id is None else config.van(role.van_id)
        if van is None:
            return scan.command(reasons.VAN_CODE_FIRST(command=command.name.lower()), ok=False)
        if command.name == "REOPEN":
            return _reopen_van(scan, van)
        if not ledger.van_closed(db, van.id) and not _close_confirmed(scan, van):
            not_loaded = ledger.still_to_load(db, van.id)
            return scan.command(
                reasons.CLOSE_NOT_ALL_LOADED(n=not_loaded, van=van.id)
                if not_loaded
                else reasons.CLOSE_ALL_LOADED(van=van.id),
                lane=van.lane,
                van=van.id,
                detail={"close_pending": van.id, "not_loaded": not_loaded},
            )
        return _close_van(scan, van)
    raise AssertionError(f"command {command.name} has no action")  # the catalogue and this function disagree


# One stray CLOSE must not send a van away: the second one, within this, closes it.
CLOSE_CONFIRM_S = 10.0


def _close_confirmed(scan: _Scan, van: Van) -> bool:
    """Was this device's previous scan a first CLOSE of ``van``, less than CLOSE_CONFIRM_S ago?"""
    row = scan.db.conn.execute(
        f"SELECT occurred_at, detail FROM events WHERE device = ? AND {COUNTS} ORDER BY seq DESC LIMIT 1",
        [scan.device],
    ).fetchone()
    if row is None or not row[1] or json.loads(row[1]).get("close_pending") != van.id:
        return False
    return (scan.ledger.clock.now() - datetime.fromisoformat(row[0])).total_seconds() <= CLOSE_CONFIRM_S


def _reopen_van(scan: _Scan, van: Van) -> Decision:
    """Open a closed van again: its close and its parcels' departures no longer count."""
    db = scan.db
    row = db.conn.execute("SELECT closed_event_id FROM van_state WHERE van_id = ?", [van.id]).fetchone()
    if row is None:
        return scan.command(reasons.NOTHING_TO_REOPEN(van=van.id), ok=False, lane=van.lane, van=van.id)
    departed = [
        r[0]
        for r in db.conn.execute(
            f"SELECT event_id FROM events WHERE kind = '{EventKind.DEPARTED}' AND van_id = ? AND {COUNTS}", [van.id]
        )
    ]
    decision = scan.command(
        reasons.REOPENED(van=van.id, n=len(departed), lane=van.lane),
        lane=van.lane,
        van=van.id,
        detail={"reopened": van.id},
    )
    for event_id in [row[0], *departed]:
        if event_id:
            scan.ledger.mark_undone(db, event_id, by=decision.event_id)
    db.conn.execute("DELETE FROM van_state WHERE van_id = ?", [van.id])
    scan.ledger.remember(db, scan.device, None, None)
    return decision


def reopen_van(station: DockStation, van_id: str, *, device: str = "lead") -> Decision:
    ledger = station.ledger
    van = ledger.config.van(van_id)
    if van is None:
        raise StationError(f"no van {van_id!r} among today's vans")
    with ledger.store.write() as db:
        return _reopen_van(_Scan(ledger, db, f"reopen:{van.id}", device, Role.load(van.id)), van)


def _undo(scan: _Scan, last_event: str | None) -> Decision:
    if last_event is not None:
        closed = scan.db.conn.execute("SELECT van_id FROM van_state WHERE closed_event_id = ?", [last_event]).fetchone()
        van = None if closed is None else scan.ledger.config.van(closed[0])
        if van is not None:  # UNDO right after a close reopens the van
            return _reopen_van(scan, van)
    row = (
        None
        if last_event is None
        else scan.db.conn.execute(
            "SELECT kind, tracking_id, undone_by FROM events WHERE event_id = ?", [last_event]
        ).fetchone()
    )
    if last_event is None or row is None or row[2] is not None or row[0] in ("departed", "command", "undone"):
        return scan.command(N_("nothing to undo"), ok=False)
    kind, tracking_id, _ = row
    decision = scan.command(
        reasons.UNDONE_PARCEL(kind=kind, parcel=tracking_id) if tracking_id else reasons.UNDONE(kind=kind),
        tracking_id=tracking_id,
        kind=EventKind.UNDONE,
        detail={"undone_event_id": last_event},
    )
    scan.ledger.mark_undone(scan.db, last_event, by=decision.event_id)
    scan.ledger.remember(scan.db, scan.device, None, None)  # one step back, not a chain
    return decision


def _reprint(scan: _Scan, tracking_id: str | None) -> Decision:
    if tracking_id is None:
        return scan.command(N_("scan the parcel first, then reprint"), ok=False)
    facts = scan.ledger.parcel_facts(scan.db, tracking_id)
    if facts.van_id is None or facts.lane is None or facts.stop is None:
        return scan.command(N_("no sort label: the parcel is not planned"), tracking_id=tracking_id, ok=False)
    decision = scan.command(
        N_("sort label printed again"),
        tracking_id=tracking_id,
        lane=facts.lane,
        van=facts.van_id,
        kind=EventKind.REPRINTED,
    )
    scan.ledger.queue_sort_label(scan.db, facts, event_id=decision.event_id)
    return decision


def _close_van(scan: _Scan, van: Van) -> Decision:
    """Record "departed" for each parcel loaded in ``van`` and mark it closed (inside a transaction)."""
    ledger, db = scan.ledger, scan.db
    if ledger.van_closed(db, van.id):
        return scan.command(reasons.ALREADY_CLOSED(van=van.id), ok=False, lane=van.lane, van=van.id)
    loaded = [
        r[0]
        for r in db.conn.execute(
            f"SELECT DISTINCT tracking_id FROM events WHERE van_id = ? AND {IS_LOADED} ORDER BY stop DESC, tracking_id",
            [van.id],
        )
    ]
    not_loaded = ledger.still_to_load(db, van.id)
    decision = scan.command(
        reasons.CLOSED(van=van.id, departed=len(loaded), not_loaded=not_loaded),
        lane=van.lane,
        van=van.id,
        detail={"departed": len(loaded), "not_loaded": not_loaded},
    )
    for tracking_id in loaded:
        facts = ledger.parcel_facts(db, tracking_id)
        scan.record(
            Verdict(
                Outcome.COMMAND,
                EventKind.DEPARTED,
                tracking_id,
                van.lane,
                van.id,
                facts.stop,
                reason=reasons.DEPARTED(van=van.id),
            )
        )
    db.conn.execute(
        "INSERT INTO van_state (van_id, closed_at, closed_event_id) VALUES (?, ?, ?)",
        [van.id, ledger.clock.now().isoformat(), decision.event_id],
    )
    printing.enqueue(db, printing.LOAD_LIST, load_list_zpl(ledger, db, van), event_id=decision.event_id)
    ledger.remember(db, scan.device, None, decision.event_id)  # UNDO next reopens it
    return decision


def close_van(station: DockStation, van_id: str, *, device: str = "lead") -> Decision:
    ledger = station.ledger
    van = ledger.config.van(van_id)
    if van is None:
        raise StationError(f"no van {van_id!r} among today's vans")
    with ledger.store.write() as db:
        return _close_van(_Scan(ledger, db, f"close:{van.id}", device, Role.load(van.id)), van)


def load_list_zpl(ledger: Ledger, db: sqlite_utils.Database, van: Van) -> bytes:
    """The van's departure list: every planned stop, loaded or not, for the driver and the bay."""
    rows = db.conn.execute(
        "SELECT pp.stop, pp.tracking_id, p.address, EXISTS(SELECT 1 FROM events e WHERE e.tracking_id = "
        f"pp.tracking_id AND e.{IS_LOADED}) FROM plan_parcels pp JOIN parcels p "
        "USING (tracking_id) WHERE pp.van_id = ? AND p.cancelled = 0 ORDER BY pp.stop, pp.tracking_id",
        [van.id],
    ).fetchall()
    lines = [labels.LoadListLine(stop, tid, address, bool(loaded)) for stop, tid, address, loaded in rows]
    return labels.load_list(
        van=van.id, lane=van.lane, day=ledger.day(db), lines=lines, language=ledger.config.rules.language
    )


# ---- the hub lead's exceptions ------------------------------------------------------------


@dataclass(frozen=True)
class OpenException:
    tracking_id: str
    reason: str
    at: str
    event_id: str
    van: str | None  # the planned van, if any


def open_exceptions(station: DockStation) -> list[OpenException]:
    """Parcels whose latest state is an exception the hub lead has not dealt with yet."""
    rows = station.ledger.store.query(
        f"""SELECT e.tracking_id, e.reason, e.occurred_at, e.event_id, pp.van_id FROM events e
           LEFT JOIN plan_parcels pp ON pp.tracking_id = e.tracking_id
           WHERE e.kind = 'exception' AND e.tracking_id IS NOT NULL AND e.{COUNTS}
             AND e.seq = (SELECT max(x.seq) FROM events x WHERE x.tracking_id = e.tracking_id
                          AND x.{COUNTS}
                          AND x.kind IN ('sorted', 'loaded', 'exception', 'resolved', 'returned', 'departed'))
           ORDER BY e.seq"""
    )
    return [
        OpenException(r["tracking_id"], r["reason"] or "", r["occurred_at"], r["event_id"], r["van_id"]) for r in rows
    ]


RESOLUTIONS = ("relabel", "reassign", "return")


def resolve_exception(
    station: DockStation, tracking_id: str, action: str, *, van_id: str | None = None, device: str = "lead"
) -> Decision:
    """Deal with a parcel in exception: re-label it, reassign it to a van, or return it to its sender."""
    if action not in RESOLUTIONS:
        raise StationError(f"unknown action {action!r}: use one of {', '.join(RESOLUTIONS)}")
    ledger = station.ledger
    config = ledger.config
    with ledger.store.write() as db:
        if db.conn.execute("SELECT 1 FROM parcels WHERE tracking_id = ?", [tracking_id]).fetchone() is None:
            raise StationError(reasons.NOT_ON_MANIFEST(parcel=tracking_id))
        code = f"lead:{action}"
        role = "lead"
        if action == "return":
            verdict = Verdict(
                Outcome.COMMAND,
                EventKind.RETURNED,
                tracking_id,
                lane=config.exception_lane,
                reason=N_("return to sender"),
            )
            return ledger.record(db, verdict, code=code, device=device, role=role)
        if action == "reassign":
            van = config.van(van_id or "")
            if van is None:
                named = f"got {van_id!r}" if van_id else "none was given"
                raise StationError(f"reassign needs one of today's vans, {named}")
            if ledger.van_closed(db, van.id):
                raise StationError(reasons.REASSIGN_TO_CLOSED(van=van.id))
            (last_stop,) = db.conn.execute(
                "SELECT COALESCE(max(stop), 0) FROM plan_parcels WHERE van_id = ?", [van.id]
            ).fetchone()
            plan_id = db.conn.execute("SELECT max(id) FROM plans").fetchone()[0] or 0
            # At the end of the route until the next plan puts it in order.
            db.conn.execute(
                "INSERT INTO plan_parcels (tracking_id, plan_id, van_id, lane, stop) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(tracking_id) DO UPDATE SET van_id = excluded.van_id, lane = excluded.lane, "
                "stop = excluded.stop",
                [tracking_id, plan_id, van.id, van.lane, last_stop + 1],
            )
            db.conn.execute("DELETE FROM plan_unplanned WHERE tracking_id = ?", [tracking_id])
            reason = reasons.REASSIGNED(van=van.id, lane=van.lane)
        else:
            reason = N_("re-labelled")
        facts = ledger.parcel_facts(db, tracking_id)
        if facts.van_id is None or facts.lane is None or facts.stop is None:
            raise StationError(reasons.NOT_PLANNED_RELABEL(parcel=tracking_id))
        verdict = Verdict(
            Outcome.COMMAND, EventKind.RESOLVED, tracking_id, facts.lane, facts.van_id, facts.stop, reason=reason
        )
        decision = ledger.record(db, verdict, code=code, device=device, role=role)
        ledger.queue_sort_label(db, facts, event_id=decision.event_id)
        return decision


def manifest_changes(station: DockStation, limit: int = 10) -> list[dict[str, Any]]:
    rows = station.ledger.store.query("SELECT * FROM manifest_changes ORDER BY id DESC LIMIT ?", (limit,))
    for r in rows:
        for key in ("added", "cancelled", "pull_from_lanes"):
            r[key] = json.loads(r[key] or "[]")
    return rows
