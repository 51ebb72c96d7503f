"""The ``station init``, ``run``, ``scan`` and ``report`` commands: the station's day at the dock.

Thin handlers over :class:`station.core.Station` and :mod:`station.dayclose`; Textual is
imported only inside ``run``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from station.cli.common import Subparsers, add_command, data_dir, day_argument, load_config, open_station
from station.errors import ConfigError, StationError

log = logging.getLogger("station.cli")


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


def cmd_run(args: argparse.Namespace) -> int:
    from station.config import CONFIG_NAME

    path = getattr(args, "config", None) or data_dir(args) / CONFIG_NAME
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist: pass --config FILE, or run `station init` first")
    from station.ui.launch import run_screen

    return run_screen(load_config(args))


def cmd_scan(args: argparse.Namespace) -> int:
    from station.devices import deliver_now

    station = open_station(args)
    try:
        decision = station.scan(scanned_text(args.code), device=args.device, role=args.role)
        # The decision is committed: say it before any printer I/O (a silent printer takes seconds).
        if args.json:
            print(json.dumps(decision.to_json()), flush=True)
        else:
            print(_decision_line(decision.to_json()), flush=True)
        # Print what this scan queued (and anything left from before), best effort:
        # a printer problem never changes the decision, the label stays queued.
        try:
            deliver_now(station.config, station.store)
        except StationError as exc:
            log.warning("labels stay queued: %s", exc)
    finally:
        station.close()
    return 0


def scanned_text(argument: str) -> str:
    """The code as the station sees a scanner's bytes: undecodable bytes become U+FFFD.

    Python hands a command line's bytes that are not UTF-8 over as lone surrogates
    (``$'1Z99\\xff'`` -> ``'1Z99\\udcff'``), which no database or terminal can store.
    """
    return argument.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _decision_line(d: dict[str, Any]) -> str:
    where = f"lane {d['lane']}" if d.get("lane") is not None else "no lane"
    extra = f", van {d['van']}, stop {d['stop']}" if d.get("van") else ""
    why = f": {d['reason']}" if d.get("reason") else ""
    return f"{d['outcome'].upper()} {d.get('tracking_id') or d['code']} -> {where}{extra}{why}"


def cmd_report(args: argparse.Namespace) -> int:
    from station import days
    from station.dayclose import day_close

    station = open_station(args)
    try:
        today = days.current_day(station)
        if args.day is not None and args.day != today:
            kept = days.kept_report(station, args.day)
            if kept is None:
                known = ", ".join(days.kept_days(station)) or "none yet"
                raise StationError(f"no report kept for {args.day} (days kept: {known})")
            if args.print or args.csv:
                raise StationError("--print and --csv are for the current day; a past day has --json and text")
            figures = kept
        else:
            report = day_close(station)
            if args.print:
                from station import printing
                from station.devices import deliver_now

                with station.store.write() as db:
                    printing.enqueue(
                        db, printing.DAY_CLOSE, report.to_zpl(station.config.station_id, station.config.rules.language)
                    )
                deliver_now(station.config, station.store)
            if args.csv:
                Path(args.csv).write_text(report.to_csv(), encoding="utf-8")
            figures = report.to_json()
    finally:
        station.close()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print_report(figures, args.limit)
    return 0


def _print_report(r: dict[str, Any], limit: int) -> None:
    print(
        f"day {r['day'] or '-'}: {r['manifest']} parcels on the manifest, {r['planned']} planned, "
        f"{r['unplanned']} not planned, {r['sorted']} sorted, {r['loaded']} loaded, "
        f"{r['open_exceptions']} open exceptions"
    )
    print("  lane van      planned sorted loaded missing not-loaded misloads departed")
    for v in r["vans"]:
        print(
            f"  {v['lane']:>4} {v['van']:<8} {v['planned']:>7} {v['sorted']:>6} {v['loaded']:>6} {v['missing']:>7} "
            f"{v['not_loaded']:>10} {v['misloads']:>8} {v['departed']:>8}{'  closed' if v['closed'] else ''}"
        )
    if r["not_in_manifest"]:
        print(f"scanned but not in the manifest: {len(r['not_in_manifest'])}")
        for code in r["not_in_manifest"][:limit]:
            print(f"  {code}")
    for item in r["cancelled_in_lanes"]:
        print(f"  PULL FROM LANE {item['lane']}: {item['tracking_id']} was cancelled")
    print(f"not yet scanned: {len(r['not_scanned'])}")
    for tid in r["not_scanned"][:limit]:
        print(f"  {tid}")


def register(sub: Subparsers) -> None:
    p = add_command(sub, "init", cmd_init, "write a commented example config into the data dir")
    p.add_argument("--force", action="store_true", help="overwrite an existing config")
    add_command(sub, "run", cmd_run, "start the dock screen from a config file")
    p = add_command(sub, "scan", cmd_scan, "one scan through exactly the path a scanner takes")
    p.add_argument("code")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--role",
        default=None,
        help='"sort" or "load:VAN" (default: what the device was bound to today by a scanned van code, else sort)',
    )
    p.add_argument("--device", default="cli", help="device name recorded with the event")
    p = add_command(sub, "report", cmd_report, "the day so far: per van and lane, planned, sorted, loaded, missing")
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", metavar="FILE", help="also write every planned parcel's state as CSV")
    p.add_argument("--print", action="store_true", help="print the day-close summary (ZPL, day_close printer)")
    p.add_argument("--limit", type=int, default=20, help="how many unscanned parcels to list")
    p.add_argument("--day", type=day_argument, help="a kept day, YYYY-MM-DD (default: the current day)")
