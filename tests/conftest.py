"""Shared fixtures: a fresh data dir, config and station per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from station.config import Config, load_config
from station.core import Station
from station.demo_day import generate_day
from station.model import Parcel, Plan, Route


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
