"""The fault matrix: every fault the reference server can inject, alone and mixed at
random, over real HTTP on loopback. Whatever happens, the server ends holding exactly
the events the station committed: none missing, none twice."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import station.sync  # noqa: F401  (sync tables registered before Station.open)
from station.central.faults import Fault
from station.central.testing import Central, running_central, station_config
from station.config import Config
from station.core import Station
from station.sync.backoff import Backoff
from station.sync.status import SyncState, SyncStatus
from station.sync.task import push_until_empty

pytestmark = pytest.mark.slow  # drains the outbox through every fault of the server


@pytest.fixture
def central(tmp_path: Path, central_database: str | None) -> Iterator[Central]:
    with running_central(tmp_path / "central", database=central_database) as c:
        yield c


def open_station(
    tmp_path: Path, central: Central, *, timeout_s: float = 0.5, batch_size: int = 50
) -> tuple[Station, Config]:
    config = station_config(
        tmp_path / "station", central.url, central.tokens["S1"], timeout_s=timeout_s, batch_size=batch_size
    )
    return Station.open(config), config


def scan_many(station: Station, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        station.scan(f"1ZTEST{i:08d}")


def committed(station: Station) -> list[str]:
    return [r["event_id"] for r in station.store.query("SELECT event_id FROM events")]


def fast_backoff(seed: int = 0) -> Backoff:
    return Backoff(base_s=0.01, cap_s=0.05, rng=random.Random(seed))


def push(
    station: Station, config: Config, *, max_failures: int = 20, seen: list[SyncStatus] | None = None
) -> SyncStatus:
    status, _ = asyncio.run(
        push_until_empty(
            station.store,
            config,
            max_failures=max_failures,
            backoff=fast_backoff(),
            status_cb=seen.append if seen is not None else None,
        )
    )
    return status


def assert_exactly_once(station: Station, central: Central) -> None:
    held = central.store.event_ids("S1")
    assert len(held) == len(set(held))
    assert sorted(held) == sorted(committed(station))
    assert station.outbox_backlog() == 0


@pytest.mark.parametrize(
    "fault",
    [
        Fault("500"),
        Fault("503", retry_after=0),
        Fault("429", retry_after=0),
        Fault("413"),
        Fault("401"),
        Fault("slow", delay_s=0.8),
        Fault("drop"),
        Fault("lost_answer"),
    ],
    ids=lambda f: f.kind,
)
def test_each_fault_ends_with_exactly_the_committed_events(tmp_path: Path, central: Central, fault: Fault) -> None:
    station, config = open_station(tmp_path, central)
    scan_many(station, 120)
    central.thread.app.state.faults.add(fault, fault, fault)
    seen: list[SyncStatus] = []
    status = push(station, config, seen=seen)
    assert status.state is SyncState.OK, status
    assert central.thread.app.state.faults.injected[fault.kind] == 3
    assert_exactly_once(station, central)
    assert status.last_good_sync is not None
    if fault.kind == "401":
        assert any(s.alert and "token" in s.alert for s in seen)
    if fault.kind in ("500", "503", "429", "slow", "lost_answer"):
        assert any(s.state is SyncState.RETRYING for s in seen)
    station.close()


def test_lost_answer_is_counted_as_a_duplicate_request(tmp_path: Path, central: Central) -> None:
    station, config = open_station(tmp_path, central)
    scan_many(station, 10)
    central.thread.app.state.faults.add(Fault("lost_answer"))
    push(station, config)
    stats = central.store.stats()
    assert stats["events"] == {"S1": 10}
    assert stats["duplicate_requests"] == 1  # the resend of the applied batch, replayed
    assert_exactly_once(station, central)


def test_retry_after_is_a_floor(tmp_path: Path, central: Central) -> None:
    station, config = open_station(tmp_path, central)
    scan_many(station, 5)
    central.thread.app.state.faults.add(Fault("503", retry_after=1))
    started = time.monotonic()
    push(station, config)
    assert time.monotonic() - started >= 1.0
    assert_exactly_once(station, central)


def test_server_down_then_back(tmp_path: Path) -> None:
    # Nothing listens: offline, events kept; then the server comes up on that port.
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = station_config(tmp_path / "station", f"http://127.0.0.1:{port}", "t0k3n-unused", timeout_s=0.5)
    station = Station.open(config)
    scan_many(station, 30)
    status = push(station, config, max_failures=1)
    assert status.state is SyncState.OFFLINE
    assert status.backlog == 30


@pytest.mark.parametrize("seed", range(6))
def test_random_fault_mix_while_scanning(tmp_path: Path, central: Central, seed: int) -> None:
    rng = random.Random(seed)
    station, config = open_station(tmp_path, central, batch_size=rng.choice([7, 25, 50]))
    kinds = ["500", "503", "429", "413", "401", "slow", "drop", "lost_answer"]
    scanned = 0
    for _round in range(4):
        n = rng.randint(10, 60)
        scan_many(station, n, scanned)
        scanned += n
        faults = []
        for _ in range(rng.randint(0, 6)):
            kind = rng.choice(kinds)
            faults.append(Fault(kind, retry_after=0 if kind in ("503", "429") else None, delay_s=0.7))
        central.thread.app.state.faults.add(*faults)
        push(station, config, max_failures=40)
        central.thread.app.state.faults.clear()
    assert_exactly_once(station, central)
    assert central.store.integrity_check() == "ok"


def test_scans_never_wait_for_the_network(tmp_path: Path, central: Central) -> None:
    """While a push hangs on a slow server, a scan still commits in milliseconds."""
    from station.sync.task import run_sync

    station, config = open_station(tmp_path, central, timeout_s=3.0)
    scan_many(station, 20)
    central.thread.app.state.faults.add(*[Fault("slow", delay_s=1.5)] * 3)

    async def scenario() -> float:
        task = asyncio.create_task(run_sync(station.store, config, idle_s=0.05, backoff=fast_backoff()))
        await asyncio.sleep(0.3)  # the push is now waiting on the slow server
        worst = 0.0
        for i in range(20):
            started = time.perf_counter()
            await asyncio.to_thread(station.scan, f"1ZLATE{i:06d}")
            worst = max(worst, time.perf_counter() - started)
        deadline = time.monotonic() + 20
        while station.outbox_backlog() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
        return worst

    worst = asyncio.run(scenario())
    assert worst < 0.25
    assert_exactly_once(station, central)
