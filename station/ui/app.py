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
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from textual import constants
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.widgets import Input

from drivers import systemd_notify
from drivers.scanners import ScannerState
from station import dock, printing
from station.barcodes import station_code
from station.core import Station
from station.dayclose import day_close
from station.devices import ScannerSlot
from station.errors import StationError
from station.feedback import Feedback, FeedbackConfig
from station.i18n import NC_, _, ngettext, pgettext
from station.model import Decision
from station.printing import PrintQueue
from station.ui.screens import (
    DayCloseScreen,
    DockScreen,
    ExceptionsScreen,
    LanesScreen,
    TableScreen,
    keys_help,
    reason_shown,
)
from station.ui.terminal import use_console_glyphs
from station.ui.widgets import LaneProgress, StatusLine

log = logging.getLogger(__name__)

STATUS_EVERY_S = 1.0
PRINTER_STATUS_EVERY_S = 5.0
PULL_EVERY_S = 60.0


# The drivers' states (drivers.printers.PrinterState, drivers.scanners.ScannerState), as the status line says them.
PRINTER_STATE_WORDS = (
    NC_("printer", "ready"),
    NC_("printer", "paper out"),
    NC_("printer", "head open"),
    NC_("printer", "paused"),
    NC_("printer", "ribbon out"),
    NC_("printer", "buffer full"),
    NC_("printer", "fault"),
    NC_("printer", "offline"),
)
SCANNER_STATE_WORDS = (NC_("scanner", "disconnected"), NC_("scanner", "missing"))


@dataclass
class StatusSnapshot:
    """Everything the status line and lane list show, gathered off the event loop."""

    lanes: list[dict[str, Any]] = field(default_factory=list)
    labels_waiting: int = 0
    backlog: int = 0
    printers: list[str] = field(default_factory=list)
    printer_alerts: list[str] = field(default_factory=list)  # "printer 2: paper out, 4 labels waiting"


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
        feedback: Feedback | None = None,
    ) -> None:
        # ANSI colours as named: with Textual's mapping a 16-colour console (TERM=linux) showed the
        # wrong ones (red as magenta). The .tcss uses ANSI names only, so a desktop terminal agrees.
        super().__init__(ansi_color=True)
        use_console_glyphs()
        self.station = station
        self.slots = slots
        self.queue = queue
        self.demo_feed = demo_feed
        self.kiosk = kiosk
        # Sounds, the scanners' own beeps and the bays' lights (station.feedback): never waited for.
        self.feedback = feedback if feedback is not None else Feedback(FeedbackConfig(), player=None)
        self.sync_text = _("sync: no server configured")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="station-writer")
        self._printer = ThreadPoolExecutor(1, thread_name_prefix="station-printer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="station-reader")
        self.dock = DockScreen(keys_help(demo=demo_feed is not None, kiosk=kiosk))
        self.last_decision: Decision | None = None
        self.last_device = "keyboard"
        self.keyboard_role = "sort"
        self.planning: Any = None  # a PlanningJob while the planner runs
        # Push and pull wait on the server in their own thread (never the writer, never this loop).
        self._network: Any = None  # a station.sync.background.NetworkThread once sync starts
        self._sync_wake = asyncio.Event()  # lives on the network loop: set through _network.call_soon
        self._pulling = False
        self._last_refusal: str | None = None
        self._last_alert: str | None = None
        self._print_queued = False

    def get_driver_class(self) -> type[Driver]:
        """On Linux, a driver sized from the tty it draws on, not from stdout (the journal under systemd)."""
        if constants.DRIVER is not None or sys.platform == "win32":
            return super().get_driver_class()
        from station.ui.terminal import ConsoleDriver

        return ConsoleDriver

    # ---- lifecycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        # A handheld bound to a van before a restart (or a power cut) still loads that van.
        bound = self.station.device_roles()
        for slot in self.slots:
            if slot.scanner.name in bound:
                slot.role = str(bound[slot.scanner.name])
        self.push_screen(self.dock)
        for slot in self.slots:
            self.run_worker(self._read_scanner(slot), group="scanners", name=f"scanner {slot.scanner.name}")
        self.set_interval(STATUS_EVERY_S, self._refresh_status)
        # Asking a printer (~HS) can take its whole timeout when it is silent: on the printer's
        # own thread, every few seconds, never in the status refresh.
        self.set_interval(PRINTER_STATUS_EVERY_S, lambda: self._printer.submit(self.queue.refresh_status))
        self.call_later(self._refresh_status)
        # A printer fault reaches the status line from the delivery that met it, not a refresh later.
        loop = asyncio.get_running_loop()
        self.queue.on_change = lambda: loop.call_soon_threadsafe(self.call_later, self._refresh_status)
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
        self.feedback.close()
        if self._network is not None:
            self._network.stop()
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
        except Exception:  # a full or failing disk: the scan is NOT acknowledged
            log.exception("scan from %s could not be recorded", device)
            self.dock.show_failure(_("Not recorded: scan again; call the hub lead if it happens again."))
            if self.screen is not self.dock:
                self.pop_to_dock()
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
        # The station's clock (a fixed one in tests), in the dock's local time.
        self.dock.show_decision(decision, self.station.clock.now().astimezone().strftime("%H:%M:%S"))
        self.feedback.decided(decision, role=role, scanner=slot.scanner if slot is not None else None)
        if isinstance(self.screen, TableScreen):
            # The lead's screen stays, but the worker sees the outcome over it and the figures move.
            self.screen.show_scan(decision)
            self.call_later(self._refill, self.screen)
        if decision.outcome.value in ("misload", "cancelled"):
            self.bell()  # the terminal bell: a mis-load must be heard over the dock's noise
        self._print_soon()
        if self._network is not None:  # never blocks: the sync task sends when it can
            self._network.call_soon(self._sync_wake.set)
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
        from station.sync.background import NetworkThread
        from station.sync.task import run_sync

        self.sync_text = _("sync: starting")
        self._network = NetworkThread().start()
        loop = asyncio.get_running_loop()

        def status(update: Any) -> None:  # on the network thread: hand it to this loop, never wait
            loop.call_soon_threadsafe(self._on_sync_status, update)

        self._network.submit(run_sync(self.station.store, self.station.config, status, wake=self._sync_wake))
        self.set_interval(PULL_EVERY_S, self._start_pull)
        self.call_later(self._start_pull)

    def _start_pull(self) -> None:
        # A worker, not an awaited callback: awaited, the pull would hold this app's message queue.
        self.run_worker(self._pull_day(), group="pull", name="pull", exit_on_error=False)

    async def _pull_day(self) -> None:
        """Take a newer manifest or plan from the central server (ETag: cheap when nothing changed)."""
        from station.sync import pull

        if self._pulling or self._network is None:
            return  # the last pull is still waiting on the server (up to its deadline)
        self._pulling = True
        loop = asyncio.get_running_loop()
        config = self.station.config
        try:
            # ETags and the result on the writer (quick database work); the asking on the network thread.
            etags = await loop.run_in_executor(self._writer, pull.day_etags, self.station, config)
            fetched = await asyncio.wrap_future(self._network.submit(pull.fetch_day(config, etags)))
            result = await loop.run_in_executor(self._writer, pull.apply_day, self.station, fetched)
        except Exception as exc:  # offline is normal on a dock's Wi-Fi: the next pull tries again
            log.info("manifest/plan pull skipped: %s", exc)
            return
        finally:
            self._pulling = False
        if result.refused and result.refused != self._last_refusal:
            # Shown once per refusal, not at every pull: the lead checks the server's file or forces it.
            self.notify(
                _("Manifest from the central server refused: {reason}").format(reason=result.refused),
                severity="error",
                timeout=20,
            )
        self._last_refusal = result.refused
        if result.previous_day:
            self.notify(_("New day {day}: the manifest for today arrived.").format(day=result.day), timeout=15)
        if result.manifest == "updated":
            changes = await loop.run_in_executor(self._reader, dock.manifest_changes, self.station, 1)
            if changes:
                added, cancelled = len(changes[0]["added"]), len(changes[0]["cancelled"])
                self.notify(
                    _("New manifest: {added} parcels added, {cancelled} cancelled.").format(
                        added=added, cancelled=cancelled
                    )
                    + (" " + _("F6 plans the new parcels.") if added and result.plan != "updated" else ""),
                    timeout=15,
                )
        if result.plan == "updated":
            self.notify(_("A new plan arrived from the central server."), timeout=8)

    def _on_sync_status(self, status: Any) -> None:
        """Called (on this event loop, handed over from the network thread) whenever sync's state changes."""
        text = _("sync: {state}").format(state=status.label())
        if status.last_good_sync:
            text += ", " + _("last good {time}").format(time=f"{status.last_good_sync.astimezone():%H:%M}")
        if status.quarantined:
            text += ", " + _("{n} REFUSED (see the log)").format(n=status.quarantined)
        if status.alert and status.alert != self._last_alert:
            self.notify(status.alert, severity="error", timeout=10)
        self._last_alert = status.alert
        self.sync_text = text

    def _print_soon(self) -> None:
        if not self._print_queued:  # one delivery waiting is enough; a silent printer makes each slow
            self._print_queued = True
            self._printer.submit(self._deliver_labels)

    def _deliver_labels(self) -> None:
        self._print_queued = False
        try:
            self.queue.deliver()
        except Exception:  # printing must never take the screen down
            log.exception("print queue delivery failed")

    def _gather(self) -> StatusSnapshot:
        report = self.station.report(list_limit=0)
        reports = self.queue.statuses()
        return StatusSnapshot(
            lanes=[vars(lane) for lane in report.lanes],
            labels_waiting=self.queue.pending(),
            backlog=self.station.outbox_backlog(),
            printers=[f"{r.name} {pgettext('printer', r.status.state.value)}" for r in reports],
            printer_alerts=[r.text for r in reports if r.fault or r.back],
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
        try:
            self.dock.query_one(LaneProgress).show(snap.lanes)
            self.dock.query_one(StatusLine).show(self.status_parts(snap))
        except NoMatches:  # the app is closing and the dock screen's widgets are gone
            return

    def status_parts(self, snap: StatusSnapshot) -> list[str]:
        """The status line's parts, most urgent first: what does not fit at 80 columns is the least urgent."""
        # A printer's fault, then a silent speaker or a dead bay light (station.feedback).
        parts = [reason_shown(text) for text in (*snap.printer_alerts, *self.feedback.problems())]
        if snap.labels_waiting and not snap.printer_alerts:
            parts.append(
                ngettext("{n} LABEL WAITING", "{n} LABELS WAITING", snap.labels_waiting).format(n=snap.labels_waiting)
            )
        if self.planning is not None:
            points = self.planning.progress()
            best = (
                _("best {cost} after {seconds} s").format(
                    cost=f"{points[-1].best_cost:,.0f}", seconds=f"{points[-1].elapsed_s:.0f}"
                )
                if points
                else _("starting")
            )
            parts.append(_("PLANNING ({best}; F6 stops)").format(best=best))
        scanners = ", ".join(self._scanner_text(slot) for slot in self.slots) or _("none")
        parts.append(_("scanner: {scanners}").format(scanners=scanners))
        parts.append(_("printer: {printers}").format(printers=", ".join(snap.printers) or _("none")))
        parts.append(self.sync_text)
        parts.append(ngettext("{n} event to send", "{n} events to send", snap.backlog).format(n=snap.backlog))
        return parts

    @staticmethod
    def _scanner_text(slot: ScannerSlot) -> str:
        scanner = slot.scanner
        if scanner.state is ScannerState.CONNECTED:
            if slot.role.startswith("load:"):
                return _("{name}: loads {van}").format(name=scanner.name, van=slot.role[len("load:") :])
            return _("{name} OK").format(name=scanner.name)
        why = getattr(scanner, "last_error", None)
        state = pgettext("scanner", scanner.state.value).upper()
        return f"{scanner.name} {state}" + (f" ({why})" if why else "")

    def pop_to_dock(self) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self.dock:
            self.pop_screen()

    async def _refill(self, screen: TableScreen) -> None:
        if isinstance(screen, LanesScreen):
            await self._fill_lanes(screen)
        elif isinstance(screen, ExceptionsScreen):
            await self._fill_exceptions(screen)
        elif isinstance(screen, DayCloseScreen):
            await self._fill_day_close(screen)

    # ---- keys -----------------------------------------------------------------------

    def action_blocked_quit(self) -> None:
        self.notify(_("Quitting is the hub lead's action."), timeout=2)

    def action_quit_station(self) -> None:
        if self.kiosk:
            self.notify(_("Quitting is the hub lead's action (systemctl stop station)."), timeout=3)
            return
        self.exit(0)

    def action_feed_one(self) -> None:
        from drivers.scanners.simulated import SimulatedScanner

        simulated = next((s.scanner for s in self.slots if isinstance(s.scanner, SimulatedScanner)), None)
        if simulated is None or self.demo_feed is None:
            self.notify(_("No simulated scanner on this station."), timeout=2)
            return
        code = next(self.demo_feed, None)
        if code is None:
            self.notify(_("The demo day has no more parcels."), timeout=2)
            return
        simulated.feed(code)

    async def action_lanes(self) -> None:
        screen = LanesScreen()
        await self.push_screen(screen)
        await self._fill_lanes(screen)

    async def _fill_lanes(self, screen: LanesScreen) -> None:
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
        screen.fill([(x.at[11:19], x.tracking_id, reason_shown(x.reason), x.van or "-") for x in items])

    async def resolve_exception(self, tracking_id: str, action: str, van: str | None) -> None:
        loop = asyncio.get_running_loop()
        try:
            decision = await loop.run_in_executor(
                self._writer, functools.partial(dock.resolve_exception, self.station, tracking_id, action, van_id=van)
            )
        except StationError as exc:  # the lead's refusals are reasons too (station.reasons)
            self.notify(reason_shown(str(exc)), severity="error", timeout=4)
            return
        self.notify(f"{tracking_id}: {reason_shown(decision.reason)}", timeout=3)
        self._print_soon()
        if isinstance(self.screen, ExceptionsScreen):
            await self._fill_exceptions(self.screen)

    async def action_reprint(self) -> None:
        if self.last_decision is None:
            self.notify(_("Scan the parcel first."), timeout=2)
            return
        await self.process(
            station_code("command", "REPRINT"),
            device=self.last_device,
            role=self.keyboard_role if self.last_device == "keyboard" else "sort",
        )

    async def action_day_close(self) -> None:
        screen = DayCloseScreen()
        await self.push_screen(screen)
        await self._fill_day_close(screen)

    async def _fill_day_close(self, screen: DayCloseScreen) -> None:
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
                    _("closed") if v.closed else _("open"),
                )
                for v in report.vans
            ]
        )
        notes = [
            _("not in the manifest: {n}   open exceptions: {open}").format(
                n=len(report.not_in_manifest), open=report.open_exceptions
            )
        ]
        notes += [
            _("PULL FROM LANE {lane}: {parcel} (cancelled)").format(lane=c["lane"], parcel=c["tracking_id"])
            for c in report.cancelled_in_lanes
        ]
        for change in report.changes[:3]:
            notes.append(
                _("manifest {version} at {time}: {added} added, {cancelled} cancelled").format(
                    version=change["version"],
                    time=change["at"][11:16],
                    added=len(change["added"]),
                    cancelled=len(change["cancelled"]),
                )
            )
        screen.notes("\n".join(notes))

    async def action_print_day_close(self) -> None:
        def queue_summary() -> None:
            report = day_close(self.station)
            with self.station.store.write() as db:
                printing.enqueue(
                    db,
                    printing.DAY_CLOSE,
                    report.to_zpl(self.station.config.station_id, self.station.config.rules.language),
                )

        await asyncio.get_running_loop().run_in_executor(self._writer, queue_summary)
        self._print_soon()
        self.notify(_("Day-close summary sent to the printer."), timeout=3)

    async def action_export_day_close(self) -> None:
        def export() -> str:
            path = self.station.config.data_dir / f"day-close-{self.station.day()}.csv"
            path.write_text(day_close(self.station).to_csv(), encoding="utf-8")
            return str(path)

        path = await asyncio.get_running_loop().run_in_executor(self._reader, export)
        self.notify(_("Exported to {path}").format(path=path), timeout=4)

    async def action_plan(self) -> None:
        """F6: plan the day in a worker process; F6 again stops early and keeps the best plan."""
        if self.planning is not None:
            self.planning.stop()
            self.notify(_("Stopping the planner: the best plan so far will be kept."), timeout=3)
            return
        from station.planning import PlanningJob
        from station.planning_bridge import problem_for

        loop = asyncio.get_running_loop()
        problem = await loop.run_in_executor(self._reader, problem_for, self.station)
        if not problem.parcels:
            self.notify(_("No manifest yet: import the day's manifest first."), severity="error", timeout=4)
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
            self.notify(
                _("New plan: {vans} vans, {unplanned} parcels not planned.").format(
                    vans=len(plan.routes), unplanned=len(plan.unplanned)
                ),
                timeout=5,
            )
        except StationError as exc:
            self.notify(_("Planning failed: {error}").format(error=exc), severity="error", timeout=6)
        finally:
            self.planning = None
