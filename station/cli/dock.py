"""CLI commands of the dock day: command sheets, closing and reopening vans, the lead's exceptions.

Registered into ``station`` by :mod:`station.cli.main`; each handler is a thin call into
``station.command_codes`` / ``station.dock``.
"""

from __future__ import annotations

import argparse
import json

from station.cli.common import Subparsers, add_common, open_station


def cmd_print_commands(args: argparse.Namespace) -> int:
    from station import command_codes, printing
    from station.devices import deliver_now

    station = open_station(args)
    try:
        vans = station.config.vans
        if args.json:
            print(json.dumps(command_codes.catalogue(vans), indent=2))
            return 0
        print(command_codes.text_sheet(vans, station.config.rules.language), end="")
        if not args.text_only:
            day = station.clock.now().date()
            with station.store.write() as db:
                printing.enqueue(
                    db,
                    printing.DAY_CLOSE,
                    command_codes.zpl_sheets(vans, day, station.config.station_id, station.config.rules.language),
                )
            printed = deliver_now(station.config, station.store)
            print(f"(sheet sent to the day-close printer: {'printed' if printed else 'queued'})")
    finally:
        station.close()
    return 0


def cmd_close_van(args: argparse.Namespace) -> int:
    from station.dock import close_van

    station = open_station(args)
    try:
        decision = close_van(station, args.van)
    finally:
        station.close()
    print(json.dumps(decision.to_json()) if args.json else decision.reason)
    return 0 if decision.detail.get("ok", True) else 1


def cmd_reopen_van(args: argparse.Namespace) -> int:
    from station.dock import reopen_van

    station = open_station(args)
    try:
        decision = reopen_van(station, args.van)
    finally:
        station.close()
    print(json.dumps(decision.to_json()) if args.json else decision.reason)
    return 0 if decision.detail.get("ok", True) else 1


def cmd_exceptions(args: argparse.Namespace) -> int:
    from station.dock import open_exceptions, resolve_exception

    station = open_station(args)
    try:
        if args.action:
            if not args.tracking_id:
                print("station exceptions: --relabel/--reassign/--return need a tracking id")
                return 2
            decision = resolve_exception(station, args.tracking_id, args.action, van_id=args.van)
            print(json.dumps(decision.to_json()) if args.json else decision.reason)
            return 0
        items = open_exceptions(station)
    finally:
        station.close()
    if args.json:
        print(json.dumps([vars(x) for x in items], indent=2))
    else:
        for x in items:
            print(f"{x.at[:19]}  {x.tracking_id:<24} {x.reason:<20} planned van {x.van or '-'}")
        print(f"{len(items)} open exceptions")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("print-commands", help="the sheet of command barcodes (ZPL, and as text)")
    add_common(p)
    p.add_argument("--json", action="store_true", help="list every command code with its meaning")
    p.add_argument("--text-only", action="store_true", help="do not send the sheet to a printer")
    p.set_defaults(func=cmd_print_commands)

    p = sub.add_parser("close-van", help="close a van: its loaded parcels depart")
    add_common(p)
    p.add_argument("van")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_close_van)

    p = sub.add_parser("reopen-van", help="reopen a van closed by mistake: its parcels are back at the bay")
    add_common(p)
    p.add_argument("van")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reopen_van)

    p = sub.add_parser("exceptions", help="parcels in exception, and the lead's way through them")
    add_common(p)
    p.add_argument("tracking_id", nargs="?")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--relabel", dest="action", action="store_const", const="relabel")
    group.add_argument("--reassign", dest="action", action="store_const", const="reassign")
    group.add_argument("--return", dest="action", action="store_const", const="return")
    p.add_argument("--van", help="the van for --reassign")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_exceptions, action=None)
