"""PyVRP as a selectable backend behind the same instance and solution types as OR-Tools.

Owns the translation of a :class:`VrpInstance` into PyVRP's ``ProblemData`` and back. PyVRP (MIT,
aarch64 wheels) is an optional dependency: it is imported only when this backend is chosen.
It has no per-client vehicle restriction, so an instance with locked parcels is handed to
OR-Tools instead (logged): the locks are a promise to the dock, not a preference.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import numpy as np

from station.planning.instance import VrpInstance, VrpSolution, route_cost
from station.planning.ortools_solver import ImproveCallback, StopCheck, solve_ortools

log = logging.getLogger(__name__)

_FAR = 2**40  # "no limit" that stays clear of PyVRP's overflow guards


class _Stop:
    """PyVRP's stopping criterion, also our hook for progress and for the dock's stop button."""

    def __init__(self, limit_s: float, on_improve: ImproveCallback | None, should_stop: StopCheck | None):
        self.t0 = time.monotonic()
        self.limit_s = limit_s
        self.on_improve = on_improve
        self.should_stop = should_stop
        self.best = float("inf")
        self.first: float | None = None

    def __call__(self, best_cost: float) -> bool:
        elapsed = time.monotonic() - self.t0
        if best_cost < self.best:  # PyVRP reports an infeasible best as +inf
            self.best = best_cost
            if self.first is None:
                self.first = elapsed
            if self.on_improve is not None:
                self.on_improve(elapsed, int(best_cost))
        return elapsed >= self.limit_s or (self.should_stop is not None and self.should_stop())


def solve_pyvrp(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
    seed: int = 0,
) -> VrpSolution:
    """Solve ``inst`` with PyVRP's iterated local search for ``time_limit_s``."""
    if inst.allowed:
        log.warning("PyVRP cannot pin parcels to vans; planning this day with OR-Tools")
        return solve_ortools(inst, time_limit_s=time_limit_s, on_improve=on_improve, should_stop=should_stop)
    import pyvrp

    n = inst.size
    service = inst.service if inst.service is not None else np.zeros(n, dtype=np.int64)
    windows = inst.windows
    duration = inst.duration if inst.duration is not None else np.zeros_like(inst.distance)
    locations = [pyvrp.Location(float(x), float(y)) for x, y in inst.xy]
    depot_tw = (int(windows[0, 0]), int(windows[0, 1])) if windows is not None else (0, _FAR)
    depots = [pyvrp.Depot(0, tw_early=depot_tw[0], tw_late=depot_tw[1])]
    clients = []
    for i in range(1, n):
        tw = (int(windows[i, 0]), int(windows[i, 1])) if windows is not None else (0, _FAR)
        optional = inst.drop_penalty is not None
        clients.append(
            pyvrp.Client(
                i,
                delivery=[int(load.demand[i]) for load in inst.loads],
                service_duration=int(service[i]),
                tw_early=tw[0],
                tw_late=tw[1],
                required=not optional,
                prize=int(inst.drop_penalty) if optional and inst.drop_penalty is not None else 0,
            )
        )
    # Vehicles that are alike form one PyVRP vehicle type; remember which of ours each one is.
    kinds: dict[tuple[tuple[int, ...], int, int, int], list[int]] = defaultdict(list)
    for v in range(inst.num_vehicles):
        shift = inst.shifts[v] if inst.shifts is not None else (0, _FAR)
        fixed = inst.fixed_costs[v] if inst.fixed_costs is not None else 0
        kinds[(tuple(load.capacity[v] for load in inst.loads), shift[0], shift[1], fixed)].append(v)
    vehicle_types = [
        pyvrp.VehicleType(
            len(members),
            capacity=list(cap),
            fixed_cost=fixed,
            tw_early=max(lo, depot_tw[0]),
            tw_late=min(hi, depot_tw[1]),
        )
        for (cap, lo, hi, fixed), members in kinds.items()
    ]
    # PyVRP's stubs type matrices as ndarray[int]; ours are int64 arrays, which is what it reads.
    distances: list[Any] = [np.ascontiguousarray(inst.distance)]
    durations: list[Any] = [np.ascontiguousarray(duration)]
    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        distance_matrices=distances,
        duration_matrices=durations,
    )
    stop = _Stop(time_limit_s, on_improve, should_stop)
    result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, display=False)
    best = result.best
    routes: list[list[int]] = [[] for _ in range(inst.num_vehicles)]
    free = {k: list(members) for k, members in enumerate(kinds.values())}
    if best.is_feasible():
        for route in best.routes():
            v = free[route.vehicle_type()].pop(0)
            routes[v] = [int(a.idx) + 1 for a in route if a.is_client()]  # client k is our node k + 1
    visited = {c for r in routes for c in r}
    dropped = [i for i in range(1, n) if i not in visited]
    return VrpSolution(
        routes=routes if best.is_feasible() else [],
        dropped=dropped,
        cost=route_cost(inst, routes, dropped) if best.is_feasible() else -1,
        first_feasible_s=stop.first,
        seconds=time.monotonic() - stop.t0,
        backend="pyvrp",
    )
