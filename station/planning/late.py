"""Late parcels placed at once: a cheapest feasible insertion into the plan the dock is working to.

A parcel that arrives after the plan was made must get a van and a stop number while the worker
holds it, so this never builds the day's full matrix (0.7 s for 2,000 parcels): it measures the
late parcel against the plan's stops only, joins an existing stop at the same door when that van
has room and time, and otherwise takes the cheapest position in any route that keeps the van's
parcels, kilograms, windows and shift. Nothing already planned moves, so every lock is kept.
A parcel is left unplanned only when no van has room, or none has time, and the reason says which.
The search (``insert_parcels``) then improves the day from this plan.

Travel uses the straight-line estimate of ``PlanningSettings`` (the road matrix, when configured,
is used by the search that follows).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import time as clock_time

import numpy as np

from station.model import Parcel, Plan, Route, Van
from station.planning.geo import EARTH_RADIUS_KM
from station.planning.problem import PlanningProblem
from station.planning.screening import screen, seconds_of
from station.planning.stops import _address_key


@dataclass
class _Stop:
    tracking_ids: list[str]
    lat: float
    lon: float
    count: int
    kg: float
    first: Parcel  # window and address are the first parcel's (a stop shares them)

    @property
    def window(self) -> tuple[int | None, int | None]:
        return _window(self.first)


@dataclass
class _Route:
    van: Van
    stops: list[_Stop] = field(default_factory=list)
    changed: bool = False
    count: int = 0
    kg: float = 0.0


class _Travel:
    def __init__(self, problem: PlanningProblem) -> None:
        self.s = problem.settings
        self.hub = (problem.hub.lat, problem.hub.lon)

    def km(self, lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
        """Estimated road km between points, element-wise (numpy broadcasting)."""
        p1, p2 = np.radians(np.asarray(lat1, dtype=np.float64)), np.radians(np.asarray(lat2, dtype=np.float64))
        dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
        a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * self.s.detour_factor
        return km

    def seconds(self, km: np.ndarray | float) -> np.ndarray:
        return np.rint(np.asarray(km) * 3600 / self.s.speed_kmh)

    def service(self, stop: _Stop) -> int:
        return self.s.service_per_stop_s + self.s.service_per_parcel_s * stop.count


def _points(route: _Route, hub: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    lats = np.array([hub[0], *(s.lat for s in route.stops), hub[0]])
    lons = np.array([hub[1], *(s.lon for s in route.stops), hub[1]])
    return lats, lons


def _schedule(route: _Route, stops: list[_Stop], tr: _Travel) -> tuple[float, float, bool]:
    """(km, minutes, fits) of the van driving ``stops`` in order: windows and the shift end checked."""
    lats = np.array([tr.hub[0], *(s.lat for s in stops), tr.hub[0]])
    lons = np.array([tr.hub[1], *(s.lon for s in stops), tr.hub[1]])
    legs_km = tr.km(lats[:-1], lons[:-1], lats[1:], lons[1:])
    legs_s = tr.seconds(legs_km).tolist()
    start = seconds_of(route.van.shift_start)
    clock = float(start)
    fits = True
    for i, stop in enumerate(stops):
        clock += float(legs_s[i]) + (tr.service(stops[i - 1]) if i else 0)
        early, late = stop.window
        if late is not None and clock > late:
            fits = False
        if early is not None:
            clock = max(clock, float(early))
    clock += float(legs_s[-1]) + (tr.service(stops[-1]) if stops else 0)
    if clock > seconds_of(route.van.shift_end):
        fits = False
    km = float(np.rint(legs_km * 1000).sum()) / 1000
    return km, (clock - start) / 60 if stops else 0.0, fits


def _window(p: Parcel) -> tuple[int | None, int | None]:
    def sec(t: clock_time | None) -> int | None:
        return seconds_of(t) if t is not None else None

    return sec(p.window_start), sec(p.window_end)


def place_late_parcels(problem: PlanningProblem, plan: Plan, new: Sequence[Parcel]) -> Plan:
    """``plan`` with the ``new`` parcels added by cheapest feasible insertion; nothing else moves.

    A parcel already planned is left where it is; one that cannot be placed is in
    ``Plan.unplanned`` with the reason (screening's, or "no van has room" / "no van has time").
    """
    t0 = time.monotonic()
    tr = _Travel(problem)
    planned = {tid for r in plan.routes for stop in r.stops for tid in stop}
    late = [p for p in dict((p.tracking_id, p) for p in new).values() if p.tracking_id not in planned]
    screened = screen(replace(problem, parcels=tuple(late)))
    late_ids = {p.tracking_id for p in late}
    unplanned = {tid: why for tid, why in plan.unplanned.items() if tid not in late_ids}
    unplanned.update(screened.unplanned)
    by_id = {p.tracking_id: p for p in problem.parcels}
    by_id.update((p.tracking_id, p) for p in late)
    usable = {v.id for v in screened.vans}
    routes: dict[str, _Route] = {v.id: _Route(v) for v in problem.vans if v.id in usable}
    kept: dict[str, Route] = {}
    for r in plan.routes:
        if r.van_id not in routes:
            kept[r.van_id] = r
            continue
        work = routes[r.van_id]
        for tids in r.stops:
            ps = [by_id[t] for t in tids if t in by_id]
            if not ps:
                continue
            if len(ps) == 1:
                lat, lon, kg = ps[0].lat or 0.0, ps[0].lon or 0.0, ps[0].weight_kg
            else:
                lat = sum(p.lat or 0.0 for p in ps) / len(ps)
                lon = sum(p.lon or 0.0 for p in ps) / len(ps)
                kg = sum(p.weight_kg for p in ps)
            work.stops.append(_Stop(list(tids), lat, lon, len(tids), kg, ps[0]))
            work.count += len(tids)
            work.kg += kg
    originals = {r.van_id: r for r in plan.routes}
    for p in screened.parcels:
        why = _place(p, list(routes.values()), problem, tr)
        if why is not None:
            unplanned[p.tracking_id] = why
    out: list[Route] = []
    for van in problem.vans:
        if van.id in kept:
            out.append(kept[van.id])
        elif van.id in routes:
            work = routes[van.id]
            if not work.changed and van.id in originals:
                out.append(originals[van.id])
            elif work.stops or van.id in originals:
                km, minutes, _fits = _schedule(work, work.stops, tr)
                stops = tuple(tuple(s.tracking_ids) for s in work.stops)
                out.append(Route(van.id, van.lane, stops, km, minutes, work.count, round(work.kg, 3)))
    fixed = {v.id: v.fixed_cost for v in problem.vans}
    cost = round(sum(r.km + (fixed.get(r.van_id, 0) if r.stops else 0) for r in out), 3)
    return replace(plan, routes=tuple(out), unplanned=unplanned, cost=cost, seconds=round(time.monotonic() - t0, 3))


def _place(p: Parcel, routes: list[_Route], problem: PlanningProblem, tr: _Travel) -> str | None:
    """Put ``p`` in its cheapest feasible place; the reason when there is none."""
    assert p.lat is not None and p.lon is not None
    locked = problem.locked.get(p.tracking_id)
    candidates = [r for r in routes if locked is None or r.van.id == locked]
    window = _window(p)
    roomy = [
        r
        for r in candidates
        if r.count + 1 <= r.van.capacity and (r.van.capacity_kg is None or r.kg + p.weight_kg <= r.van.capacity_kg)
    ]
    if not roomy:
        used = sum(r.count for r in candidates)
        places = sum(r.van.capacity for r in candidates)
        which = f"van {locked}" if locked else f"all {len(candidates)} vans"
        return f"no van has room: {which} full for this parcel ({used} of {places} places used, or no kg left)"
    # The same door, the same window: one more parcel at an existing stop costs no driving.
    key = _address_key(p)
    for r in roomy:
        lats, lons = _points(r, tr.hub)
        if not r.stops:
            continue
        near = tr.km(p.lat, p.lon, lats[1:-1], lons[1:-1]) / problem.settings.detour_factor * 1000
        same_door = [
            k
            for k, s in enumerate(r.stops)
            if s.first.postal_code == p.postal_code and key and _address_key(s.first) == key
        ]
        for i in np.flatnonzero(near <= problem.settings.stop_merge_m).tolist() + same_door:
            stop = r.stops[i]
            if stop.window != window:
                continue
            bigger = replace(stop, tracking_ids=[*stop.tracking_ids, p.tracking_id], count=stop.count + 1)
            bigger.kg = stop.kg + p.weight_kg
            trial = [*r.stops[:i], bigger, *r.stops[i + 1 :]]
            if _schedule(r, trial, tr)[2]:
                r.stops[i] = bigger
                r.changed = True
                r.count += 1
                r.kg += p.weight_kg
                return None
    # Otherwise the cheapest new stop, over every position of every van with room.
    owner: list[int] = []
    position: list[int] = []
    detour: list[np.ndarray] = []
    for k, r in enumerate(roomy):
        lats, lons = _points(r, tr.hub)
        to_new = tr.km(p.lat, p.lon, lats, lons)
        legs = tr.km(lats[:-1], lons[:-1], lats[1:], lons[1:])
        detour.append(to_new[:-1] + to_new[1:] - legs)
        owner.extend([k] * len(legs))
        position.extend(range(len(legs)))
    cost = np.concatenate(detour)
    fixed = np.array([roomy[k].van.fixed_cost if not roomy[k].stops else 0 for k in owner], dtype=np.float64)
    stop = _Stop([p.tracking_id], p.lat, p.lon, 1, p.weight_kg, p)
    for j in np.argsort(cost + fixed, kind="stable").tolist():
        r, pos = roomy[owner[j]], position[j]
        trial = [*r.stops[:pos], stop, *r.stops[pos:]]
        if _schedule(r, trial, tr)[2]:
            r.stops = trial
            r.changed = True
            r.count += 1
            r.kg += p.weight_kg
            return None
    which = f"van {locked} has" if locked else "no van with room has"
    when = f" inside its window {p.window_start:%H:%M}-{p.window_end:%H:%M}" if p.window_start and p.window_end else ""
    return f"no van has time: {which} time left in its shift to deliver it{when} alongside its stops"
