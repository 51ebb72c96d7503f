"""The dock screen tells the worker about a printer fault, and when the printer is back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from drivers.printers.fake_zpl import Behaviour, FakeZplTcp
from drivers.printers.tcp import TcpPrinter
from station.core import Station
from station.model import Parcel
from station.printing import JOBS, PrintQueue
from station.ui.app import StationApp
from station.ui.widgets import StatusLine


async def wait_for(predicate: Callable[[], bool], pilot: Pilot[Any], timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def test_the_status_line_says_paper_out_with_the_labels_waiting_then_back(
    planned: Station, day: list[Parcel], tmp_path: Path
) -> None:
    fake = FakeZplTcp(Behaviour.PAPER_OUT)
    queue = PrintQueue(planned.store, {"2": (TcpPrinter("2", "127.0.0.1", fake.port, timeout_s=5.0), JOBS)})
    app = StationApp(planned, [], queue, kiosk=True)
    try:
        async with app.run_test(size=(160, 34)) as pilot:
            status = app.dock.query_one(StatusLine)
            for parcel in day[:2]:
                await app.process(parcel.tracking_id, device="keyboard")
            await wait_for(lambda: str(status.render()).startswith("printer 2: paper out, 2 labels waiting"), pilot)

            fake.behaviour = Behaviour.NORMAL  # paper loaded
            await wait_for(lambda: queue.pending() == 0, pilot)
            await wait_for(lambda: not str(status.render()).startswith("printer 2: "), pilot)
        assert len(fake.printed) == 2
    finally:
        fake.close()
