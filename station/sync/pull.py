"""Manifest pull and plan publish/pull: the versioned documents of a hub's day.

Owns the conditional requests of docs/sync-protocol.md: the manifest is pulled per hub
and day with ``If-None-Match`` (a 304 costs nothing, so it can be polled); a hub with
several stations sorts by one plan, which the planning station publishes with
``If-Match`` (so it never overwrites a newer plan it has not seen: 412) and the others
pull. ETags are remembered in ``sync_state``.

A pull is three steps so the network is never on the scan path: read the ETags
(:func:`day_etags`), ask the server (:func:`fetch_day`: async, no database, every request
under one total deadline; the screen runs it on its network thread) and take what changed
(:func:`apply_day`: the writer's thread). :func:`pull_day` does the three for the CLI.

The day asked for is the hub's today (``[hub] timezone``), or the station's day when that is
later: a screen left running overnight moves to the new day as soon as the server has its
manifest. A pulled manifest goes through :func:`station.days.import_day` like a file: a later
day starts it, an earlier one is refused, and one that would cancel more than ``[station]
max_cancel_share`` of the day is refused (a pull never forces: nobody is there to check the
file; ``station sync --pull --force`` takes it once the lead has). A refused manifest's ETag is
not remembered, so the server's next version is taken as soon as it is fixed.
Publishing a plan (the CLI) goes under the same deadline; :func:`publish_manifest` (what a
company's system does: the tests and the demo) uses the synchronous client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from station import days
from station.errors import ManifestError, SyncError
from station.manifest import parcel_record, parse_document
from station.model import Hub, Parcel, Plan, Route
from station.sync import connection
from station.sync.connection import ServerSettings
from station.sync.outbox import Outbox
from station.sync.targets import PushFailure, raise_for

log = logging.getLogger(__name__)


class PullConfig(Protocol):
    @property
    def station_id(self) -> str: ...
    @property
    def hub(self) -> Hub: ...
    @property
    def server(self) -> ServerSettings | None: ...


class DayStation(Protocol):
    """What pull needs of station.core.Station."""

    @property
    def store(self) -> Any: ...
    @property
    def config(self) -> Any: ...
    @property
    def clock(self) -> Any: ...
    def day(self) -> str: ...
    def replace_manifest(self, parcels: list[Parcel], *, version: str, day: date | None = None) -> Any: ...
    def save_plan(self, plan: Plan, *, version: str | None = None) -> int: ...
    def current_plan(self) -> Plan | None: ...


@dataclass(frozen=True)
class PullResult:
    day: str
    manifest: str  # "updated", "unchanged", "none", "refused"
    manifest_version: int | None
    plan: str  # "updated", "unchanged", "own", "none", "waiting" (its day's manifest is not here yet)
    plan_version: int | None
    previous_day: str | None = None  # set when the pulled manifest started ``day``
    refused: str | None = None  # why the pulled manifest was refused (nothing changed)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        return (
            f"{self.day}: manifest {self.manifest}"
            + (f" (version {self.manifest_version})" if self.manifest_version else "")
            + (f", new day (previous {self.previous_day})" if self.previous_day else "")
            + f", plan {self.plan}"
            + (f" (version {self.plan_version})" if self.plan_version else "")
            + (f"\nrefused: {self.refused}" if self.refused else "")
        )


# -- documents on the wire ----------------------------------------------------------


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "routes": [
            {
                "van_id": r.van_id,
                "lane": r.lane,
                "stops": [list(s) for s in r.stops],
                "km": r.km,
                "minutes": r.minutes,
                "load": r.load,
                "load_kg": r.load_kg,
            }
            for r in plan.routes
        ],
        "unplanned": dict(plan.unplanned),
        "cost": plan.cost,
        "solver": plan.solver,
        "seconds": plan.seconds,
    }


def plan_from_json(d: dict[str, Any]) -> Plan:
    routes = tuple(
        Route(
            van_id=str(r["van_id"]),
            lane=int(r["lane"]),
            stops=tuple(tuple(s) for s in r["stops"]),
            km=float(r.get("km", 0.0)),
            minutes=float(r.get("minutes", 0.0)),
            load=int(r.get("load", 0)),
            load_kg=float(r.get("load_kg", 0.0)),
        )
        for r in d.get("routes", [])
    )
    return Plan(
        routes=routes,
        unplanned=dict(d.get("unplanned", {})),
        cost=float(d.get("cost", 0.0)),
        solver=str(d.get("solver", "central")),
        seconds=float(d.get("seconds", 0.0)),
    )


# -- requests ---------------------------------------------------------------------


def _day_path(hub: str, day: str, what: str) -> str:
    return f"/v1/hubs/{quote(hub, safe='')}/days/{quote(day, safe='')}/{what}"


def _check(response: httpx.Response) -> None:
    try:
        raise_for(response)
    except PushFailure as exc:
        raise SyncError(f"central server: {exc.reason}") from exc


async def _get(client: httpx.AsyncClient, path: str, etag: str | None) -> httpx.Response:
    headers = {"If-None-Match": etag} if etag else {}
    try:
        return await client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        raise SyncError(f"central server unreachable: {exc}") from exc


def _pulled_parcels(response: httpx.Response, name: str) -> list[Parcel]:
    """The pulled manifest, through the same checks as a file's: a bad one changes nothing."""
    try:
        doc = response.json()
    except ValueError:
        raise ManifestError(f"{name} rejected: not JSON; today's manifest is unchanged") from None
    try:
        return parse_document(doc, name=name)
    except ManifestError as exc:
        raise ManifestError(f"{exc.args[0]}; today's manifest is unchanged", exc.problems, exc.unit) from None


def _version(response: httpx.Response) -> int | None:
    value = response.headers.get("X-Version")
    return int(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class DayEtags:
    """What this station last took of a hub's day (read from ``sync_state``)."""

    hub: str
    day: str
    manifest: str | None
    plan: str | None


@dataclass(frozen=True)
class FetchedDay:
    """What the server answered, checked and parsed, not yet applied to the station."""

    etags: DayEtags
    manifest: str  # "updated", "unchanged", "none"
    manifest_version: int | None
    manifest_etag: str
    parcels: list[Parcel] | None
    plan: str  # "updated", "unchanged", "own", "none"
    plan_version: int | None
    plan_etag: str
    plan_doc: Plan | None


def day_to_pull(station: DayStation) -> str:
    """The hub's today (its time zone), or the station's day when that is later (imported ahead)."""
    today = days.hub_today(station.config, station.clock.now())
    current = days.current_day(station)  # type: ignore[arg-type]
    return max(today, current).isoformat() if current else today.isoformat()


def day_etags(station: DayStation, config: PullConfig, *, day: str | None = None) -> DayEtags:
    """The ETags to send (a database read: the writer's or a reader's thread)."""
    day = day or day_to_pull(station)
    hub = config.hub.name
    outbox = Outbox(station.store)
    return DayEtags(
        hub, day, outbox.get_state(f"manifest_etag:{hub}:{day}"), outbox.get_state(f"plan_etag:{hub}:{day}")
    )


async def fetch_day(config: PullConfig, etags: DayEtags) -> FetchedDay:
    """The network half of a pull: no database, every request under the total deadline.

    Runs on the station's network thread (the screen) or under ``asyncio.run`` (the CLI),
    never on the thread that commits scans: a server that never answers, or answers a
    byte at a time, costs this pull its deadline and nothing else.
    """
    if config.server is None:
        raise SyncError("no [server] table in the config")
    hub, day = etags.hub, etags.day
    async with connection.async_client(config.server, connection.BearerToken(config.server)) as client:
        response = await _get(client, _day_path(hub, day, "manifest"), etags.manifest)
        manifest, m_version, m_etag, parcels = "none", _version(response), "", None
        if response.status_code == 304:
            manifest = "unchanged"
        elif response.status_code != 404:
            _check(response)
            parcels = _pulled_parcels(response, f"the central server's manifest for {hub} on {day}")
            m_etag, manifest = response.headers.get("ETag", ""), "updated"

        response = await _get(client, _day_path(hub, day, "plan"), etags.plan)
        plan, p_version, p_etag, plan_doc = "none", _version(response), "", None
        if response.status_code == 304:
            plan = "unchanged"
        elif response.status_code != 404:
            _check(response)
            p_etag = response.headers.get("ETag", "")
            if response.headers.get("X-Published-By") == config.station_id:
                plan = "own"  # this station published it: its plan is already active
            else:
                try:
                    plan_doc = plan_from_json(response.json())
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise SyncError(f"the central server's plan for {hub} on {day} is not a plan: {exc}") from None
                plan = "updated"
    return FetchedDay(etags, manifest, m_version, m_etag, parcels, plan, p_version, p_etag, plan_doc)


def apply_day(station: DayStation, fetched: FetchedDay, *, force: bool = False) -> PullResult:
    """The database half of a pull (the writer's thread): take what changed, remember the ETags.

    The manifest goes through :func:`station.days.import_day` (``force`` only from the CLI);
    a refused one changes nothing and is reported in ``refused``. A plan is taken only for
    the station's day: a plan for a day whose manifest is not here yet waits (``"waiting"``).
    """
    hub, day = fetched.etags.hub, fetched.etags.day
    outbox = Outbox(station.store)
    manifest, previous, refused = fetched.manifest, None, None
    if fetched.parcels is not None:
        version = f"central:{hub}:{day}:v{fetched.manifest_version}"
        try:
            done = days.import_day(
                station,  # type: ignore[arg-type]
                fetched.parcels,
                day=date.fromisoformat(day),
                version=version,
                force=force,
            )
        except ManifestError as exc:
            manifest, refused = "refused", f"the central server's manifest for {day} (v{fetched.manifest_version}): "
            refused += str(exc.args[0]) if exc.args else "refused"
            log.warning("pulled manifest refused: %s", refused)
        else:
            previous = done.previous_day.isoformat() if done.previous_day else None
            outbox.set_state(f"manifest_etag:{hub}:{day}", fetched.manifest_etag)
    plan = fetched.plan
    if plan in ("updated", "own") and station.day() != day:
        plan = "waiting"  # the ETag is not remembered: asked again once the day's manifest is here
    else:
        if fetched.plan_doc is not None:
            station.save_plan(fetched.plan_doc, version=f"central:{hub}:{day}:v{fetched.plan_version}")
        if plan in ("updated", "own"):
            outbox.set_state(f"plan_etag:{hub}:{day}", fetched.plan_etag)
    return PullResult(day, manifest, fetched.manifest_version, plan, fetched.plan_version, previous, refused)


def pull_day(station: DayStation, config: PullConfig, *, day: str | None = None, force: bool = False) -> PullResult:
    """Pull the day's manifest and plan when they changed since the last pull (the CLI's one call)."""
    if config.server is None:
        raise SyncError("no [server] table in the config")
    etags = day_etags(station, config, day=day)
    return apply_day(station, asyncio.run(fetch_day(config, etags)), force=force)


async def _put(server: ServerSettings, path: str, content: str, headers: dict[str, str]) -> httpx.Response:
    """One PUT under the total deadline (the async client's), as the pulls are."""
    async with connection.async_client(server, connection.BearerToken(server)) as client:
        try:
            return await client.put(path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise SyncError(f"central server unreachable: {exc}") from exc


def publish_plan(station: DayStation, config: PullConfig, *, day: str | None = None) -> int:
    """Publish this station's active plan for the hub's day; returns the new version.

    Sent with If-Match of the last version this station saw, so a plan another station
    published meanwhile is never overwritten blindly (SyncError: pull first).
    """
    if config.server is None:
        raise SyncError("no [server] table in the config")
    plan = station.current_plan()
    if plan is None:
        raise SyncError("no plan to publish: plan the day first")
    day = day or station.day()
    hub = config.hub.name
    outbox = Outbox(station.store)
    p_key = f"plan_etag:{hub}:{day}"
    seen = outbox.get_state(p_key)
    headers = {"Content-Type": "application/json", "If-Match": seen or '"v0"'}
    response = asyncio.run(_put(config.server, _day_path(hub, day, "plan"), json.dumps(plan_to_json(plan)), headers))
    if response.status_code == 412:
        raise SyncError("another station published a newer plan for this day: pull it first (station sync --pull)")
    _check(response)
    outbox.set_state(p_key, response.headers.get("ETag", ""))
    return int(response.json()["version"])


def publish_manifest(server: ServerSettings, hub: str, day: str, parcels: list[Parcel]) -> int:
    """Upload a day's manifest (what a company's system does; the tests and demo use it)."""
    with connection.client(server) as client:
        response = client.put(
            _day_path(hub, day, "manifest"),
            content=json.dumps({"hub": hub, "day": day, "parcels": [parcel_record(p) for p in parcels]}),
            headers={"Content-Type": "application/json"},
        )
        _check(response)
    return int(response.json()["version"])
