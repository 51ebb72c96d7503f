"""Running ``plan_day`` in a separate process so a Textual screen never freezes.

OR-Tools holds the GIL for the whole search (measured: two solves in two threads used one core), so
a thread would freeze the dock screen; a *process* (spawn, so no inherited Textual state or
threads) does not. The worker reports progress points and finally the plan (or the error) on a
queue; stopping sets an event the search polls, and the search returns its best plan so far.
The worker stops by itself if the station process that started it disappears.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from dataclasses import replace
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Any

from station.errors import PlanningError, StationError
from station.model import Plan
from station.planning.problem import PlanningProblem, PlanProgress

_CTX = mp.get_context("spawn")


def _work(problem: PlanningProblem, time_limit_s: float, out: Any, stop: Event, parent: int) -> None:
    from station.planning.day import plan_day

    def should_stop() -> bool:
        return stop.is_set() or os.getppid() != parent

    try:
        plan = plan_day(problem, time_limit_s=time_limit_s, on_progress=out.put, should_stop=should_stop)
        out.put(("plan", plan))
    except StationError as exc:
        out.put(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - any crash must reach the screen as a PlanningError
        out.put(("error", f"the planner crashed: {type(exc).__name__}: {exc}"))


class PlanningJob:
    """One planning run in a worker process. Not thread-safe: use it from the screen's thread."""

    def __init__(self, process: SpawnProcess, out: Any, stop: Event) -> None:
        self._process = process
        self._out = out
        self._stop = stop
        self._progress: list[PlanProgress] = []
        self._outcome: tuple[str, Any] | None = None

    @classmethod
    def start(cls, problem: PlanningProblem, *, time_limit_s: float) -> PlanningJob:
        out = _CTX.Queue()
        stop = _CTX.Event()
        # Not a daemon: the worker starts its own sector processes, which daemons may not.
        # A caller's read-only mapping (MappingProxyType) cannot be pickled to the worker.
        problem = replace(problem, locked=dict(problem.locked))
        process = _CTX.Process(
            target=_work, args=(problem, time_limit_s, out, stop, os.getpid()), name="station-planner"
        )
        process.start()
        return cls(process, out, stop)

    def _drain(self, block_s: float | None = 0.0) -> None:
        while self._outcome is None:
            try:
                if block_s == 0.0:
                    item = self._out.get_nowait()
                else:
                    item = self._out.get(timeout=block_s)
            except queue.Empty:
                return
            if isinstance(item, PlanProgress):
                self._progress.append(item)
            else:
                self._outcome = item
            block_s = 0.0  # one blocking wait at most; then take what is already there

    def progress(self) -> list[PlanProgress]:
        """The (elapsed_s, best_cost) points so far; never blocks."""
        self._drain()
        return list(self._progress)

    def stop(self) -> None:
        """Ask the search to end now; ``result()`` then returns the best plan found so far."""
        self._stop.set()

    def done(self) -> bool:
        self._drain()
        return self._outcome is not None or not self._process.is_alive()

    def result(self, timeout: float | None = None) -> Plan:
        """The plan; raises PlanningError if the planner failed, TimeoutError if not done in ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._outcome is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("planning is still running")
            self._drain(block_s=0.2 if left is None else max(0.01, min(0.2, left)))
            if self._outcome is None and not self._process.is_alive():
                self._drain()  # the last message may have arrived just before the exit
                if self._outcome is None:
                    raise PlanningError(f"the planner stopped without a plan (exit code {self._process.exitcode})")
        self._process.join(timeout=5)
        kind, value = self._outcome
        if kind == "error":
            raise PlanningError(str(value))
        assert isinstance(value, Plan)
        return value
