"""Large days on two cores: sectors solved separately, then improved across sector borders.

OR-Tools' guided local search stops paying off from a few hundred stops (measured on CVRPLIB X: from
~400 customers it barely improves its first local optimum) and one model of 2,000 stops costs over
500 MB. So a large instance is never put into one OR-Tools model:

1. **Sectors.** Customers are cut by polar angle around the depot into sectors of about
   ``SECTOR_SIZE``; vehicles are shared out by the demand each sector has to carry; each sector
   is solved (first solution, then GLS) in a worker process.
2. **Across borders.** The routes are ordered by the angle of their centre and cut into groups of
   about ``GROUP_SIZE`` customers; each group (its routes, a spare vehicle or two, and customers
   not yet placed nearby) is re-solved from its current routes and kept if cheaper. The cut
   points move every round, so every border between two groups is crossed in a later round.

Groups are disjoint, so results of parallel workers never conflict. Each call in a worker is
short (a few seconds) so that a stop request is honoured within one slice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context

import numpy as np
from numpy.typing import NDArray

from station.planning.instance import Load, VrpInstance, VrpSolution, route_cost
from station.planning.ortools_solver import ImproveCallback, StopCheck, solve_ortools
from station.planning.race import RACE_MAX, DirectRun

DIRECT_MAX = 200  # up to this many customers one OR-Tools model with GLS does well
SECTOR_SIZE = 120
GROUP_SIZE = 120
SLICE_S = 2.0  # one improvement call; also the latency of a stop request
INITIAL_SHARE = 0.25  # of the time limit spent on the sectors' first plans...
INITIAL_MAX_S = 6.0  # ...but no more than this: the dock wants a first plan early
# Without a drop penalty every customer must be visited; inside a part leaving one out is only
# a last resort that the next round repairs.
PART_DROP_PENALTY = 10**9


def sub_instance(inst: VrpInstance, nodes: list[int], vehicles: list[int], *, may_drop: bool = True) -> VrpInstance:
    """The instance restricted to ``nodes`` (customers) and ``vehicles``; node 0 stays the depot.

    ``may_drop`` lets a part leave customers out even when the whole instance may not (at a
    prohibitive cost); without that need it is off, as disjunctions slow OR-Tools' search
    (measured: 3 % worse after 1 s on a 130-customer part).
    """
    if inst.drop_penalty is not None:
        penalty: int | None = inst.drop_penalty
    else:
        penalty = PART_DROP_PENALTY if may_drop else None
    idx = np.array([0, *nodes])
    vmap = {v: k for k, v in enumerate(vehicles)}
    local = {g: k for k, g in enumerate(idx.tolist())}
    allowed = {}
    for g, vs in inst.allowed.items():
        if g in local:
            allowed[local[g]] = tuple(vmap[v] for v in vs if v in vmap)
    return VrpInstance(
        distance=inst.distance[np.ix_(idx, idx)],
        loads=tuple(Load(ld.name, ld.demand[idx], tuple(ld.capacity[v] for v in vehicles)) for ld in inst.loads),
        num_vehicles=len(vehicles),
        xy=inst.xy[idx],
        duration=inst.duration[np.ix_(idx, idx)] if inst.duration is not None else None,
        service=inst.service[idx] if inst.service is not None else None,
        windows=inst.windows[idx] if inst.windows is not None else None,
        shifts=tuple(inst.shifts[v] for v in vehicles) if inst.shifts is not None else None,
        fixed_costs=tuple(inst.fixed_costs[v] for v in vehicles) if inst.fixed_costs is not None else None,
        drop_penalty=penalty,
        allowed=allowed,
    )


def _solve_part(sub: VrpInstance, limit_s: float, initial: list[list[int]] | None) -> VrpSolution:
    # On short, small parts with any windows PARALLEL_CHEAPEST_INSERTION made the better start
    # (120-stop sectors of a hub day, 1 s and 4 s: 1-3 % ahead of PATH_CHEAPEST_ARC and SAVINGS).
    first = "PARALLEL_CHEAPEST_INSERTION" if sub.windows is not None else None
    return solve_ortools(sub, time_limit_s=limit_s, initial=initial, first_solution=first)


def _angles(inst: VrpInstance, nodes: list[int] | NDArray[np.int64]) -> NDArray[np.float64]:
    d = inst.xy[np.asarray(nodes)] - inst.xy[0]
    out: NDArray[np.float64] = np.arctan2(d[:, 1], d[:, 0])
    return out


def _sectors(inst: VrpInstance, k: int) -> tuple[list[list[int]], list[list[int]]]:
    """Customers by angle into ``k`` sectors of equal demand, and vehicles shared out by demand."""
    customers = np.arange(1, inst.size)
    order = customers[np.argsort(_angles(inst, customers))]
    weight = np.maximum(inst.loads[0].demand[order], 0).astype(float) + 1e-9
    share = np.cumsum(weight) / weight.sum()
    part = np.minimum((share * k - 1e-9).astype(int), k - 1)
    sectors = [order[part == s].tolist() for s in range(k)]
    # Give each vehicle, biggest first, to the sector whose demand is least covered so far.
    need = np.array([[float(ld.demand[s].sum()) if s else 0.0 for ld in inst.loads] for s in sectors])
    got = np.zeros_like(need)
    fleet: list[list[int]] = [[] for _ in range(k)]
    caps = np.array([[float(ld.capacity[v]) for ld in inst.loads] for v in range(inst.num_vehicles)])
    locked_home: dict[int, int] = {}
    for v in sorted(range(inst.num_vehicles), key=lambda v: -caps[v, 0]):
        short = ((need - got) / np.maximum(need, 1)).max(axis=1)
        s = int(np.argmax(short))
        fleet[s].append(v)
        got[s] += caps[v]
        locked_home[v] = s
    # Locked customers go to the sector that got their vehicle.
    for node, vs in inst.allowed.items():
        home = locked_home[vs[0]]
        for sec in sectors:
            if node in sec:
                sec.remove(node)
        sectors[home].append(node)
    return sectors, fleet


class _Pool:
    """A small process pool that exists only for one large solve."""

    def __init__(self, workers: int, tick: Callable[[], None] | None = None) -> None:
        self.workers = max(1, workers)
        self.tick = tick  # called while waiting, so the race's progress reaches the screen
        self.ex = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"))

    def run(
        self, jobs: Sequence[tuple[VrpInstance, float, list[list[int]] | None]], stop: StopCheck | None = None
    ) -> list[VrpSolution | None]:
        """Results in job order; when ``stop`` turns true, jobs not yet started are dropped (None)."""
        futures: list[Future[VrpSolution]] = [self.ex.submit(_solve_part, *job) for job in jobs]
        pending = set(futures)
        while pending:
            _done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if self.tick is not None:
                self.tick()
            if stop is not None and stop():
                for f in pending:
                    f.cancel()  # running ones end within their slice; their result is still used
                wait([f for f in pending if not f.cancelled()])
                break
        return [f.result() if f.done() and not f.cancelled() else None for f in futures]

    def close(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


def solve_decomposed(
    inst: VrpInstance,
    *,
    time_limit_s: float,
    initial: list[list[int]] | None,
    workers: int,
    on_improve: ImproveCallback | None,
    should_stop: StopCheck | None,
) -> VrpSolution:
    t0 = time.monotonic()
    deadline = t0 + time_limit_s
    stop = should_stop or (lambda: False)
    direct = None
    if workers >= 2 and inst.size - 1 <= RACE_MAX:
        direct = DirectRun(inst, time_limit_s, initial)
        workers -= 1
    reported = [float("inf")]

    def report(cost: float) -> None:
        if direct is not None:
            direct.poll()
            if direct.best is not None:
                cost = min(cost, direct.best)
        if cost < reported[0]:
            reported[0] = cost
            if on_improve is not None:
                on_improve(time.monotonic() - t0, int(cost))

    pool = _Pool(workers, tick=lambda: report(reported[0]))
    try:
        if initial is not None:
            routes = [list(r) for r in initial] + [[] for _ in range(inst.num_vehicles - len(initial))]
        else:
            routes = _initial(inst, pool, time_limit_s)
        placed = {c for r in routes for c in r}
        dropped = [c for c in range(1, inst.size) if c not in placed]
        best = _cost(inst, routes, dropped)
        first = time.monotonic() - t0
        report(best)
        rnd = 0
        while time.monotonic() < deadline - 0.5 and not stop():
            groups = _groups(inst, routes, dropped, rnd)
            rnd += 1
            left = deadline - time.monotonic()
            # A round must fit in the time left: each worker takes ceil(groups / workers) slices.
            slice_s = max(0.5, min(SLICE_S, left / math.ceil(len(groups) / pool.workers)))
            jobs = []
            missing = set(dropped)
            for nodes, vehicles in groups:
                sub = sub_instance(inst, nodes, vehicles, may_drop=bool(missing.intersection(nodes)))
                local = {g: k for k, g in enumerate(nodes, start=1)}
                init = [[local[c] for c in routes[v]] for v in vehicles]
                jobs.append((sub, slice_s, init))
            results = pool.run(jobs, stop)
            for (nodes, vehicles), sol in zip(groups, results, strict=True):
                if sol is None or not sol.routes:
                    continue
                old = [routes[v] for v in vehicles]
                old_nodes = set(nodes)
                old_dropped = [c for c in dropped if c in old_nodes]
                new = [[nodes[c - 1] for c in r] for r in sol.routes]
                new_dropped = [nodes[c - 1] for c in sol.dropped if c]
                if _part_cost(inst, new, vehicles, new_dropped) < _part_cost(inst, old, vehicles, old_dropped):
                    for v, r in zip(vehicles, new, strict=True):
                        routes[v] = r
                    dropped = [c for c in dropped if c not in old_nodes] + new_dropped
            best = min(best, _cost(inst, routes, dropped))
            report(best)
    finally:
        pool.close()
        other = direct.finish() if direct is not None else None
    if direct is not None and direct.first_at is not None:
        first = min(first, direct.first_at)
    if other is not None and other.routes and _cost(inst, other.routes, other.dropped) < best:
        report(_cost(inst, other.routes, other.dropped))
        other.first_feasible_s = first
        other.seconds = time.monotonic() - t0
        return other
    return VrpSolution(
        routes=routes,
        dropped=dropped,
        cost=route_cost(inst, routes, dropped),
        first_feasible_s=first,
        seconds=time.monotonic() - t0,
    )


def _cost(inst: VrpInstance, routes: list[list[int]], dropped: list[int]) -> int:
    penalty = inst.drop_penalty if inst.drop_penalty is not None else PART_DROP_PENALTY
    return route_cost(inst, routes, []) + penalty * len(dropped)


def _part_cost(inst: VrpInstance, routes: list[list[int]], vehicles: list[int], dropped: list[int]) -> int:
    penalty = inst.drop_penalty if inst.drop_penalty is not None else PART_DROP_PENALTY
    total = penalty * len(dropped)
    for v, r in zip(vehicles, routes, strict=True):
        if r:
            path = [0, *r, 0]
            total += int(inst.distance[path[:-1], path[1:]].sum())
            if inst.fixed_costs is not None:
                total += inst.fixed_costs[v]
    return total


def _initial(inst: VrpInstance, pool: _Pool, time_limit_s: float) -> list[list[int]]:
    k = max(2, math.ceil((inst.size - 1) / SECTOR_SIZE))
    sectors, fleet = _sectors(inst, k)
    budget = min(INITIAL_SHARE * time_limit_s, INITIAL_MAX_S) * pool.workers / k
    jobs = [
        (sub_instance(inst, nodes, vehicles), budget, None)
        for nodes, vehicles in zip(sectors, fleet, strict=True)
        if nodes and vehicles
    ]
    used = [(nodes, vehicles) for nodes, vehicles in zip(sectors, fleet, strict=True) if nodes and vehicles]
    routes: list[list[int]] = [[] for _ in range(inst.num_vehicles)]
    for (nodes, vehicles), sol in zip(used, pool.run(jobs), strict=True):
        assert sol is not None  # no stop check here: a first plan needs every sector
        for v, r in zip(vehicles, sol.routes, strict=False):
            routes[v] = [nodes[c - 1] for c in r]
    return routes


def _groups(
    inst: VrpInstance, routes: list[list[int]], dropped: list[int], rnd: int
) -> list[tuple[list[int], list[int]]]:
    """Disjoint groups of neighbouring routes (by angle of their centre), shifted every round."""
    used = [v for v, r in enumerate(routes) if r]
    spare = [v for v, r in enumerate(routes) if not r]
    if not used:
        return [(list(dropped), spare)] if dropped and spare else []
    centre = np.array([inst.xy[routes[v]].mean(axis=0) for v in used]) - inst.xy[0]
    order = [used[i] for i in np.argsort(np.arctan2(centre[:, 1], centre[:, 0]))]
    sizes = [len(routes[v]) for v in order]
    total = sum(sizes)
    n_groups = max(1, round(total / GROUP_SIZE))
    # Rotate the start by a fraction of a group every round so borders move.
    per = total / n_groups
    offset = int((rnd * 0.5 * per) % max(1, total)) if n_groups > 1 else 0
    cum = np.cumsum(sizes) - np.array(sizes)  # where each route starts along the circle
    key = ((cum - offset) % total // per).astype(int)
    groups: list[tuple[list[int], list[int]]] = []
    for g in range(n_groups):
        vehicles = [v for v, k in zip(order, key, strict=True) if k == g]
        if vehicles:
            groups.append(([c for v in vehicles for c in routes[v]], vehicles))
    # Spare vehicles and unplaced customers join the nearest group (by angle).
    gang = [np.arctan2(*(inst.xy[nodes].mean(axis=0) - inst.xy[0])[::-1]) for nodes, _ in groups]
    for i, v in enumerate(spare):
        groups[(i + rnd) % len(groups)][1].append(v)
    for c in dropped:
        a = _angles(inst, [c])[0]
        diff = [abs(math.remainder(a - b, 2 * math.pi)) for b in gang]
        g = int(np.argmin(diff))
        if inst.allowed.get(c) and not set(inst.allowed[c]) & set(groups[g][1]):
            g = next((k for k, (_, vs) in enumerate(groups) if set(inst.allowed[c]) & set(vs)), g)
        groups[g][0].append(c)
    return groups
