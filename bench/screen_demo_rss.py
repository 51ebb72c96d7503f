"""Peak RSS of the demo with its Textual screen, run headless by Textual's test driver.

Same app, same simulated scanner (over a pty), same core and print queue as
``station demo``; only the terminal is virtual. Prints one line: the peak RSS.

    python bench/screen_demo_rss.py DATA_DIR [--scans 300]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
from pathlib import Path

from station.config import load_config
from station.demo_day import scan_feed
from station.demo_run import prepare_day
from station.ui.launch import build_app


async def run(data_dir: Path, scans: int) -> None:
    config = load_config(None, data_dir)
    station = prepare_day(config, parcels=600, seed=7, fresh=True, plan_seconds=5)
    feed = scan_feed(station.parcels(), seed=8)
    station.close()
    app = build_app(config, demo_codes=feed, interval_s=0.02)
    async with app.run_test(size=(120, 36)) as pilot:
        while app.station.store.scalar("SELECT count(*) FROM events") < scans:
            await pilot.pause(0.1)
    app.queue.close()
    app.station.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--scans", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.data_dir, args.scans))
    print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
