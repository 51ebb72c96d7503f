"""The ``station central serve|token|stats`` commands, also run as ``python -m station.central``
(the bench and the crash test start the server that way).
Starlette and uvicorn are imported only inside ``serve``: the station CLI starts fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from station.cli.common import Subparsers
from station.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="central_command", required=True)
    serve = sub.add_parser("serve", help="run the reference central server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument(
        "--data-dir", type=Path, required=True, help="where central.db (without --database) and photos are kept"
    )
    serve.add_argument(
        "--database",
        metavar="URL",
        help="postgresql://USER:PASSWORD@HOST:PORT/DBNAME (default: the SQLite file central.db in --data-dir)",
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (several need --database)"
    )
    serve.add_argument(
        "--tokens",
        type=Path,
        required=True,
        help="TOML tokens file: [[stations]], [[systems]], [[drivers]] (see: central token)",
    )
    serve.add_argument("--certfile", type=Path, help="serve HTTPS with this certificate (PEM, chain included)")
    serve.add_argument("--keyfile", type=Path, help="the certificate's private key (PEM)")
    serve.add_argument("--max-batch-events", type=int, default=500)
    serve.add_argument("--max-body-bytes", type=int, default=2_000_000)
    serve.add_argument("--max-document-bytes", type=int, default=20_000_000, help="largest manifest or plan")
    serve.add_argument(
        "--enable-fault-injection",
        action="store_true",
        help="accept POST /_faults (tests only: never on a pilot server)",
    )
    serve.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="let webhooks call loopback and private addresses (a system on the hub's own network; tests)",
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=run_serve)
    token = sub.add_parser(
        "token", help="add a station, a company system or a driver to the tokens file; print its token once"
    )
    token.add_argument("--tokens", type=Path, required=True, help="the TOML tokens file (created when missing)")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--station", help="station id (with --hub)")
    who.add_argument("--system", help="a company system's name (writes manifests, subscribes to webhooks)")
    who.add_argument("--driver", help="a driver's id (their app posts proof of delivery)")
    token.add_argument("--hub", help="the station's hub, as in its config's [hub] name")
    token.set_defaults(func=run_token)
    stats = sub.add_parser("stats", help="events held per station and duplicate requests answered")
    stats.add_argument("--data-dir", type=Path, required=True)
    stats.add_argument("--database", metavar="URL", help="the server's PostgreSQL URL, if it has one")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=run_stats)


def run_serve(args: argparse.Namespace) -> int:
    from station.central.app import ServerLimits
    from station.central.server import serve
    from station.central.tokens import read_tokens

    # Read the tokens here first: a wrong file is the operator's mistake, told in one line
    # (TokensError names the file, the line and the reason).
    if not read_tokens(args.tokens).roles():
        raise ConfigError(
            f"--tokens {args.tokens}: no [[stations]], [[systems]] or [[drivers]] entry; nobody could connect"
        )

    if args.workers < 1:
        raise ConfigError("--workers must be 1 or more")
    if args.workers > 1 and args.database is None:
        raise ConfigError("--workers above 1 needs --database postgresql://...: one SQLite file has one writer")
    serve(
        args.host,
        args.port,
        args.data_dir,
        args.tokens,
        database=args.database,
        workers=args.workers,
        enable_fault_admin=args.enable_fault_injection,
        limits=ServerLimits(args.max_batch_events, args.max_body_bytes, args.max_document_bytes),
        log_level=args.log_level,
        certfile=args.certfile,
        keyfile=args.keyfile,
        allow_private_webhooks=args.allow_private_webhooks,
    )
    return 0


def run_token(args: argparse.Namespace) -> int:
    from station.central.tokens import add_token

    if args.station is None and args.hub is not None:
        raise ConfigError("--hub belongs to a station")
    token = add_token(args.tokens, station=args.station, hub=args.hub, system=args.system, driver=args.driver)
    if args.station:
        who = f"station {args.station} of hub {args.hub}"
    else:
        who = f"system {args.system}" if args.system else f"driver {args.driver}"
    # The only time the token is shown: the file keeps its SHA-256 alone.
    print(f"token for {who} (shown once; give it to them, it is not stored):")
    print(token)
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from station.central.db import DatabaseError
    from station.central.storage import stats

    if args.database is None and not (args.data_dir / "central.db").exists():
        print(f"no central.db in {args.data_dir}")
        return 1
    try:
        result = stats(args.data_dir, args.database)
    except DatabaseError as exc:
        raise ConfigError(str(exc)) from None
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
    p = sub.add_parser("central", help="the reference central server (serve, token, stats)")
    add_arguments(p)


def main(argv: list[str] | None = None) -> int:
    from station.cli.main import run_guarded

    parser = argparse.ArgumentParser(prog="station central")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_guarded(args.func, args)
