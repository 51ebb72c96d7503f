"""Benchmark: the scan path through the station core, against the disk's own floor.

With a 10,000-parcel manifest, times N scans through ``Station.scan`` (identify, decide,
commit the event + outbox row + label job durably) and, interleaved in the same run, N bare
one-row commits on a connection in the same mode (WAL, synchronous=FULL): the physical
floor of a durable write on this disk. Prints p50/p99 of both and the difference, then the
demo's peak RSS (headless, and with the Textual screen running headless).

    python bench/scan_path.py [--scans 2000] [--parcels 10000]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from station.config import load_config
from station.core import Station
from station.demo_day import generate_day, make_ups
from station.model import Plan, Route
from station.store import connect


def sector_plan(station: Station) -> Plan:
    """A quick plan by bearing from the hub: the scan path only needs every parcel to have a lane."""
    hub = station.config.hub
    vans = station.config.vans
    by_van: dict[int, list[str]] = {}
    for p in station.parcels():
        assert p.lat is not None and p.lon is not None
        angle = (math.atan2(p.lat - hub.lat, p.lon - hub.lon) + math.pi) / (2 * math.pi)
        by_van.setdefault(min(len(vans) - 1, int(angle * len(vans))), []).append(p.tracking_id)
    routes = tuple(
        Route(vans[v].id, vans[v].lane, tuple((t,) for t in ids), 0.0, 0.0, len(ids))
        for v, ids in sorted(by_van.items())
    )
    return Plan(routes=routes, solver="sector")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def demo_rss(screen: bool) -> str:
    with tempfile.TemporaryDirectory() as d:
        if not screen:
            out = subprocess.run(
                [sys.executable, "-m", "station", "demo", "--headless", "--scans", "300", "--data-dir", d],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            return next(line for line in out.splitlines() if "peak RSS" in line).split(":")[1].strip()
        script = Path(__file__).with_name("screen_demo_rss.py")
        out = subprocess.run([sys.executable, str(script), d], capture_output=True, text=True, check=True).stdout
        return out.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--parcels", type=int, default=10_000)
    parser.add_argument("--no-demo", action="store_true", help="skip the demo RSS measurements")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(None, Path(tmp))
        station = Station.open(config)
        parcels = generate_day(config.hub, parcels=args.parcels, seed=1)
        started = time.perf_counter()
        station.replace_manifest(parcels, version="bench")
        station.save_plan(sector_plan(station))
        print(f"manifest of {len(parcels):,} parcels imported and planned in {time.perf_counter() - started:.1f} s")

        rng = random.Random(2)
        codes: list[str] = []
        for p in rng.sample(parcels, args.scans):
            roll = rng.random()
            if roll < 0.05:
                codes.append(make_ups(rng))  # unknown parcel
            elif roll < 0.08 and codes:
                codes.append(rng.choice(codes))  # repeat
            elif p.codes and roll < 0.3:
                codes.append("]C100" + p.codes[0])  # SSCC label
            else:
                codes.append(p.tracking_id)

        floor = connect(Path(tmp) / "floor.db")
        floor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        floor.commit()

        core_ms: list[float] = []
        bare_ms: list[float] = []
        block = 50  # interleave: the disk's mood changes from second to second
        wall_core = 0.0
        for start in range(0, len(codes), block):
            t0 = time.perf_counter()
            for code in codes[start : start + block]:
                s = time.perf_counter()
                station.scan(code, device="bench")
                core_ms.append((time.perf_counter() - s) * 1000)
            wall_core += time.perf_counter() - t0
            for _ in range(block):
                s = time.perf_counter()
                floor.execute("INSERT INTO t (v) VALUES (?)", ("x" * 64,))
                floor.commit()
                bare_ms.append((time.perf_counter() - s) * 1000)
        floor.close()
        outcomes = station.store.query("SELECT outcome, count(*) AS n FROM events GROUP BY outcome")
        station.close()

    mix = ", ".join(f"{r['outcome']} {r['n']}" for r in outcomes)
    print(f"scans: {len(core_ms):,} ({mix})")
    print(
        f"core scan (identify, decide, commit, label): p50 {percentile(core_ms, 0.5):.2f} ms  "
        f"p99 {percentile(core_ms, 0.99):.2f} ms  mean {statistics.mean(core_ms):.2f} ms  "
        f"{len(core_ms) / wall_core:,.0f} scans/s"
    )
    print(
        f"bare one-row commit (WAL, synchronous=FULL): p50 {percentile(bare_ms, 0.5):.2f} ms  "
        f"p99 {percentile(bare_ms, 0.99):.2f} ms"
    )
    overhead = percentile(core_ms, 0.99) - percentile(bare_ms, 0.99)
    print(f"core p99 above the bare commit's p99: {overhead:+.2f} ms (target: no more than +2 ms)")
    if not args.no_demo:
        print(f"demo peak RSS, headless: {demo_rss(screen=False)}")
        print(f"demo peak RSS, with the screen: {demo_rss(screen=True)}")


if __name__ == "__main__":
    main()
