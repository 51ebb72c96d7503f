"""The ``station`` command: a thin layer over the Python API.

Every subcommand parses its arguments, calls one function of the core (or of a feature
package that registers its own subcommands), prints, and returns an exit code:
0 done, 1 the work was refused (a bad manifest, no plan possible), 2 a usage or config
error. Heavy imports (Textual, OR-Tools, httpx) happen inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from station.cli_common import add_common, data_dir, load_config, open_station
from station.errors import ConfigError, StationError

log = logging.getLogger("station.cli")

# Feature packages that add their own subcommands: module -> register(subparsers).
FEATURE_COMMANDS = ("station.sync.commands", "station.dock_commands")


def cmd_init(args: argparse.Namespace) -> int:
    from station.config import CONFIG_NAME, example_config_text

    target = data_dir(args) / CONFIG_NAME
    if target.exists() and not args.force:
        print(f"{target} exists already; pass --force to overwrite it", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(example_config_text(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from station.day_planning import merge_late_parcels

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
    from station.day_planning import plan_and_save

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


def cmd_scan(args: argparse.Namespace) -> int:
    from station.devices import deliver_now

    station = open_station(args)
    try:
        decision = station.scan(args.code, device=args.device, role=args.role)
        # Print what this scan queued (and anything left from before), best effort:
        # a printer problem never changes the decision, the label stays queued.
        try:
            deliver_now(station.config, station.store)
        except StationError as exc:
            log.warning("labels stay queued: %s", exc)
    finally:
        station.close()
    if args.json:
        print(json.dumps(decision.to_json()))
    else:
        print(_decision_line(decision.to_json()))
    return 0


def _decision_line(d: dict[str, Any]) -> str:
    where = f"lane {d['lane']}" if d.get("lane") is not None else "no lane"
    extra = f", van {d['van']}, stop {d['stop']}" if d.get("van") else ""
    why = f": {d['reason']}" if d.get("reason") else ""
    return f"{d['outcome'].upper()} {d.get('tracking_id') or d['code']} -> {where}{extra}{why}"


def cmd_report(args: argparse.Namespace) -> int:
    from station.dayclose import day_close

    station = open_station(args)
    try:
        report = day_close(station)
        if args.print:
            from station import printing
            from station.devices import deliver_now

            with station.store.write() as db:
                printing.enqueue(db, printing.DAY_CLOSE, report.to_zpl(station.config.station_id))
            deliver_now(station.config, station.store)
    finally:
        station.close()
    if args.csv:
        Path(args.csv).write_text(report.to_csv(), encoding="utf-8")
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    print(
        f"day {report.day or '-'}: {report.manifest} parcels on the manifest, {report.planned} planned, "
        f"{report.unplanned} not planned, {report.sorted} sorted, {report.loaded} loaded, "
        f"{report.open_exceptions} open exceptions"
    )
    print("  lane van      planned sorted loaded missing not-loaded misloads departed")
    for v in report.vans:
        print(
            f"  {v.lane:>4} {v.van:<8} {v.planned:>7} {v.sorted:>6} {v.loaded:>6} {v.missing:>7} "
            f"{v.not_loaded:>10} {v.misloads:>8} {v.departed:>8}{'  closed' if v.closed else ''}"
        )
    if report.not_in_manifest:
        print(f"scanned but not in the manifest: {len(report.not_in_manifest)}")
        for code in report.not_in_manifest[: args.limit]:
            print(f"  {code}")
    for item in report.cancelled_in_lanes:
        print(f"  PULL FROM LANE {item['lane']}: {item['tracking_id']} was cancelled")
    print(f"not yet scanned: {len(report.not_scanned)}")
    for tid in report.not_scanned[: args.limit]:
        print(f"  {tid}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from station.config import CONFIG_NAME

    path = getattr(args, "config", None) or data_dir(args) / CONFIG_NAME
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist: pass --config FILE, or run `station init` first")
    from station.ui.launch import run_screen

    return run_screen(load_config(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from station.demo_run import run_demo

    return run_demo(
        data_dir(args),
        getattr(args, "config", None),
        headless=args.headless,
        scans=args.scans,
        parcels=args.parcels,
        seed=args.seed,
        interval_s=args.interval,
        fresh=not args.keep,
    )


def cmd_devices(args: argparse.Namespace) -> int:
    from drivers import discovery

    devices = discovery.discover()
    if args.json:
        print(json.dumps([d.to_json() for d in devices], indent=2))
    else:
        print(discovery.render_config(devices))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="station", description="The hub's dock scan station.")
    add_common(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        add_common(p)
        p.set_defaults(func=func)
        return p

    p = command("init", cmd_init, "write a commented example config into the data dir")
    p.add_argument("--force", action="store_true", help="overwrite an existing config")
    p = command("import", cmd_import, "import the day's manifest (CSV or JSON); rejected whole if any line is bad")
    p.add_argument("file")
    p = command("plan", cmd_plan, "plan vans, lanes and stop order for the day's manifest (OR-Tools)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds to improve the plan")
    p.add_argument("--json", action="store_true")
    p = command("scan", cmd_scan, "one scan through exactly the path a scanner takes")
    p.add_argument("code")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--role", default="sort", help='"sort" (default) or "load:VAN" as a bay scanner bound to VAN')
    p.add_argument("--device", default="cli", help="device name recorded with the event")
    p = command("report", cmd_report, "the day so far: per van and lane, planned, sorted, loaded, missing")
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", metavar="FILE", help="also write every planned parcel's state as CSV")
    p.add_argument("--print", action="store_true", help="print the day-close summary (ZPL, day_close printer)")
    p.add_argument("--limit", type=int, default=20, help="how many unscanned parcels to list")
    command("run", cmd_run, "start the dock screen from a config file")
    p = command("demo", cmd_demo, "the dock screen on simulated hardware with a generated day")
    p.add_argument("--headless", action="store_true", help="no screen: process --scans scans and print a summary")
    p.add_argument("--scans", type=int, default=50)
    p.add_argument("--parcels", type=int, default=600)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--interval", type=float, default=None, help="seconds between simulated scans")
    p.add_argument("--keep", action="store_true", help="keep the data dir's day instead of generating a new one")
    p = command("devices", cmd_devices, "list the scanners and printers plugged in, as config snippets")
    p.add_argument("--json", action="store_true")

    for module_name in FEATURE_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        print(f"station: {exc}", file=sys.stderr)
        return 2
    except StationError as exc:
        print(f"station: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
