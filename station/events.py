"""The scan event: its one definition, its database row and its wire form.

Owns the fields of a scan event (a uuid, station, operator, device, UTC time,
whether the clock was synchronised, the raw barcode and the decision), how they are
stored (a row of the ``events`` table: the van is ``van_id``, ``clock_synced`` an
integer, ``detail`` JSON text) and how they travel (the sync payload of
docs/sync-protocol.md: the van is ``van``, ``clock_synced`` a boolean, plus the hub and
the sorting day). The core writes events with it, the outbox holds its wire form, the
EPCIS mapping and the server read that form, and the docs test checks the documents
against :data:`WIRE_FIELDS`. The event kinds themselves are :class:`station.model.EventKind`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station.model import EventKind, Outcome

# The events table's columns, in the order the scan path inserts them.
ROW_COLUMNS = (
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

# The wire form's fields (one event of ``POST /v1/events``), in the documents' order.
WIRE_FIELDS = (
    "event_id",
    "seq",
    "station_id",
    "hub",
    "day",
    "kind",
    "outcome",
    "occurred_at",
    "clock_synced",
    "operator",
    "device",
    "role",
    "code",
    "tracking_id",
    "van",
    "lane",
    "stop",
    "reason",
)
# What a server must find in every event (the rest may be missing on older stations).
# How a station writes an event id (str(uuid4())): matched first, as parsing a uuid costs more
# than the rest of the event's checks on a server taking thousands of events a second.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REQUIRED_WIRE_FIELDS = ("event_id", "seq", "station_id", "kind", "occurred_at", "clock_synced")
EVENT_KINDS = frozenset(kind.value for kind in EventKind)

_TEXT = (str,)
_NULLABLE_TEXT = (str, type(None))
_NULLABLE_INT = (int, type(None))
# The type each optional wire field must have when present (required ones are checked one by one).
_WIRE_TYPES: dict[str, tuple[type, ...]] = {
    "hub": _TEXT,
    "day": _TEXT,
    "outcome": _TEXT,
    "operator": _TEXT,
    "device": _TEXT,
    "role": _TEXT,
    "code": _NULLABLE_TEXT,
    "tracking_id": _NULLABLE_TEXT,
    "van": _NULLABLE_TEXT,
    "lane": _NULLABLE_INT,
    "stop": _NULLABLE_INT,
    "reason": _NULLABLE_TEXT,
}


@dataclass(frozen=True)
class ScanEvent:
    """What happened at this station, as committed with the scan (never deleted; undone is a mark)."""

    event_id: str
    seq: int  # per station: orders its events even when its clock was wrong
    kind: EventKind
    outcome: Outcome
    station_id: str
    operator: str
    device: str
    role: str  # "sort", "load:<van>", or "lead" for the hub lead's actions
    occurred_at: str  # ISO-8601, UTC with its offset
    clock_synced: bool
    code: str | None
    tracking_id: str | None = None
    van: str | None = None
    lane: int | None = None
    stop: int | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None  # kept at the station, not sent

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def to_row(self) -> dict[str, Any]:
        """The ``events`` table's row (keys :data:`ROW_COLUMNS`)."""
        return {
            "event_id": self.event_id,
            "seq": self.seq,
            "kind": self.kind.value,
            "outcome": self.outcome.value,
            "station_id": self.station_id,
            "operator": self.operator,
            "device": self.device,
            "role": self.role,
            "occurred_at": self.occurred_at,
            "clock_synced": int(self.clock_synced),
            "code": self.code,
            "tracking_id": self.tracking_id,
            "van_id": self.van,
            "lane": self.lane,
            "stop": self.stop,
            "reason": self.reason,
            "detail": json.dumps(self.detail) if self.detail else None,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ScanEvent:
        detail = row.get("detail")
        return cls(
            event_id=row["event_id"],
            seq=row["seq"],
            kind=EventKind(row["kind"]),
            outcome=Outcome(row["outcome"]),
            station_id=row["station_id"],
            operator=row["operator"],
            device=row["device"],
            role=row["role"],
            occurred_at=row["occurred_at"],
            clock_synced=bool(row["clock_synced"]),
            code=row["code"],
            tracking_id=row["tracking_id"],
            van=row["van_id"],
            lane=row["lane"],
            stop=row["stop"],
            reason=row["reason"],
            detail=json.loads(detail) if detail else None,
        )

    def to_wire(self, *, hub: str, day: str) -> dict[str, Any]:
        """The sync payload (keys :data:`WIRE_FIELDS`): what the outbox stores and the server receives."""
        return {
            "event_id": self.event_id,
            "seq": self.seq,
            "station_id": self.station_id,
            "hub": hub,
            "day": day,
            "kind": self.kind.value,
            "outcome": self.outcome.value,
            "occurred_at": self.occurred_at,
            "clock_synced": self.clock_synced,
            "operator": self.operator,
            "device": self.device,
            "role": self.role,
            "code": self.code,
            "tracking_id": self.tracking_id,
            "van": self.van,
            "lane": self.lane,
            "stop": self.stop,
            "reason": self.reason,
        }


def wire_problem(event: Any, *, station_id: str | None = None) -> str | None:
    """Why ``event`` is not an acceptable wire event, or None; ``station_id``: the sender's.

    The one check of the wire form against this module's definition and
    :class:`~station.model.EventKind`, for the server and anyone else receiving events.
    """
    if not isinstance(event, dict):
        return "event is not an object"
    missing = [name for name in REQUIRED_WIRE_FIELDS if name not in event]
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    event_id = event["event_id"]
    if not (isinstance(event_id, str) and CANONICAL_UUID.fullmatch(event_id)):
        try:
            uuid.UUID(str(event_id))
        except ValueError:
            return "event_id is not a uuid"
    seq = event["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "seq is not a non-negative integer"
    if not isinstance(event["station_id"], str):
        return "station_id is not text"
    if station_id is not None and event["station_id"] != station_id:
        return f"station_id {event['station_id']!r} is not the authenticated station"
    if event["kind"] not in EVENT_KINDS:
        return f"unknown kind {event['kind']!r}"
    if not isinstance(event["clock_synced"], bool):
        return "clock_synced is not a boolean"
    try:
        when = datetime.fromisoformat(str(event["occurred_at"]))
    except ValueError:
        return "occurred_at is not an ISO-8601 time"
    if when.tzinfo is None:
        return "occurred_at has no UTC offset"
    for name, types in _WIRE_TYPES.items():
        if name in event and (not isinstance(event[name], types) or isinstance(event[name], bool)):
            expected = "an integer" if int in types else "text"
            return f"{name} is not {expected}" + (" or null" if type(None) in types else "")
    return None
