"""How a :class:`VrpInstance` is searched: which engine, on how many cores, and the final repair.

This is the one entry point both the city day and the benchmark call (``solve``). Backends:

- ``"auto"`` (the default): PyVRP, on both cores (``seeds.py``) when the day is big enough to pay
  for a second process and a second core is idle (``second_core_free``), else one search.
- ``"pyvrp"``: one PyVRP search in this process.
- ``"ortools"``: OR-Tools; one model when small, sectors on two cores when large (``decompose``).

Whatever the engine returns goes through ``repair.repair``: locked nodes end in their vehicle,
every limit is kept, and every node an engine left out is tried once more by cheapest insertion.
When an engine found nothing at all, the plan is built by cheapest insertion alone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from station.planning.instance import VrpInstance, VrpSolution, route_cost
from station.planning.ortools_solver import solve_ortools
from station.planning.repair import construct, repair

log = logging.getLogger(__name__)

ImproveCallback = Callable[[float, int], None]
StopCheck = Callable[[], bool]

BACKENDS = ("auto", "pyvrp", "ortools")
# Below this many customers a second process costs more (about a second to start) than it brings.
TWO_SEEDS_MIN = 60


def second_core_free(window_s: float = 0.1) -> bool:
    """True when a second search would get a core of its own rather than halve the first one's.

    Measured on the shared 2-core bench machine (Linux autogroup: CPU is shared per session, not
    per process): when others kept both cores busy, two seeds in two processes were worse than one
    search on all six held-out X instances measured (docs/planning.md), as each got half the CPU.
    So the cores' idle time is measured over ``window_s`` now: a core and a half idle (this
    process is waiting here, so on a quiet machine every core is). The load average was used
    first and was wrong both ways: it trails the CPU by a minute, so a day planned right after
    another one (or after a benchmark's previous instance) saw its own past load and ran one
    search on a free machine. Without ``/proc/stat`` (not Linux) the load average stands in.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return False
    try:
        before = _cpu_times()
        time.sleep(window_s)
        after = _cpu_times()
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0] <= cores - 1
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])  # idle + iowait
    if total <= 0:
        return True
    # The ``cpu`` line sums every online core: the idle share times their number is idle cores.
    idle_cores = idle / total * (os.cpu_count() or cores)
    return idle_cores >= 1.5


def _cpu_times() -> list[int]:
    """The machine's CPU time so far, by kind (``cpu`` line of ``/proc/stat``, in ticks)."""
    with open("/proc/stat") as f:
        first = f.readline().split()
    return [int(x) for x in first[1:8]]


def solve(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    backend: str = "auto",
    initial: list[list[int]] | None = None,
    workers: int = 2,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
) -> VrpSolution:
    """Best solution found for ``inst`` within ``time_limit_s`` (wall clock, not counting start-up)."""
    t0 = time.monotonic()
    reported: list[int] = []

    def improved(elapsed: float, cost: int) -> None:
        reported.append(cost)
        if on_improve is not None:
            on_improve(elapsed, cost)

    sol = _engine(inst, time_limit_s, backend, initial, workers, improved, should_stop)
    if sol.routes:
        routes, dropped, violations = repair(inst, sol.routes, sol.dropped)
    else:
        log.warning("the %s search found no plan in %.1f s; building one by cheapest insertion", backend, time_limit_s)
        routes, dropped, violations = construct(inst)
    cost = route_cost(inst, routes, dropped)
    if sol.routes and cost != sol.cost:
        log.info("repair changed the %s plan's cost from %d to %d", sol.backend, sol.cost, cost)
    # PyVRP searches without the locks, so its points can be below the plan that keeps them;
    # the last point is always the plan's own cost.
    if not reported or reported[-1] != cost:
        improved(time.monotonic() - t0, cost)
    return VrpSolution(
        routes=routes,
        dropped=dropped,
        cost=cost,
        first_feasible_s=sol.first_feasible_s,
        seconds=time.monotonic() - t0,
        backend=sol.backend,
        violations=violations,
    )


def _engine(
    inst: VrpInstance,
    time_limit_s: float,
    backend: str,
    initial: list[list[int]] | None,
    workers: int,
    on_improve: ImproveCallback | None,
    should_stop: StopCheck | None,
) -> VrpSolution:
    if backend not in BACKENDS:
        raise ValueError(f"unknown planning backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto" and workers >= 2 and inst.size - 1 >= TWO_SEEDS_MIN and second_core_free():
        from station.planning.seeds import solve_two_seeds

        return solve_two_seeds(
            inst, time_limit_s=time_limit_s, initial=initial, on_improve=on_improve, should_stop=should_stop
        )
    if backend in ("auto", "pyvrp"):
        from station.planning.pyvrp_solver import solve_pyvrp

        return solve_pyvrp(
            inst,
            time_limit_s=time_limit_s,
            initial=initial,
            on_improve=on_improve,
            should_stop=should_stop,
            seed=1,
        )
    from station.planning.decompose import DIRECT_MAX, solve_decomposed

    if inst.size - 1 <= DIRECT_MAX or workers < 1:
        return solve_ortools(
            inst, time_limit_s=time_limit_s, initial=initial, on_improve=on_improve, should_stop=should_stop
        )
    return solve_decomposed(
        inst,
        time_limit_s=time_limit_s,
        initial=initial,
        workers=workers,
        on_improve=on_improve,
        should_stop=should_stop,
    )
