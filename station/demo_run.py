"""``station demo``: a generated day on simulated hardware, with or without the screen.

Owns the demo's set-up (a fresh demo database, the generated manifest imported and
planned) and the headless run. The demo goes through the same core, the same serial
scanner code (over a pseudo-terminal) and the same print queue as a real station.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

from station.cli.common import setup_logging
from station.config import Config, load_config
from station.core import Station
from station.demo_day import generate_day, scan_feed
from station.devices import build_print_queue, build_scanners
from station.errors import StationError
from station.manifest import write_csv
from station.planning_bridge import plan_in_worker
from station.store import Store

DEMO_MARK = "demo"


def _reset(config: Config) -> None:
    """Start a new demo day, but never wipe a real station's database."""
    db_path = config.database_path
    if db_path.exists():
        store = Store.open(db_path, check=False)
        try:
            is_demo = store.get_meta(DEMO_MARK) == "1"
        finally:
            store.close()
        if not is_demo:
            raise StationError(
                f"{config.data_dir} holds a real station's database: run the demo with another --data-dir"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(config.labels_dir, ignore_errors=True)


def prepare_day(config: Config, *, parcels: int, seed: int, fresh: bool, plan_seconds: float) -> Station:
    """Open the demo station with a generated, imported and planned day."""
    if fresh:
        _reset(config)
    station = Station.open(config)
    with station.store.write() as db:
        db.table("meta").upsert({"key": DEMO_MARK, "value": "1"}, pk="key")
    if not station.store.scalar("SELECT count(*) FROM parcels"):
        day = generate_day(config.hub, parcels=parcels, seed=seed)
        manifest = config.data_dir / "demo-manifest.csv"
        write_csv(day, manifest)
        station.import_manifest(manifest)
    if station.current_plan() is None:
        print(f"planning {len(station.parcels())} parcels on {len(config.vans)} vans ...", file=sys.stderr)
        started = time.monotonic()
        plan = plan_in_worker(station, time_limit_s=plan_seconds)
        print(
            f"plan ready in {time.monotonic() - started:.1f} s: {len(plan.routes)} vans, "
            f"{len(plan.unplanned)} parcels not planned",
            file=sys.stderr,
        )
    return station


def run_demo(
    data_dir: Path,
    config_path: Path | None,
    *,
    headless: bool,
    scans: int,
    parcels: int,
    seed: int,
    interval_s: float | None,
    fresh: bool,
) -> int:
    config = load_config(config_path, data_dir)
    setup_logging(config)
    plan_seconds = min(config.planning.time_limit_s, 5.0)
    station = prepare_day(config, parcels=parcels, seed=seed, fresh=fresh, plan_seconds=plan_seconds)
    done = station.locked_vans()  # a kept day goes on where it stopped
    feed = scan_feed([p for p in station.parcels() if p.tracking_id not in done], seed=seed + 1)
    if not headless:
        station.close()
        from station.ui.launch import run_screen

        return run_screen(config, demo_codes=feed, interval_s=interval_s)
    try:
        slots = build_scanners(config, demo_codes=feed, interval_s=0.0 if interval_s is None else interval_s)
        if not slots:
            raise StationError("the config has no scanner for the demo to play")
        queue = build_print_queue(config, station.store)
        from station.demo_day import run_scans

        summary = asyncio.run(run_scans(station, slots[0], queue, scans))
        queue.close()
        for other in slots[1:]:
            other.scanner.close()
    finally:
        station.close()
    for line in summary.lines():
        print(line)
    print(f"labels in {config.labels_dir}")
    return 0
