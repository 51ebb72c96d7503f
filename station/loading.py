"""Does this parcel go into this van: the load decision at a bay, in one place.

Pure functions, like ``station.sorting``: the core gathers what the store knows about
the parcel and the van in the scan's transaction, :func:`decide_load` says what it means.
A parcel that belongs to another van is a mis-load: loud, named, and not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.barcodes import Identity, ParcelCode, Unreadable
from station.i18n import N_  # the reasons stay English on the wire; the screen translates them
from station.model import EventKind, Outcome
from station.reasons import NOT_IN_PLAN, NOT_PLANNED_LOAD, VAN_DEPARTED, WRONG_VAN
from station.sorting import NO_PLAN_REASON, ParcelFacts, Verdict

# sorting.UNKNOWN_REASON, said for a loader.
UNKNOWN_LOAD_REASON = N_("unknown parcel: not in today's manifest, put it in the exception lane; do not load")


@dataclass(frozen=True)
class VanFacts:
    van_id: str
    lane: int
    closed: bool
    already_loaded: bool  # this parcel, in this van
    remaining_after: int  # the van's planned parcels still to load once this one is in


def decide_load(identity: Identity, facts: ParcelFacts | None, van: VanFacts, exception_lane: int) -> Verdict:
    if isinstance(identity, Unreadable):
        return Verdict(Outcome.INVALID, EventKind.EXCEPTION, lane=exception_lane, reason=identity.reason)
    assert isinstance(identity, ParcelCode)
    if facts is None:
        outcome = Outcome.INVALID if identity.problem else Outcome.UNKNOWN
        return Verdict(
            outcome,
            EventKind.EXCEPTION,
            lane=exception_lane,
            reason=identity.problem or UNKNOWN_LOAD_REASON,
        )
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
        why = NO_PLAN_REASON if not facts.plan_exists else (facts.unplanned_reason or NOT_IN_PLAN)
        return Verdict(
            Outcome.NO_PLAN,
            EventKind.ARRIVED,
            tid,
            lane=exception_lane,
            reason=NOT_PLANNED_LOAD(why=why),
        )
    if facts.van_id != van.van_id or van.closed:
        # Another van's parcel, or a van that has left: either way it must not go in.
        wrong = facts.van_id != van.van_id
        return Verdict(
            Outcome.MISLOAD,
            EventKind.MISLOAD,
            tid,
            lane=van.lane,
            van=van.van_id,
            stop=facts.stop,
            reason=WRONG_VAN(van=facts.van_id, lane=facts.lane) if wrong else VAN_DEPARTED(van=van.van_id),
            right_van=facts.van_id,
            right_lane=facts.lane,
        )
    if van.already_loaded:
        return Verdict(
            Outcome.REPEAT,
            EventKind.REPEAT,
            tid,
            van.lane,
            van.van_id,
            facts.stop,
            reason=N_("already loaded in this van"),
            remaining=van.remaining_after,
        )
    return Verdict(
        Outcome.LOADED, EventKind.LOADED, tid, van.lane, van.van_id, facts.stop, remaining=van.remaining_after
    )
