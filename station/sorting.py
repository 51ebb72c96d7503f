"""What lane does this parcel go to: the sort decision, in one place.

Pure functions over what the store knows about one parcel; no I/O. The core looks the
parcel up, calls :func:`decide_sort`, and commits the event the decision describes.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.barcodes import Identity, ParcelCode, StationCode, Unreadable
from station.i18n import N_  # the reasons stay English on the wire; the screen translates them
from station.model import EventKind, Outcome
from station.reasons import NOT_IN_PLAN, NOT_PLANNED_SORT, STATION_CODE_SCANNED

NO_PLAN_REASON = N_("no plan yet: ask the hub lead to plan the day")
# The station still works on a day the hub's date has moved past (no manifest for today yet):
# a sort scan must not send today's parcel to a lane of yesterday's plan.
NO_MANIFEST_REASON = N_("no manifest for today yet: keep the parcel and tell the hub lead")
UNKNOWN_REASON = N_("unknown parcel: not in today's manifest, put it in the exception lane")


@dataclass(frozen=True)
class ParcelFacts:
    """What the store knows about the scanned parcel, gathered in the scan's transaction."""

    tracking_id: str
    cancelled: bool
    van_id: str | None  # from the active plan
    lane: int | None
    stop: int | None
    plan_exists: bool
    unplanned_reason: str | None
    already_sorted: bool


@dataclass(frozen=True)
class Verdict:
    """A decision before it has an event id: what to show, and what to record."""

    outcome: Outcome
    kind: EventKind
    tracking_id: str | None = None
    lane: int | None = None
    van: str | None = None
    stop: int | None = None
    reason: str | None = None
    print_label: bool = False
    remaining: int | None = None  # load scans: the van's parcels still to load
    right_van: str | None = None  # mis-loads: where the parcel belongs
    right_lane: int | None = None


def decide_sort(
    identity: Identity, facts: ParcelFacts | None, exception_lane: int, *, day_passed: bool = False
) -> Verdict:
    """The sort scanner's decision for one scan.

    ``day_passed``: the hub's date is later than the station's day (its manifest not here yet).
    """
    if isinstance(identity, Unreadable):
        return Verdict(Outcome.INVALID, EventKind.EXCEPTION, lane=exception_lane, reason=identity.reason)
    if isinstance(identity, StationCode):
        return Verdict(
            Outcome.COMMAND, EventKind.COMMAND, reason=STATION_CODE_SCANNED(kind=identity.kind, value=identity.value)
        )
    assert isinstance(identity, ParcelCode)
    if day_passed and not identity.problem:
        if facts is None:
            return Verdict(Outcome.NO_PLAN, EventKind.EXCEPTION, reason=NO_MANIFEST_REASON)
        return Verdict(Outcome.NO_PLAN, EventKind.ARRIVED, facts.tracking_id, reason=NO_MANIFEST_REASON)
    if facts is None:
        reason = identity.problem or UNKNOWN_REASON
        outcome = Outcome.INVALID if identity.problem else Outcome.UNKNOWN
        return Verdict(outcome, EventKind.EXCEPTION, lane=exception_lane, reason=reason)
    tid = facts.tracking_id
    if facts.cancelled:
        return Verdict(
            Outcome.CANCELLED,
            EventKind.CANCELLED,
            tid,
            lane=exception_lane,
            reason=N_("cancelled: do not load, put it in the exception lane"),
        )
    if facts.van_id is None:
        if not facts.plan_exists:
            return Verdict(Outcome.NO_PLAN, EventKind.ARRIVED, tid, reason=NO_PLAN_REASON)
        return Verdict(
            Outcome.NO_PLAN,
            EventKind.ARRIVED,
            tid,
            lane=exception_lane,
            reason=NOT_PLANNED_SORT(why=facts.unplanned_reason or NOT_IN_PLAN),
        )
    if facts.already_sorted:
        return Verdict(
            Outcome.REPEAT,
            EventKind.REPEAT,
            tid,
            facts.lane,
            facts.van_id,
            facts.stop,
            reason=N_("already sorted: same lane again"),
        )
    return Verdict(Outcome.SORTED, EventKind.SORTED, tid, facts.lane, facts.van_id, facts.stop, print_label=True)
