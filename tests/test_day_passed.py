"""A station whose day the hub's date has moved past: until today's manifest is here, a sort
scan says "no manifest for today yet" instead of sending the parcel to yesterday's lane."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from station import days
from station.clock import FixedClock
from station.config import Config
from station.core import Station
from station.demo_day import generate_day
from station.model import Outcome
from station.sorting import NO_MANIFEST_REASON, NO_PLAN_REASON
from station.ui.screens import instruction_for
from tests.conftest import round_robin_plan


def paris(config: Config) -> Config:
    return dataclasses.replace(config, timezone="Europe/Paris")


def test_sort_scan_after_midnight_waits_for_todays_manifest(config: Config) -> None:
    config = paris(config)
    clock = FixedClock(datetime(2026, 11, 30, 22, 50, tzinfo=UTC))  # 23:50 at the hub
    station = Station.open(config, clock=clock)
    day1 = generate_day(config.hub, parcels=12, seed=3)
    days.import_day(station, day1[:10], day=date(2026, 11, 30), version="v1")
    station.save_plan(round_robin_plan(config, day1[:10]))
    assert station.scan(day1[0].tracking_id, device="s").outcome is Outcome.SORTED

    clock.at = datetime(2026, 11, 30, 23, 10, tzinfo=UTC)  # 00:10 at the hub: a new day, no manifest yet
    for code in (day1[1].tracking_id, day1[11].tracking_id):  # yesterday's parcel, and one it never had
        d = station.scan(code, device="s")
        assert (d.outcome, d.lane, d.reason) == (Outcome.NO_PLAN, None, NO_MANIFEST_REASON), d
        assert "today" in instruction_for(d)
    assert station.scan("garbage!!", device="s").outcome is Outcome.INVALID  # a bad label is still that

    days.import_day(station, day1[1:], day=date(2026, 12, 1), version="v2")
    d = station.scan(day1[1].tracking_id, device="s")
    assert (d.outcome, d.reason) == (Outcome.NO_PLAN, NO_PLAN_REASON)  # today's manifest, not yet planned
    station.save_plan(round_robin_plan(config, day1[1:]))
    assert station.scan(day1[11].tracking_id, device="s").outcome is Outcome.SORTED


def test_a_fresh_station_without_a_manifest_behaves_as_before(config: Config) -> None:
    clock = FixedClock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    station = Station.open(paris(config), clock=clock)
    d = station.scan("TRK-NOT-THERE-1", device="s")
    assert d.outcome in (Outcome.UNKNOWN, Outcome.INVALID) and d.reason != NO_MANIFEST_REASON
