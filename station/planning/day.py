"""The hub's day: parcels and vans in, a :class:`~station.model.Plan` out.

Owns the translation between the domain (parcels, stops, vans, lanes, clock times) and the solver
core's :class:`VrpInstance` (nodes, metres, seconds), and the reasons given for parcels the search
left out. Screening (``screening.py``) has already removed what can never be planned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from station.errors import PlanningError
from station.model import Parcel, Plan, Route, Van
from station.planning.geo import project_km
from station.planning.instance import Load, VrpInstance
from station.planning.matrix import speed_check, travel_matrices
from station.planning.problem import PlanningProblem, PlanProgress
from station.planning.repair import Violation
from station.planning.screening import hhmm, screen, seconds_of
from station.planning.search import solve
from station.planning.stops import Stop, make_stops

log = logging.getLogger(__name__)

# Leaving a stop out costs as much as driving 1,000,000 km: only done when no van can take it.
# Far above any day's driving, so the driving part of an objective is ``cost % DROP_PENALTY_M``.
DROP_PENALTY_M = 1_000_000_000
DAY_S = 24 * 3600
# Vans' fixed_cost is in km of driving (the plan's cost unit); the solver counts metres.
FIXED_COST_UNIT_M = 1000


@dataclass(frozen=True)
class _Built:
    inst: VrpInstance
    stops: list[Stop]
    vans: tuple[Van, ...]


def _build(problem: PlanningProblem, parcels: tuple[Parcel, ...], vans: tuple[Van, ...]) -> _Built:
    settings = problem.settings
    locked = {tid: van for tid, van in problem.locked.items()}
    stops = make_stops(parcels, vans, locked, settings.stop_merge_m)
    lat = np.array([problem.hub.lat] + [s.lat for s in stops])
    lon = np.array([problem.hub.lon] + [s.lon for s in stops])
    metres, seconds = travel_matrices(lat, lon, settings)
    n = len(stops) + 1
    count = np.array([0] + [s.count for s in stops], dtype=np.int64)
    loads = [Load("parcels", count, tuple(v.capacity for v in vans))]
    if any(v.capacity_kg is not None for v in vans):
        grams = np.array([0] + [round(s.weight_kg * 1000) for s in stops], dtype=np.int64)
        unlimited = int(grams.sum()) + 1
        caps = tuple(round(v.capacity_kg * 1000) if v.capacity_kg is not None else unlimited for v in vans)
        loads.append(Load("grams", grams, caps))
    service = np.array(
        [0] + [settings.service_per_stop_s + settings.service_per_parcel_s * s.count for s in stops],
        dtype=np.int64,
    )
    windows = np.zeros((n, 2), dtype=np.int64)
    windows[:, 1] = 2 * DAY_S
    for i, s in enumerate(stops, start=1):
        if s.window[0] is not None:
            windows[i, 0] = seconds_of(s.window[0])
        if s.window[1] is not None:
            windows[i, 1] = seconds_of(s.window[1])
    van_index = {v.id: k for k, v in enumerate(vans)}
    allowed: dict[int, tuple[int, ...]] = {
        i: (van_index[s.locked_van],) for i, s in enumerate(stops, start=1) if s.locked_van
    }
    has_windows = any(s.window != (None, None) for s in stops)
    inst = VrpInstance(
        distance=metres,
        loads=tuple(loads),
        num_vehicles=len(vans),
        xy=project_km(lat, lon, problem.hub.lat, problem.hub.lon),
        duration=seconds,
        service=service,
        windows=windows if has_windows else None,
        shifts=tuple((seconds_of(v.shift_start), seconds_of(v.shift_end)) for v in vans),
        fixed_costs=tuple(v.fixed_cost * FIXED_COST_UNIT_M for v in vans) if any(v.fixed_cost for v in vans) else None,
        drop_penalty=DROP_PENALTY_M,
        allowed=allowed,
    )
    return _Built(inst, stops, vans)


def _initial_routes(built: _Built, previous: Plan) -> list[list[int]]:
    """Node sequences per van that follow ``previous``; parcels it did not place start unassigned."""
    node_of = {tid: i for i, s in enumerate(built.stops, start=1) for tid in s.tracking_ids}
    by_van = {r.van_id: r for r in previous.routes}
    routes: list[list[int]] = []
    placed: set[int] = set()
    for van in built.vans:
        route: list[int] = []
        prev = by_van.get(van.id)
        for stop in prev.stops if prev else ():
            for tid in stop:
                node = node_of.get(tid)
                allowed = built.inst.allowed.get(node, None) if node is not None else None
                ok = allowed is None or allowed == (len(routes),)
                if node is not None and node not in placed and ok:
                    placed.add(node)
                    route.append(node)
        routes.append(route)
    return routes


def _drop_reason(stop: Stop, built: _Built, van_notes: tuple[str, ...]) -> str:
    total_cap = sum(v.capacity for v in built.vans)
    total = sum(s.count for s in built.stops)
    if total > total_cap:
        why = f"vans full: {total} parcels to plan, {total_cap} places in all vans"
    elif stop.window != (None, None):
        start = stop.window[0].strftime("%H:%M") if stop.window[0] else "shift start"
        end = stop.window[1].strftime("%H:%M") if stop.window[1] else "shift end"
        why = f"time window {start}-{end} cannot be met alongside the other stops"
    elif stop.locked_van:
        why = f"locked to van {stop.locked_van}, which has no room or shift time left for it"
    else:
        why = "no van has room or shift time left for this stop"
    if van_notes:
        why += " (" + "; ".join(van_notes) + ")"
    return why


def _violation_note(built: _Built, fault: Violation) -> str:
    """Which van is over what, in a lead's words (its locked parcels alone break the limit)."""
    van = built.vans[fault.vehicle]
    who = f"van {van.id} (lane {van.lane})"
    if fault.kind == "load" and fault.what == "grams":
        return f"{who} is over its weight: {fault.amount / 1000:g} kg locked to it, capacity {fault.limit / 1000:g} kg"
    if fault.kind == "load":
        return f"{who} is over capacity: {fault.amount} parcels locked to it, {fault.limit} places"
    if fault.kind == "shift":
        return (
            f"{who} cannot deliver its locked parcels within its shift: back at {hhmm(fault.amount)}, "
            f"shift ends {hhmm(fault.limit)}"
        )
    stop = built.stops[int(fault.what) - 1]
    first = stop.parcels[0]
    return (
        f"{who} reaches '{first.address}, {first.postal_code}' (locked parcels) at {hhmm(fault.amount)}, "
        f"after its window closes at {hhmm(fault.limit)}"
    )


def _route(built: _Built, v: int, nodes: list[int]) -> Route:
    inst, van = built.inst, built.vans[v]
    assert inst.duration is not None and inst.service is not None
    path = [0, *nodes, 0]
    metres = int(inst.distance[path[:-1], path[1:]].sum())
    clock = float(seconds_of(van.shift_start))
    start = clock
    for a, b in zip(path[:-1], path[1:], strict=True):
        clock += float(inst.duration[a, b] + inst.service[a])
        if b and inst.windows is not None:
            clock = max(clock, float(inst.windows[b, 0]))
    stops = tuple(built.stops[i - 1].tracking_ids for i in nodes)
    return Route(
        van_id=van.id,
        lane=van.lane,
        stops=stops,
        km=metres / 1000,
        minutes=(clock - start) / 60 if nodes else 0.0,
        load=sum(built.stops[i - 1].count for i in nodes),
        load_kg=round(sum(built.stops[i - 1].weight_kg for i in nodes), 3),
    )


def _plan_cost(routes: Sequence[Route], vans: tuple[Van, ...]) -> float:
    fixed = {v.id: v.fixed_cost for v in vans}
    return round(sum(r.km + (fixed[r.van_id] if r.stops else 0) for r in routes), 3)


def plan_day(
    problem: PlanningProblem,
    *,
    time_limit_s: float = 30.0,
    on_progress: Callable[[PlanProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Plan which van delivers each parcel and in what order.

    Every parcel of ``problem.parcels`` ends up either in a route or in ``Plan.unplanned`` with a
    reason. Parcels in ``problem.locked`` stay in their van. ``problem.previous`` (a plan of the
    same day) is used as the starting point. Raises PlanningError only when no plan can be made
    at all (no usable van).
    """
    t0 = time.monotonic()
    speed_check(problem.settings)
    if not problem.vans:
        raise PlanningError("no vans configured for today: nothing can be planned")
    screened = screen(problem)
    if not screened.vans:
        raise PlanningError("no van can take parcels today: " + "; ".join(screened.van_notes))
    unplanned = dict(screened.unplanned)
    if not screened.parcels:
        return Plan(
            routes=(), unplanned=unplanned, cost=0.0, solver=problem.settings.backend, seconds=time.monotonic() - t0
        )
    built = _build(problem, screened.parcels, screened.vans)
    initial = _initial_routes(built, problem.previous) if problem.previous is not None else None

    def improved(elapsed: float, cost: int) -> None:
        if on_progress is not None:
            # The screen shows km (and vans' fixed costs), not the penalties for stops left out.
            km = (cost % DROP_PENALTY_M) / 1000
            on_progress(PlanProgress(elapsed_s=time.monotonic() - t0, best_cost=round(km, 3)))

    sol = solve(
        built.inst,
        time_limit_s=max(0.1, time_limit_s - (time.monotonic() - t0)),
        backend=problem.settings.backend,
        initial=initial,
        workers=problem.settings.workers,
        on_improve=improved,
        should_stop=should_stop,
    )
    routes = tuple(_route(built, v, nodes) for v, nodes in enumerate(sol.routes))
    for node in sol.dropped:
        if node == 0:
            continue
        stop = built.stops[node - 1]
        reason = _drop_reason(stop, built, screened.van_notes)
        for tid in stop.tracking_ids:
            unplanned[tid] = reason
    plan = Plan(
        routes=routes,
        unplanned=unplanned,
        cost=_plan_cost(routes, built.vans),
        solver=sol.backend,
        seconds=round(time.monotonic() - t0, 3),
        notes=tuple(_violation_note(built, f) for f in sol.violations),
    )
    for note in plan.notes:
        log.warning("plan: %s", note)
    log.info(
        "planned %d parcels in %d routes, %d unplanned, cost %.1f, %.1f s",
        sum(r.load for r in routes),
        sum(1 for r in routes if r.stops),
        len(unplanned),
        plan.cost,
        plan.seconds,
    )
    return plan


def insert_parcels(
    problem: PlanningProblem,
    plan: Plan,
    new: Sequence[Parcel],
    *,
    time_limit_s: float = 5.0,
    on_placed: Callable[[Plan], object] | None = None,
    on_progress: Callable[[PlanProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Add late parcels to an existing plan: placed at once, then the day is improved.

    First a cheapest feasible insertion (``late.place_late_parcels``: nothing planned moves, it
    answers in milliseconds) handed to ``on_placed``; then, with ``time_limit_s`` > 0, a search
    from that plan, kept only if it plans as many parcels for less. Parcels in
    ``problem.locked`` keep their van either way. Parcels already in ``problem.parcels`` with the
    same tracking id are not duplicated.
    """
    from station.planning.late import place_late_parcels

    known = {p.tracking_id for p in problem.parcels}
    parcels = problem.parcels + tuple(p for p in new if p.tracking_id not in known)
    placed = place_late_parcels(replace(problem, parcels=parcels), plan, new)
    if on_placed is not None:
        on_placed(placed)
    if time_limit_s <= 0:
        return placed
    improved = plan_day(
        replace(problem, parcels=parcels, previous=placed),
        time_limit_s=time_limit_s,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    better = (len(improved.unplanned), len(improved.notes), improved.cost) <= (
        len(placed.unplanned),
        len(placed.notes),
        placed.cost,
    )
    return improved if better else placed
