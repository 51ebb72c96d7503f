"""The ``station demo`` command: the dock screen (or a headless run) on simulated hardware."""

from __future__ import annotations

import argparse

from station.cli.common import Subparsers, add_command, data_dir


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


def register(sub: Subparsers) -> None:
    p = add_command(sub, "demo", cmd_demo, "the dock screen on simulated hardware with a generated day")
    p.add_argument("--headless", action="store_true", help="no screen: process --scans scans and print a summary")
    p.add_argument("--scans", type=int, default=50)
    p.add_argument("--parcels", type=int, default=600)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--interval", type=float, default=None, help="seconds between simulated scans")
    p.add_argument("--keep", action="store_true", help="keep the data dir's day instead of generating a new one")
