"""Crash test: the station killed with SIGKILL at random moments while scanning and
syncing, 50 times, then restarted. Every scan it acknowledged (printed after commit) is on
the server exactly once, nothing it never committed is there, and the station's database
passes ``PRAGMA integrity_check``.

The child is this file run as a script: it scans through ``Station.scan`` (the real scan
path) on the main thread while ``run_sync`` pushes in a background thread, as on a dock.
The server runs in the test process, so it survives the kills.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # SIGKILLs station processes in a loop, then drains

KILLS = 50


def child(data_dir: str, url: str, token: str, mode: str) -> int:
    import station.sync as _sync_targets  # noqa: F401  (registers the sync targets)
    from station.config import ServerConfig, load_config
    from station.core import Station
    from station.sync.backoff import Backoff
    from station.sync.task import push_once, run_sync

    token_file = Path(data_dir) / "station-token"
    token_file.write_text(token)
    config = dataclasses.replace(
        load_config(None, Path(data_dir)),
        station_id="S1",
        server=ServerConfig(url=url, token_file=token_file, timeout_s=2.0, batch_size=20),
    )
    station = Station.open(config)
    if mode == "drain":
        status = push_once(station.store, config, max_failures=10, backoff=Backoff(0.01, 0.1))
        print(f"left {status.backlog}", flush=True)
        return 0 if status.backlog == 0 else 1
    backoff = Backoff(0.01, 0.05)
    threading.Thread(
        target=lambda: asyncio.run(run_sync(station.store, config, idle_s=0.01, backoff=backoff)), daemon=True
    ).start()
    rng = random.Random(os.getpid())
    print("ready", flush=True)
    for i in range(100_000):
        decision = station.scan(f"1ZCRASH{os.getpid()}{i:06d}")
        print(f"ack {decision.event_id}", flush=True)  # only after the commit returned
        time.sleep(rng.uniform(0, 0.004))
    return 0


def test_sigkill_while_scanning_and_syncing(tmp_path: Path) -> None:
    from station.central.testing import running_central

    rng = random.Random(20261125)
    station_dir = tmp_path / "station"
    station_dir.mkdir()
    acked: list[str] = []
    started = time.monotonic()
    with running_central(tmp_path / "central") as central:
        token = central.tokens["S1"]

        def run(mode: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, __file__, str(station_dir), central.url, token, mode],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=Path(__file__).parents[1],
            )

        for _ in range(KILLS):
            proc = run("scan")
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.01, 0.15))
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
            assert proc.returncode == -signal.SIGKILL
            acked += [
                line.split()[1] for line in out.splitlines() if line.startswith("ack ") and len(line.split()) == 2
            ]

        before_restart = len(central.store.event_ids("S1"))
        drain = run("drain")
        out, _ = drain.communicate(timeout=600)  # generous: a slow CPU must not fail it
        assert drain.returncode == 0, out

        held = central.store.event_ids("S1")
        assert central.store.integrity_check() == "ok"

    db = sqlite3.connect(station_dir / "station.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    committed = {r[0] for r in db.execute("SELECT event_id FROM events")}
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    db.close()

    print(
        f"\n{KILLS} kills: {len(acked)} scans acknowledged, {len(committed)} committed, "
        f"{before_restart} on the server before the last restart, {len(held)} after; "
        f"{time.monotonic() - started:.1f} s"
    )
    assert len(acked) > KILLS  # the kills really landed mid-work
    assert len(held) == len(set(held)), "an event is on the server twice"
    assert set(acked) <= set(held), f"{len(set(acked) - set(held))} acknowledged scans missing"
    assert set(held) == committed  # and nothing that was never committed


if __name__ == "__main__":
    sys.exit(child(*sys.argv[1:5]))
