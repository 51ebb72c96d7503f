"""The reference server's HTTP side: the station protocol as a Starlette app.

Owns the answers of docs/sync-protocol.md: bearer auth and the roles of :mod:`.tokens` (a
station pushes its own events and reads and plans its own hub; a company system writes
manifests; anything else is 403), every body checked by :mod:`.validation` (422 with the
reason, never 500) and limited while it streams (413), announced limits,
the idempotent batch push (400 without a key, 422 for a key reused with another body,
409 while the first request with that key is still being applied, a replay of the stored
answer afterwards), versioned manifest and plan per hub and day (ETag / If-None-Match /
If-Match), a minimal EPCIS ``POST /epcis/events`` capture for the EPCIS target's tests,
and the fault injection of :mod:`.faults`.

Starlette + uvicorn rather than a bigger framework: the protocol is eight routes, the
server must start in one command and run in a test thread, and both are small,
well-kept ASGI projects that the station already depends on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from station.central.db import StoreUnavailable
from station.central.faults import Fault, FaultQueue
from station.central.storage import CentralStore, Stored, Versioned
from station.central.tokens import DriverRole, Holder, Role, StationRole, SystemRole, Tokens
from station.central.tracking_routes import Tracking
from station.central.tracking_store import TrackingStore
from station.central.validation import EVENT_KINDS, check_event, check_manifest, check_plan
from station.central.webhooks import WebhookPolicy

__all__ = ["EVENT_KINDS", "CentralApp", "ServerLimits", "create_app"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    max_batch_events: int = 500
    max_body_bytes: int = 2_000_000
    # A manifest of a big hub's day (10,000 parcels at ~300 bytes) fits with room to spare.
    max_document_bytes: int = 20_000_000


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read chunk by chunk and abandoned as soon as it passes ``limit``.

    A declared Content-Length over the limit is refused before reading anything; a chunked
    body (no length) is counted as it arrives, so a 400 MB body costs at most ``limit``
    bytes of memory, never its size.
    """
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The JSON document, or ValueError (also for nesting deep enough to exhaust the stack)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("body is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("body is not UTF-8") from None


class DroppedResponse(Response):
    """Start an answer, send part of it, and return: uvicorn then closes the connection.

    The client sees a connection that died mid-answer, which is what a Wi-Fi drop looks
    like from the station; there is no ASGI message for "close without answering".
    """

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"accep', "more_body": True})


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {str(k): str(v) for k, v in extra.pop("headers", {}).items()}
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _forbidden(role: Holder, what: str) -> JSONResponse:
    return _error(403, f"{role.describe()} may not {what}")


Handler = Callable[[Request, Role, Fault | None], Awaitable[Response]]


class CentralApp:
    def __init__(
        self,
        store: CentralStore,
        tokens: Tokens,
        limits: ServerLimits,
        faults: FaultQueue,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.limits = limits
        self.faults = faults
        self.in_flight: set[tuple[str, str]] = set()
        # Told after events or a manifest are stored: tracking looks for status changes at once.
        self.on_change: Callable[[], None] = lambda: None

    def role_for(self, request: Request) -> Holder | None:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        return self.tokens.role_for(presented.strip())

    def who(self, request: Request) -> tuple[str, str] | None:
        """("station", id), ("system", name) or ("driver", id) for the request's token: what
        tracking's routes ask."""
        role = self.role_for(request)
        if role is None:
            return None
        if isinstance(role, SystemRole):
            return ("system", role.name)
        if isinstance(role, DriverRole):
            return ("driver", role.driver_id)
        return ("station", role.station_id)

    def guarded(self, route: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            fault = self.faults.take(route)
            if fault is not None:
                early = await self._early_fault(fault, route)
                if early is not None:
                    return early
            role = self.role_for(request)
            if role is None:
                return _error(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
            if isinstance(role, DriverRole):
                return _forbidden(role, "use the station protocol (a driver's token posts deliveries only)")
            try:
                response = await handler(request, role, fault)
            except BodyTooLarge:
                return _error(413, "body larger than this server accepts (see GET /v1/limits)")
            if fault is not None and fault.kind == "lost_answer":
                return DroppedResponse()
            return response

        return endpoint

    async def _early_fault(self, fault: Fault, route: str) -> Response | None:
        kind = fault.kind
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if kind == "500":
            return _error(500, "injected server error")
        if kind in ("503", "429"):
            return _error(int(kind), "injected: try later", headers=headers)
        if kind == "413":
            return _error(413, "injected: body too large")
        if kind == "401":
            return _error(401, "injected: token refused", headers={"WWW-Authenticate": "Bearer"})
        if kind == "drop":
            return DroppedResponse()
        if kind == "slow" and route != "push":
            await asyncio.sleep(fault.delay_s)
        return None  # slow push and lost_answer act inside / after the handler

    # -- routes --------------------------------------------------------------------

    async def limits_route(self, request: Request, role: Role, fault: Fault | None) -> Response:
        if isinstance(role, SystemRole):
            who = {"system": role.name}
        else:
            who = {"station_id": role.station_id, "hub": role.hub}
        return JSONResponse(
            {
                "protocol": 1,
                **who,
                "max_batch_events": self.limits.max_batch_events,
                "max_body_bytes": self.limits.max_body_bytes,
                "max_document_bytes": self.limits.max_document_bytes,
            }
        )

    async def push_route(self, request: Request, role: Role, fault: Fault | None) -> Response:
        if not isinstance(role, StationRole):
            return _forbidden(role, "push scan events (only a station pushes its own)")
        station_id = role.station_id
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _error(400, "Idempotency-Key header is required")
        if len(key) > 128:
            return _error(400, "Idempotency-Key longer than 128 characters")
        body = await read_body(request, self.limits.max_body_bytes)
        digest = hashlib.sha256(body).hexdigest()
        prior = await asyncio.to_thread(self.store.replay, station_id, key)
        if prior is not None:
            return await self._replayed(prior, digest)
        marker = (station_id, key)
        if marker in self.in_flight:
            return _error(
                409, "a request with this Idempotency-Key is still being applied", headers={"Retry-After": "1"}
            )
        self.in_flight.add(marker)
        try:
            if fault is not None and fault.kind == "slow":
                # Applied after the delay even if the client gave up: the retry meets 409, then the replay.
                await asyncio.sleep(fault.delay_s)
            try:
                data = parse_json(body)
            except ValueError as exc:
                return _error(400, f"body is not JSON: {exc}")
            if not isinstance(data, dict) or not isinstance(data.get("events"), list):
                return _error(400, "body must be an object with an 'events' list")
            if data.get("station_id") != station_id:
                return _error(403, f"this token belongs to station {station_id!r}")
            events: list[Any] = data["events"]
            if len(events) > self.limits.max_batch_events:
                return _error(413, f"more than {self.limits.max_batch_events} events in one batch")
            errors = []
            seen: set[str] = set()
            for ev in events:
                why = check_event(ev, station_id, role.hub)
                eid = ev.get("event_id") if isinstance(ev, dict) else None
                eid = eid if isinstance(eid, str) and len(eid) <= 64 else None
                if why is None and eid in seen:
                    why = "event_id appears twice in the batch"
                if why is not None:
                    errors.append({"event_id": eid, "reason": why})
                elif eid is not None:
                    seen.add(eid)
            if errors:
                # Nothing of the batch is applied: the client quarantines the named events, resends the rest.
                return JSONResponse({"error": "invalid events", "errors": errors}, status_code=422)
            recorded = await asyncio.to_thread(self.store.apply_batch, station_id, key, digest, events)
            if recorded[0] != digest:  # another server process applied this key with another body
                return _error(422, "Idempotency-Key reused with a different body")
            self.on_change()
            return JSONResponse(recorded[1].body, status_code=recorded[1].status)
        finally:
            self.in_flight.discard(marker)

    async def _replayed(self, prior: tuple[str, Stored], digest: str) -> Response:
        if prior[0] != digest:
            return _error(422, "Idempotency-Key reused with a different body")
        await asyncio.to_thread(self.store.count_duplicate_request)
        return JSONResponse(prior[1].body, status_code=prior[1].status, headers={"Idempotent-Replayed": "true"})

    def _readable(self, role: Role, hub: str, what: str) -> Response | None:
        """A station reads only its own hub's documents; a company system reads any hub's."""
        if isinstance(role, StationRole) and role.hub != hub:
            return _forbidden(role, f"read the {what} of hub {hub}")
        return None

    def _versioned_get(self, table: str) -> Handler:
        async def get(request: Request, role: Role, fault: Fault | None) -> Response:
            hub, day = request.path_params["hub"], request.path_params["day"]
            refused = self._readable(role, hub, table[:-1])
            if refused is not None:
                return refused
            doc = await asyncio.to_thread(self.store.get_versioned, table, hub, day)
            if doc is None:
                return _error(404, f"no {table[:-1]} for hub {hub} on {day}")
            etag = _etag(doc)
            headers = {"ETag": etag, "X-Version": str(doc.version)}
            if doc.station_id:
                headers["X-Published-By"] = doc.station_id
            if etag in _etags(request.headers.get("If-None-Match")):
                return Response(status_code=304, headers=headers)
            return Response(doc.body, media_type="application/json", headers=headers)

        return get

    async def manifest_put(self, request: Request, role: Role, fault: Fault | None) -> Response:
        """Only the company's systems write manifests: a station's token never replaces its hub's parcels."""
        if not isinstance(role, SystemRole):
            return _forbidden(role, "write a manifest (only the company's systems do)")
        hub, day = request.path_params["hub"], request.path_params["day"]
        doc, refused = await self._document(request, hub, day)
        if refused is not None:
            return refused
        problems = check_manifest(doc, hub, day)
        if problems:
            message = f"manifest rejected: {len(problems)} problem(s), nothing stored"
            return _error(422, message, problems=problems[:100])
        return await self._store_version("manifests", request, hub, day, doc, publisher=role.name)

    async def plan_put(self, request: Request, role: Role, fault: Fault | None) -> Response:
        """A station publishes its own hub's plan, and only over the version it has seen (If-Match)."""
        hub, day = request.path_params["hub"], request.path_params["day"]
        if not isinstance(role, StationRole) or role.hub != hub:
            return _forbidden(role, f"publish the plan of hub {hub}")
        if_match = request.headers.get("If-Match", "").strip()
        if not if_match or if_match == "*":
            return _error(428, 'If-Match is required: the ETag of the plan you last pulled ("v0" for none)')
        doc, refused = await self._document(request, hub, day)
        if refused is not None:
            return refused
        problems = check_plan(doc)
        if problems:
            return _error(422, "plan rejected", problems=problems)
        return await self._store_version("plans", request, hub, day, doc, publisher=role.station_id)

    async def _document(self, request: Request, hub: str, day: str) -> tuple[Any, Response | None]:
        if len(hub) > 64 or not hub.isprintable() or len(day) != 10:
            return None, _error(422, "the URL's hub or day is not valid")
        try:
            datetime.strptime(day, "%Y-%m-%d")
        except ValueError:
            return None, _error(422, f"day {day!r} is not YYYY-MM-DD")
        body = await read_body(request, self.limits.max_document_bytes)
        try:
            return parse_json(body), None
        except ValueError as exc:
            return None, _error(400, f"body is not JSON: {exc}")

    async def _store_version(
        self, table: str, request: Request, hub: str, day: str, doc: Any, *, publisher: str
    ) -> Response:
        if_match = request.headers.get("If-Match")
        if_version = None
        if if_match and if_match.strip() != "*":
            tags = _etags(if_match)
            if_version = _version_of(tags[0]) if tags else -1
        # Stored as re-serialised JSON: what a station pulls is exactly what was checked.
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        version = await asyncio.to_thread(
            self.store.put_versioned, table, hub, day, body, station_id=publisher, if_version=if_version
        )
        if version is None:
            return _error(412, "the document changed since you read it; pull and retry")
        self.on_change()
        etag = _etag(Versioned(version, ""))
        return JSONResponse({"version": version}, headers={"ETag": etag, "X-Version": str(version)})

    async def epcis_event_route(self, request: Request, role: Role, fault: Fault | None) -> Response:
        if not isinstance(role, StationRole):
            return _forbidden(role, "capture EPCIS events (only a station does)")
        try:
            event = parse_json(await read_body(request, self.limits.max_body_bytes))
        except ValueError:
            return _error(400, "body is not JSON")
        event_id = event.get("eventID") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
            return JSONResponse(
                {"type": "epcisException:ValidationException", "title": "eventID is required", "status": 400},
                status_code=400,
                media_type="application/problem+json",
            )
        if not await asyncio.to_thread(self.store.add_epcis_event, role.station_id, event_id, json.dumps(event)):
            return JSONResponse(
                {
                    "type": "epcisException:ResourceAlreadyExistsException",
                    "title": "A resource with the provided identifier already exists.",
                    "status": 409,
                },
                status_code=409,
                media_type="application/problem+json",
            )
        return Response(status_code=201, headers={"Location": f"/epcis/events/{event_id}"})

    # -- fault admin (only mounted when enabled) ------------------------------------

    async def faults_route(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method == "POST":
            data = await request.json()
            try:
                self.faults.add(*(Fault.from_json(f) for f in data.get("faults", [])))
            except (KeyError, ValueError, TypeError) as exc:
                return _error(400, str(exc))
        return JSONResponse({"pending": self.faults.pending(), "injected": self.faults.injected})


def _etag(doc: Versioned) -> str:
    return f'"v{doc.version}"'


def _etags(header: str | None) -> list[str]:
    if not header:
        return []
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def _version_of(etag: str) -> int:
    try:
        return int(etag.strip('"').removeprefix("v"))
    except ValueError:
        return -1


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The database is away (PostgreSQL restarting, a locked file): nothing was stored, try again."""
    log.warning("answering 503: %s", exc)
    return _error(503, "the database is unavailable; nothing was stored, try again", headers={"Retry-After": "5"})


def create_app(
    data_dir: Path,
    tokens: Tokens,
    *,
    limits: ServerLimits | None = None,
    enable_fault_admin: bool = False,
    store: CentralStore | None = None,
    database: str | None = None,
    allow_private_webhooks: bool = False,
    webhook_policy: WebhookPolicy | None = None,
    tracking_loop: bool = True,
    tracking_duty: float = 1.0,
) -> Starlette:
    """The server. ``app.state.faults`` is always there for tests in the same process;
    ``POST /_faults`` only when ``enable_fault_admin`` (never in a pilot). Tracking's routes
    (docs/tracking.md) share the database; its ingest and webhook loop run in the app's
    lifespan unless ``tracking_loop`` is False (a process of :mod:`.server` runs them), resting
    between chunks for ``1 - tracking_duty`` of the time.

    The database is ``store``'s, else ``database`` (a PostgreSQL URL), else the SQLite file in
    ``data_dir``; migrated before the first request."""
    owned = store is None
    store = store or CentralStore.open(database, data_dir)
    central = CentralApp(store, tokens, limits or ServerLimits(), FaultQueue())
    day = "/v1/hubs/{hub}/days/{day}"
    routes = [
        Route("/healthz", lambda request: JSONResponse({"ok": True})),
        Route("/v1/limits", central.guarded("limits", central.limits_route), methods=["GET"]),
        Route("/v1/events", central.guarded("push", central.push_route), methods=["POST"]),
        Route(f"{day}/manifest", central.guarded("manifest", central._versioned_get("manifests")), methods=["GET"]),
        Route(f"{day}/manifest", central.guarded("manifest", central.manifest_put), methods=["PUT"]),
        Route(f"{day}/plan", central.guarded("plan", central._versioned_get("plans")), methods=["GET"]),
        Route(f"{day}/plan", central.guarded("plan", central.plan_put), methods=["PUT"]),
        Route("/epcis/events", central.guarded("epcis", central.epcis_event_route), methods=["POST"]),
    ]
    if enable_fault_admin:
        routes.append(Route("/_faults", central.faults_route, methods=["GET", "POST", "DELETE"]))
    tracking = Tracking(
        TrackingStore(store.db, Path(data_dir) / "photos", duty=tracking_duty),
        central.who,
        allow_private_webhooks=allow_private_webhooks,
        policy=webhook_policy,
        loop=tracking_loop,
    )
    central.on_change = tracking.nudge

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with tracking.lifespan(app):
            yield
        if owned:
            store.close()

    app = Starlette(
        routes=routes + tracking.routes(),
        lifespan=lifespan,
        exception_handlers={StoreUnavailable: _unavailable},
    )
    app.state.tracking = tracking
    app.state.store = store
    app.state.faults = central.faults
    app.state.central = central
    return app
