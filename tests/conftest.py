"""Shared fixtures: a fresh data dir, config and station per test; PostgreSQL for the central server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.config import Config, load_config
from station.core import Station
from station.demo_day import generate_day
from station.model import Parcel, Plan, Route
from tests import postgres
from tests.postgres import PostgresServer


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def config(data_dir: Path) -> Config:
    return load_config(None, data_dir)  # the embedded example: the demo's hub and 12 vans


@pytest.fixture
def station(config: Config) -> Iterator[Station]:
    s = Station.open(config)
    yield s
    s.close()


@pytest.fixture
def day(config: Config) -> list[Parcel]:
    return generate_day(config.hub, parcels=40, seed=3)


def round_robin_plan(config: Config, parcels: list[Parcel], *, leave_out: dict[str, str] | None = None) -> Plan:
    """A plan made by hand (the core's tests must not depend on the solver's choices)."""
    leave_out = leave_out or {}
    per_van: dict[int, list[str]] = {}
    planned = [p for p in parcels if p.tracking_id not in leave_out]
    for i, p in enumerate(planned):
        per_van.setdefault(i % len(config.vans), []).append(p.tracking_id)
    routes = tuple(
        Route(
            van_id=config.vans[v].id,
            lane=config.vans[v].lane,
            stops=tuple((tid,) for tid in ids),
            km=1.0,
            minutes=10.0,
            load=len(ids),
        )
        for v, ids in sorted(per_van.items())
    )
    return Plan(routes=routes, unplanned=dict(leave_out), cost=1.0, solver="test")


@pytest.fixture
def planned(station: Station, day: list[Parcel], config: Config) -> Station:
    station.replace_manifest(day, version="test")
    station.save_plan(round_robin_plan(config, day))
    return station


# PostgreSQL for the central server's tests (tests/postgres.py says where the server comes from).


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server: its superuser URL, and stop/start (``stopped()``,
    ``restart()``). Skips without PostgreSQL, fails instead when STATION_REQUIRE_POSTGRES=1."""
    try:
        server = postgres.from_environment() or postgres.start_cluster(settings=postgres.FAST_SETTINGS)
    except postgres.NoPostgres as exc:
        if os.environ.get(postgres.URL_VARIABLE):
            pytest.fail(f"{postgres.URL_VARIABLE}: {exc}")
        if postgres.required():
            pytest.fail(f"{postgres.REQUIRE_VARIABLE}=1 but no PostgreSQL: {exc}")
        pytest.skip(f"no PostgreSQL: {exc}")
    yield server
    server.remove()


@pytest.fixture(scope="session")
def postgres_server(postgres_cluster: PostgresServer) -> str:
    """A superuser's URL (database ``postgres``) on the session's PostgreSQL server."""
    return postgres_cluster.url


@pytest.fixture
def postgres_url(postgres_cluster: PostgresServer) -> Iterator[str]:
    """A fresh, empty database of its own (dropped afterwards, connections and all): its URL."""
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def central_database(request: pytest.FixtureRequest) -> str | None:
    """The central server's database, once per backend: None for the SQLite file in its data
    dir, or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url
