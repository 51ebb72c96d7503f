"""The reference server's answers, asked directly over HTTP: the protocol's rules
(docs/sync-protocol.md) hold whatever client talks to it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from station.central.app import ServerLimits
from station.central.testing import DEMO_HUB, Central, running_central

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def central(tmp_path: Path, central_database: str | None) -> Iterator[Central]:
    with running_central(
        tmp_path / "central", ["S1", "S2"], limits=ServerLimits(10, 20_000), database=central_database
    ) as c:
        yield c


def client(central: Central, station_id: str = "S1") -> httpx.Client:
    return httpx.Client(base_url=central.url, headers={"Authorization": f"Bearer {central.tokens[station_id]}"})


def event(station_id: str = "S1", seq: int = 1, **over: Any) -> dict[str, Any]:
    ev = {
        "event_id": str(uuid.uuid4()),
        "seq": seq,
        "station_id": station_id,
        "hub": DEMO_HUB,
        "day": "2026-11-25",
        "kind": "sorted",
        "outcome": "sorted",
        "occurred_at": "2026-11-25T15:30:00.123456+00:00",
        "clock_synced": True,
        "operator": "dock",
        "device": "d",
        "role": "sort",
        "code": "X",
        "tracking_id": "X",
        "van": "V01",
        "lane": 1,
        "stop": 1,
        "reason": None,
    }
    ev.update(over)
    return ev


def body(*events: dict[str, Any], station_id: str = "S1") -> bytes:
    return json.dumps({"station_id": station_id, "events": list(events)}).encode()


def post(c: httpx.Client, content: bytes, key: str | None = "k1") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return c.post("/v1/events", content=content, headers=headers)


def test_limits_are_announced(central: Central) -> None:
    with client(central) as c:
        data = c.get("/v1/limits").json()
    assert data["max_batch_events"] == 10 and data["max_body_bytes"] == 20_000


def test_missing_key_is_400(central: Central) -> None:
    with client(central) as c:
        assert post(c, body(event()), key=None).status_code == 400


def test_same_key_other_body_is_422_same_body_is_replayed(central: Central) -> None:
    e1, e2 = event(), event(seq=2)
    with client(central) as c:
        first = post(c, body(e1))
        assert first.status_code == 200 and first.json() == {"accepted": 1, "duplicates": 0}
        again = post(c, body(e1))
        assert again.status_code == 200 and again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert post(c, body(e2)).status_code == 422
    assert central.store.stats()["duplicate_requests"] == 1


def test_repeated_event_id_under_a_new_key_is_success(central: Central) -> None:
    e1 = event()
    with client(central) as c:
        assert post(c, body(e1), key="a").status_code == 200
        second = post(c, body(e1, event(seq=2)), key="b")
    assert second.status_code == 200 and second.json() == {"accepted": 1, "duplicates": 1}
    assert central.store.stats()["events"] == {"S1": 2}


def test_auth(central: Central) -> None:
    with httpx.Client(base_url=central.url) as c:
        r = c.get("/v1/limits", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert c.get("/v1/limits").status_code == 401
    with client(central, "S2") as c:  # S2's token, S1's events
        assert post(c, body(event())).status_code == 403


def test_invalid_events_are_named_and_nothing_is_applied(central: Central) -> None:
    good, bad = event(), event(seq=2, kind="teleported")
    with client(central) as c:
        r = post(c, body(good, bad))
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["event_id"] == bad["event_id"] and error["reason"] == "unknown kind 'teleported'"
    assert central.store.stats()["events_total"] == 0


def test_body_and_batch_limits_are_413(central: Central) -> None:
    with client(central) as c:
        assert post(c, body(*[event(seq=i) for i in range(11)])).status_code == 413
        assert post(c, body(event(code="x" * 30_000))).status_code == 413


def test_in_flight_key_is_409(central: Central) -> None:
    from station.central.faults import Fault

    central.thread.app.state.faults.add(Fault("slow", delay_s=1.0))
    content = body(event())
    with client(central) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.post("/v1/events", content=content, headers={"Idempotency-Key": "k"}, timeout=0.3)
        second = c.post("/v1/events", content=content, headers={"Idempotency-Key": "k"})
        assert second.status_code == 409 and second.headers["Retry-After"] == "1"
        time.sleep(1.0)
        third = c.post("/v1/events", content=content, headers={"Idempotency-Key": "k"})
        assert third.status_code == 200
    assert central.store.stats()["events_total"] == 1


MANIFEST = {
    "parcels": [
        {
            "tracking_id": "TRK1",
            "recipient": "R",
            "address": "1 rue",
            "postal_code": "69007",
            "lat": 45.7,
            "lon": 4.8,
            "weight_kg": 1.0,
        }
    ]
}


def test_manifest_etag_and_plan_if_match(central: Central) -> None:
    path = f"/v1/hubs/{DEMO_HUB}/days/2026-11-25"
    system = httpx.Client(base_url=central.url, headers={"Authorization": f"Bearer {central.system_token}"})
    with client(central) as s1, client(central, "S2") as s2, system:
        assert s1.get(f"{path}/manifest").status_code == 404
        put = system.put(f"{path}/manifest", json=MANIFEST)
        assert put.json() == {"version": 1}
        got = s1.get(f"{path}/manifest")
        assert got.headers["ETag"] == '"v1"'
        assert s1.get(f"{path}/manifest", headers={"If-None-Match": '"v1"'}).status_code == 304
        assert s1.put(f"{path}/plan", content=b"{}", headers={"If-Match": '"v0"'}).json()["version"] == 1
        # S2 publishes without having seen v1: refused, never overwritten blindly.
        assert s2.put(f"{path}/plan", content=b"{}", headers={"If-Match": '"v0"'}).status_code == 412
        plan = s2.get(f"{path}/plan")
        assert plan.headers["X-Published-By"] == "S1" and plan.headers["ETag"] == '"v1"'


def test_fault_admin_only_when_enabled(central: Central) -> None:
    with httpx.Client(base_url=central.url) as c:
        assert c.post("/_faults", json={"faults": [{"kind": "500"}]}).status_code == 404


@pytest.mark.slow  # starts the server in a subprocess
def test_serve_and_stats_commands(tmp_path: Path) -> None:
    """The scripting contract: `station central serve ... --tokens FILE` and `stats --json`."""
    tokens = tmp_path / "tokens.toml"
    station_cmd = [sys.executable, "-m", "station"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    made = subprocess.run(
        [*station_cmd, "central", "token", "--tokens", str(tokens), "--station", "S2", "--hub", DEMO_HUB],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    secret_two = made.stdout.split()[-1]  # printed once, the last line
    assert secret_two not in tokens.read_text()  # only its hash is kept
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "central"
    server = subprocess.Popen(
        [
            *station_cmd,
            "central",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--tokens",
            str(tokens),
            "--enable-fault-injection",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=0.5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret_two}"}) as c:
            # Fault admin is on with the flag: the next push is answered 503 first.
            assert c.post("/_faults", json={"faults": [{"kind": "503", "retry_after": 2}]}).status_code == 200
            r = post(c, body(event("S2"), station_id="S2"))
            assert r.status_code == 503 and r.headers["Retry-After"] == "2"
            assert post(c, body(event("S2"), station_id="S2"), key="k2").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = subprocess.run(
        [*station_cmd, "central", "stats", "--data-dir", str(data), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(out.stdout)
    assert stats["events"] == {"S2": 1}
    assert stats["duplicate_requests"] == 0
