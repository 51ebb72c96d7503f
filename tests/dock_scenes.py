"""Every state of the dock screen and the lead's screens, played on a headless app.

Shared by the glyph test and the snapshot tests: a fixed clock, a seeded day, and one
function that drives the app into a named scene.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from drivers.printers.file import FilePrinter
from station.barcodes import station_code
from station.clock import FixedClock
from station.config import Config
from station.core import Station
from station.demo_day import generate_day
from station.model import Parcel
from station.printing import PrintQueue
from station.ui.app import StationApp
from station.ui.screens import ExceptionsScreen, TableScreen
from tests.conftest import round_robin_plan

AT = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
UNKNOWN = "1Z999AA10123456784"
UNREADABLE = "12345"

# scene -> the codes scanned (by the keyboard) to reach it; "@VAN" binds the keyboard to a van.
OUTCOME_SCENES: dict[str, list[str]] = {
    "ready": [],
    "sorted": ["#0"],
    "loaded": ["@V01", "#0"],
    "repeat": ["#0", "#0"],
    "unknown": [UNKNOWN],
    "invalid": [UNREADABLE],
    "no_plan": ["#-1"],
    "misload": ["@V02", "#0"],
    "cancelled": ["#-2"],
}
LEAD_SCENES = ("lanes", "exceptions", "day_close", "van_picker")


def open_day(config: Config) -> tuple[Station, list[Parcel]]:
    """A planned day on a fixed clock: the last parcel left out of the plan, the one before cancelled."""
    station = Station.open(config, clock=FixedClock(AT))
    day = generate_day(config.hub, parcels=40, seed=3)
    station.replace_manifest(day, version="morning")
    station.save_plan(round_robin_plan(config, day, leave_out={day[-1].tracking_id: "no capacity"}))
    station.replace_manifest([p for p in day if p is not day[-2]], version="update")
    return station, day


def make_app(station: Station, tmp_path: Path, *, kiosk: bool = True) -> StationApp:
    queue = PrintQueue(station.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
    return StationApp(station, [], queue, kiosk=kiosk)


def codes_for(scene: str, day: list[Parcel]) -> Iterator[str]:
    for code in OUTCOME_SCENES[scene]:
        if code.startswith("#"):
            yield day[int(code[1:])].tracking_id
        elif code.startswith("@"):
            yield station_code("van", code[1:])
        else:
            yield code


async def play(app: StationApp, pilot: Pilot[int], scene: str, day: list[Parcel]) -> None:
    """Drive ``app`` into ``scene`` and let it settle."""
    await pilot.pause()
    app.dock.query_one(Input).cursor_blink = False  # a still picture: the cursor always shown
    await app._refresh_status()
    if scene in OUTCOME_SCENES:
        for code in codes_for(scene, day):
            await app.process(code, device="keyboard", role=app.keyboard_role)
    elif scene == "failure":
        app.dock.show_failure("Not recorded: scan again; call the hub lead if it happens again.")
    elif scene in ("lanes", "exceptions", "day_close"):
        await _damaged_parcel(app, day)
        await pilot.press({"lanes": "f2", "exceptions": "f3", "day_close": "f7"}[scene])
        await _settle_table(app, pilot)
    elif scene == "van_picker":
        await _damaged_parcel(app, day)
        await pilot.press("f3")
        await _settle_table(app, pilot)
        assert isinstance(app.screen, ExceptionsScreen)
        await pilot.press("a")
    elif scene == "scan_over_lanes":
        await pilot.press("f2")
        await _settle_table(app, pilot)
        await app.process(day[3].tracking_id, device="keyboard", role=app.keyboard_role)
        await _settle_table(app, pilot)
    else:
        raise ValueError(scene)
    # Let the labels print and the status catch up, so the status line is the same every run.
    for _ in range(500):
        if app.queue.pending() == 0:
            break
        await pilot.pause(0.02)
    await app._refresh_status()
    await pilot.pause()
    await pilot.pause()


async def _damaged_parcel(app: StationApp, day: list[Parcel]) -> None:
    """A parcel sorted, then reported damaged: an open exception for the lead's screens."""
    await app.process(day[5].tracking_id, device="keyboard", role=app.keyboard_role)
    await app.process(station_code("command", "DAMAGED"), device="keyboard", role=app.keyboard_role)


async def _settle_table(app: StationApp, pilot: Pilot[int]) -> None:
    from textual.widgets import DataTable

    for _ in range(400):
        await pilot.pause(0.02)
        if not isinstance(app.screen, TableScreen):
            continue
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        # The table sizes its columns when idle, after the rows arrive: wait until they fit.
        widths = [max([len(str(row[c])) for row in rows], default=0) for c in range(len(table.columns))]
        if rows and all(
            max(col.width, col.content_width) >= w for col, w in zip(table.columns.values(), widths, strict=True)
        ):
            await pilot.pause(0.05)
            return
    raise AssertionError(f"the lead's table stayed empty on {app.screen!r}")
