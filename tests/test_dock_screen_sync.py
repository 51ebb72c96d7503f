"""The dock screen with a central server: scans reach it in the background, the status line says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.printers.file import FilePrinter
from station.central.testing import running_central, station_config
from station.core import Station
from station.printing import PrintQueue
from station.ui.app import StationApp

pytestmark = pytest.mark.slow  # the screen, a station and a central server per test


async def test_a_scan_on_the_screen_reaches_the_central_server(tmp_path: Path) -> None:
    with running_central(tmp_path / "central", ["S1"]) as central:
        config = station_config(tmp_path / "station", central.url, central.tokens["S1"])
        station = Station.open(config)
        queue = PrintQueue(station.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
        app = StationApp(station, [], queue)
        async with app.run_test(size=(110, 34)) as pilot:
            await pilot.click("#manual")
            await pilot.press(*"1Z999AA10123456784", "enter")
            for _ in range(200):
                if central.store.event_ids("S1") and "last good" in app.sync_text:
                    break
                await pilot.pause(0.05)
            assert app.last_decision is not None
            assert central.store.event_ids("S1") == [app.last_decision.event_id]
            assert "last good" in app.sync_text
        assert station.outbox_backlog() == 0
        station.close()


async def test_the_screen_takes_the_days_manifest_from_the_central_server(tmp_path: Path) -> None:
    from station.demo_day import generate_day

    with running_central(tmp_path / "central", ["S1"]) as central:
        config = station_config(tmp_path / "station", central.url, central.tokens["S1"])
        station = Station.open(config)
        assert config.server is not None
        parcels = generate_day(config.hub, parcels=12, seed=4)
        central.publish_manifest(config.hub.name, station.day(), parcels)
        queue = PrintQueue(station.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
        app = StationApp(station, [], queue)
        async with app.run_test(size=(110, 34)) as pilot:
            for _ in range(200):
                if station.store.scalar("SELECT count(*) FROM parcels") == len(parcels):
                    break
                await pilot.pause(0.05)
            assert {p.tracking_id for p in station.parcels()} == {p.tracking_id for p in parcels}
        station.close()


async def test_a_screen_left_running_overnight_moves_to_the_new_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    from datetime import UTC, date, datetime

    from station import days
    from station.clock import FixedClock
    from station.dayclose import day_close
    from station.demo_day import generate_day
    from station.model import Decision, Outcome
    from station.ui import app as app_module
    from tests.conftest import round_robin_plan

    monkeypatch.setattr(app_module, "PULL_EVERY_S", 0.2)
    with running_central(tmp_path / "central", ["S1"]) as central:
        config = station_config(tmp_path / "station", central.url, central.tokens["S1"])
        config = dataclasses.replace(config, timezone="Europe/Paris")
        clock = FixedClock(datetime(2026, 11, 30, 22, 50, tzinfo=UTC))  # 23:50 at the hub
        station = Station.open(config, clock=clock)
        yesterday = generate_day(config.hub, parcels=12, seed=4)
        days.import_day(station, yesterday, day=date(2026, 11, 30), version="file:d1")
        station.save_plan(round_robin_plan(config, yesterday))
        today = generate_day(config.hub, parcels=20, seed=5)[12:]  # 8 parcels none of yesterday's
        central.publish_manifest(config.hub.name, "2026-12-01", today)
        queue = PrintQueue(station.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
        app = StationApp(station, [], queue)
        async with app.run_test(size=(110, 34)) as pilot:
            await pilot.pause(0.5)
            assert station.day() == "2026-11-30"  # the hub's date has not moved: nothing to take
            await pilot.click("#manual")
            await pilot.press(*yesterday[0].tracking_id, "enter")
            assert app.last_decision is not None and app.last_decision.outcome is Outcome.SORTED

            clock.at = datetime(2026, 11, 30, 23, 10, tzinfo=UTC)  # 00:10 at the hub
            for _ in range(200):
                if station.day() == "2026-12-01":
                    break
                await pilot.pause(0.05)
            assert station.day() == "2026-12-01"
            report = day_close(station)
            assert report.day == "2026-12-01" and report.manifest == len(today) and report.sorted == 0
            assert {p.tracking_id for p in station.parcels()} == {p.tracking_id for p in today}
            assert all(v.planned == v.sorted == 0 and not v.closed for v in report.vans)  # F7's lane figures
            await pilot.press(*today[0].tracking_id, "enter")
            decision: Decision | None = app.last_decision
            assert decision is not None and decision.outcome is Outcome.NO_PLAN  # today's manifest, not planned
            assert decision.lane is None and decision.tracking_id == today[0].tracking_id
        assert days.kept_report(station, date(2026, 11, 30)) is not None
        station.close()
