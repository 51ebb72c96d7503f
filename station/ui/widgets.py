"""The dock screen's widgets: the big lane, the outcome banner, recent scans, lane progress, status.

Small widgets with their own ``DEFAULT_CSS``; they are told what to show and never read
the database themselves (the app gathers data off the event loop and hands it over).
Everything they draw fits the Linux console: block and light box characters only, lines
cut at a word (never with an ellipsis, which the kernel font lacks).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from station.i18n import N_, _
from station.model import Decision, Outcome
from station.ui import blockfont

# Outcome -> (word on the banner, CSS class). The classes map to ANSI colours in the .tcss
# (the app sends them as named, so a 16-colour console shows the same as a desktop terminal);
# the word is always shown with the colour, for colour-blind workers.
OUTCOME_LOOK: dict[Outcome, tuple[str, str]] = {
    Outcome.SORTED: (N_("SORTED"), "good"),
    Outcome.LOADED: (N_("LOADED"), "good"),
    Outcome.REPEAT: (N_("ALREADY SORTED"), "repeat"),
    Outcome.UNKNOWN: (N_("UNKNOWN PARCEL"), "bad"),
    Outcome.INVALID: (N_("CANNOT READ"), "bad"),
    Outcome.NO_PLAN: (N_("NO PLAN"), "bad"),
    Outcome.MISLOAD: (N_("WRONG VAN"), "alarm"),
    Outcome.CANCELLED: (N_("CANCELLED - DO NOT LOAD"), "alarm"),
    Outcome.EXCEPTION: (N_("EXCEPTION"), "warn"),
    Outcome.COMMAND: (N_("DONE"), "info"),
}
LOOK_CLASSES = ("good", "repeat", "bad", "warn", "alarm", "info", "idle")
# The same looks for one line of text (recent scans, the strip over the lead's screens).
LOOK_STYLE = {
    "good": "green",
    "repeat": "yellow",
    "bad": "red",
    "warn": "magenta",
    "alarm": "bold reverse red",
    "info": "cyan",
    "idle": "",
}


def outcome_word(outcome: Outcome) -> str:
    return _(OUTCOME_LOOK[outcome][0])


def shown_lane(decision: Decision) -> str:
    """What the big lane number says: the lane the parcel must go to now, never a wrong one."""
    if decision.outcome is Outcome.INVALID:
        return _("SCAN AGAIN")
    lane = decision.right_lane if decision.outcome is Outcome.MISLOAD else decision.lane
    return "X" if lane is None else str(lane)


def fit_words(text: str, width: int) -> str:
    """``text`` cut to ``width`` at a word boundary (no ellipsis: the kernel font has none)."""
    if len(text) <= width:
        return text
    cut = text[: width + 1].rsplit(" ", 1)[0].rstrip(" ,;:-|")
    return cut if len(cut) <= width else text[:width]


class BigLane(Widget):
    """The lane number (or SCAN AGAIN) in full blocks, as large as the widget allows, centred."""

    DEFAULT_CSS = """
    BigLane { height: 1fr; }
    """
    value: reactive[str] = reactive("-", layout=False)

    def render(self) -> Text:
        cols, rows = self.content_size.width, self.content_size.height
        words = self.value.split()
        # Words that do not fit side by side go one under the other (SCAN AGAIN at 80 columns).
        block = blockfont.best_block([" ".join(words)], cols, rows) or blockfont.best_block(words, cols, rows)
        if block is None:
            return Text(self.value.center(cols), style="bold")
        pad_top = max(0, (rows - len(block)) // 2)
        return Text("\n" * pad_top + "\n".join(line.center(cols).rstrip() for line in block))


class OutcomeBanner(Static):
    """The outcome's word on its colour; an alarm also blinks, and flashes for a few seconds.

    The alarm's word is reversed and blinks (the terminal's blink: a console may show it as a
    bright background instead); the flash is ours: the red band turns white and back twice a
    second for a few seconds.
    """

    DEFAULT_CSS = """
    OutcomeBanner { height: 3; width: 1fr; content-align: center middle; text-style: bold; }
    OutcomeBanner.alarm.-flash { background: ansi_bright_white; color: ansi_red; }
    """
    FLASHES = 12

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self._flashes_left = 0

    def show(self, word: str, look: str) -> None:
        self.remove_class(*LOOK_CLASSES, "-flash")
        self.add_class(look)
        # Textual's CSS text-style loses blink on the way out; a styled text keeps it.
        self.update(Text(word, style="reverse blink") if look == "alarm" else word)
        self._flashes_left = self.FLASHES if look == "alarm" else 0

    def on_mount(self) -> None:
        self.set_interval(0.5, self._flash)

    def _flash(self) -> None:
        if self._flashes_left <= 0:
            return
        self._flashes_left -= 1
        self.set_class(self._flashes_left % 2 == 1, "-flash")


class RecentScans(Static):
    """The last few scans, newest first, one line each (cut, never wrapped)."""

    DEFAULT_CSS = """
    RecentScans { text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, size: int = 6, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._lines: deque[Text] = deque(maxlen=size)

    def add(self, decision: Decision, at: str) -> None:
        word, look = OUTCOME_LOOK[decision.outcome]
        lane = shown_lane(decision)
        where = "" if decision.outcome is Outcome.INVALID else _("lane {lane}").format(lane=lane)
        if decision.outcome is Outcome.MISLOAD and decision.right_van:
            where = _("to {van} lane {lane}").format(van=decision.right_van, lane=lane)
        line = Text.assemble(
            (f"{at[:5]} ", "dim"),
            (f"{_(word):<14}", LOOK_STYLE[look]),
            f" {where:<7} {decision.tracking_id or decision.code}",
        )
        self._lines.appendleft(line)
        joined = Text("\n").join(self._lines)
        joined.no_wrap = True
        joined.overflow = "crop"
        self.update(joined)


class LaneProgress(Static):
    """Sorted of planned, per lane: every lane always shown, in as many columns as it takes."""

    DEFAULT_CSS = """
    LaneProgress { text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._lanes: list[dict[str, Any]] = []

    def show(self, lanes: list[dict[str, Any]]) -> None:
        self._lanes = lanes
        self.update(self._layout())

    def on_resize(self) -> None:
        self.update(self._layout())

    def _layout(self) -> Text:
        lanes = self._lanes
        if not lanes:
            return Text(_("no lanes planned yet"))
        rows = max(1, self.content_size.height)
        width = max(1, self.content_size.width)
        columns = -(-len(lanes) // rows)
        per_column = -(-len(lanes) // columns)
        # The van is left out first when the columns do not fit: the lane and its count matter.
        for with_van in (True, False):
            cells = [self._cell(lane, with_van) for lane in lanes]
            cell_width = max(len(c.plain) for c in cells) + 2
            if columns * cell_width - 2 <= width:
                break
        else:  # too narrow even so: one line of totals, never a lane silently missing
            done = sum(lane["sorted"] for lane in lanes)
            planned = sum(lane["planned"] for lane in lanes)
            return Text(_("{count} lanes: {done}/{planned}").format(count=len(lanes), done=done, planned=planned))
        lines = []
        for i in range(per_column):
            line = Text()
            for c in range(columns):
                index = c * per_column + i
                if index < len(cells):
                    cell = cells[index]
                    line.append_text(cell)
                    line.append(" " * (cell_width - len(cell.plain)))
            lines.append(line)
        return Text("\n").join(lines)

    @staticmethod
    def _cell(lane: dict[str, Any], with_van: bool) -> Text:
        done = lane["sorted"] >= lane["planned"] > 0
        van = f" {lane['van']:<4}" if with_van else ""
        return Text(f"{lane['lane']:>2}{van} {lane['sorted']:>3}/{lane['planned']:<3}", style="green" if done else "")


class FitLine(Static):
    """One line of parts, most important first; parts that do not fit are left out whole."""

    DEFAULT_CSS = """
    FitLine { height: 1; text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, parts: list[str] | None = None, *, separator: str = " | ", **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._parts = parts or []
        self._separator = separator

    def show(self, parts: list[str]) -> None:
        self._parts = parts
        self.update(self._fit())

    def on_resize(self) -> None:
        self.update(self._fit())

    def _fit(self) -> str:
        width = max(1, self.content_size.width)
        out = ""
        for part in self._parts:
            candidate = f"{out}{self._separator}{part}" if out else part
            if len(candidate) <= width:
                out = candidate
            elif not out:
                out = fit_words(part, width)
        return out


class StatusLine(FitLine):
    """The status: printer, scanner, sync and backlog, the most urgent first."""
