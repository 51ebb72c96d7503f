"""Snapshots of the dock view for each outcome and of the lead's screens, in English and French.

The clock is fixed and the day seeded, so the SVGs under tests/__snapshots__/ change only when the
screen does: after a deliberate change, look at the new SVGs and accept them with
``pytest tests/test_screen_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from station.config import Config
from station.core import Station
from station.i18n import set_language
from station.model import Parcel
from station.ui.widgets import OutcomeBanner
from tests.dock_scenes import LEAD_SCENES, OUTCOME_SCENES, make_app, open_day, play

SIZES = {"80x25": (80, 25), "100x30": (100, 30), "240x67": (240, 67)}


@pytest.fixture
def day_station(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Station, list[Parcel]]]:
    monkeypatch.setattr(OutcomeBanner, "FLASHES", 0)  # a still picture: no flashing alarm
    station, day = open_day(config)
    yield station, day
    station.close()


@pytest.fixture(params=["en", "fr"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language("en")


def shoot(
    snap_compare: Callable[..., bool], station: Station, day: list[Parcel], tmp_path: Path, scene: str, size: str
) -> bool:
    app = make_app(station, tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await play(app, pilot, scene, day)

    return snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", OUTCOME_SCENES)
def test_dock_view(
    snap_compare: Callable[..., bool],
    day_station: tuple[Station, list[Parcel]],
    language: str,
    tmp_path: Path,
    scene: str,
    size: str,
) -> None:
    assert shoot(snap_compare, *day_station, tmp_path, scene, size)


@pytest.mark.parametrize("scene", [*LEAD_SCENES, "scan_over_lanes"])
def test_lead_screen(
    snap_compare: Callable[..., bool],
    day_station: tuple[Station, list[Parcel]],
    language: str,
    tmp_path: Path,
    scene: str,
) -> None:
    assert shoot(snap_compare, *day_station, tmp_path, scene, "80x25")
