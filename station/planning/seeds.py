"""Both cores on one day: two PyVRP searches with different seeds, one in a worker process.

PyVRP's search is single-threaded, and two runs that differ only in their seed end on different
local optima; keeping the better one is the cheapest use of the second core (the plan a lead gets
is the better of two). The worker reports each improvement on a queue, so the progress the
station shows is the best of both. The search in this process decides when the day is done: at
the time limit, the stop button, or when neither search has improved the better plan for a while
(the stall rule of ``pyvrp_solver``, on the best of both); then the worker is told to stop. The
worker also stops by itself at the limit or when its own search stalls.
"""

from __future__ import annotations

import queue
import time
from multiprocessing import get_context
from typing import Any

from station.planning.instance import VrpInstance, VrpSolution
from station.planning.pyvrp_solver import ImproveCallback, StopCheck, solve_pyvrp

_CTX = get_context("spawn")


def _work(inst: VrpInstance, deadline: float, initial: list[list[int]] | None, seed: int, out: Any, stop: Any) -> None:
    # ``deadline`` is wall-clock (time.time) so the worker's start-up counts against the limit.
    def improved(_elapsed: float, cost: int) -> None:
        out.put(("progress", cost))

    limit = max(0.1, deadline - time.time())
    sol = solve_pyvrp(
        inst, time_limit_s=limit, initial=initial, seed=seed, on_improve=improved, should_stop=stop.is_set
    )
    out.put(("done", sol))


def solve_two_seeds(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    initial: list[list[int]] | None = None,
    on_improve: ImproveCallback | None = None,
    should_stop: StopCheck | None = None,
) -> VrpSolution:
    """The better of PyVRP with seed 1 here and seed 2 in a worker process, both within ``time_limit_s``."""
    t0 = time.monotonic()
    out = _CTX.Queue()
    stop = _CTX.Event()
    worker = _CTX.Process(
        target=_work,
        args=(inst, time.time() + time_limit_s, initial, 2, out, stop),
        name="station-planner-seed",
    )
    worker.start()
    state: dict[str, Any] = {"best": float("inf"), "result": None}

    def report(cost: float) -> None:
        if cost < state["best"]:
            state["best"] = cost
            if on_improve is not None:
                on_improve(time.monotonic() - t0, int(cost))

    def drain(block_s: float = 0.0) -> None:
        while state["result"] is None:
            try:
                kind, value = out.get(timeout=block_s) if block_s else out.get_nowait()
            except queue.Empty:
                return
            block_s = 0.0
            if kind == "progress":
                report(value)
            else:
                state["result"] = value

    polled = [0.0]

    def here_stop() -> bool:
        # Called at every PyVRP iteration: look at the worker's queue a few times a second only.
        now = time.monotonic()
        if now - polled[0] >= 0.1:
            polled[0] = now
            drain()
        return should_stop is not None and should_stop()

    mine = solve_pyvrp(
        inst,
        time_limit_s=time_limit_s,
        initial=initial,
        seed=1,
        on_improve=lambda _s, cost: report(cost),
        should_stop=here_stop,
        best_elsewhere=lambda: state["best"],
    )
    # This search ended at the limit, by the stop button, or because neither search improves the
    # day's best any more: the worker's search is done too. Its answer is awaited, never much
    # past the limit.
    stop.set()
    deadline = time.monotonic() + 5.0
    while state["result"] is None and time.monotonic() < deadline:
        drain(block_s=0.1)
        if state["result"] is None and not worker.is_alive():
            drain()
            break
    worker.join(timeout=2)
    if worker.is_alive():
        worker.terminate()
    other: VrpSolution | None = state["result"]
    candidates = [s for s in (mine, other) if s is not None and s.routes]
    best = min(candidates, key=lambda s: s.cost) if candidates else mine
    firsts = [s.first_feasible_s for s in candidates if s.first_feasible_s is not None]
    best.first_feasible_s = min(firsts, default=None)
    best.backend = "pyvrp x2"
    return best
