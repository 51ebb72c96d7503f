"""What every ``station`` command shares: the data dir, the config, opening the station.

Kept free of heavy imports (Textual, OR-Tools, httpx) so that ``station scan`` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from station.config import Config, resolve_data_dir
from station.config import load_config as _load_config
from station.errors import StationError, StoreError

if TYPE_CHECKING:
    from station.core import Station
    from station.store import Store


def add_common(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--config``, accepted after every subcommand."""
    parser.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="where the database, labels and logs live (default: $STATION_DATA_DIR or ./station-data)",
    )
    parser.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        type=Path,
        help="the station's TOML config (default: DATA_DIR/station.toml, else the demo's)",
    )


# What ``add_subparsers`` returns; every area module registers its commands on it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(
    sub: Subparsers,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help: str,
) -> argparse.ArgumentParser:
    """One subcommand with the common options, dispatching to ``func``."""
    p = sub.add_parser(name, help=help, description=help)
    add_common(p)
    p.set_defaults(func=func)
    return p


def day_argument(text: str) -> date:
    """``--day YYYY-MM-DD``; anything else is a usage error naming the value (exit 2)."""
    from station.days import parse_day

    try:
        return parse_day(text)
    except StationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def data_dir(args: argparse.Namespace) -> Path:
    return resolve_data_dir(getattr(args, "data_dir", None))


def load_config(args: argparse.Namespace) -> Config:
    return _load_config(getattr(args, "config", None), data_dir(args))


def open_store(config: Config) -> Store:
    from station.store import Store

    return Store.open(config.database_path)


def open_station(args: argparse.Namespace) -> Station:
    from station.core import Station

    config = load_config(args)
    setup_logging(config)
    return Station.open(config)


def setup_logging(config: Config, *, to_journal: bool | None = None) -> None:
    """Application messages go to DATA_DIR/logs/station.log, and to the journal under systemd.

    Never to stderr while a screen runs: Textual draws the screen on stderr.
    """
    root = logging.getLogger()
    if getattr(root, "_station_configured", False):
        return
    root.setLevel(logging.INFO)
    try:
        config.logs_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            config.logs_dir / "station.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        wire_handler = logging.handlers.RotatingFileHandler(
            config.logs_dir / "wire.log", maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError as exc:
        raise StoreError(
            f"cannot write the log in {config.logs_dir}: {exc.strerror} (is the data dir {config.data_dir} "
            "writable by this user? --data-dir or STATION_DATA_DIR sets it)"
        ) from None
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    if to_journal is None:
        to_journal = "INVOCATION_ID" in os.environ and Path("/dev/log").exists()  # started by systemd
    if to_journal:
        journal = logging.handlers.SysLogHandler(address="/dev/log")
        journal.setFormatter(logging.Formatter("station: %(levelname)s %(name)s: %(message)s"))
        root.addHandler(journal)
    # Wire bytes from the drivers are chatty; they get their own file.
    wire = logging.getLogger("drivers.wire")
    wire.propagate = False
    wire_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    wire.addHandler(wire_handler)
    root._station_configured = True  # type: ignore[attr-defined]
