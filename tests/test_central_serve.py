"""``station central serve`` as it runs in production: on PostgreSQL, HTTP in one process and
tracking in its own; on SQLite, both in one.

A status change pushed to the HTTP process reaches a webhook receiver (through the tracking
process on PostgreSQL: it finds the news in the database, nobody nudges it across
processes); stopping the server stops its tracking process too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from station.central.testing import DEMO_HUB, free_port, wait_until_serving, write_tokens
from station.config import load_config
from station.demo_day import generate_day
from station.manifest import parcel_record

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-11-25"


class Receiver:
    """A webhook receiver on loopback that answers 204 and keeps what it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                receiver.got.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(tmp_path: Path, central_database: str | None) -> Iterator[tuple[str, dict[str, str]]]:
    tokens = write_tokens(tmp_path / "tokens.toml", {"S1": DEMO_HUB}, ["tms"])
    port = free_port()
    command = [
        sys.executable, "-m", "station.central", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(tmp_path / "central"), "--tokens", str(tmp_path / "tokens.toml"),
        "--allow-private-webhooks", "--log-level", "warning",
        *(["--database", central_database] if central_database else []),
    ]  # fmt: skip
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    children: list[str] = []
    try:
        wait_until_serving(url, server)
        children += subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        if central_database is not None:
            assert children, "on PostgreSQL tracking runs in a process of its own"
        yield url, tokens
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Its tracking process went with it: nothing of the server is left holding the database.
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, "the tracking process outlived the server"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_pushed_status_reaches_a_webhook_through_the_tracking_process(
    served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = served
    system = {"Authorization": f"Bearer {tokens['tms']}"}
    with Receiver() as receiver:
        answer = httpx.post(
            f"{url}/v1/webhooks", json={"url": receiver.url, "events": ["tracking.updated"]}, headers=system
        )
        assert answer.status_code == 201, answer.text
        parcel = generate_day(load_config(None, tmp_path).hub, parcels=1, seed=5)[0]
        manifest = {"hub": DEMO_HUB, "day": DAY, "parcels": [parcel_record(parcel)]}
        put = httpx.put(f"{url}/v1/hubs/{DEMO_HUB}/days/{DAY}/manifest", json=manifest, headers=system)
        assert put.status_code == 200, put.text
        event = {
            "event_id": str(uuid.uuid4()),
            "seq": 1,
            "station_id": "S1",
            "hub": DEMO_HUB,
            "day": DAY,
            "kind": "sorted",
            "occurred_at": datetime.now(UTC).isoformat(),
            "clock_synced": True,
            "tracking_id": parcel.tracking_id,
        }
        pushed = httpx.post(
            f"{url}/v1/events",
            json={"station_id": "S1", "events": [event]},
            headers={"Authorization": f"Bearer {tokens['S1']}", "Idempotency-Key": "k1"},
        )
        assert pushed.status_code == 200, pushed.text
        deadline = time.monotonic() + 60
        while not any(b["data"]["status"] == "at_hub" for b in receiver.bodies):
            assert time.monotonic() < deadline, f"no at_hub webhook; received {receiver.bodies}"
            receiver.got.wait(0.2)
            receiver.got.clear()
    statuses = [b["data"]["status"] for b in receiver.bodies if b["data"]["tracking_id"] == parcel.tracking_id]
    assert statuses == ["info_received", "at_hub"]
