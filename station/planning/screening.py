"""Which parcels and vans can enter the plan at all, and the reason for each that cannot.

Everything a planner can know before searching lives here: missing or absurd coordinates, a
parcel farther than the hub's area, heavier than any van, a window that no van can reach, a van
with zero capacity or an empty shift. Reasons are written for a hub lead and name the parcel's
address or the van, so the manifest can be fixed rather than guessed at.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import time

from station.model import Parcel, Van
from station.planning.geo import haversine_km
from station.planning.problem import PlanningProblem

log = logging.getLogger(__name__)


def seconds_of(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def hhmm(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


@dataclass(frozen=True)
class Screened:
    vans: tuple[Van, ...]  # the vans that can carry parcels today
    parcels: tuple[Parcel, ...]  # the parcels that go to the search
    unplanned: dict[str, str]  # tracking id -> reason, decided before searching
    van_notes: tuple[str, ...]  # why some vans were left out (also logged)


def usable_vans(vans: tuple[Van, ...]) -> tuple[tuple[Van, ...], tuple[str, ...]]:
    ok: list[Van] = []
    notes: list[str] = []
    for van in vans:
        if van.capacity <= 0 or (van.capacity_kg is not None and van.capacity_kg <= 0):
            notes.append(f"van {van.id} (lane {van.lane}) has zero capacity and was left out of the plan")
        elif seconds_of(van.shift_end) <= seconds_of(van.shift_start):
            notes.append(f"van {van.id} (lane {van.lane}) has a shift that ends before it starts; left out")
        else:
            ok.append(van)
    for note in notes:
        log.warning(note)
    return tuple(ok), tuple(notes)


def _has_coordinates(p: Parcel) -> bool:
    return (
        p.lat is not None
        and p.lon is not None
        and math.isfinite(p.lat)
        and math.isfinite(p.lon)
        and -90 <= p.lat <= 90
        and -180 <= p.lon <= 180
        and not (p.lat == 0 and p.lon == 0)  # (0, 0) is a geocoder's "not found", not an address
    )


def screen(problem: PlanningProblem) -> Screened:
    """Split the manifest into parcels worth searching for and parcels with a reason they cannot go."""
    settings = problem.settings
    vans, notes = usable_vans(problem.vans)
    van_ids = {v.id for v in problem.vans}
    usable_ids = {v.id for v in vans}
    heaviest = max((v.capacity_kg for v in vans if v.capacity_kg is not None), default=None)
    unlimited_kg = any(v.capacity_kg is None for v in vans)
    speed_ms = settings.speed_kmh / 3.6
    earliest_start = min((seconds_of(v.shift_start) for v in vans), default=0)
    latest_end = max((seconds_of(v.shift_end) for v in vans), default=0)

    keep: list[Parcel] = []
    unplanned: dict[str, str] = {}
    seen: set[str] = set()
    for p in problem.parcels:
        where = f"'{p.address}, {p.postal_code}'"
        reason = None
        locked_van = problem.locked.get(p.tracking_id)
        if p.tracking_id in seen:
            log.warning("parcel %s appears twice in the manifest; planned once", p.tracking_id)
            continue
        seen.add(p.tracking_id)
        if not _has_coordinates(p):
            reason = f"no usable coordinates for {where}: geocode the address or deliver it by hand"
        elif locked_van is not None and locked_van not in van_ids:
            reason = f"locked to van {locked_van}, which is not among today's vans"
        elif locked_van is not None and locked_van not in usable_ids:
            reason = f"locked to van {locked_van}, which cannot take parcels today (zero capacity or no shift)"
        else:
            assert p.lat is not None and p.lon is not None
            km = haversine_km(problem.hub.lat, problem.hub.lon, p.lat, p.lon)
            drive_s = km * settings.detour_factor * 1000 / speed_ms
            if km > settings.max_area_km:
                reason = (
                    f"{where} is {km:.0f} km from hub {problem.hub.name}, outside its "
                    f"{settings.max_area_km:.0f} km area: check the coordinates"
                )
            elif not unlimited_kg and heaviest is not None and p.weight_kg > heaviest:
                reason = f"{p.weight_kg:g} kg is over every van's capacity (largest {heaviest:g} kg)"
            elif p.window_start is not None and p.window_end is not None and p.window_end < p.window_start:
                reason = f"delivery window {p.window_start:%H:%M}-{p.window_end:%H:%M} ends before it starts"
            elif p.window_end is not None and earliest_start + drive_s > seconds_of(p.window_end):
                reason = (
                    f"time window cannot be met: window ends {p.window_end:%H:%M}, a van leaving at "
                    f"{hhmm(earliest_start)} arrives {hhmm(earliest_start + drive_s)} at the earliest"
                )
            elif p.window_start is not None and seconds_of(p.window_start) + drive_s > latest_end:
                reason = (
                    f"time window cannot be met: window opens {p.window_start:%H:%M}, too late to "
                    f"deliver and return before the last shift ends at {hhmm(latest_end)}"
                )
            elif 2 * drive_s > latest_end - earliest_start:
                reason = f"{where} is too far to drive there and back within any van's shift"
        if reason is None:
            keep.append(p)
        else:
            unplanned[p.tracking_id] = reason
    return Screened(vans=vans, parcels=tuple(keep), unplanned=unplanned, van_notes=notes)
