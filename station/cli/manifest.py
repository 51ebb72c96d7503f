"""The ``station import`` and ``station plan`` commands: the day's manifest and its plan.

The planner (PyVRP, OR-Tools) is imported only when a plan is made (through :mod:`station.planning_bridge`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from station.cli.common import Subparsers, add_command, day_argument, open_station

if TYPE_CHECKING:
    from station.planning import PlanProgress


def cmd_import(args: argparse.Namespace) -> int:
    from station import days
    from station.manifest import read_manifest
    from station.planning_bridge import merge_late_parcels

    station = open_station(args)
    try:
        parcels = read_manifest(args.file)
        day = args.day or days.manifest_day(args.file) or days.hub_today(station.config, station.clock.now())
        preview = days.preview_import(station, parcels, day)
        if args.dry_run:
            print(preview.describe(limit=args.limit))
            print("(dry run: nothing changed)")
            return 0
        done = days.import_day(station, parcels, day=day, version=f"file:{Path(args.file).name}", force=args.force)
        summary = done.summary
        print(
            f"imported {summary.parcels} parcels for {day} ({summary.added} new, {summary.updated} already known, "
            f"{summary.removed} no longer on the manifest, marked cancelled)"
            + (
                f"; a new day: every van open, {done.previous_day} kept (station report --day)"
                if done.previous_day
                else ""
            )
        )
        for tid in summary.cancelled_ids:
            print(f"  cancelled: {tid}")
        for tid, lane in summary.pull_from_lanes:
            print(f"  PULL FROM LANE {lane}: {tid} was cancelled after it was sorted")
        for tid in preview.uncancelled:
            print(f"  back on the manifest: {tid}")
        to_place = (*summary.added_ids, *preview.uncancelled)
        if to_place and station.current_plan() is not None:
            plan = merge_late_parcels(station, to_place)
            if plan is not None:
                placed = {a.tracking_id: a for a in plan.assignments()}
                for tid in to_place:
                    a = placed.get(tid)
                    where = (
                        f"van {a.van_id}, lane {a.lane}, stop {a.stop}"
                        if a
                        else f"not planned: {plan.unplanned.get(tid, '?')}"
                    )
                    print(f"  placed: {tid} -> {where}")
        elif station.current_plan() is None:
            print("no plan for this day yet: run `station plan`")
    finally:
        station.close()
    return 0


class _ProgressBar:
    """The search's progress on stderr (a terminal only): time used of the limit and the best cost so far."""

    WIDTH = 30

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.on = sys.stderr.isatty()
        self.drawn = False

    def __call__(self, point: PlanProgress) -> None:
        if not self.on:
            return
        done = min(1.0, point.elapsed_s / self.limit_s) if self.limit_s > 0 else 1.0
        full = round(done * self.WIDTH)
        bar = "#" * full + "-" * (self.WIDTH - full)
        sys.stderr.write(f"\rplanning [{bar}] {point.elapsed_s:5.1f} s  best {point.best_cost:,.1f} km ")
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _reason_kind(why: str) -> str:
    """A reason without the parcel's own address and figures, so that alike reasons group together."""
    return re.sub(r"\d+(?:[.:]\d+)?", "#", re.sub(r"'[^']*'", "'…'", why))


def unplanned_summary(unplanned: dict[str, str]) -> list[tuple[int, str, str]]:
    """(how many, reason, an example tracking id), the most frequent reason first."""
    groups: dict[str, list[str]] = {}
    for tid, why in unplanned.items():
        groups.setdefault(_reason_kind(why), []).append(tid)
    return sorted(((len(t), kind, t[0]) for kind, t in groups.items()), key=lambda g: (-g[0], g[1]))


def cmd_plan(args: argparse.Namespace) -> int:
    from station.planning_bridge import plan_and_save

    station = open_station(args)
    limit = args.time_limit or station.config.planning.time_limit_s
    bar = _ProgressBar(limit)
    try:
        plan = plan_and_save(station, time_limit_s=limit, on_progress=bar)
    finally:
        bar.close()
        station.close()
    used = [r for r in plan.routes if r.stops]
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
                        for r in used
                    ],
                    "unplanned": plan.unplanned,
                    "notes": list(plan.notes),
                },
                indent=2,
            )
        )
        return 0
    planned = sum(r.load for r in used)
    print(
        f"plan made by {plan.solver} in {plan.seconds:.1f} s: {planned} parcels in {len(used)} of "
        f"{len(plan.routes)} vans, {plan.cost:,.1f} km"
    )
    for r in used:
        print(
            f"  lane {r.lane:>2}  van {r.van_id:<6} {r.load:>4} parcels {len(r.stops):>4} stops "
            f"{r.km:7.1f} km {r.minutes / 60:5.1f} h"
        )
    for note in plan.notes:
        print(f"  warning: {note}")
    if plan.unplanned:
        print(f"{len(plan.unplanned)} parcels not planned (--json lists each one):")
        for count, kind, example in unplanned_summary(plan.unplanned):
            print(f"  {count:>6}  {kind}  (e.g. {example})")
    return 0


def register(sub: Subparsers) -> None:
    p = add_command(
        sub, "import", cmd_import, "import the day's manifest (CSV or JSON); rejected whole if any line is bad"
    )
    p.add_argument("file")
    p.add_argument(
        "--day",
        type=day_argument,
        help="the sorting day it is for, YYYY-MM-DD (default: the JSON's day field, else today at the hub)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what it would add, change and cancel; change nothing")
    p.add_argument("--force", action="store_true", help="import even if it cancels more than max_cancel_share")
    p.add_argument("--limit", type=int, default=10, help="--dry-run: how many ids to list")
    p = add_command(sub, "plan", cmd_plan, "plan vans, lanes and stop order for the day's manifest")
    p.add_argument("--time-limit", type=float, default=None, help="seconds to improve the plan")
    p.add_argument("--json", action="store_true", help="the whole plan as JSON, every unplanned parcel with its reason")
