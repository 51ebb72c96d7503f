"""The solver core on matrix instances: optimum on a tiny CVRP, windows, decomposition, backends."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import station.planning.decompose as decompose
import station.planning.search as search
from station.model import Hub, Parcel, Van
from station.planning import PlanningProblem, PlanningSettings, plan_day
from station.planning.instance import Load, VrpInstance, VrpSolution, route_cost
from station.planning.pyvrp_solver import STALL_ITERATIONS, Criterion
from station.planning.search import solve

pytestmark = pytest.mark.slow  # runs the planning solver


def cvrp(n: int, seed: int, capacity: int, vehicles: int) -> VrpInstance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n + 1, 2))
    dist = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    demand = np.concatenate([[0], rng.integers(1, 10, n)]).astype(np.int64)
    return VrpInstance(dist, (Load("q", demand, (capacity,) * vehicles),), vehicles, xy)


def optimum(inst: VrpInstance) -> int:
    """Exact CVRP optimum by dynamic programming over subsets (tiny instances only)."""
    n = inst.size - 1
    d = inst.distance.tolist()
    q = inst.loads[0].demand.tolist()
    cap = inst.loads[0].capacity[0]

    @cache
    def tsp(subset: frozenset[int]) -> float:
        best = float("inf")
        for order in itertools.permutations(subset):
            path = [0, *order, 0]
            best = min(best, sum(d[a][b] for a, b in itertools.pairwise(path)))
        return best

    @cache
    def cover(left: frozenset[int]) -> float:
        if not left:
            return 0
        first = min(left)
        rest = sorted(left - {first})
        best = float("inf")
        for k in range(len(rest) + 1):
            for extra in itertools.combinations(rest, k):
                route = frozenset((first, *extra))
                if sum(q[i] for i in route) <= cap:
                    best = min(best, tsp(route) + cover(left - route))
        return best

    return int(cover(frozenset(range(1, n + 1))))


def check_feasible(inst: VrpInstance, sol: VrpSolution) -> None:
    visits = sorted(c for r in sol.routes for c in r)
    assert visits == list(range(1, inst.size)), "every customer exactly once"
    for load in inst.loads:
        for v, r in enumerate(sol.routes):
            assert int(load.demand[r].sum()) <= load.capacity[v]
    assert sol.cost == route_cost(inst, sol.routes, sol.dropped)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tiny_cvrp_is_solved_to_optimum(seed: int) -> None:
    inst = cvrp(7, seed, capacity=15, vehicles=4)
    sol = solve(inst, time_limit_s=1.0)
    check_feasible(inst, sol)
    assert sol.cost == optimum(inst)


def test_time_windows_are_respected() -> None:
    inst = cvrp(30, 5, capacity=60, vehicles=6)
    rng = np.random.default_rng(5)
    opens = rng.integers(0, 300, inst.size)
    windows = np.stack([opens, opens + 120], axis=1).astype(np.int64)
    windows[0] = (0, 1000)
    service = np.full(inst.size, 10, dtype=np.int64)
    service[0] = 0
    tw = VrpInstance(
        inst.distance,
        inst.loads,
        inst.num_vehicles,
        inst.xy,
        duration=inst.distance,
        service=service,
        windows=windows,
        drop_penalty=100_000,
    )
    sol = solve(tw, time_limit_s=1.0)
    for r in sol.routes:
        clock, here = 0, 0
        for c in r:
            clock = max(clock + int(tw.distance[here, c]) + int(service[here]), int(windows[c, 0]))
            assert clock <= windows[c, 1]
            here = c
        assert clock + service[here] + tw.distance[here, 0] <= 1000


@pytest.mark.parametrize("race", [False, True], ids=["sectors-only", "raced-with-one-model"])
def test_decomposition_visits_everyone_once_and_keeps_locks(monkeypatch: pytest.MonkeyPatch, race: bool) -> None:
    # Small sizes so a 90-customer instance takes the large-day path (sectors, then groups).
    monkeypatch.setattr(decompose, "DIRECT_MAX", 20)
    monkeypatch.setattr(decompose, "RACE_MAX", 1000 if race else 0)
    monkeypatch.setattr(decompose, "SECTOR_SIZE", 30)
    monkeypatch.setattr(decompose, "GROUP_SIZE", 25)
    monkeypatch.setattr(decompose, "SLICE_S", 0.5)
    base = cvrp(90, 11, capacity=40, vehicles=14)
    locks: dict[int, tuple[int, ...]] = {5: (3,), 17: (3,), 40: (9,)}
    inst = VrpInstance(base.distance, base.loads, base.num_vehicles, base.xy, allowed=locks)
    progress: list[tuple[float, int]] = []
    sol = solve(inst, time_limit_s=4.0, backend="ortools", on_improve=lambda t, c: progress.append((t, c)))
    check_feasible(inst, sol)
    for node, (vehicle,) in locks.items():
        assert node in sol.routes[vehicle]
    assert progress and progress[-1][1] == sol.cost
    assert sol.first_feasible_s is not None  # how soon is a bench figure, not a test (any CPU)


@pytest.mark.parametrize("backend", ["auto", "pyvrp", "ortools"])
@pytest.mark.parametrize("time_limit_s", [0.0, 2.0])
def test_every_backend_keeps_locks_whatever_the_time(backend: str, time_limit_s: float) -> None:
    base = cvrp(90, 11, capacity=40, vehicles=14)
    locks: dict[int, tuple[int, ...]] = {5: (3,), 17: (3,), 40: (9,), 41: (9,), 60: (0,)}
    inst = VrpInstance(base.distance, base.loads, base.num_vehicles, base.xy, allowed=locks)
    progress: list[tuple[float, int]] = []
    sol = solve(inst, time_limit_s=time_limit_s, backend=backend, on_improve=lambda t, c: progress.append((t, c)))
    check_feasible(inst, sol)
    for node, (vehicle,) in locks.items():
        assert node in sol.routes[vehicle]
    assert not sol.violations
    assert progress and progress[-1][1] == sol.cost


@pytest.mark.parametrize(
    ("idle_ticks", "free"),
    [(200, True), (150, True), (100, False), (0, False)],
    ids=["both-idle", "one-and-a-half-idle", "one-core-busy", "both-busy"],
)
def test_second_core_free_measures_idle_cores_now(monkeypatch: pytest.MonkeyPatch, idle_ticks: int, free: bool) -> None:
    # Two cores, 200 ticks of CPU time in the window; the load average says "busy" throughout,
    # as it does for a minute after a plan: the measurement now decides, not the past.
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    samples = iter([[1000, 0, 0, 5000, 0, 0, 0], [1000 + 200 - idle_ticks, 0, 0, 5000 + idle_ticks, 0, 0, 0]])
    monkeypatch.setattr(search, "_cpu_times", lambda: next(samples))
    assert search.second_core_free(window_s=0) is free


def test_second_core_free_without_proc_stat_reads_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> list[int]:
        raise OSError("no /proc/stat")

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(search, "_cpu_times", missing)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert search.second_core_free(window_s=0) is True
    monkeypatch.setattr(os, "getloadavg", lambda: (1.8, 1.8, 1.8))
    assert search.second_core_free(window_s=0) is False


def test_one_core_never_runs_a_second_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert search.second_core_free(window_s=0) is False


def test_two_seeds_on_two_cores_keep_locks_and_report_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "second_core_free", lambda: True)  # whatever the machine's load now
    base = cvrp(90, 11, capacity=40, vehicles=14)
    locks: dict[int, tuple[int, ...]] = {5: (3,), 17: (3,), 40: (9,)}
    inst = VrpInstance(base.distance, base.loads, base.num_vehicles, base.xy, allowed=locks)
    progress: list[tuple[float, int]] = []
    sol = solve(inst, time_limit_s=3.0, on_improve=lambda t, c: progress.append((t, c)))
    assert sol.backend == "pyvrp x2"
    check_feasible(inst, sol)
    for node, (vehicle,) in locks.items():
        assert node in sol.routes[vehicle]
    assert progress and progress[-1][1] == sol.cost


def test_pyvrp_backend_solves_the_same_instance() -> None:
    pytest.importorskip("pyvrp")
    inst = cvrp(7, 1, capacity=15, vehicles=4)
    sol = solve(inst, time_limit_s=0.5, backend="pyvrp")
    check_feasible(inst, sol)
    assert sol.cost == optimum(inst)
    with pytest.raises(ValueError, match="unknown planning backend"):
        solve(inst, time_limit_s=0.5, backend="gurobi")


def test_road_matrix_file_replaces_the_estimate(tmp_path: Path) -> None:
    hub = Hub("H", 52.0, 4.0)
    a = Parcel("A", "R", "1 A St", "1", 52.01, 4.0, 1.0)
    b = Parcel("B", "R", "2 B St", "1", 52.0, 4.01, 1.0)
    points = [(hub.lat, hub.lon), (a.lat, a.lon), (b.lat, b.lon)]
    osrm = {
        "sources": [{"location": [lon, lat]} for lat, lon in points],
        "distances": [[0, 5000, 7000], [5000, 0, 4000], [7000, 4000, 0]],
        "durations": [[0, 600, 800], [600, 0, 500], [800, 500, 0]],
    }
    path = tmp_path / "table.json"
    path.write_text(json.dumps(osrm))
    settings = PlanningSettings(matrix_file=str(path))
    plan = plan_day(PlanningProblem(hub, (Van("V1", 1, 5),), (a, b), settings=settings), time_limit_s=0.5)
    assert plan.routes[0].km == pytest.approx(16.0)  # 5 + 4 + 7 from the file, either direction


def _stops_at(own: Callable[[int], float], elsewhere: Callable[[int], float] | None) -> int | None:
    """The iteration at which the stall rule ends a search (1 ms each on its clock), if within 5,000."""
    i = 0
    criterion = Criterion(
        600,
        None,
        None,
        clients=10,
        best_elsewhere=None if elsewhere is None else lambda: elsewhere(i),
        clock=lambda: i * 0.001,
    )
    for i in range(1, 5001):  # noqa: B007 (the lambdas above read i)
        if criterion(own(i)):
            return i
    return None


def test_a_search_polishing_the_worse_plan_stops_when_the_better_one_stalls() -> None:
    # This search improves its own plan at every iteration, but it stays worse than the other
    # search's, which never moves: the day is done after the stall, not at the limit.
    stopped = _stops_at(lambda i: 200 - i * 0.01, lambda _i: 100)
    assert stopped is not None and stopped >= STALL_ITERATIONS


def test_a_search_goes_on_while_the_other_one_improves() -> None:
    assert _stops_at(lambda _i: 150, lambda i: 100 - i * 0.01) is None


def test_a_single_search_stalls_on_its_own_best() -> None:
    assert _stops_at(lambda i: 200 - i * 0.01, None) is None
    stopped = _stops_at(lambda _i: 150, None)
    assert stopped is not None and stopped >= STALL_ITERATIONS
