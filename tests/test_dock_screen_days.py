"""The dock screen across restarts: a handheld's van binding is kept and shown."""

from __future__ import annotations

from pathlib import Path

from drivers.printers.file import FilePrinter
from drivers.scanners.base import ScannerState
from drivers.scanners.simulated import SimulatedScanner
from station.barcodes import station_code
from station.core import Station
from station.devices import ScannerSlot
from station.printing import PrintQueue
from station.ui.app import StationApp


async def test_a_binding_made_before_a_restart_is_kept_and_shown(planned: Station, tmp_path: Path) -> None:
    planned.scan(station_code("van", "V03"), device="bay-3")  # before the restart (or the power cut)
    scanner = SimulatedScanner("bay-3", codes=[], interval_s=60.0, jitter_s=0.0)
    slot = ScannerSlot(scanner, "sort")  # what the config says
    queue = PrintQueue(planned.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
    app = StationApp(planned, [slot], queue, kiosk=True)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.pause(0.1)
        assert slot.role == "load:V03"
        for _ in range(100):
            if scanner.state is ScannerState.CONNECTED:
                break
            await pilot.pause(0.05)
        assert app._scanner_text(slot) == "bay-3: loads V03"
