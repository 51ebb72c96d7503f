"""The central server on PostgreSQL as a company runs it: a database restart while stations
push (503 with Retry-After, then nothing lost or doubled), several server processes sharing
one database (an Idempotency-Key applied once, a webhook message sent once), a wrong URL or
password and a database newer than the code stopped at start with one line, and
``--workers 2`` serving for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from station.central.app import create_app
from station.central.db import DatabaseError
from station.central.server import ServerThread
from station.central.storage import CentralStore
from station.central.testing import DEMO_HUB, Central, free_port, running_central, wait_until_serving, write_tokens
from station.central.tracking_store import TrackingStore
from tests.postgres import PostgresServer

DAY = "2026-11-25"
ROOT = Path(__file__).resolve().parents[1]


def event(seq: int, station_id: str = "S1") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "seq": seq,
        "station_id": station_id,
        "hub": DEMO_HUB,
        "day": DAY,
        "kind": "sorted",
        "occurred_at": datetime.now(UTC).isoformat(),
        "clock_synced": True,
        "device": "scanner-1",
        "tracking_id": f"1ZPG{seq:08d}",
        "reason": None,
    }


def post(url: str, token: str, events: list[dict[str, Any]], key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/events",
        json={"station_id": events[0]["station_id"], "events": events},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        timeout=30,
    )


@pytest.fixture
def central(tmp_path: Path, postgres_url: str) -> Iterator[Central]:
    with running_central(tmp_path / "central", ["S1"], database=postgres_url) as c:
        yield c


def test_a_database_restart_answers_503_and_loses_or_doubles_nothing(
    central: Central, postgres_cluster: PostgresServer
) -> None:
    if not postgres_cluster.restartable:
        pytest.skip("the PostgreSQL server of the environment cannot be stopped from here")
    token = central.tokens["S1"]
    before = [event(i) for i in range(1, 51)]
    assert post(central.url, token, before, "batch-1").status_code == 200
    during = [event(i) for i in range(51, 101)]
    with postgres_cluster.stopped():
        refused = post(central.url, token, during, "batch-2")
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert "try again" in refused.json()["error"]
        assert httpx.get(f"{central.url}/healthz").status_code == 200  # the server itself lives on
    # The station retries the same batch with the same key once the database is back.
    again = post(central.url, token, during, "batch-2")
    assert again.status_code == 200 and again.json() == {"accepted": 50, "duplicates": 0}
    replay = post(central.url, token, during, "batch-2")
    assert replay.json() == {"accepted": 50, "duplicates": 0} and replay.headers["Idempotent-Replayed"] == "true"
    held = central.store.event_ids("S1")
    assert sorted(held) == sorted(e["event_id"] for e in before + during)


def test_two_server_processes_apply_one_key_once(tmp_path: Path, postgres_url: str) -> None:
    """Two apps with their own pools on one database: what two processes behind a proxy share."""
    with running_central(tmp_path / "a", ["S1"], database=postgres_url) as first:
        tokens = read_tokens_of(first)
        second = create_app(tmp_path / "b", tokens, database=postgres_url)
        with ServerThread(second) as other:
            token = first.tokens["S1"]
            batch = [event(i) for i in range(1, 201)]
            answers: list[httpx.Response] = []
            threads = [
                threading.Thread(target=lambda u=url: answers.append(post(u, token, batch, "the-same-key")))
                for url in (first.url, other.url) * 3
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert {a.status_code for a in answers} <= {200, 409}
            applied = [a.json() for a in answers if a.status_code == 200]
            assert applied and all(body == {"accepted": 200, "duplicates": 0} for body in applied)
            assert len(first.store.event_ids("S1")) == 200
            assert first.store.stats()["duplicate_events"] == 0


def read_tokens_of(central: Central) -> Any:
    """The running server's own roles, for a second app on the same database."""
    return central.thread.app.state.central.tokens


def test_a_webhook_message_is_claimed_by_one_process(tmp_path: Path, postgres_url: str) -> None:
    stores = [CentralStore.open(postgres_url, tmp_path) for _ in range(2)]
    try:
        queues = [TrackingStore(s.db, tmp_path / "photos") for s in stores]
        queues[0].add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], "whsec_x")
        parcels = [{"tracking_id": f"P{i}", "postal_code": "69007"} for i in range(40)]
        body = {"hub": DEMO_HUB, "day": DAY, "parcels": parcels}
        stores[0].put_versioned("manifests", DEMO_HUB, DAY, json.dumps(body), station_id="tms", if_version=None)
        assert queues[0].ingest() + queues[1].ingest() == 40
        claimed: list[list[str]] = [[], []]

        def claim(i: int) -> None:
            for _ in range(10):
                claimed[i] += [m.message_id for m in queues[i].due_messages(now=1e12, limit=3)]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(claimed[0]) + len(claimed[1]) == 40
        assert not set(claimed[0]) & set(claimed[1])
    finally:
        for s in stores:
            s.close()


def test_a_newer_database_is_refused(tmp_path: Path, postgres_url: str) -> None:
    CentralStore.open(postgres_url, tmp_path).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')")
    with pytest.raises(DatabaseError, match="schema version 99"):
        CentralStore.open(postgres_url, tmp_path)


def serve_command(tmp_path: Path, database: str, *extra: str) -> tuple[list[str], dict[str, str]]:
    """``station central serve`` on a free port with a tokens file for S1 and the system tms."""
    tokens = write_tokens(tmp_path / "tokens.toml", {"S1": DEMO_HUB}, ["tms"])
    return [
        sys.executable, "-m", "station.central", "serve", "--host", "127.0.0.1", "--port", "0",
        "--data-dir", str(tmp_path / "central"), "--tokens", str(tmp_path / "tokens.toml"),
        "--database", database, *extra,
    ], tokens  # fmt: skip


def with_password(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}:{parts.port}"))


@pytest.mark.parametrize("problem", ["unknown user", "no such database", "nothing listening"])
def test_a_wrong_database_url_stops_the_server_with_one_line(tmp_path: Path, postgres_url: str, problem: str) -> None:
    parts = urlsplit(postgres_url)
    if problem == "unknown user":
        url = with_password(postgres_url, "nobody_here", "s3cret-pw")
    elif problem == "no such database":
        url = urlunsplit(parts._replace(path="/no_such_database"))
    else:
        url = "postgresql://central:s3cret-pw@127.0.0.1:9/central"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(serve_command(tmp_path, url)[0], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot connect to" in lines[0], run.stderr
    assert "s3cret-pw" not in run.stderr  # the password is never printed


@pytest.mark.slow
def test_two_workers_serve_one_database(tmp_path: Path, postgres_url: str) -> None:
    port = free_port()
    command, tokens = serve_command(tmp_path, postgres_url, "--workers", "2", "--log-level", "warning")
    command[command.index("--port") + 1] = str(port)
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server)
        sent: list[str] = []
        for b in range(20):
            batch = [event(b * 10 + i) for i in range(1, 11)]
            sent += [e["event_id"] for e in batch]
            with httpx.Client() as client:  # a new connection each time: both workers answer
                answer = client.post(
                    f"{url}/v1/events",
                    json={"station_id": "S1", "events": batch},
                    headers={"Authorization": f"Bearer {tokens['S1']}", "Idempotency-Key": f"k{b}"},
                )
            assert answer.status_code == 200, answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
    store = CentralStore.open(postgres_url, tmp_path)
    try:
        assert sorted(store.event_ids("S1")) == sorted(sent)
    finally:
        store.close()
