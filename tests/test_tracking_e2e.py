"""Issue 16 end to end, over real HTTP on loopback: a station sorts, loads and closes a van and
syncs its day; a driver posts deliveries; a webhook receiver checks every signature with its
secret and hears each status change once; the tracking API and the page (in headless
Chromium) show the whole timeline."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import station.sync  # noqa: F401
from station.barcodes import station_code
from station.central.server import ServerThread
from station.central.signing import verify
from station.central.testing import Central, running_central, station_config
from station.core import Station
from station.demo_day import generate_day
from station.model import Parcel
from station.sync.backoff import Backoff
from station.sync.task import push_until_empty
from tests.conftest import round_robin_plan

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHOTO = (Path(__file__).parent / "data" / "pod-photo.jpg").read_bytes()


@dataclass
class WebhookReceiver:
    """A company's endpoint on loopback: it verifies every message as a receiver must."""

    secret: str = ""
    got: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    fail_first: int = 1  # answer 503 to the first message once: the retry must reuse its id
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            verify(self.secret, headers, body)
        except ValueError as exc:
            self.bad.append(str(exc))
            return Response(status_code=400)
        if self.fail_first:
            self.fail_first -= 1
            self.refused.append(headers["webhook-id"])
            return Response(status_code=503)
        with self.arrived:
            self.ids.append(headers["webhook-id"])
            self.got.append(json.loads(body))
            self.arrived.notify_all()
        return Response(status_code=204)

    def wait_for(self, count: int, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        with self.arrived:
            while len(self.got) < count and time.monotonic() < deadline:
                self.arrived.wait(0.2)

    def statuses(self, tracking_id: str) -> list[str]:
        return [m["data"]["status"] for m in self.got if m["data"]["tracking_id"] == tracking_id]


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    hooks = WebhookReceiver()
    with ServerThread(Starlette(routes=[Route("/hook", hooks.hook, methods=["POST"])])) as thread:
        yield hooks, f"{thread.url}/hook"


@pytest.fixture
def central(tmp_path: Path, central_database: str | None) -> Iterator[Central]:
    with running_central(
        tmp_path / "central", ["S1"], drivers=["drv-7"], allow_private_webhooks=True, database=central_database
    ) as c:
        yield c


def cmd(name: str) -> str:
    return station_code("command", name)


def sync(station: Station, config: Any) -> None:
    status, _ = asyncio.run(
        push_until_empty(station.store, config, max_failures=5, backoff=Backoff(0.01, 0.05, rng=random.Random(1)))
    )
    assert status.backlog == 0, status


def post_delivery(central: Central, parcel: Parcel, outcome: str, **extra: Any) -> httpx.Response:
    body = {
        "delivery_id": str(uuid.uuid4()),
        "tracking_id": parcel.tracking_id,
        "outcome": outcome,
        "occurred_at": datetime.now(UTC).isoformat(),
        "lat": parcel.lat,
        "lon": parcel.lon,
        **extra,
    }
    headers = {"Authorization": f"Bearer {central.driver_tokens['drv-7']}"}
    return httpx.post(f"{central.url}/v1/deliveries", json=body, headers=headers)


def chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([CHROMIUM, *flags, *extra, url], capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # drains the outbox, waits out a webhook retry, starts Chromium twice
def test_a_day_seen_by_senders_and_receivers(
    tmp_path: Path, central: Central, receiver: tuple[WebhookReceiver, str]
) -> None:
    hooks, hook_url = receiver
    system = httpx.Client(base_url=central.url, headers={"Authorization": f"Bearer {central.system_token}"})
    made = system.post("/v1/webhooks", json={"url": hook_url, "events": ["tracking.updated"]})
    assert made.status_code == 201, made.text
    hooks.secret = made.json()["secret"]

    # The company's manifest, the station's plan, and a day at the dock.
    config = station_config(tmp_path / "station", central.url, central.tokens["S1"])
    parcels = generate_day(config.hub, parcels=3, seed=5)
    delivered, attempted, damaged = parcels
    central.publish_manifest(config.hub.name, "2026-11-25", parcels)
    station = Station.open(config)
    try:
        station.replace_manifest(parcels, version="v1")
        plan = round_robin_plan(config, parcels)
        station.save_plan(plan)
        van_of = {tid: r.van_id for r in plan.routes for stop in r.stops for tid in stop}

        def bay(p: Parcel) -> str:
            return f"bay-{van_of[p.tracking_id]}"

        def load(p: Parcel) -> str:
            return f"load:{van_of[p.tracking_id]}"

        for p in parcels:
            station.scan(p.tracking_id, device="terminal")
        station.scan(cmd("DAMAGED"), device="terminal")  # the last parcel scanned: damaged
        for p in (delivered, attempted):
            station.scan(p.tracking_id, device=bay(p), role=load(p))
        sync(station, config)
        hooks.wait_for(9)  # 3 x info_received, 2 x (at_hub, loaded), at_hub and exception
        # A loading undone: the receiver hears "at the hub" again.
        station.scan(cmd("UNDO"), device=bay(attempted), role=load(attempted))
        sync(station, config)
        hooks.wait_for(10)
        station.scan(attempted.tracking_id, device=bay(attempted), role=load(attempted))
        for p in (delivered, attempted):
            station.scan(cmd("CLOSE"), device=bay(p), role=load(p))
            station.scan(cmd("CLOSE"), device=bay(p), role=load(p))  # the second one closes the van
        sync(station, config)
    finally:
        station.close()
    hooks.wait_for(13)

    # The drivers' apps.
    photo = {"data": base64.b64encode(PHOTO).decode()}
    assert post_delivery(central, delivered, "delivered", received_by="M. Martin", photo=photo).status_code == 201
    assert post_delivery(central, attempted, "failed_attempt", reason="nobody at home").status_code == 201
    hooks.wait_for(15)
    time.sleep(0.5)  # let anything extra (a repeat would be a bug) arrive before counting

    assert hooks.bad == []
    assert hooks.statuses(delivered.tracking_id) == [
        "info_received",
        "at_hub",
        "loaded",
        "out_for_delivery",
        "delivered",
    ]
    assert hooks.statuses(attempted.tracking_id) == [
        "info_received",
        "at_hub",
        "loaded",
        "at_hub",
        "loaded",
        "out_for_delivery",
        "failed_attempt",
    ]
    assert hooks.statuses(damaged.tracking_id) == ["info_received", "at_hub", "exception"]
    assert len(hooks.got) == 15
    # The first message was refused once and came again with the same webhook-id.
    assert len(hooks.refused) == 1 and hooks.refused[0] in hooks.ids
    assert len(set(hooks.ids)) == len(hooks.ids)

    # What the sender's system can read back.
    shown = system.get(f"/v1/webhooks/{made.json()['id']}/deliveries").json()["deliveries"]
    assert {d["state"] for d in shown} == {"delivered"}
    # The refused one by its id: which message the receiver got first depends on the machine's speed.
    retried = next(d for d in shown if d["webhook_id"] == hooks.refused[0])
    assert [a["status"] for a in retried["attempts"]] == [503, 204]

    # The receivers' API: the whole timeline, newest first.
    with httpx.Client(base_url=central.url) as anyone:
        answer = anyone.get(f"/v1/track/{delivered.tracking_id}", params={"postal_code": delivered.postal_code})
        assert answer.status_code == 200
        data = answer.json()
        assert data["status"] == "delivered"
        assert [e["status"] for e in data["events"]] == [
            "delivered",
            "out_for_delivery",
            "loaded",
            "at_hub",
            "info_received",
        ]
        assert data["delivery"]["received_by"] == "M. Martin" and data["delivery"]["has_photo"]
        wrong = anyone.get(f"/v1/track/{delivered.tracking_id}", params={"postal_code": "00000"})
        assert wrong.status_code == 404
        late = anyone.get(f"/v1/track/{damaged.tracking_id}", params={"postal_code": damaged.postal_code}).json()
        assert late["status"] == "exception" and "damaged" in late["events"][0]["description"]
    system.close()

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the page was not opened in a browser")
    page_url = f"{central.url}/track/{delivered.tracking_id}?postal_code={delivered.postal_code}&lang=fr"
    dom = chromium(page_url, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<html lang="fr">' in html
    assert 'id="status">Livré<' in html
    for words in ("En cours de livraison", "Chargé dans le camion", "Au centre de tri", "Annoncé par l’expéditeur"):
        assert words in html
    assert "M. Martin" in html and 'src="data:image/jpeg;base64,' in html
    shot = tmp_path / "page.png"
    taken = chromium(page_url, tmp_path, "--window-size=412,1000", "--hide-scrollbars", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.stat().st_size > 10_000
