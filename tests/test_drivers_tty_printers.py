"""The lp and serial printers against a pseudo-terminal that behaves like a Zebra."""

from __future__ import annotations

import dataclasses
import os
import select
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printers.base import Printer, PrinterError, PrinterState
from drivers.printers.lp import LpPrinter
from drivers.printers.serial import SerialPrinter
from drivers.printers.zpl_status import READY_STATUS, HostStatus, format_host_status


class PtyZebra:
    """Reads what the station writes; answers ~HS from ``status`` unless ``answers`` is False."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.status: HostStatus = READY_STATUS
        self.answers = True
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], 0.05)
            if not readable:
                continue
            try:
                self.received += os.read(self.master, 4096)
            except OSError:
                return
            if self.received.endswith(b"~HS") and self.answers:
                os.write(self.master, format_host_status(self.status))

    def wait_for(self, data: bytes) -> None:
        for _ in range(200):
            if data in self.received:
                return
            self._stop.wait(0.05)
        raise AssertionError(f"{data!r} never arrived; got {self.received!r}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def zebra() -> Iterator[PtyZebra]:
    fake = PtyZebra()
    yield fake
    fake.close()


@pytest.fixture(params=["lp", "serial"])
def printer(request: pytest.FixtureRequest, zebra: PtyZebra) -> Printer:
    if request.param == "lp":
        return LpPrinter("terminal", zebra.path, timeout_s=1.0)
    return SerialPrinter("terminal", zebra.path, timeout_s=1.0)


def test_send(printer: Printer, zebra: PtyZebra) -> None:
    printer.send(b"^XA^FDLANE 4^FS^XZ")
    zebra.wait_for(b"^XA^FDLANE 4^FS^XZ")


def test_status_ready(printer: Printer) -> None:
    assert printer.status().state is PrinterState.READY


def test_status_head_open(printer: Printer, zebra: PtyZebra) -> None:
    zebra.status = dataclasses.replace(READY_STATUS, head_up=True)
    assert printer.status().state is PrinterState.HEAD_OPEN


def test_silent_printer_is_fault(printer: Printer, zebra: PtyZebra) -> None:
    zebra.answers = False
    assert printer.status().state is PrinterState.FAULT


@pytest.mark.parametrize("kind", ["lp", "serial"])
def test_missing_device_is_offline_and_send_raises(kind: str, tmp_path: Path) -> None:
    path = str(tmp_path / "lp9")
    printer: Printer = LpPrinter("p", path) if kind == "lp" else SerialPrinter("p", path)
    assert printer.status().state is PrinterState.OFFLINE
    with pytest.raises(PrinterError):
        printer.send(b"^XA^XZ")
