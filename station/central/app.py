"""The reference server's HTTP side: the station protocol as a Starlette app.

Owns the answers of docs/sync-protocol.md: bearer auth per station, announced limits,
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
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from station.central.faults import Fault, FaultQueue
from station.central.storage import CentralStore, Versioned

EVENT_KINDS = frozenset(
    "arrived sorted repeat loaded misload exception cancelled departed reprinted command undone".split()
)


@dataclass(frozen=True)
class ServerLimits:
    max_batch_events: int = 500
    max_body_bytes: int = 2_000_000


def read_tokens(path: Path) -> dict[str, str]:
    """``station-id token`` per line (blank lines and # comments skipped) -> token: station."""
    tokens: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}:{number}: expected 'station-id token'")
        station_id, token = parts
        tokens[token] = station_id
    return tokens


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


def _check_event(ev: Any, station_id: str) -> str | None:
    """Why an event is not acceptable, or None."""
    if not isinstance(ev, dict):
        return "event is not an object"
    try:
        uuid.UUID(str(ev.get("event_id")))
    except ValueError:
        return "event_id is not a uuid"
    seq = ev.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "seq is not a non-negative integer"
    if ev.get("station_id") != station_id:
        return f"station_id {ev.get('station_id')!r} is not the authenticated station"
    if ev.get("kind") not in EVENT_KINDS:
        return f"unknown kind {ev.get('kind')!r}"
    if not isinstance(ev.get("clock_synced"), bool):
        return "clock_synced is not a boolean"
    try:
        when = datetime.fromisoformat(str(ev.get("occurred_at")))
    except ValueError:
        return "occurred_at is not an ISO-8601 time"
    if when.tzinfo is None:
        return "occurred_at has no UTC offset"
    return None


Handler = Callable[[Request, str, Fault | None], Awaitable[Response]]


class CentralApp:
    def __init__(
        self,
        store: CentralStore,
        tokens: dict[str, str],
        limits: ServerLimits,
        faults: FaultQueue,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.limits = limits
        self.faults = faults
        self.in_flight: set[tuple[str, str]] = set()

    def station_for(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return None
        found = None
        for token, station_id in self.tokens.items():
            # Compare every token in constant time: no timing hint of a near miss.
            if hmac.compare_digest(token.encode(), presented.strip().encode()):
                found = station_id
        return found

    def guarded(self, route: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            fault = self.faults.take(route)
            if fault is not None:
                early = await self._early_fault(fault, route)
                if early is not None:
                    return early
            station_id = self.station_for(request)
            if station_id is None:
                return _error(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
            response = await handler(request, station_id, fault)
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

    async def limits_route(self, request: Request, station_id: str, fault: Fault | None) -> Response:
        return JSONResponse(
            {
                "protocol": 1,
                "station_id": station_id,
                "max_batch_events": self.limits.max_batch_events,
                "max_body_bytes": self.limits.max_body_bytes,
            }
        )

    async def push_route(self, request: Request, station_id: str, fault: Fault | None) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _error(400, "Idempotency-Key header is required")
        declared = request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            return _error(413, f"body larger than {self.limits.max_body_bytes} bytes")
        body = await request.body()
        if len(body) > self.limits.max_body_bytes:
            return _error(413, f"body larger than {self.limits.max_body_bytes} bytes")
        digest = hashlib.sha256(body).hexdigest()
        prior = self.store.replay(station_id, key)
        if prior is not None:
            if prior[0] != digest:
                return _error(422, "Idempotency-Key reused with a different body")
            self.store.count_duplicate_request()
            return JSONResponse(prior[1].body, status_code=prior[1].status, headers={"Idempotent-Replayed": "true"})
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
                data = json.loads(body)
            except ValueError:
                return _error(400, "body is not JSON")
            if not isinstance(data, dict) or not isinstance(data.get("events"), list):
                return _error(400, "body must be an object with an 'events' list")
            if data.get("station_id") != station_id:
                return _error(403, f"this token belongs to station {station_id!r}")
            events: list[Any] = data["events"]
            if len(events) > self.limits.max_batch_events:
                return _error(413, f"more than {self.limits.max_batch_events} events in one batch")
            errors = []
            for ev in events:
                why = _check_event(ev, station_id)
                if why is not None:
                    eid = ev.get("event_id") if isinstance(ev, dict) else None
                    errors.append({"event_id": eid if isinstance(eid, str) else None, "reason": why})
            if errors:
                # Nothing of the batch is applied: the client quarantines the named events, resends the rest.
                return JSONResponse({"error": "invalid events", "errors": errors}, status_code=422)
            stored = self.store.apply_batch(station_id, key, digest, events)
            return JSONResponse(stored.body, status_code=stored.status)
        finally:
            self.in_flight.discard(marker)

    def _versioned_get(self, table: str) -> Handler:
        async def get(request: Request, station_id: str, fault: Fault | None) -> Response:
            hub, day = request.path_params["hub"], request.path_params["day"]
            doc = self.store.get_versioned(table, hub, day)
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

    def _versioned_put(self, table: str) -> Handler:
        async def put(request: Request, station_id: str, fault: Fault | None) -> Response:
            hub, day = request.path_params["hub"], request.path_params["day"]
            body = await request.body()
            if len(body) > self.limits.max_body_bytes * 10:
                return _error(413, "document too large")
            try:
                json.loads(body)
            except ValueError:
                return _error(400, "body is not JSON")
            if_match = request.headers.get("If-Match")
            if_version = None
            if if_match and if_match.strip() != "*":
                tags = _etags(if_match)
                if_version = _version_of(tags[0]) if tags else -1
            version = self.store.put_versioned(
                table, hub, day, body.decode(), station_id=station_id, if_version=if_version
            )
            if version is None:
                return _error(412, "the document changed since you read it; pull and retry")
            etag = _etag(Versioned(version, ""))
            return JSONResponse({"version": version}, headers={"ETag": etag, "X-Version": str(version)})

        return put

    async def epcis_event_route(self, request: Request, station_id: str, fault: Fault | None) -> Response:
        try:
            event = json.loads(await request.body())
        except ValueError:
            return _error(400, "body is not JSON")
        event_id = event.get("eventID") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id:
            return JSONResponse(
                {"type": "epcisException:ValidationException", "title": "eventID is required", "status": 400},
                status_code=400,
                media_type="application/problem+json",
            )
        if not self.store.add_epcis_event(station_id, event_id, json.dumps(event)):
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


def create_app(
    data_dir: Path,
    tokens: dict[str, str],
    *,
    limits: ServerLimits | None = None,
    enable_fault_admin: bool = False,
    store: CentralStore | None = None,
) -> Starlette:
    """The server. ``app.state.faults`` is always there for tests in the same process;
    ``POST /_faults`` only when ``enable_fault_admin`` (never in a pilot)."""
    store = store or CentralStore.in_dir(data_dir)
    central = CentralApp(store, tokens, limits or ServerLimits(), FaultQueue())
    day = "/v1/hubs/{hub}/days/{day}"
    routes = [
        Route("/healthz", lambda request: JSONResponse({"ok": True})),
        Route("/v1/limits", central.guarded("limits", central.limits_route), methods=["GET"]),
        Route("/v1/events", central.guarded("push", central.push_route), methods=["POST"]),
        Route(f"{day}/manifest", central.guarded("manifest", central._versioned_get("manifests")), methods=["GET"]),
        Route(f"{day}/manifest", central.guarded("manifest", central._versioned_put("manifests")), methods=["PUT"]),
        Route(f"{day}/plan", central.guarded("plan", central._versioned_get("plans")), methods=["GET"]),
        Route(f"{day}/plan", central.guarded("plan", central._versioned_put("plans")), methods=["PUT"]),
        Route("/epcis/events", central.guarded("epcis", central.epcis_event_route), methods=["POST"]),
    ]
    if enable_fault_admin:
        routes.append(Route("/_faults", central.faults_route, methods=["GET", "POST", "DELETE"]))
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.faults = central.faults
    app.state.central = central
    return app
