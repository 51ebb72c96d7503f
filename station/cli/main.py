"""The ``station`` command's parser and entry point: every area's commands, and the one guard.

Each area of the CLI is a module of this package with a ``register(subparsers)`` function;
``build_parser`` calls them all. Every handler parses nothing itself, calls into the core,
prints, and returns an exit code: 0 done, 1 the work was refused (a bad manifest, no plan
possible), 2 a usage or config error. Heavy imports (Textual, OR-Tools, httpx, Starlette)
happen inside the handlers that need them, so ``station scan`` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from station.cli import central, day, demo, devices, dock, manifest, sync
from station.cli.common import add_common
from station.errors import ConfigError, StationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="station", description="The hub's dock scan station.")
    add_common(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    day.register(sub)
    manifest.register(sub)
    dock.register(sub)
    sync.register(sub)
    central.register(sub)
    devices.register(sub)
    demo.register(sub)
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
