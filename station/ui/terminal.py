"""The terminal the dock screen draws on: its real size, whatever stdout is.

Textual's Linux driver draws on stderr and reads stdin, but takes the size from stdout
(``shutil.get_terminal_size``). Under the shipped unit stdout goes to the journal, so the
size falls back to 80x24 and the screen sits in a corner of a 240x67 console. This driver
asks the tty it really draws on; Textual's own SIGWINCH handler calls the same method, so
a resize (or a console font change) is followed too.

Also the glyphs Textual draws by itself that console fonts lack (scroll bars' eighth blocks).
"""

from __future__ import annotations

import os
import sys
from typing import ClassVar

from textual.drivers.linux_driver import LinuxDriver
from textual.scrollbar import ScrollBar, ScrollBarRender

FALLBACK_SIZE = (80, 25)  # the Linux console's default text mode


def tty_size(fds: list[int]) -> tuple[int, int] | None:
    """The size of the first of ``fds`` that is a terminal, or None."""
    for fd in fds:
        try:
            columns, lines = os.get_terminal_size(fd)
        except (OSError, ValueError):
            continue
        if columns > 0 and lines > 0:
            return columns, lines
    return None


def _fileno(stream: object) -> int | None:
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


class ConsoleDriver(LinuxDriver):
    """Textual's Linux driver, sized from the tty it writes to (stderr), then stdin, then stdout."""

    def _get_terminal_size(self) -> tuple[int, int]:
        candidates = [_fileno(self._file), _fileno(sys.__stdin__), _fileno(sys.__stdout__)]
        size = tty_size([fd for fd in candidates if fd is not None])
        return size if size is not None else FALLBACK_SIZE


class ConsoleScrollBarRender(ScrollBarRender):
    """Scroll bars drawn with spaces on the bar's colour: Textual's eighth-block ends are not in console fonts."""

    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


def use_console_glyphs() -> None:
    """Make every scroll bar of this process draw with console-safe characters only."""
    ScrollBar.renderer = ConsoleScrollBarRender
