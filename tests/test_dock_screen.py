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
from station.ui.screens import DayCloseScreen, ExceptionsScreen, LanesScreen
from station.ui.widgets import BigLane, OutcomeBanner


def make_app(station: Station, tmp_path: Path, slots: list[ScannerSlot] | None = None) -> StationApp:
    queue = PrintQueue(station.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
    return StationApp(station, slots or [], queue, kiosk=True)


async def wait_for(predicate, pilot, timeout: float = 10.0) -> None:
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
    planned: Station, day: list[Parcel], tmp_path: Path
) -> None:
    scanner = SimulatedScanner(
        "terminal", codes=[day[1].tracking_id, "1Z999AA10123456784"], interval_s=0.05, jitter_s=0.0
    )
    app = make_app(planned, tmp_path, [ScannerSlot(scanner, "sort")])
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_for(
            lambda: (
                planned.store.scalar("SELECT count(*) FROM events") == 2
                and app.last_decision is not None
                and app.last_decision.outcome.value == "unknown"
            ),
            pilot,
        )
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
        await wait_for(
            lambda: (
                isinstance(app.screen, LanesScreen)
                and app.screen.query_one(DataTable).row_count == len(planned.config.vans)
            ),
            pilot,
        )
        rows = [app.screen.query_one(DataTable).get_row_at(i) for i in range(len(planned.config.vans))]
        assert sum(r[3] for r in rows) == 1  # one parcel sorted
        await pilot.press("escape")
        await asyncio.sleep(0)


async def test_a_misload_raises_the_alarm_with_the_right_lane(
    planned: Station, day: list[Parcel], tmp_path: Path
) -> None:
    parcel = day[0]
    right = planned.store.query("SELECT van_id, lane FROM plan_parcels WHERE tracking_id = ?", (parcel.tracking_id,))[0]
    wrong = next(v for v in planned.config.vans if v.id != right["van_id"])
    scanner = SimulatedScanner("bay", codes=[parcel.tracking_id], interval_s=0.05, jitter_s=0.0)
    app = make_app(planned, tmp_path, [ScannerSlot(scanner, f"load:{wrong.id}")])
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_for(lambda: app.last_decision is not None, pilot)
        lane = app.dock.query_one(BigLane)
        assert app.last_decision is not None and app.last_decision.outcome.value == "misload"
        assert lane.value == str(right["lane"])  # where it must go, not this bay
        assert lane.has_class("alarm")
        assert "WRONG VAN" in str(app.dock.query_one(OutcomeBanner).render())
        assert bells == [1]
    assert planned.store.scalar("SELECT count(*) FROM events WHERE kind = 'loaded'") == 0


async def test_a_van_code_rebinds_the_scanner_to_load(planned: Station, day: list[Parcel], tmp_path: Path) -> None:
    parcel = day[1]
    van = planned.store.scalar("SELECT van_id FROM plan_parcels WHERE tracking_id = ?", (parcel.tracking_id,))
    scanner = SimulatedScanner("handheld", codes=[f"$ST:VAN:{van}", parcel.tracking_id], interval_s=0.05, jitter_s=0.0)
    slot = ScannerSlot(scanner, "sort")
    app = make_app(planned, tmp_path, [slot])
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_for(lambda: app.last_decision is not None and app.last_decision.outcome.value == "loaded", pilot)
        assert slot.role == f"load:{van}"


async def test_the_exceptions_screen_lets_the_lead_return_a_parcel(
    planned: Station, day: list[Parcel], tmp_path: Path
) -> None:
    planned.scan(day[2].tracking_id, device="t")
    planned.scan("$ST:CMD:DAMAGED", device="t")
    app = make_app(planned, tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("f3")
        await wait_for(
            lambda: isinstance(app.screen, ExceptionsScreen) and app.screen.query_one(DataTable).row_count == 1, pilot
        )
        row = app.screen.query_one(DataTable).get_row_at(0)
        assert row[1] == day[2].tracking_id and row[2] == "damaged"
        await pilot.press("t")
        await wait_for(lambda: app.screen.query_one(DataTable).row_count == 0, pilot)
    assert planned.store.scalar("SELECT count(*) FROM events WHERE kind = 'returned'") == 1


async def test_f7_shows_the_day_close_figures(planned: Station, day: list[Parcel], tmp_path: Path) -> None:
    planned.scan(day[3].tracking_id)
    app = make_app(planned, tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("f7")
        await wait_for(
            lambda: (
                isinstance(app.screen, DayCloseScreen)
                and app.screen.query_one(DataTable).row_count == len(planned.config.vans)
            ),
            pilot,
        )
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert sum(r[2] for r in rows) == len(day) and sum(r[3] for r in rows) == 1


async def test_a_scan_while_the_lead_has_f2_open_shows_and_moves_the_figures(
    planned: Station, day: list[Parcel], tmp_path: Path
) -> None:
    from station.ui.screens import ScanStrip

    app = make_app(planned, tmp_path)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("f2")
        await wait_for(
            lambda: isinstance(app.screen, LanesScreen) and app.screen.query_one(DataTable).row_count > 0, pilot
        )
        screen = app.screen
        await app.process(day[4].tracking_id, device="keyboard")
        strip = screen.query_one(ScanStrip)
        assert strip.display and "SORTED" in str(strip.render()) and strip.has_class("good")

        def sorted_total() -> int:
            table = screen.query_one(DataTable)
            return sum(int(table.get_row_at(i)[3]) for i in range(table.row_count))

        await wait_for(lambda: sorted_total() == 1, pilot)
        assert app.screen is screen  # the lead keeps the screen; the worker saw the outcome on it


async def test_the_kiosk_shows_only_keys_that_work(planned: Station, tmp_path: Path) -> None:
    app = make_app(planned, tmp_path)  # kiosk, no demo feed
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.pause()
        keys = str(app.dock.query_one("#keys").render())
        assert "F2" in keys and "F7" in keys
        assert "F5" not in keys and "F10" not in keys
