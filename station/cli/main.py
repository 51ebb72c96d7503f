"""The ``station`` command's parser and entry point: every area's commands, and the one guard.

Each area of the CLI is a module of this package with a ``register(subparsers)`` function;
``build_parser`` calls them all. Every handler parses nothing itself, calls into the core,
prints, and returns an exit code: 0 done, 1 the work was refused (a bad manifest, no plan
possible), 2 a usage or config error. Heavy imports (Textual, OR-Tools, httpx, Starlette)
happen inside the handlers that need them, so ``station scan`` starts fast.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Sequence

from station.cli import backup, central, day, demo, devices, dock, manifest, print_queue, sync
from station.cli.common import add_common
from station.errors import ConfigError, StationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="station", description="The hub's dock scan station.")
    add_common(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    day.register(sub)
    manifest.register(sub)
    dock.register(sub)
    backup.register(sub)
    sync.register(sub)
    central.register(sub)
    devices.register(sub)
    print_queue.register(sub)
    demo.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_on_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_guarded(args.func, args)


def run_guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """The one guard between a handler and the user: a message and an exit code, never a traceback.

    The handlers raise StationError with a message fit for a lead; this prints it (2 for a
    config or usage mistake, 1 for refused work). A reader that closes the pipe early
    (``station report | head``) ends the command quietly.
    """
    try:
        return func(args)
    except ConfigError as exc:
        print(f"station: {exc}", file=sys.stderr)
        return 2
    except StationError as exc:
        print(f"station: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def _never_fail_on_output() -> None:
    """Text that the terminal cannot encode (a scanned byte 0xFF, an ASCII locale) is escaped, not fatal."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _entry() -> None:
    sys.exit(main())
