"""The solver core's own problem and answer: a matrix-based vehicle routing instance.

Everything the solvers see is here, in integers, with node 0 the depot. The city day
(``day.py``) and the benchmark (``bench/routing.py``) both translate into a
:class:`VrpInstance` and read back a :class:`VrpSolution`, so the hub and the published
instances exercise exactly the same search code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from station.planning.repair import Violation

IntMatrix = NDArray[np.int64]
IntVector = NDArray[np.int64]


@dataclass(frozen=True)
class Load:
    """One capacity dimension (parcels, grams, benchmark demand): per-node demand, per-vehicle capacity."""

    name: str
    demand: IntVector
    capacity: tuple[int, ...]


@dataclass(frozen=True)
class VrpInstance:
    """A routing instance in solver units.

    ``distance`` is the arc cost (metres for a hub, the instance's convention for a benchmark).
    ``duration``/``service``/``windows`` are optional: without them there is no time dimension.
    ``shifts`` gives each vehicle's (earliest start, latest return) when there is a time dimension.
    ``drop_penalty`` None means every customer must be visited; otherwise a customer may be left
    out at that cost (the hub's way of never failing a whole day over one parcel).
    ``allowed`` pins a node to a set of vehicles (locked parcels).
    ``xy`` are planar coordinates used only to cut the instance into sectors.
    """

    distance: IntMatrix
    loads: tuple[Load, ...]
    num_vehicles: int
    xy: NDArray[np.float64]
    duration: IntMatrix | None = None
    service: IntVector | None = None
    windows: IntMatrix | None = None  # (n, 2) earliest, latest arrival
    shifts: tuple[tuple[int, int], ...] | None = None
    fixed_costs: tuple[int, ...] | None = None
    drop_penalty: int | None = None
    allowed: dict[int, tuple[int, ...]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of nodes including the depot."""
        return int(self.distance.shape[0])

    @property
    def has_time(self) -> bool:
        return self.duration is not None


@dataclass
class VrpSolution:
    """Routes as node lists per vehicle (depot left out), nodes left out, and what it cost to find.

    ``violations`` lists the vehicles whose locked nodes alone break a limit (see ``repair``).
    """

    routes: list[list[int]]
    dropped: list[int]
    cost: int
    first_feasible_s: float | None = None
    seconds: float = 0.0
    backend: str = "ortools"
    violations: list[Violation] = field(default_factory=list)


def route_cost(inst: VrpInstance, routes: list[list[int]], dropped: list[int]) -> int:
    """Objective of a solution recomputed from the matrices (solver-independent, for comparisons)."""
    total = 0
    for v, route in enumerate(routes):
        if not route:
            continue
        path = [0, *route, 0]
        total += int(inst.distance[path[:-1], path[1:]].sum())
        if inst.fixed_costs is not None:
            total += inst.fixed_costs[v]
    if inst.drop_penalty is not None:
        total += inst.drop_penalty * len(dropped)
    return total
