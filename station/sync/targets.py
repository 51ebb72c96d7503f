"""Where batches go, and what each answer means: the sync's one network seam.

A target turns a batch of outbox rows into HTTP and the answer into either a
:class:`PushResult` (delivered / refused per event) or one of the :class:`PushFailure`
exceptions below. The pusher only ever sees those, so a second protocol (EPCIS capture)
is one more class here, not a branch in the retry logic.

    PushFailure
    ├── Retry          connect error, timeout, dropped connection, 408/409/425/429/5xx
    ├── TooLarge       413: split the batch
    ├── TokenRefused   401: re-read the token, alert, retry
    ├── Stop           403, TLS failure, 404 and other 4xx: a config problem, stop sync
    └── Refused        400/422: quarantine the named event (or bisect to find it)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from station.sync.backoff import parse_retry_after
from station.sync.connection import is_tls_error
from station.sync.outbox import OutboxRow

PUSH_PATH = "/v1/events"
LIMITS_PATH = "/v1/limits"


class PushFailure(Exception):
    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Retry(PushFailure):
    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        offline: bool = False,
    ) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after
        self.offline = offline


class TooLarge(PushFailure):
    pass


class TokenRefused(PushFailure):
    pass


class Stop(PushFailure):
    pass


class Refused(PushFailure):
    def __init__(self, reason: str, *, status: int, per_event: dict[str, str] | None = None) -> None:
        super().__init__(reason, status=status)
        self.per_event = per_event or {}


@dataclass(frozen=True)
class PushResult:
    delivered: list[str]
    refused: dict[str, tuple[int | None, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    max_batch_events: int = 500
    max_body_bytes: int = 2_000_000


class Target(Protocol):
    async def limits(self, client: httpx.AsyncClient) -> Limits: ...

    async def push(self, client: httpx.AsyncClient, rows: Sequence[OutboxRow]) -> PushResult: ...


async def send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send, translating transport exceptions into the failure classes."""
    try:
        response = await client.send(request)
        await response.aread()
        return response
    except httpx.ConnectTimeout as exc:
        # No route to the server (Wi-Fi gone) shows up as a connect timeout, not a refusal.
        raise Retry("server unreachable (connect timeout)", offline=True) from exc
    except httpx.TimeoutException as exc:
        raise Retry(f"no answer within the timeout ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        if is_tls_error(exc):
            raise Stop(f"TLS certificate of the server refused: {exc}") from exc
        raise Retry("server unreachable", offline=True) from exc
    except httpx.TransportError as exc:
        # Dropped connection mid-answer: the write may or may not have been applied;
        # the retry is safe because of the Idempotency-Key and the event ids.
        raise Retry(f"connection dropped ({type(exc).__name__})") from exc


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("error") or body.get("title") or body)[:200]
    return str(body)[:200]


def raise_for(response: httpx.Response) -> None:
    """Map a non-2xx answer to its failure class (shared by every target)."""
    status = response.status_code
    if status < 300:
        return
    text = _error_text(response)
    if status == 401:
        raise TokenRefused(f"token refused (401): {text}", status=status)
    if status == 403:
        raise Stop(f"station not allowed (403): {text}", status=status)
    if status == 413:
        raise TooLarge(f"batch too large (413): {text}", status=status)
    if status in (408, 409, 425, 429) or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        words = {409: "batch still in flight", 429: "server busy"}.get(status, "server error")
        raise Retry(f"{words} ({status})", status=status, retry_after=retry_after)
    if status in (400, 422):
        per_event: dict[str, str] = {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            for err in body.get("errors") or []:
                if isinstance(err, dict) and isinstance(err.get("event_id"), str):
                    per_event[err["event_id"]] = str(err.get("reason", text))
        raise Refused(f"refused ({status}): {text}", status=status, per_event=per_event)
    raise Stop(f"unexpected answer from the server ({status}): {text}", status=status)


def batch_body(station_id: str, rows: Sequence[OutboxRow]) -> bytes:
    """The push body, built from the stored JSON text without re-parsing it."""
    head = json.dumps({"station_id": station_id})[:-1]
    return (head + ', "events": [' + ",".join(r.payload for r in rows) + "]}").encode()


def idempotency_key(body: bytes) -> str:
    """Derived from the body: a resend of the same batch (after a crash too) reuses its key,
    and the client can never send one key with two bodies."""
    return hashlib.sha256(body).hexdigest()


class CentralTarget:
    """The station protocol (docs/sync-protocol.md) against the central server."""

    def __init__(self, station_id: str) -> None:
        self.station_id = station_id

    async def limits(self, client: httpx.AsyncClient) -> Limits:
        response = await send(client, client.build_request("GET", LIMITS_PATH))
        raise_for(response)
        data: dict[str, Any] = response.json()
        return Limits(
            max_batch_events=int(data.get("max_batch_events", Limits.max_batch_events)),
            max_body_bytes=int(data.get("max_body_bytes", Limits.max_body_bytes)),
        )

    async def push(self, client: httpx.AsyncClient, rows: Sequence[OutboxRow]) -> PushResult:
        body = batch_body(self.station_id, rows)
        request = client.build_request(
            "POST",
            PUSH_PATH,
            content=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key(body)},
        )
        response = await send(client, request)
        raise_for(response)
        return PushResult(delivered=[r.event_id for r in rows])
