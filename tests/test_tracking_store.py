"""Tracking's tables and the webhook queue (station.central.tracking_store, .webhooks):
each status change queued once per subscription, sent in order per parcel with a stable
webhook-id, retried with backoff, and still there after a restart."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from station.central.deliveries import parse_delivery
from station.central.signing import new_secret, verify
from station.central.storage import CentralStore
from station.central.tracking_store import DeliveryConflict, TrackingStore
from station.central.webhooks import Dispatcher, WebhookPolicy

HUB, DAY = "Lyon Gerland", "2026-11-25"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[CentralStore, TrackingStore]]:
    central = CentralStore.in_dir(tmp_path)
    tracking = TrackingStore.in_dir(tmp_path)
    yield central, tracking
    tracking.close()
    central.close()


def manifest(central: CentralStore, *parcels: tuple[str, str]) -> None:
    body = {"hub": HUB, "day": DAY, "parcels": [{"tracking_id": t, "postal_code": pc} for t, pc in parcels]}
    central.put_versioned("manifests", HUB, DAY, json.dumps(body), station_id="tms", if_version=None)


SEQ = iter(range(1, 10_000))


def push(central: CentralStore, tracking_id: str, kind: str, **over: Any) -> dict[str, Any]:
    ev = {
        "event_id": str(uuid.uuid4()),
        "seq": next(SEQ),
        "station_id": "S1",
        "hub": HUB,
        "day": DAY,
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "clock_synced": True,
        "device": "d1",
        "tracking_id": tracking_id,
        "reason": None,
    }
    ev.update(over)
    central.apply_batch("S1", str(uuid.uuid4()), "x", [ev])
    return ev


def queued(tracking: TrackingStore) -> list[tuple[str, str]]:
    rows = tracking.conn.execute("SELECT tracking_id, body FROM webhook_messages ORDER BY seq").fetchall()
    return [(r[0], json.loads(r[1])["data"]["status"]) for r in rows]


def test_each_status_change_is_queued_once(stores: tuple[CentralStore, TrackingStore]) -> None:
    central, tracking = stores
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    manifest(central, ("P1", "69007"), ("P2", "69008"))
    assert tracking.ingest() == 2
    push(central, "P1", "arrived")
    push(central, "P1", "sorted")
    push(central, "P1", "repeat")
    tracking.ingest()
    assert tracking.ingest() == 0  # nothing new: nothing queued
    push(central, "P1", "loaded")
    tracking.ingest()
    assert queued(tracking) == [("P1", "info_received"), ("P2", "info_received"), ("P1", "at_hub"), ("P1", "loaded")]


def test_the_tracking_answer_needs_the_right_postal_code(stores: tuple[CentralStore, TrackingStore]) -> None:
    central, tracking = stores
    manifest(central, ("P1", "SW1A 1AA"))
    push(central, "P1", "sorted")
    tracking.ingest()
    found = tracking.tracking("P1", "sw1a1aa")
    assert found is not None and found.status.value == "at_hub"
    assert tracking.tracking("P1", "69007") is None
    assert tracking.tracking("P1", None) is None
    assert tracking.tracking("NOPE", "SW1A 1AA") is None


def test_a_delivery_is_idempotent_and_a_changed_body_conflicts(
    stores: tuple[CentralStore, TrackingStore], tmp_path: Path
) -> None:
    central, tracking = stores
    manifest(central, ("P1", "69007"))
    photo = (Path(__file__).parent / "data" / "pod-photo.png").read_bytes()
    data = {
        "delivery_id": str(uuid.uuid4()),
        "tracking_id": "P1",
        "outcome": "delivered",
        "occurred_at": "2026-11-25T15:00:00+00:00",
        "photo": {"data": base64.b64encode(photo).decode()},
    }
    posted = parse_delivery(data)
    assert tracking.add_delivery("drv-1", posted, "h1") is True
    assert tracking.add_delivery("drv-1", posted, "h1") is False
    with pytest.raises(DeliveryConflict):
        tracking.add_delivery("drv-1", posted, "h2")
    stored = list((tmp_path / "photos").iterdir())
    assert [p.name for p in stored] == [f"{posted.photo.sha256}.png"] if posted.photo else []
    assert stored[0].read_bytes() == photo
    tracking.ingest()
    found = tracking.tracking("P1", "69007")
    assert found is not None and found.status.value == "delivered"
    assert tracking.photo_path(found) == stored[0]


class Receiver:
    """An httpx mock transport that answers from a script and keeps what it got."""

    def __init__(self, secret: str, answers: list[int]) -> None:
        self.secret = secret
        self.answers = answers
        self.got: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        verify(self.secret, headers, request.content)
        self.got.append((headers["webhook-id"], json.loads(request.content)))
        status = self.answers.pop(0) if self.answers else 200
        return httpx.Response(status)


async def test_failures_are_retried_in_order_with_the_same_webhook_id(
    stores: tuple[CentralStore, TrackingStore],
) -> None:
    central, tracking = stores
    secret = new_secret()
    sub = tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], secret)
    receiver = Receiver(secret, [503, 500])
    policy = WebhookPolicy(base_s=0.001, cap_s=0.002)
    dispatcher = Dispatcher(tracking, policy, allow_private=True, transport=httpx.MockTransport(receiver))
    manifest(central, ("P1", "69007"))
    push(central, "P1", "sorted")
    push(central, "P1", "loaded")
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        for _ in range(50):
            await dispatcher.step(client)
            if tracking.next_due() is None:
                break
            await asyncio.sleep(0.005)
    ids = [i for i, _ in receiver.got]
    statuses = [b["data"]["status"] for _, b in receiver.got]
    # The first message failed twice; the later ones of the parcel waited for it.
    assert statuses == ["info_received", "info_received", "info_received", "at_hub", "loaded"]
    assert ids[0] == ids[1] == ids[2] and len(set(ids)) == 3
    shown = tracking.deliveries_of(sub.webhook_id)
    first = shown[-1]
    assert first["state"] == "delivered" and [a["status"] for a in first["attempts"]] == [503, 500, 200]


def test_gives_up_after_the_last_attempt(stores: tuple[CentralStore, TrackingStore]) -> None:
    central, tracking = stores
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    manifest(central, ("P1", "69007"))
    tracking.ingest()
    (message,) = tracking.due_messages(now=1e12)
    tracking.record_attempt(message, status=500, error="answered 500", ms=3, next_attempt_at=None)
    assert tracking.due_messages(now=1e12) == []
    state = tracking.conn.execute("SELECT state FROM webhook_messages").fetchone()[0]
    assert state == "failed"


def test_pending_messages_and_the_cursor_survive_a_restart(tmp_path: Path) -> None:
    central = CentralStore.in_dir(tmp_path)
    tracking = TrackingStore.in_dir(tmp_path)
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    manifest(central, ("P1", "69007"))
    push(central, "P1", "sorted")
    tracking.ingest()
    before = [m.message_id for m in tracking.due_messages(now=1e12)]
    tracking.close()
    again = TrackingStore.in_dir(tmp_path)
    assert again.ingest() == 0  # nothing queued twice
    assert [m.message_id for m in again.due_messages(now=1e12)] == before[:1]  # P1's line: one at a time
    pending = again.conn.execute("SELECT count(*) FROM webhook_messages WHERE state = 'pending'").fetchone()[0]
    assert pending == 2
    again.close()
    central.close()
