"""PyVRP as an optional backend (not yet wired)."""

from __future__ import annotations

from station.planning.instance import VrpInstance, VrpSolution
from station.planning.ortools_solver import ImproveCallback, StopCheck


def solve_pyvrp(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
) -> VrpSolution:
    raise NotImplementedError("the PyVRP backend is not available yet")
