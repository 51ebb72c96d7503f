"""The dock screen and the lead's overview screens (lanes, exceptions).

The screens show what the app hands them; the app owns the station core, the devices
and the background work.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from station import reasons
from station.i18n import N_, _, current, ngettext
from station.model import Decision, Outcome
from station.sorting import NO_MANIFEST_REASON
from station.ui.widgets import (
    LOOK_CLASSES,
    OUTCOME_LOOK,
    BigLane,
    FitLine,
    LaneProgress,
    OutcomeBanner,
    RecentScans,
    StatusLine,
    outcome_word,
    shown_lane,
)


def keys_help(*, demo: bool, kiosk: bool) -> list[str]:
    """Only the keys that work on this station: F5 only in the demo, F10 only outside the kiosk."""
    keys = [_("F2 lanes"), _("F3 exceptions"), _("F4 reprint")]
    if demo:
        keys.append(_("F5 demo"))
    keys += [_("F6 plan"), _("F7 day close")]
    if not kiosk:
        keys.append(_("F10 quit"))
    return keys


class DockScreen(Screen[None]):
    """What the dock worker sees: how the last scan went, its lane huge, and what to do."""

    def __init__(self, keys: list[str] | None = None) -> None:
        super().__init__()
        self.keys = keys or []

    def compose(self) -> ComposeResult:
        yield OutcomeBanner(_("READY TO SCAN"), id="outcome", classes="idle")
        with Horizontal(id="top"):
            yield BigLane(id="lane", classes="idle")
            with Vertical(id="side"):
                yield Static(_("STOP -"), id="stop")
                yield Static(_("VAN -"), id="van")
                yield Static("", id="parcel")
        yield Static("", id="instruction")
        with Horizontal(id="bottom"):
            yield RecentScans(id="recent")
            yield LaneProgress(id="lanes")
        yield Input(placeholder=_("type a code and press Enter"), id="manual")
        yield StatusLine([_("starting")], id="status")
        yield FitLine(self.keys, separator="  ", id="keys")

    def on_mount(self) -> None:
        self.query_one("#recent").border_title = _("LAST SCANS")
        self.query_one("#lanes").border_title = _("LANES sorted/planned")

    def show_decision(self, decision: Decision, at: str) -> None:
        look = OUTCOME_LOOK[decision.outcome][1]
        lane = self.query_one(BigLane)
        lane.value = shown_lane(decision)
        self.query_one(OutcomeBanner).show(outcome_word(decision.outcome), look)
        instruction = self.query_one("#instruction", Static)
        for widget in (lane, instruction):
            widget.remove_class(*LOOK_CLASSES)
            widget.add_class(look)
        # CANNOT READ has no lane, stop or van: the big SCAN AGAIN takes the whole width.
        self.query_one("#side").display = decision.outcome is not Outcome.INVALID
        self.query_one("#stop", Static).update(
            _("STOP {stop}").format(stop=decision.stop) if decision.stop else _("STOP -")
        )
        van = decision.right_van if decision.outcome is Outcome.MISLOAD else decision.van
        self.query_one("#van", Static).update(_("VAN {van}").format(van=van) if van else _("VAN -"))
        detail = Text(decision.tracking_id or decision.code, style="bold")
        if decision.remaining is not None:
            detail.append(
                "\n"
                + ngettext("{n} parcel still to load", "{n} parcels still to load", decision.remaining).format(
                    n=decision.remaining
                )
            )
            next_stop = decision.detail.get("next_stop")
            if next_stop:
                detail.append("\n" + _("next: stop {stop}").format(stop=next_stop))
        self.query_one("#parcel", Static).update(detail)
        instruction.update(instruction_for(decision))
        self.query_one(RecentScans).add(decision, at)

    def show_failure(self, message: str) -> None:
        """A scan that could NOT be recorded: say so loudly, never show a lane."""
        lane = self.query_one(BigLane)
        lane.value = "!"
        self.query_one(OutcomeBanner).show(_("NOT SAVED - SCAN AGAIN"), "alarm")
        instruction = self.query_one("#instruction", Static)
        for widget in (lane, instruction):
            widget.remove_class(*LOOK_CLASSES)
            widget.add_class("alarm")
        self.query_one("#side").display = False
        instruction.update(message)


def reason_shown(reason: str | None) -> str:
    """A reason the core wrote (English, as the central server gets it) in the screen's language.

    The core marks its fixed reasons with ``N_()``; a reason made with values (a van, a count) is
    shown through the template that made it (``station.reasons``), with the same values.
    """
    return reasons.shown(reason, current())


def instruction_for(decision: Decision) -> str:
    """One line (it fits 80 columns) telling the worker what to do with the parcel."""
    d = decision
    match d.outcome:
        case Outcome.SORTED:
            return _("Put it in LANE {lane}: van {van}, stop {stop}.").format(lane=d.lane, van=d.van, stop=d.stop)
        case Outcome.LOADED:
            return _("Load it in van {van}: stop {stop}.").format(van=d.van, stop=d.stop)
        case Outcome.REPEAT:
            return _("Scanned before: it goes in LANE {lane}, van {van}.").format(lane=d.lane, van=d.van)
        case Outcome.UNKNOWN:
            return _("Not in today's manifest: put it in the exception lane {lane}.").format(lane=d.lane)
        case Outcome.INVALID if d.reason and d.reason != reasons.NOT_KNOWN:
            # Why, when the station knows more than "not a barcode" (a misread check digit, a
            # truncated code); SCAN AGAIN is already in big letters above it.
            return reason_shown(d.reason)
        case Outcome.INVALID:
            return _("The label could not be read: scan it again.")
        case Outcome.NO_PLAN if d.reason == NO_MANIFEST_REASON:
            return _("No manifest for today yet: keep the parcel and tell the hub lead.")
        case Outcome.NO_PLAN if d.lane is None:
            return _("No plan yet: keep the parcel and tell the hub lead.")
        case Outcome.NO_PLAN:
            return _("Not in the plan: put it in the exception lane {lane}, tell the lead.").format(lane=d.lane)
        case Outcome.MISLOAD if d.right_van == d.van:
            return _("Van {van} has left: keep the parcel and tell the hub lead.").format(van=d.van)
        case Outcome.MISLOAD:
            return _("NOT van {van}! Take it to VAN {right_van}, LANE {right_lane}.").format(
                van=d.van, right_van=d.right_van, right_lane=d.right_lane
            )
        case Outcome.CANCELLED:
            return _("Cancelled: do NOT load. Put it in the exception lane {lane}.").format(lane=d.lane)
        case _:
            return reason_shown(d.reason)


class ScanStrip(Static):
    """Over the lead's screens: the last scan's outcome and lane, so the worker still sees it."""

    DEFAULT_CSS = """
    ScanStrip { height: 1; text-style: bold; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    """

    def show(self, decision: Decision) -> None:
        look = OUTCOME_LOOK[decision.outcome][1]
        self.remove_class(*LOOK_CLASSES)
        self.add_class(look)
        lane = shown_lane(decision)
        where = "" if decision.outcome is Outcome.INVALID else _("LANE {lane}").format(lane=lane) + "  "
        self.update(f"{outcome_word(decision.outcome)}  {where}{instruction_for(decision)}")


class TableScreen(Screen[None]):
    """A title and a table; Escape or F1 goes back to the dock screen.

    A scan while it is open shows in the strip at the top (the worker at the dock still
    sees each outcome) and the app refills the table.
    """

    BINDINGS = [Binding("escape,f1", "app.pop_screen", "Back")]
    title_text = ""
    columns: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield ScanStrip("", id="scan-strip")
        with Vertical(classes="table-screen"):
            yield Static(_(self.title_text), classes="screen-title")
            yield Static(_("Esc: back to the dock screen"), classes="screen-keys")
            table: DataTable[Any] = DataTable(zebra_stripes=True, cursor_type="row")
            table.add_columns(*(_(c) for c in self.columns))
            yield table

    def on_mount(self) -> None:
        self.query_one(ScanStrip).display = False

    def show_scan(self, decision: Decision) -> None:
        strip = self.query_one(ScanStrip)
        strip.display = True
        strip.show(decision)

    def fill(self, rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        # Columns too, with their widths measured here: Textual's DataTable measures auto widths
        # when idle and may keep lines it drew before cut to the header's width.
        labels = [_(c) for c in self.columns]
        table.clear(columns=True)
        for i, label in enumerate(labels):
            table.add_column(label, width=max([len(label), *(len(str(row[i])) for row in rows)]))
        table.add_rows(rows)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))


class LanesScreen(TableScreen):
    title_text = N_("LANES")
    columns = (N_("lane"), N_("van"), N_("planned"), N_("sorted"), N_("to sort"))


class ExceptionsScreen(TableScreen):
    """Parcels in exception; the hub lead works through them with R, A and T."""

    title_text = N_("EXCEPTIONS   R re-label   A reassign to a van   T return to sender")
    columns = (N_("time"), N_("parcel"), N_("reason"), N_("planned van"))
    BINDINGS = [
        Binding("r", "resolve('relabel')", "Re-label"),
        Binding("a", "resolve('reassign')", "Reassign"),
        Binding("t", "resolve('return')", "Return to sender"),
    ]

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return str(table.get_row_at(table.cursor_row)[1])

    async def action_resolve(self, action: str) -> None:
        tracking_id = self.selected()
        if tracking_id is None:
            self.notify(_("No exception to work on."), timeout=2)
            return
        if action == "reassign":

            async def chosen(van: str | None) -> None:
                await self._resolve(tracking_id, action, van)

            self.app.push_screen(VanPicker(), chosen)
            return
        await self._resolve(tracking_id, action, None)

    async def _resolve(self, tracking_id: str, action: str, van: str | None) -> None:
        if action == "reassign" and not van:
            return
        await self.app.resolve_exception(tracking_id, action, van)  # type: ignore[attr-defined]


class VanPicker(Screen[str | None]):
    """Choose a van with the arrow keys and Enter; Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="table-screen"):
            yield Static(_("REASSIGN TO WHICH VAN?"), classes="screen-title")
            yield Static(_("Enter chooses, Esc cancels"), classes="screen-keys")
            table: DataTable[Any] = DataTable(cursor_type="row")
            table.add_columns(_("van"), _("lane"))
            for van in self.app.station.config.vans:  # type: ignore[attr-defined]
                table.add_row(van.id, van.lane)
            yield table

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(str(event.data_table.get_row_at(event.cursor_row)[0]))

    def action_cancel(self) -> None:
        self.dismiss(None)


class DayCloseScreen(TableScreen):
    """Per van: planned, sorted, loaded, missing, mis-loads; P prints the summary, E exports CSV."""

    title_text = N_("DAY CLOSE   P print summary   E export CSV")
    columns = (
        N_("lane"),
        N_("van"),
        N_("planned"),
        N_("sorted"),
        N_("loaded"),
        N_("missing"),
        N_("not loaded"),
        N_("mis-loads"),
        N_("state"),
    )
    BINDINGS = [Binding("p", "app.print_day_close", "Print"), Binding("e", "app.export_day_close", "Export CSV")]

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", id="day-notes")

    def notes(self, text: str) -> None:
        self.query_one("#day-notes", Static).update(text)
