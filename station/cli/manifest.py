"""The ``station import`` and ``station plan`` commands: the day's manifest and its plan.

OR-Tools is imported only when a plan is made (through :mod:`station.planning_bridge`).
"""

from __future__ import annotations

import argparse
import json

from station.cli.common import Subparsers, add_command, open_station


def cmd_import(args: argparse.Namespace) -> int:
    from station.planning_bridge import merge_late_parcels

    station = open_station(args)
    try:
        summary = station.import_manifest(args.file)
        print(
            f"imported {summary.parcels} parcels ({summary.added} new, {summary.updated} already known, "
            f"{summary.removed} no longer on the manifest, marked cancelled)"
        )
        for tid in summary.cancelled_ids:
            print(f"  cancelled: {tid}")
        for tid, lane in summary.pull_from_lanes:
            print(f"  PULL FROM LANE {lane}: {tid} was cancelled after it was sorted")
        if summary.added_ids and station.current_plan() is not None:
            plan = merge_late_parcels(station, summary.added_ids)
            if plan is not None:
                placed = {a.tracking_id: a for a in plan.assignments()}
                for tid in summary.added_ids:
                    a = placed.get(tid)
                    where = (
                        f"van {a.van_id}, lane {a.lane}, stop {a.stop}"
                        if a
                        else f"not planned: {plan.unplanned.get(tid, '?')}"
                    )
                    print(f"  added: {tid} -> {where}")
    finally:
        station.close()
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from station.planning_bridge import plan_and_save

    station = open_station(args)
    try:
        plan = plan_and_save(station, time_limit_s=args.time_limit)
    finally:
        station.close()
    if args.json:
        print(
            json.dumps(
                {
                    "solver": plan.solver,
                    "cost": plan.cost,
                    "seconds": round(plan.seconds, 2),
                    "routes": [
                        {
                            "van": r.van_id,
                            "lane": r.lane,
                            "stops": len(r.stops),
                            "parcels": r.load,
                            "km": round(r.km, 1),
                            "minutes": round(r.minutes),
                        }
                        for r in plan.routes
                    ],
                    "unplanned": plan.unplanned,
                },
                indent=2,
            )
        )
        return 0
    print(f"plan made by {plan.solver} in {plan.seconds:.1f} s")
    for r in plan.routes:
        print(
            f"  lane {r.lane:>2}  van {r.van_id:<6} {r.load:>4} parcels {len(r.stops):>4} stops "
            f"{r.km:7.1f} km {r.minutes / 60:5.1f} h"
        )
    for tid, why in plan.unplanned.items():
        print(f"  not planned: {tid}: {why}")
    return 0


def register(sub: Subparsers) -> None:
    p = add_command(
        sub, "import", cmd_import, "import the day's manifest (CSV or JSON); rejected whole if any line is bad"
    )
    p.add_argument("file")
    p = add_command(sub, "plan", cmd_plan, "plan vans, lanes and stop order for the day's manifest (OR-Tools)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds to improve the plan")
    p.add_argument("--json", action="store_true")
