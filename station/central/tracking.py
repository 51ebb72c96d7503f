"""A parcel's tracking status and timeline, derived from what the central server knows.

Owns the one rule "what does the sender or receiver see": the manifest says the parcel
exists (``info_received``), the station's scan events move it through the hub (``at_hub``,
``loaded``, ``out_for_delivery``, ``exception``, ``returned_to_sender``) and the drivers'
deliveries end it (``delivered``, ``failed_attempt``). Statuses are AfterShip's and
Karrio's names, lower-case. Pure functions: the storage reads the rows, this module
decides; nothing here touches a database or the network.

Time: a station without a synchronised clock (a Pi has no RTC) orders its events by
``seq``; such an event's time is corrected from the station's neighbouring synchronised
events (interpolated by ``seq`` between the one before and the one after).
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    INFO_RECEIVED = "info_received"
    AT_HUB = "at_hub"
    LOADED = "loaded"
    OUT_FOR_DELIVERY = "out_for_delivery"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    FAILED_ATTEMPT = "failed_attempt"
    DELIVERED = "delivered"


# The station's exception reasons (station.command_codes) in a receiver's words; the key is
# what the page translates, the text is the API's English description.
EXCEPTION_WORDS: dict[str, tuple[str, str]] = {
    "damaged": ("damaged", "The parcel was damaged; the hub is dealing with it."),
    "address unreadable": ("address_unreadable", "The address on the parcel could not be read."),
    "refused": ("refused", "The parcel was refused."),
    "missing label": ("missing_label", "The parcel's label is missing; the hub is labelling it again."),
}
HELD = ("held", "The parcel is held at the hub for a check.")
CANCELLED = ("cancelled", "The sender cancelled this shipment.")

DESCRIPTIONS: dict[Status, str] = {
    Status.INFO_RECEIVED: "The sender has told us about the parcel.",
    Status.AT_HUB: "The parcel is at the hub.",
    Status.LOADED: "The parcel is loaded in the delivery van.",
    Status.OUT_FOR_DELIVERY: "The parcel is out for delivery.",
    Status.RETURNED_TO_SENDER: "The parcel is on its way back to the sender.",
    Status.FAILED_ATTEMPT: "We tried to deliver the parcel.",
    Status.DELIVERED: "The parcel was delivered.",
}

# Station event kinds that change nothing a receiver should see (a repeat scan, a label
# printed again, a command, a parcel put in the wrong van and taken out again).
_SILENT_KINDS = frozenset({"repeat", "reprinted", "command", "misload"})
_KIND_STATUS = {
    "arrived": Status.AT_HUB,
    "sorted": Status.AT_HUB,
    "resolved": Status.AT_HUB,
    "loaded": Status.LOADED,
    "departed": Status.OUT_FOR_DELIVERY,
    "returned": Status.RETURNED_TO_SENDER,
}


@dataclass(frozen=True)
class StationEvent:
    """The fields of a pushed scan event that tracking reads (docs/sync-protocol.md)."""

    event_id: str
    station_id: str
    seq: int
    kind: str
    occurred_at: datetime
    clock_synced: bool
    tracking_id: str | None
    hub: str | None = None
    device: str | None = None
    reason: str | None = None
    undone_event_id: str | None = None

    @classmethod
    def from_payload(cls, ev: Mapping[str, Any]) -> StationEvent:
        return cls(
            event_id=str(ev["event_id"]),
            station_id=str(ev["station_id"]),
            seq=int(ev["seq"]),
            kind=str(ev["kind"]),
            occurred_at=datetime.fromisoformat(str(ev["occurred_at"])),
            clock_synced=bool(ev["clock_synced"]),
            tracking_id=ev.get("tracking_id"),
            hub=ev.get("hub"),
            device=ev.get("device"),
            reason=ev.get("reason"),
            undone_event_id=ev.get("undone_event_id"),
        )


@dataclass(frozen=True)
class Delivery:
    """A driver's proof of delivery (or of a failed attempt)."""

    delivery_id: str
    tracking_id: str
    outcome: str  # "delivered" | "failed_attempt"
    occurred_at: datetime
    reason: str | None = None
    received_by: str | None = None
    lat: float | None = None
    lon: float | None = None
    photo_sha256: str | None = None
    driver_id: str | None = None

    def public(self) -> dict[str, Any]:
        """What the tracking API shows (the photo only as a flag: it is shown on the page alone)."""
        return {
            "delivery_id": self.delivery_id,
            "outcome": self.outcome,
            "occurred_at": self.occurred_at.isoformat(),
            "reason": self.reason,
            "received_by": self.received_by,
            "has_photo": self.photo_sha256 is not None,
        }


@dataclass(frozen=True)
class Listing:
    """The parcel as a manifest listed it: first seen at ``listed_at``."""

    tracking_id: str
    postal_code: str
    hub: str | None
    listed_at: datetime


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: a status change. ``key`` names its source (an event id,
    a delivery id, or the manifest) and stays the same however often the timeline is derived."""

    key: str
    status: Status
    time: datetime
    place: str | None
    description: str
    reason: str | None = None  # a key the page translates (exception reasons)
    detail: str | None = None  # free text from a driver (failed attempt reason, who received it)
    approximate: bool = False  # the station's clock was not synchronised: corrected time

    def public(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "time": self.time.isoformat(),
            "place": self.place,
            "description": self.description,
        }


@dataclass(frozen=True)
class Tracking:
    tracking_id: str
    status: Status
    events: tuple[Entry, ...]  # oldest first
    delivery: Delivery | None = None

    def public(self) -> dict[str, Any]:
        """The tracking API's answer: newest event first."""
        return {
            "tracking_id": self.tracking_id,
            "status": self.status.value,
            "events": [e.public() for e in reversed(self.events)],
            "delivery": self.delivery.public() if self.delivery else None,
        }


@dataclass
class Anchors:
    """Synchronised events of each station as (seq, time), sorted by seq: enough to correct
    the time of that station's unsynchronised events (the storage passes the neighbours only)."""

    by_station: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)

    def add(self, station_id: str, seq: int, when: datetime) -> None:
        points = self.by_station.setdefault(station_id, [])
        points.append((seq, when))
        points.sort()

    def correct(self, station_id: str, seq: int, when: datetime) -> datetime:
        points = self.by_station.get(station_id, [])
        i = bisect_left(points, (seq,))
        before = points[i - 1] if i > 0 else None
        after = points[i] if i < len(points) else None
        if after is not None and after[0] == seq:
            return after[1]
        if before is not None and after is not None:
            share = (seq - before[0]) / (after[0] - before[0])
            return before[1] + (after[1] - before[1]) * share
        if before is not None:
            return before[1]
        if after is not None:
            return after[1]
        return when  # nothing synchronised to go by: the station's own clock


def corrected_time(ev: StationEvent, anchors: Anchors) -> tuple[datetime, bool]:
    if ev.clock_synced:
        return ev.occurred_at, False
    return anchors.correct(ev.station_id, ev.seq, ev.occurred_at), True


def _undo_target(undo: StationEvent, earlier: Sequence[StationEvent], undone: set[str]) -> str | None:
    """The event an ``undone`` event takes back.

    Named by ``undone_event_id`` when the station sends it; otherwise the undo's own words
    ("undone: sorted T1") and the rule of the UNDO command (the same device's last event
    on that parcel, one step back, never an undo) decide."""
    if undo.undone_event_id:
        return undo.undone_event_id
    kind = None
    if undo.reason and undo.reason.startswith("undone: "):
        kind = undo.reason.removeprefix("undone: ").split(" ", 1)[0]
    for ev in reversed(earlier):
        if ev.station_id != undo.station_id or ev.seq >= undo.seq or ev.event_id in undone:
            continue
        if ev.kind == "undone" or (undo.device is not None and ev.device != undo.device):
            continue
        if kind is None or ev.kind == kind:
            return ev.event_id
    return None


def _station_entry(ev: StationEvent, when: datetime, approximate: bool) -> Entry | None:
    if ev.kind in _SILENT_KINDS:
        return None
    place = ev.hub
    if ev.kind in ("exception", "cancelled"):
        reason, text = (
            CANCELLED if ev.kind == "cancelled" else EXCEPTION_WORDS.get((ev.reason or "").strip().lower(), HELD)
        )
        return Entry(ev.event_id, Status.EXCEPTION, when, place, text, reason=reason, approximate=approximate)
    status = _KIND_STATUS.get(ev.kind)
    if status is None:
        return None  # a kind this server does not know yet: shown to nobody rather than guessed
    return Entry(ev.event_id, status, when, place, DESCRIPTIONS[status], approximate=approximate)


def _delivery_entry(d: Delivery) -> Entry:
    status = Status.DELIVERED if d.outcome == "delivered" else Status.FAILED_ATTEMPT
    detail = d.received_by if status is Status.DELIVERED else d.reason
    description = DESCRIPTIONS[status]
    if detail:
        description = f"{description} ({'received by ' if status is Status.DELIVERED else ''}{detail})"
    return Entry(f"delivery:{d.delivery_id}", status, d.occurred_at, None, description, detail=detail)


def derive(
    tracking_id: str,
    listing: Listing | None,
    events: Iterable[StationEvent],
    deliveries: Iterable[Delivery] = (),
    anchors: Anchors | None = None,
) -> Tracking | None:
    """The parcel's status and timeline, or None when the server knows nothing of it."""
    anchors = anchors or Anchors()
    mine = sorted((e for e in events if e.tracking_id == tracking_id), key=lambda e: (e.station_id, e.seq))
    undone: set[str] = set()
    for i, ev in enumerate(mine):
        if ev.kind == "undone" and ev.event_id not in undone:
            target = _undo_target(ev, mine[:i], undone)
            if target is not None:
                undone.add(target)
            undone.add(ev.event_id)

    timed: list[tuple[datetime, int, Entry]] = []
    last_by_station: dict[str, datetime] = {}
    for ev in mine:
        if ev.event_id in undone:
            continue
        when, approximate = corrected_time(ev, anchors)
        # Within one station seq is the truth: a time never goes back along seq.
        previous = last_by_station.get(ev.station_id)
        if previous is not None and when < previous:
            when, approximate = previous, True
        last_by_station[ev.station_id] = when
        entry = _station_entry(ev, when, approximate)
        if entry is not None:
            timed.append((when, 1, entry))
    chosen = sorted(deliveries, key=lambda d: d.occurred_at)
    for d in chosen:
        if d.tracking_id == tracking_id:
            timed.append((d.occurred_at, 2, _delivery_entry(d)))
    if listing is not None:
        first = min([listing.listed_at, *(t for t, _, _ in timed)])
        entry = Entry(
            f"manifest:{tracking_id}",
            Status.INFO_RECEIVED,
            first,
            listing.hub,
            DESCRIPTIONS[Status.INFO_RECEIVED],
        )
        timed.append((first, 0, entry))
    if not timed:
        return None
    # Stable sort: same time -> manifest, then station (already in seq order), then deliveries.
    timed.sort(key=lambda t: (t[0], t[1]))
    timeline: list[Entry] = []
    for _, _, entry in timed:
        if timeline and timeline[-1].status == entry.status and timeline[-1].reason == entry.reason:
            continue  # arrived then sorted: one "at the hub"
        timeline.append(entry)
    delivery = next((d for d in reversed(chosen) if d.tracking_id == tracking_id), None)
    return Tracking(tracking_id, timeline[-1].status, tuple(timeline), delivery)


def changes_to_notify(timeline: Sequence[Entry], last_key: str | None, last_status: str | None) -> list[Entry]:
    """The timeline entries a subscriber has not been told about, oldest first.

    Only changes after the last one told are news; an entry that arrives late but belongs
    before it (a station that synced after the driver delivered) is on the timeline but
    is not a change of status. When the last told entry was undone, the subscriber hears
    the status it went back to, once."""
    keys = [e.key for e in timeline]
    if last_key is None:
        return list(timeline)
    if last_key in keys:
        return list(timeline[keys.index(last_key) + 1 :])
    if timeline and timeline[-1].status.value != last_status:
        return [timeline[-1]]
    return []
