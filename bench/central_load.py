"""Benchmark: the central server at company scale, on loopback (issue 17, "Measured").

The server runs as in production (``python -m station.central serve``, a process of its own,
SQLite in its data dir or ``--database postgresql://...``, ``--workers N``). One asyncio
process plays everybody else:

- 40 stations (one per hub; 40 hubs, each with its day's manifest PUT by the company system)
  pushing batches of 100 valid scan events (``ScanEvent.to_wire``, the Idempotency-Key the
  station derives from the body), one request in flight each, retrying a failed batch as the
  station does (same body, same key);
- 200 receivers reading tracking answers (``GET /v1/track/{id}?postal_code=...``), each from
  its own loopback address (127.0.1.x) and at most every ``--read-interval`` seconds: the
  server limits a client address to 30 reads a minute, and a receiver is a person;
- 5 webhook receivers (bare HTTP servers answering 200) subscribed to every status change.

Phases: a ramp of offered push rates (``--ramp``, events/s over all stations,
``--step-seconds`` each) that stops at the first rate the server does not keep up with (it
accepted under 90 % of the step's events, or the stations' backlog at the step's end is over a
second of them); then ``--seconds`` at full push load (each station sends its next batch as
soon as the last is answered: the events/s the server accepts). A request's latency counts in
the phase it was sent in. Then the stations push what they still hold, the webhooks still
owed are waited for (``--settle-seconds``), and the server's own count (``station central
stats``) must equal, station by station, what they sent: an event lost or stored twice fails
the run (exit 1).

Peak RSS is the central server's (the sum over its processes, sampled from /proc twice a
second; PostgreSQL's own processes are not counted). The load generator shares the
machine's cores with the server: its CPU time is printed next to the figures.

    .venv/bin/python bench/central_load.py                       # SQLite, one process
    .venv/bin/python bench/central_load.py --start-postgres --workers 2
    .venv/bin/python bench/central_load.py --database postgresql://central@db:5432/central
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station.central.testing import free_port, wait_until_serving, write_tokens  # noqa: E402
from station.events import ScanEvent  # noqa: E402
from station.model import EventKind, Outcome  # noqa: E402

DAY = "2026-11-25"
BATCH = 100
# A parcel's scans at its hub, in order: what the receivers see change is at_hub, loaded,
# out_for_delivery; the repeat changes nothing they see.
LIFE = (
    (EventKind.SORTED, Outcome.SORTED, "sort"),
    (EventKind.REPEAT, Outcome.REPEAT, "sort"),
    (EventKind.LOADED, Outcome.LOADED, "load"),
    (EventKind.DEPARTED, Outcome.COMMAND, "load"),
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Phase:
    name: str
    offered: float | None  # events/s over all stations; None: as fast as answered
    started: float = 0.0
    ended: float = 0.0
    accepted: int = 0
    push_ms: list[float] = field(default_factory=list)
    track_ms: list[float] = field(default_factory=list)
    track_status: dict[int, int] = field(default_factory=dict)
    push_errors: dict[str, int] = field(default_factory=dict)
    webhooks: int = 0
    backlog_end: int = 0
    kept_up: bool | None = None  # a ramp step: whether the server kept up with it

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Parcel:
    tracking_id: str
    postal_code: str


class Hub:
    def __init__(self, number: int, parcels: int) -> None:
        self.name = f"Bench Hub {number:02d}"
        self.station_id = f"bench-{number:02d}"
        rng = random.Random(number)
        self.parcels = [Parcel(f"BENCH{number:02d}P{n:07d}", f"{69001 + rng.randrange(9):05d}") for n in range(parcels)]

    def manifest(self) -> dict[str, Any]:
        return {
            "hub": self.name,
            "day": DAY,
            "parcels": [
                {
                    "tracking_id": p.tracking_id,
                    "recipient": f"Recipient {n}",
                    "address": f"{n % 200 + 1} rue de la Charge",
                    "postal_code": p.postal_code,
                    "lat": 45.73 + (n % 97) / 10_000,
                    "lon": 4.83 + (n % 89) / 10_000,
                    "weight_kg": 1.5,
                }
                for n, p in enumerate(self.parcels)
            ],
        }


class Station:
    """One simulated station: events made as the scan path makes them, an outbox, one push at a time."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.hub = hub
        self.token = token
        self.seq = 0
        self.outbox: deque[dict[str, Any]] = deque()
        self.sent = 0  # events the server answered 200 for
        self.event_ids: set[str] = set()
        self.wake = asyncio.Event()

    def scan(self, count: int) -> None:
        """``count`` more events in the outbox (a parcel's life, parcel after parcel)."""
        for _ in range(count):
            self.seq += 1
            parcel = self.hub.parcels[(self.seq // len(LIFE)) % len(self.hub.parcels)]
            kind, outcome, role = LIFE[self.seq % len(LIFE)]
            lane = self.seq % 12 + 1
            van = f"V{lane:02d}"
            event = ScanEvent(
                event_id=ScanEvent.new_id(),
                seq=self.seq,
                kind=kind,
                outcome=outcome,
                station_id=self.hub.station_id,
                operator="dock",
                device="scanner-1",
                role="sort" if role == "sort" else f"load:{van}",
                occurred_at=datetime.now(UTC).isoformat(),
                clock_synced=True,
                code=parcel.tracking_id,
                tracking_id=parcel.tracking_id,
                van=van,
                lane=lane,
                stop=self.seq % 40 + 1,
                reason=f"departed in van {van}" if kind is EventKind.DEPARTED else None,
            )
            self.outbox.append(event.to_wire(hub=self.hub.name, day=DAY))
        self.wake.set()


class Load:
    def __init__(self, args: argparse.Namespace, url: str, hubs: list[Hub], tokens: dict[str, str]) -> None:
        self.args = args
        self.url = url
        self.stations = [Station(hub, tokens[hub.station_id]) for hub in hubs]
        self.hubs = hubs
        self.phase = Phase("setup", None)
        self.phases: list[Phase] = []
        self.running = True
        self.saturate = False
        self.webhooks_total = 0
        self.webhook_ids: set[str] = set()
        self.fatal: str | None = None
        self.peak_rss_kb = 0  # the central server's, over all its processes
        self.hook_writers: set[asyncio.StreamWriter] = set()
        self.visible_after: float | None = None  # seconds until tracking knew every manifest
        self.settle = (0, 0.0)  # webhook messages received after the load stopped, seconds until the last

    # -- stations -----------------------------------------------------------------------

    async def push_loop(self, station: Station) -> None:
        headers = {"Authorization": f"Bearer {station.token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=self.url, timeout=30.0, headers=headers) as client:
            delay = 0.1
            while self.running or station.outbox:
                if self.saturate and len(station.outbox) < BATCH:
                    station.scan(BATCH - len(station.outbox))
                if not station.outbox:
                    station.wake.clear()
                    try:
                        await asyncio.wait_for(station.wake.wait(), 0.5)
                    except TimeoutError:
                        pass
                    continue
                batch = [station.outbox[i] for i in range(min(BATCH, len(station.outbox)))]
                body = json.dumps({"station_id": station.hub.station_id, "events": batch}).encode()
                key = hashlib.sha256(body).hexdigest()
                began, started = self.phase, time.perf_counter()
                try:
                    answer = await client.post("/v1/events", content=body, headers={"Idempotency-Key": key})
                except httpx.HTTPError as exc:
                    phase = self.phase
                    phase.push_errors[type(exc).__name__] = phase.push_errors.get(type(exc).__name__, 0) + 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                # Latency belongs to the phase the request met; accepted events to the phase they arrive in.
                phase = self.phase
                if answer.status_code == 200:
                    began.push_ms.append(elapsed)
                    phase.accepted += len(batch)
                    station.sent += len(batch)
                    for _ in batch:
                        station.event_ids.add(station.outbox.popleft()["event_id"])
                    delay = 0.1
                elif answer.status_code in (408, 409, 425, 429) or answer.status_code >= 500:
                    phase.push_errors[str(answer.status_code)] = phase.push_errors.get(str(answer.status_code), 0) + 1
                    retry_after = answer.headers.get("Retry-After", "")
                    await asyncio.sleep(max(delay, float(retry_after) if retry_after.isdigit() else 0.0))
                    delay = min(delay * 2, 5.0)
                else:
                    self.fatal = f"{station.hub.station_id}: push answered {answer.status_code}: {answer.text[:300]}"
                    self.running = False
                    return

    async def offer(self, rate: float) -> None:
        """Scans arrive at ``rate`` events/s over all stations, every 100 ms."""
        per_tick = rate / len(self.stations) / 10
        owed = [random.random() for _ in self.stations]  # staggered, not all at the same instant
        next_tick = time.perf_counter()
        while self.running:
            for i, station in enumerate(self.stations):
                owed[i] += per_tick
                whole = int(owed[i])
                if whole:
                    owed[i] -= whole
                    station.scan(whole)
            next_tick += 0.1
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))

    # -- receivers ------------------------------------------------------------------------

    async def read_loop(self, number: int) -> None:
        address = f"127.0.1.{number % 250 + 1}" if number < 250 else f"127.0.2.{number % 250 + 1}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        rng = random.Random(number)
        async with httpx.AsyncClient(base_url=self.url, timeout=30.0, transport=transport) as client:
            await asyncio.sleep(rng.uniform(0, self.args.read_interval))
            while self.running:
                hub = rng.choice(self.hubs)
                parcel = rng.choice(hub.parcels)
                phase, started = self.phase, time.perf_counter()
                try:
                    answer = await client.get(
                        f"/v1/track/{parcel.tracking_id}", params={"postal_code": parcel.postal_code}
                    )
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - started) * 1000
                phase.track_status[status] = phase.track_status.get(status, 0) + 1
                if status == 200:
                    phase.track_ms.append(elapsed)
                await asyncio.sleep(self.args.read_interval * rng.uniform(0.9, 1.1))

    # -- webhook receivers ----------------------------------------------------------------

    async def hook(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A bare HTTP/1.1 receiver: reads each request whole and answers 200, keep-alive."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, message_id = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"webhook-id":
                        message_id = value.strip().decode()
                await reader.readexactly(length)
                self.webhooks_total += 1
                self.phase.webhooks += 1
                self.webhook_ids.add(message_id)
                self.hook_writers.add(writer)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.hook_writers.discard(writer)
            writer.close()

    # -- phases ---------------------------------------------------------------------------

    def start_phase(self, name: str, offered: float | None) -> Phase:
        phase = Phase(name, offered, started=time.perf_counter())
        self.phase = phase
        self.phases.append(phase)
        return phase

    def end_phase(self, phase: Phase) -> None:
        phase.ended = time.perf_counter()
        phase.backlog_end = sum(len(s.outbox) for s in self.stations)


def rss_kb(root_pid: int) -> int:
    """The resident memory of a process and all its descendants (uvicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def central_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "station.central", *args]


def server_stats(data_dir: Path, database: str | None) -> dict[str, Any]:
    command = central_command("stats", "--data-dir", str(data_dir), "--json")
    if database:
        command += ["--database", database]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


async def setup(url: str, system_token: str, hubs: list[Hub], receivers: list[int]) -> None:
    headers = {"Authorization": f"Bearer {system_token}"}
    async with httpx.AsyncClient(base_url=url, timeout=120.0, headers=headers) as client:
        for hub in hubs:
            answer = await client.put(f"/v1/hubs/{hub.name}/days/{DAY}/manifest", json=hub.manifest())
            if answer.status_code != 200:
                raise SystemExit(f"manifest of {hub.name} refused: {answer.status_code} {answer.text[:500]}")
        for port in receivers:
            answer = await client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook"})
            if answer.status_code != 201:
                raise SystemExit(f"webhook subscription refused: {answer.status_code} {answer.text}")


async def wait_visible(url: str, hubs: list[Hub], timeout_s: float) -> float | None:
    """Seconds until tracking answers for the last parcel of every hub's manifest (tracking takes
    a manifest in after it was PUT); None if not within ``timeout_s``."""
    started = time.perf_counter()
    for n, hub in enumerate(hubs):
        # An address per hub: one address is allowed 30 reads a minute.
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.3.{n % 250 + 1}")
        async with httpx.AsyncClient(base_url=url, timeout=30.0, transport=transport) as client:
            parcel = hub.parcels[-1]
            while True:
                answer = await client.get(f"/v1/track/{parcel.tracking_id}", params={"postal_code": parcel.postal_code})
                if answer.status_code == 200:
                    break
                if time.perf_counter() - started > timeout_s:
                    return None
                await asyncio.sleep(2.0 if answer.status_code == 429 else 0.5)
    return time.perf_counter() - started


async def run(args: argparse.Namespace, url: str, server: subprocess.Popen[bytes], tokens: dict[str, str]) -> Load:
    hubs = [Hub(n, args.parcels) for n in range(1, args.stations + 1)]
    load = Load(args, url, hubs, tokens)
    hook_servers = [await asyncio.start_server(load.hook, "127.0.0.1", 0) for _ in range(args.receivers)]
    ports = [s.sockets[0].getsockname()[1] for s in hook_servers]
    print(
        f"PUT {len(hubs)} manifests of {args.parcels} parcels, {len(ports)} webhook subscriptions ...", file=sys.stderr
    )
    await setup(url, tokens["system"], hubs, ports)
    load.visible_after = await wait_visible(url, hubs, args.settle_seconds)

    async def sample_rss() -> None:
        while True:
            load.peak_rss_kb = max(load.peak_rss_kb, rss_kb(server.pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample_rss())
    pushers = [asyncio.create_task(load.push_loop(s)) for s in load.stations]
    readers = [asyncio.create_task(load.read_loop(n)) for n in range(args.readers)]
    # Making 240 httpx clients blocks this loop for seconds (an SSL context each): done before
    # any phase starts, or the first one measures it.
    await asyncio.sleep(3.0)

    for rate in args.ramp:
        if not load.running:
            break
        print(f"ramp: {rate:g} events/s for {args.step_seconds:g} s ...", file=sys.stderr)
        phase = load.start_phase(f"{rate:g}/s", rate)
        offer = asyncio.create_task(load.offer(rate))
        await asyncio.sleep(args.step_seconds)
        offer.cancel()
        load.end_phase(phase)
        phase.kept_up = keeps_up(phase)
        if not phase.kept_up:
            break

    # The ramp first, from a quiet server: after full load the server is still catching up.
    # What a step left in the outboxes is pushed before full load starts.
    while any(s.outbox for s in load.stations) and load.running:
        await asyncio.sleep(0.1)
    print(f"full push load for {args.seconds:g} s ...", file=sys.stderr)
    load.saturate = True
    phase = load.start_phase("full", None)
    await asyncio.sleep(args.seconds)
    load.end_phase(phase)
    load.saturate = False

    print("stopping: stations push what they hold ...", file=sys.stderr)
    load.start_phase("drain", None)
    load.running = False
    for station in load.stations:
        station.wake.set()
    try:
        await asyncio.wait_for(asyncio.gather(*pushers), 120)
    except TimeoutError:
        load.fatal = load.fatal or "the stations' outboxes did not drain within 120 s"
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    # Tracking may lag behind the pushes (its statuses and webhooks catch up after a burst):
    # how many messages arrive once the load stopped, and how long until they stop coming.
    stopped, received = time.perf_counter(), load.webhooks_total
    at_stop = received
    last_message = stopped
    while time.perf_counter() - stopped < args.settle_seconds:
        await asyncio.sleep(0.5)
        if load.webhooks_total != received:
            received, last_message = load.webhooks_total, time.perf_counter()
        elif received > at_stop and time.perf_counter() - last_message >= 5:
            break
    load.settle = (load.webhooks_total - at_stop, last_message - stopped)
    sampler.cancel()
    for hook_server in hook_servers:
        hook_server.close()
    for writer in list(load.hook_writers):
        writer.close()  # the server's keep-alive connections: the handlers see the end and return
    await asyncio.sleep(0.1)
    return load


def keeps_up(phase: Phase) -> bool:
    """Whether the server kept up with an offered rate: it accepted 90 % of what was offered in
    the step (the rest is the last requests' answers, still on their way) and the stations hold
    under a second of it at the step's end."""
    assert phase.offered is not None
    return phase.accepted >= 0.9 * phase.offered * phase.seconds and phase.backlog_end <= phase.offered


def report(args: argparse.Namespace, load: Load, backend: str, cpu_s: float, wall_s: float) -> None:
    workers = args.workers or 1
    full = next(p for p in load.phases if p.name == "full")
    print()
    print(
        f"central server: {backend}, {workers} worker(s); {args.stations} stations x {BATCH} events/batch, "
        f"{args.readers} tracking readers (one read each per ~{args.read_interval:g} s), {args.receivers} webhook "
        f"receivers; {os.cpu_count()} cores shared with the load generator (it used {cpu_s:.0f} CPU-s "
        f"in {wall_s:.0f} s)"
    )
    print()
    print(
        "| backend | workers | phase | offered ev/s | accepted ev/s | push p50 ms | push p99 ms "
        "| track p50 ms | track p99 ms | reads/s | webhooks/s | backlog at end | push retries |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for phase in load.phases:
        if phase.name == "drain":
            continue
        seconds = phase.seconds or 1.0
        reads = sum(phase.track_status.values())
        errors = sum(phase.push_errors.values())
        offered = "full" if phase.offered is None else f"{phase.offered:g}"
        backlog = "-" if phase.offered is None else f"{phase.backlog_end:,}"
        print(
            f"| {backend} | {workers} | {phase.name} | {offered} | {phase.accepted / seconds:,.0f} "
            f"| {percentile(phase.push_ms, 0.5):.0f} | {percentile(phase.push_ms, 0.99):.0f} "
            f"| {percentile(phase.track_ms, 0.5):.1f} | {percentile(phase.track_ms, 0.99):.1f} "
            f"| {reads / seconds:.0f} | {phase.webhooks / seconds:,.0f} | {backlog} | {errors} |"
        )
    ramp = [p for p in load.phases if p.offered is not None]
    kept = [p for p in ramp if p.kept_up]
    if ramp:
        if len(kept) == len(ramp):
            print(f"\nkept up with every offered rate, up to {ramp[-1].offered:g} events/s")
        else:
            last = f"{kept[-1].offered:g} events/s" if kept else "none"
            print(f"\nstops keeping up at {ramp[len(kept)].offered:g} events/s (last kept up: {last})")
    statuses: dict[int, int] = {}
    for phase in load.phases:
        for status, n in phase.track_status.items():
            statuses[status] = statuses.get(status, 0) + n
    print(f"tracking answers by status: {dict(sorted(statuses.items()))}")
    print(
        f"full load: {full.accepted / (full.seconds or 1):,.0f} events/s accepted; "
        f"push errors {full.push_errors or 'none'}; "
        f"server peak RSS {load.peak_rss_kb / 1024:.0f} MB; "
        f"webhook messages received {load.webhooks_total:,} ({len(load.webhook_ids):,} distinct)"
    )
    visible = "not within the wait" if load.visible_after is None else f"{load.visible_after:.1f} s"
    print(f"manifests visible to tracking after the PUTs, before any push: {visible}")
    print(
        f"after the load stopped: {load.settle[0]:,} more webhook messages, the last {load.settle[1]:.0f} s "
        f"after (waited up to {args.settle_seconds:g} s, or until 5 s without one once they came)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="postgresql://... (default: SQLite in the server's data dir)")
    parser.add_argument(
        "--start-postgres", action="store_true", help="start a throwaway PostgreSQL cluster (as the tests do)"
    )
    parser.add_argument("--workers", type=int, help="server processes (--workers of central serve)")
    parser.add_argument("--seconds", type=float, default=15.0, help="the full-load phase")
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--receivers", type=int, default=5)
    parser.add_argument("--parcels", type=int, default=1000, help="parcels per hub's manifest")
    parser.add_argument("--read-interval", type=float, default=2.0, help="seconds between a reader's reads")
    parser.add_argument(
        "--ramp",
        type=lambda text: [float(r) for r in text.split(",") if r],
        default=[500.0, 1000.0, 2000.0, 4000.0, 8000.0],
        help="offered push rates, events/s, comma-separated",
    )
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument(
        "--settle-seconds", type=float, default=30.0, help="how long to wait for webhooks after the load stops"
    )
    args = parser.parse_args()
    if args.start_postgres and args.database:
        parser.error("--start-postgres or --database, not both")

    work = Path(tempfile.mkdtemp(prefix="bench-central-"))
    cluster = None
    database = args.database
    if args.start_postgres:
        from tests.postgres import start_cluster  # the tests' throwaway cluster, with fsync on

        cluster = start_cluster()
        database = cluster.create_database()
    backend = "postgresql" if database else "sqlite"
    tokens_file = work / "tokens.toml"
    stations = {f"bench-{n:02d}": f"Bench Hub {n:02d}" for n in range(1, args.stations + 1)}
    tokens = write_tokens(tokens_file, stations, systems=["system"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = work / "central"
    command = central_command(
        "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
        "--tokens", str(tokens_file), "--allow-private-webhooks", "--log-level", "warning",
    )  # fmt: skip
    if database:
        command += ["--database", database]
    if args.workers:
        command += ["--workers", str(args.workers)]
    server = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        try:
            wait_until_serving(url, server)
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        wall_before = time.perf_counter()
        load = asyncio.run(run(args, url, server, tokens))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        wall_s = time.perf_counter() - wall_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    report(args, load, backend, cpu_s, wall_s)
    held = server_stats(data_dir, database)
    sent = {s.hub.station_id: s.sent for s in load.stations}
    distinct = sum(len(s.event_ids) for s in load.stations)
    wrong = {sid: (n, held["events"].get(sid, 0)) for sid, n in sent.items() if held["events"].get(sid, 0) != n}
    print(
        f"stations sent {sum(sent.values()):,} events ({distinct:,} distinct ids); the server holds "
        f"{held['events_total']:,} (duplicate events ignored: {held['duplicate_events']}, "
        f"duplicate requests: {held['duplicate_requests']})"
    )
    if cluster is not None:
        cluster.remove()
    shutil.rmtree(work, ignore_errors=True)  # the tokens and, on SQLite, the server's database
    if load.fatal:
        print(f"FAILED: {load.fatal}")
        return 1
    if wrong or held["events_total"] != sum(sent.values()):
        print(f"FAILED: events lost or doubled (station: sent, held): {wrong}")
        return 1
    print("no event lost or doubled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
