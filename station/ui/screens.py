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

KEYS_HELP = "F2 lanes   F3 exceptions   F5 one demo scan   Enter: type a code"


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
        lane.value = "X" if decision.lane is None else str(decision.lane)
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
            detail.append(f"\n{decision.remaining} parcels still to load in this van")
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
    title_text = "EXCEPTIONS"
    columns = ("time", "code", "parcel", "what", "reason")
