"""Benchmark: 100,000 scan events queued while the server was away, then it comes back.

Prints the drain time and the station's peak RSS. Target: drained in under 10 s, memory
flat (the outbox is streamed a batch at a time, never loaded whole). ``BENCH_PHASES=1``
also prints the wall time of each step of a push (outbox head, HTTP push, outbox delete).

Three processes, so each number belongs to one program: the station's outbox is filled
by one (a bulk stand-in for 100,000 scans: same event and outbox rows as the scan path,
written 5,000 to a transaction to save the 30 s of per-scan fsyncs), the reference server
runs in another (``python -m station.central serve``), and the drain runs in a fresh
process whose peak RSS is the figure reported.

    .venv/bin/python bench/sync.py [--events 100000] [--batch 500] [--database postgresql://...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _config(data_dir: Path, url: str, batch: int) -> object:
    from station.config import ServerConfig, load_config

    return dataclasses.replace(
        load_config(None, data_dir),
        station_id="S1",
        server=ServerConfig(url=url, token_file=data_dir / "station-token", timeout_s=30.0, batch_size=batch),
    )


def fill(data_dir: Path, events: int) -> None:
    import station.sync  # noqa: F401
    from station.events import ROW_COLUMNS, ScanEvent
    from station.model import EventKind, Outcome
    from station.store import Store

    store = Store.open(data_dir / "station.db")
    start = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    insert_event = f"INSERT INTO events ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join(':' + c for c in ROW_COLUMNS)})"

    def rows(first: int, last: int) -> tuple[list[dict[str, object]], list[tuple[object, ...]]]:
        ev, ob = [], []
        for seq in range(first, last):
            code = f"1ZBENCH{seq:010d}"
            event = ScanEvent(
                event_id=str(uuid.uuid4()),
                seq=seq,
                kind=EventKind.SORTED,
                outcome=Outcome.SORTED,
                station_id="S1",
                operator="dock",
                device="scanner-1",
                role="sort",
                occurred_at=(start + timedelta(milliseconds=300 * seq)).isoformat(),
                clock_synced=True,
                code=code,
                tracking_id=code,
                van=f"V{seq % 12 + 1:02d}",
                lane=seq % 12 + 1,
                stop=seq % 40 + 1,
            )
            ev.append(event.to_row())
            wire = event.to_wire(hub="Bench Hub", day="2026-11-25")
            ob.append((event.event_id, seq, json.dumps(wire), event.occurred_at))
        return ev, ob

    for first in range(1, events + 1, 5000):
        ev, ob = rows(first, min(first + 5000, events + 1))
        with store.write() as db:
            db.conn.executemany(insert_event, ev)
            db.conn.executemany("INSERT INTO outbox (event_id, seq, payload, enqueued_at) VALUES (?, ?, ?, ?)", ob)
    print(f"queued {store.scalar('SELECT count(*) FROM outbox')} events", file=sys.stderr)
    store.close()


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


PHASES: dict[str, list[float]] = {}


def _time_phases() -> None:
    """Wall time of each step of a push, printed to stderr at exit (BENCH_PHASES=1)."""
    import atexit
    import functools

    from station.sync import outbox, targets

    def timed(owner: object, name: str, is_async: bool) -> None:
        fn = getattr(owner, name)
        if is_async:

            @functools.wraps(fn)
            async def wrapped(*a: object, **k: object) -> object:
                t = time.perf_counter()
                try:
                    return await fn(*a, **k)
                finally:
                    PHASES.setdefault(name, []).append(time.perf_counter() - t)
        else:

            @functools.wraps(fn)
            def wrapped(*a: object, **k: object) -> object:
                t = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    PHASES.setdefault(name, []).append(time.perf_counter() - t)

        setattr(owner, name, wrapped)

    timed(outbox.Outbox, "head", False)
    timed(outbox.Outbox, "acknowledge", False)
    timed(outbox.Outbox, "backlog", False)
    timed(targets.CentralTarget, "push", True)

    def show() -> None:
        for name, times in PHASES.items():
            times.sort()
            print(
                f"{name}: n={len(times)} total {sum(times):.2f}s p50 {times[len(times) // 2] * 1000:.1f} ms",
                file=sys.stderr,
            )

    atexit.register(show)


def drain(data_dir: Path, url: str, batch: int) -> None:
    import station.sync  # noqa: F401
    from station.store import Store
    from station.sync.task import push_once

    store = Store.open(data_dir / "station.db")
    config = _config(data_dir, url, batch)
    if os.environ.get("BENCH_PHASES"):
        _time_phases()
    backlog = store.scalar("SELECT count(*) FROM outbox")
    rss_before = _rss_kb()
    started = time.perf_counter()
    status = push_once(store, config)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "events": backlog,
                "left": status.backlog,
                "state": status.state.value,
                "drain_s": round(seconds, 2),
                "events_per_s": round(backlog / seconds),
                "rss_before_drain_mb": round(rss_before / 1024, 1),
                "peak_rss_mb": round(peak / 1024, 1),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database", metavar="URL", help="the server on this PostgreSQL database (default SQLite)")
    parser.add_argument("--mode", choices=["bench", "fill", "drain"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "fill":
        fill(args.dir, args.events)
        return 0
    if args.mode == "drain":
        drain(args.dir, args.url, args.batch)
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    station_dir, central_dir = work / "station", work / "central"
    station_dir.mkdir()
    from station.central.testing import free_port, wait_until_serving
    from station.central.tokens import add_token

    tokens = work / "tokens.toml"
    token = add_token(tokens, station="S1", hub="Bench Hub")  # the hub the bench's events name
    (station_dir / "station-token").write_text(token)
    me = [sys.executable, __file__, "--dir", str(station_dir), "--events", str(args.events), "--batch", str(args.batch)]

    print(f"station offline: queueing {args.events} events ...", file=sys.stderr)
    subprocess.run([*me, "--mode", "fill"], check=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "station.central",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(central_dir),
            "--tokens",
            str(tokens),
            "--log-level",
            "warning",
            *(["--database", args.database] if args.database else []),
            *(["--max-batch-events", str(args.batch)] if args.batch > 500 else []),
        ],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        wait_until_serving(url, server)
        print("server back: draining ...", file=sys.stderr)
        out = subprocess.run([*me, "--mode", "drain", "--url", url], check=True, stdout=subprocess.PIPE, text=True)
        result = json.loads(out.stdout)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from station.central.storage import stats

    held = stats(central_dir, args.database)
    result["server_events"] = held["events_total"]
    result["server_duplicate_events"] = held["duplicate_events"]
    print(
        f"drained {result['events']} events in {result['drain_s']} s ({result['events_per_s']}/s); "
        f"station peak RSS {result['peak_rss_mb']} MB (before drain {result['rss_before_drain_mb']} MB); "
        f"left {result['left']}; server holds {result['server_events']}"
    )
    print(json.dumps(result))
    return 0 if result["left"] == 0 and result["server_events"] == result["events"] else 1


if __name__ == "__main__":
    sys.exit(main())
