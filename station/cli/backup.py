"""The ``station backup DEST`` command: a consistent copy of the database while the station runs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from station.cli.common import Subparsers, add_command, load_config, open_store, setup_logging
from station.errors import StoreError


def cmd_backup(args: argparse.Namespace) -> int:
    config = load_config(args)
    setup_logging(config)
    if not config.database_path.exists():
        raise StoreError(f"no database at {config.database_path} to back up (is --data-dir right?)")
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / time.strftime("station-%Y%m%d-%H%M%S.db")
    elif not dest.parent.is_dir():
        raise StoreError(f"cannot back up the database to {dest}: {dest.parent} is not a directory")
    store = open_store(config)
    try:
        started = time.perf_counter()
        written = store.backup_to(dest)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    print(f"backed up {config.database_path} to {written} ({written.stat().st_size / 1e6:.1f} MB, {seconds:.2f} s)")
    return 0


def register(sub: Subparsers) -> None:
    p = add_command(sub, "backup", cmd_backup, "write a consistent copy of the database (safe while the station runs)")
    p.add_argument("dest", help="a file to write, or a directory (station-YYYYMMDD-HHMMSS.db is made in it)")
