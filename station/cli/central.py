"""The ``station central serve|stats`` commands, also run as ``python -m station.central``
(the bench and the crash test start the server that way).
Starlette and uvicorn are imported only inside ``serve``: the station CLI starts fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from station.cli.common import Subparsers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="central_command", required=True)
    serve = sub.add_parser("serve", help="run the reference central server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--data-dir", type=Path, required=True, help="where central.db is kept")
    serve.add_argument("--tokens", type=Path, required=True, help="file: one 'station-id token' pair a line")
    serve.add_argument("--max-batch-events", type=int, default=500)
    serve.add_argument("--max-body-bytes", type=int, default=2_000_000)
    serve.add_argument(
        "--enable-fault-injection",
        action="store_true",
        help="accept POST /_faults (tests only: never on a pilot server)",
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=run_serve)
    stats = sub.add_parser("stats", help="events held per station and duplicate requests answered")
    stats.add_argument("--data-dir", type=Path, required=True)
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=run_stats)


def run_serve(args: argparse.Namespace) -> int:
    from station.central.app import ServerLimits
    from station.central.server import serve

    serve(
        args.host,
        args.port,
        args.data_dir,
        args.tokens,
        enable_fault_admin=args.enable_fault_injection,
        limits=ServerLimits(args.max_batch_events, args.max_body_bytes),
        log_level=args.log_level,
    )
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from station.central.storage import stats

    if not (args.data_dir / "central.db").exists():
        print(f"no central.db in {args.data_dir}")
        return 1
    result = stats(args.data_dir)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for station_id, count in result["events"].items():
            print(f"{station_id}: {count} events")
        print(f"total: {result['events_total']} events")
        print(f"requests answered as duplicates: {result['duplicate_requests']}")
        print(f"events received again (ignored): {result['duplicate_events']}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("central", help="the reference central server (serve, stats)")
    add_arguments(p)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="station central")
    add_arguments(parser)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code
