"""One whole-instance OR-Tools search in its own process, raced against the decomposition.

Which of the two wins depends on the instance, not only on its size: measured at 30 s, a single
GLS model reached 3.0 % above the best known on X-n401 and 1.4 % on X-n502 but 6.8 % on X-n303,
where the sectors did better. With two cores both run, one each, and the better plan is kept. Only
up to ``RACE_MAX`` stops: above that the single model rarely wins (9.7 % on X-n1001 alone) and
costs the decomposition its second core, and one model of a 2,000-stop day needs more than 500 MB.
"""

from __future__ import annotations

import queue
import time
from multiprocessing import get_context
from typing import Any

from station.planning.instance import VrpInstance, VrpSolution
from station.planning.ortools_solver import solve_ortools

RACE_MAX = 550

_CTX = get_context("spawn")


def _run(inst: VrpInstance, deadline: float, initial: list[list[int]] | None, out: Any, stop: Any) -> None:
    # ``deadline`` is wall-clock (time.time) so the child's start-up counts against the limit.
    def improved(_elapsed: float, cost: int) -> None:
        out.put(("progress", time.time(), cost))

    limit = max(0.2, deadline - time.time())
    sol = solve_ortools(inst, time_limit_s=limit, initial=initial, on_improve=improved, should_stop=stop.is_set)
    out.put(("done", time.time(), sol))


class DirectRun:
    """The whole instance in one OR-Tools model, in a spawned process."""

    def __init__(self, inst: VrpInstance, time_limit_s: float, initial: list[list[int]] | None) -> None:
        self.started = time.time()
        self._out = _CTX.Queue()
        self._stop = _CTX.Event()
        self.best: int | None = None
        self.first_at: float | None = None
        self.result: VrpSolution | None = None
        self._process = _CTX.Process(
            target=_run,
            args=(inst, self.started + time_limit_s, initial, self._out, self._stop),
            name="station-planner-direct",
        )
        self._process.start()

    def poll(self, block_s: float = 0.0) -> None:
        """Take the messages that arrived; ``best`` and ``result`` are updated."""
        while self.result is None:
            try:
                kind, at, value = self._out.get(timeout=block_s) if block_s else self._out.get_nowait()
            except queue.Empty:
                return
            block_s = 0.0
            if self.first_at is None:
                self.first_at = at - self.started
            if kind == "progress":
                self.best = value if self.best is None else min(self.best, value)
            else:
                self.result = value

    def finish(self, timeout: float = 10.0) -> VrpSolution | None:
        """Stop the search now and return its best solution (None if it produced none in time)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        while self.result is None and time.monotonic() < deadline:
            self.poll(block_s=0.1)
            if self.result is None and not self._process.is_alive():
                self.poll()
                break
        self._process.join(timeout=1)
        if self._process.is_alive():
            self._process.terminate()
        return self.result
