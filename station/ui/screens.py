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

from station.model import Decision
from station.ui.widgets import (
    LOOK_CLASSES,
    OUTCOME_LOOK,
    BigLane,
    LaneProgress,
    OutcomeBanner,
    RecentScans,
    StatusLine,
)

KEYS_HELP = "F2 lanes  F3 exceptions  F4 reprint  F5 demo scan  F6 plan  F7 day close  Enter: type a code"


class DockScreen(Screen[None]):
    """What the dock worker sees: the lane of the last scan, huge, and how it went."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            with Vertical(id="lane-box"):
                yield Static("LANE", id="lane-title")
                yield BigLane(id="lane", classes="idle")
            with Vertical(id="side"):
                yield OutcomeBanner("READY TO SCAN", id="outcome", classes="idle")
                yield Static("STOP -", id="stop")
                yield Static("VAN -", id="van")
                yield Static("", id="parcel")
        with Horizontal(id="bottom"):
            yield RecentScans(id="recent")
            yield LaneProgress(id="lanes")
        yield Input(placeholder="type a code and press Enter (the scanner needs no typing)", id="manual")
        yield StatusLine("starting ...", id="status")
        yield Static(KEYS_HELP, id="keys")

    def show_decision(self, decision: Decision, at: str) -> None:
        word, look = OUTCOME_LOOK[decision.outcome]
        lane = self.query_one(BigLane)
        # A mis-load shows, huge, the lane the parcel must go to instead.
        shown_lane = decision.right_lane if decision.right_lane is not None else decision.lane
        lane.value = "X" if shown_lane is None else str(shown_lane)
        banner = self.query_one(OutcomeBanner)
        banner.update(word)
        for widget in (lane, banner):
            widget.remove_class(*LOOK_CLASSES)
            widget.add_class(look)
        self.query_one("#stop", Static).update(f"STOP {decision.stop}" if decision.stop else "STOP -")
        van = decision.van or "-"
        if decision.right_van:
            van = f"{van}  ->  take it to VAN {decision.right_van}, LANE {decision.right_lane}"
        self.query_one("#van", Static).update(f"VAN {van}")
        detail = Text(decision.tracking_id or decision.code, style="bold")
        if decision.reason:
            detail.append("\n" + decision.reason)
        if decision.remaining is not None:
            detail.append(f"\n{decision.remaining} parcels still to load in this van", style="bold")
            next_stop = decision.detail.get("next_stop")
            if next_stop:
                detail.append(f"\nnext: stop {next_stop} (last stop goes in first)")
        self.query_one("#parcel", Static).update(detail)
        self.query_one(RecentScans).add(decision, at)

    def show_failure(self, message: str) -> None:
        """A scan that could NOT be recorded: say so loudly, never show a lane."""
        lane = self.query_one(BigLane)
        lane.value = "!"
        banner = self.query_one(OutcomeBanner)
        banner.update("NOT SAVED - SCAN AGAIN")
        for widget in (lane, banner):
            widget.remove_class(*LOOK_CLASSES)
            widget.add_class("alarm")
        self.query_one("#parcel", Static).update(message)


class TableScreen(Screen[None]):
    """A title and a table; Escape or F1 goes back to the dock screen."""

    BINDINGS = [Binding("escape,f1", "app.pop_screen", "Back")]
    title_text = ""
    columns: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="table-screen"):
            yield Static(f"{self.title_text}   (Esc: back to the dock screen)", classes="screen-title")
            table: DataTable[Any] = DataTable(zebra_stripes=True, cursor_type="row")
            table.add_columns(*self.columns)
            yield table

    def fill(self, rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(rows)


class LanesScreen(TableScreen):
    title_text = "LANES"
    columns = ("lane", "van", "planned", "sorted", "still to sort")


class ExceptionsScreen(TableScreen):
    """Parcels in exception; the hub lead works through them with R, A and T."""

    title_text = "EXCEPTIONS  R re-label  A reassign to a van  T return to sender"
    columns = ("time", "parcel", "reason", "planned van")
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
            self.notify("No exception to work on.", timeout=2)
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
            yield Static("REASSIGN TO WHICH VAN?  (Enter chooses, Esc cancels)", classes="screen-title")
            table: DataTable[Any] = DataTable(cursor_type="row")
            table.add_columns("van", "lane")
            for van in self.app.station.config.vans:  # type: ignore[attr-defined]
                table.add_row(van.id, van.lane)
            yield table

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(str(event.data_table.get_row_at(event.cursor_row)[0]))

    def action_cancel(self) -> None:
        self.dismiss(None)


class DayCloseScreen(TableScreen):
    """Per van: planned, sorted, loaded, missing, mis-loads; P prints the summary, E exports CSV."""

    title_text = "DAY CLOSE  P print summary  E export CSV"
    columns = ("lane", "van", "planned", "sorted", "loaded", "missing", "not loaded", "mis-loads", "state")
    BINDINGS = [Binding("p", "app.print_day_close", "Print"), Binding("e", "app.export_day_close", "Export CSV")]

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", id="day-notes")

    def notes(self, text: str) -> None:
        self.query_one("#day-notes", Static).update(text)
