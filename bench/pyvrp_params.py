"""PyVRP parameter sets side by side: how the station's ``search_params`` were chosen.

Each set runs PyVRP for the whole limit on one core (``taskset``), one instance after another,
and prints the gap to the best known solution. Two sets run at once, one per core, so the machine
must be otherwise quiet. Tune on ``bench/data/routing/cvrp-tuning`` only: the other two sets
measure the result unseen.

    .venv/bin/python bench/pyvrp_params.py bench/data/routing/cvrp-tuning/*.vrp --time-limit 30
    .venv/bin/python bench/pyvrp_params.py ... --sets pyvrp station
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing import DEFAULT_BKS, best_known, load  # type: ignore[import-not-found]  # noqa: E402

# name -> (late-acceptance history, neighbours per client); "pyvrp" is PyVRP's own defaults.
SETS: dict[str, tuple[int, int]] = {
    "pyvrp": (300, 50),
    "history-50": (50, 50),
    "neighbours-30": (300, 30),
    "station": (50, 30),
    "history-20": (20, 30),
    "neighbours-20": (50, 20),
}


def run_one(name: str, path: Path, limit: float, seed: int) -> dict[str, Any]:
    import pyvrp

    from station.planning.pyvrp_solver import Translation, search_params

    params = search_params(*SETS[name])
    inst, scale = load(path)
    data = Translation(inst).data
    t0 = time.monotonic()
    iterations = 0

    def stop(best_cost: int) -> bool:  # PyVRP calls it with the best cost so far
        nonlocal iterations
        iterations += 1
        return time.monotonic() - t0 >= limit

    result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, params=params)
    return {"cost": result.cost() / scale, "iterations": iterations, "feasible": result.is_feasible()}


def run_set(name: str, paths: list[Path], limit: float, seed: int, core: int) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        cmd = ["taskset", "-c", str(core), sys.executable, __file__, "--one", name, str(path)]
        cmd += ["--time-limit", str(limit), "--seed", str(seed)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 120)
        lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
        out.append(json.loads(lines[-1]) if lines else {"cost": None, "iterations": 0, "feasible": False})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instances", nargs="+", type=Path)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.instances[0], args.time_limit, args.seed)))
        return 0
    paths = sorted(args.instances)

    def on_core(core: int) -> dict[str, list[dict[str, Any]]]:
        # Sets k, k + 2, ... one after another on this core: one search per core at a time.
        return {n: run_set(n, paths, args.time_limit, args.seed, core) for n in args.sets[core::2]}

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {name: res for part in pool.map(on_core, (0, 1)) for name, res in part.items()}
    print(f"{'instance':<13} {'BKS':>9} | " + " | ".join(f"{n:>22}" for n in args.sets))
    gaps: dict[str, list[float]] = {n: [] for n in args.sets}
    for i, path in enumerate(paths):
        bks = best_known(path, DEFAULT_BKS)
        cells = []
        for name in args.sets:
            res = results[name][i]
            if res["cost"] is None or not res["feasible"] or bks is None:
                cells.append(f"{'-':>22}")
                continue
            gap = 100 * (res["cost"] - bks) / bks
            gaps[name].append(gap)
            cells.append(f"{res['cost']:>9.0f} {gap:5.2f} % {res['iterations']:>6}")
        print(f"{path.stem:<13} {bks or 0:>9.0f} | " + " | ".join(cells))
    for label, fn in (("mean gap", lambda g: sum(g) / len(g)), ("worst gap", max)):
        row = " | ".join(f"{fn(g):>20.2f} %" if g else f"{'-':>22}" for g in gaps.values())
        print(f"{label:<23} | {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
