"""The dock screen, driven headless with Textual's Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import DataTable

from drivers.printers.file import FilePrinter
from drivers.scanners.simulated import SimulatedScanner
from station.core import Station
from station.devices import ScannerSlot
from station.model import Parcel
from station.printing import PrintQueue
from station.ui.app import StationApp
from station.ui.screens import LanesScreen
from station.ui.widgets import BigLane, OutcomeBanner


def make_app(station: Station, tmp_path: Path, slots: list[ScannerSlot] | None = None) -> StationApp:
    queue = PrintQueue(station.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
    return StationApp(station, slots or [], queue, kiosk=True)


async def wait_for(predicate, pilot, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def test_a_typed_code_updates_the_big_lane_number(planned: Station, day: list[Parcel], tmp_path: Path) -> None:
    app = make_app(planned, tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.click("#manual")
        await pilot.press(*day[0].tracking_id, "enter")
        await wait_for(lambda: app.last_decision is not None, pilot)
        decision = app.last_decision
        assert decision is not None
        assert app.dock.query_one(BigLane).value == str(decision.lane)
        assert "SORTED" in str(app.dock.query_one(OutcomeBanner).render())
        assert app.dock.query_one(BigLane).has_class("good")
    assert planned.store.scalar("SELECT count(*) FROM events WHERE kind = 'sorted'") == 1


async def test_a_scanner_scan_shows_its_lane_and_an_unknown_parcel_is_red(
        planned: Station, day: list[Parcel], tmp_path: Path) -> None:
    scanner = SimulatedScanner("terminal", codes=[day[1].tracking_id, "1Z999AA10123456784"], interval_s=0.05,
                               jitter_s=0.0)
    app = make_app(planned, tmp_path, [ScannerSlot(scanner, "sort")])
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_for(lambda: planned.store.scalar("SELECT count(*) FROM events") == 2
                       and app.last_decision is not None and app.last_decision.outcome.value == "unknown", pilot)
        lane = app.dock.query_one(BigLane)
        assert lane.value == str(planned.config.exception_lane)
        assert lane.has_class("bad")
        assert "UNKNOWN PARCEL" in str(app.dock.query_one(OutcomeBanner).render())


async def test_kiosk_keys_do_not_quit(planned: Station, tmp_path: Path) -> None:
    app = make_app(planned, tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        for key in ("ctrl+q", "ctrl+c", "f10"):
            await pilot.press(key)
            await pilot.pause()
            assert app.is_running
        assert app.ENABLE_COMMAND_PALETTE is False


async def test_f2_shows_the_lanes(planned: Station, day: list[Parcel], tmp_path: Path) -> None:
    planned.scan(day[2].tracking_id)
    app = make_app(planned, tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, LanesScreen)
                       and app.screen.query_one(DataTable).row_count == len(planned.config.vans), pilot)
        rows = [app.screen.query_one(DataTable).get_row_at(i) for i in range(len(planned.config.vans))]
        assert sum(r[3] for r in rows) == 1  # one parcel sorted
        await pilot.press("escape")
        await asyncio.sleep(0)
