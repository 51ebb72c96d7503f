"""Routing benchmark: published instances and a synthetic hub day through the station's planner.

Reads CVRPLIB ``.vrp`` (with a ``.sol`` beside it, or BKS.csv) and Solomon ``.txt`` /
Gehring-Homberger VRPLIB ``.vrp`` VRPTW instances, builds the same :class:`VrpInstance` the hub
day builds, and solves it with ``station.planning.search.solve`` (the code ``plan_day`` runs).
Columns side by side: the station's default (``auto``: PyVRP on both cores, repaired), OR-Tools
alone, PyVRP alone (PyVRP's own parameters, one process; on ``--city`` days the station's
``backend = "pyvrp"``), and VROOM when pyvroom is installed. Every solver runs in its own
subprocess so peak RSS is its own. Before and after the table a timed, fixed PyVRP search prints the
machine's speed (the bench VM's speed moves with its host's load).

Conventions: X instances use rounded Euclidean distances (integers); Solomon and
Gehring-Homberger use distances truncated to one decimal (solved in tenths), distance only, with
the instance's fleet size as a limit.

    .venv/bin/python bench/routing.py bench/data/routing/cvrp/*.vrp --time-limit 30
    .venv/bin/python bench/routing.py bench/data/routing/cvrp-heldout/*.vrp --time-limit 30
    .venv/bin/python bench/routing.py --city 2000 --vans 60 --time-limit 60 --one-core
    .venv/bin/python bench/routing.py --city 2000 --vans 60 --time-limit 10 --insert 20
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from station.planning.instance import Load, VrpInstance  # noqa: E402
from station.planning.search import solve  # noqa: E402

# The published instances and their best-known costs, vendored (bench/data/routing/SOURCE.md).
DEFAULT_BKS = Path(__file__).resolve().parent / "data" / "routing" / "BKS.csv"


@dataclass
class Bench:
    name: str
    inst: VrpInstance
    scale: int  # solver units per published unit (10 for one-decimal instances)
    bks: float | None


# ---------------------------------------------------------------- readers


def _euclid(xy: np.ndarray) -> np.ndarray:
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt((diff**2).sum(axis=2))


def _tenths(xy: np.ndarray) -> np.ndarray:
    # DIMACS VRPTW convention: one decimal, truncated. The epsilon keeps 3.0 from becoming 2.9.
    return np.floor(_euclid(xy) * 10 + 1e-9).astype(np.int64)


def read_vrplib(path: Path) -> tuple[dict[str, str], dict[str, list[list[float]]]]:
    header: dict[str, str] = {}
    sections: dict[str, list[list[float]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("SECTION"):
            current = line
            sections[current] = []
        elif ":" in line and current is None:
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip().strip('"')
        elif current is not None:
            sections[current].append([float(x) for x in line.split()])
    return header, sections


def load_vrp(path: Path) -> tuple[VrpInstance, int]:
    header, sec = read_vrplib(path)
    coords = np.array([row[1:3] for row in sec["NODE_COORD_SECTION"]])
    demand = np.array([int(row[1]) for row in sec["DEMAND_SECTION"]], dtype=np.int64)
    depot = int(sec["DEPOT_SECTION"][0][0]) - 1
    if depot != 0:
        raise SystemExit(f"{path}: depot must be node 1")
    cap = int(header["CAPACITY"])
    if "TIME_WINDOW_SECTION" in sec:
        dist = _tenths(coords)
        windows = np.array([row[1:3] for row in sec["TIME_WINDOW_SECTION"]], dtype=np.int64) * 10
        if "SERVICE_TIME_SECTION" in sec:
            service = np.array([row[1] for row in sec["SERVICE_TIME_SECTION"]]) * 10
        else:
            service = np.full(len(coords), float(header.get("SERVICE_TIME", 0)) * 10)
        service = service.astype(np.int64)
        service[0] = 0
        nv = int(header.get("VEHICLES", len(coords)))
        return _tw_instance(coords, dist, demand, cap, windows, service, nv), 10
    dist = np.rint(_euclid(coords)).astype(np.int64)
    lb = math.ceil(demand.sum() / cap)
    nv = lb + max(2, math.ceil(0.1 * lb))  # X instances have no fleet limit; BKS may use lb + 1
    inst = VrpInstance(distance=dist, loads=(Load("demand", demand, (cap,) * nv),), num_vehicles=nv, xy=coords)
    return inst, 1


def load_solomon(path: Path) -> tuple[VrpInstance, int]:
    lines = path.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("NUMBER"))
    nv, cap = (int(x) for x in lines[i + 1].split())
    rows = [line.split() for line in lines[i + 2 :] if re.match(r"^\s*\d", line)]
    arr = np.array(rows, dtype=float)
    coords = arr[:, 1:3]
    demand = arr[:, 3].astype(np.int64)
    windows = (arr[:, 4:6] * 10).astype(np.int64)
    service = (arr[:, 6] * 10).astype(np.int64)
    return _tw_instance(coords, _tenths(coords), demand, cap, windows, service, nv), 10


def _tw_instance(coords, dist, demand, cap, windows, service, nv) -> VrpInstance:  # type: ignore[no-untyped-def]
    return VrpInstance(
        distance=dist,
        loads=(Load("demand", demand, (cap,) * nv),),
        num_vehicles=nv,
        xy=coords,
        duration=dist,
        service=service,
        windows=windows,
    )


def load(path: Path) -> tuple[VrpInstance, int]:
    return load_solomon(path) if path.suffix == ".txt" else load_vrp(path)


def best_known(path: Path, bks_csv: Path) -> float | None:
    sol = path.with_suffix(".sol")
    if sol.exists():
        m = re.search(r"^Cost\s+([\d.]+)", sol.read_text(), re.M)
        if m:
            return float(m.group(1))
    if bks_csv.exists():
        with bks_csv.open() as f:
            for row in csv.DictReader(f):
                if row["instance"] == path.stem:
                    return float(row["bks"])
    return None


# ---------------------------------------------------------------- memory


class RssSampler:
    """Peak of the summed resident memory of this process and its descendants (sampled every 50 ms).

    ``ru_maxrss`` of children is not usable here: a child started by fork+exec inherits its
    parent's high-water mark, and it gives the largest child, not the sum of the parallel workers.
    """

    def __init__(self) -> None:
        import os
        import threading

        self.pid = os.getpid()
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo.extend(int(x) for x in f.read().split())
            except OSError:
                pass
        return pids

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_kb = max(self.peak_kb, sum(self._rss_kb(p) for p in self._tree()))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, sum(self._rss_kb(p) for p in self._tree()))
        return self.peak_kb / 1024


# ---------------------------------------------------------------- solvers (one per subprocess)


def run_vroom(inst: VrpInstance, limit: float) -> tuple[float | None, float | None]:
    import datetime

    import vroom

    problem = vroom.Input()
    matrix = inst.duration if inst.duration is not None else inst.distance
    problem.set_durations_matrix("car", matrix.astype(np.uint32))
    for v in range(inst.num_vehicles):
        tw = vroom.TimeWindow(int(inst.windows[0, 0]), int(inst.windows[0, 1])) if inst.windows is not None else None
        kw = {"time_window": tw} if tw is not None else {}
        problem.add_vehicle(vroom.Vehicle(v + 1, start=0, end=0, capacity=[inst.loads[0].capacity[v]], **kw))
    for i in range(1, inst.size):
        kw2: dict[str, object] = {}
        if inst.windows is not None:
            kw2["time_windows"] = [vroom.TimeWindow(int(inst.windows[i, 0]), int(inst.windows[i, 1]))]
        if inst.service is not None:
            kw2["default_service"] = int(inst.service[i])
        problem.add_job(vroom.Job(i, location=i, delivery=[int(inst.loads[0].demand[i])], **kw2))
    t0 = time.monotonic()
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=datetime.timedelta(seconds=limit))
    seconds = time.monotonic() - t0
    routes = sol.routes
    jobs = routes[routes["type"] == "job"]
    cost = 0
    for _vid, group in jobs.groupby("vehicle_id"):
        path = [0, *(int(x) for x in group["location_index"].tolist()), 0]
        cost += int(inst.distance[path[:-1], path[1:]].sum())
    n_assigned = len(jobs)
    if n_assigned != inst.size - 1:
        return None, seconds
    return float(cost), seconds  # VROOM gives no first-solution time; report its total


# The table's columns: the station's default, each engine alone, VROOM (if installed) for reference.
BACKEND_OF = {"default": "auto", "ortools": "ortools", "pyvrp": "pyvrp"}


def worker(solver: str, path: Path, limit: float) -> dict[str, object]:
    sampler = RssSampler()
    inst, _scale = load(path)
    if solver not in BACKEND_OF:
        vroom_cost, vroom_s = run_vroom(inst, limit)
        return {"cost": vroom_cost, "first": vroom_s, "rss": sampler.stop()}
    if solver == "pyvrp":
        # "PyVRP alone": PyVRP as published (its own parameters, one process, the whole limit),
        # the reference the station's default has to beat.
        import pyvrp

        from station.planning.pyvrp_solver import solve_pyvrp

        sol = solve_pyvrp(inst, time_limit_s=limit, seed=1, stall=False, params=pyvrp.SolveParams())
    else:
        sol = solve(inst, time_limit_s=limit, backend=BACKEND_OF[solver])
    feasible = bool(sol.routes) and not sol.dropped
    cost = float(sol.cost) if feasible else None
    return {"cost": cost, "first": sol.first_feasible_s, "rss": sampler.stop()}


# The machine's speed at the time of a run: a fixed PyVRP search (one instance, one seed, a fixed
# number of iterations, so the same work every time), timed. The bench machine is a VM whose speed
# moves with its host's load; two runs of the table are comparable only at a similar speed.
SPEED_INSTANCE = Path(__file__).resolve().parent / "data" / "routing" / "cvrp" / "X-n502-k39.vrp"
SPEED_ITERATIONS = 3_000


def speed_worker() -> dict[str, object]:
    import pyvrp
    from pyvrp.stop import MaxIterations

    from station.planning.pyvrp_solver import Translation, search_params

    inst, _scale = load(SPEED_INSTANCE)
    data = Translation(inst).data
    t0 = time.perf_counter()
    pyvrp.solve(data, stop=MaxIterations(SPEED_ITERATIONS), seed=1, collect_stats=False, params=search_params())
    return {"seconds": time.perf_counter() - t0}


def machine_speed() -> str:
    res = run_sub(["--worker", "speed", "-"], 300)
    if "error" in res:
        return f"machine speed: not measured ({res['error']})"
    seconds = float(res["seconds"])  # type: ignore[arg-type]
    return (
        f"machine speed: {SPEED_ITERATIONS:,} PyVRP iterations on {SPEED_INSTANCE.stem} in {seconds:.2f} s"
        f" ({SPEED_ITERATIONS / seconds:,.0f} per second)"
    )


def city_worker(parcels: int, vans: int, limit: float, backend: str) -> dict[str, object]:
    from station.planning import PlanningProblem, PlanningSettings, plan_day
    from station.planning.synthetic import synthetic_day

    sampler = RssSampler()
    hub, fleet, manifest = synthetic_day(parcels, vans, seed=1)
    points: list[tuple[float, float]] = []
    t0 = time.monotonic()
    problem = PlanningProblem(hub, fleet, manifest, settings=PlanningSettings(backend=backend))
    plan = plan_day(problem, time_limit_s=limit, on_progress=lambda p: points.append((p.elapsed_s, p.best_cost)))
    first = points[0][0] if points else None
    return {
        "cost": plan.cost,
        "first": first,
        "points": points,
        "rss": sampler.stop(),
        "unplanned": len(plan.unplanned),
        "seconds": time.monotonic() - t0,
        "vans_used": sum(1 for r in plan.routes if r.stops),
    }


def insert_worker(parcels: int, vans: int, limit: float, late: int) -> dict[str, object]:
    """Plan a day, then time the placement of ``late`` late parcels one at a time (the dock's case)."""
    import random

    from station.model import Parcel
    from station.planning import PlanningProblem, plan_day
    from station.planning.late import place_late_parcels
    from station.planning.synthetic import synthetic_day

    hub, fleet, manifest = synthetic_day(parcels, vans, seed=1)
    problem = PlanningProblem(hub, fleet, manifest)
    plan = plan_day(problem, time_limit_s=limit)
    rng = random.Random(5)
    ms: list[float] = []
    placed = 0
    for k in range(late):
        ref = rng.choice(manifest)
        assert ref.lat is not None and ref.lon is not None
        p = Parcel(f"LATE{k}", "R", f"{k} Late Lane", "1000AA", ref.lat + rng.uniform(-0.01, 0.01), ref.lon, 2.0)
        problem = PlanningProblem(hub, fleet, problem.parcels + (p,))
        t0 = time.perf_counter()
        plan = place_late_parcels(problem, plan, [p])
        ms.append((time.perf_counter() - t0) * 1000)
        placed += p.tracking_id not in plan.unplanned
    ms.sort()
    return {"median_ms": ms[len(ms) // 2], "max_ms": ms[-1], "placed": placed, "late": late}


def run_sub(args: list[str], timeout: float, *, one_core: bool = False) -> dict[str, object]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    if one_core:
        cmd = ["taskset", "-c", "0", *cmd]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    result: dict[str, object] = json.loads(lines[-1])
    return result


# ---------------------------------------------------------------- table


def fmt(res: dict[str, object], bks: float | None, scale: int) -> str:
    if "error" in res:
        return f"{'error: ' + str(res['error']):<38}"
    cost = res["cost"]
    rss = float(res["rss"])
    first = f"{float(res['first']):5.1f} s" if res.get("first") is not None else "    - "
    if cost is None:
        return f"{'infeasible':>10} {'':>8} {first} {rss:5.0f} MB"
    value = float(cost) / scale
    gap = f"{(value - bks) / bks * 100:6.2f} %" if bks else "     - "
    return f"{value:10.1f} {gap} {first} {rss:5.0f} MB"


def _vroom_installed() -> bool:
    try:
        import vroom  # noqa: F401
    except ImportError:
        return False
    return True


def _within(points: list[list[float]], target: float) -> float | None:
    """Seconds until the best cost first came within ``target`` (None if it never did)."""
    return next((float(t) for t, cost in points if cost <= target), None)


def city(args: argparse.Namespace) -> int:
    timeout = args.time_limit * 3 + 120
    where = "one core (taskset -c 0)" if args.one_core else "all cores"
    print(f"synthetic hub day: {args.city} parcels, {args.vans} vans, {args.time_limit:g} s, {where}")
    if args.insert:
        res = run_sub(
            [
                "--worker",
                "insert",
                str(args.city),
                "--vans",
                str(args.vans),
                "--time-limit",
                str(args.time_limit),
                "--insert",
                str(args.insert),
            ],
            timeout,
            one_core=args.one_core,
        )
        if "error" in res:
            print(f"  insertion error: {res['error']}")
            return 1
        print(
            f"  late parcels placed one at a time: {res['placed']} of {res['late']} placed;"
            f" median {float(res['median_ms']):.1f} ms, slowest {float(res['max_ms']):.1f} ms"  # type: ignore[arg-type]
        )
        return 0
    solvers = [args.only] if args.only else [s for s in BACKEND_OF if s != "ortools" or not args.one_core]
    results: dict[str, dict[str, object]] = {}
    for solver in solvers:
        res = run_sub(
            [
                "--worker",
                "city",
                str(args.city),
                "--vans",
                str(args.vans),
                "--time-limit",
                str(args.time_limit),
                "--backend",
                BACKEND_OF[solver],
            ],
            timeout,
            one_core=args.one_core,
        )
        results[solver] = res
        if "error" in res:
            print(f"  {solver:8} error: {res['error']}")
            continue
        rss = float(res["rss"])  # type: ignore[arg-type]
        print(
            f"  {solver:8} first plan {float(res['first']):5.2f} s  cost {float(res['cost']):9.1f} km"  # type: ignore[arg-type]
            f"  vans {res['vans_used']}  unplanned {res['unplanned']}  total {float(res['seconds']):5.1f} s"  # type: ignore[arg-type]
            f"  peak RSS {rss:4.0f} MB (all processes)",
            flush=True,
        )
    ref = results.get("pyvrp")
    own = results.get("default")
    if ref and own and "error" not in ref and "error" not in own:
        target = float(ref["cost"]) * 1.01  # type: ignore[arg-type]
        at = _within(own["points"], target)  # type: ignore[arg-type]
        print(
            f"  default within 1 % of PyVRP's {args.time_limit:g} s plan ({target:.1f} km): "
            + (f"after {at:.1f} s" if at is not None else "not reached")
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instances", nargs="*", type=Path)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--only", choices=(*BACKEND_OF, "vroom"), help="one column only (e.g. --only default)")
    ap.add_argument("--backend", default="auto", help=argparse.SUPPRESS)  # the workers' engine
    ap.add_argument("--bks", type=Path, default=DEFAULT_BKS)
    ap.add_argument("--city", type=int, metavar="PARCELS", help="synthetic hub day with this many parcels")
    ap.add_argument("--vans", type=int, default=60)
    ap.add_argument("--one-core", action="store_true", help="hold each solver to one core (taskset -c 0)")
    ap.add_argument("--insert", type=int, metavar="LATE", help="with --city: time placing LATE late parcels")
    ap.add_argument("--worker", nargs=2, metavar=("SOLVER", "WHAT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        solver, what = args.worker
        if solver == "city":
            res = city_worker(int(what), args.vans, args.time_limit, args.backend)
        elif solver == "insert":
            res = insert_worker(int(what), args.vans, args.time_limit, args.insert)
        elif solver == "speed":
            res = speed_worker()
        else:
            res = worker(solver, Path(what), args.time_limit)
        print(json.dumps(res))
        return 0
    if args.city:
        return city(args)

    timeout = args.time_limit * 3 + 120
    solvers = [args.only] if args.only else [*BACKEND_OF, *(["vroom"] if _vroom_installed() else [])]
    head = f"{'instance':<13} {'BKS':>9} | " + " | ".join(f"{s:<38}" for s in solvers)
    print(f"time limit {args.time_limit:g} s; columns: cost, gap, time to first feasible, peak RSS (all processes)")
    print(machine_speed(), flush=True)
    print(head)
    gaps: dict[str, list[float]] = {s: [] for s in solvers}
    for path in args.instances:
        _inst, scale = load(path)
        bks = best_known(path, args.bks)
        cells = []
        for s in solvers:
            res = run_sub(["--worker", s, str(path), "--time-limit", str(args.time_limit)], timeout)
            cells.append(fmt(res, bks, scale))
            if bks and "error" not in res and res.get("cost") is not None:
                gaps[s].append((float(res["cost"]) / scale - bks) / bks * 100)  # type: ignore[arg-type]
        print(f"{path.stem:<13} {bks if bks is not None else '-':>9} | " + " | ".join(cells), flush=True)
    for label, agg in (("mean gap", lambda g: sum(g) / len(g)), ("worst gap", max)):
        print(
            f"{label:<13} {'':>9} | "
            + " | ".join(f"{(agg(g) if g else float('nan')):>19.2f} %{'':17}" for g in gaps.values())
        )
    print(machine_speed())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
