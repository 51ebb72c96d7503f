"""The ``station print-queue`` command: labels waiting, failed and possibly printed twice."""

from __future__ import annotations

import argparse
import json

from station.cli.common import Subparsers, add_command, open_station


def cmd_print_queue(args: argparse.Namespace) -> int:
    from station import printing
    from station.devices import build_print_queue

    station = open_station(args)
    try:
        if args.deliver:
            queue = build_print_queue(station.config, station.store)
            try:
                printed = queue.deliver(limit=100_000)
                reports = queue.statuses()
            finally:
                queue.close()
        labels = printing.queued_labels(station.store)
    finally:
        station.close()
    if args.json:
        out: dict[str, object] = {"labels": [label.to_json() for label in labels]}
        if args.deliver:
            out["printed"] = printed
            out["printers"] = [{"name": r.name, "state": r.status.state.value, "text": r.text} for r in reports]
        print(json.dumps(out, indent=2))
        return 0
    if args.deliver:
        print(f"{printed} label{'s' if printed != 1 else ''} printed and confirmed")
        for r in reports:
            print(r.text)
    waiting = [label for label in labels if label.state != "possible duplicate"]
    duplicates = [label for label in labels if label.state == "possible duplicate"]
    print(f"{len(waiting)} waiting, {len(duplicates)} printed again as REPRINT (possible duplicates)")
    for label in labels:
        why = f"  ({label.last_error})" if label.last_error and label.state != "possible duplicate" else ""
        print(
            f"  #{label.id:<5} {label.state:<18} {label.job:<10} {label.tracking_id or '-':<22} "
            f"{label.created_at[:19]}  tries {label.attempts}{why}"
        )
    return 0


def register(sub: Subparsers) -> None:
    p = add_command(sub, "print-queue", cmd_print_queue, "list labels waiting, failed or possibly printed twice")
    p.add_argument("--json", action="store_true")
    p.add_argument("--deliver", action="store_true", help="send what is waiting now (each label confirmed)")
