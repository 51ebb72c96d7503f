"""How a :class:`VrpInstance` is searched: one OR-Tools model when small, sectors when large.

This is the one entry point both the city day and the benchmark call (``solve``). It chooses the
backend and, for large instances, the decomposition in ``decompose.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from station.planning.instance import VrpInstance, VrpSolution
from station.planning.ortools_solver import solve_ortools

ImproveCallback = Callable[[float, int], None]
StopCheck = Callable[[], bool]

BACKENDS = ("ortools", "pyvrp")


def solve(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    backend: str = "ortools",
    initial: list[list[int]] | None = None,
    workers: int = 2,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
) -> VrpSolution:
    """Best solution found for ``inst`` within ``time_limit_s`` (wall clock, not counting start-up)."""
    t0 = time.monotonic()
    if backend == "pyvrp":
        from station.planning.pyvrp_solver import solve_pyvrp

        sol: VrpSolution = solve_pyvrp(inst, time_limit_s=time_limit_s, on_improve=on_improve, should_stop=should_stop)
    elif backend == "ortools":
        from station.planning.decompose import DIRECT_MAX, solve_decomposed

        if inst.size - 1 <= DIRECT_MAX or workers < 1:
            sol = solve_ortools(
                inst,
                time_limit_s=time_limit_s,
                initial=initial,
                on_improve=on_improve,
                should_stop=should_stop,
            )
        else:
            sol = solve_decomposed(
                inst,
                time_limit_s=time_limit_s,
                initial=initial,
                workers=workers,
                on_improve=on_improve,
                should_stop=should_stop,
            )
    else:
        raise ValueError(f"unknown planning backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    sol.seconds = time.monotonic() - t0
    return sol
