"""The last word on a plan, whatever engine made it and however little time it had: locks, room, time.

Owns three things no search is trusted with:

- the schedule of a route (arrival at each stop, waiting for windows, return to the hub) and
  whether it fits the vehicle's loads, the stops' windows and the shift;
- a cheapest feasible insertion of a node into the routes (the start of a day when an engine
  found nothing, and the place where every stop an engine left out is tried once more);
- :func:`repair`: a locked node ends in its vehicle, always. A node an engine put in another
  vehicle (or left out) is moved there, unlocked nodes make room if they can go elsewhere, and
  a vehicle whose locked nodes alone do not fit is reported as a :class:`Violation` rather
  than losing a parcel that is already on it.

Everything is in solver units on a :class:`VrpInstance`, so the hub day and the benchmark share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from station.planning.instance import VrpInstance

_FAR = 2**62


@dataclass(frozen=True)
class Violation:
    """A vehicle that breaks a limit with its locked nodes alone.

    ``kind`` is ``"load"`` (``what`` names the load, ``amount`` and ``limit`` in its unit),
    ``"shift"`` (return time vs end of shift, seconds) or ``"window"`` (``what`` is the node,
    arrival vs the window's end, seconds).
    """

    vehicle: int
    kind: str
    what: str
    amount: int
    limit: int


class Routes:
    """A mutable working copy of a solution with the loads per vehicle kept up to date."""

    def __init__(self, inst: VrpInstance, routes: list[list[int]]) -> None:
        self.inst = inst
        nv = inst.num_vehicles
        self.routes = [list(r) for r in routes] + [[] for _ in range(nv - len(routes))]
        self.demand = np.stack([ld.demand for ld in inst.loads], axis=1) if inst.loads else np.zeros((inst.size, 0))
        self.cap = np.array([[ld.capacity[v] for ld in inst.loads] for v in range(nv)], dtype=np.int64).reshape(
            nv, len(inst.loads)
        )
        self.load = np.zeros_like(self.cap)
        for v, r in enumerate(self.routes):
            if r:
                self.load[v] = self.demand[r].sum(axis=0)

    # ------------------------------------------------------------ schedule

    def _shift(self, v: int) -> tuple[int, int]:
        inst = self.inst
        lo, hi = inst.shifts[v] if inst.shifts is not None else (0, _FAR)
        if inst.windows is not None:
            lo, hi = max(lo, int(inst.windows[0, 0])), min(hi, int(inst.windows[0, 1]))
        return lo, hi

    def time_faults(self, v: int, route: list[int]) -> list[Violation]:
        """Windows missed and a late return for ``route`` driven by vehicle ``v`` (empty when it fits)."""
        inst = self.inst
        if inst.duration is None or not route:
            return []
        lo, hi = self._shift(v)
        service = inst.service
        windows = inst.windows
        faults: list[Violation] = []
        clock, here = lo, 0
        for node in route:
            clock += int(inst.duration[here, node]) + (int(service[here]) if service is not None else 0)
            if windows is not None:
                if clock > windows[node, 1]:
                    faults.append(Violation(v, "window", str(node), clock, int(windows[node, 1])))
                clock = max(clock, int(windows[node, 0]))
            here = node
        clock += int(inst.duration[here, 0]) + (int(service[here]) if service is not None else 0)
        if clock > hi:
            faults.append(Violation(v, "shift", "", clock, hi))
        return faults

    def time_ok(self, v: int, route: list[int]) -> bool:
        return not self.time_faults(v, route)

    def load_faults(self, v: int) -> list[Violation]:
        return [
            Violation(v, "load", ld.name, int(self.load[v, k]), int(self.cap[v, k]))
            for k, ld in enumerate(self.inst.loads)
            if self.load[v, k] > self.cap[v, k]
        ]

    # ------------------------------------------------------------ moves

    def insert(self, node: int, v: int, pos: int) -> None:
        self.routes[v].insert(pos, node)
        self.load[v] += self.demand[node]

    def remove(self, node: int, v: int) -> None:
        self.routes[v].remove(node)
        self.load[v] -= self.demand[node]

    def best_insertion(self, node: int, vehicles: list[int], *, feasible: bool = True) -> tuple[int, int] | None:
        """(vehicle, position) of the cheapest insertion of ``node`` among ``vehicles``.

        With ``feasible`` only insertions that keep loads, windows and shift are considered
        (None when there is none); without, the cheapest by distance whatever it breaks.
        """
        inst = self.inst
        d = inst.distance
        if feasible:
            fits = np.all(self.load[vehicles] + self.demand[node] <= self.cap[vehicles], axis=1)
            vehicles = [v for v, ok in zip(vehicles, fits, strict=True) if ok]
        if not vehicles:
            return None
        owner: list[int] = []
        prev: list[int] = []
        nxt: list[int] = []
        position: list[int] = []
        for v in vehicles:
            r = self.routes[v]
            path = [0, *r, 0]
            owner.extend([v] * (len(r) + 1))
            prev.extend(path[:-1])
            nxt.extend(path[1:])
            position.extend(range(len(r) + 1))
        p, q = np.array(prev), np.array(nxt)
        delta = d[p, node] + d[node, q] - d[p, q]
        if inst.fixed_costs is not None:
            fixed = np.array(inst.fixed_costs)[np.array(owner)]
            delta = delta + np.where((p == 0) & (q == 0), fixed, 0)
        order = np.argsort(delta, kind="stable")
        if not feasible or inst.duration is None:
            k = int(order[0])
            return owner[k], position[k]
        for k in order.tolist():
            v, pos = owner[k], position[k]
            r = self.routes[v]
            if self.time_ok(v, [*r[:pos], node, *r[pos:]]):
                return v, pos
        return None

    def place(self, node: int, vehicles: list[int]) -> bool:
        """Insert ``node`` at its cheapest feasible place among ``vehicles``; False when none fits."""
        spot = self.best_insertion(node, vehicles)
        if spot is None:
            return False
        self.insert(node, *spot)
        return True


def _saving(inst: VrpInstance, route: list[int], node: int) -> int:
    """Distance saved by taking ``node`` out of ``route``."""
    i = route.index(node)
    a = route[i - 1] if i else 0
    b = route[i + 1] if i + 1 < len(route) else 0
    d = inst.distance
    return int(d[a, node] + d[node, b] - d[a, b])


def allowed_vehicles(inst: VrpInstance, node: int) -> list[int]:
    vs = inst.allowed.get(node)
    return list(vs) if vs else list(range(inst.num_vehicles))


def repair(
    inst: VrpInstance, routes: list[list[int]], dropped: list[int]
) -> tuple[list[list[int]], list[int], list[Violation]]:
    """Make ``routes`` keep every lock and every limit it can; try every left-out node once more.

    Returns the routes, the nodes still left out, and the vehicles whose locked nodes alone break
    a limit (those nodes stay in their vehicle: they are already sorted or loaded into it).
    """
    w = Routes(inst, routes)
    pinned = {node: set(vs) for node, vs in inst.allowed.items() if vs}
    out: list[int] = []
    seen: set[int] = set()
    for v, r in enumerate(w.routes):
        for node in list(r):
            if node in seen:  # an engine must never visit a node twice; keep the first visit
                w.remove(node, v)
                continue
            seen.add(node)
            if node in pinned and v not in pinned[node]:
                w.remove(node, v)
                out.append(node)
    visited = seen - set(out)
    # An engine that forgot a node is treated as having left it out.
    left = [n for n in dict.fromkeys([*dropped, *out, *range(1, inst.size)]) if n != 0 and n not in visited]

    # Locked nodes first, into their vehicle, feasibly if possible, otherwise anyway.
    rest: list[int] = []
    for node in left:
        if node not in pinned:
            rest.append(node)
            continue
        vehicles = sorted(pinned[node])
        spot = w.best_insertion(node, vehicles) or w.best_insertion(node, vehicles, feasible=False)
        assert spot is not None
        w.insert(node, *spot)

    # A vehicle over a limit sheds unlocked nodes (the one that saves most distance first).
    for v in range(inst.num_vehicles):
        while w.load_faults(v) or not w.time_ok(v, w.routes[v]):
            free = [n for n in w.routes[v] if n not in pinned]
            if not free:
                break
            route = w.routes[v]
            victim = max(free, key=lambda node: _saving(inst, route, node))  # noqa: B023 - used at once
            w.remove(victim, v)
            rest.append(victim)

    still: list[int] = []
    for node in rest:
        if not w.place(node, allowed_vehicles(inst, node)):
            still.append(node)
    violations = [f for v in range(inst.num_vehicles) for f in w.load_faults(v) + w.time_faults(v, w.routes[v])]
    return w.routes, sorted(still), violations


def construct(inst: VrpInstance) -> tuple[list[list[int]], list[int], list[Violation]]:
    """A plan by cheapest insertion alone (locked nodes first): the answer when no engine found one."""
    return repair(inst, [[] for _ in range(inst.num_vehicles)], list(range(1, inst.size)))


def check(inst: VrpInstance, routes: list[list[int]]) -> list[str]:
    """Every rule a final plan must keep, as readable faults (empty when it keeps them all)."""
    w = Routes(inst, routes)
    faults: list[str] = []
    visits = [n for r in routes for n in r]
    if len(visits) != len(set(visits)):
        faults.append("a node is visited twice")
    for v, r in enumerate(routes):
        faults.extend(f"vehicle {v}: {f.kind} {f.what} {f.amount} > {f.limit}" for f in w.load_faults(v))
        faults.extend(f"vehicle {v}: {f.kind} {f.what} {f.amount} > {f.limit}" for f in w.time_faults(v, r))
        wrong = [n for n in r if v not in inst.allowed.get(n, (v,))]
        faults.extend(f"node {n} is locked elsewhere, not to vehicle {v}" for n in wrong)
    return faults
