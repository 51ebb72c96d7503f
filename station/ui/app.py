"""The Textual app: wires scanners, the core, the print queue and sync to the screens.

Owns the screen's concurrency. The durable commit of a scan takes milliseconds on an SD
card, so scans go to one writer thread (the station core's one writer), printing to its
own thread, and status gathering to a reader thread: the event loop only draws.
Kiosk rules: no command palette, Ctrl+Q and Ctrl+C do nothing, quitting is the lead's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.widgets import Input

from drivers.scanners import ScannerState
from station.core import Station
from station.devices import ScannerSlot
from station.model import Decision
from station.printing import PrintQueue
from station.ui.screens import DockScreen, ExceptionsScreen, LanesScreen
from station.ui.widgets import LaneProgress, StatusLine

log = logging.getLogger(__name__)

STATUS_EVERY_S = 1.0


@dataclass
class StatusSnapshot:
    """Everything the status line and lane list show, gathered off the event loop."""

    lanes: list[dict[str, Any]] = field(default_factory=list)
    labels_waiting: int = 0
    backlog: int = 0
    printers: list[str] = field(default_factory=list)


class StationApp(App[int]):
    CSS_PATH = "station.tcss"
    TITLE = "Hub scan station"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        # Priority bindings replace Textual's quit keys: a worker must never end up at a shell.
        Binding("ctrl+q", "blocked_quit", show=False, priority=True),
        Binding("ctrl+c", "blocked_quit", show=False, priority=True),
        Binding("f2", "lanes", "Lanes"),
        Binding("f3", "exceptions", "Exceptions"),
        Binding("f5", "feed_one", "Demo scan"),
        Binding("f10", "quit_station", "Quit", show=False),
    ]

    def __init__(self, station: Station, slots: list[ScannerSlot], queue: PrintQueue, *,
                 demo_feed: Iterator[str] | None = None, kiosk: bool = False) -> None:
        super().__init__()
        self.station = station
        self.slots = slots
        self.queue = queue
        self.demo_feed = demo_feed
        self.kiosk = kiosk
        self.sync_text = "sync: no server configured"
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="station-writer")
        self._printer = ThreadPoolExecutor(1, thread_name_prefix="station-printer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="station-reader")
        self.dock = DockScreen()
        self.last_decision: Decision | None = None

    # ---- lifecycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(self.dock)
        for slot in self.slots:
            self.run_worker(self._read_scanner(slot), group="scanners", name=f"scanner {slot.scanner.name}")
        self.set_interval(STATUS_EVERY_S, self._refresh_status)
        self.call_later(self._refresh_status)

    async def on_unmount(self) -> None:
        for slot in self.slots:
            slot.scanner.close()
        for pool in (self._writer, self._printer, self._reader):
            pool.shutdown(wait=True)

    # ---- the scan path --------------------------------------------------------------

    async def process(self, data: bytes | str, *, device: str, role: str = "sort") -> Decision | None:
        """One scan: commit in the writer thread, then show it. None if it could not be saved."""
        loop = asyncio.get_running_loop()
        try:
            decision = await loop.run_in_executor(
                self._writer, functools.partial(self.station.scan, data, device=device, role=role))
        except Exception as exc:  # a full or failing disk: the scan is NOT acknowledged
            log.exception("scan from %s could not be recorded", device)
            self.dock.show_failure(f"the station could not record this scan ({exc}); scan again, "
                                   "and call the hub lead if it happens again")
            self.bell()
            return None
        self.last_decision = decision
        self.dock.show_decision(decision, datetime.now().strftime("%H:%M:%S"))
        if decision.outcome.value in ("misload", "cancelled"):
            self.bell()
        self._print_soon()
        return decision

    async def _read_scanner(self, slot: ScannerSlot) -> None:
        async for raw in slot.scanner.scans():
            await self.process(raw.data, device=raw.source, role=slot.role)

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        code = event.value
        event.input.value = ""
        if code.strip():
            await self.process(code, device="keyboard")

    # ---- background work ------------------------------------------------------------

    def _print_soon(self) -> None:
        self._printer.submit(self._deliver_labels)

    def _deliver_labels(self) -> None:
        try:
            self.queue.deliver()
        except Exception:  # printing must never take the screen down
            log.exception("print queue delivery failed")

    def _gather(self) -> StatusSnapshot:
        report = self.station.report(list_limit=0)
        self.queue.refresh_status()
        return StatusSnapshot(
            lanes=[vars(lane) for lane in report.lanes],
            labels_waiting=self.queue.pending(),
            backlog=self.station.outbox_backlog(),
            printers=[f"{r.name} {r.status.state.value}" for r in self.queue.statuses()],
        )

    async def _refresh_status(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            snap = await loop.run_in_executor(self._reader, self._gather)
        except Exception:
            log.exception("status refresh failed")
            return
        if snap.labels_waiting:
            self._print_soon()
        self.dock.query_one(LaneProgress).show(snap.lanes)
        self.dock.query_one(StatusLine).update(self.status_text(snap))

    def status_text(self, snap: StatusSnapshot) -> str:
        scanners = ", ".join(
            f"{s.scanner.name} {'OK' if s.scanner.state is ScannerState.CONNECTED else s.scanner.state.value.upper()}"
            for s in self.slots) or "none"
        printers = ", ".join(snap.printers) or "none"
        waiting = f" - {snap.labels_waiting} LABELS WAITING" if snap.labels_waiting else ""
        return (f"scanner: {scanners} | printer: {printers}{waiting} | {self.sync_text}, "
                f"{snap.backlog} events to send")

    # ---- keys -----------------------------------------------------------------------

    def action_blocked_quit(self) -> None:
        self.notify("Quitting is the hub lead's action.", timeout=2)

    def action_quit_station(self) -> None:
        if self.kiosk:
            self.notify("Quitting is the hub lead's action (systemctl stop station).", timeout=3)
            return
        self.exit(0)

    def action_feed_one(self) -> None:
        from drivers.scanners.simulated import SimulatedScanner

        simulated = next((s.scanner for s in self.slots if isinstance(s.scanner, SimulatedScanner)), None)
        if simulated is None or self.demo_feed is None:
            self.notify("No simulated scanner on this station.", timeout=2)
            return
        code = next(self.demo_feed, None)
        if code is None:
            self.notify("The demo day has no more parcels.", timeout=2)
            return
        simulated.feed(code)

    async def action_lanes(self) -> None:
        screen = LanesScreen()
        await self.push_screen(screen)
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(self._reader, self.station.report)
        screen.fill([(lane.lane, lane.van, lane.planned, lane.sorted, max(0, lane.planned - lane.sorted))
                     for lane in report.lanes])

    async def action_exceptions(self) -> None:
        screen = ExceptionsScreen()
        await self.push_screen(screen)
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(self._reader, functools.partial(
            self.station.store.query,
            "SELECT occurred_at, code, tracking_id, outcome, reason FROM events "
            "WHERE kind IN ('exception', 'cancelled', 'misload') ORDER BY seq DESC LIMIT 500"))
        screen.fill([(r["occurred_at"][11:19], r["code"], r["tracking_id"] or "", r["outcome"], r["reason"] or "")
                      for r in rows])
