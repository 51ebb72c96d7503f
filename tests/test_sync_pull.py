"""Manifest pull (ETag / If-None-Match) and plan publish/pull between two stations of one
hub, through the reference server over loopback HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

import station.sync  # noqa: F401
from station.central.testing import Central, running_central, station_config
from station.clock import FixedClock
from station.core import Station
from station.errors import ManifestError, SyncError
from station.model import Parcel, Plan, Route
from station.sync.pull import pull_day

pytestmark = pytest.mark.slow  # two stations and a server per test

DAY = "2026-11-25"


@pytest.fixture
def central(tmp_path: Path, central_database: str | None) -> Iterator[Central]:
    with running_central(tmp_path / "central", ["S1", "S2"], database=central_database) as c:
        yield c


def open_station(tmp_path: Path, central: Central, sid: str) -> Station:
    config = station_config(tmp_path / sid, central.url, central.tokens[sid], station_id=sid)
    return Station.open(config)


def parcels(n: int) -> list[Parcel]:
    return [
        Parcel(
            f"TRK{i:04d}",
            f"R{i}",
            f"{i} Main St",
            "10115",
            52.5 + i / 1000,
            13.4,
            1.5,
            window_start=time(9, 0),
            codes=(f"ORD{i}",),
        )
        for i in range(n)
    ]


def test_manifest_is_pulled_once_per_version(tmp_path: Path, central: Central) -> None:
    s1 = open_station(tmp_path, central, "S1")
    hub = s1.config.hub.name
    assert pull_day(s1, s1.config, day=DAY).manifest == "none"
    assert s1.config.server is not None
    central.publish_manifest(hub, DAY, parcels(5))
    first = pull_day(s1, s1.config, day=DAY)
    assert first.manifest == "updated" and first.manifest_version == 1
    assert [p.tracking_id for p in s1.parcels()] == [f"TRK{i:04d}" for i in range(5)]
    assert s1.parcels()[0].codes == ("ORD0",) and s1.parcels()[0].window_start == time(9, 0)
    assert pull_day(s1, s1.config, day=DAY).manifest == "unchanged"  # 304
    central.publish_manifest(hub, DAY, parcels(3))
    # Cancelling 2 of 5 open parcels is past max_cancel_share: a pull never forces it.
    refused = pull_day(s1, s1.config, day=DAY)
    assert refused.manifest == "refused" and refused.refused and "TRK0003" in refused.refused
    assert len(s1.parcels()) == 5
    assert pull_day(s1, s1.config, day=DAY).manifest == "refused"  # asked again, not forgotten as seen
    forced = pull_day(s1, s1.config, day=DAY, force=True)
    assert forced.manifest_version == 2 and forced.refused is None
    assert len(s1.parcels()) == 3


def test_pull_asks_for_the_hubs_today_and_starts_it(tmp_path: Path, central: Central) -> None:
    clock = FixedClock(datetime(2026, 11, 25, 22, 30, tzinfo=UTC))  # 23:30 in Paris: still the 25th
    config = station_config(tmp_path / "S1", central.url, central.tokens["S1"], station_id="S1")
    s1 = Station.open(dataclasses.replace(config, timezone="Europe/Paris"), clock=clock)
    hub = s1.config.hub.name
    central.publish_manifest(hub, DAY, parcels(4))
    assert pull_day(s1, s1.config).day == DAY and s1.day() == DAY
    central.publish_manifest(hub, "2026-11-26", parcels(2))
    assert pull_day(s1, s1.config).manifest == "unchanged"  # the hub's date has not moved yet
    clock.at = datetime(2026, 11, 25, 23, 5, tzinfo=UTC)  # 00:05 in Paris
    moved = pull_day(s1, s1.config)
    assert (moved.day, moved.manifest, moved.previous_day) == ("2026-11-26", "updated", DAY)
    assert s1.day() == "2026-11-26" and len(s1.parcels()) == 2
    # Yesterday's manifest asked for by name is refused: the day has passed.
    central.publish_manifest(hub, DAY, parcels(5))
    late = pull_day(s1, s1.config, day=DAY)
    assert late.manifest == "refused" and s1.day() == "2026-11-26"


def test_plan_published_by_one_station_is_pulled_by_the_other(tmp_path: Path, central: Central) -> None:
    s1, s2 = open_station(tmp_path, central, "S1"), open_station(tmp_path, central, "S2")
    assert s1.config.server is not None
    central.publish_manifest(s1.config.hub.name, DAY, parcels(4))
    pull_day(s1, s1.config, day=DAY)
    pull_day(s2, s2.config, day=DAY)
    plan = Plan(
        routes=(Route("V01", 1, (("TRK0000", "TRK0001"), ("TRK0002",)), 12.5, 40.0, 3, 4.5),),
        unplanned={"TRK0003": "no coordinates"},
        cost=12.5,
        solver="ortools",
        seconds=0.2,
    )
    s1.save_plan(plan)

    from station.sync.pull import publish_plan

    assert publish_plan(s1, s1.config, day=DAY) == 1
    assert pull_day(s1, s1.config, day=DAY).plan == "unchanged"  # its own, ETag remembered
    result = pull_day(s2, s2.config, day=DAY)
    assert result.plan == "updated" and result.plan_version == 1
    got = s2.current_plan()
    assert got is not None
    assert got.routes[0].stops == plan.routes[0].stops and got.unplanned == plan.unplanned
    assert pull_day(s2, s2.config, day=DAY).plan == "unchanged"

    # S1 republishes; S2, which has only seen v1, may publish only after pulling v2.
    assert publish_plan(s1, s1.config, day=DAY) == 2
    s2.save_plan(dataclasses.replace(plan, cost=99.0))
    with pytest.raises(SyncError, match="pull it first"):
        publish_plan(s2, s2.config, day=DAY)
    pull_day(s2, s2.config, day=DAY)
    s2.save_plan(dataclasses.replace(plan, cost=99.0))
    assert publish_plan(s2, s2.config, day=DAY) == 3


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[]", "the manifest has no parcels"),
        ('{"parcels": 5}', "expected a list of parcels"),
        (
            '{"parcels": [{"tracking_id": "TRK9", "recipient": "R", "address": "A", "weight_kg": "heavy"}]}',
            'weight_kg is not a number: "heavy"',
        ),
        (
            '{"parcels": [{"tracking_id": "TRK9", "recipient": "R", "address": "A", "weight_kg": 1,'
            ' "lat": "north", "lon": 4.8}]}',
            'lat is not a number: "north"',
        ),
        ('{"parcels": [null]}', "expected an object, got null"),
    ],
)
def test_a_bad_pulled_manifest_is_refused_and_changes_nothing(
    tmp_path: Path, central: Central, body: str, problem: str
) -> None:
    s1 = open_station(tmp_path, central, "S1")
    hub = s1.config.hub.name
    assert s1.config.server is not None
    central.publish_manifest(hub, DAY, parcels(3))
    pull_day(s1, s1.config, day=DAY)
    # The server checks the manifests it is given; one that reached it another way (an older
    # server, a hand edit) must still not get past the station.
    central.store.put_versioned("manifests", hub, DAY, body, station_id="tms", if_version=None)
    with pytest.raises(ManifestError, match="today's manifest is unchanged") as refused:
        pull_day(s1, s1.config, day=DAY)
    assert problem in str(refused.value)
    assert [p.tracking_id for p in s1.parcels()] == ["TRK0000", "TRK0001", "TRK0002"]
    assert s1.store.get_meta("manifest_version") == f"central:{hub}:{DAY}:v1"
