"""Benchmark: the time from a station's scan to the sender's webhook, on loopback.

A real station (its scan path, its background sync task woken by the scan as the screen
does it), the reference central server (its webhook loop nudged by each push) and a
webhook receiver, all on 127.0.0.1 in one process. Each parcel is scanned once the
previous one's webhook arrived, so each figure is one scan's own path, not a queue:
commit -> outbox -> POST /v1/events -> status derived -> message queued -> signed POST.

    .venv/bin/python bench/tracking.py [--parcels 200]

Prints p50, p90, p99 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import station.sync  # noqa: E402, F401
from station.central.server import ServerThread  # noqa: E402
from station.central.testing import running_central, station_config  # noqa: E402
from station.core import Station  # noqa: E402
from station.demo_day import generate_day  # noqa: E402
from station.sync.task import run_sync  # noqa: E402


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.received = 0
        self.cond = threading.Condition()

    def wait_count(self, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while self.received < count:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {self.received} of {count} webhooks within {timeout_s} s")
                self.cond.wait(0.05)

    async def hook(self, request: Request) -> Response:
        body = await request.json()
        with self.cond:
            self.received += 1
            self.cond.notify_all()
        if body["data"]["status"] == "at_hub":
            with self.cond:
                self.arrived[body["data"]["tracking_id"]] = time.perf_counter()
                self.cond.notify_all()
        return Response(status_code=204)

    def wait(self, tracking_id: str, timeout_s: float = 30) -> float:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while tracking_id not in self.arrived:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no webhook for {tracking_id} within {timeout_s} s")
                self.cond.wait(0.05)
            return self.arrived[tracking_id]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-tracking-"))
    receiver = Receiver()
    with (
        ServerThread(Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])) as hook_server,
        running_central(tmp / "central", ["S1"], allow_private_webhooks=True) as central,
    ):
        made = httpx.post(
            f"{central.url}/v1/webhooks",
            json={"url": f"{hook_server.url}/hook"},
            headers={"Authorization": f"Bearer {central.system_token}"},
        )
        made.raise_for_status()
        config = station_config(tmp / "station", central.url, central.tokens["S1"])
        parcels = generate_day(config.hub, parcels=args.parcels, seed=11)
        central.publish_manifest(config.hub.name, "2026-11-25", parcels)
        station = Station.open(config)
        station.replace_manifest(parcels, version="v1")
        receiver.wait_count(len(parcels))  # every info_received out of the way before timing

        loop = asyncio.new_event_loop()
        wake = asyncio.Event()
        ready = threading.Event()

        async def sync_forever() -> None:
            ready.set()
            await run_sync(station.store, config, wake=wake, idle_s=5.0)

        thread = threading.Thread(target=loop.run_until_complete, args=(sync_forever(),), daemon=True)
        thread.start()
        ready.wait()
        latencies = []
        try:
            for p in parcels:
                started = time.perf_counter()
                station.scan(p.tracking_id, device="terminal")  # committed when it returns
                loop.call_soon_threadsafe(wake.set)
                latencies.append((receiver.wait(p.tracking_id) - started) * 1000)
        finally:
            station.close()
        ms = sorted(latencies)

        def pct(q: float) -> float:
            return ms[min(len(ms) - 1, int(q * len(ms)))]

        print(f"scan -> webhook on loopback, {len(ms)} parcels, one at a time")
        p50, p90, p99 = statistics.median(ms), pct(0.90), pct(0.99)
        print(f"  p50 {p50:.1f} ms   p90 {p90:.1f} ms   p99 {p99:.1f} ms   max {ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
