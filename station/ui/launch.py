"""Start the dock screen for a config: open the station and its devices, run, close."""

from __future__ import annotations

from collections.abc import Iterator

from station.cli.common import setup_logging
from station.config import Config
from station.core import Station
from station.devices import build_print_queue, build_scanners
from station.feedback import build_feedback
from station.i18n import set_language
from station.ui.app import StationApp


def build_app(
    config: Config, *, demo_codes: Iterator[str] | None = None, interval_s: float | None = None
) -> StationApp:
    set_language(config.rules.language)  # before any screen is built: texts are translated as they are made
    station = Station.open(config)
    slots = build_scanners(config, demo_codes=demo_codes, interval_s=interval_s)
    queue = build_print_queue(config, station.store)
    feedback = build_feedback(config)
    return StationApp(station, slots, queue, demo_feed=demo_codes, kiosk=config.kiosk, feedback=feedback)


def run_screen(config: Config, *, demo_codes: Iterator[str] | None = None, interval_s: float | None = None) -> int:
    setup_logging(config)
    app = build_app(config, demo_codes=demo_codes, interval_s=interval_s)
    try:
        result = app.run()
    finally:
        app.queue.close()
        app.station.close()
    return result or 0
