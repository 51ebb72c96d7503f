"""Tracking's HTTP answers (station.central.tracking_routes), asked over real HTTP on loopback:
the same 404 for an unknown parcel and a wrong postal code, the rate limit, roles, and a
clear 4xx for every bad delivery or webhook, with nothing half-stored."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from station.central.server import ServerThread
from station.central.storage import CentralStore
from station.central.tracking_routes import RateLimit, Tracking
from station.central.tracking_store import TrackingStore

HUB, DAY = "Lyon Gerland", "2026-11-25"
TOKENS = {"sys-token": ("system", "tms"), "drv-token": ("driver", "drv-1"), "st-token": ("station", "S1")}
JPEG = (Path(__file__).parent / "data" / "pod-photo.jpg").read_bytes()


def who(request: Request) -> tuple[str, str] | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return TOKENS.get(token) if scheme.lower() == "bearer" else None


@dataclass
class Server:
    url: str
    central: CentralStore
    tracking: Tracking
    data_dir: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers)


@pytest.fixture
def server(tmp_path: Path, central_database: str | None) -> Iterator[Server]:
    central = CentralStore.open(central_database, tmp_path)
    body = {"hub": HUB, "day": DAY, "parcels": [{"tracking_id": "P1", "postal_code": "69007"}]}
    central.put_versioned("manifests", HUB, DAY, json.dumps(body), station_id="tms", if_version=None)
    tracking = Tracking(
        TrackingStore(central.db, tmp_path / "photos"), who, rate_limit=RateLimit(per_minute=60, burst=5)
    )
    app = Starlette(routes=tracking.routes(), lifespan=tracking.lifespan)
    with ServerThread(app) as thread:
        yield Server(thread.url, central, tracking, tmp_path)
    central.close()


def delivery(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "delivery_id": str(uuid.uuid4()),
        "tracking_id": "P1",
        "outcome": "delivered",
        "occurred_at": datetime.now(UTC).isoformat(),
        "lat": 45.73,
        "lon": 4.83,
        "received_by": "M. Martin",
    }
    data.update(over)
    return data


def test_unknown_parcel_and_wrong_postal_code_get_the_same_404(server: Server) -> None:
    with server.client() as c:
        good = c.get("/v1/track/P1", params={"postal_code": "69007"})
        wrong = c.get("/v1/track/P1", params={"postal_code": "75001"})
        unknown = c.get("/v1/track/P2", params={"postal_code": "69007"})
        missing = c.get("/v1/track/P1")
    assert good.status_code == 200 and good.json()["status"] == "info_received"
    assert wrong.status_code == unknown.status_code == missing.status_code == 404
    assert wrong.content == unknown.content == missing.content


def test_answers_are_rate_limited_per_client_address(server: Server) -> None:
    with server.client() as c:
        codes = [c.get("/v1/track/P1", params={"postal_code": str(i)}).status_code for i in range(7)]
        page = c.get("/track/P1", params={"postal_code": "69007"})
    assert codes[:5] == [404] * 5 and codes[5:] == [429, 429]
    assert page.status_code == 429 and "Retry-After" in page.headers


def test_a_driver_posts_a_delivery_once(server: Server) -> None:
    data = delivery(photo={"data": base64.b64encode(JPEG).decode()})
    with server.client("drv-token") as c:
        first = c.post("/v1/deliveries", json=data)
        again = c.post("/v1/deliveries", json=data)
        changed = c.post("/v1/deliveries", json={**data, "received_by": "someone else"})
    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert changed.status_code == 409 and "different body" in changed.json()["error"]
    with server.client() as c:
        shown = c.get("/v1/track/P1", params={"postal_code": "69007"}).json()
        page = c.get("/track/P1", params={"postal_code": "69007"})
    assert shown["status"] == "delivered" and shown["delivery"]["has_photo"] is True
    assert "data:image/jpeg;base64," in page.text and "photo" not in json.dumps(shown["events"])


@pytest.mark.parametrize(
    "data, status, why",
    [
        (delivery(tracking_id="NEVER-SEEN"), 404, "not known"),
        (delivery(photo={"data": base64.b64encode(b"GIF89a....").decode()}), 422, "not a JPEG or PNG"),
        (delivery(photo={"data": base64.b64encode(JPEG[:500]).decode()}), 422, "JPEG"),
        (delivery(delivery_id="one"), 422, "uuid"),
        (delivery(outcome="failed_attempt"), 422, "reason"),
        ("not an object", 400, "JSON object"),
    ],
)
def test_bad_deliveries_get_a_clear_4xx_and_store_nothing(server: Server, data: Any, status: int, why: str) -> None:
    with server.client("drv-token") as c:
        answer = c.post("/v1/deliveries", json=data)
    assert answer.status_code == status and why in answer.json()["error"]
    with server.tracking.store.db.read() as tx:
        assert tx.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    assert not (server.data_dir / "photos").exists()


def test_a_body_over_the_limit_is_413(server: Server) -> None:
    huge = base64.b64encode(b"\xff\xd8\xff" + b"\x00" * (3 * 1024 * 1024)).decode()
    with server.client("drv-token") as c:
        answer = c.post("/v1/deliveries", json=delivery(photo={"data": huge}))
    assert answer.status_code == 413


def test_roles_decide_who_may_do_what(server: Server) -> None:
    with server.client() as c:
        assert c.post("/v1/deliveries", json=delivery()).status_code == 401
        assert c.post("/v1/webhooks", json={"url": "https://93.184.215.14/"}).status_code == 401
    with server.client("st-token") as c:
        assert c.post("/v1/deliveries", json=delivery()).status_code == 403
        assert c.post("/v1/webhooks", json={"url": "https://93.184.215.14/"}).status_code == 403
    with server.client("drv-token") as c:
        assert c.post("/v1/webhooks", json={"url": "https://93.184.215.14/"}).status_code == 403


def test_a_system_subscribes_and_reads_its_deliveries(server: Server) -> None:
    with server.client("sys-token") as c:
        made = c.post("/v1/webhooks", json={"url": "https://93.184.215.14/hooks", "events": ["tracking.updated"]})
        assert made.status_code == 201
        sub = made.json()
        assert sub["secret"].startswith("whsec_") and sub["id"].startswith("wh_")
        listed = c.get(f"/v1/webhooks/{sub['id']}/deliveries")
        assert listed.status_code == 200 and "secret" not in listed.json()["webhook"]
        assert c.get("/v1/webhooks/wh_nope/deliveries").status_code == 404


@pytest.mark.parametrize(
    "body, why",
    [
        ({"url": "http://127.0.0.1:9/hook"}, "loopback or private"),
        ({"url": "http://192.168.0.10/hook"}, "loopback or private"),
        ({"url": "ftp://93.184.215.14/"}, "http"),
        ({"url": "https://93.184.215.14/", "events": ["parcel.lost"]}, "tracking.updated"),
        ({"events": ["tracking.updated"]}, "url"),
    ],
)
def test_refused_webhook_urls_are_422_and_not_stored(server: Server, body: dict[str, Any], why: str) -> None:
    with server.client("sys-token") as c:
        answer = c.post("/v1/webhooks", json=body)
    assert answer.status_code == 422 and why in answer.json()["error"]
    with server.tracking.store.db.read() as tx:
        assert tx.execute("SELECT count(*) FROM webhooks").fetchone()[0] == 0


def test_the_form_sends_the_receiver_to_the_parcels_page(server: Server) -> None:
    with server.client() as c:
        form = c.get("/track", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        moved = c.get("/track", params={"id": "P1", "postal_code": "69 007", "lang": "fr"})
        page = c.get(moved.headers["location"])
        wrong = c.get("/track/P1", params={"postal_code": "1", "lang": "en"})
    assert form.status_code == 200 and "Numéro de suivi" in form.text
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert moved.status_code == 303
    assert page.status_code == 200 and "Annoncé par l’expéditeur" in page.text
    assert wrong.status_code == 404 and "No parcel matches" in wrong.text
