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
from station.central.tracking_store import INGEST_CHUNK, LEASE_S, DeliveryConflict, TrackingStore
from station.central.webhooks import QUIET_S, Dispatcher, WebhookPolicy

HUB, DAY = "Lyon Gerland", "2026-11-25"


@pytest.fixture
def stores(tmp_path: Path, central_database: str | None) -> Iterator[tuple[CentralStore, TrackingStore]]:
    """Both stores on one database: SQLite in tmp_path, or a fresh PostgreSQL database."""
    central = CentralStore.open(central_database, tmp_path)
    tracking = TrackingStore(central.db, tmp_path / "photos")
    yield central, tracking
    central.close()


def count(tracking: TrackingStore, sql: str) -> Any:
    with tracking.db.read() as tx:
        return tx.execute(sql).fetchone()[0]


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
    with tracking.db.read() as tx:
        rows = tx.execute("SELECT tracking_id, body FROM webhook_messages ORDER BY seq").fetchall()
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
    state = count(tracking, "SELECT state FROM webhook_messages")
    assert state == "failed"


def test_pending_messages_and_what_was_told_survive_a_restart(tmp_path: Path, central_database: str | None) -> None:
    central = CentralStore.open(central_database, tmp_path)
    tracking = TrackingStore(central.db, tmp_path / "photos")
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    manifest(central, ("P1", "69007"))
    push(central, "P1", "sorted")
    tracking.ingest()
    before = [m.message_id for m in tracking.due_messages(now=1e12)]
    central.close()
    central = CentralStore.open(central_database, tmp_path)
    again = TrackingStore(central.db, tmp_path / "photos")
    assert again.ingest() == 0  # nothing queued twice
    # Claimed before the restart: leased to the process that died, sent again once the lease ends.
    assert again.due_messages(now=1e12) == []
    later = 1e12 + LEASE_S + 1
    assert [m.message_id for m in again.due_messages(now=later)] == before[:1]  # P1's line: one at a time
    assert count(again, "SELECT count(*) FROM webhook_messages WHERE state = 'pending'") == 2
    central.close()


def test_a_claimed_message_goes_to_one_process_until_its_lease_ends(stores: tuple[CentralStore, TrackingStore]) -> None:
    central, tracking = stores
    other = TrackingStore(central.db, tracking.photos_dir)  # another server process's view of the queue
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    manifest(central, ("P1", "69007"), ("P2", "69008"))
    assert tracking.ingest() == 2
    mine = tracking.due_messages(now=1e12, limit=1)
    theirs = other.due_messages(now=1e12)
    assert len(mine) == 1 and len(theirs) == 1 and mine[0].message_id != theirs[0].message_id
    assert other.due_messages(now=1e12) == []
    tracking.record_attempt(mine[0], status=503, error="answered 503", ms=2, next_attempt_at=1e12 + 5)
    # Answered: the lease ends with the attempt, and the retry is due at its own time.
    assert [m.message_id for m in other.due_messages(now=1e12 + 6)] == [mine[0].message_id]


def test_a_backlog_is_ingested_a_bounded_part_at_a_time(stores: tuple[CentralStore, TrackingStore]) -> None:
    """A burst is ingested chunk by chunk, so the loop can send what is queued in between."""
    central, tracking = stores
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    manifest(central, *((f"P{i:04d}", "69007") for i in range(INGEST_CHUNK + 10)))
    assert tracking.ingest_some(max_chunks=1) == (INGEST_CHUNK, False)
    assert tracking.ingest_some(max_chunks=1)[0] == 10
    assert tracking.ingest_some(max_chunks=1) == (0, True)
    assert len(queued(tracking)) == INGEST_CHUNK + 10


async def test_the_loop_waits_while_pushes_arrive_then_catches_up(stores: tuple[CentralStore, TrackingStore]) -> None:
    """In the server's own process, tracking lets a burst of pushes have the CPU first."""
    central, tracking = stores
    tracking.add_subscription("tms", "http://127.0.0.1:1/hook", ["tracking.updated"], new_secret())
    dispatcher = Dispatcher(tracking, WebhookPolicy(), allow_private=True)
    manifest(central, ("P1", "69007"))
    dispatcher.arrived()
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as client:
        assert await dispatcher.step(client) == 0
        assert queued(tracking) == []  # held: the push that just arrived may have more behind it
        await asyncio.sleep(QUIET_S)  # the pushes pause
        assert await dispatcher.step(client) == 1
    assert queued(tracking) == [("P1", "info_received")]
