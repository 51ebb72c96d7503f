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
