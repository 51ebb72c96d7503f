"""The dock screen's widgets: the big lane, the outcome banner, recent scans, lane progress, status.

Small widgets with their own ``DEFAULT_CSS``; they are told what to show and never read
the database themselves (the app gathers data off the event loop and hands it over).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from station.model import Decision, Outcome
from station.ui import blockfont

# Outcome -> (word on the banner, CSS class). Classes map to ANSI colours in the .tcss so
# they stay distinct on a 16-colour Linux console.
OUTCOME_LOOK: dict[Outcome, tuple[str, str]] = {
    Outcome.SORTED: ("SORTED", "good"),
    Outcome.LOADED: ("LOADED", "good"),
    Outcome.REPEAT: ("ALREADY SORTED", "repeat"),
    Outcome.UNKNOWN: ("UNKNOWN PARCEL", "bad"),
    Outcome.INVALID: ("CANNOT READ", "bad"),
    Outcome.NO_PLAN: ("NO PLAN YET", "warn"),
    Outcome.MISLOAD: ("WRONG VAN", "alarm"),
    Outcome.CANCELLED: ("CANCELLED - DO NOT LOAD", "alarm"),
    Outcome.EXCEPTION: ("EXCEPTION", "warn"),
    Outcome.COMMAND: ("DONE", "info"),
}
LOOK_CLASSES = ("good", "repeat", "bad", "warn", "alarm", "info", "idle")


class BigLane(Widget):
    """The lane number in block characters as large as the widget allows."""

    DEFAULT_CSS = """
    BigLane { height: 1fr; content-align: center middle; }
    """
    value: reactive[str] = reactive("-", layout=False)

    def render(self) -> Text:
        cols, rows = self.content_size.width, self.content_size.height
        sx, sy = blockfont.best_scale(self.value, max(cols, 1), max(rows, 1))
        lines = blockfont.render(self.value, sx, sy)
        width = len(lines[0]) if lines else 0
        pad_top = max(0, (rows - len(lines)) // 2)
        pad_left = max(0, (cols - width) // 2)
        body = "\n" * pad_top + "\n".join(" " * pad_left + line for line in lines)
        return Text(body)


class OutcomeBanner(Static):
    DEFAULT_CSS = """
    OutcomeBanner { height: 3; content-align: center middle; text-style: bold; }
    """


class RecentScans(Static):
    """The last few scans, newest first, one line each."""

    DEFAULT_CSS = """
    RecentScans { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, size: int = 6, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._lines: deque[Text] = deque(maxlen=size)

    def add(self, decision: Decision, at: str) -> None:
        word, look = OUTCOME_LOOK[decision.outcome]
        lane = f"lane {decision.lane}" if decision.lane is not None else ""
        line = Text.assemble(
            (f"{at} ", "dim"),
            (
                f"{word:<16}",
                {
                    "good": "green",
                    "repeat": "yellow",
                    "bad": "red",
                    "warn": "magenta",
                    "alarm": "bold red",
                    "info": "cyan",
                }.get(look, ""),
            ),
            f" {lane:<8} {(decision.tracking_id or decision.code)[:24]:<24} {decision.reason or ''}",
        )
        line.no_wrap = True
        line.overflow = "ellipsis"
        self._lines.appendleft(line)
        joined = Text("\n").join(self._lines)
        joined.no_wrap = True
        joined.overflow = "ellipsis"
        self.update(joined)


class LaneProgress(Static):
    """Sorted of planned, per lane; in two columns when the lanes outnumber the rows."""

    def show(self, lanes: list[dict[str, Any]]) -> None:
        cells = []
        for lane in lanes:
            done = lane["sorted"] >= lane["planned"] > 0
            cells.append(
                Text(
                    f"{lane['lane']:>3} {lane['van']:<4}{lane['sorted']:>4}/{lane['planned']:<4}",
                    style="green" if done else "",
                )
            )
        rows = max(1, self.content_size.height - 1)
        columns = 1 if len(cells) <= rows else 2
        per_column = -(-len(cells) // columns)
        lines = [Text("LANES  sorted/planned", style="bold")]
        for i in range(per_column):
            line = Text()
            for c in range(columns):
                index = c * per_column + i
                if index < len(cells):
                    line.append_text(cells[index])
                    line.append("  ")
            lines.append(line)
        self.update(Text("\n").join(lines))


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; }
    """
