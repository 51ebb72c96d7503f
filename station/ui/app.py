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

from drivers import systemd_notify
from drivers.scanners import ScannerState
from station import dock, printing
from station.barcodes import station_code
from station.core import Station
from station.dayclose import day_close
from station.devices import ScannerSlot
from station.errors import StationError
from station.model import Decision
from station.printing import PrintQueue
from station.ui.screens import DayCloseScreen, DockScreen, ExceptionsScreen, LanesScreen
from station.ui.widgets import LaneProgress, StatusLine

log = logging.getLogger(__name__)

STATUS_EVERY_S = 1.0
PRINTER_STATUS_EVERY_S = 5.0
PULL_EVERY_S = 60.0


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
        Binding("f4", "reprint", "Reprint"),
        Binding("f5", "feed_one", "Demo scan"),
        Binding("f6", "plan", "Plan"),
        Binding("f7", "day_close", "Day close"),
        Binding("f10", "quit_station", "Quit", show=False),
    ]

    def __init__(
        self,
        station: Station,
        slots: list[ScannerSlot],
        queue: PrintQueue,
        *,
        demo_feed: Iterator[str] | None = None,
        kiosk: bool = False,
    ) -> None:
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
        self.last_device = "keyboard"
        self.keyboard_role = "sort"
        self.planning: Any = None  # a PlanningJob while the planner runs
        self._sync_wake = asyncio.Event()
        self._last_alert: str | None = None

    # ---- lifecycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(self.dock)
        for slot in self.slots:
            self.run_worker(self._read_scanner(slot), group="scanners", name=f"scanner {slot.scanner.name}")
        self.set_interval(STATUS_EVERY_S, self._refresh_status)
        # Asking a printer (~HS) can take its whole timeout when it is silent: on the printer's
        # own thread, every few seconds, never in the status refresh.
        self.set_interval(PRINTER_STATUS_EVERY_S, lambda: self._printer.submit(self.queue.refresh_status))
        self.call_later(self._refresh_status)
        # Under systemd (Type=notify): ready once the screen is up, and the watchdog pinged from
        # the event loop itself, so a frozen screen gets the station restarted.
        if self.station.config.server is not None:
            self._start_sync()
        systemd_notify.ready()
        interval = systemd_notify.watchdog_interval()
        if interval:
            self.set_interval(interval / 3, systemd_notify.watchdog)

    async def on_unmount(self) -> None:
        for slot in self.slots:
            slot.scanner.close()
        for pool in (self._writer, self._printer, self._reader):
            pool.shutdown(wait=True)

    # ---- the scan path --------------------------------------------------------------

    async def process(
        self, data: bytes | str, *, device: str, role: str = "sort", slot: ScannerSlot | None = None
    ) -> Decision | None:
        """One scan: commit in the writer thread, then show it. None if it could not be saved."""
        loop = asyncio.get_running_loop()
        framing = slot.framing if slot is not None else None
        try:
            decision = await loop.run_in_executor(
                self._writer, functools.partial(self.station.scan, data, device=device, role=role, framing=framing)
            )
        except Exception as exc:  # a full or failing disk: the scan is NOT acknowledged
            log.exception("scan from %s could not be recorded", device)
            self.dock.show_failure(
                f"the station could not record this scan ({exc}); scan again, and call the hub lead if it happens again"
            )
            self.bell()
            return None
        self.last_decision = decision
        self.last_device = device
        new_role = decision.detail.get("role")
        if isinstance(new_role, str):  # a van code (or SORT) re-binds the scanner that read it
            if slot is not None:
                slot.role = new_role
            else:
                self.keyboard_role = new_role
        self.dock.show_decision(decision, datetime.now().strftime("%H:%M:%S"))
        if decision.outcome.value in ("misload", "cancelled"):
            self.bell()  # the terminal bell: a mis-load must be heard over the dock's noise
        self._print_soon()
        self._sync_wake.set()  # never blocks: the sync task sends when it can
        return decision

    async def _read_scanner(self, slot: ScannerSlot) -> None:
        async for raw in slot.scanner.scans():
            await self.process(raw.data, device=raw.source, role=slot.role, slot=slot)

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        code = event.value
        event.input.value = ""
        if code.strip():
            await self.process(code, device="keyboard", role=self.keyboard_role)

    # ---- background work ------------------------------------------------------------

    def _start_sync(self) -> None:
        from station.sync.task import run_sync

        self.sync_text = "sync: starting"
        self.run_worker(
            run_sync(self.station.store, self.station.config, self._on_sync_status, wake=self._sync_wake),
            group="sync",
            name="sync",
            exit_on_error=False,
        )
        self.set_interval(PULL_EVERY_S, self._pull_day)
        self.call_later(self._pull_day)

    async def _pull_day(self) -> None:
        """Take a newer manifest or plan from the central server (ETag: cheap when nothing changed)."""
        from station.sync.pull import pull_day

        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._writer, pull_day, self.station, self.station.config)
        except Exception as exc:  # offline is normal on a dock's Wi-Fi: the next pull tries again
            log.info("manifest/plan pull skipped: %s", exc)
            return
        if result.manifest == "updated":
            changes = await loop.run_in_executor(self._reader, dock.manifest_changes, self.station, 1)
            if changes:
                added, cancelled = len(changes[0]["added"]), len(changes[0]["cancelled"])
                self.notify(
                    f"New manifest from the central server: {added} parcels added, {cancelled} cancelled."
                    + (" Press F6 to plan the new parcels." if added and result.plan != "updated" else ""),
                    timeout=15,
                )
        if result.plan == "updated":
            self.notify("A new plan arrived from the central server.", timeout=8)

    def _on_sync_status(self, status: Any) -> None:
        """Called by the sync task (on this event loop) whenever its state changes."""
        text = f"sync: {status.label()}"
        if status.last_good_sync:
            text += f", last good {status.last_good_sync.astimezone():%H:%M}"
        if status.quarantined:
            text += f", {status.quarantined} REFUSED (see the log)"
        if status.alert and status.alert != self._last_alert:
            self.notify(status.alert, severity="error", timeout=10)
        self._last_alert = status.alert
        self.sync_text = text

    def _print_soon(self) -> None:
        self._printer.submit(self._deliver_labels)

    def _deliver_labels(self) -> None:
        try:
            self.queue.deliver()
        except Exception:  # printing must never take the screen down
            log.exception("print queue delivery failed")

    def _gather(self) -> StatusSnapshot:
        report = self.station.report(list_limit=0)
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
        if self.planning is not None:
            points = self.planning.progress()
            best = f"best {points[-1].best_cost:,.0f} after {points[-1].elapsed_s:.0f} s" if points else "starting"
            planning = f"PLANNING ({best}; F6 stops and keeps the best plan) | "
        else:
            planning = ""
        scanners = ", ".join(self._scanner_text(slot) for slot in self.slots) or "none"
        printers = ", ".join(snap.printers) or "none"
        waiting = f" - {snap.labels_waiting} LABELS WAITING" if snap.labels_waiting else ""
        return (
            f"{planning}scanner: {scanners} | printer: {printers}{waiting} | {self.sync_text}, "
            f"{snap.backlog} events to send"
        )

    @staticmethod
    def _scanner_text(slot: ScannerSlot) -> str:
        scanner = slot.scanner
        if scanner.state is ScannerState.CONNECTED:
            return f"{scanner.name} OK"
        why = getattr(scanner, "last_error", None)
        return f"{scanner.name} {scanner.state.value.upper()}" + (f" ({why})" if why else "")

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
        screen.fill(
            [
                (lane.lane, lane.van, lane.planned, lane.sorted, max(0, lane.planned - lane.sorted))
                for lane in report.lanes
            ]
        )

    async def action_exceptions(self) -> None:
        screen = ExceptionsScreen()
        await self.push_screen(screen)
        await self._fill_exceptions(screen)

    async def _fill_exceptions(self, screen: ExceptionsScreen) -> None:
        loop = asyncio.get_running_loop()
        items = await loop.run_in_executor(self._reader, dock.open_exceptions, self.station)
        screen.fill([(x.at[11:19], x.tracking_id, x.reason, x.van or "-") for x in items])

    async def resolve_exception(self, tracking_id: str, action: str, van: str | None) -> None:
        loop = asyncio.get_running_loop()
        try:
            decision = await loop.run_in_executor(
                self._writer, functools.partial(dock.resolve_exception, self.station, tracking_id, action, van_id=van)
            )
        except StationError as exc:
            self.notify(str(exc), severity="error", timeout=4)
            return
        self.notify(f"{tracking_id}: {decision.reason}", timeout=3)
        self._print_soon()
        if isinstance(self.screen, ExceptionsScreen):
            await self._fill_exceptions(self.screen)

    async def action_reprint(self) -> None:
        if self.last_decision is None:
            self.notify("Scan the parcel first.", timeout=2)
            return
        await self.process(
            station_code("command", "REPRINT"),
            device=self.last_device,
            role=self.keyboard_role if self.last_device == "keyboard" else "sort",
        )

    async def action_day_close(self) -> None:
        screen = DayCloseScreen()
        await self.push_screen(screen)
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(self._reader, day_close, self.station)
        screen.fill(
            [
                (
                    v.lane,
                    v.van,
                    v.planned,
                    v.sorted,
                    v.loaded,
                    v.missing,
                    v.not_loaded,
                    v.misloads,
                    "closed" if v.closed else "open",
                )
                for v in report.vans
            ]
        )
        notes = [f"not in the manifest: {len(report.not_in_manifest)}   open exceptions: {report.open_exceptions}"]
        notes += [f"PULL FROM LANE {c['lane']}: {c['tracking_id']} (cancelled)" for c in report.cancelled_in_lanes]
        for change in report.changes[:3]:
            notes.append(
                f"manifest {change['version']} at {change['at'][11:16]}: {len(change['added'])} added, "
                f"{len(change['cancelled'])} cancelled"
            )
        screen.notes("\n".join(notes))

    async def action_print_day_close(self) -> None:
        def queue_summary() -> None:
            report = day_close(self.station)
            with self.station.store.write() as db:
                printing.enqueue(db, printing.DAY_CLOSE, report.to_zpl(self.station.config.station_id))

        await asyncio.get_running_loop().run_in_executor(self._writer, queue_summary)
        self._print_soon()
        self.notify("Day-close summary sent to the printer.", timeout=3)

    async def action_export_day_close(self) -> None:
        def export() -> str:
            path = self.station.config.data_dir / f"day-close-{self.station.day()}.csv"
            path.write_text(day_close(self.station).to_csv(), encoding="utf-8")
            return str(path)

        path = await asyncio.get_running_loop().run_in_executor(self._reader, export)
        self.notify(f"Exported to {path}", timeout=4)

    async def action_plan(self) -> None:
        """F6: plan the day in a worker process; F6 again stops early and keeps the best plan."""
        if self.planning is not None:
            self.planning.stop()
            self.notify("Stopping the planner: the best plan so far will be kept.", timeout=3)
            return
        from station.planning import PlanningJob
        from station.planning_bridge import problem_for

        loop = asyncio.get_running_loop()
        problem = await loop.run_in_executor(self._reader, problem_for, self.station)
        if not problem.parcels:
            self.notify("No manifest yet: import the day's manifest first.", severity="error", timeout=4)
            return
        self.planning = PlanningJob.start(problem, time_limit_s=self.station.config.planning.time_limit_s)
        self.run_worker(self._finish_planning(), group="planning")

    async def _finish_planning(self) -> None:
        job = self.planning
        loop = asyncio.get_running_loop()
        try:
            while not job.done():
                await asyncio.sleep(0.3)
            plan = await loop.run_in_executor(None, job.result)
            await loop.run_in_executor(self._writer, self.station.save_plan, plan)
            self.notify(f"New plan: {len(plan.routes)} vans, {len(plan.unplanned)} parcels not planned.", timeout=5)
        except StationError as exc:
            self.notify(f"Planning failed: {exc}", severity="error", timeout=6)
        finally:
            self.planning = None
