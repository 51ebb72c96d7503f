"""PyVRP as the station's search engine: one :class:`VrpInstance` in, one :class:`VrpSolution` out.

Owns the translation of an instance into PyVRP's ``ProblemData`` and back, the stopping rule
(time limit, the dock's stop button, and "no longer improving") and the progress reports.

PyVRP has no per-client vehicle restriction, so locks are kept in three steps: the search starts
from routes that keep them (``initial``), PyVRP's routes are handed to our vehicles so that as
many locked nodes as possible are already in their own vehicle (vehicles of one PyVRP vehicle
type are interchangeable, so this costs nothing), and ``repair.repair`` (run by ``search.solve``
on every answer) moves the rest. PyVRP (MIT, aarch64 wheels) is imported only when it is used.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from station.planning.instance import VrpInstance, VrpSolution, route_cost

log = logging.getLogger(__name__)

ImproveCallback = Callable[[float, int], None]
StopCheck = Callable[[], bool]
BestElsewhere = Callable[[], float]

_FAR = 2**40  # "no limit" that stays clear of PyVRP's overflow guards

# "No longer improving": the best has not moved for STALL_PER_CLIENT iterations per client (at
# least STALL_ITERATIONS) AND for STALL_SHARE of the time spent so far (at least STALL_MIN_S).
# Iterations make the rule independent of the CPU's speed and scale with the day, since PyVRP
# still finds better plans after long plateaus (with 10 iterations per client a 30 s run on
# X-n125 stopped early at 1.7 % from the best known, where another seed reached 0.6 %); the
# share keeps a long search that still improves now and then from being cut. A 6-parcel day
# stops in well under a second. With two searches (seeds.py) "the best" is the better of the two:
# a search still polishing a plan worse than the other's does not keep the lead waiting.
STALL_ITERATIONS = 2_000
STALL_PER_CLIENT = 200
STALL_SHARE = 0.5
STALL_MIN_S = 0.5

# PyVRP's defaults (a late-acceptance history of 300 iterations, 50 neighbours per client) suit
# its published runs of 2.4 s per client; the station gives a day of 1,000 stops 30 s, about ten
# iterations per client. Measured at 30 s on one core over eight X instances of 284-957
# customers kept for tuning (bench/data/routing/cvrp-tuning, none of those docs/planning.md
# reports): mean / worst gap to the best known 1.63 / 2.46 % with the defaults, 1.02 / 1.79 %
# with a history of 50, 1.26 / 1.76 % with 30 neighbours, 0.79 / 1.49 % with both. A shorter
# history accepts fewer worse plans, so a short search climbs instead of wandering; fewer
# neighbours make each local search cheaper, so there are more of them.
HISTORY_LENGTH = 50
NEIGHBOURS = 30


class Criterion:
    """PyVRP's stopping criterion, also our hook for progress, the stop button and stalling."""

    def __init__(
        self,
        limit_s: float,
        on_improve: ImproveCallback | None,
        should_stop: StopCheck | None,
        *,
        stall: bool = True,
        clients: int = 0,
        best_elsewhere: BestElsewhere | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.t0 = clock()
        self.limit_s = limit_s
        self.on_improve = on_improve
        self.should_stop = should_stop
        self.stall = stall
        self.stall_iterations = max(STALL_ITERATIONS, STALL_PER_CLIENT * clients)
        self.best_elsewhere = best_elsewhere
        self.best = float("inf")  # this search's best
        self.known = float("inf")  # the best of every search of the day: what stalls
        self.first: float | None = None
        self.iterations = 0
        self.last_iteration = 0
        self.last_s = 0.0

    def __call__(self, best_cost: float) -> bool:
        elapsed = self.clock() - self.t0
        self.iterations += 1
        if best_cost < self.best:  # PyVRP reports an infeasible best as +inf
            self.best = best_cost
            if self.first is None:
                self.first = elapsed
            if self.on_improve is not None:
                self.on_improve(elapsed, int(best_cost))
        known = best_cost if self.best_elsewhere is None else min(best_cost, self.best_elsewhere())
        if known < self.known:
            self.known = known
            self.last_iteration, self.last_s = self.iterations, elapsed
        if elapsed >= self.limit_s or (self.should_stop is not None and self.should_stop()):
            return True
        return self.stalled(elapsed)

    def stalled(self, elapsed: float) -> bool:
        if not self.stall or self.first is None:
            return False
        quiet_s = elapsed - self.last_s
        return (
            self.iterations - self.last_iteration >= self.stall_iterations
            and quiet_s >= STALL_MIN_S
            and quiet_s >= STALL_SHARE * elapsed
        )


class Translation:
    """The instance as ``ProblemData``, and which of our vehicles each PyVRP vehicle type stands for."""

    def __init__(self, inst: VrpInstance) -> None:
        import pyvrp

        n = inst.size
        service = inst.service if inst.service is not None else np.zeros(n, dtype=np.int64)
        windows = inst.windows
        duration = inst.duration if inst.duration is not None else np.zeros_like(inst.distance)
        depot_tw = (int(windows[0, 0]), int(windows[0, 1])) if windows is not None else (0, _FAR)
        optional = inst.drop_penalty is not None
        clients = []
        for i in range(1, n):
            tw = (int(windows[i, 0]), int(windows[i, 1])) if windows is not None else (0, _FAR)
            clients.append(
                pyvrp.Client(
                    i,
                    delivery=[int(load.demand[i]) for load in inst.loads],
                    service_duration=int(service[i]),
                    tw_early=tw[0],
                    tw_late=tw[1],
                    # A locked node may never be left out: it is already in its van.
                    required=not optional or i in inst.allowed,
                    prize=int(inst.drop_penalty) if optional and inst.drop_penalty is not None else 0,
                )
            )
        # Vehicles that are alike form one PyVRP vehicle type; remember which of ours each one is.
        kinds: dict[tuple[tuple[int, ...], int, int, int], list[int]] = defaultdict(list)
        for v in range(inst.num_vehicles):
            shift = inst.shifts[v] if inst.shifts is not None else (0, _FAR)
            fixed = inst.fixed_costs[v] if inst.fixed_costs is not None else 0
            kinds[(tuple(load.capacity[v] for load in inst.loads), shift[0], shift[1], fixed)].append(v)
        self.members = list(kinds.values())
        self.type_of = {v: k for k, members in enumerate(self.members) for v in members}
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
        self.data = pyvrp.ProblemData(
            [pyvrp.Location(float(x), float(y)) for x, y in inst.xy],
            clients,
            [pyvrp.Depot(0, tw_early=depot_tw[0], tw_late=depot_tw[1])],
            vehicle_types,
            distance_matrices=distances,
            duration_matrices=durations,
        )
        self.inst = inst

    def solution(self, routes: list[list[int]]) -> Any:
        """Our routes (node lists per vehicle) as a PyVRP ``Solution`` to start from."""
        import pyvrp

        return pyvrp.Solution(
            self.data,
            [pyvrp.Route(self.data, [c - 1 for c in r], self.type_of[v]) for v, r in enumerate(routes) if r],
        )

    def routes(self, solution: Any) -> list[list[int]]:
        """PyVRP's routes handed to our vehicles, locked nodes in their own vehicle where possible."""
        allowed = self.inst.allowed
        routes: list[list[int]] = [[] for _ in range(self.inst.num_vehicles)]
        by_type: dict[int, list[list[int]]] = defaultdict(list)
        for route in solution.routes():
            by_type[route.vehicle_type()].append([int(a.idx) + 1 for a in route if a.is_client()])
        for k, found in by_type.items():
            free = set(self.members[k])
            # Greedy matching on the number of a vehicle's locked nodes each route carries.
            score = sorted(
                (
                    (sum(1 for c in r if v in allowed.get(c, ())), i, v)
                    for i, r in enumerate(found)
                    for v in self.members[k]
                ),
                reverse=True,
            )
            taken: set[int] = set()
            for s, i, v in score:
                if s and i not in taken and v in free:
                    routes[v] = found[i]
                    taken.add(i)
                    free.discard(v)
            for i, r in enumerate(found):
                if i not in taken:
                    routes[min(free)] = r
                    free.discard(min(free))
        return routes


def search_params(history: int = HISTORY_LENGTH, neighbours: int = NEIGHBOURS) -> Any:
    """PyVRP's ``SolveParams`` for the station's short searches (see ``HISTORY_LENGTH``).

    The arguments are for ``bench/pyvrp_params.py``, which compares other values.
    """
    from pyvrp import IteratedLocalSearchParams, SolveParams
    from pyvrp.search import NeighbourhoodParams

    return SolveParams(
        ils=IteratedLocalSearchParams(history_length=history),
        neighbourhood=NeighbourhoodParams(num_neighbours=neighbours),
    )


def solve_pyvrp(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    initial: list[list[int]] | None = None,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
    seed: int = 0,
    stall: bool = True,
    params: Any = None,
    best_elsewhere: BestElsewhere | None = None,
) -> VrpSolution:
    """Solve ``inst`` with PyVRP's iterated local search until the limit, a stop, or no more progress.

    ``params`` (PyVRP's ``SolveParams``) defaults to the station's (``search_params``); the
    benchmark passes PyVRP's own to show what they give. ``best_elsewhere`` gives the best cost
    another search of the same day has found: "no more progress" is then judged on the better of
    the two.
    """
    import pyvrp

    criterion = Criterion(
        time_limit_s, on_improve, should_stop, stall=stall, clients=inst.size - 1, best_elsewhere=best_elsewhere
    )
    tr = Translation(inst)
    start = tr.solution(initial) if initial is not None and any(initial) else None
    with warnings.catch_warnings():
        # PyVRP warns when its penalties peak: expected when a day is over capacity (stops are
        # left out at a prize of 1,000,000 km each) or locked parcels overfill a van.
        warnings.simplefilter("ignore", pyvrp.exceptions.PenaltyBoundWarning)
        result = pyvrp.solve(
            tr.data,
            stop=criterion,
            seed=seed,
            collect_stats=False,
            display=False,
            params=params if params is not None else search_params(),
            initial_solution=start,
        )
    # An infeasible best (locked nodes over a van's limits) is still the best start for the repair.
    routes = tr.routes(result.best)
    visited = {c for r in routes for c in r}
    dropped = [i for i in range(1, inst.size) if i not in visited]
    return VrpSolution(
        routes=routes,
        dropped=dropped,
        cost=route_cost(inst, routes, dropped) if routes else -1,
        first_feasible_s=criterion.first,
        seconds=criterion.clock() - criterion.t0,
        backend="pyvrp",
    )
