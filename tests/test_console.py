"""The dock screen as the Pi's console gets it: a real pty, TERM=linux, stdout sent to a file.

The app runs in a child process on a pseudo-terminal of a known size with its stdout
redirected to a file (as under the unit, StandardOutput=journal); pyte plays the console
and tells what is drawn where, and in which ANSI colours.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyte
import pytest

from station.barcodes import station_code
from station.config import Config
from station.core import Station
from station.model import Parcel
from tests.conftest import round_robin_plan

CHILD = """
import sys
from pathlib import Path
from drivers.printers.file import FilePrinter
from station.config import load_config
from station.core import Station
from station.printing import PrintQueue
from station.ui.app import StationApp

data = Path(sys.argv[1])
station = Station.open(load_config(None, data))
queue = PrintQueue(station.store, {"p": (FilePrinter("p", data / "labels"), ("sort_label",))})
StationApp(station, [], queue, kiosk=True).run()
"""
WAIT_S = 90.0  # a generous bound for a slow machine, not a measurement


class RingingScreen(pyte.Screen):
    """A pyte screen that counts the bells it hears."""

    bells = 0

    def bell(self, *args: object) -> None:
        self.bells += 1


class Console:
    """A child running the station app on a pty, read through a pyte screen."""

    def __init__(self, data_dir: Path, stdout_file: Path, columns: int, lines: int) -> None:
        self.screen = RingingScreen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        pid, fd = pty.fork()
        if pid == 0:  # the child: stdout to a file, the screen on the tty (stdin, stderr)
            out = os.open(stdout_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.environ["TERM"] = "linux"
            os.environ.pop("COLORTERM", None)
            os.environ.pop("TEXTUAL_DRIVER", None)
            os.execv(sys.executable, [sys.executable, "-c", CHILD, str(data_dir)])
        self.pid, self.fd = pid, fd
        self.resize(columns, lines)

    def resize(self, columns: int, lines: int) -> None:
        self.screen.resize(lines, columns)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode() + b"\r")

    def wait_for(self, what: str, predicate: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen; the console shows:\n" + "\n".join(self.screen.display))
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.stream.feed(os.read(self.fd, 65536))
                except OSError:  # the child is gone
                    raise AssertionError("the app exited:\n" + "\n".join(self.screen.display)) from None

    def row_of(self, text: str) -> int | None:
        return next((i for i, line in enumerate(self.screen.display) if text in line), None)

    def cell(self, text: str) -> pyte.screens.Char:
        row = self.row_of(text)
        assert row is not None, text
        return self.screen.buffer[row][self.screen.display[row].index(text)]

    def close(self) -> None:
        os.kill(self.pid, signal.SIGTERM)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def console_day(config: Config, day: list[Parcel]) -> Iterator[tuple[Config, list[Parcel]]]:
    """A planned day in the data dir (one parcel left out of the plan), for the child to open."""
    station = Station.open(config)
    station.replace_manifest(day, version="test")
    station.save_plan(round_robin_plan(config, day, leave_out={day[-1].tracking_id: "no capacity"}))
    station.close()
    yield config, day


@pytest.fixture
def console(console_day: tuple[Config, list[Parcel]], tmp_path: Path) -> Iterator[Console]:
    config, _ = console_day
    session = Console(config.data_dir, tmp_path / "stdout.txt", 100, 30)
    yield session
    session.close()


@pytest.mark.slow  # the screen in a subprocess on a pty
def test_the_screen_uses_the_ttys_size_when_stdout_is_a_file(console: Console, tmp_path: Path) -> None:
    screen = console.screen
    console.wait_for("the keys line on the last row", lambda: "F7 day close" in screen.display[29])
    assert (tmp_path / "stdout.txt").read_text() == ""  # nothing drawn on stdout
    banner = console.row_of("READY TO SCAN")
    assert banner is not None
    column = screen.display[banner].index("READY TO SCAN")
    assert abs(column + len("READY TO SCAN") // 2 - 50) <= 1  # centred on 100 columns, not on 80

    console.resize(140, 45)  # the kernel sends SIGWINCH, as when the console font changes
    console.wait_for("the keys line on the new last row", lambda: "F7 day close" in screen.display[44])
    banner = console.row_of("READY TO SCAN")
    assert banner is not None
    assert abs(screen.display[banner].index("READY TO SCAN") + len("READY TO SCAN") // 2 - 70) <= 1


@pytest.mark.slow  # the screen in a subprocess on a pty
def test_each_outcome_gets_its_ansi_colour_on_a_16_colour_console(
    console: Console, console_day: tuple[Config, list[Parcel]]
) -> None:
    _, day = console_day
    console.wait_for("the dock screen", lambda: console.row_of("READY TO SCAN") is not None)
    # pyte names the console's colours as the SGR codes say: 41 is "red", 43 "brown" (yellow).
    expected = [
        (day[0].tracking_id, "SORTED", "green"),
        (day[0].tracking_id, "ALREADY SORTED", "brown"),
        ("1Z999AA10123456784", "UNKNOWN PARCEL", "red"),
        ("12345", "CANNOT READ", "red"),
        (day[-1].tracking_id, "NO PLAN", "red"),
    ]
    for code, word, background in expected:
        console.type(code)
        console.wait_for(word, lambda word=word: console.row_of(word) == 1)  # type: ignore[misc]
        banner = console.cell(word)
        assert banner.bg == background, (word, banner)
        assert banner.bold

    console.type(station_code("van", "V02"))
    console.wait_for("the van code", lambda: console.row_of("DONE") == 1)
    console.type(day[0].tracking_id)  # planned for V01: a mis-load in V02
    bells = console.screen.bells
    console.wait_for("WRONG VAN", lambda: console.row_of("WRONG VAN") == 1)
    console.wait_for("the bell", lambda: console.screen.bells > bells)

    def alarm_on() -> bool:  # the band flashes red and white: wait for red
        row = console.row_of("WRONG VAN")
        assert row is not None
        word = console.cell("WRONG VAN")
        band = console.screen.buffer[row][0]
        return bool(word.reverse and word.blink and word.bg == "red" and band.bg == "red")

    console.wait_for("WRONG VAN on a red band, reversed and blinking", alarm_on)
    console.wait_for("the instruction", lambda: console.row_of("Take it to VAN V01, LANE 1") is not None)
