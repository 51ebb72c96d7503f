"""Benchmark: day after day, how much the database grows, and how long a day change and a backup take.

Runs whole days through the station core with a plan made by hand (the solver is not what
is measured): import the day's manifest (a fifth of it carried over from the day before),
sort every parcel, load every parcel at its van's bay, close every van, then start the next
day. Prints the database size after each day (WAL checkpointed), the growth per day, the
time of ``start_day`` and of ``Store.backup_to``.

    python bench/days.py [--parcels 600] [--days 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from station import days
from station.config import Config, load_config
from station.core import Station
from station.demo_day import generate_day
from station.dock import close_van
from station.model import Parcel, Plan, Route


def hand_plan(config: Config, parcels: list[Parcel]) -> Plan:
    per_van: dict[int, list[str]] = {}
    for i, p in enumerate(parcels):
        per_van.setdefault(i % len(config.vans), []).append(p.tracking_id)
    routes = tuple(
        Route(config.vans[v].id, config.vans[v].lane, tuple((t,) for t in ids), 1.0, 10.0, len(ids))
        for v, ids in sorted(per_van.items())
    )
    return Plan(routes=routes, unplanned={}, cost=1.0, solver="bench")


def size_mb(station: Station) -> float:
    station.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return station.store.path.stat().st_size / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=600)
    ap.add_argument("--days", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(None, Path(tmp))
        station = Station.open(config)
        first = date(2026, 11, 30)
        previous: list[Parcel] = []
        sizes = []
        for n in range(args.days):
            day = first + timedelta(days=n)
            fresh = generate_day(config.hub, parcels=args.parcels, seed=100 + n)
            carried = previous[: args.parcels // 5]
            parcels = carried + fresh[: args.parcels - len(carried)]
            started = time.perf_counter()
            days.start_day(station, day)
            change_s = time.perf_counter() - started
            station.replace_manifest(parcels, version=f"bench-{n}", day=day)
            plan = hand_plan(config, parcels)
            station.save_plan(plan)
            van_of = {a.tracking_id: a.van_id for a in plan.assignments()}
            t0 = time.perf_counter()
            for p in parcels:
                station.scan(p.tracking_id, device="sorter")
            t1 = time.perf_counter()
            for p in parcels:
                station.scan(p.tracking_id, device="bay", role=f"load:{van_of[p.tracking_id]}")
            t2 = time.perf_counter()
            for van in config.vans:
                close_van(station, van.id)
            t3 = time.perf_counter()
            print(
                f"  sort {(t1 - t0) / len(parcels) * 1000:.1f} ms/scan, load {(t2 - t1) / len(parcels) * 1000:.1f} "
                f"ms/scan, closing {len(config.vans)} vans {t3 - t2:.1f} s",
                flush=True,
            )
            sizes.append(size_mb(station))
            events = station.store.scalar("SELECT count(*) FROM events WHERE day = ?", (day.isoformat(),))
            print(
                f"day {day}: {len(parcels)} parcels ({len(carried)} carried over), {events} events, "
                f"database {sizes[-1]:.1f} MB; the day change before it took {change_s * 1000:.0f} ms"
            )
            previous = parcels
        growth = [b - a for a, b in zip(sizes, sizes[1:], strict=False)]
        if growth:
            print(f"growth per day (after the first): {', '.join(f'{g:.2f} MB' for g in growth)}")
        started = time.perf_counter()
        days.start_day(station, first + timedelta(days=args.days))
        print(f"day change after a {args.parcels}-parcel day: {(time.perf_counter() - started) * 1000:.0f} ms")
        started = time.perf_counter()
        station.store.backup_to(Path(tmp) / "backup.db")
        print(f"backup of {size_mb(station):.1f} MB: {(time.perf_counter() - started) * 1000:.0f} ms")
        station.close()


if __name__ == "__main__":
    main()
