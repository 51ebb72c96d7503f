"""Tracking's HTTP side: the tracking API and page, webhook subscriptions, proof of delivery.

Owns the answers of docs/tracking.md: ``GET /v1/track/{id}?postal_code=`` (one 404 for an
unknown parcel and a wrong postal code, a per-client-address rate limit), the page
``GET /track`` and ``/track/{id}``, ``POST /v1/webhooks`` and ``GET
/v1/webhooks/{id}/deliveries`` for a company system's token, ``POST /v1/deliveries`` for
a driver's token, and the server lifespan that runs the webhook :class:`.Dispatcher`.
Who a bearer token is comes from the server's tokens (``who``), so this module does not
read the tokens file itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from station.central.deliveries import DeliveryError, parse_delivery
from station.central.signing import new_secret
from station.central.tracking_page import HEADERS, WORDS, choose_language, form_page, tracking_page
from station.central.tracking_store import EVENT_TYPE, DeliveryConflict, TrackingStore
from station.central.webhooks import Dispatcher, UrlRefused, WebhookPolicy, check_url

# Who a bearer token belongs to: ("system", name), ("driver", id), ("station", id), or None.
Who = Callable[[Request], tuple[str, str] | None]

MAX_DELIVERY_BODY = 3 * 1024 * 1024  # a 2 MB photo in base64, and the fields around it
MAX_SMALL_BODY = 16 * 1024
NOT_FOUND = "no parcel with this tracking number and postal code"


@dataclass
class RateLimit:
    """A token bucket per client address: ``burst`` requests at once, ``per_minute`` sustained."""

    per_minute: float = 30.0
    burst: float = 10.0
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, client: str) -> float | None:
        """None when the request may go ahead, else the seconds to wait."""
        now = self.clock()
        tokens, last = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_minute / 60)
        if len(self.buckets) > 50_000:
            # Forget the full buckets (clients quiet long enough): memory stays bounded.
            self.buckets = {k: v for k, v in self.buckets.items() if v[0] < self.burst}
        if tokens < 1:
            self.buckets[client] = (tokens, now)
            return (1 - tokens) * 60 / self.per_minute
        self.buckets[client] = (tokens - 1, now)
        return None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class BodyTooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Tracking:
    """The routes and the webhook loop, around one :class:`TrackingStore`."""

    def __init__(
        self,
        store: TrackingStore,
        who: Who,
        *,
        allow_private_webhooks: bool = False,
        policy: WebhookPolicy | None = None,
        rate_limit: RateLimit | None = None,
        zone: str = "UTC",
        loop: bool = True,
    ) -> None:
        self.store = store
        self.who = who
        self.allow_private = allow_private_webhooks
        self.dispatcher = Dispatcher(store, policy, allow_private=allow_private_webhooks)
        self.rate_limit = rate_limit or RateLimit()
        self.zone = zone
        self.loop = loop

    def routes(self) -> list[Route]:
        return [
            Route("/v1/track/{tracking_id}", self.track_api, methods=["GET"]),
            Route("/track", self.track_form, methods=["GET"]),
            Route("/track/{tracking_id}", self.track_page, methods=["GET"]),
            Route("/v1/webhooks", self.add_webhook, methods=["POST"]),
            Route("/v1/webhooks/{webhook_id}/deliveries", self.webhook_deliveries, methods=["GET"]),
            Route("/v1/deliveries", self.add_delivery, methods=["POST"]),
        ]

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.loop:
            self.dispatcher.start()
        try:
            yield
        finally:
            await self.dispatcher.stop()

    def nudge(self) -> None:
        """Something arrived that may change a status (events, a manifest): look soon."""
        self.dispatcher.arrived()

    # -- receivers ------------------------------------------------------------------

    def _limited(self, request: Request) -> float | None:
        client = request.client.host if request.client else "unknown"
        return self.rate_limit.take(client)

    async def track_api(self, request: Request) -> Response:
        wait = self._limited(request)
        if wait is not None:
            return _error(429, "too many requests", {"Retry-After": str(max(1, round(wait)))})
        tracking_id = request.path_params["tracking_id"]
        found = await asyncio.to_thread(self.store.tracking, tracking_id, request.query_params.get("postal_code"))
        if found is None:
            return _error(404, NOT_FOUND, {"Cache-Control": "no-store"})
        return JSONResponse(found.public(), headers={"Cache-Control": "no-store"})

    async def track_form(self, request: Request) -> Response:
        lang = choose_language(request.query_params.get("lang"), request.headers.get("Accept-Language"))
        tracking_id = request.query_params.get("id", "").strip()
        if tracking_id:
            postal_code = request.query_params.get("postal_code", "").strip()
            target = f"/track/{quote(tracking_id, safe='')}?postal_code={quote(postal_code, safe='')}&lang={lang}"
            return RedirectResponse(target, status_code=303, headers=HEADERS)
        return HTMLResponse(form_page(lang), headers=HEADERS)

    async def track_page(self, request: Request) -> Response:
        lang = choose_language(request.query_params.get("lang"), request.headers.get("Accept-Language"))
        headers = {**HEADERS, "Content-Language": lang, "Vary": "Accept-Language"}
        tracking_id = request.path_params["tracking_id"]
        wait = self._limited(request)
        if wait is not None:
            headers["Retry-After"] = str(max(1, round(wait)))
            page = form_page(lang, tracking_id=tracking_id, error=WORDS[lang]["too_many"])
            return HTMLResponse(page, status_code=429, headers=headers)
        postal_code = request.query_params.get("postal_code", "")
        found = await asyncio.to_thread(self.store.tracking, tracking_id, postal_code)
        if found is None:
            page = form_page(lang, tracking_id=tracking_id, error=WORDS[lang]["not_found"])
            return HTMLResponse(page, status_code=404, headers=headers)
        photo = None
        path = await asyncio.to_thread(self.store.photo_path, found)
        if path is not None and path.exists():
            photo = ("image/jpeg" if path.suffix == ".jpg" else "image/png", path.read_bytes())
        page = tracking_page(found, lang, postal_code=postal_code, photo=photo, zone=self.zone)
        return HTMLResponse(page, headers=headers)

    # -- senders: webhooks ------------------------------------------------------------

    def _caller(self, request: Request, kind: str, what: str) -> tuple[str | None, Response | None]:
        who = self.who(request)
        if who is None:
            return None, _error(401, "missing or unknown bearer token", {"WWW-Authenticate": "Bearer"})
        if who[0] != kind:
            return None, _error(403, f"{who[0]} {who[1]} may not {what} (a {kind} token may)")
        return who[1], None

    async def add_webhook(self, request: Request) -> Response:
        system, refused = self._caller(request, "system", "subscribe to webhooks")
        if refused is not None:
            return refused
        assert system is not None
        try:
            data = json.loads(await _body(request, MAX_SMALL_BODY))
        except BodyTooLarge:
            return _error(413, "body too large")
        except (ValueError, RecursionError):
            return _error(400, "body is not JSON")
        if not isinstance(data, dict):
            return _error(400, 'body must be {"url": ..., "events": ["tracking.updated"]}')
        events = data.get("events", [EVENT_TYPE])
        if not isinstance(events, list) or not events or any(e != EVENT_TYPE for e in events):
            return _error(422, f'events must be ["{EVENT_TYPE}"]')
        url = data.get("url")
        try:
            await asyncio.to_thread(check_url, url, allow_private=self.allow_private)
        except UrlRefused as exc:
            return _error(422, str(exc))
        assert isinstance(url, str)
        sub = await asyncio.to_thread(self.store.add_subscription, system, url, events, new_secret())
        return JSONResponse(sub.public(with_secret=True), status_code=201)

    async def webhook_deliveries(self, request: Request) -> Response:
        system, refused = self._caller(request, "system", "read webhook deliveries")
        if refused is not None:
            return refused
        sub = await asyncio.to_thread(self.store.subscription, request.path_params["webhook_id"])
        if sub is None or sub.system != system:
            return _error(404, "no such webhook for this system")
        shown = await asyncio.to_thread(self.store.deliveries_of, sub.webhook_id)
        return JSONResponse({"webhook": sub.public(), "deliveries": shown})

    # -- drivers: proof of delivery ----------------------------------------------------

    async def add_delivery(self, request: Request) -> Response:
        driver, refused = self._caller(request, "driver", "post deliveries")
        if refused is not None:
            return refused
        assert driver is not None
        try:
            data = json.loads(await _body(request, MAX_DELIVERY_BODY))
        except BodyTooLarge:
            return _error(413, f"body larger than {MAX_DELIVERY_BODY} bytes (the photo may be at most 2 MB)")
        except (ValueError, RecursionError):
            return _error(400, "body is not JSON")
        try:
            posted = parse_delivery(data)
        except DeliveryError as exc:
            return _error(exc.status, str(exc))
        await asyncio.to_thread(self.store.ingest)  # a manifest or events that just arrived count
        if not await asyncio.to_thread(self.store.known_parcel, posted.tracking_id):
            return _error(404, f"parcel {posted.tracking_id} is not known to this server")
        # The body's meaning, not its bytes, decides "the same delivery" (key order, spacing).
        digest = hashlib.sha256(json.dumps(posted.fields(), sort_keys=True).encode()).hexdigest()
        try:
            new = await asyncio.to_thread(self.store.add_delivery, driver, posted, digest)
        except DeliveryConflict:
            return _error(409, f"delivery {posted.delivery_id} was already posted with a different body")
        if new:
            self.nudge()
        answer = {"delivery_id": posted.delivery_id, "tracking_id": posted.tracking_id, "created": new}
        return JSONResponse(answer, status_code=201 if new else 200)
