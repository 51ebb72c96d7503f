"""OR-Tools as the station's routing engine: one :class:`VrpInstance` in, one :class:`VrpSolution` out.

This module owns how the instance is put into ``pywrapcp``: distances, durations and demands are
registered as matrices and vectors (evaluated in C++; a Python callback made the first solution
9x slower when measured), a fast first solution (PATH_CHEAPEST_ARC without time windows,
PARALLEL_CHEAPEST_INSERTION with them) followed by guided local search to the time limit. It knows
nothing of parcels or of decomposition; ``search.py`` decides how it is called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from station.planning.instance import VrpInstance, VrpSolution, route_cost

ImproveCallback = Callable[[float, int], None]
StopCheck = Callable[[], bool]

_FSS = routing_enums_pb2.FirstSolutionStrategy
_LSM = routing_enums_pb2.LocalSearchMetaheuristic


class _Model:
    """A built routing model plus the index manager needed to read it back."""

    def __init__(self, inst: VrpInstance) -> None:
        n, nv = inst.size, inst.num_vehicles
        self.inst = inst
        self.manager = pywrapcp.RoutingIndexManager(n, nv, 0)
        self.routing = pywrapcp.RoutingModel(self.manager)
        routing, manager = self.routing, self.manager

        arc = routing.RegisterTransitMatrix(inst.distance.tolist())
        routing.SetArcCostEvaluatorOfAllVehicles(arc)
        for load in inst.loads:
            unary = routing.RegisterUnaryTransitVector(load.demand.tolist())
            routing.AddDimensionWithVehicleCapacity(unary, 0, list(load.capacity), True, load.name)
        if inst.fixed_costs is not None:
            for v, cost in enumerate(inst.fixed_costs):
                routing.SetFixedCostOfVehicle(int(cost), v)
        if inst.duration is not None:
            self._add_time(inst)
        if inst.drop_penalty is not None:
            for node in range(1, n):
                routing.AddDisjunction([manager.NodeToIndex(node)], inst.drop_penalty)
        for node, vehicles in inst.allowed.items():
            # SetAllowedVehiclesForIndex's Python binding rejects every list in 9.15 (absl::Span
            # typemap), so restrict the vehicle variable; -1 keeps "left out" possible.
            values = [int(v) for v in vehicles] + ([-1] if inst.drop_penalty is not None else [])
            routing.VehicleVar(manager.NodeToIndex(node)).SetValues(values)

    def _add_time(self, inst: VrpInstance) -> None:
        routing, manager = self.routing, self.manager
        assert inst.duration is not None
        service = inst.service if inst.service is not None else inst.duration[0] * 0
        # Service is spent at the node we leave, so it counts towards the next arrival and the return.
        transit = inst.duration + service[:, None]
        horizon = int(transit.max()) * 2 + 1
        if inst.windows is not None:
            horizon = max(horizon, int(inst.windows[:, 1].max()) + 1)
        if inst.shifts is not None:
            horizon = max(horizon, max(end for _, end in inst.shifts) + 1)
        evaluator = routing.RegisterTransitMatrix(transit.tolist())
        routing.AddDimension(evaluator, horizon, horizon, False, "time")
        dim = routing.GetDimensionOrDie("time")
        if inst.windows is not None:
            for node in range(1, inst.size):
                lo, hi = (int(x) for x in inst.windows[node])
                dim.CumulVar(manager.NodeToIndex(node)).SetRange(lo, hi)
        for v in range(inst.num_vehicles):
            lo, hi = inst.shifts[v] if inst.shifts is not None else (0, horizon)
            if inst.windows is not None:
                lo, hi = max(lo, int(inst.windows[0, 0])), min(hi, int(inst.windows[0, 1]))
            start, end = routing.Start(v), routing.End(v)
            dim.CumulVar(start).SetRange(lo, hi)
            dim.CumulVar(end).SetRange(lo, hi)
            # Leave as late and come back as early as the route allows: honest route durations.
            routing.AddVariableMaximizedByFinalizer(dim.CumulVar(start))
            routing.AddVariableMinimizedByFinalizer(dim.CumulVar(end))

    def read(self, assignment: pywrapcp.Assignment) -> tuple[list[list[int]], list[int]]:
        routing, manager = self.routing, self.manager
        routes: list[list[int]] = []
        seen = {0}
        for v in range(self.inst.num_vehicles):
            route = []
            index = assignment.Value(routing.NextVar(routing.Start(v)))
            while not routing.IsEnd(index):
                node = manager.IndexToNode(index)
                route.append(node)
                seen.add(node)
                index = assignment.Value(routing.NextVar(index))
            routes.append(route)
        dropped = [node for node in range(self.inst.size) if node not in seen]
        return routes, dropped


def _mostly_windowed(inst: VrpInstance) -> bool:
    """True when more than half of the customers have a window narrower than the depot's day."""
    if inst.windows is None or inst.size < 2:
        return False
    w = inst.windows
    narrower = (w[1:, 0] > w[0, 0]) | (w[1:, 1] < w[0, 1])
    return bool(narrower.mean() > 0.5)


def search_parameters(
    inst: VrpInstance, time_limit_s: float, *, metaheuristic: bool = True, first_solution: str | None = None
) -> Any:
    """OR-Tools search parameters; ``first_solution`` names a FirstSolutionStrategy to override the default."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    # PATH_CHEAPEST_ARC was the best start for CVRP but found no solution on R101, where every
    # customer has a window: PARALLEL_CHEAPEST_INSERTION there. On a hub day where few stops
    # have a window, PATH_CHEAPEST_ARC was better again (600 parcels, 10 % windowed, 10 s:
    # 443.5 km against 476.1 km).
    default = _FSS.PARALLEL_CHEAPEST_INSERTION if _mostly_windowed(inst) else _FSS.PATH_CHEAPEST_ARC
    params.first_solution_strategy = getattr(_FSS, first_solution) if first_solution else default
    params.local_search_metaheuristic = _LSM.GUIDED_LOCAL_SEARCH if metaheuristic else _LSM.GREEDY_DESCENT
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return params


def solve_ortools(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    initial: list[list[int]] | None = None,
    metaheuristic: bool = True,
    first_solution: str | None = None,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
) -> VrpSolution:
    """Solve ``inst`` within ``time_limit_s``; start from ``initial`` routes when given.

    ``on_improve(elapsed_s, cost)`` is called on each better solution; ``should_stop`` is polled
    at every solution the search visits and ends it early, keeping the best solution found.
    Returns an empty solution (no routes) when OR-Tools found none.
    """
    t0 = time.monotonic()
    model = _Model(inst)
    routing = model.routing
    params = search_parameters(inst, time_limit_s, metaheuristic=metaheuristic, first_solution=first_solution)
    state: dict[str, float] = {"best": float("inf"), "first": -1.0}
    # The callback reaches the model through this dict, emptied after the search: a closure over
    # ``routing`` itself would be a cycle through C++ that Python never frees (measured: a worker
    # grew by ~15 MB per part solved).
    live: dict[str, pywrapcp.RoutingModel] = {"routing": routing}

    def at_solution() -> None:
        model = live.get("routing")
        if model is None:
            return
        cost = model.CostVar().Value()
        elapsed = time.monotonic() - t0
        if state["first"] < 0:
            state["first"] = elapsed
        if cost < state["best"]:
            state["best"] = cost
            if on_improve is not None:
                on_improve(elapsed, int(cost))
        if should_stop is not None and should_stop():
            model.solver().FinishCurrentSearch()

    routing.AddAtSolutionCallback(at_solution)
    assignment = None
    if initial is not None:
        routing.CloseModelWithParameters(params)
        start = routing.ReadAssignmentFromRoutes(initial, True)
        if start is not None:
            assignment = routing.SolveFromAssignmentWithParameters(start, params)
    if assignment is None:
        assignment = routing.SolveWithParameters(params)
    seconds = time.monotonic() - t0
    try:
        return _answer(inst, model, assignment, state["first"], seconds)
    finally:
        live.clear()


def _answer(inst: VrpInstance, model: _Model, assignment: Any, first: float, seconds: float) -> VrpSolution:
    if assignment is None:
        return VrpSolution(routes=[], dropped=list(range(1, inst.size)), cost=-1, seconds=seconds)
    routes, dropped = model.read(assignment)
    return VrpSolution(
        routes=routes,
        dropped=dropped,
        cost=route_cost(inst, routes, dropped),
        first_feasible_s=first if first >= 0 else seconds,
        seconds=seconds,
    )
