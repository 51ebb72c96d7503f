"""Placeholder until the sector decomposition lands: everything is solved directly."""

from __future__ import annotations

from station.planning.instance import VrpInstance, VrpSolution
from station.planning.ortools_solver import ImproveCallback, StopCheck, solve_ortools

DIRECT_MAX = 10**9


def solve_decomposed(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    initial: list[list[int]] | None,
    workers: int,
    on_improve: ImproveCallback | None,
    should_stop: StopCheck | None,
) -> VrpSolution:
    return solve_ortools(
        inst, time_limit_s=time_limit_s, initial=initial, on_improve=on_improve, should_stop=should_stop
    )
